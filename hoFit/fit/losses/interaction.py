"""Hand-object interaction terms: coarse attraction, collision (penetration) and local contact.

Distances are measured to surfaces, not to vertices: the object through its signed-distance function in
the object frame, the hand through exact point-to-triangle distance to its closed mesh. Losses are in
squared centimetres so that their weights read naturally.
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = [
    "points_to_object_frame",
    "object_signed_distance",
    "coarse_interaction_loss",
    "interaction_active",
    "hand_in_object_penetration",
    "object_in_hand_penetration",
    "collision_loss",
    "contact_loss",
]

SignedDistance = Callable[[torch.Tensor], torch.Tensor]


def points_to_object_frame(points: torch.Tensor, rotation: torch.Tensor, translation: torch.Tensor, scale) -> torch.Tensor:
    """Camera-frame points into the template frame: ``x_obj = R^T (x_cam - t) / s``.

    Args:
        points: (T, N, 3) camera frame, metres.
        rotation: (T, 3, 3) object-to-camera rotations.
        translation: (T, 3) metres.
        scale: scalar or (T,) metric scale of the template.
    """
    scale = torch.as_tensor(scale, dtype=points.dtype, device=points.device).reshape(-1, 1, 1)
    return ((points - translation[:, None, :]) @ rotation) / scale


def object_signed_distance(
    points: torch.Tensor, sdf: SignedDistance, rotation: torch.Tensor, translation: torch.Tensor, scale
) -> torch.Tensor:
    """Signed distance in metres (negative inside) of camera-frame points (T, N, 3) to the posed object.

    Differentiable with respect to the points and to the object's pose and scale.
    """
    scale_t = torch.as_tensor(scale, dtype=points.dtype, device=points.device).reshape(-1, 1)
    return sdf(points_to_object_frame(points, rotation, translation, scale)) * scale_t


def interaction_active(
    hand_boxes: torch.Tensor,
    object_boxes: torch.Tensor,
    hand_depth: torch.Tensor,
    object_depth: torch.Tensor,
    depth_margin: float = 0.05,
) -> torch.Tensor:
    """Frames where hand and object plausibly touch: their 2D boxes overlap and their depth ranges are close.

    Args:
        hand_boxes, object_boxes: (T, 4) x1, y1, x2, y2 pixels (NaN where absent -> inactive).
        hand_depth, object_depth: (T, 2) min and max depth of each mesh, metres.
        depth_margin: ranges closer than this (metres) count as close.

    Returns:
        (T,) bool.
    """
    overlap_x = torch.minimum(hand_boxes[:, 2], object_boxes[:, 2]) > torch.maximum(hand_boxes[:, 0], object_boxes[:, 0])
    overlap_y = torch.minimum(hand_boxes[:, 3], object_boxes[:, 3]) > torch.maximum(hand_boxes[:, 1], object_boxes[:, 1])
    gap = torch.maximum(hand_depth[:, 0] - object_depth[:, 1], object_depth[:, 0] - hand_depth[:, 1])
    return overlap_x & overlap_y & (gap < depth_margin)


def coarse_interaction_loss(hand_vertices: torch.Tensor, object_vertices: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """Squared distance (cm^2) between hand and object vertex centroids, averaged over active frames.

    Args:
        hand_vertices: (T, Vh, 3) metres. object_vertices: (T, Vo, 3) metres. active: (T,) bool.
    """
    distance = (hand_vertices.mean(dim=1) - object_vertices.mean(dim=1)).norm(dim=-1) * 100.0
    weights = active.to(distance.dtype)
    return (distance.pow(2) * weights).sum() / weights.sum().clamp(min=1.0)


def hand_in_object_penetration(
    hand_vertices: torch.Tensor, sdf: SignedDistance, rotation: torch.Tensor, translation: torch.Tensor, scale
) -> torch.Tensor:
    """(T, Vh) penetration depth (metres, >= 0) of each hand vertex inside the object."""
    return torch.relu(-object_signed_distance(hand_vertices, sdf, rotation, translation, scale))


def object_in_hand_penetration(
    object_vertices: torch.Tensor, hand_vertices: torch.Tensor, hand_closed_faces: torch.Tensor
) -> torch.Tensor:
    """(T, Vo) penetration depth (metres, >= 0) of each object vertex inside the closed hand mesh.

    Only vertices inside the hand's bounding box of their frame are tested (the others cannot be inside);
    they are grouped per frame so that the hand's triangles are gathered once per frame. A vertex is
    inside when it lies behind the outward normal of its closest hand triangle; its depth is the exact
    distance to that triangle, differentiable with respect to both meshes.
    """
    from hoFit.models.objects.distance import mesh_proximity

    T, num_vertices = object_vertices.shape[:2]
    depth = object_vertices.new_zeros(T, num_vertices)
    with torch.no_grad():
        low = hand_vertices.min(dim=1, keepdim=True).values
        high = hand_vertices.max(dim=1, keepdim=True).values
        in_box = ((object_vertices >= low) & (object_vertices <= high)).all(dim=-1)  # (T, Vo)
        counts = in_box.sum(dim=1)
        width = int(counts.max()) if T else 0
        if width == 0:
            return depth
        # Per frame, the indices of its candidate vertices first (stable sort), padded with vertex 0.
        order = torch.sort((~in_box).to(torch.int8), dim=1, stable=True).indices[:, :width]
        slot_used = torch.arange(width, device=depth.device)[None] < counts[:, None]
    candidates = torch.gather(object_vertices, 1, order[..., None].expand(T, width, 3))
    proximity = mesh_proximity(candidates, hand_vertices, hand_closed_faces)
    with torch.no_grad():
        a, b, c = (hand_vertices[:, hand_closed_faces[:, k]] for k in range(3))  # (T, F, 3)
        normals = torch.cross(b - a, c - a, dim=-1)
        face_normal = torch.gather(normals, 1, proximity.face_index[..., None].expand(T, width, 3))
        offset = candidates.detach() - proximity.closest.detach()
        inside = ((offset * face_normal).sum(dim=-1) < 0) & slot_used
    frame, slot = torch.nonzero(inside, as_tuple=True)
    return depth.index_put((frame, order[frame, slot]), proximity.distance[frame, slot])


def collision_loss(
    hand_vertices: torch.Tensor,
    sdf: SignedDistance,
    rotation: torch.Tensor,
    translation: torch.Tensor,
    scale,
    object_vertices: torch.Tensor | None = None,
    hand_closed_faces: torch.Tensor | None = None,
) -> torch.Tensor:
    """Interpenetration of hand and object, squared centimetres summed over vertices, averaged over frames.

    Hand vertices inside the object (object SDF) always count; object vertices inside the hand count when
    ``object_vertices`` and the hand's closed faces are given. Gradients reach the hand vertices and the
    object's rotation, translation and scale (pushing either out of the other).
    """
    depth = hand_in_object_penetration(hand_vertices, sdf, rotation, translation, scale)
    loss = (depth * 100.0).pow(2).sum(dim=-1).mean()
    if object_vertices is not None and hand_closed_faces is not None:
        depth_obj = object_in_hand_penetration(object_vertices, hand_vertices, hand_closed_faces)
        loss = loss + (depth_obj * 100.0).pow(2).sum(dim=-1).mean()
    return loss


def contact_loss(
    contact_vertices: torch.Tensor,
    sdf: SignedDistance,
    rotation: torch.Tensor,
    translation: torch.Tensor,
    scale,
    attraction_distance: float = 0.01,
) -> torch.Tensor:
    """Local interaction: contact regions that are near the object's surface touch it without entering.

    Args:
        contact_vertices: (T, C, 3) camera-frame positions of the hand's contact-region vertices (finger
            pads, palm), metres.
        sdf: template-frame signed distance (negative inside).
        attraction_distance: vertices outside the object but closer than this (metres) are pulled onto the
            surface; farther ones are left alone (they are not in contact).

    Returns:
        Scalar, squared centimetres summed over vertices and averaged over frames: attraction
        ``d^2`` for ``0 < d < attraction_distance`` plus repulsion ``d^2`` for ``d < 0``.
    """
    distance = object_signed_distance(contact_vertices, sdf, rotation, translation, scale) * 100.0
    near = (distance > 0) & (distance < attraction_distance * 100.0)
    inside = distance < 0
    penalty = distance.pow(2) * (near | inside).to(distance.dtype)
    return penalty.sum(dim=-1).mean()
