"""Hard rasterization, shaded display rendering and the orbit helper."""

from __future__ import annotations

import math

import pytest
import torch
import trimesh

from hoFit.render import RenderSettings, orbit_vertices, rasterize, render_orbit, render_shaded, vertex_normals


def _K(f=100.0, cx=31.5, cy=31.5):
    return torch.tensor([[f, 0, cx], [0, f, cy], [0, 0, 1]], dtype=torch.float64)


def _quad(z_of_xy, half=0.5):
    """A 2-triangle quad facing the camera; z given per corner (x, y)."""
    xy = [(-half, -half), (half, -half), (half, half), (-half, half)]
    v = torch.tensor([[x, y, z_of_xy(x, y)] for x, y in xy], dtype=torch.float64)[None]
    return v, torch.tensor([[0, 2, 1], [0, 3, 2]])


def test_perspective_correct_depth_and_barycentrics():
    # A tilted plane z = 1 + 0.5 x: the depth at pixel (u, v) is where the ray meets the plane.
    v, f = _quad(lambda x, y: 1.0 + 0.5 * x, half=0.2)
    K = _K(80.0, 31.5, 31.5)
    frags = rasterize([(v, f)], K, (64, 64))
    hit = frags.face[0] >= 0
    assert int(hit.sum()) > 500
    ys, xs = torch.nonzero(hit, as_tuple=True)
    rx = (xs.double() - 31.5) / 80.0
    z_true = 1.0 / (1.0 - 0.5 * rx)  # z = 1 + 0.5 * (rx * z)
    assert (frags.depth[0][hit] - z_true).abs().max() < 1e-12
    assert torch.isinf(frags.depth[0][~hit]).all()
    # Barycentrics reproduce the 3D point on the face.
    tri = v[0][f[frags.face[0][hit]]]  # (n, 3, 3)
    point = (frags.bary[0][hit][..., None] * tri).sum(1)
    assert (point[:, 2] - z_true).abs().max() < 1e-12
    assert (point[:, 0] - rx * z_true).abs().max() < 1e-12
    assert frags.mesh[0][hit].eq(0).all() and frags.mesh[0][~hit].eq(-1).all()


def test_shaded_colour_closed_form():
    # Fronto-parallel plane through the principal point: at the centre pixel n . l = 1, so
    # rgb = (ambient + diffuse) * colour + specular.
    v, f = _quad(lambda x, y: 2.0)
    s = RenderSettings(supersample=1, ambient=0.2, diffuse=0.5, specular=0.25, shininess=10.0)
    colour = (0.8, 0.4, 0.2)
    img = render_shaded([(v, f)], [colour], _K(100.0, 32.0, 32.0), (65, 65), settings=s)
    centre = img[0, 32, 32]
    expected = torch.tensor(colour, dtype=torch.float64) * 0.7 + 0.25
    assert (centre - expected).abs().max() < 1e-9
    # Off-centre pixel: the headlight's angle is the pixel ray's angle to the normal.
    ray = torch.tensor([(10 - 32.0) / 100.0, 0.0, 1.0], dtype=torch.float64)
    cos = float(1.0 / ray.norm())
    spec = max(0.0, 2 * cos * cos - 1) ** 10.0
    expected = torch.tensor(colour, dtype=torch.float64) * (0.2 + 0.5 * cos) + 0.25 * spec
    assert (img[0, 32, 10] - expected).abs().max() < 1e-9


def test_antialiasing_and_overlay():
    # A plane whose left edge falls exactly in the middle of pixel column 20 (edge at u = 20.0).
    f_px, z = 100.0, 1.0
    x_edge = (20.0 - 31.5) / f_px * z
    v = torch.tensor([[x_edge, -1, z], [2, -1, z], [2, 1, z], [x_edge, 1, z]], dtype=torch.float64)[None]
    faces = torch.tensor([[0, 2, 1], [0, 3, 2]])
    s = RenderSettings(supersample=2, ambient=1.0, diffuse=0.0, specular=0.0)
    bg = torch.zeros(64, 64, 3, dtype=torch.float64)
    img = render_shaded([(v, faces)], [(1.0, 1.0, 1.0)], _K(), (64, 64), background=bg, alpha=1.0, settings=s)
    # 2x supersampling: sub-pixel centres at u = 19.75 and 20.25 => half coverage in column 20.
    assert torch.allclose(img[0, 10, 20], torch.full((3,), 0.5, dtype=torch.float64))
    assert torch.allclose(img[0, 10, 19], torch.zeros(3, dtype=torch.float64))
    assert torch.allclose(img[0, 10, 21], torch.ones(3, dtype=torch.float64))
    # Transparency: alpha blends with the background image.
    bg = torch.full((64, 64, 3), 0.2, dtype=torch.float64)
    img = render_shaded([(v, faces)], [(1.0, 1.0, 1.0)], _K(), (64, 64), background=bg, alpha=0.25, settings=s)
    assert torch.allclose(img[0, 10, 30], torch.full((3,), 0.2 * 0.75 + 0.25, dtype=torch.float64))
    assert torch.allclose(img[0, 10, 5], torch.full((3,), 0.2, dtype=torch.float64))
    with pytest.raises(ValueError, match="background"):
        render_shaded([(v, faces)], [(1.0, 1.0, 1.0)], _K(), (64, 64), background=torch.zeros(32, 32, 3))


def test_front_mesh_wins_and_uses_its_colour():
    near, f = _quad(lambda x, y: 1.0, half=0.1)
    far, _ = _quad(lambda x, y: 2.0, half=0.5)
    s = RenderSettings(supersample=1, ambient=1.0, diffuse=0.0, specular=0.0)
    img = render_shaded([(far, f), (near, f)], [(0.0, 0.0, 1.0), (1.0, 0.0, 0.0)], _K(), (64, 64), settings=s)
    assert torch.allclose(img[0, 31, 31], torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64))
    assert torch.allclose(img[0, 10, 31], torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))


def test_vertex_normals_of_sphere_are_radial():
    sphere = trimesh.creation.icosphere(3, radius=0.3)
    v = torch.tensor(sphere.vertices)[None]
    n = vertex_normals(v, torch.tensor(sphere.faces))
    radial = v / v.norm(dim=-1, keepdim=True)
    assert float((n * radial).sum(-1).min()) > 0.999


def test_orbit_rotation_properties():
    g = torch.Generator().manual_seed(0)
    v = torch.randn(2, 50, 3, generator=g, dtype=torch.float64)
    c = torch.tensor([[0.1, 0.2, 1.0], [0.0, 0.0, 2.0]], dtype=torch.float64)
    out = orbit_vertices(v, c, torch.tensor([0.0, math.pi / 2, 2 * math.pi], dtype=torch.float64))
    assert out.shape == (3, 2, 50, 3)
    assert torch.allclose(out[0], v) and torch.allclose(out[2], v)
    # Yaw by +90 degrees about the camera's y axis: (x, z) -> (z, -x) relative to the centre.
    rel = v - c[:, None]
    expected = torch.stack([rel[..., 2], rel[..., 1], -rel[..., 0]], -1) + c[:, None]
    assert torch.allclose(out[1], expected)
    # Distances to the centre are preserved.
    assert torch.allclose((out[1] - c[:, None]).norm(dim=-1), rel.norm(dim=-1))
    with pytest.raises(ValueError, match="axis"):
        orbit_vertices(v, c, 0.3, axis="w")


def test_render_orbit_views():
    box = trimesh.creation.box((0.3, 0.1, 0.1))  # long along x
    v = torch.tensor(box.vertices)[None] + torch.tensor([0.0, 0.0, 1.5], dtype=torch.float64)
    f = torch.tensor(box.faces)
    s = RenderSettings(supersample=1)
    views = render_orbit([(v, f)], [(0.2, 0.6, 0.9)], _K(), (64, 64), [0.0, math.pi / 2], settings=s)
    assert views.shape == (2, 1, 64, 64, 3)
    direct = render_shaded([(v, f)], [(0.2, 0.6, 0.9)], _K(), (64, 64), settings=s)
    assert torch.allclose(views[0], direct)
    covered = (views[:, 0] != 1.0).any(-1)
    width = covered.any(1).sum(-1)  # columns covered
    # Seen end-on after a quarter turn about the vertical: the 30 cm long box looks narrow.
    assert int(width[0]) > 2 * int(width[1])
