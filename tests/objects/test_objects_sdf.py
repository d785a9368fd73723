"""Point-to-mesh distance, winding numbers and signed-distance grids against trimesh and closed forms."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from hoFit.models.objects import (
    SDFGrid, compute_sdf_grid, load_template, mesh_proximity, point_mesh_distance, procedural_template, sdf,
    sdf_cache_path, sdf_grid, template_from_arrays, winding_number,
)


@pytest.fixture(scope="module")
def bottle(ycb_dir: Path):
    return load_template(ycb_dir / "006_mustard_bottle" / "textured_simple_2000.obj")


@pytest.fixture(scope="module")
def bottle_grid(bottle, tmp_path_factory) -> SDFGrid:
    return sdf_grid(bottle, resolution=48, padding=0.02, cache_dir=tmp_path_factory.mktemp("sdf"))


@pytest.fixture(scope="module")
def sphere():
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=0.05)
    return template_from_arrays(mesh.vertices, mesh.faces, name="sphere")


def _box_points(lo: np.ndarray, hi: np.ndarray, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, size=(n, 3))


def test_point_mesh_distance_matches_trimesh(bottle) -> None:
    mesh = bottle.to_trimesh()
    points = _box_points(mesh.bounds[0] - 0.03, mesh.bounds[1] + 0.03, 400, seed=1)
    closest, distance, triangle = trimesh.proximity.closest_point(mesh, points)
    verts, faces = bottle.to_torch(dtype=torch.float64)
    result = mesh_proximity(torch.from_numpy(points), verts, faces)
    # trimesh's candidate search occasionally returns a slightly farther face (seen: 0.2 um): ours is exact
    np.testing.assert_allclose(result.distance.numpy(), distance, atol=1e-6)
    assert (result.distance.numpy() <= distance + 1e-12).all()
    agree = np.abs(result.distance.numpy() - distance) < 1e-12
    assert agree.mean() > 0.95
    np.testing.assert_allclose(result.closest.numpy()[agree], closest[agree], atol=1e-9)
    # closest points lie on the surface, on the reported face
    on_face = trimesh.triangles.closest_point(mesh.triangles[result.face_index.numpy()], result.closest.numpy())
    np.testing.assert_allclose(on_face, result.closest.numpy(), atol=1e-9)
    # the nearest vertex is much farther than the nearest surface point for some points
    nearest_vertex = np.linalg.norm(points[:, None] - bottle.vertices[None], axis=-1).min(1)
    assert (nearest_vertex - distance).max() > 1e-3


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nearest_face_search_matches_measuring_every_face(dtype) -> None:
    """The pruned search returns exactly the faces that measuring every (point, face) pair finds (the lowest
    index among equally near faces), ties (points on shared vertices and edges) included, for points near,
    inside, on and far from the mesh, over a batch of deformed meshes."""
    from hoFit.models.objects.distance import _face_corners, _nearest_faces, _triangle_sq_distance

    mesh = trimesh.creation.icosphere(subdivisions=3, radius=0.05)
    rng = np.random.default_rng(3)
    base = torch.as_tensor(mesh.vertices, dtype=dtype)
    vertices = torch.stack([base * torch.as_tensor(rng.uniform(0.5, 1.5, 3), dtype=dtype) + 0.4 for _ in range(3)])
    faces = torch.as_tensor(mesh.faces)
    edge_midpoints = (vertices[:, faces[:, 0]] + vertices[:, faces[:, 1]]) / 2
    points = torch.cat([
        vertices.mean(1, keepdim=True) + torch.as_tensor(rng.normal(0, 0.04, (3, 300, 3)), dtype=dtype),
        vertices[:, ::5], edge_midpoints[:, ::9],  # on the surface, equally near several faces
        vertices.mean(1, keepdim=True) + torch.as_tensor(rng.normal(0, 1.0, (3, 20, 3)), dtype=dtype),  # far
    ], dim=1)
    a, b, c = _face_corners(vertices, faces)
    # every pair at once; min returns the first (lowest-index) minimum of each row
    expected = _triangle_sq_distance(points[:, :, None], a[:, None], b[:, None], c[:, None]).min(dim=-1).indices
    assert torch.equal(_nearest_faces(points, a, b, c), expected)
    assert torch.equal(mesh_proximity(points, vertices, faces).face_index, expected)


def test_point_mesh_distance_batches_broadcast() -> None:
    box = trimesh.creation.box(extents=(0.1, 0.2, 0.3))
    verts = torch.tensor(box.vertices)
    faces = torch.tensor(box.faces)
    shifts = torch.tensor([[0.0, 0.0, 0.0], [0.05, -0.02, 0.1]], dtype=torch.float64)
    batch_verts = verts[None] + shifts[:, None]  # (2, V, 3)
    points = torch.tensor(_box_points(np.full(3, -0.3), np.full(3, 0.3), 50, seed=2))  # (N, 3)
    out = point_mesh_distance(points[None].expand(2, -1, -1), batch_verts, faces)
    assert out.shape == (2, 50)
    for b in range(2):
        np.testing.assert_allclose(out[b].numpy(), point_mesh_distance(points - shifts[b], verts, faces).numpy())
    # closed form for a box: distance outside = norm of the per-axis excess
    half = torch.tensor([0.05, 0.1, 0.15], dtype=torch.float64)
    excess = (points.abs() - half).clamp_min(0)
    outside = (excess > 0).any(1)
    np.testing.assert_allclose(out[0][outside].numpy(), excess.norm(dim=1)[outside].numpy(), atol=1e-12)
    inside_d = (half - points.abs()).min(1).values
    np.testing.assert_allclose(out[0][~outside].numpy(), inside_d[~outside].numpy(), atol=1e-12)


def test_no_points_give_empty_results() -> None:
    box = trimesh.creation.box(extents=(0.1, 0.2, 0.3))
    verts, faces = torch.tensor(box.vertices)[None].repeat(2, 1, 1), torch.tensor(box.faces)
    none = torch.zeros(2, 0, 3, dtype=torch.float64)
    near = mesh_proximity(none, verts, faces)
    assert near.distance.shape == (2, 0) and near.closest.shape == (2, 0, 3) and near.face_index.shape == (2, 0)
    assert winding_number(none, verts, faces).shape == (2, 0)


def test_point_mesh_distance_gradcheck() -> None:
    verts = torch.tensor([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=torch.float64, requires_grad=True)
    faces = torch.tensor([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    points = torch.tensor([[0.2, 0.3, -0.5], [1.4, 0.2, 0.1], [0.1, 0.15, 0.2], [-0.3, -0.4, 0.2]],
                          dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p, v: point_mesh_distance(p, v, faces), (points, verts))


def test_input_checks() -> None:
    verts = torch.zeros(4, 3)
    with pytest.raises(ValueError, match=r"expected faces of shape \(F, 3\).*triangulate"):
        point_mesh_distance(torch.zeros(2, 3), verts, torch.zeros(1, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"expected points of shape \(\.\.\., N, 3\)"):
        winding_number(torch.zeros(2, 2), verts, torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"face indices must lie in \[0, 4\)"):
        winding_number(torch.zeros(2, 3), verts, torch.tensor([[0, 1, 7]]))


def test_winding_number_inside_outside(bottle) -> None:
    mesh = bottle.to_trimesh()
    points = _box_points(mesh.bounds[0] - 0.01, mesh.bounds[1] + 0.01, 600, seed=3)
    inside = mesh.contains(points)
    assert 50 < inside.sum() < 550
    verts, faces = bottle.to_torch(dtype=torch.float64)
    w = winding_number(torch.from_numpy(points), verts, faces).numpy()
    np.testing.assert_allclose(w[inside], 1.0, atol=1e-6)
    np.testing.assert_allclose(w[~inside], 0.0, atol=1e-6)


def test_winding_number_with_a_hole() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.05)
    keep = sphere.triangles_center[:, 2] < 0.04  # a hole at the top
    verts = torch.tensor(sphere.vertices)
    faces = torch.tensor(sphere.faces[keep])
    w = winding_number(torch.tensor([[0.0, 0, -0.02], [0, 0, 0.2], [0.1, 0, 0]], dtype=torch.float64), verts, faces)
    assert w[0] > 0.8 and w[1].abs() < 0.2 and w[2].abs() < 0.2


def test_sdf_grid_matches_trimesh(bottle, bottle_grid: SDFGrid) -> None:
    mesh = bottle.to_trimesh()
    h = bottle_grid.voxel_size
    lo, hi = bottle_grid.bounds.numpy()
    points = _box_points(lo, hi, 1500, seed=4)
    reference = -trimesh.proximity.signed_distance(mesh, points)  # trimesh: positive inside
    inside = mesh.contains(points)
    got = bottle_grid.query(torch.from_numpy(points)).numpy()
    assert got.dtype == np.float64
    np.testing.assert_array_less(np.abs(got - reference), h)
    away = np.abs(reference) > h
    assert (np.signbit(got[away]) == inside[away]).all()
    # grid nodes hold (nearly) exact signed distances
    idx = np.random.default_rng(5).integers(0, bottle_grid.resolution, size=(400, 3))
    nodes = bottle_grid.origin.double().numpy() + h * idx
    node_values = bottle_grid.values[idx[:, 0], idx[:, 1], idx[:, 2]].numpy()
    _, node_distance, _ = trimesh.proximity.closest_point(mesh, nodes)
    np.testing.assert_allclose(np.abs(node_values), node_distance, atol=0.1 * h)


def test_sdf_sphere_closed_form_and_gradient(sphere) -> None:
    grid = compute_sdf_grid(sphere, resolution=32, padding=0.02)
    h = grid.voxel_size
    points = torch.tensor(_box_points(np.full(3, -0.07), np.full(3, 0.07), 500, seed=6))  # inside the grid box
    exact = points.norm(dim=1) - 0.05
    np.testing.assert_allclose(grid.query(points).numpy(), exact.numpy(), atol=h)
    grad = grid.gradient(points)
    assert grad.shape == points.shape and torch.isfinite(grad).all()
    shell = (exact.abs() > 1.5 * h) & (points.norm(dim=1) > 0.03)
    cosine = torch.nn.functional.cosine_similarity(grad[shell], points[shell], dim=1)
    assert cosine.min() > 0.9 and (grad[shell].norm(dim=1) - 1).abs().max() < 0.2


def test_sdf_outside_the_grid_grows_and_points_outward(sphere) -> None:
    grid = compute_sdf_grid(sphere, resolution=16, padding=0.01)
    hi = float(grid.bounds[1, 0])
    points = torch.tensor([[hi + 0.1, 0.0, 0.0], [hi + 0.2, 0.0, 0.0], [hi + 0.05, hi + 0.05, 0.0]],
                          requires_grad=True)
    values = grid.query(points)
    boundary = grid.query(torch.tensor([[hi, 0.0, 0.0]]))
    assert float(values[0].detach()) == pytest.approx(float(boundary) + 0.1, abs=1e-6) and values[1] > values[0]
    (grad,) = torch.autograd.grad(values.sum(), points)
    assert grad[0, 0] > 0.99 and grad[1, 0] > 0.99 and (grad[2, :2] > 0.5).all()


def test_sdf_query_gradcheck(sphere) -> None:
    grid = compute_sdf_grid(sphere, resolution=16, padding=0.01).to(dtype=torch.float64)
    points = torch.tensor([[0.013, -0.021, 0.034], [0.071, 0.002, -0.009], [0.1, 0.2, -0.3]],
                          dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(grid.query, (points,), eps=1e-7)
    with pytest.raises(ValueError, match=r"expected floating points of shape \(\.\.\., 3\)"):
        grid.query(torch.zeros(4, 2))
    batched = grid.query(points.detach().reshape(1, 3, 1, 3))
    assert batched.shape == (1, 3, 1)


def test_sdf_cache_hit(tmp_path: Path, monkeypatch) -> None:
    template = procedural_template("can")
    first = sdf_grid(template, resolution=20, padding=0.01, cache_dir=tmp_path)
    path = sdf_cache_path(template, 20, 0.01, tmp_path)
    assert path.is_file() and template.content_hash() in path.name

    def fail(*args, **kwargs):
        raise AssertionError("the cached grid should have been loaded")

    monkeypatch.setattr(sdf, "compute_sdf_grid", fail)
    second = sdf_grid(template, resolution=20, padding=0.01, cache_dir=tmp_path)
    assert torch.equal(first.values, second.values) and torch.equal(first.origin, second.origin)
    assert second.voxel_size == first.voxel_size and second.mesh_hash == template.content_hash()
    # a different resolution or padding is a different key
    assert sdf_cache_path(template, 21, 0.01, tmp_path) != path != sdf_cache_path(template, 20, 0.02, tmp_path)


def test_sdf_cache_corrupt_file_is_recomputed(tmp_path: Path) -> None:
    template = procedural_template("ball")
    path = sdf_cache_path(template, 12, 0.01, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not an npz")
    with pytest.warns(UserWarning, match="unreadable SDF cache file"):
        grid = sdf_grid(template, resolution=12, padding=0.01, cache_dir=tmp_path)
    np.testing.assert_allclose(grid.values.numpy(), compute_sdf_grid(template, 12, 0.01).values.numpy())
    assert np.load(path)["values"].shape == (12, 12, 12)


def test_default_cache_dir_env(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOFIT_CACHE_DIR", str(tmp_path))
    assert sdf.default_cache_dir() == tmp_path / "sdf"


def test_sdf_of_non_watertight_mesh_uses_winding_number() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.05)
    keep = sphere.triangles_center[:, 2] < 0.045
    with pytest.warns(UserWarning, match="not watertight"):
        open_sphere = template_from_arrays(sphere.vertices, sphere.faces[keep], name="open sphere")
    grid = compute_sdf_grid(open_sphere, resolution=24, padding=0.01)
    q = grid.query(torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, -0.03], [0.07, 0.0, 0.0]]))
    assert q[0] == pytest.approx(-0.05, abs=grid.voxel_size) and q[1] < -0.01 and q[2] > 0.01


def test_mug_procedural_sdf_signs_inside_wall_and_cavity() -> None:
    mug = procedural_template("mug")
    grid = compute_sdf_grid(mug, resolution=40, padding=0.01)
    z_mid = 0.0
    cx = float(mug.bounds[0, 0]) + 0.04  # body axis (handle on +x)
    points = torch.tensor([[cx, 0.0, z_mid], [cx, 0.0, float(mug.bounds[0, 2]) + 0.003]])
    values = grid.query(points)
    assert values[0] > 0.02  # inside the open cavity is outside the solid
    assert values[1] < 0  # in the 8 mm thick bottom
    assert math.isfinite(float(values.sum()))
