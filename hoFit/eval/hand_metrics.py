"""Hand pose metrics of the HO-3D challenge family.

All positions are metres in a common frame (camera frame for unaligned errors). Keypoints are in hoFit
order (= HO-3D order: wrist; index1-3; middle1-3; pinky1-3; ring1-3; thumb1-3; tips thumb..pinky).

Definitions follow the official HO-3D evaluation script (``eval.py`` of the HO-3D repository, itself
derived from FreiHAND's):

* mean joint error: Euclidean end-point error per joint, averaged over frames per joint, then over
  joints (equal to the plain mean when every joint is valid in every frame).
* PCK AUC: per joint the fraction of errors ``<=`` threshold, on ``steps`` thresholds linearly spaced in
  ``[0, max_threshold]`` (0..5 cm, 100 steps), integrated with the trapezoid rule and divided by the
  range, averaged over joints.
* Procrustes alignment: similarity transform (scale, rotation, translation) minimising the squared error.
  The official script uses ``scipy.linalg.orthogonal_procrustes``, which may return a reflection; here the
  rotation is proper by default (``allow_reflection=False``); pass True to reproduce the script exactly.
* scale-and-translation alignment: scale the prediction so that the bone from joint 0 (wrist) to joint 4
  matches the ground truth, then translate so the wrists coincide. Joint 4 is counted in the order the
  arrays are given; HO-3D's evaluation arrays are in MANO/HO-3D order, where joint 4 is middle1 (the middle
  finger's MCP), which is hoFit order as well — so the default ``scale_joint=4`` is the wrist->middle1 bone.
* F-score at a threshold: harmonic mean of the fraction of predicted points within ``threshold`` of the
  ground-truth set and the fraction of ground-truth points within ``threshold`` of the prediction
  (strict ``<``, like the script), 0 when both are 0.
"""

from __future__ import annotations

import math

import torch

from hoFit.eval._common import as_bool, as_tensor, nearest_distances, same_shape
from hoFit.eval.types import Metrics

__all__ = [
    "joint_errors",
    "mean_joint_error",
    "procrustes_transform",
    "apply_similarity",
    "procrustes_align",
    "scale_translation_align",
    "pck_curve",
    "pck_auc",
    "f_score",
    "hand_pose_metrics",
]


def joint_errors(pred, gt) -> torch.Tensor:
    """Per-point Euclidean error.

    Args:
        pred: (..., J, 3) predicted points, metres.
        gt: (..., J, 3) ground truth, same shape.

    Returns:
        (..., J) distances in metres.
    """
    p = as_tensor(pred, "pred", (None, 3))
    g = as_tensor(gt, "gt", (None, 3)).to(p)
    same_shape(p, g, "pred", "gt")
    return (p - g).norm(dim=-1)


def _flatten_errors(errors, valid) -> tuple[torch.Tensor, torch.Tensor]:
    full = as_tensor(errors, "errors", (None,))
    e = full.reshape(-1, full.shape[-1])
    if valid is None:
        v = torch.ones_like(e, dtype=torch.bool)
    else:
        v = as_bool(valid, "valid", tuple(full.shape)).reshape(e.shape)
    return e, v & torch.isfinite(e)


def mean_joint_error(errors, valid=None) -> torch.Tensor:
    """Mean end-point error, HO-3D style (per-joint mean over frames, then mean over joints).

    Args:
        errors: (..., J) per-joint errors (e.g. from :func:`joint_errors`), metres.
        valid: optional (..., J) boolean mask; invalid or non-finite entries are ignored. Joints with no
            valid entry are left out of the mean over joints.

    Returns:
        0-dim tensor, metres; NaN if nothing is valid.
    """
    e, v = _flatten_errors(errors, valid)
    count = v.sum(0)
    per_joint = torch.where(v, e, torch.zeros_like(e)).sum(0) / count.clamp(min=1)
    has = count > 0
    if not has.any():
        return e.new_tensor(math.nan)
    return per_joint[has].mean()


def procrustes_transform(pred, gt, weights=None, allow_scale: bool = True, allow_reflection: bool = False):
    """Least-squares similarity transform mapping ``pred`` onto ``gt`` (Umeyama's closed form, batched).

    Minimises ``sum_i w_i |s R p_i + t - g_i|^2``.

    Args:
        pred: (..., N, 3) source points.
        gt: (..., N, 3) target points.
        weights: optional (..., N) non-negative weights (e.g. validity), default all ones.
        allow_scale: estimate ``s``; otherwise ``s = 1`` (rigid alignment).
        allow_reflection: allow ``det(R) = -1`` (the official HO-3D script does); default proper rotations.

    Returns:
        ``(scale (...), rotation (..., 3, 3), translation (..., 3))`` in the input dtype, with
        ``gt ~= scale * pred @ rotation.T + translation``.
    """
    p = as_tensor(pred, "pred", (None, 3))
    g = as_tensor(gt, "gt", (None, 3)).to(p)
    same_shape(p, g, "pred", "gt")
    if p.shape[-2] < 1:
        raise ValueError(f"pred: need at least one point, got shape {tuple(p.shape)}")
    dtype = p.dtype
    p64, g64 = p.double(), g.double()
    if weights is None:
        w = torch.ones(p.shape[:-1], dtype=torch.float64, device=p.device)
    else:
        w = as_tensor(weights, "weights").to(p64)
        if w.shape != p.shape[:-1]:
            raise ValueError(f"weights: expected shape {tuple(p.shape[:-1])}, got {tuple(w.shape)}")
    wsum = w.sum(-1, keepdim=True).clamp(min=1e-12)  # (..., 1)
    mu_p = (w[..., None] * p64).sum(-2) / wsum
    mu_g = (w[..., None] * g64).sum(-2) / wsum
    pc, gc = p64 - mu_p[..., None, :], g64 - mu_g[..., None, :]
    cov = (w[..., None] * gc).transpose(-1, -2) @ pc  # (..., 3, 3) = sum w g p^T
    u, s, vh = torch.linalg.svd(cov)
    d = torch.ones_like(s)
    if not allow_reflection:
        d[..., 2] = torch.sign(torch.linalg.det(u @ vh))
        d[..., 2] = torch.where(d[..., 2] == 0, torch.ones_like(d[..., 2]), d[..., 2])
    rot = u @ torch.diag_embed(d) @ vh
    if allow_scale:
        var_p = (w * (pc ** 2).sum(-1)).sum(-1)
        scale = (s * d).sum(-1) / var_p.clamp(min=1e-300)
        scale = torch.where(var_p > 0, scale, torch.ones_like(scale))
    else:
        scale = torch.ones(p.shape[:-2], dtype=torch.float64, device=p.device)
    trans = mu_g - scale[..., None] * (rot @ mu_p[..., None])[..., 0]
    return scale.to(dtype), rot.to(dtype), trans.to(dtype)


def apply_similarity(points, scale, rotation, translation) -> torch.Tensor:
    """``scale * points @ rotation.T + translation`` for (..., N, 3) points, (...) scale, (..., 3, 3)
    rotation and (..., 3) translation."""
    x = as_tensor(points, "points", (None, 3))
    return scale[..., None, None] * (x @ rotation.transpose(-1, -2)) + translation[..., None, :]


def procrustes_align(pred, gt, weights=None, allow_scale: bool = True, allow_reflection: bool = False) -> torch.Tensor:
    """``pred`` (..., N, 3) mapped by the best similarity transform onto ``gt`` (..., N, 3); see
    :func:`procrustes_transform` for the arguments. Returns (..., N, 3)."""
    s, r, t = procrustes_transform(pred, gt, weights, allow_scale, allow_reflection)
    return apply_similarity(as_tensor(pred, "pred", (None, 3)), s, r, t)


def scale_translation_align(pred, gt, root: int = 0, scale_joint: int = 4) -> torch.Tensor:
    """HO-3D's scale-and-translation alignment of keypoints.

    The prediction is scaled about the origin by ``|gt[scale_joint] - gt[root]| / |pred[scale_joint] -
    pred[root]|`` (by 1 when the predicted bone has zero length) and translated so that its ``root``
    coincides with the ground truth's. Defaults: root = wrist, scale_joint = 4 = middle1 in hoFit/HO-3D
    order (the official script's indices in HO-3D order).

    Args:
        pred: (..., J, 3) predicted keypoints, metres.
        gt: (..., J, 3) ground truth keypoints.

    Returns:
        (..., J, 3) aligned prediction.
    """
    p = as_tensor(pred, "pred", (None, 3))
    g = as_tensor(gt, "gt", (None, 3)).to(p)
    same_shape(p, g, "pred", "gt")
    num = p.shape[-2]
    for name, idx in (("root", root), ("scale_joint", scale_joint)):
        if not -num <= idx < num:
            raise ValueError(f"{name}={idx} is out of range for {num} keypoints")
    pred_len = (p[..., scale_joint, :] - p[..., root, :]).norm(dim=-1)
    gt_len = (g[..., scale_joint, :] - g[..., root, :]).norm(dim=-1)
    factor = torch.where(pred_len > 0, gt_len / pred_len.clamp(min=torch.finfo(p.dtype).tiny), torch.ones_like(gt_len))
    scaled = p * factor[..., None, None]
    return scaled - scaled[..., root:root + 1, :] + g[..., root:root + 1, :]


def pck_curve(errors, valid=None, max_threshold: float = 0.05, steps: int = 100, min_threshold: float = 0.0):
    """Percentage of correct keypoints as a function of the threshold.

    Args:
        errors: (..., J) errors in metres (e.g. (T, 21)).
        valid: optional (..., J) boolean mask of entries to count.
        max_threshold, min_threshold: threshold range in metres (HO-3D: 0..0.05).
        steps: number of thresholds (HO-3D: 100), linearly spaced, both ends included.

    Returns:
        ``(thresholds (steps,), pck (steps,))``: per joint the fraction of valid errors ``<=`` threshold,
        averaged over the joints that have any valid entry.
    """
    if steps < 2 or not max_threshold > min_threshold:
        raise ValueError(f"need steps >= 2 and max_threshold > min_threshold, got steps={steps}, "
                         f"range=[{min_threshold}, {max_threshold}]")
    e, v = _flatten_errors(errors, valid)
    thresholds = torch.linspace(min_threshold, max_threshold, steps, dtype=torch.float64, device=e.device)
    count = v.sum(0)  # (J,)
    has = count > 0
    if not has.any():
        return thresholds, torch.full_like(thresholds, math.nan)
    hits = (e.double()[None] <= thresholds[:, None, None]) & v[None]  # (S, N, J)
    per_joint = hits.sum(1).double() / count.clamp(min=1)  # (S, J)
    return thresholds, per_joint[:, has].mean(-1)


def pck_auc(errors, valid=None, max_threshold: float = 0.05, steps: int = 100, min_threshold: float = 0.0) -> float:
    """Normalised area under :func:`pck_curve` (trapezoid rule divided by the threshold range), in [0, 1].

    Returns NaN when nothing is valid.
    """
    thresholds, pck = pck_curve(errors, valid, max_threshold, steps, min_threshold)
    return float(torch.trapezoid(pck, thresholds) / (thresholds[-1] - thresholds[0]))


def f_score(pred_points, gt_points, threshold: float) -> torch.Tensor:
    """F-score between two point sets at a distance threshold (no correspondence needed).

    Args:
        pred_points: (..., N, 3) predicted points (e.g. hand vertices), metres.
        gt_points: (..., M, 3) ground-truth points, same leading dims.
        threshold: metres (HO-3D uses 0.005 and 0.015).

    Returns:
        (...) F-scores in [0, 1].
    """
    p = as_tensor(pred_points, "pred_points", (None, 3))
    g = as_tensor(gt_points, "gt_points", (None, 3)).to(p)
    if p.shape[:-2] != g.shape[:-2]:
        raise ValueError(f"pred_points {tuple(p.shape)} and gt_points {tuple(g.shape)} must share leading dims")
    if p.shape[-2] == 0 or g.shape[-2] == 0:
        return p.new_zeros(p.shape[:-2])
    pred_close = (nearest_distances(p, g) < threshold).double().mean(-1)
    gt_close = (nearest_distances(g, p) < threshold).double().mean(-1)
    denom = pred_close + gt_close
    f = torch.where(denom > 0, 2 * pred_close * gt_close / denom.clamp(min=1e-300), torch.zeros_like(denom))
    return f.to(p.dtype)


def hand_pose_metrics(
    pred_keypoints,
    gt_keypoints,
    pred_vertices=None,
    gt_vertices=None,
    valid=None,
    fscore_thresholds: tuple[float, ...] = (0.005, 0.015),
) -> Metrics:
    """The HO-3D hand evaluation of one clip.

    Args:
        pred_keypoints, gt_keypoints: (T, 21, 3) metres, hoFit order, same camera frame.
        pred_vertices, gt_vertices: optional (T, V, 3) and (T, V', 3) hand meshes. Mesh errors are reported
            only when ``V == V'`` (same topology); F-scores always. The aligned F-score uses the mesh's own
            Procrustes transform when topologies match, otherwise the keypoints' (as the official script).
        valid: optional (T, 21) boolean mask of annotated keypoints.

    Returns:
        Metrics: ``joint_error``, ``joint_error_pa`` (Procrustes), ``joint_error_st`` (scale+translation)
        in cm; ``joint_auc``, ``joint_auc_pa``, ``joint_auc_st`` over 0-5 cm; with meshes ``mesh_error``,
        ``mesh_error_pa`` (cm), ``fscore_5mm``, ``fscore_15mm``, ``fscore_pa_5mm``, ``fscore_pa_15mm``.
    """
    pk = as_tensor(pred_keypoints, "pred_keypoints", (None, 3), min_dim=3)
    gk = as_tensor(gt_keypoints, "gt_keypoints", (None, 3), min_dim=3).to(pk)
    same_shape(pk, gk, "pred_keypoints", "gt_keypoints")
    v = None if valid is None else as_bool(valid, "valid", tuple(pk.shape[:-1]))
    weights = None if v is None else v.to(pk.dtype)
    out = Metrics()
    variants = {
        "": pk,
        "_pa": procrustes_align(pk, gk, weights=weights),
        "_st": scale_translation_align(pk, gk),
    }
    names = {"": "unaligned", "_pa": "Procrustes-aligned", "_st": "scale-and-translation-aligned"}
    for suffix, aligned in variants.items():
        err = joint_errors(aligned, gk)
        out.add(f"joint_error{suffix}", 100.0 * mean_joint_error(err, v), "cm",
                description=f"mean 3D keypoint error, {names[suffix]}")
        out.add(f"joint_auc{suffix}", pck_auc(err, v), "", True,
                description=f"AUC of 3D PCK over 0-5 cm, {names[suffix]}")
    if pred_vertices is None or gt_vertices is None:
        return out
    pv = as_tensor(pred_vertices, "pred_vertices", (None, 3), min_dim=3).to(pk)
    gv = as_tensor(gt_vertices, "gt_vertices", (None, 3), min_dim=3).to(pk)
    if pv.shape[0] != pk.shape[0] or gv.shape[0] != pk.shape[0]:
        raise ValueError(f"vertices must have T={pk.shape[0]} frames like the keypoints, got "
                         f"{tuple(pv.shape)} and {tuple(gv.shape)}")
    if pv.shape == gv.shape:
        out.add("mesh_error", 100.0 * joint_errors(pv, gv).mean(), "cm", description="mean vertex error, unaligned")
        pv_aligned = procrustes_align(pv, gv)
        out.add("mesh_error_pa", 100.0 * joint_errors(pv_aligned, gv).mean(), "cm",
                description="mean vertex error, Procrustes-aligned")
    else:
        s, r, t = procrustes_transform(pk, gk, weights=weights)
        pv_aligned = apply_similarity(pv, s, r, t)
    for th in fscore_thresholds:
        mm = f"{1000 * th:g}mm"
        out.add(f"fscore_{mm}", f_score(pv, gv, th).mean(), "", True, description=f"F-score at {mm}, unaligned")
        out.add(f"fscore_pa_{mm}", f_score(pv_aligned, gv, th).mean(), "", True,
                description=f"F-score at {mm}, Procrustes-aligned")
    return out
