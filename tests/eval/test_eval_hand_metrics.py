"""Hand metrics against hand-computed cases, scipy's Procrustes and the HO-3D script's definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial
import torch

from hoFit.eval.hand_metrics import (
    f_score,
    hand_pose_metrics,
    joint_errors,
    mean_joint_error,
    pck_auc,
    pck_curve,
    procrustes_align,
    procrustes_transform,
    scale_translation_align,
)
from hoFit.geometry.rotations import random_rotations


def _rng_points(seed, shape):
    return torch.from_numpy(np.random.default_rng(seed).normal(size=shape))


def test_joint_errors_hand_computed():
    gt = torch.zeros(2, 3, 3, dtype=torch.float64)
    pred = gt.clone()
    pred[0, 1] = torch.tensor([0.03, 0.04, 0.0])
    pred[1, 2] = torch.tensor([0.0, 0.0, -0.01])
    err = joint_errors(pred, gt)
    assert torch.allclose(err, torch.tensor([[0, 0.05, 0], [0, 0, 0.01]], dtype=torch.float64))
    assert float(mean_joint_error(err)) == pytest.approx(0.06 / 6)


def test_mean_joint_error_is_per_joint_then_over_joints():
    errors = torch.tensor([[1.0, 2.0], [5.0, 100.0]])
    valid = torch.tensor([[True, True], [True, False]])
    # joint 0: (1 + 5) / 2 = 3; joint 1: 2 -> mean 2.5 (a plain mean of valid entries would be 8/3)
    assert float(mean_joint_error(errors, valid)) == pytest.approx(2.5)
    assert math.isnan(float(mean_joint_error(errors, torch.zeros(2, 2, dtype=torch.bool))))


def test_numpy_inputs_are_accepted():
    gt = np.zeros((4, 21, 3))
    pred = gt + np.array([0.0, 0.0, 0.02])
    assert float(mean_joint_error(joint_errors(pred, gt))) == pytest.approx(0.02)


def test_procrustes_recovers_a_known_similarity():
    pred = _rng_points(0, (5, 21, 3))
    rot = random_rotations(5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    scale = torch.tensor([0.5, 1.0, 1.7, 3.0, 0.1], dtype=torch.float64)
    trans = _rng_points(2, (5, 3))
    gt = scale[:, None, None] * pred @ rot.transpose(1, 2) + trans[:, None]
    s, r, t = procrustes_transform(pred, gt)
    assert torch.allclose(s, scale, atol=1e-10)
    assert torch.allclose(r, rot, atol=1e-10)
    assert torch.allclose(t, trans, atol=1e-10)
    assert torch.allclose(procrustes_align(pred, gt), gt, atol=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_procrustes_matches_scipy_disparity(seed):
    rng = np.random.default_rng(seed)
    gt = rng.normal(size=(21, 3))
    rot = scipy.spatial.transform.Rotation.random(random_state=seed).as_matrix()
    pred = 0.8 * gt @ rot.T + rng.normal(size=3) + 0.1 * rng.normal(size=gt.shape)
    # scipy standardises both sets and allows reflections; its disparity is the residual sum of squares
    # after the optimal similarity, divided by the centred ground truth's squared norm.
    _, _, disparity = scipy.spatial.procrustes(gt, pred)
    centred = ((gt - gt.mean(0)) ** 2).sum()
    for allow_reflection in (True, False):  # the optimum is a proper rotation here, both must agree
        aligned = procrustes_align(pred, gt, allow_reflection=allow_reflection).numpy()
        assert ((aligned - gt) ** 2).sum() / centred == pytest.approx(disparity, rel=1e-9)


def _official_align_w_scale(gt, pred):
    """The HO-3D script's alignment, written out here from its definition (reference)."""
    mu_g, mu_p = gt.mean(0), pred.mean(0)
    g, p = gt - mu_g, pred - mu_p
    s_g, s_p = np.linalg.norm(g) + 1e-8, np.linalg.norm(p) + 1e-8
    r, s = scipy.linalg.orthogonal_procrustes(g / s_g, p / s_p)
    return (p / s_p) @ r.T * s * s_g + mu_g


def test_procrustes_with_reflection_matches_official_definition():
    rng = np.random.default_rng(3)
    gt = rng.normal(size=(21, 3))
    pred = gt * np.array([-1.0, 1.0, 1.0]) + 0.05 * rng.normal(size=gt.shape)  # mirrored prediction
    ours = procrustes_align(pred, gt, allow_reflection=True).numpy()
    assert np.allclose(ours, _official_align_w_scale(gt, pred), atol=1e-6)
    # a proper rotation cannot undo the mirror: the error stays large and det(R) = +1
    _, rot, _ = procrustes_transform(pred, gt)
    assert float(torch.linalg.det(rot)) == pytest.approx(1.0)
    proper = procrustes_align(pred, gt).numpy()
    assert np.linalg.norm(proper - gt, axis=-1).mean() > 5 * np.linalg.norm(ours - gt, axis=-1).mean()


def test_procrustes_batched_equals_loop_and_weights_ignore_points():
    pred = _rng_points(4, (3, 10, 3))
    gt = _rng_points(5, (3, 10, 3))
    batched = procrustes_align(pred, gt)
    for i in range(3):
        assert torch.allclose(batched[i], procrustes_align(pred[i], gt[i]), atol=1e-12)
    # an outlier with zero weight does not disturb the exact recovery
    gt2 = 2.0 * pred[0] + 0.3
    corrupted = gt2.clone()
    corrupted[0] += 10.0
    w = torch.ones(10, dtype=torch.float64)
    w[0] = 0
    aligned = procrustes_align(pred[0], corrupted, weights=w)
    assert torch.allclose(aligned[1:], gt2[1:], atol=1e-10)


def test_procrustes_float32_and_shape_errors():
    pred = _rng_points(6, (21, 3)).float()
    out = procrustes_align(pred, pred * 2)
    assert out.dtype == torch.float32
    assert torch.allclose(out, pred * 2, atol=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        procrustes_align(pred, pred[:20])


def test_scale_translation_align_hand_computed():
    pred = torch.zeros(21, 3, dtype=torch.float64)
    pred[4] = torch.tensor([0.0, 1.0, 0.0])  # wrist->middle1 bone length 1
    pred[16] = torch.tensor([1.0, 0.0, 0.0])
    pred += torch.tensor([5.0, 5.0, 5.0])
    gt = torch.zeros(21, 3, dtype=torch.float64)
    gt[4] = torch.tensor([0.0, 0.0, 3.0])  # bone length 3, different direction
    gt += torch.tensor([1.0, 2.0, 3.0])
    aligned = scale_translation_align(pred, gt)
    assert torch.allclose(aligned[0], gt[0])
    assert torch.allclose(aligned[4], gt[0] + torch.tensor([0.0, 3.0, 0.0], dtype=torch.float64))
    assert torch.allclose(aligned[16], gt[0] + torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64))
    # a scaled and translated copy is aligned exactly
    base = _rng_points(7, (4, 21, 3))
    assert torch.allclose(scale_translation_align(0.3 * base + 2.0, base), base, atol=1e-12)


def _official_auc(errors, max_t=0.05, steps=100):
    thresholds = np.linspace(0.0, max_t, steps)
    aucs = []
    for j in range(errors.shape[1]):
        curve = np.array([np.mean(errors[:, j] <= t) for t in thresholds])
        aucs.append(np.trapezoid(curve, thresholds) / np.trapezoid(np.ones_like(thresholds), thresholds))
    return float(np.mean(aucs))


def test_pck_auc_extremes_and_reference():
    assert pck_auc(torch.zeros(3, 21)) == pytest.approx(1.0)
    assert pck_auc(torch.full((3, 21), 0.06)) == pytest.approx(0.0)
    # every error exactly 2.5 cm: pck = 1 from the first threshold >= 0.025 (index 50 of 100)
    thresholds, pck = pck_curve(torch.full((2, 21), 0.025, dtype=torch.float64))
    assert pck[49] == 0 and pck[50] == 1 and thresholds[50] >= 0.025
    errors = np.random.default_rng(0).uniform(0, 0.07, size=(50, 21))
    assert pck_auc(torch.from_numpy(errors)) == pytest.approx(_official_auc(errors), abs=1e-12)
    # errors uniform on [0, 5 cm] have a linear PCK curve: AUC ~ 1/2
    many = np.random.default_rng(1).uniform(0, 0.05, size=(20000, 1))
    assert pck_auc(torch.from_numpy(many)) == pytest.approx(0.5, abs=0.01)


def test_f_score_hand_computed():
    gt = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    pred = torch.tensor([[0.0, 0.0, 0.001], [5.0, 0.0, 0.0], [5.0, 1.0, 0.0], [0.0, 0.004, 0.0]])
    # pred within 5 mm of gt: 2/4; gt within 5 mm of pred: 1/2 -> F = 2 * 0.5 * 0.5 / 1 = 0.5
    assert float(f_score(pred, gt, 0.005)) == pytest.approx(0.5)
    # strict inequality: a distance equal to the threshold does not count
    assert float(f_score(torch.tensor([[0.0, 0.0, 0.25]]), torch.zeros(1, 3), 0.25)) == 0.0
    assert float(f_score(gt, gt, 0.005)) == pytest.approx(1.0)


def test_hand_pose_metrics_perfect_and_zero_prediction():
    rng = np.random.default_rng(2)
    gt = torch.from_numpy(rng.normal(size=(3, 21, 3)) * 0.03 + np.array([0, 0, 0.5]))
    verts = torch.from_numpy(rng.normal(size=(3, 50, 3)) * 0.03 + np.array([0, 0, 0.5]))
    perfect = hand_pose_metrics(gt, gt, verts, verts)
    for name in ("joint_error", "joint_error_pa", "joint_error_st", "mesh_error", "mesh_error_pa"):
        assert perfect[name] == pytest.approx(0.0, abs=1e-9)
        assert perfect.get_value(name).unit == "cm"
    for name in ("joint_auc", "fscore_5mm", "fscore_15mm", "fscore_pa_5mm"):
        assert perfect[name] == pytest.approx(1.0)
    # after Procrustes, round-off leaves errors of ~1e-17 m, which fail only the threshold 0 (as in the
    # official script): the AUC loses at most half a step
    assert perfect["joint_auc_pa"] >= 1 - 0.5 / 99 - 1e-12
    assert perfect["joint_auc_st"] >= 1 - 0.5 / 99 - 1e-12
    zero = hand_pose_metrics(torch.zeros_like(gt), gt)
    assert zero["joint_error"] == pytest.approx(100 * float(gt.norm(dim=-1).mean()))
    # all-zero prediction: scale factor 1, translated onto the wrist
    assert zero["joint_error_st"] == pytest.approx(100 * float((gt - gt[:, :1]).norm(dim=-1).mean()))
    assert "mesh_error" not in zero
    # different topologies: no mesh error, F-scores still reported
    other = hand_pose_metrics(gt, gt, verts[:, :40], verts)
    assert "mesh_error" not in other and 0 < other["fscore_15mm"] <= 1
