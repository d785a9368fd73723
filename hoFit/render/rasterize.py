"""Sparse rasterization of batched triangle meshes: only face-pixel pairs that can matter are visited.

This module is the engine under :mod:`hoFit.render.silhouette` and :mod:`hoFit.render.shading`.

How it works (pure PyTorch, device-agnostic, no Python loop over faces, pixels or frames):

1. Vertices (B, V, 3) in the camera frame (OpenCV: x right, y down, z forward, metres) are projected
   with per-batch intrinsics K (B, 3, 3). Faces that cross ``znear``, are degenerate on screen or (when
   culling) face away from the camera are dropped.
2. Scanline binning: each face is expanded to (face, row) pairs over its screen box, each row to the
   exact x-interval of the triangle, and only the pixel centres in those intervals are enumerated as
   one flat list of face-pixel pairs (``repeat_interleave``), in chunks of at most
   ``max_pairs_per_chunk`` pairs. Memory scales with the pairs touched, pixels far from every face are
   never visited, and thin diagonal triangles cost their area, not their bounding box.
3. Coverage pass (no autograd): inside test (oriented edge functions with a tie rule, so pixels on a
   shared edge belong to exactly one face) and, when asked, perspective-correct depth.
4. Band pass (no autograd, soft silhouettes only): the distance from an uncovered pixel to the nearest
   face equals its distance to the nearest *contour* edge (an edge whose two faces are not both drawn on
   opposite sides of it; interior edges cannot bound the projected silhouette). Only contour edges are
   swept, over a capsule of radius ``cutoff * sigma`` around each, row by row. Coincident vertices
   (texture seams) are merged for this adjacency.
5. Per-pixel reductions use ``scatter_reduce(amin)`` on int64 keys ``(float32 bits of the value) << 32 |
   face id``, which carry the minimum and its arg-min in one pass (non-negative float32 bit patterns
   sort like the values). Only the winning face of each output pixel is re-evaluated with autograd
   (one pair per pixel), so the backward pass is as cheap as the output.

Pixel convention: the centre of the top-left pixel is (0, 0); pixel (u, v) is column u, row v.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hoFit.geometry.cameras import project_points

__all__ = ["Fragments", "rasterize", "check_meshes", "pack_meshes"]

_NO_KEY = torch.iinfo(torch.int64).max
# Widening (pixels) of a triangle's x-interval on a pixel row in the coverage scan; the exact inside test decides.
_SPAN_EPS = 1e-3


@dataclass
class Fragments:
    """The front-most face of every pixel (hard z-buffer).

    Attributes:
        face (B, H, W) long: index of the face in the packed face list of all meshes (see
            :func:`pack_meshes`), -1 on background.
        mesh (B, H, W) long: index of the mesh in the input list, -1 on background.
        bary (B, H, W, 3): perspective-correct barycentric coordinates of the pixel centre in that face
            (zeros on background); differentiable w.r.t. the vertices.
        depth (B, H, W): z (metres) of the surface at the pixel centre, +inf on background;
            differentiable w.r.t. the vertices.
    """

    face: torch.Tensor
    mesh: torch.Tensor
    bary: torch.Tensor
    depth: torch.Tensor


def check_meshes(meshes, K: torch.Tensor, image_size) -> tuple[int, int, int, torch.Tensor]:
    """Validate a mesh list, intrinsics and image size at a public boundary.

    Returns ``(B, H, W, K)`` with K expanded to (B, 3, 3) in the vertices' dtype and device.
    """
    if isinstance(meshes, tuple) and len(meshes) == 2 and isinstance(meshes[0], torch.Tensor):
        meshes = [meshes]
    if not isinstance(meshes, (list, tuple)) or len(meshes) == 0:
        raise ValueError("meshes: expected a non-empty list of (vertices (B, V, 3), faces (F, 3)) pairs")
    batch = None
    for i, mesh in enumerate(meshes):
        if not isinstance(mesh, (list, tuple)) or len(mesh) != 2:
            raise ValueError(f"meshes[{i}]: expected a (vertices, faces) pair, got {type(mesh).__name__}")
        verts, faces = mesh
        if not isinstance(verts, torch.Tensor) or verts.dim() != 3 or verts.shape[-1] != 3:
            shape = tuple(verts.shape) if isinstance(verts, torch.Tensor) else type(verts).__name__
            raise ValueError(f"meshes[{i}] vertices: expected a (B, V, 3) tensor in the camera frame, got {shape}")
        if not verts.is_floating_point():
            raise ValueError(f"meshes[{i}] vertices: expected a floating-point tensor, got {verts.dtype}")
        if not isinstance(faces, torch.Tensor) or faces.dim() != 2 or faces.shape[-1] != 3:
            shape = tuple(faces.shape) if isinstance(faces, torch.Tensor) else type(faces).__name__
            raise ValueError(f"meshes[{i}] faces: expected an (F, 3) integer tensor, got {shape}")
        if faces.is_floating_point() or faces.dtype == torch.bool:
            raise ValueError(f"meshes[{i}] faces: expected an integer tensor, got {faces.dtype}")
        if faces.numel() and (int(faces.min()) < 0 or int(faces.max()) >= verts.shape[1]):
            raise ValueError(
                f"meshes[{i}] faces: vertex indices must lie in [0, {verts.shape[1]}), "
                f"got [{int(faces.min())}, {int(faces.max())}]"
            )
        if batch is None:
            batch = verts.shape[0]
        elif verts.shape[0] != batch:
            raise ValueError(
                f"meshes[{i}] vertices: batch size {verts.shape[0]} differs from meshes[0]'s {batch}; "
                "every mesh of a scene needs the same batch size (expand a shared mesh first)"
            )
        if verts.dtype != meshes[0][0].dtype or verts.device != meshes[0][0].device:
            raise ValueError(f"meshes[{i}] vertices: dtype/device differ from meshes[0]'s; convert them first")
    if not isinstance(K, torch.Tensor) or tuple(K.shape[-2:]) != (3, 3) or K.dim() not in (2, 3):
        shape = tuple(K.shape) if isinstance(K, torch.Tensor) else type(K).__name__
        raise ValueError(f"K: expected (B, 3, 3) or (3, 3) intrinsics in pixels, got {shape}")
    K = K.to(dtype=meshes[0][0].dtype, device=meshes[0][0].device)
    if K.dim() == 2:
        K = K.expand(batch, 3, 3)
    if K.shape[0] != batch:
        raise ValueError(f"K: expected one matrix per batch element ({batch}), got {K.shape[0]}")
    if not (bool((K[:, 0, 0] > 0).all()) and bool((K[:, 1, 1] > 0).all())):
        raise ValueError("K: focal lengths fx, fy must be positive (OpenCV camera, y down)")
    try:
        height, width = (int(s) for s in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"image_size: expected (H, W) integers, got {image_size!r}") from None
    if height <= 0 or width <= 0:
        raise ValueError(f"image_size: expected positive (H, W), got {image_size!r}")
    return batch, height, width, K


def pack_meshes(meshes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Concatenate meshes into one: vertices (B, sum V, 3), faces (sum F, 3) long, mesh id per face."""
    if isinstance(meshes, tuple) and len(meshes) == 2 and isinstance(meshes[0], torch.Tensor):
        meshes = [meshes]
    verts = torch.cat([v for v, _ in meshes], dim=1)
    device = verts.device
    faces, ids, offset = [], [], 0
    for i, (v, f) in enumerate(meshes):
        faces.append(f.to(device=device, dtype=torch.long) + offset)
        ids.append(torch.full((f.shape[0],), i, dtype=torch.long, device=device))
        offset += v.shape[1]
    return verts, torch.cat(faces, 0), torch.cat(ids, 0)


def _twin_half_edges(faces: torch.Tensor, num_vertices: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For each half-edge (face f, edge i from corner i to i+1), the twin in the other face of a manifold edge.

    Returns ``twin`` (F*3,) long (index f*3+i of the twin, -1 for boundary or non-manifold edges) and
    ``same_dir`` (F*3,) bool (the twin runs in the same direction: inconsistent winding).
    """
    start = faces.reshape(-1)
    end = faces[:, [1, 2, 0]].reshape(-1)
    key = torch.minimum(start, end) * num_vertices + torch.maximum(start, end)
    sorted_key, order = key.sort()
    n = key.numel()
    twin = torch.full((n,), -1, dtype=torch.long, device=faces.device)
    if n > 1:
        eq = sorted_key[1:] == sorted_key[:-1]  # (n-1,)
        prev_eq = torch.cat([eq.new_zeros(1), eq[:-1]])
        next_eq = torch.cat([eq[1:], eq.new_zeros(1)])
        pair = torch.nonzero(eq & ~prev_eq & ~next_eq).squeeze(1)  # runs of exactly two
        a, b = order[pair], order[pair + 1]
        twin[a], twin[b] = b, a
    same_dir = (twin >= 0) & (start == start[twin.clamp(min=0)])
    return twin, same_dir


class _Raster:
    """Per-call face set-up and the sparse face-pixel scan (internal)."""

    def __init__(self, verts, faces, slot, num_meshes, K, height, width, cull, znear):
        # slot (F,): output layer of each face's pixels in [0, num_meshes) (its mesh, or 0 for one z-buffer)
        self.B, self.F = verts.shape[0], faces.shape[0]
        self.H, self.W, self.M = height, width, num_meshes
        self.faces = faces
        self._verts = verts
        self.dtype, self.device = verts.dtype, verts.device
        self.v2d = project_points(verts, K, min_depth=znear * 0.5)  # (B, V, 2), differentiable
        self.z = verts[..., 2].contiguous()  # (B, V); contiguous once, for the flat gathers below
        self.slot = slot
        with torch.no_grad():
            # index_select gathers rows three times faster than advanced indexing on a CPU
            tri = self.v2d.detach().index_select(1, faces.reshape(-1)).view(self.B, self.F, 3, 2)  # (B, F, 3, 2)
            e0, e2 = tri[..., 1, :] - tri[..., 0, :], tri[..., 0, :] - tri[..., 2, :]  # e_i = v_{i+1} - v_i
            area2 = e0[..., 1] * e2[..., 0] - e0[..., 0] * e2[..., 1]  # cross(e0, -e2)
            # Vertex tests gathered to the faces: cheaper than testing every corner of every face.
            vertex_ok = (self.z.detach() > znear) & torch.isfinite(self.v2d.detach()).all(-1)  # (B, V)
            valid = vertex_ok[:, faces].all(-1) & (area2 != 0)
            if cull:
                valid &= area2 < 0  # front faces are clockwise on screen (y down) for outward normals
            self.valid = valid  # (B, F)
            self.tri, self.area_sign = tri, area2.sign()
            # The coverage pass's tables hold the drawn faces (culling drops about half of them) whose box
            # holds a pixel centre of the image: a template rendered a few dozen pixels wide has many faces
            # smaller than a pixel, which cover none.
            drawn = torch.nonzero(valid.reshape(-1)).squeeze(1)  # global ids b * F + f
            tri = tri.reshape(-1, 3, 2).index_select(0, drawn)
            corners = tri.unbind(1)
            lo = torch.minimum(torch.minimum(corners[0], corners[1]), corners[2])
            hi = torch.maximum(torch.maximum(corners[0], corners[1]), corners[2])
            # the pixel centres (integer coordinates) that the scan can reach (`_chunks`, `_triangle_span`)
            x0 = torch.ceil(lo[:, 0] - _SPAN_EPS).clamp(min=0)
            x1 = torch.floor(hi[:, 0] + _SPAN_EPS).clamp(max=width - 1)
            y0, y1 = torch.ceil(lo[:, 1]).clamp(min=0), torch.floor(hi[:, 1]).clamp(max=height - 1)
            reach = torch.nonzero((x0 <= x1) & (y0 <= y1)).squeeze(1)
            self.drawn = drawn.index_select(0, reach)  # (n,)
            tri = tri.index_select(0, reach)  # (n, 3, 2)
            self.tri_lo, self.tri_hi = lo.index_select(0, reach), hi.index_select(0, reach)  # (n, 2)
            corner_ids = self._corner_ids(self.drawn)  # (n, 3)
            tz = self.z.detach().reshape(-1).index_select(0, corner_ids.reshape(-1)).view(-1, 3)  # (n, 3)
            area2 = area2.reshape(-1).index_select(0, self.drawn)
            # Inside test: oriented edge functions cross(sgn * e_i, p - v_i) > threshold_i. Tie rule for
            # pixel centres exactly on an edge: an edge owns them when its inward-oriented direction
            # points down (or right if horizontal); a shared edge is traversed both ways by its two
            # faces, so exactly one face claims the pixel (threshold: the smallest negative number).
            oriented = (tri.roll(-1, dims=1) - tri) * area2.sign()[:, None, None]
            owns = (oriented[..., 1] > 0) | ((oriented[..., 1] == 0) & (oriented[..., 0] > 0))
            tiny = torch.finfo(tri.dtype).tiny
            threshold = torch.zeros_like(owns, dtype=tri.dtype).masked_fill_(owns, -tiny)
            # Tables are built transposed (one row per field, one column per face) in a single pass each.
            cover = torch.cat([tri.permute(1, 2, 0), oriented.permute(1, 2, 0), threshold.t()[:, None]], dim=1)
            self.cover_table = cover.reshape(15, -1)  # (15, n): row 5 * corner + (x, y, ox, oy, threshold)
            inv_area = 1.0 / area2.abs().clamp(min=1e-30)
            self.depth_table = torch.cat([(1.0 / tz.clamp(min=znear)).t(), inv_area[None]], dim=0)  # (4, n)
            self.drawn_tri = tri

    def _corner_ids(self, gface: torch.Tensor) -> torch.Tensor:
        """(n,) global face ids b * F + f -> (n, 3) global vertex ids b * V + v of their corners."""
        num_vertices = self.z.shape[1]
        return ((gface // self.F) * num_vertices)[:, None] + self.faces.index_select(0, gface % self.F)

    def _pixel_base(self, gface: torch.Tensor) -> torch.Tensor:
        """(n,) global face ids b * F + f -> flat index of pixel (0, 0) of their output layer."""
        return ((gface // self.F) * self.M + self.slot.index_select(0, gface % self.F)) * (self.H * self.W)

    # ----------------------------------------------------------------------------------------- scan
    def _chunks(self, lo, hi, margin, ids, max_pairs, span):
        """Enumerate, row by row, the pixels that a primitive can reach (scanline binning).

        Primitives ``ids`` (entries of ``lo``/``hi``, their (N, 2) screen boxes) are first expanded to
        (primitive, row) pairs over their boxes widened by ``margin``; ``span(id, row_y)`` gives each
        pair's x-interval, and only the pixel centres inside it are enumerated. So thin or diagonal
        triangles cost their area, not their bounding box.

        Yields ``(id, xi, yi)`` per chunk of at most ``max_pairs`` pairs (or one row, if larger):
        id (n,) the primitive's entry of ``ids``, xi / yi (n,) long pixel columns / rows.
        """
        H, W = self.H, self.W
        lo = torch.ceil(lo[ids] - margin)
        hi = torch.floor(hi[ids] + margin)
        y0 = lo[:, 1].clamp(0, H).long()
        bh = (hi[:, 1].clamp(-1, H - 1).long() - y0 + 1).clamp(min=0)
        bh = bh * ((hi[:, 0] >= 0) & (lo[:, 0] <= W - 1))
        keep = torch.nonzero(bh > 0).squeeze(1)
        if keep.numel() == 0:
            return
        ids, y0, bh = ids[keep], y0[keep], bh[keep]
        n_rows = int(bh.sum())
        rep = torch.repeat_interleave(torch.arange(ids.numel(), device=self.device), bh, output_size=n_rows)
        row = y0.index_select(0, rep) + torch.arange(n_rows, device=self.device) - (torch.cumsum(bh, 0) - bh)[rep]
        row_ids = ids.index_select(0, rep)
        xmin, xmax = span(row_ids, row.to(self.dtype))
        xs = torch.ceil(xmin).clamp(0, W).long()
        cnt = (torch.floor(xmax).clamp(-1, W - 1).long() - xs + 1).clamp(min=0)
        keep = torch.nonzero(cnt > 0).squeeze(1)
        if keep.numel() == 0:
            return
        cnt, xs, row, row_ids = cnt[keep], xs[keep], row[keep], row_ids[keep]
        cum = torch.cumsum(cnt, 0)
        starts = cum - cnt
        cum_host = cum.cpu()  # chunk bookkeeping on the host (the same tensor on CPU)
        a, n_spans = 0, keep.numel()
        while a < n_spans:
            done = int(cum_host[a - 1]) if a > 0 else 0
            b = max(int(torch.searchsorted(cum_host, torch.tensor(done + max_pairs), right=True)), a + 1)
            n = int(cum_host[b - 1]) - done
            rep = torch.repeat_interleave(torch.arange(a, b, device=self.device), cnt[a:b], output_size=n)
            local = torch.arange(n, device=self.device) + (done - starts.index_select(0, rep))
            yield row_ids.index_select(0, rep), xs.index_select(0, rep) + local, row.index_select(0, rep)
            a = b

    def _triangle_span(self, drawn, y):
        """x-interval of each drawn triangle's (entry of ``self.drawn``) intersection with the horizontal line
        at y (slightly widened)."""
        tri = self.drawn_tri.index_select(0, drawn)  # (n, 3, 2)
        a, b = tri, tri.roll(-1, dims=1)
        ay, by = a[..., 1], b[..., 1]
        yy = y[:, None]
        crosses = ((ay - yy) * (by - yy) <= 0) & (ay != by)
        t = ((yy - ay) / torch.where(ay != by, by - ay, torch.ones_like(ay))).clamp(0.0, 1.0)
        x = a[..., 0] + t * (b[..., 0] - a[..., 0])
        flat = (ay == yy) & (by == yy)  # an edge lying on the row: both ends
        big = torch.full_like(x, float("inf"))
        x_lo = torch.where(crosses, x, big).amin(1)
        x_hi = torch.where(crosses, x, -big).amax(1)
        x_lo = torch.minimum(x_lo, torch.where(flat, torch.minimum(a[..., 0], b[..., 0]), big).amin(1))
        x_hi = torch.maximum(x_hi, torch.where(flat, torch.maximum(a[..., 0], b[..., 0]), -big).amax(1))
        return x_lo - _SPAN_EPS, x_hi + _SPAN_EPS

    @staticmethod
    def _capsule_span(table, radius):
        """span(ids, y) for segments (rows ax, ay, ex, ey of ``table``) widened by ``radius``: a superset
        of the x where the distance to the segment is below ``radius``."""

        def span(ids, y):
            t = table.index_select(1, ids)
            ax, ay, ex, ey = t[0], t[1], t[2], t[3]
            flat = ey == 0
            safe = torch.where(flat, torch.ones_like(ey), ey)
            t0 = (y - radius - ay) / safe
            t1 = (y + radius - ay) / safe
            lo_t = torch.minimum(t0, t1)
            hi_t = torch.maximum(t0, t1)
            near_flat = (y - ay).abs() < radius
            lo_t = torch.where(flat, torch.where(near_flat, 0.0, 2.0), lo_t)
            hi_t = torch.where(flat, torch.where(near_flat, 1.0, -1.0), hi_t)
            empty = (lo_t > 1) | (hi_t < 0)
            lo_t, hi_t = lo_t.clamp(0.0, 1.0), hi_t.clamp(0.0, 1.0)
            xa, xb = ax + lo_t * ex, ax + hi_t * ex
            x_lo = torch.minimum(xa, xb) - radius
            x_hi = torch.maximum(xa, xb) + radius
            return x_lo.masked_fill(empty, float("inf")), x_hi.masked_fill(empty, -float("inf"))

        return span

    def _welded_faces(self) -> torch.Tensor:
        """Faces with coincident vertices merged (for adjacency only).

        Textured meshes split vertices along texture seams; without merging, every seam edge would
        look like a silhouette boundary. Vertices are merged only when they coincide exactly in every
        batch element.
        """
        v = self._verts.detach()
        V = v.shape[1]
        ar = torch.arange(V, device=v.device)
        # Hash the bit patterns of batch 0's coordinates (int64 arithmetic wraps); collisions are caught
        # by the exact comparison below and only leave vertices unmerged.
        bits = v[0].contiguous().view(torch.int32 if v.element_size() == 4 else torch.int64).long()
        key = (bits[:, 0] * 1000003 + bits[:, 1]) * 998244353 + bits[:, 2]
        _, group = torch.unique(key, return_inverse=True)
        first = torch.full((V,), V, dtype=torch.long, device=v.device)
        first = first.scatter_reduce(0, group, ar, reduce="amin")
        leader = first[group]  # (V,) lowest index of the group
        moved = torch.nonzero(leader != ar).squeeze(1)
        same = (v[:, moved] == v[:, leader[moved]]).all(-1).all(0)
        canon = ar.clone()
        canon[moved] = torch.where(same, leader[moved], moved)
        return canon[self.faces]

    def _contour_half_edges(self):
        """Global ids (b*F + f)*3 + i of the half-edges that can bound a mesh's projected silhouette.

        An edge is interior when its two faces are both rendered and lie on opposite sides of it on
        screen; the silhouette boundary is made of the other (contour) edges only, so the distance from
        a pixel outside the silhouette to the nearest face equals its distance to the nearest contour edge.
        """
        twin, same_dir = _twin_half_edges(self._welded_faces(), self._verts.shape[1])
        has_twin = twin >= 0
        tf = twin.clamp(min=0) // 3
        sign = self.area_sign  # (B, F)
        own_sign = sign.repeat_interleave(3, dim=1)  # (B, F*3)
        twin_sign = sign.index_select(1, tf)
        opposite = (own_sign == twin_sign) ^ same_dir[None]
        valid = self.valid.repeat_interleave(3, dim=1)
        interior = has_twin[None] & valid & self.valid[:, tf] & opposite
        return torch.nonzero((valid & ~interior).reshape(-1)).squeeze(1)

    @torch.no_grad()
    def scan(self, margin: float, cut2: float | None, need_depth: bool, max_pairs: int):
        """Visit the face-pixel pairs near the faces' screen boxes.

        Coverage pass: pixels in each face's box (no margin), inside test and, when asked, depth.
        Band pass (``cut2`` given): pixels within ``margin`` of each contour edge's box, squared
        distance to the edge segment.

        Returns per (B*M*H*W) pixel: ``covered`` (bool), ``dist_key`` (int64 key of the nearest face
        within ``sqrt(cut2)``, or None) and ``depth_key`` (int64 key of the nearest covering face along
        z, or None).
        """
        if max_pairs <= 0:
            max_pairs = (1 << 24) if self.device.type == "cuda" else (1 << 18)
        W = self.W
        n_out = self.B * self.M * self.H * W
        covered = torch.zeros(n_out, dtype=torch.bool, device=self.device)
        dist_key = torch.full((n_out,), _NO_KEY, dtype=torch.long, device=self.device) if cut2 is not None else None
        depth_key = torch.full((n_out,), _NO_KEY, dtype=torch.long, device=self.device) if need_depth else None

        drawn = torch.arange(self.drawn.numel(), device=self.device)
        for face, xi, yi in self._chunks(self.tri_lo, self.tri_hi, 0.0, drawn, max_pairs, self._triangle_span):
            t = self.cover_table.index_select(1, face)
            px, py = xi.to(self.dtype), yi.to(self.dtype)
            inside = None
            cross = []
            for i in range(3):
                r = 5 * i
                c = t[r + 2] * (py - t[r + 1]) - t[r + 3] * (px - t[r])
                cross.append(c)
                inner = c > t[r + 4]
                inside = inner if inside is None else inside & inner
            idx = torch.nonzero(inside).squeeze(1)
            face_in = face.index_select(0, idx)
            gf = self.drawn.index_select(0, face_in)
            pix = self._pixel_base(gf) + yi.index_select(0, idx) * W + xi.index_select(0, idx)
            covered.index_fill_(0, pix, True)
            if depth_key is not None:
                # screen barycentrics: lambda_{(i+2)%3} = oriented cross_i / |2 area|; 1/z is linear on screen
                d = self.depth_table.index_select(1, face_in)
                c0, c1, c2 = (c.index_select(0, idx) for c in cross)
                invz = (c0 * d[2] + c1 * d[0] + c2 * d[1]) * d[3]
                key = ((1.0 / invz).float().view(torch.int32).long() << 32) | gf
                depth_key.scatter_reduce_(0, pix, key, reduce="amin", include_self=True)

        if cut2 is not None:
            half = self._contour_half_edges()  # (E,) global half-edge ids
            gface_e = half // 3
            corner = half % 3
            tri = self.tri.reshape(-1, 3, 2)
            a = tri[gface_e, corner]  # (E, 2)
            e = tri[gface_e, (corner + 1) % 3] - a  # the edge from corner i to corner i + 1
            len2 = (e * e).sum(-1)
            inv_len2 = torch.where(len2 > 0, 1.0 / len2.clamp(min=1e-30), torch.zeros_like(len2))
            table = torch.stack([a[:, 0], a[:, 1], e[:, 0], e[:, 1], inv_len2], 0)  # (5, E)
            lo, hi = torch.minimum(a, a + e), torch.maximum(a, a + e)
            ids = torch.arange(half.numel(), device=self.device)
            span = self._capsule_span(table, margin)
            for rep, xi, yi in self._chunks(lo, hi, margin, ids, max_pairs, span):
                t = table.index_select(1, rep)
                wx = xi.to(self.dtype) - t[0]
                wy = yi.to(self.dtype) - t[1]
                s = ((wx * t[2] + wy * t[3]) * t[4]).clamp_(0.0, 1.0)
                dx = wx - s * t[2]
                dy = wy - s * t[3]
                d2 = dx * dx + dy * dy
                idx = torch.nonzero(d2 < cut2).squeeze(1)
                gf = gface_e.index_select(0, rep.index_select(0, idx))
                pix = self._pixel_base(gf) + yi.index_select(0, idx) * W + xi.index_select(0, idx)
                key = (d2.index_select(0, idx).float().view(torch.int32).long() << 32) | gf
                dist_key.scatter_reduce_(0, pix, key, reduce="amin", include_self=True)
        return covered, dist_key, depth_key

    # ----------------------------------------------------------------------- differentiable re-evaluation
    def pixel_coords(self, flat: torch.Tensor) -> torch.Tensor:
        """(n,) flat (B*M*H*W) indices -> (n, 2) pixel centres (u, v) in the compute dtype."""
        x = flat % self.W
        y = (flat // self.W) % self.H
        return torch.stack([x, y], -1).to(self.dtype)

    def triangles(self, gface: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n,) global face ids (b * F + f) -> projected corners (n, 3, 2) and depths (n, 3), with autograd."""
        picked = self._corner_ids(gface).reshape(-1)
        v2d = self.v2d.reshape(-1, 2).index_select(0, picked).view(-1, 3, 2)
        return v2d, self.z.reshape(-1).index_select(0, picked).view(-1, 3)


def triangle_distance2(tri: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Squared distance (pixels^2) from points p (n, 2) to the boundary segments of triangles (n, 3, 2)."""
    e = tri.roll(-1, dims=1) - tri  # (n, 3, 2)
    w = p[:, None, :] - tri
    len2 = (e * e).sum(-1)
    s = ((w * e).sum(-1) / len2.clamp(min=1e-30)).clamp(0.0, 1.0)
    d = w - s[..., None] * e
    return (d * d).sum(-1).min(dim=1).values


def barycentric_depth(tri: torch.Tensor, tz: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Perspective-correct barycentrics (n, 3) and depth (n,) at points p (n, 2) of triangles (n, 3, 2).

    ``tz`` (n, 3) are the corners' camera-frame depths. Screen-space barycentrics are interpolated
    linearly in 1/z (correct for a pinhole camera).
    """
    a, b, c = tri.unbind(1)

    def cross(u, v):
        return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]

    area = cross(b - a, c - a)
    lam = torch.stack([cross(c - b, p - b), cross(a - c, p - c), cross(b - a, p - a)], -1) / area[:, None]
    lz = lam / tz
    invz = lz.sum(-1)
    return lz / invz[:, None], 1.0 / invz


def rasterize(
    meshes,
    K: torch.Tensor,
    image_size: tuple[int, int],
    cull_backfaces: bool = False,
    znear: float = 1e-3,
    max_pairs_per_chunk: int = 0,
) -> Fragments:
    """Hard z-buffer rasterization of several meshes (the front-most surface at each pixel centre).

    Args:
        meshes: list of ``(vertices (B, Vi, 3), faces (Fi, 3))``; vertices in metres in the camera frame
            (OpenCV), faces long; a single pair is accepted too.
        K: (B, 3, 3) or (3, 3) intrinsics in pixels (of the full image or of a region of interest).
        image_size: ``(H, W)`` pixels.
        cull_backfaces: drop faces whose outward normal points away from the camera.
        znear: faces with a vertex at depth <= znear (metres) are dropped.
        max_pairs_per_chunk: working-memory bound (face-pixel pairs evaluated at once; 0: automatic).

    Returns:
        :class:`Fragments`; ``bary`` and ``depth`` are differentiable w.r.t. the vertices.
    """
    B, H, W, K = check_meshes(meshes, K, image_size)
    verts, faces, mesh_id = pack_meshes(meshes)
    r = _Raster(verts, faces, torch.zeros_like(mesh_id), 1, K, H, W, cull_backfaces, znear)
    covered, _, depth_key = r.scan(0.0, None, True, int(max_pairs_per_chunk))
    idx = torch.nonzero(depth_key != _NO_KEY).squeeze(1)
    gface = (depth_key[idx] & 0xFFFFFFFF).long()
    tri, tz = r.triangles(gface)
    bary_v, depth_v = barycentric_depth(tri, tz, r.pixel_coords(idx))
    n = B * H * W
    face = torch.full((n,), -1, dtype=torch.long, device=r.device)
    face[idx] = gface % r.F
    mesh = torch.full((n,), -1, dtype=torch.long, device=r.device)
    mesh[idx] = mesh_id[gface % r.F]
    depth = torch.full((n,), float("inf"), dtype=r.dtype, device=r.device).index_put((idx,), depth_v)
    bary = torch.zeros((n, 3), dtype=r.dtype, device=r.device).index_put((idx,), bary_v)
    return Fragments(face.view(B, H, W), mesh.view(B, H, W), bary.view(B, H, W, 3), depth.view(B, H, W))
