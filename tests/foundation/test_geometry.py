"""Cameras and rotations against closed forms and independent references (scipy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hoFit.geometry.cameras import (
    CameraIntrinsics,
    backproject_points,
    crop_intrinsics,
    project_points,
    roi_from_box,
)
from hoFit.geometry import rotations as rot


def test_projection_matches_closed_form():
    K = CameraIntrinsics(fx=617.3, fy=615.0, cx=312.4, cy=241.4, width=640, height=480).matrix(torch.float64)
    points = torch.tensor([[0.1, -0.05, 0.5], [0.0, 0.0, 1.0], [-0.2, 0.3, 2.0]], dtype=torch.float64)
    uv = project_points(points, K)
    expected = torch.stack(
        [617.3 * points[:, 0] / points[:, 2] + 312.4, 615.0 * points[:, 1] / points[:, 2] + 241.4], dim=-1
    )
    torch.testing.assert_close(uv, expected)
    # the principal ray hits the principal point
    assert uv[1].tolist() == pytest.approx([312.4, 241.4])


def test_projection_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    K = np.array([[500.0, 0, 320], [0, 480.0, 240], [0, 0, 1]])
    points = np.random.default_rng(0).uniform([-0.3, -0.3, 0.4], [0.3, 0.3, 1.2], size=(50, 3))
    expected, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), K, None)
    uv = project_points(torch.from_numpy(points), torch.from_numpy(K))
    np.testing.assert_allclose(uv.numpy(), expected[:, 0], atol=1e-9)


def test_projection_is_batched_and_backprojection_inverts_it():
    K = torch.stack([CameraIntrinsics.from_fov(640, 480, f).matrix(torch.float64) for f in (400.0, 600.0)])
    points = torch.rand(2, 7, 3, dtype=torch.float64) + torch.tensor([0, 0, 0.5], dtype=torch.float64)
    uv = project_points(points, K)
    assert uv.shape == (2, 7, 2)
    torch.testing.assert_close(backproject_points(uv, points[..., 2], K), points)


def test_crop_intrinsics_moves_points_with_the_crop():
    K = CameraIntrinsics(600.0, 600.0, 320.0, 240.0, 640, 480).matrix(torch.float64)[None]
    box = torch.tensor([[200.0, 100.0, 400.0, 300.0]], dtype=torch.float64)  # 200x200 px
    K_crop = crop_intrinsics(K, box, (100, 100))  # downscale by 2
    points = torch.tensor([[[0.05, -0.02, 0.7], [-0.1, 0.04, 0.9]]], dtype=torch.float64)
    uv_full = project_points(points, K)
    uv_crop = project_points(points, K_crop)
    # pixel-corner convention: corner coordinates (uv + 0.5) scale about the box corner
    expected = (uv_full + 0.5 - box[:, None, :2]) * 0.5 - 0.5
    torch.testing.assert_close(uv_crop, expected)


def test_roi_is_square_and_centred():
    roi = roi_from_box(torch.tensor([10.0, 20.0, 50.0, 40.0]), scale=2.0)
    assert roi.tolist() == [-10.0, -10.0, 70.0, 70.0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(fx=-1.0, fy=1.0, cx=0.0, cy=0.0, width=10, height=10), "focal lengths must be positive"),
        (dict(fx=float("nan"), fy=1.0, cx=0.0, cy=0.0, width=10, height=10), "CameraIntrinsics.fx"),
        (dict(fx=1.0, fy=1.0, cx=0.0, cy=0.0, width=0, height=10), "image size must be positive"),
    ],
)
def test_bad_intrinsics_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CameraIntrinsics(**kwargs)


def test_intrinsics_from_matrix_validates():
    with pytest.raises(ValueError, match=r"expected shape \(3, 3\)"):
        CameraIntrinsics.from_matrix(np.eye(2), 10, 10)
    with pytest.raises(ValueError, match="expected \\[\\[fx,0,cx\\]"):
        CameraIntrinsics.from_matrix([[1, 0, 0], [0, 1, 0], [0, 1, 1]], 10, 10)
    cam = CameraIntrinsics.from_matrix([[617.3, 0, 312.4], [0, 617.3, 241.4], [0, 0, 1]], 640, 480)
    assert (cam.fx, cam.cx, cam.cy) == (617.3, 312.4, 241.4)


def test_rotation_conversions_agree_with_scipy():
    rotvecs = np.random.default_rng(1).normal(size=(20, 3))
    expected = Rotation.from_rotvec(rotvecs).as_matrix()
    matrices = rot.axis_angle_to_matrix(torch.from_numpy(rotvecs))
    np.testing.assert_allclose(matrices.numpy(), expected, atol=1e-10)
    quats = Rotation.from_rotvec(rotvecs).as_quat()  # scipy is XYZW too
    np.testing.assert_allclose(rot.quaternion_to_matrix(torch.from_numpy(quats)).numpy(), expected, atol=1e-10)
    six = rot.matrix_to_rotation_6d(matrices)
    torch.testing.assert_close(rot.rotation_6d_to_matrix(six), matrices)
    torch.testing.assert_close(rot.axis_angle_to_matrix(rot.matrix_to_axis_angle(matrices)), matrices)
    for rep in (torch.from_numpy(rotvecs), six, torch.from_numpy(quats), matrices):
        torch.testing.assert_close(rot.to_matrix(rep), matrices)


def test_axis_angle_gradient_is_finite_at_zero():
    zero = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    rot.axis_angle_to_matrix(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()


def test_6d_maps_any_vector_to_a_rotation_and_has_gradients():
    six = torch.randn(10, 6, dtype=torch.float64, requires_grad=True)
    matrices = rot.rotation_6d_to_matrix(six)
    eye = torch.eye(3, dtype=torch.float64).expand(10, 3, 3)
    torch.testing.assert_close(matrices @ matrices.transpose(-1, -2), eye)
    assert torch.allclose(torch.linalg.det(matrices), torch.ones(10, dtype=torch.float64))
    assert torch.autograd.gradcheck(rot.rotation_6d_to_matrix, (six[:2].detach().requires_grad_(),))


def test_random_rotations_are_uniform():
    matrices = rot.random_rotations(20000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    # For Haar-uniform rotations E[R] = 0 and the angle density is (1 - cos t) / pi: mean angle pi/2 + 2/pi.
    assert matrices.mean(0).abs().max() < 0.02
    angles = rot.rotation_angle_between(matrices, torch.eye(3, dtype=torch.float64).expand_as(matrices))
    assert float(angles.mean()) == pytest.approx(np.pi / 2 + 2 / np.pi, abs=0.02)


def _covering_radius_deg(samples: torch.Tensor, probes: torch.Tensor) -> float:
    """Largest angle from a probe rotation to its nearest sample, by scipy (an independent reference)."""
    inverse = Rotation.from_matrix(samples.numpy()).inv()
    nearest = np.full(len(probes), np.inf)
    for i in range(len(samples)):
        angles = (inverse[i] * Rotation.from_matrix(probes.numpy())).magnitude()
        nearest = np.minimum(nearest, angles)
    return float(np.degrees(nearest.max()))


def test_spread_rotations_leave_smaller_holes_than_random_ones():
    probes = rot.random_rotations(5000, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    spread = rot.spread_rotations(48, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    independent = rot.random_rotations(48, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(spread @ spread.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(48, 3, 3))
    assert torch.linalg.det(spread).sub(1).abs().max() < 1e-9
    # by volume, 48 balls cover SO(3) only from a radius of ~43 degrees; independent samples leave ~75-80
    assert _covering_radius_deg(spread, probes) < 65.0
    assert _covering_radius_deg(independent, probes) > 70.0
    # no two samples closer than independent samples' closest pair, and deterministic given the generator
    gaps = rot.rotation_angle_between(spread[:, None], spread[None]) + torch.eye(48, dtype=torch.float64) * 10
    gaps_random = rot.rotation_angle_between(independent[:, None], independent[None]) + torch.eye(48, dtype=torch.float64) * 10
    assert float(gaps.min()) > float(gaps_random.min())
    again = rot.spread_rotations(48, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(again, spread)


def test_to_matrix_rejects_unknown_shapes():
    with pytest.raises(ValueError, match="expected trailing shape"):
        rot.to_matrix(torch.zeros(2, 5))
