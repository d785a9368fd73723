"""Shaded, anti-aliased display rendering (no OpenGL): z-buffer, Phong headlight, supersampling, overlay.

What the result videos use. Runs on CPU or GPU with the same sparse rasterizer as the silhouettes.
"""

from __future__ import annotations

import torch

from hoFit.render.rasterize import check_meshes, pack_meshes, rasterize
from hoFit.render.settings import RenderSettings

__all__ = ["vertex_normals", "render_shaded"]


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals.

    Args:
        vertices: (B, V, 3).
        faces: (F, 3) long, counter-clockwise seen from outside.

    Returns:
        (B, V, 3) unit normals (outward for counter-clockwise faces); zero for unused vertices.
    """
    tri = vertices[:, faces]  # (B, F, 3, 3)
    face_n = torch.linalg.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0], dim=-1)
    normals = torch.zeros_like(vertices)
    for corner in range(3):
        normals = normals.index_add(1, faces[:, corner], face_n)
    return torch.nn.functional.normalize(normals, dim=-1, eps=1e-12)


def _colors(colors, meshes, B: int, dtype, device) -> torch.Tensor:
    """Per-vertex colours (B, sum V, 3) from one colour spec per mesh."""
    if len(colors) != len(meshes):
        raise ValueError(f"colors: expected one colour per mesh ({len(meshes)}), got {len(colors)}")
    out = []
    for i, (c, (v, _)) in enumerate(zip(colors, meshes)):
        c = torch.as_tensor(c, dtype=dtype, device=device)
        if c.shape == (3,):
            c = c.expand(B, v.shape[1], 3)
        elif c.shape == (v.shape[1], 3):
            c = c.expand(B, -1, -1)
        elif c.shape != (B, v.shape[1], 3):
            raise ValueError(
                f"colors[{i}]: expected RGB (3,), per-vertex (V, 3) or (B, V, 3) in [0, 1] with V={v.shape[1]}, "
                f"got {tuple(c.shape)}"
            )
        out.append(c)
    return torch.cat(out, dim=1)


def _background(background, B: int, H: int, W: int, settings: RenderSettings, dtype, device) -> torch.Tensor:
    if background is None:
        return torch.tensor(settings.background, dtype=dtype, device=device).expand(B, H, W, 3)
    bg = torch.as_tensor(background, device=device)
    if bg.dtype == torch.uint8:
        bg = bg.to(dtype) / 255.0
    bg = bg.to(dtype)
    if bg.shape == (H, W, 3):
        bg = bg.expand(B, H, W, 3)
    if bg.shape != (B, H, W, 3):
        raise ValueError(
            f"background: expected an RGB image (H, W, 3) or (B, H, W, 3) of size {(H, W)}, float in [0, 1] "
            f"or uint8, got {tuple(bg.shape)}"
        )
    return bg


def render_shaded(
    meshes,
    colors,
    K: torch.Tensor,
    image_size: tuple[int, int],
    background=None,
    alpha: float = 1.0,
    settings: RenderSettings | None = None,
) -> torch.Tensor:
    """Phong-shaded, supersampled rendering of several meshes, optionally over an image.

    Args:
        meshes: list of ``(vertices (B, Vi, 3) metres camera frame (OpenCV), faces (Fi, 3) long)``.
        colors: one colour per mesh: RGB in [0, 1] as a 3-sequence or (3,), or per-vertex (Vi, 3) or (B, Vi, 3).
        K: (B, 3, 3) or (3, 3) intrinsics in pixels.
        image_size: ``(H, W)`` of the output.
        background: None (settings.background colour) or an RGB image (H, W, 3) / (B, H, W, 3), float in
            [0, 1] or uint8, e.g. the video frame to overlay on.
        alpha: opacity of the meshes over the background, in [0, 1].
        settings: :class:`RenderSettings` (supersampling, Phong weights, culling).

    Returns:
        (B, H, W, 3) float RGB in [0, 1]. Lighting is a headlight at the camera centre; surfaces are lit
        from both sides (the inside of an open mesh is visible when culling is off).
    """
    s = settings or RenderSettings()
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha: expected an opacity in [0, 1], got {alpha}")
    if isinstance(meshes, tuple) and len(meshes) == 2 and isinstance(meshes[0], torch.Tensor):
        meshes = [meshes]
    B, H, W, K = check_meshes(meshes, K, image_size)
    dtype, device = meshes[0][0].dtype, meshes[0][0].device
    ss = int(s.supersample)
    Ks = K.clone()
    Ks[:, 0, 0], Ks[:, 1, 1] = K[:, 0, 0] * ss, K[:, 1, 1] * ss
    Ks[:, 0, 2], Ks[:, 1, 2] = (K[:, 0, 2] + 0.5) * ss - 0.5, (K[:, 1, 2] + 0.5) * ss - 0.5
    Hs, Ws = H * ss, W * ss
    frags = rasterize(meshes, Ks, (Hs, Ws), s.cull_backfaces, s.znear, s.max_pairs_per_chunk)

    verts, faces, _ = pack_meshes(meshes)
    normals = vertex_normals(verts, faces)
    vcolors = _colors(colors, meshes, B, dtype, device)
    flat_face = frags.face.reshape(-1)
    idx = torch.nonzero(flat_face >= 0).squeeze(1)
    b = idx // (Hs * Ws)
    vid = faces[flat_face[idx]]  # (n, 3)
    bary = frags.bary.reshape(-1, 3)[idx, :, None]  # (n, 3, 1)
    n = torch.nn.functional.normalize((normals[b[:, None], vid] * bary).sum(1), dim=-1, eps=1e-12)
    albedo = (vcolors[b[:, None], vid] * bary).sum(1)
    # View ray through the pixel centre; the headlight shines along it.
    u = (idx % Ws).to(dtype)
    v = ((idx // Ws) % Hs).to(dtype)
    ray = torch.stack([(u - Ks[b, 0, 2]) / Ks[b, 0, 0], (v - Ks[b, 1, 2]) / Ks[b, 1, 1], torch.ones_like(u)], -1)
    to_eye = -torch.nn.functional.normalize(ray, dim=-1)
    cos = (n * to_eye).sum(-1).abs()  # two-sided
    spec = (2 * cos * cos - 1).clamp(min=0) ** s.shininess  # reflect(light) . view with light = view
    rgb = (s.ambient + s.diffuse * cos)[:, None] * albedo + s.specular * spec[:, None]
    image = torch.zeros((B * Hs * Ws, 3), dtype=dtype, device=device).index_put((idx,), rgb.clamp(0.0, 1.0))
    cover = (flat_face >= 0).to(dtype)
    # Box-filter the supersampled image (premultiplied by coverage), then composite.
    image = image.view(B, H, ss, W, ss, 3).mean(dim=(2, 4))
    cover = cover.view(B, H, ss, W, ss).mean(dim=(2, 4))[..., None]
    bg = _background(background, B, H, W, s, dtype, device)
    return (bg * (1.0 - alpha * cover) + alpha * image).clamp(0.0, 1.0)
