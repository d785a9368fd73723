"""Mask targets matched to the renderer's soft silhouette: signed distances and the unbiased depth."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import trimesh

from hoFit.fit.losses import silhouette_loss
from hoFit.fit.targets import crop_images, mask_signed_distance, matched_mask_targets, square_rois
from hoFit.render import SilhouetteSettings, silhouette_profile, soft_silhouette


def test_signed_distance_of_a_square_mask():
    mask = np.zeros((1, 20, 30), dtype=np.uint8)
    mask[0, 5:15, 10:20] = 1  # pixel centres 5..14 x 10..19: edges at 4.5, 14.5 and 9.5, 19.5
    distance = mask_signed_distance(mask)[0].numpy()
    assert distance[10, 2] == pytest.approx(9.5 - 2, abs=1e-3)  # 7.5 px left of the left edge
    assert distance[0, 15] == pytest.approx(4.5, abs=1e-3)  # above the top edge
    assert distance[10, 15] == pytest.approx(-4.5, abs=1e-3)  # centre: 4.5 px from the nearest (top/bottom) edge
    assert distance[5, 10] == pytest.approx(-0.5, abs=1e-3)  # corner pixel of the square
    # off the axes the half-pixel offset is an approximation: within 0.2 px of the distance to the corner
    assert distance[0, 0] == pytest.approx(math.hypot(9.5, 4.5), abs=0.2)
    empty, full = mask_signed_distance(np.zeros((1, 4, 5))), mask_signed_distance(np.ones((1, 4, 5)))
    assert (empty == 9).all() and (full == -9).all()


def test_silhouette_profile_is_one_inside_and_the_falloff_outside():
    settings = SilhouetteSettings(sigma_px=0.8, cutoff=3.0)
    d = torch.tensor([-2.0, 0.0, 0.4, 1.0, 5.0])
    floor = math.exp(-9.0)
    expected = [1.0, 1.0, (math.exp(-0.25) - floor) / (1 - floor), (math.exp(-1 / 0.64) - floor) / (1 - floor), 0.0]
    np.testing.assert_allclose(silhouette_profile(d, settings).numpy(), expected, atol=1e-6)


def _depth_profile(target_of, sigma_px: float) -> float:
    """Factor of a box's translation (its depth along its viewing ray) that minimises the silhouette loss."""
    torch.manual_seed(0)
    box = trimesh.creation.box(extents=(0.12, 0.08, 0.05))
    vertices = torch.as_tensor(box.vertices, dtype=torch.float64)
    faces = torch.as_tensor(box.faces, dtype=torch.long)
    rotation = torch.as_tensor(trimesh.transformations.euler_matrix(0.4, -0.3, 0.2)[:3, :3])
    centred = vertices @ rotation.T
    translation = torch.tensor([0.02, -0.01, 0.5], dtype=torch.float64)
    posed = centred + translation
    K = torch.tensor([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]], dtype=torch.float64)
    settings = SilhouetteSettings(sigma_px=sigma_px)
    # the "mask": the box's hard silhouette in the full image
    mask = (soft_silhouette(posed[None], faces, K, (480, 640), SilhouetteSettings(sigma_px=0.01)) > 0.5).double()
    ys, xs = torch.nonzero(mask[0], as_tuple=True)
    boxes = torch.tensor([[xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5]], dtype=torch.float64)
    rois, K_roi = square_rois(boxes, K, 1.3, 64)
    target = target_of(mask, rois, settings)
    factors = torch.linspace(0.97, 1.03, 61, dtype=torch.float64)
    losses = [
        float(silhouette_loss(soft_silhouette((centred + translation * f)[None], faces, K_roi, (64, 64), settings), target))
        for f in factors
    ]
    return float(factors[int(np.argmin(losses))])


@pytest.mark.parametrize("sigma_px", [0.5, 1.5])
def test_matched_targets_make_the_true_depth_the_minimum(sigma_px):
    matched = _depth_profile(lambda m, rois, s: matched_mask_targets(mask_signed_distance(m), rois, 64, s), sigma_px)
    binary = _depth_profile(lambda m, rois, s: crop_images(m, rois, 64), sigma_px)
    assert abs(matched - 1.0) <= 0.004
    # against the binary mask the soft band's extra area pushes the box away from the camera
    assert binary - 1.0 > 0.01
