"""Cues from external tools: per-frame mask PNGs from any segmenter, and a Segment Anything adapter.

File masks take precedence over GrabCut. A folder holds one PNG per frame, named like the frame
(``<frame stem>.png``) or by frame index (``000012.png`` or ``12.png``). Accepted encodings: hoFit's mask
PNG (0 background, 255 foreground, 128 unknown), binary 0/255 or 0/1, or any 8-bit grey mask (>= 128 is
foreground). Colour (RGB) masks are foreground wherever any channel is nonzero.

Segment Anything (https://github.com/facebookresearch/segment-anything, package ``segment_anything``) is used
automatically when the package is installed and a checkpoint is given by ``--sam-checkpoint`` or the
``HOFIT_SAM_CHECKPOINT`` environment variable; it is not a dependency of hoFit. It is prompted with the
object box and the hand keypoints as negative points.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from hoFit.errors import HoFitError

__all__ = [
    "FileMasks",
    "read_external_mask",
    "segment_anything_checkpoint",
    "SamSettings",
    "SamBoxSegmenter",
]


def read_external_mask(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one mask file written by any segmenter.

    Returns:
        ``(mask uint8 (H, W) 0/1, unknown bool (H, W))``; ``unknown`` is only set by hoFit's 128 value.

    Raises:
        HoFitError: unreadable file or a bit depth other than 8.
    """
    path = Path(path)
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise HoFitError(f"cannot read mask {path}: not an image OpenCV can decode")
    if image.dtype == np.bool_:
        image = image.astype(np.uint8)
    if image.dtype == np.uint16:
        image = (image > 0).astype(np.uint8) * 255
    if image.dtype != np.uint8:
        raise HoFitError(f"mask {path}: expected an 8-bit PNG, got {image.dtype}")
    if image.ndim == 3:
        channels = image[:, :, :3]
        if (channels == channels[:, :, :1]).all():
            image = channels[:, :, 0]
        else:  # colour-coded masks: any colour is foreground
            return channels.any(axis=2).astype(np.uint8), np.zeros(image.shape[:2], dtype=bool)
    values = np.unique(image)
    if set(values.tolist()) <= {0, 128, 255}:
        return (image == 255).astype(np.uint8), image == 128
    if values.max() <= 1:
        return (image == 1).astype(np.uint8), np.zeros(image.shape, dtype=bool)
    return (image >= 128).astype(np.uint8), np.zeros(image.shape, dtype=bool)


class FileMasks:
    """Masks of one entity read from a folder of per-frame PNGs.

    Args:
        folder: the folder.
        frame_names: the clip's frame names (file stems, or e.g. ``"000012"`` for video frames), in order.
        image_size: (H, W) every mask must have.

    Raises:
        HoFitError: the folder does not exist or holds no mask for any frame.
    """

    def __init__(self, folder: str | Path, frame_names: Sequence[str], image_size: tuple[int, int]) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise HoFitError(f"mask folder not found: {self.folder}")
        self.image_size = tuple(int(s) for s in image_size)
        self.paths: list[Path | None] = []
        for index, name in enumerate(frame_names):
            found = None
            for candidate in (f"{Path(name).stem}.png", f"{index:06d}.png", f"{index}.png"):
                if (self.folder / candidate).is_file():
                    found = self.folder / candidate
                    break
            self.paths.append(found)
        if not any(p is not None for p in self.paths):
            example = f"{Path(frame_names[0]).stem}.png or 000000.png" if frame_names else "000000.png"
            raise HoFitError(
                f"mask folder {self.folder} has no PNG matching the frames (expected e.g. {example})"
            )

    def __len__(self) -> int:
        return len(self.paths)

    def has(self, index: int) -> bool:
        """True when frame ``index`` has a mask file."""
        return self.paths[index] is not None

    def read(self, index: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(mask uint8 (H, W), unknown bool (H, W))`` of frame ``index``, or None without a file.

        Raises:
            HoFitError: unreadable file or a size that differs from the frames'.
        """
        path = self.paths[index]
        if path is None:
            return None
        mask, unknown = read_external_mask(path)
        if mask.shape != self.image_size:
            raise HoFitError(
                f"mask {path}: size {mask.shape[1]}x{mask.shape[0]} (WxH) differs from the frames' "
                f"{self.image_size[1]}x{self.image_size[0]}"
            )
        return mask, unknown


def segment_anything_checkpoint(checkpoint: str | None = None) -> Path | None:
    """The SAM checkpoint to use, or None when SAM is not usable.

    Usable means: the ``segment_anything`` package is importable and a checkpoint file is given
    (``checkpoint`` argument, else ``$HOFIT_SAM_CHECKPOINT``) and exists.

    Raises:
        HoFitError: a checkpoint was given explicitly but the file or the package is missing.
    """
    explicit = checkpoint is not None and checkpoint != ""
    path = checkpoint if explicit else os.environ.get("HOFIT_SAM_CHECKPOINT", "")
    if not path:
        return None
    installed = importlib.util.find_spec("segment_anything") is not None
    if not Path(path).expanduser().is_file():
        if explicit:
            raise HoFitError(f"SAM checkpoint not found: {path}")
        return None
    if not installed:
        if explicit:
            raise HoFitError(
                "a SAM checkpoint was given but the segment_anything package is not installed: "
                "pip install segment-anything (it needs torch and torchvision)"
            )
        return None
    return Path(path).expanduser()


@dataclass
class SamSettings:
    """Settings of :class:`SamBoxSegmenter`.

    Attributes:
        checkpoint: SAM checkpoint (.pth); "" = ``$HOFIT_SAM_CHECKPOINT``.
        model_type: registry key of ``segment_anything.sam_model_registry`` matching the checkpoint
            ("vit_h", "vit_l", "vit_b"); "" = guessed from the file name, else "vit_h".
        device: torch device string ("cpu", "cuda").
    """

    checkpoint: str = ""
    model_type: str = ""
    device: str = "cpu"


class SamBoxSegmenter:
    """Object (or hand) masks from Segment Anything prompted with a box and negative points.

    Call ``segmenter(image, box, negative_points=None) -> (H, W) uint8`` with an RGB ``(H, W, 3)`` uint8
    image, a ``(4,)`` box in pixel-edge coordinates and optional ``(N, 2)`` pixels (e.g. hand keypoints)
    that must not be in the mask.
    """

    def __init__(self, settings: SamSettings | None = None) -> None:
        self.settings = settings or SamSettings()
        checkpoint = segment_anything_checkpoint(self.settings.checkpoint or None)
        if checkpoint is None:
            raise HoFitError(
                "Segment Anything is not usable: install segment-anything and set HOFIT_SAM_CHECKPOINT "
                "(or --sam-checkpoint) to a checkpoint file"
            )
        from segment_anything import SamPredictor, sam_model_registry

        model_type = self.settings.model_type
        if not model_type:
            model_type = next((k for k in ("vit_h", "vit_l", "vit_b") if k in checkpoint.name), "vit_h")
        if model_type not in sam_model_registry:
            raise HoFitError(f"SAM model type {model_type!r} unknown; expected one of {sorted(sam_model_registry)}")
        model = sam_model_registry[model_type](checkpoint=str(checkpoint))
        model.to(self.settings.device)
        self._predictor = SamPredictor(model)
        self.checkpoint = checkpoint

    def __call__(self, image: np.ndarray, box: np.ndarray, negative_points: np.ndarray | None = None) -> np.ndarray:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image: expected (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        self._predictor.set_image(image, image_format="RGB")
        points = labels = None
        if negative_points is not None:
            pts = np.asarray(negative_points, dtype=np.float64).reshape(-1, 2)
            pts = pts[np.isfinite(pts).all(1)]
            if len(pts):
                points, labels = pts + 0.5, np.zeros(len(pts), dtype=np.int64)  # SAM uses pixel-edge coordinates
        masks, _, _ = self._predictor.predict(
            point_coords=points, point_labels=labels, box=np.asarray(box, dtype=np.float64), multimask_output=False
        )
        return masks[0].astype(np.uint8)
