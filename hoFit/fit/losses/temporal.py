"""Temporal smoothness of trajectories."""

from __future__ import annotations

import torch

__all__ = ["smoothness_loss"]


def smoothness_loss(points: torch.Tensor, order: int = 1) -> torch.Tensor:
    """Mean squared finite difference of point trajectories over time, in squared centimetres.

    Args:
        points: (T, N, 3) positions in metres (e.g. hand or object vertices per frame).
        order: 1 penalises velocity, 2 acceleration.

    Returns:
        Scalar: mean over time steps and points of ``|d^order x / dt^order|^2`` with x in centimetres;
        0 when the clip is too short for the difference.
    """
    if points.dim() != 3 or points.shape[-1] != 3:
        raise ValueError(f"points: expected (T, N, 3), got {tuple(points.shape)}")
    if order not in (1, 2):
        raise ValueError(f"order: expected 1 (velocity) or 2 (acceleration), got {order}")
    if points.shape[0] <= order:
        return points.sum() * 0.0
    diff = torch.diff(points * 100.0, n=order, dim=0)
    return diff.pow(2).sum(dim=-1).mean()
