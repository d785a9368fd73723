"""Hand initialization from 2D keypoints, without a learned regressor.

Per frame, many global-rotation hypotheses are tried at once: for each, the translation that best
explains the 2D keypoints with the rest-pose hand of metric size is solved in closed form (linear least
squares, which also fixes the depth from the hand's size), then every hypothesis is refined by Adam on
the robust keypoint reprojection error, trusting the palm's keypoints more than the fingers'. The best
few per frame get their articulation fitted under the PCA and joint-limit priors and the lowest final loss
wins. Clips long enough are then refitted as a whole with the articulation smooth over time, which
settles the depth a single view leaves ambiguous. Frames without a usable hand cue are interpolated, and
the trajectory is smoothed over time.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from hoFit.fit.config import HandInitConfig
from hoFit.fit.losses.image import gmof
from hoFit.fit.losses.priors import joint_limit_violation
from hoFit.fit.steps import adam_steps
from hoFit.fit.temporal import fill_missing, gaussian_smooth
from hoFit.geometry.cameras import project_points
from hoFit.geometry.rotations import matrix_to_rotation_6d, random_rotations, rotation_6d_to_matrix
from hoFit.models.hand.keypoints import PALM_KEYPOINTS

__all__ = ["HandInit", "solve_translation", "initialize_hand"]

MIN_KEYPOINTS = 4


@dataclass
class HandInit:
    """Initial hand parameters for a clip of T frames.

    Attributes:
        global_orient: (T, 6) 6D rotation of the wrist (camera frame).
        articulation: (T, C) PCA coefficients of the articulation.
        transl: (T, 3) metres.
        betas: (S,) shape (zeros: the initialization keeps the mean shape).
        missing: (T,) bool, frames interpolated for lack of a usable keypoint cue.
        keypoint_error: (T,) mean reprojection error in pixels of the chosen hypothesis (NaN if missing).
        size_factor: the hand's size factor about the camera centre that undoes the depth bias of the
            keypoint noise (`noise_depth_factor`; 1.0 when ``noise_debias_samples`` is 0).
    """

    global_orient: torch.Tensor
    articulation: torch.Tensor
    transl: torch.Tensor
    betas: torch.Tensor
    missing: torch.Tensor
    keypoint_error: torch.Tensor
    size_factor: float = 1.0


def solve_translation(points: torch.Tensor, pixels: torch.Tensor, weights: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Translation that best projects rotated model points onto pixels (linear least squares).

    For a fixed rotation, ``u = fx (X + t)_x / (X + t)_z + cx`` is linear in t after multiplying by the
    depth: ``fx t_x - (u - cx) t_z = (u - cx) X_z - fx X_x`` (and likewise for v).

    Args:
        points: (B, N, 3) model points already rotated into the camera's axes, metres.
        pixels: (B, N, 2) target pixels.
        weights: (B, N) non-negative weights (0 ignores a point).
        K: (B, 3, 3) or (3, 3) intrinsics.

    Returns:
        (B, 3) translations, metres.
    """
    K = K.expand(points.shape[0], 3, 3)
    fx, fy = K[:, 0, 0, None], K[:, 1, 1, None]
    du = pixels[..., 0] - K[:, 0, 2, None]
    dv = pixels[..., 1] - K[:, 1, 2, None]
    zero = torch.zeros_like(du)
    rows_u = torch.stack([fx.expand_as(du), zero, -du], dim=-1)
    rows_v = torch.stack([zero, fy.expand_as(dv), -dv], dim=-1)
    rhs_u = du * points[..., 2] - fx * points[..., 0]
    rhs_v = dv * points[..., 2] - fy * points[..., 1]
    A = torch.cat([rows_u, rows_v], dim=1)  # (B, 2N, 3)
    b = torch.cat([rhs_u, rhs_v], dim=1)
    w = torch.cat([weights, weights], dim=1)[..., None]
    normal = (A * w).transpose(1, 2) @ A + 1e-9 * torch.eye(3, dtype=A.dtype, device=A.device)
    return torch.linalg.solve(normal, ((A * w).transpose(1, 2) @ b[..., None]))[..., 0]


def initialize_hand(
    layer,
    keypoints: torch.Tensor,
    confidence: torch.Tensor,
    present: torch.Tensor,
    K: torch.Tensor,
    config: HandInitConfig,
    num_pca_comps: int,
    generator: torch.Generator | None = None,
) -> HandInit:
    """Fit the hand model to each frame's 2D keypoints.

    Args:
        layer: a `HandLayer` (its ``forward(global_orient, articulation, betas, transl)``).
        keypoints: (T, 21, 2) pixels, hoFit order.
        confidence: (T, 21) in [0, 1], 0 = missing joint.
        present: (T,) bool, frames where the hand was detected.
        K: (3, 3) intrinsics of the full image.
        config: initialization settings.
        num_pca_comps: PCA components of the articulation.
        generator: random generator (CPU) for the rotation hypotheses.

    Returns:
        `HandInit` on the keypoints' device.
    """
    device, dtype = keypoints.device, keypoints.dtype
    T = keypoints.shape[0]
    confidence = torch.where(torch.isfinite(keypoints).all(-1), confidence, torch.zeros_like(confidence))
    usable = present & ((confidence > 0).sum(-1) >= MIN_KEYPOINTS)
    frames = torch.nonzero(usable).flatten()
    betas = torch.zeros(1, layer.num_betas, dtype=dtype, device=device)
    pca = torch.zeros(len(frames), num_pca_comps, dtype=dtype, device=device)
    missing = ~usable
    if len(frames) == 0:
        raise ValueError("hand initialization: no frame has a hand with at least 4 confident keypoints")

    target = torch.nan_to_num(keypoints[frames])
    weights = confidence[frames]
    box_size = _keypoint_box_size(target, weights)  # (N,) pixels
    rest = layer(
        global_orient=torch.zeros(1, 3, dtype=dtype, device=device),
        articulation=torch.zeros(1, num_pca_comps, dtype=dtype, device=device),
        betas=betas,
        transl=torch.zeros(1, 3, dtype=dtype, device=device),
    ).keypoints[0]
    H = max(int(config.rotation_hypotheses), 1)
    rotations = random_rotations(H, generator=generator, dtype=dtype).to(device)  # (H, 3, 3)
    N = len(frames)
    rot = rotations[None].expand(N, H, 3, 3).reshape(N * H, 3, 3)
    rotated = rest[None] @ rot.transpose(1, 2)
    rep_target = target.repeat_interleave(H, 0)
    # The rigid search trusts the palm (its keypoints keep their layout whatever the fingers do) more than
    # the fingers, which the rest pose cannot match: a curled hand would otherwise be placed too far away.
    palm = torch.full((weights.shape[-1],), float(config.rigid_finger_weight), dtype=dtype, device=device)
    palm[list(PALM_KEYPOINTS)] = 1.0
    rep_weights = weights.repeat_interleave(H, 0) * palm
    transl0 = solve_translation(rotated, rep_target, rep_weights, K)
    # The layer rotates about its root joint J0 (x = R (x_rest - J0) + J0 + t), the solve above about the
    # origin (x = R x_rest + t'): hence t = t' + R J0 - J0.
    root = rest[0]
    transl0 = transl0 + (root[None] @ rot.transpose(1, 2))[:, 0] - root[None]
    transl0 = transl0.clamp_min(torch.tensor([-10.0, -10.0, 0.05], dtype=dtype, device=device))

    # Rigid refinement of every hypothesis (articulation free but strongly regularized).
    orient6d = matrix_to_rotation_6d(rot).clone().requires_grad_(True)
    transl = transl0.clone().requires_grad_(True)
    pca_h = torch.zeros(N * H, num_pca_comps, dtype=dtype, device=device, requires_grad=True)
    rep_scale = box_size.repeat_interleave(H, 0)
    rep_betas = betas.expand(N * H, -1)

    def rigid_loss():
        per_hyp = _hypothesis_losses(
            layer, orient6d, pca_h, rep_betas, transl, K, rep_target, rep_weights, rep_scale, config.robust_sigma
        )
        return per_hyp.sum() + 1e-3 * pca_h.pow(2).sum()

    adam_steps(
        rigid_loss, [{"params": [orient6d, pca_h], "lr": config.lr}, {"params": [transl], "lr": config.lr * 0.1}],
        config.rigid_iterations, config.cuda_graphs,
    )
    with torch.no_grad():
        per_hyp = _hypothesis_losses(
            layer, orient6d, pca_h, rep_betas, transl, K, rep_target, rep_weights, rep_scale, config.robust_sigma
        ).view(N, H)
        A = max(1, min(int(config.articulated_hypotheses), H))
        best = per_hyp.topk(A, dim=1, largest=False).indices + torch.arange(N, device=device)[:, None] * H  # (N, A)
        best = best.flatten()
    orient_best = orient6d.detach()[best].clone().requires_grad_(True)
    transl_best = transl.detach()[best].clone().requires_grad_(True)
    pca = pca_h.detach()[best].clone().requires_grad_(True)

    # Articulation refinement of the best A hypotheses of every frame; the lowest final loss wins.
    frame_betas = betas.expand(N * A, -1)
    frame_target, frame_weights = target.repeat_interleave(A, 0), weights.repeat_interleave(A, 0)
    frame_scale = box_size.repeat_interleave(A, 0)

    def articulated_losses():
        per_item = _hypothesis_losses(
            layer, orient_best, pca, frame_betas, transl_best, K, frame_target, frame_weights, frame_scale,
            config.robust_sigma,
        )
        return per_item + _articulation_prior(layer, pca, config)

    adam_steps(
        lambda: articulated_losses().sum(),
        [{"params": [orient_best, pca], "lr": config.lr}, {"params": [transl_best], "lr": config.lr * 0.1}],
        config.iterations, config.cuda_graphs,
    )

    with torch.no_grad():
        choice = articulated_losses().view(N, A).argmin(dim=1) + torch.arange(N, device=device) * A
        orient_best, pca, transl_best = orient_best[choice], pca[choice], transl_best[choice]
    if config.temporal_iterations > 0 and N >= max(2, config.temporal_min_frames):
        orient_best, pca, transl_best = _temporal_articulation(
            layer, orient_best, pca, transl_best, betas, K, target, weights, box_size, config
        )
    with torch.no_grad():
        out = layer(global_orient=orient_best, articulation=pca, betas=betas.expand(N, -1), transl=transl_best)
        error = _pixel_error(project_points(out.keypoints, K), target, weights)

    full_orient = torch.zeros(T, 6, dtype=dtype, device=device)
    full_pca = torch.zeros(T, num_pca_comps, dtype=dtype, device=device)
    full_transl = torch.zeros(T, 3, dtype=dtype, device=device)
    full_error = torch.full((T,), float("nan"), dtype=dtype, device=device)
    full_orient[frames] = orient_best.detach()
    full_pca[frames] = pca.detach()
    full_transl[frames] = transl_best.detach()
    full_error[frames] = error
    # Rotations are interpolated and smoothed as 6D vectors, re-orthonormalised afterwards.
    full_orient, full_pca, full_transl = (fill_missing(x, usable) for x in (full_orient, full_pca, full_transl))
    if config.smoothing_sigma > 0 and T > 1:
        full_orient = gaussian_smooth(full_orient, config.smoothing_sigma)
        full_pca = gaussian_smooth(full_pca, config.smoothing_sigma)
        full_transl = gaussian_smooth(full_transl, config.smoothing_sigma)
    full_orient = matrix_to_rotation_6d(rotation_6d_to_matrix(full_orient))
    init = HandInit(full_orient, full_pca, full_transl, betas[0].detach(), missing, full_error)
    if config.noise_debias_samples > 0:
        seed = generator.initial_seed() if generator is not None else 0
        init.size_factor = noise_depth_factor(layer, init, keypoints, confidence, usable, K, config, num_pca_comps, seed)
    return init


# Median of the length of a 2D standard normal vector (Rayleigh distribution): sqrt(2 ln 2).
RAYLEIGH_MEDIAN = math.sqrt(2.0 * math.log(2.0))


def noise_depth_factor(
    layer, init: HandInit, keypoints, confidence, usable, K, config: HandInitConfig, num_pca_comps: int, seed: int
) -> float:
    """Size factor about the camera centre that undoes the depth bias of keypoint noise (parametric bootstrap).

    Fitting a hand to noisy keypoints does not only scatter its depth: the rotation and articulation fit
    part of the noise, which changes the hand's apparent size, so the depth comes out biased (towards the
    camera on most clips measured). The bias is estimated on the fit itself: its keypoints are projected,
    Gaussian noise of the size its residuals show (median residual / `RAYLEIGH_MEDIAN`, pixels per axis) is
    added ``config.noise_debias_samples`` times, and each simulated set is fitted again exactly as the
    observed one was. The median ratio over frames of the refitted to the fitted wrist depth, averaged over
    the samples, measures how much the noise moves the depth; its inverse (clamped to [0.9, 1.1]) is returned.
    Below ``config.noise_debias_min_px`` of estimated noise it returns 1: the refits would then measure the
    optimizer's own scatter rather than a bias of the noise.

    Args:
        init: the fit to the observed keypoints (T frames); keypoints (T, 21, 2), confidence (T, 21),
            usable (T,) bool: the frames it fitted.
        seed: seeds the simulated noise and the refits' rotation hypotheses.
    """
    frames = torch.nonzero(usable).flatten()
    with torch.no_grad():
        posed = layer(global_orient=init.global_orient[frames], articulation=init.articulation[frames],
                      transl=init.transl[frames]).keypoints  # (N, 21, 3)
        projected = project_points(posed, K)
        weights = confidence[frames]
        known = weights > 0
        residual = (projected - torch.nan_to_num(keypoints[frames])).norm(dim=-1)[known]
    sigma = float(residual.median()) / RAYLEIGH_MEDIAN if residual.numel() else 0.0
    if sigma <= 0.0 or sigma < config.noise_debias_min_px:
        return 1.0
    refit_config = dataclasses.replace(config, noise_debias_samples=0)
    noise_generator = torch.Generator().manual_seed(seed + 1)
    ratios = []
    for _ in range(config.noise_debias_samples):
        noise = torch.randn(projected.shape, generator=noise_generator, dtype=projected.dtype).to(projected.device)
        refit = initialize_hand(
            layer, projected + sigma * noise, weights, torch.ones_like(frames, dtype=torch.bool), K, refit_config,
            num_pca_comps, torch.Generator().manual_seed(seed),
        )
        with torch.no_grad():
            wrist = layer(global_orient=refit.global_orient, articulation=refit.articulation, transl=refit.transl)
        ratios.append(float((wrist.keypoints[:, 0, 2] / posed[:, 0, 2]).median()))
    return float(min(max(1.0 / (sum(ratios) / len(ratios)), 0.9), 1.1))


def _temporal_articulation(layer, orient6d, pca, transl, betas, K, target, weights, box_size, config: HandInitConfig):
    """Refit all frames together with the articulation smooth over time.

    A single view leaves a curled hand's articulation and depth ambiguous (several poses reproject onto the
    same keypoints at different depths); a grasp that changes slowly over the clip, seen from the clip's
    changing viewpoints, is much better determined. Starts every frame from the mean of the per-frame
    articulations and penalises the squared change of the PCA coefficients between consecutive fitted
    frames (weight ``config.articulation_smoothness``).

    Returns:
        (orient6d (N, 6), pca (N, C), transl (N, 3)).
    """
    N = orient6d.shape[0]
    orient6d = orient6d.detach().clone().requires_grad_(True)
    transl = transl.detach().clone().requires_grad_(True)
    articulation = pca.detach().mean(dim=0, keepdim=True).expand(N, -1).clone().requires_grad_(True)
    frame_betas = betas.expand(N, -1)

    def temporal_loss():
        per_frame = _hypothesis_losses(
            layer, orient6d, articulation, frame_betas, transl, K, target, weights, box_size, config.robust_sigma
        )
        per_frame = per_frame + _articulation_prior(layer, articulation, config)
        change = torch.diff(articulation, dim=0).pow(2).sum(-1).mean()
        return per_frame.mean() + config.articulation_smoothness * change

    adam_steps(
        temporal_loss,
        [{"params": [orient6d, articulation], "lr": config.lr}, {"params": [transl], "lr": config.lr * 0.1}],
        config.temporal_iterations, config.cuda_graphs,
    )
    return orient6d.detach(), articulation.detach(), transl.detach()


def _articulation_prior(layer, pca: torch.Tensor, config: HandInitConfig) -> torch.Tensor:
    """(N,) weighted PCA magnitude and joint-limit violation of articulations (N, C)."""
    prior = config.pca_prior * pca.pow(2).sum(-1)
    limits = getattr(layer, "joint_limits", None)
    if limits is not None:
        angles = layer.anatomical_angles(layer.articulation_axis_angle(pca))
        prior = prior + config.joint_limits * joint_limit_violation(angles, limits.to(pca.dtype))
    return prior


def _pixel_error(projected: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(N,) mean distance in pixels between projected (N, J, 2) and target keypoints over known joints."""
    known = (weights > 0).to(projected.dtype)
    return ((projected - target).norm(dim=-1) * known).sum(-1) / known.sum(-1).clamp(min=1)


def _keypoint_box_size(keypoints: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(N,) longer side of the box around confident keypoints, pixels (at least 1)."""
    big = torch.finfo(keypoints.dtype).max
    known = (weights > 0)[..., None]
    low = torch.where(known, keypoints, torch.full_like(keypoints, big)).min(dim=1).values
    high = torch.where(known, keypoints, torch.full_like(keypoints, -big)).max(dim=1).values
    return (high - low).max(dim=-1).values.clamp(min=1.0)


def _hypothesis_losses(layer, orient6d, pca, betas, transl, K, target, weights, scale, robust_sigma) -> torch.Tensor:
    """(B,) robust keypoint reprojection loss of each hypothesis."""
    out = layer(global_orient=orient6d, articulation=pca, betas=betas, transl=transl)
    projected = project_points(out.keypoints, K)
    error = (projected - target).norm(dim=-1) / scale[:, None]
    penalty = gmof(error, robust_sigma) * weights
    behind = torch.relu(0.05 - out.keypoints[..., 2]).sum(-1)  # keep the hand in front of the camera
    return penalty.sum(-1) / weights.sum(-1).clamp(min=1e-8) + behind
