"""2D and temporal metrics on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hoFit.eval.image_metrics import keypoint_reprojection_error, mask_iou, projected_keypoint_error
from hoFit.eval.temporal import acceleration, acceleration_error, mean_acceleration


def test_mask_iou_rectangles_ignore_soft_and_empty():
    pred = np.zeros((10, 10), dtype=np.uint8)
    target = np.zeros((10, 10), dtype=np.uint8)
    pred[0:4, 0:5] = 1  # 20 px
    target[2:6, 0:5] = 1  # 20 px, 10 shared
    assert float(mask_iou(pred, target)) == pytest.approx(10 / 30)
    ignore = np.zeros((10, 10), dtype=bool)
    ignore[0:2] = True  # hides the 10 predicted-only pixels
    assert float(mask_iou(pred, target, ignore=ignore)) == pytest.approx(10 / 20)
    soft = pred * 0.5
    assert float(mask_iou(soft, target, soft=True)) == pytest.approx(5 / (10 + 20 - 5))
    assert float(mask_iou(soft, target)) == 0.0  # 0.5 is not > 0.5
    batch = mask_iou(np.stack([pred, np.zeros_like(pred)]), np.stack([target, np.zeros_like(target)]))
    assert batch.shape == (2,) and float(batch[1]) == 1.0
    assert math.isnan(float(mask_iou(np.zeros((3, 3)), np.zeros((3, 3)), empty_value=math.nan)))


def test_keypoint_reprojection_error_weighted_and_missing():
    target = torch.tensor([[[0.0, 0.0], [10.0, 0.0], [float("nan"), 0.0]]])
    pred = torch.tensor([[[3.0, 4.0], [10.0, 1.0], [0.0, 0.0]]])
    # errors 5 and 1; NaN target ignored; weights 1 and 3 -> (5 + 3) / 4
    conf = torch.tensor([[1.0, 3.0, 1.0]])
    assert float(keypoint_reprojection_error(pred, target, conf)) == pytest.approx(2.0)
    assert float(keypoint_reprojection_error(pred, target)) == pytest.approx(3.0)
    assert math.isnan(float(keypoint_reprojection_error(pred, target, torch.zeros(1, 3))))
    with pytest.raises(ValueError, match="confidence"):
        keypoint_reprojection_error(pred, target, torch.ones(1, 2))


def test_projected_keypoint_error_uses_the_camera():
    K = torch.tensor([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])
    points = torch.tensor([[0.0, 0.0, 1.0], [0.1, 0.0, 0.5]])
    target = torch.tensor([[320.0, 240.0], [420.0, 246.0]])  # second: projects to (420, 240) -> 6 px off
    assert float(projected_keypoint_error(points, K, target)) == pytest.approx(3.0)


def test_acceleration_of_polynomial_trajectories():
    t = torch.arange(10, dtype=torch.float64)
    velocity = torch.stack([t * 0.01, -t * 0.02, t * 0.0], -1)[:, None].expand(10, 3, 3)  # constant velocity
    assert torch.allclose(acceleration(velocity), torch.zeros(8, 3, dtype=torch.float64), atol=1e-15)
    accel = 0.004  # x = a t^2 / 2 has second difference a per frame^2
    quad = torch.stack([0.5 * accel * t ** 2, t * 0, t * 0], -1)[:, None].expand(10, 3, 3)
    assert float(mean_acceleration(quad)) == pytest.approx(accel)
    assert float(acceleration_error(quad + velocity, quad)) == pytest.approx(0.0, abs=1e-15)
    assert float(acceleration_error(velocity, quad)) == pytest.approx(accel)
    assert math.isnan(float(mean_acceleration(quad[:2])))
