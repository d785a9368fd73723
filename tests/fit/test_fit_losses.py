"""Every loss term against a hand-computed case; interaction terms do what their names say."""

from __future__ import annotations

import math

import numpy as np

import pytest
import torch

from hoFit.fit import losses as L
from hoFit.fit.config import LOSS_TERMS, FitConfig, StageConfig
from hoFit.errors import HoFitError


def sphere_sdf(radius: float):
    """Exact signed distance of a sphere at the origin (negative inside)."""
    return lambda p: p.norm(dim=-1) - radius


def identity_pose(T: int, dtype=torch.float64):
    return torch.eye(3, dtype=dtype).expand(T, 3, 3), torch.zeros(T, 3, dtype=dtype)


def test_silhouette_loss_counts_only_valid_pixels():
    rendered = torch.tensor([[[1.0, 0.5], [0.0, 0.0]]])
    target = torch.tensor([[[1.0, 1.0], [1.0, 0.0]]])
    valid = torch.tensor([[[True, True], [False, True]]])
    # squared errors on valid pixels: 0, 0.25, 0 -> mean 0.25 / 3
    assert float(L.silhouette_loss(rendered, target, valid)) == pytest.approx(0.25 / 3)
    assert float(L.silhouette_loss(rendered, target)) == pytest.approx((0.25 + 1.0) / 4)


def test_silhouette_errors_score_each_image_on_its_own_valid_pixels():
    rendered = torch.tensor([[[1.0, 0.5], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]])
    target = torch.tensor([[[1.0, 1.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    valid = torch.tensor([[[True, True], [False, True]], [[False, False], [False, False]]])
    # image 0 as above; image 1 has no valid pixel
    torch.testing.assert_close(L.silhouette_errors(rendered, target, valid), torch.tensor([0.25 / 3, 0.0]))


def test_keypoint_loss_weights_confidence_and_ignores_missing():
    projected = torch.tensor([[[0.0, 0.0], [10.0, 0.0], [0.0, 0.0]]])
    target = torch.tensor([[[3.0, 4.0], [10.0, 0.0], [float("nan"), 0.0]]])
    confidence = torch.tensor([[1.0, 1.0, 0.0]])
    # errors 5 and 0 px, scale 10 px: (0.5^2 * 1 + 0) / 2
    value = L.keypoint_reprojection_loss(projected, target, confidence, scale=10.0)
    assert float(value) == pytest.approx(0.125)
    robust = L.keypoint_reprojection_loss(projected, target, confidence, scale=10.0, robust_sigma=0.5)
    assert float(robust) == pytest.approx(0.25 * 0.25 / (0.25 + 0.25) / 2)
    confidence[0, 0] = 0.5  # halves the first joint's weight
    assert float(L.keypoint_reprojection_loss(projected, target, confidence, scale=10.0)) == pytest.approx(0.25 * 0.5 / 1.5)


def test_keypoint_loss_is_zero_without_confident_joints_and_has_gradients():
    projected = torch.zeros(2, 21, 2, requires_grad=True)
    loss = L.keypoint_reprojection_loss(projected, torch.ones(2, 21, 2), torch.zeros(2, 21))
    assert float(loss.detach()) == 0.0
    loss = L.keypoint_reprojection_loss(projected, torch.ones(2, 21, 2), torch.ones(2, 21))
    loss.backward()
    assert torch.isfinite(projected.grad).all() and projected.grad.abs().sum() > 0


def test_priors():
    assert float(L.pca_prior_loss(torch.tensor([[1.0, 2.0], [0.0, 0.0]]))) == pytest.approx(2.5)
    limits = torch.zeros(15, 3, 2)
    limits[..., 1] = 1.0
    angles = torch.zeros(2, 15, 3)
    angles[0, 0, 0] = 1.5  # 0.5 above
    angles[1, 3, 2] = -0.2  # 0.2 below
    assert float(L.joint_limit_loss(angles, limits)) == pytest.approx((0.25 + 0.04) / 2)
    assert float(L.shape_prior_loss(torch.tensor([[3.0, 4.0]]))) == pytest.approx(25.0)
    assert float(L.scale_prior_loss(torch.tensor([2.0]), 1.0)) == pytest.approx(math.log(2) ** 2)


def test_smoothness_velocity_and_acceleration_in_cm():
    t = torch.arange(4, dtype=torch.float64)
    points = torch.zeros(4, 1, 3, dtype=torch.float64)
    points[:, 0, 0] = 0.01 * t  # 1 cm per frame, constant velocity
    assert float(L.smoothness_loss(points, order=1)) == pytest.approx(1.0)
    assert float(L.smoothness_loss(points, order=2)) == pytest.approx(0.0)
    points[:, 0, 0] = 0.01 * t**2  # acceleration 2 cm / frame^2
    assert float(L.smoothness_loss(points, order=2)) == pytest.approx(4.0)
    assert float(L.smoothness_loss(points[:1], order=1)) == 0.0


def test_coarse_interaction_only_in_active_frames():
    hand = torch.zeros(2, 5, 3, dtype=torch.float64)
    obj = torch.zeros(2, 7, 3, dtype=torch.float64)
    obj[0, :, 2] = 0.03  # 3 cm apart in frame 0
    obj[1, :, 2] = 0.5
    active = torch.tensor([True, False])
    assert float(L.coarse_interaction_loss(hand, obj, active)) == pytest.approx(9.0)


def test_interaction_active_needs_overlap_and_close_depth():
    hand_boxes = torch.tensor([[0.0, 0, 10, 10], [0.0, 0, 10, 10], [0.0, 0, 10, 10]])
    obj_boxes = torch.tensor([[5.0, 5, 15, 15], [20.0, 20, 30, 30], [5.0, 5, 15, 15]])
    hand_depth = torch.tensor([[0.5, 0.6], [0.5, 0.6], [0.5, 0.6]])
    obj_depth = torch.tensor([[0.55, 0.65], [0.55, 0.65], [0.9, 1.0]])
    assert L.interaction_active(hand_boxes, obj_boxes, hand_depth, obj_depth).tolist() == [True, False, False]


def test_object_frame_transform_inverts_the_pose():
    R = torch.tensor([[[0.0, -1, 0], [1, 0, 0], [0, 0, 1]]], dtype=torch.float64)
    t = torch.tensor([[0.1, 0.2, 0.5]], dtype=torch.float64)
    x_obj = torch.tensor([[[0.01, 0.02, 0.03]]], dtype=torch.float64)
    x_cam = 2.0 * x_obj @ R.transpose(1, 2) + t[:, None]
    torch.testing.assert_close(L.points_to_object_frame(x_cam, R, t, 2.0), x_obj)


def test_collision_penalises_penetration_depth_and_moves_both_bodies():
    R, t = identity_pose(1)
    t = t.clone().requires_grad_(True)
    # two hand vertices: one 1 cm inside a 5 cm sphere, one outside
    hand = torch.tensor([[[0.04, 0.0, 0.0], [0.0, 0.08, 0.0]]], dtype=torch.float64, requires_grad=True)
    loss = L.collision_loss(hand, sphere_sdf(0.05), R, t, 1.0)
    assert float(loss.detach()) == pytest.approx(1.0)  # (1 cm)^2
    loss.backward()
    # the inside vertex is pushed outwards (+x), the object the other way (-x moves away from the vertex)
    assert hand.grad[0, 0, 0] < 0 and hand.grad[0, 1].abs().max() == 0
    assert t.grad[0, 0] > 0


def test_collision_lowers_penetration_when_optimized():
    R, t = identity_pose(1)
    t = t.clone().requires_grad_(True)
    hand = (torch.randn(1, 50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 0.03).requires_grad_(True)
    sdf = sphere_sdf(0.05)
    before = float(L.hand_in_object_penetration(hand, sdf, R, t, 1.0).max().detach())
    optimizer = torch.optim.Adam([hand, t], lr=2e-3)
    for _ in range(100):
        optimizer.zero_grad()
        L.collision_loss(hand, sdf, R, t, 1.0).backward()
        optimizer.step()
    after = float(L.hand_in_object_penetration(hand, sdf, R, t, 1.0).max().detach())
    assert before > 0.02 and after < 0.2 * before


def test_contact_attracts_near_vertices_repels_inside_and_ignores_far():
    R, t = identity_pose(1)
    sdf = sphere_sdf(0.05)
    points = torch.tensor([[[0.053, 0, 0], [0.048, 0, 0], [0.09, 0, 0]]], dtype=torch.float64)
    # 3 mm outside (attracted), 2 mm inside (repelled), 4 cm outside (ignored): 0.3^2 + 0.2^2 cm^2
    value = L.contact_loss(points, sdf, R, t, 1.0, attraction_distance=0.01)
    assert float(value) == pytest.approx(0.09 + 0.04)


def test_contact_pulls_fingertips_onto_the_surface_without_penetrating():
    R, t = identity_pose(1)
    sdf = sphere_sdf(0.05)
    directions = torch.nn.functional.normalize(torch.randn(1, 5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)), dim=-1)
    tips = (directions * 0.057).requires_grad_(True)  # 7 mm outside
    optimizer = torch.optim.Adam([tips], lr=5e-4)
    for _ in range(200):
        optimizer.zero_grad()
        L.contact_loss(tips, sdf, R, t, 1.0, attraction_distance=0.01).backward()
        optimizer.step()
    distance = sdf(tips.detach())
    assert float(distance.max()) < 0.002 and float(distance.min()) > -0.001


def test_object_in_hand_penetration_uses_the_closed_hand_mesh():
    trimesh = pytest.importorskip("trimesh")
    box = trimesh.creation.box(extents=(0.04, 0.04, 0.04))
    verts = torch.as_tensor(box.vertices, dtype=torch.float64)[None]
    faces = torch.as_tensor(box.faces, dtype=torch.long)
    points = torch.tensor([[[0.0, 0.0, 0.015], [0.0, 0.0, 0.05]]], dtype=torch.float64)
    depth = L.object_in_hand_penetration(points, verts, faces)
    torch.testing.assert_close(depth, torch.tensor([[0.005, 0.0]], dtype=torch.float64))


def test_stage_config_rejects_unknown_terms_and_groups():
    with pytest.raises(HoFitError, match="unknown loss term 'silhouete'"):
        StageConfig(weights={"silhouete": 1.0})
    with pytest.raises(HoFitError, match="unknown parameter group 'hands'"):
        StageConfig(optimize=["hands"])
    with pytest.raises(HoFitError, match="must be >= 0"):
        StageConfig(weights={"contact": -1.0})
    for stage in FitConfig().stages:
        assert set(stage.weights) <= set(LOSS_TERMS)


def test_object_in_hand_penetration_matches_trimesh_on_random_points():
    trimesh = pytest.importorskip("trimesh")
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=0.04)
    mesh.vertices[:, 0] *= 1.5  # an ellipsoid, so that closest points are not radial
    verts = torch.as_tensor(mesh.vertices, dtype=torch.float64)
    faces = torch.as_tensor(mesh.faces, dtype=torch.long)
    points = torch.rand(2, 300, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 0.14 - 0.07
    hands = torch.stack([verts, verts + torch.tensor([0.01, 0.0, 0.0], dtype=torch.float64)])
    depth = L.object_in_hand_penetration(points, hands, faces)
    for t in range(2):
        shifted = trimesh.Trimesh(hands[t].numpy(), mesh.faces, process=False)
        inside = shifted.contains(points[t].numpy())
        expected = np.where(inside, np.abs(trimesh.proximity.signed_distance(shifted, points[t].numpy())), 0.0)
        np.testing.assert_allclose(depth[t].numpy(), expected, atol=1e-6)
