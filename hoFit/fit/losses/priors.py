"""Priors on the hand's articulation and shape and on the object's metric scale."""

from __future__ import annotations

import torch

__all__ = ["pca_prior_loss", "joint_limit_loss", "joint_limit_violation", "shape_prior_loss", "scale_prior_loss"]


def pca_prior_loss(pca_coefficients: torch.Tensor) -> torch.Tensor:
    """Mean over frames of the squared norm of the articulation's PCA coefficients, (B, C) -> scalar."""
    return pca_coefficients.pow(2).sum(dim=-1).mean()


def joint_limit_violation(articulation: torch.Tensor, limits: torch.Tensor) -> torch.Tensor:
    """Per-item squared violation of per-joint angle limits.

    Args:
        articulation: (B, 15, 3) per-joint axis-angle components, radians, in the limits' convention
            (the hand model's joint frames; see the hand model's ``joint_limits``).
        limits: (15, 3, 2) lower and upper bounds, radians.

    Returns:
        (B,): sum over joints and axes of squared excess beyond the bounds.
    """
    if articulation.shape[-2:] != limits.shape[:2] or limits.shape[-1] != 2:
        raise ValueError(f"articulation {tuple(articulation.shape)} does not match limits {tuple(limits.shape)}")
    low, high = limits[..., 0], limits[..., 1]
    excess = torch.relu(low - articulation) + torch.relu(articulation - high)
    return excess.pow(2).sum(dim=(-1, -2))


def joint_limit_loss(articulation: torch.Tensor, limits: torch.Tensor) -> torch.Tensor:
    """`joint_limit_violation` averaged over frames, (B, 15, 3) -> scalar."""
    return joint_limit_violation(articulation, limits).mean()


def shape_prior_loss(betas: torch.Tensor) -> torch.Tensor:
    """Squared norm of the shape coefficients, (..., S) -> scalar (mean over leading dims)."""
    return betas.pow(2).sum(dim=-1).mean()


def scale_prior_loss(scale: torch.Tensor, expected: float = 1.0) -> torch.Tensor:
    """Squared log-ratio of the object's scale to its expected scale (symmetric in shrink and grow)."""
    return torch.log(scale / expected).pow(2).mean()
