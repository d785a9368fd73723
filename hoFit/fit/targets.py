"""Fitting targets in regions of interest: crops of masks around the hand and object, with their cameras."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from hoFit.geometry.cameras import crop_intrinsics, roi_from_box

__all__ = ["crop_images", "union_boxes", "square_rois", "mask_signed_distance", "matched_mask_targets"]


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


def mask_signed_distance(masks: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Signed distance of every pixel centre to the edge of a binary mask, taken halfway between pixels.

    Args:
        masks: (T, H, W) masks; values above 0.5 are foreground.

    Returns:
        (T, H, W) float32 pixels, negative inside. An empty mask is far outside everywhere (+H+W), a full
        mask far inside (-H-W).
    """
    masks = masks.detach().cpu().numpy() if isinstance(masks, torch.Tensor) else np.asarray(masks)
    T, H, W = masks.shape
    out = np.empty((T, H, W), dtype=np.float32)
    far = float(H + W)
    for t in range(T):  # OpenCV's exact Euclidean transform, one image at a time (about 10 ms at 640x480 here)
        inside = (masks[t] > 0.5).astype(np.uint8)
        if not inside.any() or inside.all():
            out[t] = far if not inside.any() else -far
            continue
        outside_distance = cv2.distanceTransform(1 - inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        inside_distance = cv2.distanceTransform(inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        # distances between pixel centres; the edge lies half a pixel before the nearest other-class centre
        out[t] = np.where(inside > 0, 0.5 - inside_distance, outside_distance - 0.5)
    return torch.from_numpy(out)


def matched_mask_targets(signed_distance: torch.Tensor, rois: torch.Tensor, size: int, settings=None) -> torch.Tensor:
    """Fitting targets in regions of interest, in the soft silhouette model of the renderer.

    The target of a pixel is what `hoFit.render.soft_silhouette` gives it when the mesh's silhouette is the
    mask (1 inside, the renderer's falloff outside, see `hoFit.render.silhouette_profile`), so a pose
    that reproduces the mask is a minimum of the silhouette loss; a binary target is not (the soft band's
    extra area biases the depth).

    Args:
        signed_distance: (T, H, W) full-image signed distances from `mask_signed_distance`, pixels.
        rois: (T, 4) regions (see `square_rois`). size: side of the regions' images, pixels.
        settings: the renderer's `SilhouetteSettings` (its ``sigma_px`` is in region pixels).

    Returns:
        (T, size, size) targets in [0, 1].
    """
    from hoFit.render import silhouette_profile

    distance = signed_distance.to(device=rois.device, dtype=rois.dtype)
    pixels_per_region_pixel = (rois[:, 2] - rois[:, 0]) / size
    # Outside the image the mask is background: pad with the far-outside value before sampling.
    far = float(sum(distance.shape[-2:]))
    region = crop_images(distance - far, rois, size) + far
    return silhouette_profile(region / pixels_per_region_pixel[:, None, None], settings)
