"""Penetration, intersection volume and contact on meshes with known answers (and trimesh)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh
from scipy.spatial.transform import Rotation

from hoFit.eval.plausibility import (
    contact_frames,
    contact_ratio,
    intersection_volume,
    max_penetration_depth,
    plausibility_metrics,
)


def _box(extent=0.1, centre=(0.0, 0.0, 0.0)):
    mesh = trimesh.creation.box(extents=(extent,) * 3)
    mesh.apply_translation(centre)
    return torch.from_numpy(np.asarray(mesh.vertices)), torch.from_numpy(np.asarray(mesh.faces))


def test_max_penetration_depth_in_a_box():
    verts, faces = _box(0.1)  # half-size 5 cm
    hand = torch.tensor([
        [[0.0, 0.0, 0.04], [0.02, 0.0, 0.0], [0.2, 0.0, 0.0]],  # depths 1 cm and 3 cm, one outside
        [[0.0, 0.0, 0.06], [0.3, 0.0, 0.0], [0.0, 0.2, 0.0]],  # none inside
    ], dtype=torch.float64)
    depth = max_penetration_depth(hand, verts, faces)
    assert torch.allclose(depth, torch.tensor([0.03, 0.0], dtype=torch.float64), atol=1e-12)


def test_penetration_matches_trimesh_signed_distance():
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.05)
    points = np.random.default_rng(0).uniform(-0.06, 0.06, size=(2, 200, 3))
    depth = max_penetration_depth(torch.from_numpy(points), torch.from_numpy(sphere.vertices),
                                  torch.from_numpy(sphere.faces)).numpy()
    # trimesh's signed distance is positive inside
    ref = [max(0.0, trimesh.proximity.signed_distance(sphere, p).max()) for p in points]
    assert np.allclose(depth, ref, atol=1e-9)


def test_intersection_volume_of_overlapping_boxes():
    a_v, a_f = _box(0.04)
    b_v, b_f = _box(0.04, centre=(0.02, 0.0, 0.0))
    vol = intersection_volume(a_v[None], a_f, b_v, b_f, voxel_size=0.002)
    assert float(vol[0]) * 1e6 == pytest.approx(32.0, rel=1e-9)  # 2 x 4 x 4 cm
    far_v, _ = _box(0.04, centre=(0.1, 0.0, 0.0))
    assert float(intersection_volume(a_v, a_f, far_v, b_f)[0]) == 0.0
    # the same pair rotated jointly: the grid no longer aligns with the faces, the volume is unchanged
    rot = torch.from_numpy(Rotation.random(random_state=0).as_matrix())
    vol = intersection_volume(a_v @ rot.T + 0.3, a_f, b_v @ rot.T + 0.3, b_f, voxel_size=0.001)
    assert float(vol[0]) * 1e6 == pytest.approx(32.0, rel=0.01)


def test_contact_ratio_and_summary_metrics():
    verts, faces = _box(0.1)
    hand = torch.tensor([
        [[0.051, 0.0, 0.0], [0.3, 0.0, 0.0]],  # 1 mm outside: contact
        [[0.055, 0.0, 0.0], [0.3, 0.0, 0.0]],  # 5 mm outside: no contact
        [[0.045, 0.0, 0.0], [0.3, 0.0, 0.0]],  # 5 mm inside: contact (penetration)
    ], dtype=torch.float64)
    assert contact_frames(hand, verts, faces).tolist() == [True, False, True]
    assert contact_ratio(hand, verts, faces) == pytest.approx(2 / 3)
    assert contact_ratio(hand, verts, faces, threshold=0.006) == pytest.approx(1.0)
    m = plausibility_metrics(hand, verts, faces)
    assert m["contact_ratio"] == pytest.approx(2 / 3)
    assert m["penetration_depth"] == pytest.approx(5.0 / 3, rel=1e-6)
    assert m["max_penetration_depth"] == pytest.approx(5.0, rel=1e-6)
    assert m.get_value("penetration_depth").unit == "mm" and "intersection_volume" not in m
