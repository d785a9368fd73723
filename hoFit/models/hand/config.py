"""Settings of the hand model, composed by the lead into the global config tree as ``hand``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["HandConfig"]


@dataclass
class HandConfig:
    """Which hand model to use and how it is parametrized.

    Attributes:
        model: "openhand" (bundled, always available) or "mano" (the official files, which the user
            downloads from https://mano.is.tue.mpg.de).
        mano_dir: folder holding MANO_RIGHT.pkl / MANO_LEFT.pkl (or a MANO-format .npz); when None the
            environment variable HOFIT_MANO_DIR is used.
        num_pca_comps: number of PCA components of the finger articulation (1-45). All 45 (the default)
            span every articulation, the PCA and joint-limit priors keep it plausible: with 15, grasps
            outside the subspace leave keypoint errors of several pixels that the fit turns into depth.
        flat_hand_mean: articulation relative to the flat hand (True) or to the model's mean pose (False).
    """

    model: Literal["openhand", "mano"] = "openhand"
    mano_dir: str | None = None
    num_pca_comps: int = 45
    flat_hand_mean: bool = False
