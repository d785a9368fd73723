"""Filling and smoothing per-frame parameter trajectories."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["fill_missing", "gaussian_smooth"]


def fill_missing(values: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Linear interpolation over time of frames where ``known`` is False; ends hold the nearest value.

    Args:
        values: (T, ...) per-frame values.
        known: (T,) bool; at least one frame must be known.

    Returns:
        (T, ...) with unknown frames filled.
    """
    if known.shape != values.shape[:1]:
        raise ValueError(f"known {tuple(known.shape)} must be (T,) with T = {values.shape[0]}")
    idx = torch.nonzero(known).flatten()
    if len(idx) == 0:
        raise ValueError("fill_missing: no known frame to interpolate from")
    if bool(known.all()):
        return values
    T = values.shape[0]
    t = torch.arange(T, device=values.device)
    right = torch.searchsorted(idx, t).clamp(max=len(idx) - 1)
    left = (right - 1).clamp(min=0)
    right_t, left_t = idx[right], idx[left]
    # Frames before the first or after the last known frame take the nearest known value.
    left_t = torch.where(t < idx[0], idx[0], left_t)
    right_t = torch.where(t > idx[-1], idx[-1], right_t)
    left_t = torch.where(known, t, left_t)
    right_t = torch.where(known, t, right_t)
    span = (right_t - left_t).clamp(min=1).to(values.dtype)
    alpha = ((t - left_t).to(values.dtype) / span).reshape(T, *([1] * (values.dim() - 1)))
    return values[left_t] * (1 - alpha) + values[right_t] * alpha


def gaussian_smooth(values: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian filter over time with reflected borders; (T, ...) -> (T, ...). ``sigma`` in frames."""
    if sigma <= 0 or values.shape[0] < 2:
        return values
    radius = max(1, int(math.ceil(3 * sigma)))
    offsets = torch.arange(-radius, radius + 1, dtype=values.dtype, device=values.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    T = values.shape[0]
    flat = values.reshape(T, -1).T[:, None, :]  # (C, 1, T)
    pad = min(radius, T - 1)
    padded = F.pad(flat, (pad, pad), mode="reflect")
    if pad < radius:  # very short clips: replicate beyond what reflection can give
        padded = F.pad(padded, (radius - pad, radius - pad), mode="replicate")
    out = F.conv1d(padded, kernel.view(1, 1, -1))
    return out[:, 0, :].T.reshape(values.shape)
