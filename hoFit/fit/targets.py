"""Fitting targets in regions of interest: crops of masks around the hand and object, with their cameras."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hoFit.geometry.cameras import crop_intrinsics, roi_from_box

__all__ = ["crop_images", "union_boxes", "square_rois"]


def crop_images(images: torch.Tensor, rois: torch.Tensor, size: int, mode: str = "bilinear") -> torch.Tensor:
    """Crop square regions of per-frame images and resize them, matching `crop_intrinsics`.

    Args:
        images: (T, H, W) float images (e.g. masks in [0, 1]).
        rois: (T, 4) ``x1, y1, x2, y2`` pixel edges; regions may extend past the image (filled with 0).
        size: side of the output, pixels.
        mode: ``"bilinear"`` or ``"nearest"``.

    Returns:
        (T, size, size): output pixel (i, j) samples the full image at
        ``x = x1 + (j + 0.5) (x2 - x1) / size - 0.5`` (and likewise for y), the centres of the crop's pixels.
    """
    T, H, W = images.shape
    steps = (torch.arange(size, dtype=images.dtype, device=images.device) + 0.5) / size
    x = rois[:, 0:1] + steps[None] * (rois[:, 2:3] - rois[:, 0:1]) - 0.5  # (T, size)
    y = rois[:, 1:2] + steps[None] * (rois[:, 3:4] - rois[:, 1:2]) - 0.5
    gx = (x + 0.5) / W * 2 - 1  # align_corners=False normalisation
    gy = (y + 0.5) / H * 2 - 1
    grid = torch.stack([gx[:, None, :].expand(T, size, size), gy[:, :, None].expand(T, size, size)], dim=-1)
    return F.grid_sample(images[:, None], grid, mode=mode, padding_mode="zeros", align_corners=False)[:, 0]


def union_boxes(*boxes: torch.Tensor) -> torch.Tensor:
    """Per-frame union of boxes (T, 4) ``x1, y1, x2, y2``; NaN boxes (absent) are ignored."""
    stacked = torch.stack(boxes)  # (N, T, 4)
    big = torch.finfo(stacked.dtype).max
    low = torch.nan_to_num(stacked[..., :2], nan=big).min(dim=0).values
    high = torch.nan_to_num(stacked[..., 2:], nan=-big).max(dim=0).values
    return torch.cat([low, high], dim=-1)


def square_rois(boxes: torch.Tensor, K: torch.Tensor, scale: float, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Square regions around boxes and the intrinsics of those regions resized to ``size``.

    Args:
        boxes: (T, 4) pixels. K: (3, 3) full-image intrinsics. scale: region side / box's longer side.

    Returns:
        rois (T, 4) and K_roi (T, 3, 3).
    """
    rois = roi_from_box(boxes, scale=scale)
    K_roi = crop_intrinsics(K.expand(len(boxes), 3, 3), rois, (size, size))
    return rois, K_roi
