"""Isotropic remeshing of a closed triangle mesh onto an implicit surface (Botsch & Kobbelt style).

Repeats: split edges longer than 4/3 L, collapse edges shorter than 4/5 L (only when the collapse keeps
the mesh a manifold and flips no face), flip edges towards valence 6, then move vertices tangentially
towards their neighbours' centroid and project them onto the surface. Deterministic (fixed orders).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["isotropic_remesh", "target_edge_length"]


def target_edge_length(vertices: np.ndarray, faces: np.ndarray, num_vertices: int) -> float:
    """Edge length of near-equilateral triangles that tile the mesh's area with ~``num_vertices`` vertices."""
    tri = vertices[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
    return float(np.sqrt(2.0 * area / (np.sqrt(3.0) * num_vertices)))


def _unique_edges(faces: np.ndarray) -> np.ndarray:
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    base = int(edges.max()) + 1
    keys = np.unique(edges[:, 0] * base + edges[:, 1])
    return np.stack([keys // base, keys % base], axis=1)


def _compact(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    used = np.unique(faces)
    remap = np.full(len(vertices), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return vertices[used], remap[faces]


def _split_long(vertices: np.ndarray, faces: np.ndarray, high: float) -> tuple[np.ndarray, np.ndarray, int]:
    edges = _unique_edges(faces)
    length = np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1)
    order = np.argsort(-length, kind="stable")
    order = order[length[order] > high]
    if len(order) == 0:
        return vertices, faces, 0
    edge_faces: dict[tuple[int, int], list[int]] = {}
    for fi, (a, b, c) in enumerate(faces.tolist()):
        for u, v in ((a, b), (b, c), (c, a)):
            edge_faces.setdefault((min(u, v), max(u, v)), []).append(fi)
    used_face = np.zeros(len(faces), dtype=bool)
    new_vertices = [vertices]
    faces = faces.copy()
    extra: list[list[int]] = []
    next_id = len(vertices)
    count = 0
    for e in order.tolist():
        a, b = int(edges[e, 0]), int(edges[e, 1])
        adjacent = edge_faces[(a, b)]
        if len(adjacent) != 2 or used_face[adjacent].any():
            continue
        m = next_id
        next_id += 1
        new_vertices.append(0.5 * (vertices[a] + vertices[b])[None])
        for fi in adjacent:
            f = faces[fi].tolist()
            # rotate so that the split edge is f[0] -> f[1]
            while not ({f[0], f[1]} == {a, b}):
                f = f[1:] + f[:1]
            u, v, w = f
            faces[fi] = (u, m, w)
            extra.append([m, v, w])
            used_face[fi] = True
        count += 1
    vertices = np.concatenate(new_vertices)
    faces = np.concatenate([faces, np.array(extra, dtype=np.int64).reshape(-1, 3)])
    return vertices, faces, count


def _normal(p0, p1, p2) -> tuple[float, float, float]:
    """Unit normal of a triangle, in plain floats (much faster than numpy for single triangles)."""
    ax, ay, az = p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]
    bx, by, bz = p2[0] - p0[0], p2[1] - p0[1], p2[2] - p0[2]
    nx, ny, nz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
    norm = (nx * nx + ny * ny + nz * nz) ** 0.5
    if norm == 0.0:
        return (0.0, 0.0, 0.0)
    return (nx / norm, ny / norm, nz / norm)


def _dot(a, b) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _collapse_short(vertices: np.ndarray, faces: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray, int]:
    vertices = vertices.copy()
    faces_list = [list(f) for f in faces.tolist()]
    alive = [True] * len(faces_list)
    vert_faces: list[set[int]] = [set() for _ in range(len(vertices))]
    for fi, f in enumerate(faces_list):
        for v in f:
            vert_faces[v].add(fi)
    edges = _unique_edges(faces)
    length = np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1)
    order = np.argsort(length, kind="stable")
    order = order[length[order] < low]
    count = 0
    pts = [tuple(p) for p in vertices.tolist()]

    def ring(v: int) -> set[int]:
        out: set[int] = set()
        for fi in vert_faces[v]:
            out.update(faces_list[fi])
        out.discard(v)
        return out

    for e in order.tolist():
        a, b = int(edges[e, 0]), int(edges[e, 1])
        if not vert_faces[a] or not vert_faces[b]:
            continue
        shared = vert_faces[a] & vert_faces[b]
        if len(shared) != 2:
            continue
        if _dot(d := tuple(pts[a][k] - pts[b][k] for k in range(3)), d) >= low * low:
            continue
        ring_a, ring_b = ring(a), ring(b)
        opposite = set()
        for fi in shared:
            opposite.update(faces_list[fi])
        opposite -= {a, b}
        if (ring_a & ring_b) != opposite or len(ring_a) < 4 or len(ring_b) < 4:
            continue
        target = 0.5 * (vertices[a] + vertices[b])
        target_t = tuple(target.tolist())
        if any(_dot(d := tuple(pts[n][k] - target_t[k] for k in range(3)), d) > high * high for n in (ring_a | ring_b) - {a, b}):
            continue
        ok = True
        for fi in (vert_faces[a] | vert_faces[b]) - shared:
            f = faces_list[fi]
            before = _normal(*(pts[v] for v in f))
            moved = [target_t if v in (a, b) else pts[v] for v in f]
            after = _normal(*moved)
            if _dot(before, after) < 0.3:
                ok = False
                break
        if not ok:
            continue
        vertices[a] = target
        pts[a] = target_t
        for fi in shared:
            alive[fi] = False
            for v in faces_list[fi]:
                vert_faces[v].discard(fi)
        for fi in list(vert_faces[b]):
            faces_list[fi] = [a if v == b else v for v in faces_list[fi]]
            vert_faces[a].add(fi)
        vert_faces[b] = set()
        count += 1
    faces = np.array([f for f, keep in zip(faces_list, alive) if keep], dtype=np.int64)
    vertices, faces = _compact(vertices, faces)
    return vertices, faces, count


def _flip_edges(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, int]:
    faces_list = [list(f) for f in faces.tolist()]
    vert_faces: list[set[int]] = [set() for _ in range(len(vertices))]
    valence = np.zeros(len(vertices), dtype=np.int64)
    for fi, f in enumerate(faces_list):
        for v in f:
            vert_faces[v].add(fi)
    for a, b in _unique_edges(faces).tolist():
        valence[a] += 1
        valence[b] += 1
    count = 0
    pts = [tuple(p) for p in vertices.tolist()]
    for a, b in _unique_edges(faces).tolist():
        shared = sorted(vert_faces[a] & vert_faces[b])
        if len(shared) != 2:
            continue
        f0, f1 = faces_list[shared[0]], faces_list[shared[1]]
        # orient: f0 contains a -> b
        k = f0.index(a)
        if f0[(k + 1) % 3] != b:
            shared = shared[::-1]
            f0, f1 = f1, f0
            k = f0.index(a)
        c = f0[(k + 2) % 3]
        d = [v for v in f1 if v not in (a, b)][0]
        if c == d or (vert_faces[c] & vert_faces[d]):
            continue  # c-d already connected
        if valence[a] <= 3 or valence[b] <= 3:
            continue
        before = sum((valence[v] - 6) ** 2 for v in (a, b, c, d))
        after = (valence[a] - 7) ** 2 + (valence[b] - 7) ** 2 + (valence[c] - 5) ** 2 + (valence[d] - 5) ** 2
        if after >= before:
            continue
        n_old0 = _normal(pts[a], pts[b], pts[c])
        n_old1 = _normal(pts[b], pts[a], pts[d])
        n_new0 = _normal(pts[c], pts[a], pts[d])
        n_new1 = _normal(pts[d], pts[b], pts[c])
        if _dot(n_new0, n_new1) < 0.5 or _dot(n_new0, n_old0) < 0.5 or _dot(n_new1, n_old1) < 0.5:
            continue
        i0, i1 = shared
        faces_list[i0] = [c, a, d]
        faces_list[i1] = [d, b, c]
        vert_faces[b].discard(i0)
        vert_faces[a].discard(i1)
        vert_faces[d].add(i0)
        vert_faces[c].add(i1)
        valence[a] -= 1
        valence[b] -= 1
        valence[c] += 1
        valence[d] += 1
        count += 1
    return np.array(faces_list, dtype=np.int64), count


def _relax(vertices: np.ndarray, faces: np.ndarray, project: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    num = len(vertices)
    edges = _unique_edges(faces)
    summed = np.zeros_like(vertices)
    degree = np.zeros(num)
    np.add.at(summed, edges[:, 0], vertices[edges[:, 1]])
    np.add.at(summed, edges[:, 1], vertices[edges[:, 0]])
    np.add.at(degree, edges[:, 0], 1.0)
    np.add.at(degree, edges[:, 1], 1.0)
    tri = vertices[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_n)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-30)
    delta = summed / degree[:, None] - vertices
    delta -= normals * np.einsum("vi,vi->v", delta, normals)[:, None]
    return project(vertices + 0.8 * delta)


def isotropic_remesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    edge_length: float,
    project: Callable[[np.ndarray], np.ndarray],
    iterations: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Remesh a closed manifold towards edges of ``edge_length``, keeping vertices on a surface.

    Args:
        vertices: (V, 3), faces: (F, 3) a closed, oriented manifold mesh.
        edge_length: target edge length (same units).
        project: maps points (N, 3) onto the target surface.
        iterations: rounds of split / collapse / flip / relax.
    """
    high, low = 4.0 / 3.0 * edge_length, 4.0 / 5.0 * edge_length
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    for _ in range(iterations):
        for _ in range(6):
            vertices, faces, count = _split_long(vertices, faces, high)
            if count == 0:
                break
        vertices = project(vertices)
        for _ in range(3):
            vertices, faces, count = _collapse_short(vertices, faces, low, high)
            if count == 0:
                break
        for _ in range(2):
            faces, count = _flip_edges(vertices, faces)
            if count == 0:
                break
        vertices = _relax(vertices, faces, project)
    return vertices, faces
