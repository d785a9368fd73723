"""Pieces of the synthetic generator: camera, motion, background, grasp postures, set definitions."""

from __future__ import annotations

import numpy as np
import pytest

from hoFit.data.synth import SET_NAMES, set_configs
from hoFit.data.synth.background import random_background
from hoFit.data.synth.camera import ho3d_like_intrinsics
from hoFit.data.synth.grasp import GRASP_TYPES, grasp_posture
from hoFit.data.synth.motion import MotionSettings, place_in_view, sample_trajectory, smooth_signal, viewing_rotation
from hoFit.errors import HoFitError
from hoFit.models.hand import anatomy


def test_synth_small_camera_is_the_full_camera_resized():
    full = ho3d_like_intrinsics()
    assert (full.width, full.height) == (640, 480) and abs(full.fx - 617.343) < 1e-9
    small = ho3d_like_intrinsics((120, 160))
    expected = full.crop((0.0, 0.0, 640.0, 480.0), (120, 160))  # resizing = cropping the whole image
    for name in ("fx", "fy", "cx", "cy", "width", "height"):
        assert getattr(small, name) == pytest.approx(getattr(expected, name))


def test_synth_smooth_signal_is_bounded_and_smooth():
    rng = np.random.default_rng(0)
    x = smooth_signal(200, 3, rng, num_components=3, max_cycles=1.0)
    np.testing.assert_allclose(np.abs(x).max(axis=0), 1.0)
    # at most ~1 cycle per clip: the second difference is tiny compared with the range
    assert np.abs(np.diff(x, 2, axis=0)).max() < 0.01


def test_synth_motion_keeps_everything_in_view():
    rng = np.random.default_rng(3)
    settings = MotionSettings(rotation_amplitude=0.8, translation_amplitude=0.1)
    intrinsics = ho3d_like_intrinsics((120, 160))
    points = rng.uniform(-0.08, 0.08, size=(300, 3))
    base = viewing_rotation(rng, np.array([0.0, 0.0, 1.0]), settings.hand_view_angle)
    angle = np.degrees(np.arccos(-(base @ np.array([0.0, 0.0, 1.0]))[2]))
    assert settings.hand_view_angle[0] <= angle <= settings.hand_view_angle[1]
    rot, trans = sample_trajectory(25, rng, settings)
    trajectory = place_in_view(points, base, rot, trans, intrinsics, rng, settings)
    np.testing.assert_allclose(np.linalg.det(trajectory.rotations), 1.0, atol=1e-9)
    cam = trajectory.apply(points)
    u = intrinsics.fx * cam[..., 0] / cam[..., 2] + intrinsics.cx
    v = intrinsics.fy * cam[..., 1] / cam[..., 2] + intrinsics.cy
    assert u.min() >= 0 and u.max() <= 159 and v.min() >= 0 and v.max() <= 119
    assert (trajectory.centers[:, 2] >= 0.4 - 1e-9).all()
    # frame-to-frame motion is smooth: no jump larger than a few mm
    assert np.linalg.norm(np.diff(trajectory.centers, axis=0), axis=1).max() < 0.02


def test_synth_background_is_deterministic_and_varied():
    a = random_background((60, 80), np.random.default_rng(7))
    b = random_background((60, 80), np.random.default_rng(7))
    c = random_background((60, 80), np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.05
    assert a.dtype == np.float32 and a.shape == (60, 80, 3) and 0 <= a.min() and a.max() <= 1
    assert a.std() > 0.02


def test_synth_grasp_postures_within_joint_limits():
    limits = anatomy.joint_limits()
    for kind in GRASP_TYPES:
        angles = grasp_posture(kind)
        assert angles.shape == (15, 3)
        assert (angles >= limits[..., 0] - 1e-9).all() and (angles <= limits[..., 1] + 1e-9).all(), kind
    with pytest.raises(ValueError):
        grasp_posture("claw")


def test_synth_named_sets():
    assert set(SET_NAMES) == {"synth-v1", "synth-quick"}
    v1 = set_configs("synth-v1")
    assert len(v1) == 12 and len({c.name for c in v1}) == 12
    assert sum(c.config.two_hands for c in v1) == 3
    assert {c.config.grasp.grasp_type for c in v1} == set(GRASP_TYPES)
    assert len({c.config.object for c in v1}) == 6
    quick = set_configs("synth-quick")
    assert len(quick) == 3 and all(c.config.object.startswith("procedural:") for c in quick)
    assert all(c.config.image_size == (120, 160) for c in quick)
    with pytest.raises(HoFitError, match="synth-v1"):
        set_configs("synth-v9")


def test_synth_v1_uses_ycb_when_present(ycb_dir, caplog):
    v1 = set_configs("synth-v1", ycb_dir=ycb_dir)
    assert all(c.config.object.startswith("ycb:") for c in v1)
    assert not any("procedural stand-ins" in r.message for r in caplog.records)
    assert set_configs("synth-v1", ycb_dir=ycb_dir / "missing")[0].config.object.startswith("procedural:")
    assert any("procedural stand-ins" in r.message and "missing" in r.message for r in caplog.records)
