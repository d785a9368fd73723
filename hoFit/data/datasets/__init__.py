"""Dataset loaders that yield `hoFit.data.clip.Clip` objects: HO-3D, CORe50 and EPIC-KITCHENS-100.

Each loader reads the dataset in its official on-disk layout (see ``docs/datasets.md``), cuts its
sequences into clips, and returns a sequence-like object: ``len(dataset)``, ``dataset[i] -> Clip``,
``dataset.specs`` (what each clip is made of, without loading it).
"""

from hoFit.data.datasets.common import (
    ClipDataset,
    ClipSpec,
    attach_cues,
    clip_windows,
    has_hand_cues,
    interpolate_positions,
    interpolate_rotations,
)
from hoFit.data.datasets.core50 import Core50
from hoFit.data.datasets.epic import EpicKitchens
from hoFit.data.datasets.ho3d import HO3D

__all__ = [
    "ClipDataset",
    "ClipSpec",
    "attach_cues",
    "clip_windows",
    "has_hand_cues",
    "interpolate_positions",
    "interpolate_rotations",
    "HO3D",
    "Core50",
    "EpicKitchens",
]
