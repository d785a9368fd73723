"""Rotational symmetries of an object template, and the rotation error that ignores them.

A box turned half a turn about one of its axes, or a can turned by any angle about its own, looks the same:
the plain rotation error between two such poses is large while the object is in the same place (ADD-S
already ignores this). `template_symmetries` finds the rotations, about the template's centre, that map its
surface onto itself within a tolerance; `symmetric_rotation_error_deg` is the smallest geodesic angle between
the predicted rotation and the true one composed with any of them.

Candidates are turns about the surface's three principal axes (every 10 degrees for a round axis, else the
finest of 1/6, 1/4, 1/3 and 1/2 turns); the accepted ones are closed under composition (which adds, e.g., the
half turns about all the axes perpendicular to a cylinder's, whatever principal axes its round cross-section
gave).
"""

from __future__ import annotations

import numpy as np
import torch

from hoFit.eval.object_metrics import rotation_error_deg

__all__ = ["template_symmetries", "symmetric_rotation_error_deg"]


def _triangle_areas(triangles: np.ndarray) -> np.ndarray:
    """(F,) areas of (F, 3, 3) triangles."""
    return 0.5 * np.linalg.norm(np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]), axis=-1)


def _surface_samples(vertices: np.ndarray, faces: np.ndarray, count: int, seed: int) -> np.ndarray:
    """(count, 3) points drawn uniformly by area on the triangles (a fixed seed: reproducible)."""
    triangles = vertices[faces]  # (F, 3, 3)
    areas = _triangle_areas(triangles)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(faces), size=count, p=areas / areas.sum())
    u, v = rng.random((2, count, 1))
    flip = (u + v) > 1  # reflect into the triangle
    u, v = np.where(flip, 1 - u, u), np.where(flip, 1 - v, v)
    t = triangles[chosen]
    return t[:, 0] + u * (t[:, 1] - t[:, 0]) + v * (t[:, 2] - t[:, 0])


# Second moments closer than this (relative to the largest) count as equal: the principal axes in their
# subspace are then arbitrary, and LAPACK builds pick different ones (a square prism's came out 10 degrees
# from an edge normal with one OpenBLAS kernel and 7 degrees from a diagonal with another).
DEGENERATE_MOMENT = 1e-2


def _farthest_direction(offsets: np.ndarray, axis: np.ndarray | None = None) -> np.ndarray:
    """(3,) unit direction of the offset (V, 3) farthest from a unit ``axis`` through the origin, measured
    across it (from the origin when ``axis`` is None)."""
    across = offsets if axis is None else offsets - np.outer(offsets @ axis, axis)
    farthest = across[np.argmax(np.linalg.norm(across, axis=1))]
    return farthest / np.linalg.norm(farthest)


def _surface_axes(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Area-weighted centroid (3,) and principal axes (3, 3, columns) of a triangle surface, in closed form.

    Where second moments are equal (`DEGENERATE_MOMENT`), the axes that span their subspace are fixed by the
    shape instead of by the eigen solver: the direction of the vertex farthest from the other axis (or from
    the centre, when all three are equal), then its perpendicular.
    """
    triangles = vertices[faces]  # (F, 3, 3)
    areas = _triangle_areas(triangles)
    centre = (areas[:, None] * triangles.mean(axis=1)).sum(axis=0) / areas.sum()
    local = triangles - centre
    corners = local.sum(axis=1)
    # second moment of a triangle about the origin: area / 12 * (sum_i v_i v_i^T + (sum_i v_i)(sum_i v_i)^T)
    moment = np.einsum("f,fki,fkj->ij", areas, local, local) + np.einsum("f,fi,fj->ij", areas, corners, corners)
    values, axes = np.linalg.eigh(moment / 12)
    limit = DEGENERATE_MOMENT * np.abs(values).max()
    low_pair, high_pair = values[1] - values[0] <= limit, values[2] - values[1] <= limit  # ascending values
    if not (low_pair or high_pair):
        return centre, axes
    offsets = vertices - centre
    if low_pair and high_pair:  # the same moment about every axis: only the shape's vertices can fix a frame
        first = _farthest_direction(offsets)
        second = _farthest_direction(offsets, first)
        return centre, np.stack([first, second, np.cross(first, second)], axis=1)
    pair, single = ((0, 1), 2) if low_pair else ((1, 2), 0)
    axis = axes[:, single]
    first = _farthest_direction(offsets, axis)  # in the plane of the equal moments
    fixed = axes.copy()
    fixed[:, pair[0]], fixed[:, pair[1]] = first, np.cross(axis, first)
    return centre, fixed


def _axis_rotations(axis: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations by the given angles about a unit axis (Rodrigues)."""
    angles = np.radians(np.asarray(degrees, dtype=np.float64))
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return (
        np.eye(3)[None]
        + np.sin(angles)[:, None, None] * cross[None]
        + (1 - np.cos(angles))[:, None, None] * (cross @ cross)[None]
    )


def _unique(rotations: np.ndarray, angle_deg: float = 0.5) -> np.ndarray:
    """Rotations with near-duplicates (within ``angle_deg``) removed, first occurrence kept."""
    kept: list[np.ndarray] = []
    for rotation in rotations:
        if all(np.degrees(np.arccos(np.clip((np.trace(k.T @ rotation) - 1) / 2, -1, 1))) > angle_deg for k in kept):
            kept.append(rotation)
    return np.stack(kept)


def template_symmetries(
    vertices, faces, tolerance: float = 0.025, round_step_deg: float = 10.0, samples: int = 300, seed: int = 0
) -> np.ndarray:
    """Rotations about the template's centre that leave its surface (nearly) unchanged.

    Candidates turn about the surface's principal axes. An axis about which both a ``round_step_deg`` and an
    eighth turn (the worst case for a square) are accepted is round: every multiple of the step is kept.
    Otherwise the finest accepted turn among 1/6, 1/4, 1/3 and 1/2 gives its multiples (with a finer turn
    than 1/2, also the half turn about the direction of the vertex farthest from the axis). The kept
    rotations are then closed under composition. A candidate is accepted when 99 % of the moved surface
    samples lie within ``tolerance`` times the bounding-box diagonal of the surface (exact point-to-triangle
    distances; a mean would pass a thin box turned in its own plane).

    Args:
        vertices: (V, 3) template vertices (any unit). faces: (F, 3) triangle indices.
        tolerance: accepted surface deviation, as a fraction of the bounding-box diagonal. 0.025 lets the
            half turns of scanned boxes pass (those of the YCB cracker and sugar boxes deviate by up to 2.1 %:
            bulges, rounded edges), which a silhouette cannot tell apart either; a mug's handle fails it.
        round_step_deg: angle step of round axes, degrees.
        samples: surface points moved by each candidate.

    Returns:
        (S, 3, 3) float64 rotations in the template frame, the identity first. For a pose (R, t), every
        ``R @ S`` shows the same surface (about the centre ``c``, with translation ``t + R (c - S c)``).
        A shape round about two or more axes (a ball) gets only the rotations about its principal axes,
        not their whole group: its `symmetric_rotation_error_deg` is then an upper bound.
    """
    from hoFit.models.objects.distance import point_mesh_distance

    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise ValueError(
            f"template_symmetries: expected (V, 3) vertices and (F, 3) faces, got {vertices.shape} and {faces.shape}"
        )
    areas = _triangle_areas(vertices[faces])
    if not np.isfinite(areas).all() or areas.sum() <= 0:
        raise ValueError("template_symmetries: the mesh has no area (degenerate faces)")
    centre, axes = _surface_axes(vertices, faces)
    points = _surface_samples(vertices, faces, samples, seed) - centre
    limit = tolerance * np.linalg.norm(vertices.max(axis=0) - vertices.min(axis=0))
    mesh_vertices = torch.as_tensor(vertices - centre)
    mesh_faces = torch.as_tensor(faces)

    def accepted(rotations: np.ndarray) -> np.ndarray:
        """(N,) bool for (N, 3, 3) candidates."""
        moved = torch.as_tensor(np.einsum("nij,pj->npi", rotations, points))
        deviation = point_mesh_distance(moved, mesh_vertices, mesh_faces)
        return (torch.quantile(deviation, 0.99, dim=-1) <= limit).numpy()

    found = [np.eye(3)[None]]
    round_axes = 0
    for axis in axes.T:
        if accepted(_axis_rotations(axis, [round_step_deg, 45.0])).all():
            round_axes += 1
            found.append(_axis_rotations(axis, np.arange(round_step_deg, 360.0 - 1e-6, round_step_deg)))
            continue
        for parts in (6, 4, 3, 2):
            if accepted(_axis_rotations(axis, [360.0 / parts]))[0]:
                found.append(_axis_rotations(axis, 360.0 / parts * np.arange(1, parts)))
                if parts > 2:
                    # Equal second moments across this axis leave the other principal axes arbitrary in its
                    # plane: try the half turn about the direction of the vertex farthest from the axis (one of
                    # the half-turn axes of a regular prism).
                    flip = _axis_rotations(_farthest_direction(vertices - centre, axis), [180.0])
                    if accepted(flip)[0]:
                        found.append(flip)
                break
    group = _unique(np.concatenate(found))
    if round_axes < 2:
        products = _unique(np.concatenate([group, np.einsum("aij,bjk->abik", group, group).reshape(-1, 3, 3)]))
        new = products[len(group):]  # `_unique` keeps first occurrences: the group comes first
        if len(new):
            group = np.concatenate([group, new[accepted(new)]])
    return group


def symmetric_rotation_error_deg(rot_pred, rot_gt, symmetries) -> torch.Tensor:
    """Geodesic angle to the nearest equivalent of the true rotation, degrees.

    Args:
        rot_pred, rot_gt: (..., 3, 3) object-to-camera rotations.
        symmetries: (S, 3, 3) template-frame symmetries from `template_symmetries` (the identity among them).

    Returns:
        (...) ``min_s angle(rot_pred, rot_gt @ S_s)`` in [0, 180].
    """
    pred = torch.as_tensor(rot_pred)
    gt = torch.as_tensor(rot_gt).to(pred)
    sym = torch.as_tensor(np.asarray(symmetries)).to(pred)
    equivalents = gt[..., None, :, :] @ sym  # (..., S, 3, 3)
    return rotation_error_deg(pred[..., None, :, :], equivalents).min(dim=-1).values
