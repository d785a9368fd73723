"""Pieces shared by the dataset loaders: clip cutting, root checks, a clip-yielding dataset base class,
attaching externally computed cues, and interpolation of per-frame predictions between fitted frames.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hoFit.errors import HoFitError

__all__ = [
    "ClipSpec",
    "ClipDataset",
    "clip_windows",
    "check_root",
    "attach_cues",
    "has_hand_cues",
    "interpolate_positions",
    "interpolate_rotations",
]

logger = logging.getLogger(__name__)


def clip_windows(num_frames: int, frame_nb: int = 10, step: int = 4, spacing: int | None = None) -> list[list[int]]:
    """Cut a sequence of ``num_frames`` frames into clips of ``frame_nb`` frames taken ``step`` apart.

    Clips start every ``spacing`` frames (default ``frame_nb * step``, so that consecutive clips tile the
    sequence on the ``step`` grid), and one last clip ends exactly on the last frame so that the end of
    the sequence is covered (as in the original protocol). A sequence shorter than one clip gives a single
    clip of every ``step``-th frame. ``frame_nb = -1`` gives one clip of every ``step``-th frame.

    Returns:
        Lists of frame indices (0-based positions in the sequence), in order, without duplicates.
    """
    if num_frames <= 0:
        raise HoFitError(f"clip_windows: the sequence has no frame (num_frames={num_frames})")
    if step < 1:
        raise HoFitError(f"clip_windows: step must be >= 1, got {step}")
    if frame_nb == -1:
        return [list(range(0, num_frames, step))]
    if frame_nb < 1:
        raise HoFitError(f"clip_windows: frame_nb must be >= 1 (or -1 for whole sequences), got {frame_nb}")
    spacing = frame_nb * step if spacing is None else int(spacing)
    if spacing < 1:
        raise HoFitError(f"clip_windows: spacing must be >= 1, got {spacing}")
    extent = (frame_nb - 1) * step
    last_start = num_frames - 1 - extent
    if last_start < 0:
        return [list(range(0, num_frames, step))]
    starts = list(range(0, last_start, spacing)) + [last_start]
    return [[s + k * step for k in range(frame_nb)] for s in starts]


def check_root(root: str | Path, dataset: str, expected: Sequence[str], layout: str) -> Path:
    """Check that ``root`` exists and holds every entry of ``expected``; the error shows the layout."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise HoFitError(f"{dataset} root not found: {root}. Expected a folder laid out as:\n{layout}")
    missing = [name for name in expected if not (root / name).exists()]
    if missing:
        present = sorted(p.name for p in root.iterdir())[:12]
        raise HoFitError(
            f"{root} does not look like a {dataset} root: missing {missing} (found {present}). "
            f"Expected:\n{layout}"
        )
    return root


@dataclass
class ClipSpec:
    """Where a clip comes from, before it is loaded.

    Attributes:
        name: unique clip name (used for result folders), e.g. ``"SM1_0040"``.
        sequence: the sequence or video it is cut from.
        frames: the frame identifiers within the sequence (dataset-specific: file ids or frame numbers).
        category: object category or name (for per-category tables).
        extra: loader-specific data.
    """

    name: str
    sequence: str
    frames: list
    category: str = ""
    extra: dict = field(default_factory=dict)


class ClipDataset(Sequence):
    """A sequence of clips described by :class:`ClipSpec`; ``dataset[i]`` loads clip ``i`` as a `Clip`.

    Subclasses fill ``self.specs`` and implement ``load_clip(spec)``.
    """

    name = "dataset"

    def __init__(self) -> None:
        self.specs: list[ClipSpec] = []

    def load_clip(self, spec: ClipSpec):
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.specs)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            raise TypeError("slice a dataset's specs instead: dataset.specs[a:b]")
        return self.load_clip(self.specs[index])

    def __iter__(self) -> Iterator:
        for spec in self.specs:
            yield self.load_clip(spec)

    def spec(self, name: str) -> ClipSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise HoFitError(f"{self.name}: no clip named {name!r}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.specs)} clips)"


def has_hand_cues(clip) -> bool:
    """True when at least one hand has a keypoint with confidence > 0."""
    return any(bool((h.confidence > 0).any()) for h in clip.hands)


def attach_cues(clip, cues_dir: str | Path):
    """Replace ``clip``'s 2D cues with those of the clip-format directory ``cues_dir/<clip.name>``.

    The cue clip must have the same number of frames and image size (e.g. written by the perception
    front end for this clip). Its hands replace the clip's hands (keeping the clip's ground truth when the
    hands' sides match); its object masks and boxes replace the clip's where it has them.

    Returns:
        A new `Clip`.
    """
    import dataclasses

    from hoFit.data.clip import Clip, ObjectCues

    folder = Path(cues_dir) / clip.name
    if not (folder / "clip.yaml").is_file():
        raise HoFitError(
            f"no cues for clip {clip.name}: expected a clip directory {folder} (clip.yaml, cues.npz) written by the "
            "perception front end or another tool (see docs/clip_format.md)"
        )
    cues = Clip.load(folder)
    if cues.num_frames != clip.num_frames or cues.image_size != clip.image_size:
        raise HoFitError(
            f"{folder}: {cues.num_frames} frames of {cues.image_size} (H, W), but clip {clip.name} has "
            f"{clip.num_frames} frames of {clip.image_size}; the cues must be computed on the same frames"
        )
    obj = clip.object
    new_obj = ObjectCues(
        cues.object.present if (cues.object.boxes is not None or cues.object.masks is not None) else obj.present,
        cues.object.boxes if cues.object.boxes is not None else obj.boxes,
        cues.object.masks if cues.object.masks is not None else obj.masks,
    )
    ground_truth = clip.ground_truth
    if ground_truth is not None and ground_truth.hands:
        old_sides = [h.side for h in clip.hands]
        hands_gt = [ground_truth.hands[old_sides.index(h.side)] if h.side in old_sides else None for h in cues.hands]
        ground_truth = dataclasses.replace(ground_truth, hands=hands_gt if any(g is not None for g in hands_gt) else [])
    return dataclasses.replace(clip, hands=list(cues.hands), object=new_obj, ground_truth=ground_truth)


def _bracket(known: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    known = np.asarray(known, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64)
    if known.ndim != 1 or known.size == 0:
        raise ValueError(f"interpolation: expected a non-empty 1-D array of known frame indices, got {known.shape}")
    if np.any(np.diff(known) <= 0):
        raise ValueError("interpolation: known frame indices must be strictly increasing")
    hi = np.clip(np.searchsorted(known, query, side="left"), 0, known.size - 1)
    lo = np.clip(hi - 1, 0, known.size - 1)
    exact = known[hi] == query
    lo = np.where(exact, hi, lo)
    span = known[hi] - known[lo]
    weight = np.where(span > 0, (query - known[lo]) / np.where(span > 0, span, 1.0), 0.0)
    return lo, hi, np.clip(weight, 0.0, 1.0)


def interpolate_positions(known: Sequence[float], values: np.ndarray, query: Sequence[float]) -> np.ndarray:
    """Piecewise-linear interpolation of per-frame arrays between known frames.

    Args:
        known: (K,) strictly increasing frame indices with a value.
        values: (K, ...) values at those frames (e.g. joints (K, 21, 3)).
        query: (Q,) frame indices to evaluate; before the first / after the last known frame the
            nearest known value is repeated.

    Returns:
        (Q, ...) interpolated values (float64).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] != len(known):
        raise ValueError(f"interpolate_positions: {len(known)} known frames but values has {values.shape[0]} rows")
    lo, hi, w = _bracket(np.asarray(known), np.asarray(query))
    w = w.reshape((-1,) + (1,) * (values.ndim - 1))
    return (1 - w) * values[lo] + w * values[hi]


def interpolate_rotations(known: Sequence[float], rotations: np.ndarray, query: Sequence[float]) -> np.ndarray:
    """Spherical-linear interpolation (slerp) of (K, 3, 3) rotations between known frames -> (Q, 3, 3)."""
    from scipy.spatial.transform import Rotation

    rotations = np.asarray(rotations, dtype=np.float64)
    if rotations.shape[1:] != (3, 3) or rotations.shape[0] != len(known):
        raise ValueError(f"interpolate_rotations: expected ({len(known)}, 3, 3) rotations, got {rotations.shape}")
    lo, hi, w = _bracket(np.asarray(known), np.asarray(query))
    r_lo = Rotation.from_matrix(rotations[lo])
    r_hi = Rotation.from_matrix(rotations[hi])
    delta = (r_lo.inv() * r_hi).as_rotvec()
    return (r_lo * Rotation.from_rotvec(delta * w[:, None])).as_matrix()
