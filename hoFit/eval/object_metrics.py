"""Object pose metrics and hand-object relative metrics.

Object vertices are metres in the camera frame (``x_cam = R x_obj + t``). Rotations are (..., 3, 3)
matrices acting on column vectors; translations (..., 3) metres. Reported units: cm and degrees.

The hand frame used for relative pose is a rigid (..., 4, 4) hand->camera transform: either the wrist
joint transform of the hand model, or the frame built from keypoints by :func:`hand_frame_from_keypoints`
(origin at the wrist, x towards the middle of index1 and pinky1, z the palm normal
``(index1 - wrist) x (pinky1 - wrist)``, y = z x x). Whatever the choice, use the same one for prediction
and ground truth.
"""

from __future__ import annotations

import torch

from hoFit.eval._common import as_tensor, nearest_distances, same_shape

__all__ = [
    "vertex_error",
    "add_s",
    "rotation_error_deg",
    "translation_error_cm",
    "hand_frame_from_keypoints",
    "relative_object_pose",
    "relative_pose_errors",
    "object_error_in_hand_frame",
    "centroid_distance_error",
]


def vertex_error(pred_vertices, gt_vertices) -> torch.Tensor:
    """Mean distance between corresponding vertices.

    Args:
        pred_vertices: (..., V, 3) metres.
        gt_vertices: (..., V, 3) metres, same vertex order.

    Returns:
        (...) mean distance in metres.
    """
    p = as_tensor(pred_vertices, "pred_vertices", (None, 3))
    g = as_tensor(gt_vertices, "gt_vertices", (None, 3)).to(p)
    same_shape(p, g, "pred_vertices", "gt_vertices")
    return (p - g).norm(dim=-1).mean(-1)


def add_s(pred_vertices, gt_vertices) -> torch.Tensor:
    """ADD-S: mean over ground-truth vertices of the distance to the nearest predicted vertex.

    Symmetry-aware (no correspondence needed). Nearest neighbours by brute force, chunked.

    Args:
        pred_vertices: (..., Vp, 3) metres.
        gt_vertices: (..., Vg, 3) metres, same leading dims.

    Returns:
        (...) metres.
    """
    p = as_tensor(pred_vertices, "pred_vertices", (None, 3))
    g = as_tensor(gt_vertices, "gt_vertices", (None, 3)).to(p)
    return nearest_distances(g, p).mean(-1)


def rotation_error_deg(rot_pred, rot_gt) -> torch.Tensor:
    """Geodesic angle between rotation matrices (..., 3, 3) -> (...) degrees in [0, 180]."""
    a = as_tensor(rot_pred, "rot_pred", (3, 3))
    b = as_tensor(rot_gt, "rot_gt", (3, 3)).to(a)
    rel = a.transpose(-1, -2) @ b
    trace = rel.diagonal(dim1=-2, dim2=-1).sum(-1)
    # atan2 of (|skew part|, cos) is accurate near 0 and 180 degrees, unlike acos of the trace.
    skew = torch.stack([rel[..., 2, 1] - rel[..., 1, 2], rel[..., 0, 2] - rel[..., 2, 0],
                        rel[..., 1, 0] - rel[..., 0, 1]], -1)
    angle = torch.atan2(0.5 * skew.norm(dim=-1), 0.5 * (trace - 1))
    return torch.rad2deg(angle)


def translation_error_cm(t_pred, t_gt) -> torch.Tensor:
    """Euclidean distance between translations (..., 3) metres -> (...) centimetres."""
    a = as_tensor(t_pred, "t_pred", (3,))
    b = as_tensor(t_gt, "t_gt", (3,)).to(a)
    same_shape(a, b, "t_pred", "t_gt")
    return 100.0 * (a - b).norm(dim=-1)


def hand_frame_from_keypoints(keypoints, wrist: int = 0, index1: int = 1, pinky1: int = 7) -> torch.Tensor:
    """Rigid hand->camera frame (..., 4, 4) from (..., 21, 3) keypoints (hoFit order by default).

    Origin at the wrist; x = unit(mean(index1, pinky1) - wrist); z = unit((index1 - wrist) x
    (pinky1 - wrist)) made orthogonal to x; y = z x x.
    """
    k = as_tensor(keypoints, "keypoints", (None, 3))
    o = k[..., wrist, :]
    a, b = k[..., index1, :] - o, k[..., pinky1, :] - o
    x = torch.nn.functional.normalize(0.5 * (a + b), dim=-1)
    z = torch.linalg.cross(a, b, dim=-1)
    z = torch.nn.functional.normalize(z - (z * x).sum(-1, keepdim=True) * x, dim=-1)
    y = torch.linalg.cross(z, x, dim=-1)
    frame = torch.zeros(*k.shape[:-2], 4, 4, dtype=k.dtype, device=k.device)
    frame[..., :3, :3] = torch.stack([x, y, z], dim=-1)
    frame[..., :3, 3] = o
    frame[..., 3, 3] = 1
    return frame


def relative_object_pose(hand_frame, rot_obj, t_obj):
    """Object pose in the hand frame: ``T_rel = T_hand^-1 T_obj``.

    Args:
        hand_frame: (..., 4, 4) rigid hand->camera transform.
        rot_obj: (..., 3, 3) object->camera rotation.
        t_obj: (..., 3) object->camera translation, metres.

    Returns:
        ``(rot_rel (..., 3, 3), t_rel (..., 3))`` object->hand.
    """
    h = as_tensor(hand_frame, "hand_frame", (4, 4))
    r = as_tensor(rot_obj, "rot_obj", (3, 3)).to(h)
    t = as_tensor(t_obj, "t_obj", (3,)).to(h)
    rh_t = h[..., :3, :3].transpose(-1, -2)
    rot_rel = rh_t @ r
    t_rel = (rh_t @ (t - h[..., :3, 3])[..., None])[..., 0]
    return rot_rel, t_rel


def relative_pose_errors(hand_frame_pred, rot_pred, t_pred, hand_frame_gt, rot_gt, t_gt):
    """Rotation (degrees) and translation (cm) errors of the object pose expressed in the hand frame.

    Shapes as in :func:`relative_object_pose`. Returns ``(rotation_deg (...), translation_cm (...))``.
    """
    rp, tp = relative_object_pose(hand_frame_pred, rot_pred, t_pred)
    rg, tg = relative_object_pose(hand_frame_gt, rot_gt, t_gt)
    return rotation_error_deg(rp, rg), translation_error_cm(tp, tg.to(tp))


def object_error_in_hand_frame(pred_obj_vertices, gt_obj_vertices, hand_frame_pred, hand_frame_gt) -> torch.Tensor:
    """Mean corresponding-vertex error of the object after expressing each in its own hand frame.

    Args:
        pred_obj_vertices, gt_obj_vertices: (..., V, 3) camera frame, metres, same vertex order.
        hand_frame_pred, hand_frame_gt: (..., 4, 4) rigid hand->camera transforms.

    Returns:
        (...) metres; invariant to any rigid motion applied to a (hand, object) pair jointly.
    """
    p = as_tensor(pred_obj_vertices, "pred_obj_vertices", (None, 3))
    g = as_tensor(gt_obj_vertices, "gt_obj_vertices", (None, 3)).to(p)
    same_shape(p, g, "pred_obj_vertices", "gt_obj_vertices")
    hp = as_tensor(hand_frame_pred, "hand_frame_pred", (4, 4)).to(p)
    hg = as_tensor(hand_frame_gt, "hand_frame_gt", (4, 4)).to(p)

    def to_hand(x, h):
        return (x - h[..., None, :3, 3]) @ h[..., :3, :3]

    return (to_hand(p, hp) - to_hand(g, hg)).norm(dim=-1).mean(-1)


def centroid_distance_error(pred_hand_vertices, pred_obj_vertices, gt_hand_vertices, gt_obj_vertices) -> torch.Tensor:
    """``| |c(hand_pred) - c(obj_pred)| - |c(hand_gt) - c(obj_gt)| |`` with c = vertex centroid.

    Args:
        pred_hand_vertices, gt_hand_vertices: (..., Vh, 3) metres (Vh may differ between them).
        pred_obj_vertices, gt_obj_vertices: (..., Vo, 3) metres.

    Returns:
        (...) metres.
    """
    def dist(h, o, name):
        h = as_tensor(h, f"{name}_hand_vertices", (None, 3))
        o = as_tensor(o, f"{name}_obj_vertices", (None, 3)).to(h)
        return (h.mean(-2) - o.mean(-2)).norm(dim=-1)

    d_pred = dist(pred_hand_vertices, pred_obj_vertices, "pred")
    d_gt = dist(gt_hand_vertices, gt_obj_vertices, "gt").to(d_pred)
    if d_pred.shape != d_gt.shape:
        raise ValueError(f"prediction and ground truth must cover the same frames, got {tuple(d_pred.shape)} "
                         f"and {tuple(d_gt.shape)}")
    return (d_pred - d_gt).abs()
