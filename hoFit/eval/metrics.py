"""The metric suite in one namespace: ``from hoFit.eval.metrics import add_s, procrustes_align, ...``.

The functions live in one module per concept:

* :mod:`hoFit.eval.hand_metrics` - HO-3D hand family (joint errors, Procrustes and scale-translation
  alignment, PCK AUC, F-scores, mesh errors);
* :mod:`hoFit.eval.object_metrics` - object vertex error, ADD-S, rotation/translation errors, relative pose
  in the hand frame, hand-object centroid distance;
* :mod:`hoFit.eval.plausibility` - penetration depth, intersection volume, contact ratio;
* :mod:`hoFit.eval.image_metrics` - mask IoU, keypoint reprojection error;
* :mod:`hoFit.eval.temporal` - acceleration (jitter);
* :mod:`hoFit.eval.aggregate` - mean/median summaries and the seen/unseen split;
* :mod:`hoFit.eval.types` - `Metrics` / `MetricValue` (named numbers with units).

All metric functions are pure and batched, take torch tensors or numpy arrays (converted; floating dtypes
kept) and return tensors in metres/degrees/pixels; the ``*_metrics`` helpers return `Metrics` in report
units (cm, mm, cm^3, degrees).
"""

from __future__ import annotations

from hoFit.eval._common import as_tensor
from hoFit.eval.aggregate import split_seen_unseen, summarize, summarize_seen_unseen
from hoFit.eval.hand_metrics import (
    apply_similarity,
    f_score,
    hand_pose_metrics,
    joint_errors,
    mean_joint_error,
    pck_auc,
    pck_curve,
    procrustes_align,
    procrustes_transform,
    scale_translation_align,
)
from hoFit.eval.image_metrics import keypoint_reprojection_error, mask_iou, projected_keypoint_error
from hoFit.eval.object_metrics import (
    add_s,
    centroid_distance_error,
    hand_frame_from_keypoints,
    object_error_in_hand_frame,
    relative_object_pose,
    relative_pose_errors,
    rotation_error_deg,
    translation_error_cm,
    vertex_error,
)
from hoFit.eval.plausibility import (
    contact_frames,
    contact_ratio,
    intersection_volume,
    max_penetration_depth,
    penetration_depths,
    plausibility_metrics,
)
from hoFit.eval.temporal import acceleration, acceleration_error, mean_acceleration
from hoFit.eval.types import Metrics, MetricValue

__all__ = [
    "Metrics", "MetricValue",
    "joint_errors", "mean_joint_error", "procrustes_transform", "apply_similarity", "procrustes_align",
    "scale_translation_align", "pck_curve", "pck_auc", "f_score", "hand_pose_metrics",
    "vertex_error", "add_s", "rotation_error_deg", "translation_error_cm", "hand_frame_from_keypoints",
    "relative_object_pose", "relative_pose_errors", "object_error_in_hand_frame", "centroid_distance_error",
    "object_pose_metrics",
    "penetration_depths", "max_penetration_depth", "intersection_volume", "contact_frames", "contact_ratio",
    "plausibility_metrics",
    "mask_iou", "keypoint_reprojection_error", "projected_keypoint_error",
    "acceleration", "mean_acceleration", "acceleration_error", "temporal_metrics",
    "summarize", "split_seen_unseen", "summarize_seen_unseen",
]


def object_pose_metrics(pred_vertices, gt_vertices, rot_pred=None, t_pred=None, rot_gt=None, t_gt=None) -> Metrics:
    """Object metrics of one clip, averaged over frames.

    Args:
        pred_vertices, gt_vertices: (T, V, 3) camera-frame object vertices (same template, same order),
            metres.
        rot_pred, rot_gt: optional (T, 3, 3) object->camera rotations; t_pred, t_gt: (T, 3) metres.

    Returns:
        Metrics ``object_vertex_error`` and ``object_add_s`` (cm) and, with poses,
        ``object_rotation_error`` (deg) and ``object_translation_error`` (cm).
    """
    out = Metrics()
    out.add("object_vertex_error", 100 * vertex_error(pred_vertices, gt_vertices).mean(), "cm",
            description="mean distance between corresponding object vertices")
    out.add("object_add_s", 100 * add_s(pred_vertices, gt_vertices).mean(), "cm",
            description="mean over true vertices of the distance to the nearest predicted vertex")
    if rot_pred is not None and rot_gt is not None:
        out.add("object_rotation_error", rotation_error_deg(rot_pred, rot_gt).mean(), "deg")
    if t_pred is not None and t_gt is not None:
        out.add("object_translation_error", translation_error_cm(t_pred, t_gt).mean(), "cm")
    return out


def temporal_metrics(hand_keypoints=None, obj_vertices=None) -> Metrics:
    """Jitter of (T, 21, 3) hand keypoints and/or (T, V, 3) object vertices, reported in mm/frame^2."""
    out = Metrics()
    for name, points in (("hand_jitter", hand_keypoints), ("object_jitter", obj_vertices)):
        if points is not None:
            x = as_tensor(points, name, (None, 3), min_dim=3)
            out.add(name, 1000 * mean_acceleration(x), "mm/frame^2",
                    description="mean norm of the second finite difference of positions")
    return out
