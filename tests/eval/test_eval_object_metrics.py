"""Object and hand-object metrics on hand-computed cases and against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.spatial
import torch

import hoFit.eval._common as common
from hoFit.eval.object_metrics import (
    add_s,
    centroid_distance_error,
    hand_frame_from_keypoints,
    object_error_in_hand_frame,
    relative_object_pose,
    relative_pose_errors,
    rotation_error_deg,
    translation_error_cm,
    vertex_error,
)
from hoFit.geometry.rotations import axis_angle_to_matrix, random_rotations, rotation_angle_between


def test_vertex_error_and_add_s_hand_computed():
    gt = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    assert float(vertex_error(gt + torch.tensor([0.0, 0.03, 0.04]), gt)) == pytest.approx(0.05)
    pred = torch.tensor([[0.0, 0.0, 0.5]])
    # every ground-truth vertex to the single predicted one: 0.5 and sqrt(1.25)
    assert float(add_s(pred, gt)) == pytest.approx((0.5 + math.sqrt(1.25)) / 2)


def test_add_s_is_zero_for_a_symmetric_object_rotated_by_its_symmetry():
    angles = torch.arange(12, dtype=torch.float64) * (2 * math.pi / 12)
    ring = torch.stack([torch.cos(angles), torch.sin(angles), torch.zeros_like(angles)], -1)
    rot = axis_angle_to_matrix(torch.tensor([0.0, 0.0, 2 * math.pi / 12], dtype=torch.float64))
    rotated = ring @ rot.T
    assert float(add_s(rotated, ring)) == pytest.approx(0.0, abs=1e-12)
    assert float(vertex_error(rotated, ring)) > 0.5


def test_add_s_matches_kdtree_in_batches_and_chunks(monkeypatch):
    monkeypatch.setattr(common, "_MAX_PAIRS", 1000)  # force many chunks
    rng = np.random.default_rng(0)
    pred, gt = rng.normal(size=(3, 400, 3)), rng.normal(size=(3, 300, 3))
    ours = add_s(torch.from_numpy(pred), torch.from_numpy(gt)).numpy()
    ref = [scipy.spatial.cKDTree(pred[i]).query(gt[i])[0].mean() for i in range(3)]
    assert np.allclose(ours, ref, rtol=1e-12)


def test_rotation_and_translation_errors():
    axis = torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64) / 3
    for deg in (0.0, 1e-4, 30.0, 179.99):
        rot = axis_angle_to_matrix(axis * math.radians(deg))
        assert float(rotation_error_deg(rot, torch.eye(3, dtype=torch.float64))) == pytest.approx(deg, abs=1e-7)
    a = random_rotations(20, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    b = random_rotations(20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.allclose(rotation_error_deg(a, b), torch.rad2deg(rotation_angle_between(a, b)), atol=1e-6)
    assert float(translation_error_cm(torch.tensor([0.0, 0.03, 0.04]), torch.zeros(3))) == pytest.approx(5.0)


def _random_keypoints(seed):
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(4, 21, 3)) * 0.05)


def test_hand_frame_is_rigid_and_follows_the_hand():
    kp = _random_keypoints(0)
    frame = hand_frame_from_keypoints(kp)
    rot = frame[:, :3, :3]
    assert torch.allclose(rot.transpose(1, 2) @ rot, torch.eye(3, dtype=torch.float64).expand(4, 3, 3), atol=1e-12)
    assert torch.allclose(torch.linalg.det(rot), torch.ones(4, dtype=torch.float64))
    assert torch.allclose(frame[:, :3, 3], kp[:, 0])
    # x axis points from the wrist towards the middle of index1 and pinky1
    direction = torch.nn.functional.normalize((kp[:, 1] + kp[:, 7]) / 2 - kp[:, 0], dim=-1)
    assert torch.allclose(rot[..., 0], direction)
    # moving the hand rigidly moves the frame with it
    r = random_rotations(1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)[0]
    moved = hand_frame_from_keypoints(kp @ r.T + 0.1)
    assert torch.allclose(moved[:, :3, :3], r @ rot, atol=1e-12)


def test_relative_pose_is_invariant_to_joint_rigid_motion():
    kp = _random_keypoints(1)
    frame = hand_frame_from_keypoints(kp)
    r_obj = random_rotations(4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    t_obj = torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64).expand(4, 3)
    # the whole scene moved rigidly: relative pose unchanged
    g = random_rotations(1, generator=torch.Generator().manual_seed(5), dtype=torch.float64)[0]
    shift = torch.tensor([0.2, -0.1, 0.3], dtype=torch.float64)
    frame2 = hand_frame_from_keypoints(kp @ g.T + shift)
    rot_err, trans_err = relative_pose_errors(frame2, g @ r_obj, t_obj @ g.T + shift, frame, r_obj, t_obj)
    assert torch.allclose(rot_err, torch.zeros(4, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(trans_err, torch.zeros(4, dtype=torch.float64), atol=1e-9)
    # object moved 1 cm along the hand's x axis: relative translation error 1 cm, rotation 0
    t_moved = t_obj + 0.01 * frame[:, :3, 0]
    rot_err, trans_err = relative_pose_errors(frame, r_obj, t_moved, frame, r_obj, t_obj)
    assert torch.allclose(trans_err, torch.ones(4, dtype=torch.float64))
    r_rel, t_rel = relative_object_pose(frame, r_obj, t_moved)
    assert torch.allclose(t_rel - relative_object_pose(frame, r_obj, t_obj)[1],
                          torch.tensor([0.01, 0.0, 0.0], dtype=torch.float64).expand(4, 3), atol=1e-12)


def test_object_error_in_hand_frame():
    kp = _random_keypoints(2)
    frame = hand_frame_from_keypoints(kp)
    obj = torch.from_numpy(np.random.default_rng(6).normal(size=(4, 30, 3)) * 0.03)
    g = random_rotations(1, generator=torch.Generator().manual_seed(7), dtype=torch.float64)[0]
    moved_frame = hand_frame_from_keypoints(kp @ g.T + 0.5)
    assert torch.allclose(object_error_in_hand_frame(obj @ g.T + 0.5, obj, moved_frame, frame),
                          torch.zeros(4, dtype=torch.float64), atol=1e-12)
    # translating only the object by 2 cm gives 2 cm
    err = object_error_in_hand_frame(obj + torch.tensor([0.0, 0.02, 0.0], dtype=torch.float64), obj, frame, frame)
    assert torch.allclose(err, torch.full((4,), 0.02, dtype=torch.float64))


def test_centroid_distance_error_hand_computed():
    hand_gt = torch.zeros(1, 5, 3)
    obj_gt = torch.tensor([[[0.1, 0.0, 0.0], [0.1, 0.0, 0.0]]])
    hand_pred = torch.zeros(1, 7, 3)  # a different vertex count is fine
    obj_pred = torch.tensor([[[0.0, 0.13, 0.0]]])
    assert float(centroid_distance_error(hand_pred, obj_pred, hand_gt, obj_gt)) == pytest.approx(0.03)
