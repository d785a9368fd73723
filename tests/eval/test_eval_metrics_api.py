"""The hoFit.eval.metrics namespace, its clip-level helpers, and a check on a real YCB mesh."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

import hoFit.eval.metrics as metrics
from hoFit.geometry.rotations import axis_angle_to_matrix


def test_namespace_exports_everything_it_lists():
    for name in metrics.__all__:
        assert callable(getattr(metrics, name)), name


def test_object_pose_metrics_hand_computed():
    verts = torch.from_numpy(np.random.default_rng(0).normal(size=(3, 40, 3)) * 0.05)
    shift = torch.tensor([0.0, 0.0, 0.02], dtype=torch.float64)
    rot = axis_angle_to_matrix(torch.tensor([[0.0, 0.0, np.radians(10.0)]] * 3, dtype=torch.float64))
    eye = torch.eye(3, dtype=torch.float64).expand(3, 3, 3)
    m = metrics.object_pose_metrics(verts + shift, verts, rot, shift.expand(3, 3), eye, torch.zeros(3, 3))
    assert m["object_vertex_error"] == pytest.approx(2.0)
    assert m["object_add_s"] <= 2.0 + 1e-9
    assert m["object_rotation_error"] == pytest.approx(10.0)
    assert m["object_translation_error"] == pytest.approx(2.0)
    assert m.get_value("object_rotation_error").unit == "deg"


def test_temporal_metrics_in_mm_per_frame_squared():
    t = torch.arange(6, dtype=torch.float64)
    traj = torch.stack([0.5 * 0.002 * t ** 2, 0 * t, 0 * t], -1)[:, None].expand(6, 21, 3)
    m = metrics.temporal_metrics(hand_keypoints=traj)
    assert m["hand_jitter"] == pytest.approx(2.0) and "object_jitter" not in m


def test_penetration_on_a_ycb_mesh_matches_trimesh(ycb_dir):
    paths = sorted(ycb_dir.glob("*/textured_simple_2000.obj"))
    if not paths:
        pytest.skip("no YCB textured_simple_2000.obj mesh in ../shared/data/ycb")
    mesh = trimesh.load(paths[0], force="mesh", process=True)
    lo, hi = mesh.bounds
    points = np.random.default_rng(0).uniform(lo, hi, size=(1, 300, 3))
    depth = metrics.max_penetration_depth(torch.from_numpy(points), torch.from_numpy(np.asarray(mesh.vertices)),
                                          torch.from_numpy(np.asarray(mesh.faces)))
    signed = trimesh.proximity.signed_distance(mesh, points[0])  # positive inside
    assert float(depth[0]) == pytest.approx(max(0.0, signed.max()), abs=1e-6)
