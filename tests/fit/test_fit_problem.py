"""The fitting problem's scene: a hand's size factor about the camera centre."""

from __future__ import annotations

import math

import pytest
import torch

from hoFit.fit.problem import FitParameters, pose_scene, scale_hand_output
from hoFit.geometry.cameras import project_points
from hoFit.geometry.rotations import matrix_to_rotation_6d
from hoFit.models.hand import HandConfig, hand_layer_from_config

K = torch.tensor([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]], dtype=torch.float64)


@pytest.fixture(scope="module")
def posed_hand():
    layer = hand_layer_from_config(HandConfig(num_pca_comps=6)).to(dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    pca = torch.randn(2, 6, generator=generator, dtype=torch.float64)
    orient = matrix_to_rotation_6d(torch.eye(3, dtype=torch.float64).expand(2, 3, 3))
    transl = torch.tensor([[0.02, -0.01, 0.45], [0.0, 0.03, 0.6]], dtype=torch.float64)
    return layer, orient, pca, transl


def test_scaling_a_hand_about_the_camera_keeps_its_projection_and_scales_its_depth(posed_hand):
    layer, orient, pca, transl = posed_hand
    out = layer(global_orient=orient, articulation=pca, transl=transl)
    factor = torch.tensor(1.07, dtype=torch.float64, requires_grad=True)
    scaled = scale_hand_output(out, factor)
    torch.testing.assert_close(project_points(scaled.keypoints, K), project_points(out.keypoints, K))
    torch.testing.assert_close(scaled.vertices[..., 2], 1.07 * out.vertices[..., 2])
    # the joint transforms map rest points to the scaled posed points: s (R x + t)
    torch.testing.assert_close(scaled.joint_transforms[..., :3, :], 1.07 * out.joint_transforms[..., :3, :])
    torch.testing.assert_close(scaled.joint_transforms[..., 3, :], out.joint_transforms[..., 3, :])
    assert torch.equal(scaled.articulation, out.articulation)
    # the size is differentiable: d(sum of depths)/d(factor) is the unscaled sum
    scaled.vertices[..., 2].sum().backward()
    assert float(factor.grad) == pytest.approx(float(out.vertices[..., 2].sum()), rel=1e-9)


def test_pose_scene_applies_each_hands_log_scale(posed_hand):
    layer, orient, pca, transl = posed_hand
    T = orient.shape[0]
    params = FitParameters(
        hand_orient=[orient], hand_pca=[pca], hand_betas=[torch.zeros(1, 10, dtype=torch.float64)],
        hand_transl=[transl], object_rot=orient.clone(), object_transl=transl.clone(),
        object_log_scale=torch.zeros(1, dtype=torch.float64),
        hand_log_scale=[torch.tensor([math.log(0.9)], dtype=torch.float64)],
    )
    object_vertices = torch.zeros(4, 3, dtype=torch.float64)
    state = pose_scene(params, [layer], object_vertices, base_scale=1.0)
    plain = layer(global_orient=orient, articulation=pca, betas=torch.zeros(T, 10, dtype=torch.float64), transl=transl)
    torch.testing.assert_close(state.hand_outputs[0].vertices, 0.9 * plain.vertices)
    # without size factors (e.g. a problem built by older code) the hands are as posed
    params.hand_log_scale = []
    torch.testing.assert_close(pose_scene(params, [layer], object_vertices, 1.0).hand_outputs[0].vertices, plain.vertices)
    # the parameter group exists for the stages to optimize
    assert params.groups()["hand_scale"] == []


def _palm_away_pose() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One frame of a flat hand, palm away from the camera 0.5 m deep (a quarter turn about x: the palmar
    contact regions hold its deepest point): (1, 6) orientation, (1, 6) PCA articulation, (1, 3) translation."""
    from hoFit.geometry.rotations import axis_angle_to_matrix

    orient = matrix_to_rotation_6d(axis_angle_to_matrix(torch.tensor([[-math.pi / 2, 0.0, 0.0]], dtype=torch.float64)))
    return orient, torch.zeros(1, 6, dtype=torch.float64), torch.tensor([[0.0, 0.0, 0.5]], dtype=torch.float64)


def _deepest_palm_point(layer) -> float:
    """Depth (m) of the `_palm_away_pose` hand at its deepest point."""
    orient, pca, transl = _palm_away_pose()
    return float(layer(global_orient=orient, articulation=pca, transl=transl).vertices[..., 2].max())


def _size_one_hand(layer, sdf, config, silhouette_residual: float = 0.0) -> tuple[float, list[str]]:
    """Run the stage-2 size search on the `_palm_away_pose` hand against the object surface ``sdf`` (metres,
    negative inside), the object matching its masks with ``silhouette_residual``. Returns the size factor
    chosen and the events."""
    from hoFit.fit.api import _size_hands

    orient, pca, transl = _palm_away_pose()
    params = FitParameters(
        hand_orient=[orient], hand_pca=[pca], hand_betas=[torch.zeros(1, 10, dtype=torch.float64)], hand_transl=[transl],
        object_rot=matrix_to_rotation_6d(torch.eye(3, dtype=torch.float64)[None]),
        object_transl=torch.zeros(1, 3, dtype=torch.float64), object_log_scale=torch.zeros(1, dtype=torch.float64),
        hand_log_scale=[torch.zeros(1, dtype=torch.float64)],
    )
    events = []
    _size_hands(
        params, [layer], torch.zeros(4, 3, dtype=torch.float64), 1.0, sdf, config, events, "s", lambda _: silhouette_residual
    )
    return float(params.hand_log_scale[0].exp()), events


def test_hands_are_sized_to_hold_the_object_reaching_further_if_needed_and_a_free_hand_keeps_its_size(posed_hand):
    from hoFit.fit.config import ObjectInitConfig

    layer = posed_hand[0]
    deepest = _deepest_palm_point(layer)
    # (plane factor, far_hand_scales, expected size factor or None: not holding). Just beyond the reach of
    # hand_scales (plane 1.095: 1.21 cm at 1.08), a farther size (1.1: 0.31 cm) must improve the grasp by the
    # reach (1 cm); a bit farther (plane 1.105: 1.78 cm at 1.08, 0.64 cm at 1.1) it does.
    cases = ((0.96, [], 0.96), (1.04, [], 1.04), (1.16, [], None), (1.16, [1.18], 1.18), (1.16, [1.18, 1.16, 1.2], 1.16),
             (1.3, [1.2], None), (1.095, [1.1], None), (1.105, [1.1], 1.1))
    for plane_factor, far_scales, expected in cases:
        # the object fills the half-space behind the plane z = plane_factor x the hand's deepest point
        sdf = lambda p, z0=plane_factor * deepest: z0 - p[..., 2]  # noqa: E731 (negative inside)
        config = ObjectInitConfig(far_hand_scales=far_scales)
        factor, events = _size_one_hand(layer, sdf, config)
        if expected is not None:  # scaled by plane_factor (a grid value), the palm lies on the plane
            assert factor == pytest.approx(expected, abs=1e-9), events
            assert "kept" not in events[0]
            # beyond hand_scales' reach, the farther factors are tried smallest change first: 1.18 holds the
            # 1.16 plane too (entering it by less than the reach), but 1.16 comes first when listed
            assert ("reached" in events[0]) == (plane_factor > max(config.hand_scales)), events
        else:  # beyond the factors' reach: this hand does not hold the object
            assert factor == 1.0 and "not holding" in events[0], events


def test_the_hand_size_prior_keeps_the_keypoint_size_where_the_object_fits_its_masks_badly(posed_hand):
    from hoFit.errors import HoFitError
    from hoFit.fit.api import _size_change_prior
    from hoFit.fit.config import ObjectInitConfig

    # closed form: a 5 % change either way costs the prior's value, 10 % four times it, no change nothing
    torch.testing.assert_close(
        _size_change_prior((1.0, 1.05, 1 / 1.05, 1.05**2), 0.2), torch.tensor([0.0, 0.2, 0.2, 0.8], dtype=torch.float64)
    )
    layer = posed_hand[0]
    deepest = _deepest_palm_point(layer)
    # A surface 0.5 cm beyond the palm that recedes slowly with depth (0.02 cm per cm): every factor holds
    # it, the larger ones by a hair (1.08 moves the palm 4.6 cm deeper: grasp 0.51 -> 0.42 cm).
    flat = lambda p: 0.005 + 0.02 * (deepest - p[..., 2])  # noqa: E731
    config = ObjectInitConfig(hand_size_prior=6.0)
    # an object that matches its masks (silhouette residual 0.001: 0.006 cm per 5 %) lets the grasp decide
    exact, events = _size_one_hand(layer, flat, config, silhouette_residual=0.001)
    assert exact == pytest.approx(1.08, abs=1e-9), events
    assert _size_one_hand(layer, flat, ObjectInitConfig(hand_size_prior=0.0), silhouette_residual=0.05)[0] == pytest.approx(1.08)
    # one that matches them badly (0.035, as at noise level 2: 0.21 cm per 5 %, 0.52 cm for 1.08) keeps the
    # keypoints' size for 0.09 cm of grasp
    noisy, events = _size_one_hand(layer, flat, config, silhouette_residual=0.035)
    assert noisy == pytest.approx(1.0, abs=1e-9), events
    assert "size prior 0.210 cm per 5 %" in events[0], events
    # a steep surface (a clear grasp minimum at 1.04) still wins over that prior
    plane = lambda p: 1.04 * deepest - p[..., 2]  # noqa: E731
    assert _size_one_hand(layer, plane, config, silhouette_residual=0.035)[0] == pytest.approx(1.04, abs=1e-9)
    # whether the hand holds the object is judged on the plain grasp: with a huge prior the size stays, and
    # the hand is reported holding at its plain best (0 cm at 1.04) rather than "not holding"
    factor, events = _size_one_hand(layer, plane, config, silhouette_residual=10.0)
    assert factor == pytest.approx(1.0, abs=1e-9) and "not holding" not in events[0] and "reached" not in events[0], events
    with pytest.raises(HoFitError, match="hand_size_prior must be >= 0"):
        ObjectInitConfig(hand_size_prior=-0.1)


def test_the_object_rotation_can_have_its_own_learning_rate():
    from hoFit.errors import HoFitError
    from hoFit.fit.config import StageConfig
    from hoFit.fit.optimize import _param_groups

    zeros = lambda *shape: torch.zeros(*shape, dtype=torch.float64)  # noqa: E731
    params = FitParameters(
        hand_orient=[zeros(2, 6)], hand_pca=[zeros(2, 45)], hand_betas=[zeros(1, 10)], hand_transl=[zeros(2, 3)],
        object_rot=zeros(2, 6), object_transl=zeros(2, 3), object_log_scale=zeros(1), hand_log_scale=[zeros(1)],
    )
    optimize = ["hand_global", "hand_articulation", "object_pose"]
    shared = {g["name"]: g["lr"] for g in _param_groups(params, StageConfig(lr=0.002, rotation_lr_factor=3.0, optimize=optimize))}
    assert shared["object_rot"] == pytest.approx(0.006) and shared["hand_orient"] == pytest.approx(0.006)
    own = StageConfig(lr=0.002, rotation_lr_factor=3.0, object_rotation_lr_factor=10.0, optimize=optimize)
    lrs = {g["name"]: g["lr"] for g in _param_groups(params, own)}
    assert lrs["object_rot"] == pytest.approx(0.02)
    assert lrs["object_transl"] == pytest.approx(0.002) and lrs["hand_articulation"] == pytest.approx(0.006)
    with pytest.raises(HoFitError, match="object_rotation_lr_factor must be > 0"):
        StageConfig(name="s", object_rotation_lr_factor=0.0)
