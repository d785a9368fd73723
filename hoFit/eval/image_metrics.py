"""2D metrics: mask IoU and keypoint reprojection error.

Masks are (..., H, W) arrays, 1 = foreground, 0 = background, with an optional boolean ``ignore`` mask
(True = unknown pixel, left out). Pixels are (u, v), OpenCV convention.
"""

from __future__ import annotations

import math

import torch

from hoFit.eval._common import as_bool, as_tensor, same_shape
from hoFit.geometry.cameras import project_points

__all__ = ["mask_iou", "keypoint_reprojection_error", "projected_keypoint_error"]


def mask_iou(pred, target, ignore=None, soft: bool = False, threshold: float = 0.5, empty_value: float = 1.0):
    """Intersection over union of masks.

    Args:
        pred: (..., H, W) predicted mask or soft silhouette in [0, 1].
        target: (..., H, W) given or true mask.
        ignore: optional (..., H, W) boolean, True where the pixel is unknown and must not count.
        soft: False: both masks binarised with ``> threshold``; True: soft IoU
            ``sum(p t) / sum(p + t - p t)`` on the raw values (equal to the hard IoU for binary inputs).
        threshold: binarisation threshold of the hard IoU.
        empty_value: IoU reported when the union is empty (both masks empty): 1.0 (perfect agreement) by
            default; pass ``math.nan`` to drop such frames from means.

    Returns:
        (...) IoU in [0, 1].
    """
    p = as_tensor(pred, "pred", (None, None))
    t = as_tensor(target, "target", (None, None)).to(p)
    same_shape(p, t, "pred", "target")
    if not soft:
        p, t = (p > threshold).to(p.dtype), (t > threshold).to(p.dtype)
    if ignore is not None:
        keep = (~as_bool(ignore, "ignore", tuple(p.shape))).to(p.dtype)
        p, t = p * keep, t * keep
    inter = (p * t).sum((-1, -2))
    union = (p + t - p * t).sum((-1, -2))
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(p.dtype).tiny),
                       torch.full_like(union, empty_value))


def keypoint_reprojection_error(pred_2d, target_2d, confidence=None) -> torch.Tensor:
    """Confidence-weighted mean pixel distance between 2D keypoints, ignoring missing ones.

    Args:
        pred_2d: (..., J, 2) predicted pixels (e.g. projected 3D keypoints).
        target_2d: (..., J, 2) detected or true pixels; NaN entries count as missing.
        confidence: optional (..., J) weights >= 0; 0 = missing. Default 1 for every finite target.

    Returns:
        (...) weighted mean error in pixels over the last two dims' keypoints; NaN where no keypoint
        has positive weight.
    """
    p = as_tensor(pred_2d, "pred_2d", (None, 2))
    t = as_tensor(target_2d, "target_2d", (None, 2)).to(p)
    same_shape(p, t, "pred_2d", "target_2d")
    if confidence is None:
        w = torch.ones(p.shape[:-1], dtype=p.dtype, device=p.device)
    else:
        w = as_tensor(confidence, "confidence").to(p)
        if w.shape != p.shape[:-1]:
            raise ValueError(f"confidence: expected shape {tuple(p.shape[:-1])}, got {tuple(w.shape)}")
        if (w < 0).any():
            raise ValueError("confidence: weights must be >= 0")
    finite = torch.isfinite(t).all(-1) & torch.isfinite(p).all(-1)
    w = torch.where(finite, w, torch.zeros_like(w))
    err = torch.where(finite, (p - torch.where(finite[..., None], t, p)).norm(dim=-1), torch.zeros_like(w))
    wsum = w.sum(-1)
    return torch.where(wsum > 0, (w * err).sum(-1) / wsum.clamp(min=torch.finfo(p.dtype).tiny),
                       torch.full_like(wsum, math.nan))


def projected_keypoint_error(points_3d, K, target_2d, confidence=None) -> torch.Tensor:
    """Project (..., J, 3) camera-frame points with (..., 3, 3) intrinsics, then
    :func:`keypoint_reprojection_error` against (..., J, 2) targets. Returns (...) pixels."""
    x = as_tensor(points_3d, "points_3d", (None, 3))
    k = as_tensor(K, "K", (3, 3)).to(x)
    return keypoint_reprojection_error(project_points(x, k), target_2d, confidence)
