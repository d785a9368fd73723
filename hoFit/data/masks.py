"""Per-frame segmentation masks with an "unknown" state, and their PNG encoding.

In memory a :class:`MaskSequence` holds, for T frames of H x W pixels:

- ``mask`` ``uint8 (T, H, W)``: 1 = foreground, 0 = background or unknown;
- ``unknown`` ``bool (T, H, W)``: True where the pixel's label is not known (e.g. object pixels hidden by
  the hand); losses must ignore these pixels. ``mask`` is 0 wherever ``unknown`` is True;
- ``available`` ``bool (T,)``: False for frames that have no mask at all; such frames are all unknown.

On disk one single-channel 8-bit PNG per frame encodes the three states as 0 = background,
255 = foreground and 128 = unknown; a frame without a file has no mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hoFit.data.frames import read_uint8_image
from hoFit.errors import HoFitError

__all__ = ["MaskSequence", "MASK_BACKGROUND", "MASK_FOREGROUND", "MASK_UNKNOWN", "read_mask_png", "write_mask_png"]

MASK_BACKGROUND = 0
MASK_FOREGROUND = 255
MASK_UNKNOWN = 128


def read_mask_png(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a mask PNG (0 background, 255 foreground, 128 unknown).

    Returns:
        ``(mask uint8 (H, W) with 0/1, unknown bool (H, W))``.

    Raises:
        HoFitError: missing or unreadable file, more than one channel with differing values, or a pixel
            value other than 0, 128 and 255.
    """
    path = Path(path)
    image = read_uint8_image(path, "mask")
    if image.ndim == 3:
        if image.shape[2] == 4:
            image = image[:, :, :3]
        if not (image == image[:, :, :1]).all():
            raise HoFitError(f"mask {path}: expected a single-channel (grey) PNG, got {image.shape[2]} differing channels")
        image = image[:, :, 0]
    values = np.unique(image)
    bad = [int(v) for v in values if v not in (MASK_BACKGROUND, MASK_FOREGROUND, MASK_UNKNOWN)]
    if bad:
        raise HoFitError(
            f"mask {path}: pixel values must be 0 (background), 255 (foreground) or 128 (unknown), "
            f"found {bad[:8]}; threshold the mask (e.g. 255 * (m > 127)) and save it as PNG"
        )
    return (image == MASK_FOREGROUND).astype(np.uint8), image == MASK_UNKNOWN


def write_mask_png(path: str | Path, mask: np.ndarray, unknown: np.ndarray | None = None) -> None:
    """Write a mask (``(H, W)``, nonzero = foreground) and optional ``unknown`` (``bool (H, W)``) as PNG."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"write_mask_png: expected an (H, W) mask, got shape {mask.shape}")
    out = np.where(mask > 0, MASK_FOREGROUND, MASK_BACKGROUND).astype(np.uint8)
    if unknown is not None:
        unknown = np.asarray(unknown, dtype=bool)
        if unknown.shape != mask.shape:
            raise ValueError(f"write_mask_png: unknown has shape {unknown.shape}, mask {mask.shape}")
        out[unknown] = MASK_UNKNOWN
    if not cv2.imwrite(str(path), out):
        raise HoFitError(f"cannot write mask {path}")


@dataclass(eq=False)
class MaskSequence:
    """Masks of one entity (a hand or the object) over the frames of a clip; see the module docstring.

    Attributes:
        mask: ``uint8 (T, H, W)``, 1 = foreground.
        unknown: ``bool (T, H, W)``, True = ignore this pixel.
        available: ``bool (T,)``, False = no mask for this frame (then all its pixels are unknown).
    """

    mask: np.ndarray
    unknown: np.ndarray
    available: np.ndarray

    def __post_init__(self) -> None:
        self.mask = np.asarray(self.mask)
        if self.mask.ndim != 3:
            raise HoFitError(f"MaskSequence.mask: expected (T, H, W), got shape {self.mask.shape}")
        if self.mask.dtype == bool:
            self.mask = self.mask.astype(np.uint8)
        if self.mask.dtype != np.uint8 or self.mask.max(initial=0) > 1:
            raise HoFitError(
                f"MaskSequence.mask: expected uint8 with values 0/1, got {self.mask.dtype} with max {self.mask.max(initial=0)}"
            )
        self.unknown = np.asarray(self.unknown)
        if self.unknown.shape != self.mask.shape or self.unknown.dtype != bool:
            raise HoFitError(
                f"MaskSequence.unknown: expected bool {self.mask.shape}, got {self.unknown.dtype} {self.unknown.shape}"
            )
        self.available = np.asarray(self.available)
        if self.available.shape != self.mask.shape[:1] or self.available.dtype != bool:
            raise HoFitError(
                f"MaskSequence.available: expected bool ({self.mask.shape[0]},), "
                f"got {self.available.dtype} {self.available.shape}"
            )
        both = self.mask.astype(bool) & self.unknown
        if both.any():
            t = int(np.nonzero(both.any(axis=(1, 2)))[0][0])
            raise HoFitError(f"MaskSequence: frame {t} has pixels marked both foreground and unknown")
        missing = ~self.available
        if (self.mask[missing] != 0).any() or not self.unknown[missing].all():
            t = int(np.nonzero(missing & (self.mask.any(axis=(1, 2)) | ~self.unknown.all(axis=(1, 2))))[0][0])
            raise HoFitError(
                f"MaskSequence: frame {t} is marked unavailable but its mask is not all unknown; "
                "use MaskSequence.from_frames to build masks with missing frames"
            )

    @classmethod
    def from_frames(
        cls, masks: list[np.ndarray | None], unknowns: list[np.ndarray | None] | None = None, size: tuple[int, int] | None = None
    ) -> "MaskSequence":
        """Build from per-frame ``(H, W)`` masks (nonzero = foreground), ``None`` for frames without a mask.

        ``unknowns`` gives optional per-frame boolean unknown maps; ``size = (H, W)`` is required when every
        frame is ``None``. Foreground pixels that are also unknown become unknown.
        """
        if size is None:
            shapes = [np.asarray(m).shape for m in masks if m is not None]
            if not shapes:
                raise HoFitError("MaskSequence.from_frames: every frame is None; pass size=(H, W)")
            size = shapes[0]
        height, width = size
        count = len(masks)
        mask = np.zeros((count, height, width), dtype=np.uint8)
        unknown = np.ones((count, height, width), dtype=bool)
        available = np.zeros(count, dtype=bool)
        for t, m in enumerate(masks):
            if m is None:
                continue
            m = np.asarray(m)
            if m.shape != (height, width):
                raise HoFitError(f"mask of frame {t}: expected shape {(height, width)}, got {m.shape}")
            u = np.zeros((height, width), dtype=bool)
            if unknowns is not None and unknowns[t] is not None:
                u = np.asarray(unknowns[t], dtype=bool)
                if u.shape != (height, width):
                    raise HoFitError(f"unknown map of frame {t}: expected shape {(height, width)}, got {u.shape}")
            mask[t] = (m > 0) & ~u
            unknown[t] = u
            available[t] = True
        return cls(mask, unknown, available)

    @classmethod
    def empty(cls, num_frames: int, size: tuple[int, int]) -> "MaskSequence":
        """A sequence with no mask in any frame."""
        return cls.from_frames([None] * num_frames, size=size)

    @property
    def num_frames(self) -> int:
        return int(self.mask.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)``."""
        return int(self.mask.shape[1]), int(self.mask.shape[2])

    def select(self, indices) -> "MaskSequence":
        """The masks of the frames ``indices`` (a slice, list or index array)."""
        return MaskSequence(self.mask[indices], self.unknown[indices], self.available[indices])

    def empty_frames(self) -> np.ndarray:
        """Indices of frames that have a mask with neither foreground nor unknown pixels."""
        informative = self.mask.any(axis=(1, 2)) | self.unknown.any(axis=(1, 2))
        return np.nonzero(self.available & ~informative)[0]

    def boxes(self) -> np.ndarray:
        """Tight boxes ``float32 (T, 4)`` ``x1, y1, x2, y2`` (pixel edges) of the foreground; NaN where empty."""
        out = np.full((self.num_frames, 4), np.nan, dtype=np.float32)
        for t in range(self.num_frames):
            rows = np.nonzero(self.mask[t].any(axis=1))[0]
            if rows.size == 0:
                continue
            cols = np.nonzero(self.mask[t].any(axis=0))[0]
            out[t] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
        return out

    def equals(self, other: "MaskSequence") -> bool:
        return (
            np.array_equal(self.mask, other.mask)
            and np.array_equal(self.unknown, other.unknown)
            and np.array_equal(self.available, other.available)
        )
