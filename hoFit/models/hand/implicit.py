"""Smooth implicit surfaces: signed-distance primitives, smooth union, and iso-surface extraction.

Used to build OpenHand's rest-pose surface by code. Distances are metres, negative inside. The extractor
is marching tetrahedra on a regular grid (each cube cut into six tetrahedra around its main diagonal, the
same cut in every cube), which yields a closed, consistently oriented 2-manifold whenever the field is
positive on the grid's border and never exactly zero at a grid node.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "smooth_min",
    "round_cone",
    "ellipsoid",
    "round_box",
    "marching_tetrahedra",
    "field_gradient",
]

# Cube corners as (dx, dy, dz) and the six tetrahedra around the diagonal corner 0 -> corner 7.
_CORNERS = np.array(
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=np.int64
)
_TETS = np.array([[0, 1, 3, 7], [0, 1, 5, 7], [0, 2, 3, 7], [0, 2, 6, 7], [0, 4, 5, 7], [0, 4, 6, 7]], dtype=np.int64)


def smooth_min(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum of two distance fields with blend radius ``k`` (metres); min when k=0."""
    if k <= 0:
        return np.minimum(a, b)
    h = np.maximum(k - np.abs(a - b), 0.0) / k
    return np.minimum(a, b) - h * h * k * 0.25


def round_cone(points: np.ndarray, a: np.ndarray, b: np.ndarray, ra: float, rb: float) -> np.ndarray:
    """Distance-like field (N,) of a tapered capsule from ``a`` (radius ``ra``) to ``b`` (radius ``rb``).

    The radius is interpolated along the projection on the segment; the ends are spherical caps.
    """
    ab = b - a
    length2 = float(ab @ ab)
    t = np.clip((points - a) @ ab / length2, 0.0, 1.0)
    closest = a + t[:, None] * ab
    return np.linalg.norm(points - closest, axis=1) - (ra + (rb - ra) * t)


def ellipsoid(points: np.ndarray, centre: np.ndarray, axes: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Approximate distance (N,) to an ellipsoid with orthonormal ``axes`` (3, 3) rows and ``radii`` (3,)."""
    local = (points - centre) @ axes.T / radii
    return (np.linalg.norm(local, axis=1) - 1.0) * float(np.min(radii))


def round_box(points: np.ndarray, centre: np.ndarray, axes: np.ndarray, half: np.ndarray, rounding: float) -> np.ndarray:
    """Signed distance (N,) to a box (rows of ``axes`` = its axes, ``half`` extents) grown by ``rounding``."""
    q = np.abs((points - centre) @ axes.T) - half
    outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
    inside = np.minimum(np.max(q, axis=1), 0.0)
    return outside + inside - rounding


def field_gradient(field, points: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central-difference gradient (N, 3) of a scalar field callable ``field(points (N, 3)) -> (N,)``."""
    grads = []
    for axis in range(3):
        step = np.zeros(3)
        step[axis] = eps
        grads.append((field(points + step) - field(points - step)) / (2 * eps))
    return np.stack(grads, axis=1)


def marching_tetrahedra(values: np.ndarray, origin: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Zero iso-surface of a grid field (negative inside) as a closed triangle mesh with outward normals.

    Args:
        values: (NX, NY, NZ) field samples at ``origin + spacing * (i, j, k)``.
        origin: (3,) position of sample (0, 0, 0).
        spacing: grid step.

    Returns:
        vertices (V, 3) float64 (one per crossed grid edge), faces (F, 3) int64.
    """
    values = np.asarray(values, dtype=np.float64).copy()
    values[values == 0.0] = 1e-12  # no node exactly on the surface
    nx, ny, nz = values.shape
    if min(nx, ny, nz) < 2:
        raise ValueError(f"marching_tetrahedra: grid must be at least 2x2x2, got {values.shape}")
    flat = values.reshape(-1)
    base = np.stack(np.meshgrid(np.arange(nx - 1), np.arange(ny - 1), np.arange(nz - 1), indexing="ij"), -1).reshape(-1, 3)
    corner_ids = ((base[:, None, 0] + _CORNERS[None, :, 0]) * ny + base[:, None, 1] + _CORNERS[None, :, 1]) * nz + (
        base[:, None, 2] + _CORNERS[None, :, 2]
    )  # (C, 8)
    corner_vals = flat[corner_ids]
    crossing = (corner_vals.min(axis=1) < 0) & (corner_vals.max(axis=1) > 0)
    corner_ids = corner_ids[crossing]
    tet_ids = corner_ids[:, _TETS].reshape(-1, 4)  # (T, 4) global node ids
    inside = flat[tet_ids] < 0
    count = inside.sum(axis=1)
    keep = (count > 0) & (count < 4)
    tet_ids, inside, count = tet_ids[keep], inside[keep], count[keep]
    # Sort each tet's nodes: inside nodes first (stable), so cases reduce to 1, 2 or 3 inside nodes.
    order = np.argsort(~inside, axis=1, kind="stable")
    nodes = np.take_along_axis(tet_ids, order, axis=1)

    tri_edges: list[np.ndarray] = []  # each (n, 3, 2) node pairs defining the triangle's three vertices
    ref_pairs: list[np.ndarray] = []  # (n, 2) an (inside, outside) node pair to orient the triangle
    one = nodes[count == 1]
    if len(one):
        a, b, c, d = one.T
        tri_edges.append(np.stack([np.stack([a, b], 1), np.stack([a, c], 1), np.stack([a, d], 1)], 1))
        ref_pairs.append(np.stack([a, b], 1))
    three = nodes[count == 3]
    if len(three):
        a, b, c, d = three.T  # d is the outside node
        tri_edges.append(np.stack([np.stack([a, d], 1), np.stack([b, d], 1), np.stack([c, d], 1)], 1))
        ref_pairs.append(np.stack([a, d], 1))
    two = nodes[count == 2]
    if len(two):
        a, b, c, d = two.T  # a, b inside; quad ac, ad, bd, bc
        ac, ad, bd, bc = (np.stack(p, 1) for p in ((a, c), (a, d), (b, d), (b, c)))
        tri_edges.append(np.stack([ac, ad, bd], 1))
        tri_edges.append(np.stack([ac, bd, bc], 1))
        ref_pairs.extend([np.stack([a, c], 1), np.stack([a, c], 1)])
    edges = np.concatenate(tri_edges)  # (F, 3, 2)
    refs = np.concatenate(ref_pairs)  # (F, 2)

    # One vertex per grid edge: key = sorted node pair.
    pairs = np.sort(edges.reshape(-1, 2), axis=1)
    keys, inverse = np.unique(pairs, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    faces = inverse.reshape(-1, 3)

    def position(node: np.ndarray) -> np.ndarray:
        i = node // (ny * nz)
        j = (node // nz) % ny
        k = node % nz
        return origin + spacing * np.stack([i, j, k], axis=1).astype(np.float64)

    va, vb = flat[keys[:, 0]], flat[keys[:, 1]]
    t = va / (va - vb)
    pa, pb = position(keys[:, 0]), position(keys[:, 1])
    vertices = pa + t[:, None] * (pb - pa)

    # Orient every triangle so that its normal points from the inside node towards the outside node.
    tri = vertices[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    out_dir = position(refs[:, 1]) - position(refs[:, 0])
    flip = np.einsum("fi,fi->f", normal, out_dir) < 0
    faces[flip] = faces[flip][:, ::-1]
    return vertices, faces
