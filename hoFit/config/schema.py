"""hoFit's configuration tree and its presets.

The tree composes the settings dataclasses that each sub-package defines for itself. Presets are YAML
files in the repository's ``configs/`` folder; a preset may set any subset of the tree, the rest keeps
the defaults below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from hoFit.config.core import apply_overrides, from_dict, merge, read_yaml, to_dict
from hoFit.errors import HoFitError
from hoFit.fit.config import FitConfig
from hoFit.models.hand.config import HandConfig
from hoFit.render.settings import SilhouetteSettings
from hoFit.utils.resources import package_folder

__all__ = ["ObjectOptions", "Config", "PRESET_DIR", "list_presets", "load_config"]

PRESET_DIR = package_folder("presets", "configs")


@dataclass
class ObjectOptions:
    """How the clip's object template is prepared.

    Attributes:
        max_faces: decimate templates with more faces than this (None keeps every face).
        scale: overrides the clip's metric scale of the template when set.
    """

    max_faces: int | None = 3000
    scale: float | None = None


@dataclass
class Config:
    """Everything a fit needs besides the clip.

    Attributes:
        hand: hand model choice (OpenHand or MANO) and parametrization.
        object: template preparation.
        silhouette: soft silhouette settings used by the fitting terms.
        fit: initialization, stages and loss weights.
        device: "auto", "cpu", "cuda" or "cuda:N".
        seed: seeds every random choice (rotation hypotheses), making fits deterministic.
    """

    hand: HandConfig = field(default_factory=HandConfig)
    object: ObjectOptions = field(default_factory=ObjectOptions)
    silhouette: SilhouetteSettings = field(default_factory=lambda: SilhouetteSettings(sigma_px=0.5))
    fit: FitConfig = field(default_factory=FitConfig)
    device: str = "auto"
    seed: int = 0


def list_presets() -> list[str]:
    """Names of the preset files in `PRESET_DIR` (the repository's ``configs/``)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def _preset_path(preset: str) -> Path:
    path = Path(preset)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    candidate = PRESET_DIR / f"{preset}.yaml"
    if candidate.is_file():
        return candidate
    raise HoFitError(
        f"preset '{preset}' not found: expected {preset}.yaml in {PRESET_DIR} (the repository's configs/) "
        f"(available: {', '.join(list_presets()) or 'none'}) or a path to a YAML file"
    )


def load_config(
    preset: str | None = "default", config_file: str | Path | None = None, overrides: Iterable[str] = ()
) -> Config:
    """Defaults, then the preset, then a user config file, then ``KEY=VALUE`` overrides; checked on the way."""
    data = to_dict(Config())
    if preset:
        data = merge(data, read_yaml(_preset_path(preset)))
    if config_file:
        data = merge(data, read_yaml(config_file))
    data = apply_overrides(data, overrides)
    return from_dict(Config, data)
