"""Staged optimization of all hands and the object over a whole clip.

Each stage runs Adam over the parameter groups it names, minimizing the weighted sum of the loss terms
whose weight is non-zero. A step whose loss or gradients are not finite is rejected: the parameters go
back to their previous values, the learning rate is halved, and the event is logged.
"""

from __future__ import annotations

import logging
from typing import Callable

import torch
from tqdm.auto import tqdm

from hoFit.fit.config import StageConfig
from hoFit.fit.problem import FitData, FitParameters, compute_losses, pose_scene
from hoFit.geometry.rotations import matrix_to_rotation_6d, rotation_6d_to_matrix

__all__ = ["run_stage"]

logger = logging.getLogger(__name__)

# Groups whose learning rate is multiplied by the stage's rotation_lr_factor (HOMan's convention).
_FAST_GROUPS = ("hand_articulation", "hand_shape")


def _param_groups(params: FitParameters, stage: StageConfig) -> list[dict]:
    groups = params.groups()
    fast = stage.lr * stage.rotation_lr_factor
    out = []
    for name in stage.optimize:
        if name == "hand_global":
            out.append({"params": params.hand_orient, "lr": fast, "name": "hand_orient"})
            out.append({"params": params.hand_transl, "lr": stage.lr, "name": "hand_transl"})
        elif name == "object_pose":
            factor = stage.object_rotation_lr_factor
            object_rotation_lr = fast if factor is None else stage.lr * factor
            out.append({"params": [params.object_rot], "lr": object_rotation_lr, "name": "object_rot"})
            out.append({"params": [params.object_transl], "lr": stage.lr, "name": "object_transl"})
        elif groups[name]:
            out.append({"params": groups[name], "lr": fast if name in _FAST_GROUPS else stage.lr, "name": name})
    return [g for g in out if g["params"]]


def _canonicalize_rotations(params: FitParameters) -> None:
    """Replace every 6D rotation by the canonical 6D of its matrix (two orthonormal columns), in place.

    Gram-Schmidt makes any 6D vector a rotation, but Adam's step in rotation angle scales with 1 / the
    vector's norm, which drifts during a stage: every stage starts from the canonical form, so that a
    stage resumed from a saved result (stored as rotations) runs exactly like one that follows in the
    same process.
    """
    with torch.no_grad():
        for tensor in params.hand_orient + [params.object_rot]:
            tensor.copy_(matrix_to_rotation_6d(rotation_6d_to_matrix(tensor)))


def _transfer(params, data, layers, object_vertices, object_faces, base_scale, settings, optimizer, stage, events, iteration):
    """Carry object poses between frames with the hand (see `hoFit.fit.transfer`); the moved frames' Adam
    moments would push them back along their old path, so the object's moments restart."""
    from hoFit.fit.transfer import transfer_object_poses

    replaced = transfer_object_poses(params, data, layers, object_vertices, object_faces, base_scale, settings)
    if bool(replaced.any()):
        for tensor in (params.object_rot, params.object_transl):
            optimizer.state.pop(tensor, None)
        events.append(
            f"{stage.name} iteration {iteration}: object pose of frames "
            f"{torch.nonzero(replaced).flatten().tolist()} carried from other frames by the hand "
            "(their silhouettes match better)"
        )


def run_stage(
    stage: StageConfig,
    params: FitParameters,
    data: FitData,
    layers,
    object_vertices: torch.Tensor,
    object_faces: torch.Tensor,
    sdf,
    base_scale: float,
    settings,
    keypoint_robust_sigma: float | None,
    contact_distance: float,
    keypoint_normalizer: str = "hand_box",
    smoothness_order: int = 1,
    log_every: int = 1,
    progress: bool = True,
    callback: Callable | None = None,
    events: list[str] | None = None,
) -> dict[str, list[float]]:
    """Run one stage in place on ``params``.

    Returns:
        history: per-term weighted loss values every ``log_every`` iterations ("total" included).
    """
    events = events if events is not None else []
    weights = {name: w for name, w in stage.weights.items() if w > 0}
    history: dict[str, list[float]] = {name: [] for name in list(weights) + ["total"]}
    groups = _param_groups(params, stage)
    optimized = [p for g in groups for p in g["params"]]
    for p in params.all():
        p.requires_grad_(any(p is q for q in optimized))
    _canonicalize_rotations(params)
    if stage.iterations == 0 or not groups:
        return history
    optimizer = torch.optim.Adam(groups)
    transfer_at = None if stage.transfer_object_pose_at is None else int(stage.transfer_object_pose_at * stage.iterations)
    bar = tqdm(range(stage.iterations), desc=stage.name, disable=not progress, leave=False)
    logged: list[torch.Tensor] = []  # per logged step: (terms + 1,) weighted terms and total, read back at the end
    for iteration in bar:
        if iteration == transfer_at and params.hand_orient:
            _transfer(params, data, layers, object_vertices, object_faces, base_scale, settings, optimizer, stage, events, iteration)
        optimizer.zero_grad()
        state = pose_scene(params, layers, object_vertices, base_scale)
        terms = compute_losses(
            state, params, data, layers, object_faces, sdf, weights, settings,
            keypoint_robust_sigma, contact_distance, base_scale, keypoint_normalizer, smoothness_order,
        )
        weighted = {name: weights[name] * value for name, value in terms.items()}
        total = torch.stack(list(weighted.values())).sum() if weighted else None
        if total is None:
            break
        total.backward()
        # one host synchronization per step (a GPU otherwise waits on every check and logged value)
        checks = [torch.isfinite(total)] + [torch.isfinite(p.grad).all() for p in optimized if p.grad is not None]
        finite = bool(torch.stack(checks).all())
        if not finite:  # nothing has changed the parameters yet: skipping optimizer.step() rejects the step
            for group in optimizer.param_groups:
                group["lr"] *= 0.5
            message = f"{stage.name} iteration {iteration}: non-finite loss or gradient, step rejected, lr halved"
            events.append(message)
            logger.warning(message)
            continue
        optimizer.step()
        if iteration % log_every == 0 or iteration == stage.iterations - 1:
            logged.append(torch.stack([v.detach() for v in weighted.values()] + [total.detach()]))
        if progress and iteration % 10 == 0:
            bar.set_postfix(loss=f"{float(total.detach()):.4g}")
        if callback is not None:
            callback(
                stage.name, iteration,
                [out.vertices.detach() for out in state.hand_outputs], state.object_vertices.detach(),
            )
    if logged:  # the terms present depend on the weights and the clip only: the same at every step
        for column, name in zip(torch.stack(logged).T.tolist(), list(weighted) + ["total"]):
            history[name].extend(column)
    for p in params.all():
        p.requires_grad_(False)
    return history
