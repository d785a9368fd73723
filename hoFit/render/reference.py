"""Slow, obviously correct references: every pixel against every face (small images only).

Same model as :mod:`hoFit.render.silhouette`, written densely and independently of the sparse engine,
for tests and for the benchmark's speed-up figure. Memory is bounded by evaluating rows of pixels at a
time under activation checkpointing (recomputed in the backward pass).
"""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

from hoFit.render.rasterize import check_meshes, pack_meshes
from hoFit.render.settings import SilhouetteSettings
from hoFit.render.silhouette import silhouette_falloff

__all__ = ["soft_silhouette_reference", "render_scene_reference"]


def _project(verts: torch.Tensor, K: torch.Tensor, znear: float) -> torch.Tensor:
    z = verts[..., 2:3].clamp(min=znear * 0.5)
    u = K[:, None, 0, 0] * verts[..., 0] / z[..., 0] + K[:, None, 0, 2]
    v = K[:, None, 1, 1] * verts[..., 1] / z[..., 0] + K[:, None, 1, 2]
    return torch.stack([u, v], -1)


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _point_segment_dist2(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """p (P, 1, 2), a/b (1, F, 2) -> (P, F) squared distances to the segments ab."""
    ab = b - a
    t = ((p - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp(min=1e-30)
    closest = a + t.clamp(0.0, 1.0)[..., None] * ab
    return ((p - closest) ** 2).sum(-1)


def _rows(tri, tz, valid, mesh_id, num_meshes, pixels, sigma, cutoff):
    """Dense evaluation for a block of pixels (P, 2) of one image: soft silhouette and depth per mesh."""
    p = pixels[:, None, :]
    a, b, c = tri[None, :, 0], tri[None, :, 1], tri[None, :, 2]
    area = _cross(b - a, c - a)  # (1, F)
    # Inside: the pixel is on the inner side of all three edges (either winding).
    w0, w1, w2 = _cross(c - b, p - b), _cross(a - c, p - c), _cross(b - a, p - a)  # (P, F)
    sign = area.sign()

    def inner(w, e):  # strict inside, or on the edge if the (inward-oriented) edge points down / right
        d = e * sign[..., None]
        owns = (d[..., 1] > 0) | ((d[..., 1] == 0) & (d[..., 0] > 0))
        return (w * sign > 0) | ((w == 0) & owns)

    inside = inner(w0, c - b) & inner(w1, a - c) & inner(w2, b - a) & valid[None]
    dist2 = torch.minimum(
        torch.minimum(_point_segment_dist2(p, a, b), _point_segment_dist2(p, b, c)), _point_segment_dist2(p, c, a)
    )
    dist2 = torch.where(valid[None], dist2, torch.full_like(dist2, float("inf")))
    # Perspective-correct depth where inside.
    invz = (w0 / tz[None, :, 0] + w1 / tz[None, :, 1] + w2 / tz[None, :, 2]) / area
    depth = torch.where(inside, 1.0 / invz, torch.full_like(invz, float("inf")))
    sils, depths = [], []
    for m in range(num_meshes):
        sel = mesh_id == m
        covered = inside[:, sel].any(dim=1)
        d2 = dist2[:, sel].amin(dim=1) if bool(sel.any()) else dist2.new_full((p.shape[0],), float("inf"))
        soft = silhouette_falloff(d2.clamp(max=(cutoff * sigma) ** 2), sigma, cutoff)
        sils.append(torch.where(covered, torch.ones_like(soft), soft))
        depths.append(depth[:, sel].amin(dim=1) if bool(sel.any()) else depth.new_full((p.shape[0],), float("inf")))
    return torch.stack(sils, 0), torch.stack(depths, 0)


def render_scene_reference(meshes, K, image_size, settings: SilhouetteSettings | None = None, rows_per_block=16):
    """Dense version of :func:`hoFit.render.render_scene`: silhouettes (B, M, H, W), instance, depth.

    Returns ``(silhouettes, instance, depth, mesh_depth)``. Cost O(B * H * W * F); small cases only.
    """
    s = settings or SilhouetteSettings()
    B, H, W, K = check_meshes(meshes, K, image_size)
    M = len(meshes) if isinstance(meshes, list) else 1
    verts, faces, mesh_id = pack_meshes(meshes)
    v2d = _project(verts, K, s.znear)
    ys, xs = torch.meshgrid(
        torch.arange(H, dtype=verts.dtype, device=verts.device),
        torch.arange(W, dtype=verts.dtype, device=verts.device),
        indexing="ij",
    )
    pixels = torch.stack([xs, ys], -1).view(H, W, 2)
    sil_b, depth_b = [], []
    for bi in range(B):
        tri = v2d[bi][faces]  # (F, 3, 2)
        tz = verts[bi, :, 2][faces]  # (F, 3)
        area = _cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]).detach()
        valid = (tz.detach() > s.znear).all(-1) & (area != 0)
        if s.cull_backfaces:
            valid &= area < 0
        sil_rows, depth_rows = [], []
        for r0 in range(0, H, rows_per_block):
            block = pixels[r0 : r0 + rows_per_block].reshape(-1, 2)
            args = (tri, tz, valid, mesh_id, M, block, s.sigma_px, s.cutoff)
            if torch.is_grad_enabled() and verts.requires_grad:
                sb, db = checkpoint(_rows, *args, use_reentrant=False)
            else:
                sb, db = _rows(*args)
            sil_rows.append(sb)
            depth_rows.append(db)
        sil_b.append(torch.cat(sil_rows, 1).view(M, H, W))
        depth_b.append(torch.cat(depth_rows, 1).view(M, H, W))
    sil = torch.stack(sil_b, 0)
    mesh_depth = torch.stack(depth_b, 0)
    depth, instance = mesh_depth.min(dim=1)
    instance = instance.masked_fill(torch.isinf(depth), -1)
    return sil, instance, depth, mesh_depth


def soft_silhouette_reference(vertices, faces, K, image_size, settings: SilhouetteSettings | None = None):
    """Dense version of :func:`hoFit.render.soft_silhouette`: (B, H, W). Small cases only."""
    return render_scene_reference([(vertices, faces)], K, image_size, settings)[0][:, 0]
