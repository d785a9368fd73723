"""Small triangle-mesh utilities for hand models: boundary loops, hole closing, normals, winding numbers.

Faces are (F, 3) vertex ids, counter-clockwise seen from outside (outward normals by the right-hand rule).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "boundary_loops",
    "close_holes",
    "vertex_normals",
    "face_normals",
    "winding_numbers",
    "mesh_volume",
]


def boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """Closed loops of boundary edges (edges used by one face), each (L,) vertex ids in the order of the
    faces' own winding (so the hole lies to the right when walking along a loop seen from outside)."""
    faces = np.asarray(faces, dtype=np.int64)
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    keys = np.sort(edges, axis=1)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    boundary = edges[counts[inverse.reshape(-1)] == 1]
    if len(boundary) == 0:
        return []
    next_of: dict[int, int] = {}
    for a, b in boundary.tolist():
        if a in next_of:
            raise ValueError(f"boundary vertex {a} starts two boundary edges: the mesh is not manifold there")
        next_of[a] = b
    loops: list[np.ndarray] = []
    unvisited = set(next_of)
    while unvisited:
        start = min(unvisited)
        loop = [start]
        unvisited.discard(start)
        current = next_of[start]
        while current != start:
            if current not in unvisited:
                raise ValueError(f"boundary edges do not form simple loops near vertex {current}")
            loop.append(current)
            unvisited.discard(current)
            current = next_of[current]
        loops.append(np.array(loop, dtype=np.int64))
    return loops


def _ear_clip(points_2d: np.ndarray) -> list[tuple[int, int, int]]:
    """Triangulate a simple counter-clockwise polygon (L, 2) by ear clipping; returns index triples (CCW)."""
    remaining = list(range(len(points_2d)))
    triangles: list[tuple[int, int, int]] = []

    def cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    guard = 0
    while len(remaining) > 3 and guard < 10 * len(points_2d) ** 2:
        guard += 1
        best = None
        for k in range(len(remaining)):
            i0, i1, i2 = remaining[k - 1], remaining[k], remaining[(k + 1) % len(remaining)]
            p0, p1, p2 = points_2d[i0], points_2d[i1], points_2d[i2]
            if cross(p0, p1, p2) <= 1e-14:
                continue  # reflex or degenerate corner
            inside = False
            for j in remaining:
                if j in (i0, i1, i2):
                    continue
                q = points_2d[j]
                if cross(p0, p1, q) >= 0 and cross(p1, p2, q) >= 0 and cross(p2, p0, q) >= 0:
                    inside = True
                    break
            if inside:
                continue
            # Prefer well-shaped ears: the largest minimum angle keeps the cap free of slivers.
            a, b, c = np.linalg.norm(p1 - p0), np.linalg.norm(p2 - p1), np.linalg.norm(p0 - p2)
            quality = cross(p0, p1, p2) / max(a * a + b * b + c * c, 1e-30)
            if best is None or quality > best[0]:
                best = (quality, k)
        if best is None:  # numerically degenerate polygon: fall back to clipping the first corner
            best = (0.0, 1)
        k = best[1]
        triangles.append((remaining[k - 1], remaining[k], remaining[(k + 1) % len(remaining)]))
        remaining.pop(k)
    if len(remaining) == 3:
        triangles.append((remaining[0], remaining[1], remaining[2]))
    return triangles


def close_holes(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Faces that close every boundary loop of an open mesh (e.g. MANO's wrist), using existing vertices.

    Each loop is projected on its best-fitting plane and triangulated by ear clipping; the new faces are
    oriented consistently with the mesh (each boundary edge is used once in the opposite direction).

    Args:
        vertices: (V, 3) positions.
        faces: (F, 3) faces of the open mesh.

    Returns:
        (F + F_new, 3) int64 faces of the closed mesh (the original faces first).
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    new_faces: list[np.ndarray] = [faces]
    for loop in boundary_loops(faces):
        # The cap's faces must traverse the loop in reverse (the hole lies right of the loop's direction).
        loop = loop[::-1]
        pts = vertices[loop]
        centre = pts.mean(axis=0)
        # Newell's normal of the reversed loop: the cap's outward normal.
        nxt = np.roll(pts, -1, axis=0)
        normal = np.cross(pts - centre, nxt - centre).sum(axis=0)
        normal /= max(np.linalg.norm(normal), 1e-30)
        axis_u = pts[0] - centre
        axis_u -= normal * (axis_u @ normal)
        axis_u /= max(np.linalg.norm(axis_u), 1e-30)
        axis_v = np.cross(normal, axis_u)
        flat = np.stack([(pts - centre) @ axis_u, (pts - centre) @ axis_v], axis=1)
        tris = np.array(_ear_clip(flat), dtype=np.int64).reshape(-1, 3)
        new_faces.append(loop[tris])
    return np.concatenate(new_faces, axis=0)


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit face normals (F, 3) by the right-hand rule."""
    v = np.asarray(vertices, dtype=np.float64)
    n = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (V, 3)."""
    v = np.asarray(vertices, dtype=np.float64)
    n = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    out = np.zeros_like(v)
    for k in range(3):
        np.add.at(out, faces[:, k], n)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-30)


def winding_numbers(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Generalized winding numbers (N,) of points w.r.t. a closed mesh: ~1 inside, ~0 outside.

    Sum over faces of the signed solid angle (Van Oosterom & Strackee) divided by 4 pi.
    """
    points = np.asarray(points, dtype=np.float64)
    tri = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]  # (F, 3, 3)
    out = np.empty(len(points))
    for start in range(0, len(points), chunk):
        rel = tri[None] - points[start:start + chunk, None, None, :]  # (n, F, 3, 3)
        a, b, c = rel[:, :, 0], rel[:, :, 1], rel[:, :, 2]
        la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
        det = np.einsum("nfi,nfi->nf", a, np.cross(b, c))
        den = (
            la * lb * lc
            + np.einsum("nfi,nfi->nf", a, b) * lc
            + np.einsum("nfi,nfi->nf", b, c) * la
            + np.einsum("nfi,nfi->nf", c, a) * lb
        )
        out[start:start + chunk] = (2.0 * np.arctan2(det, den)).sum(axis=1) / (4.0 * np.pi)
    return out


def mesh_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Signed volume of a closed mesh (positive for outward normals), cubic metres if vertices are metres."""
    v = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    return float(np.einsum("fi,fi->f", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6.0)
