"""Sparse rasterization of batched triangle meshes: face-pixel pairs enumerated per face bounding box.

This module is the engine under :mod:`hoFit.render.silhouette` and :mod:`hoFit.render.shading`.

How it works (pure PyTorch, device-agnostic, no Python loop over faces, pixels or frames):

1. Vertices (B, V, 3) in the camera frame (OpenCV: x right, y down, z forward, metres) are projected
   with per-batch intrinsics K (B, 3, 3). Faces that cross ``znear``, are degenerate on screen or (when
   culling) face away from the camera are dropped.
2. Each remaining face gets the integer pixel rectangle of its screen bounding box, widened by a margin
   (the soft band's support) and clipped to the image. The pixels of all rectangles are enumerated as
   one flat list of face-pixel pairs (``repeat_interleave`` of per-face counts), in chunks of at most
   ``max_pairs_per_chunk`` pairs, so memory scales with the pairs actually touched; pixels outside every
   rectangle are never visited. This is tile binning with one tile per face: the tightest screen bins.
3. Without autograd, each pair gets its inside test (oriented edge functions), its squared distance to
   the triangle and, when asked, its perspective-correct depth. Per-pixel reductions use
   ``scatter_reduce(amin)`` on int64 keys ``(float32 bits of the value) << 32 | face id``, which carry the
   minimum and its arg-min in one pass (non-negative float32 bit patterns sort like the values).
4. Only the winning face of each output pixel is re-evaluated with autograd (one pair per pixel), so the
   backward pass is as cheap as the output.

Pixel convention: the centre of the top-left pixel is (0, 0); pixel (u, v) is column u, row v.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hoFit.geometry.cameras import project_points

__all__ = ["Fragments", "rasterize", "check_meshes", "pack_meshes"]

_NO_KEY = torch.iinfo(torch.int64).max


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


class _Raster:
    """Per-call face set-up and the sparse face-pixel scan (internal)."""

    def __init__(self, verts, faces, slot, num_meshes, K, height, width, cull, znear):
        # slot (F,): output layer of each face's pixels in [0, num_meshes) (its mesh, or 0 for one z-buffer)
        self.B, self.F = verts.shape[0], faces.shape[0]
        self.H, self.W, self.M = height, width, num_meshes
        self.faces = faces
        self.dtype, self.device = verts.dtype, verts.device
        self.v2d = project_points(verts, K, min_depth=znear * 0.5)  # (B, V, 2), differentiable
        self.z = verts[..., 2]  # (B, V)
        with torch.no_grad():
            tri = self.v2d.detach()[:, faces]  # (B, F, 3, 2)
            tz = self.z.detach()[:, faces]  # (B, F, 3)
            edges = tri.roll(-1, dims=2) - tri  # e_i = v_{i+1} - v_i
            area2 = edges[..., 0, 0] * edges[..., 2, 1] * -1 + edges[..., 0, 1] * edges[..., 2, 0]
            # area2 = cross(e0, v2 - v0) = cross(e0, -e2)
            len2 = (edges * edges).sum(-1)
            valid = (tz > znear).all(-1) & torch.isfinite(tri).all(-1).all(-1) & (area2 != 0)
            if cull:
                valid &= area2 < 0  # front faces are clockwise on screen (y down) for outward normals
            self.valid = valid.reshape(-1)
            inv_len2 = torch.where(len2 > 0, 1.0 / len2.clamp(min=1e-30), torch.zeros_like(len2))
            # Tie rule for pixel centres exactly on an edge: an edge "owns" them when its direction, in
            # the orientation that keeps the face on its inner side, points down (or right if
            # horizontal). A shared edge is traversed both ways by its two faces, so exactly one claims
            # the pixel: no holes and no double cover. Encoded as the edge function's threshold.
            oriented = edges * area2.sign()[..., None, None]
            owns = (oriented[..., 1] > 0) | ((oriented[..., 1] == 0) & (oriented[..., 0] > 0))
            threshold = torch.where(owns, -1e-30, 0.0).to(tri.dtype)
            table = torch.cat(
                [
                    tri.reshape(self.B, self.F, 6),
                    edges.reshape(self.B, self.F, 6),
                    inv_len2,
                    area2.sign()[..., None],
                    1.0 / tz.clamp(min=znear),
                    1.0 / area2.abs().clamp(min=1e-30)[..., None],
                    threshold,
                ],
                dim=-1,
            )  # (B, F, 23)
            self.table = table.reshape(self.B * self.F, 23).t().contiguous()  # (23, B*F)
            self.tri_lo = tri.min(dim=2).values.reshape(-1, 2)  # (B*F, 2)
            self.tri_hi = tri.max(dim=2).values.reshape(-1, 2)
            batch_index = torch.arange(self.B, device=self.device).repeat_interleave(self.F)
            self.pixbase = (batch_index * self.M + slot.repeat(self.B)) * (height * width)

    # ----------------------------------------------------------------------------------------- scan
    @torch.no_grad()
    def scan(self, margin: float, cut2: float | None, need_depth: bool, max_pairs: int):
        """Visit every face-pixel pair within ``margin`` pixels of a face's screen bounding box.

        Returns per (B*M*H*W) pixel: ``covered`` (bool), ``dist_key`` (int64 key of the nearest face
        within ``sqrt(cut2)`` among faces not containing the pixel, or None) and ``depth_key`` (int64
        key of the nearest covering face along z, or None).
        """
        H, W = self.H, self.W
        if max_pairs <= 0:
            max_pairs = (1 << 24) if self.device.type == "cuda" else (1 << 18)
        n_out = self.B * self.M * H * W
        covered = torch.zeros(n_out, dtype=torch.bool, device=self.device)
        dist_key = torch.full((n_out,), _NO_KEY, dtype=torch.long, device=self.device) if cut2 is not None else None
        depth_key = torch.full((n_out,), _NO_KEY, dtype=torch.long, device=self.device) if need_depth else None

        lo = torch.ceil(self.tri_lo - margin)
        hi = torch.floor(self.tri_hi + margin)
        x0 = lo[:, 0].clamp(0, W).long()
        y0 = lo[:, 1].clamp(0, H).long()
        x1 = hi[:, 0].clamp(-1, W - 1).long()
        y1 = hi[:, 1].clamp(-1, H - 1).long()
        bw = (x1 - x0 + 1).clamp(min=0)
        counts = bw * (y1 - y0 + 1).clamp(min=0) * self.valid
        active = torch.nonzero(counts > 0).squeeze(1)
        if active.numel() == 0:
            return covered, dist_key, depth_key
        cnt = counts[active]
        cum = torch.cumsum(cnt, 0)
        # Integer per-face data gathered once per pair: x0, y0, box width, output offset of (b, mesh).
        itab = torch.stack([x0, y0, bw, self.pixbase], 0)[:, active]  # (4, A)
        ftab = self.table[:, active]  # (23, A)
        # Greedy chunks at face granularity: at most max_pairs pairs each (or one face if it alone has more).
        starts = cum - cnt
        cum_host = cum.cpu()  # chunk bookkeeping on the host (the same tensor on CPU)
        a, n_active = 0, active.numel()
        while a < n_active:
            done = int(cum_host[a - 1]) if a > 0 else 0
            b = int(torch.searchsorted(cum_host, torch.tensor(done + max_pairs), right=True))
            b = max(b, a + 1)
            n = int(cum_host[b - 1]) - done
            rep = torch.repeat_interleave(torch.arange(a, b, device=self.device), cnt[a:b], output_size=n)
            local = torch.arange(n, device=self.device) + (starts[a] - starts.index_select(0, rep))
            ints = itab.index_select(1, rep)
            ly = local // ints[2]
            lx = local - ly * ints[2]
            xi = ints[0] + lx
            yi = ints[1] + ly
            pix = ints[3] + yi * W + xi
            gface = active.index_select(0, rep)
            self._eval_chunk(ftab.index_select(1, rep), xi.to(self.dtype), yi.to(self.dtype), pix, gface, cut2,
                             covered, dist_key, depth_key)
            a = b
        return covered, dist_key, depth_key

    @staticmethod
    def _eval_chunk(t, px, py, pix, gface, cut2, covered, dist_key, depth_key):
        sgn = t[15]
        inside = None
        d2min = None
        cross = []
        for i in range(3):  # the three edges of every pair at once
            wx = px - t[2 * i]
            wy = py - t[2 * i + 1]
            ex, ey = t[6 + 2 * i], t[7 + 2 * i]
            c = (ex * wy - ey * wx) * sgn
            cross.append(c)
            inner = c > t[20 + i]
            inside = inner if inside is None else inside & inner
            if cut2 is not None:
                s = ((wx * ex + wy * ey) * t[12 + i]).clamp_(0.0, 1.0)
                dx = wx - s * ex
                dy = wy - s * ey
                d2 = dx * dx + dy * dy
                d2min = d2 if d2min is None else torch.minimum(d2min, d2)
        if cut2 is not None:
            near = (~inside) & (d2min < cut2)
            idx = torch.nonzero(near).squeeze(1)
            key = (d2min.index_select(0, idx).float().view(torch.int32).long() << 32) | gface.index_select(0, idx)
            dist_key.scatter_reduce_(0, pix.index_select(0, idx), key, reduce="amin", include_self=True)
        idx = torch.nonzero(inside).squeeze(1)
        p_in = pix.index_select(0, idx)
        covered.index_fill_(0, p_in, True)
        if depth_key is not None:
            # screen-space barycentrics: lambda_{(i+2)%3} = oriented cross_i / |2 area|
            ti = t.index_select(1, idx)
            c0, c1, c2 = (c.index_select(0, idx) for c in cross)
            invz = (c0 * ti[18] + c1 * ti[16] + c2 * ti[17]) * ti[19]
            depth = 1.0 / invz
            key = (depth.float().view(torch.int32).long() << 32) | gface.index_select(0, idx)
            depth_key.scatter_reduce_(0, p_in, key, reduce="amin", include_self=True)

    # ----------------------------------------------------------------------- differentiable re-evaluation
    def pixel_coords(self, flat: torch.Tensor) -> torch.Tensor:
        """(n,) flat (B*M*H*W) indices -> (n, 2) pixel centres (u, v) in the compute dtype."""
        x = flat % self.W
        y = (flat // self.W) % self.H
        return torch.stack([x, y], -1).to(self.dtype)

    def triangles(self, gface: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n,) global face ids (b * F + f) -> projected corners (n, 3, 2) and depths (n, 3), with autograd."""
        b = gface // self.F
        vid = self.faces[gface % self.F]  # (n, 3)
        return self.v2d[b[:, None], vid], self.z[b[:, None], vid]


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
