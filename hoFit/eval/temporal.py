"""Temporal smoothness: acceleration (jitter) of point trajectories.

Frames are assumed equally spaced; units are per frame (not per second): positions in metres give
accelerations in m/frame^2, which the Metrics helpers report as mm/frame^2.
"""

from __future__ import annotations

import math

import torch

from hoFit.eval._common import as_tensor, same_shape

__all__ = ["acceleration", "mean_acceleration", "acceleration_error"]


def acceleration(points) -> torch.Tensor:
    """Norm of the second finite difference ``x[t+1] - 2 x[t] + x[t-1]``.

    Args:
        points: (T, N, 3) trajectories (hand joints, object vertices), metres.

    Returns:
        (T - 2, N) m/frame^2 (empty when T < 3).
    """
    x = as_tensor(points, "points", (None, 3), min_dim=3)
    return (x[2:] - 2 * x[1:-1] + x[:-2]).norm(dim=-1)


def mean_acceleration(points) -> torch.Tensor:
    """Mean of :func:`acceleration` over frames and points (jitter), m/frame^2; NaN when T < 3."""
    a = acceleration(points)
    return a.mean() if a.numel() else a.new_tensor(math.nan)


def acceleration_error(pred, gt) -> torch.Tensor:
    """Mean norm of the difference of second differences of ``pred`` and ``gt`` (T, N, 3), m/frame^2;
    NaN when T < 3. Zero for a prediction off by a constant velocity drift."""
    p = as_tensor(pred, "pred", (None, 3), min_dim=3)
    g = as_tensor(gt, "gt", (None, 3), min_dim=3).to(p)
    same_shape(p, g, "pred", "gt")
    a = acceleration(p - g)
    return a.mean() if a.numel() else a.new_tensor(math.nan)
