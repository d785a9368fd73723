"""Image-space loss terms: silhouettes and 2D keypoints.

Each term is a pure function returning a scalar; the optimizer multiplies it by the weight of the same
name in the stage config.
"""

from __future__ import annotations

import torch

__all__ = ["silhouette_loss", "silhouette_errors", "keypoint_reprojection_loss", "gmof"]


def silhouette_loss(rendered: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared difference between rendered and target silhouettes over valid pixels.

    Args:
        rendered: (B, H, W) soft occupancy in [0, 1].
        target: (B, H, W) target mask in [0, 1].
        valid: (B, H, W) bool or {0, 1}; pixels marked 0 (unknown, e.g. object pixels hidden by the hand)
            do not count. ``None`` counts every pixel.

    Returns:
        Scalar: sum of squared errors over valid pixels divided by the number of valid pixels
        (0 when no pixel is valid).
    """
    if rendered.shape != target.shape:
        raise ValueError(f"rendered {tuple(rendered.shape)} and target {tuple(target.shape)} must have the same shape")
    squared = (rendered - target) ** 2
    if valid is None:
        return squared.mean()
    if valid.shape != target.shape:
        raise ValueError(f"valid {tuple(valid.shape)} must match target {tuple(target.shape)}")
    valid = valid.to(squared.dtype)
    return (squared * valid).sum() / valid.sum().clamp(min=1.0)


def silhouette_errors(rendered: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Per-image `silhouette_loss`: (..., H, W) rendered, target and valid -> (...) mean squared difference
    over each image's valid pixels (0 where none is valid). Scores many poses at once (hypotheses, frames)."""
    valid = valid.to(rendered.dtype)
    return ((rendered - target) ** 2 * valid).sum(dim=(-1, -2)) / valid.sum(dim=(-1, -2)).clamp(min=1.0)


def gmof(residual: torch.Tensor, sigma: float) -> torch.Tensor:
    """Geman-McClure robust penalty ``sigma^2 r^2 / (sigma^2 + r^2)``: quadratic near 0, bounded by sigma^2."""
    squared = residual**2
    return sigma**2 * squared / (sigma**2 + squared)


def keypoint_reprojection_loss(
    projected: torch.Tensor,
    target: torch.Tensor,
    confidence: torch.Tensor,
    scale: torch.Tensor | float = 1.0,
    robust_sigma: float | None = None,
) -> torch.Tensor:
    """Confidence-weighted, optionally robust, 2D keypoint error.

    Args:
        projected: (B, J, 2) projected model keypoints, pixels.
        target: (B, J, 2) detected keypoints, pixels (values where confidence is 0 are ignored, may be NaN).
        confidence: (B, J) weights in [0, 1]; 0 marks a missing joint.
        scale: (B,) or scalar pixel length that normalises the error (e.g. the hand box size), so that the
            weight does not depend on the image resolution.
        robust_sigma: Geman-McClure scale on the normalised error; ``None`` uses the plain squared error.

    Returns:
        Scalar: per frame ``sum_j c_j rho(|e_j| / scale) / sum_j c_j``, averaged over frames with any
        confident joint (0 when there is none).
    """
    if projected.shape != target.shape or projected.shape[-1] != 2:
        raise ValueError(f"projected {tuple(projected.shape)} and target {tuple(target.shape)} must be (B, J, 2)")
    if confidence.shape != projected.shape[:-1]:
        raise ValueError(f"confidence {tuple(confidence.shape)} must be (B, J) = {tuple(projected.shape[:-1])}")
    scale = torch.as_tensor(scale, dtype=projected.dtype, device=projected.device)
    scale = scale.reshape(-1, 1) if scale.dim() else scale
    known = confidence > 0
    target = torch.where(known[..., None], target, projected.detach())
    error = (projected - target).norm(dim=-1) / scale
    penalty = gmof(error, robust_sigma) if robust_sigma is not None else error**2
    weights = confidence * known
    per_frame_weight = weights.sum(dim=-1)
    per_frame = (penalty * weights).sum(dim=-1) / per_frame_weight.clamp(min=1e-8)
    has_any = (per_frame_weight > 0).to(per_frame.dtype)
    return (per_frame * has_any).sum() / has_any.sum().clamp(min=1.0)
