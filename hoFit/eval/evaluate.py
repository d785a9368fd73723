"""Metrics of one fitted result against its clip's ground truth (everything the clip allows).

Combines the metric functions of :mod:`hoFit.eval` into one named, unit-carrying `Metrics` set per result;
used by ``hofit eval``, ``hofit fit``, ``hofit demo`` and the benchmark runners.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from hoFit.errors import HoFitError

__all__ = ["evaluate_result", "metrics_to_json", "format_table"]

logger = logging.getLogger(__name__)


_SYMMETRY_CACHE: dict[str, np.ndarray] = {}


def _template_symmetries(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """`template_symmetries` of a template, computed once per template (a benchmark scores many clips)."""
    import hashlib

    from hoFit.eval.symmetry import template_symmetries

    key = hashlib.sha1(np.round(vertices, 6).astype(np.float32).tobytes() + faces.astype(np.int64).tobytes()).hexdigest()
    if key not in _SYMMETRY_CACHE:
        _SYMMETRY_CACHE[key] = template_symmetries(vertices, faces)
    return _SYMMETRY_CACHE[key]


def _match_hand(side: str, clip, used: set[int]):
    """Index of the clip hand with the given side (or the first unused one when sides are unknown)."""
    for j, cue in enumerate(clip.hands):
        if j not in used and cue.side == side:
            return j
    return None


def evaluate_result(result, clip=None, plausibility: bool = True):
    """All metrics of a `FitResult` that its clip's ground truth allows (a :class:`hoFit.eval.types.Metrics`).

    Args:
        result: the fit; its ``frame_indices`` index the clip's frames.
        clip: the `Clip` (with ``ground_truth``) or None (only metrics without ground truth).
        plausibility: also compute penetration and contact (per hand, against the object mesh).

    Hand metrics are named as in :func:`hoFit.eval.hand_metrics.hand_pose_metrics`, prefixed with the side
    (``right_joint_error``) when the result has two hands. Object errors are computed on the result's own
    template: ground-truth vertices are the template (recovered from the predicted pose) placed with the
    ground-truth pose at the clip's ``object_scale``.
    """
    import torch

    from hoFit.eval import hand_metrics, object_metrics, temporal
    from hoFit.eval.symmetry import symmetric_rotation_error_deg
    from hoFit.eval.types import Metrics

    metrics = Metrics()
    frame_indices = np.asarray(result.frame_indices, dtype=np.int64)
    gt = None
    if clip is not None and clip.ground_truth is not None:
        if frame_indices.max(initial=0) >= clip.num_frames:
            raise HoFitError(f"result {result.clip_name} uses frame {int(frame_indices.max())} but clip {clip.name} "
                             f"has {clip.num_frames} frames; pass the clip the result was fitted on with --gt")
        gt = clip.ground_truth.select(frame_indices)
    two = len(result.hands) > 1
    obj = result.object
    pred_obj = torch.as_tensor(np.asarray(obj.vertices), dtype=torch.float64)
    rot_pred = torch.as_tensor(np.asarray(obj.rotation), dtype=torch.float64)
    t_pred = torch.as_tensor(np.asarray(obj.translation), dtype=torch.float64)

    # object against ground truth
    gt_obj = None
    obj_valid = None
    if gt is not None and gt.object_rotation is not None:
        obj_valid = torch.as_tensor(gt.object_valid, dtype=torch.bool)
        if obj_valid.any():
            rot_gt = torch.as_tensor(gt.object_rotation, dtype=torch.float64)
            t_gt = torch.as_tensor(gt.object_translation, dtype=torch.float64)
            # template in its own frame, unscaled: s * x = R^T (v - t)
            canonical = (pred_obj - t_pred[:, None]) @ rot_pred / float(obj.scale)
            gt_obj = float(clip.object_scale) * canonical @ rot_gt.transpose(-1, -2) + t_gt[:, None]
            v = obj_valid
            metrics.add("object_rotation_error", object_metrics.rotation_error_deg(rot_pred[v], rot_gt[v]).mean(), "deg",
                        description="geodesic angle between predicted and true object rotation")
            symmetries = _template_symmetries(canonical[0].numpy(), np.asarray(obj.faces))
            metrics.add("object_rotation_error_sym",
                        symmetric_rotation_error_deg(rot_pred[v], rot_gt[v], symmetries).mean(), "deg",
                        description="geodesic angle to the nearest rotation that shows the same template surface "
                                    f"({len(symmetries)} found)")
            metrics.add("object_translation_error",
                        object_metrics.translation_error_cm(pred_obj[v].mean(1), gt_obj[v].mean(1)).mean(), "cm",
                        description="distance between predicted and true object centroids")
            metrics.add("object_add", 100 * object_metrics.vertex_error(pred_obj[v], gt_obj[v]).mean(), "cm",
                        description="ADD: mean corresponding-vertex error of the object")
            metrics.add("object_add_s", 100 * object_metrics.add_s(pred_obj[v], gt_obj[v]).mean(), "cm",
                        description="ADD-S: mean distance from true object vertices to the nearest predicted one")

    # hands against ground truth
    used: set[int] = set()
    for hand in result.hands:
        prefix = f"{hand.side}_" if two else ""
        keypoints = torch.as_tensor(np.asarray(hand.keypoints), dtype=torch.float64)
        j = _match_hand(hand.side, clip, used) if clip is not None else None
        hand_gt = gt.hands[j] if gt is not None and j is not None and j < len(gt.hands) else None
        if j is not None:
            used.add(j)
        if hand_gt is not None and hand_gt.joints is not None and hand_gt.joints_valid.any():
            vertices = gt_vertices = None
            if hand_gt.vertices is not None and hand_gt.vertices_valid.all():
                vertices, gt_vertices = np.asarray(hand.vertices), hand_gt.vertices
            elif hand_gt.vertices is not None:
                logger.info("hand %s: ground-truth vertices are missing in some frames; mesh metrics skipped",
                            hand.side)
            metrics.update(hand_metrics.hand_pose_metrics(keypoints, hand_gt.joints, vertices, gt_vertices,
                                                          valid=hand_gt.joints_valid), prefix)
            gt_joints = torch.as_tensor(hand_gt.joints, dtype=torch.float64)
            metrics.add(f"{prefix}joint_acceleration_error",
                        1000 * temporal.acceleration_error(keypoints, gt_joints), "mm/frame^2",
                        description="difference of keypoint accelerations, prediction vs. ground truth")
            frame_ok = torch.as_tensor(hand_gt.joints_valid.all(axis=1))
            if gt_obj is not None:
                frame_ok = frame_ok & obj_valid
                if frame_ok.any():
                    frame_pred = object_metrics.hand_frame_from_keypoints(keypoints[frame_ok])
                    frame_gt = object_metrics.hand_frame_from_keypoints(gt_joints[frame_ok])
                    err = object_metrics.object_error_in_hand_frame(pred_obj[frame_ok], gt_obj[frame_ok],
                                                                    frame_pred, frame_gt)
                    metrics.add(f"{prefix}object_error_hand_frame", 100 * err.mean(), "cm",
                                description="object vertex error with each object expressed in its hand's frame")
        metrics.add(f"{prefix}hand_jitter", 1000 * temporal.mean_acceleration(keypoints), "mm/frame^2",
                    description="mean keypoint acceleration of the fitted hand")
        if plausibility:
            from hoFit.eval.plausibility import plausibility_metrics

            metrics.update(plausibility_metrics(np.asarray(hand.vertices), np.asarray(obj.vertices),
                                                np.asarray(obj.faces)), prefix)
    metrics.add("object_jitter", 1000 * temporal.mean_acceleration(pred_obj), "mm/frame^2",
                description="mean vertex acceleration of the fitted object")
    return metrics


def metrics_to_json(metrics) -> dict:
    """``{name: {"value": float | None (NaN), "unit", "higher_is_better", "description"}}``."""
    return {
        record.pop("name"): record
        for record in metrics.to_records()
    }


def format_table(metrics) -> str:
    """A plain-text table: metric, value (4 significant digits), unit."""
    rows = [(m.name, "n/a" if math.isnan(m.value) else f"{m.value:.4g}", m.unit) for m in metrics.values.values()]
    if not rows:
        return "(no metrics)"
    widths = [max(len(r[i]) for r in rows + [("metric", "value", "unit")]) for i in range(3)]
    lines = [f"{'metric':<{widths[0]}}  {'value':>{widths[1]}}  unit", f"{'-' * widths[0]}  {'-' * widths[1]}  ----"]
    lines += [f"{n:<{widths[0]}}  {v:>{widths[1]}}  {u}" for n, v, u in rows]
    return "\n".join(lines)
