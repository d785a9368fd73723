"""Noise models: reproducible, identity at severity 0, statistics matching their knob."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hoFit.data.noise import (
    NoiseConfig,
    add_false_blobs,
    add_keypoint_noise,
    add_keypoint_outliers,
    drop_frames,
    drop_keypoints,
    erode_dilate_mask,
    flip_handedness,
    jitter_boxes,
    jitter_mask_boundary,
    noise_level,
    perturb_intrinsics,
    remove_mask_part,
    scale_boxes,
    swap_hands,
)


def _disk(radius, size=120, centre=(60, 60)):
    ys, xs = np.mgrid[0:size, 0:size]
    return (((ys - centre[1]) ** 2 + (xs - centre[0]) ** 2) <= radius ** 2).astype(np.uint8)[None]


def _radius(mask):
    return math.sqrt(mask.sum() / math.pi)


def rng(seed=0):
    return np.random.default_rng(seed)


def test_erosion_and_dilation_change_a_disk_radius_by_k():
    disk = _disk(30)
    for k in (1, 3, 6):
        assert _radius(erode_dilate_mask(disk, -k)) == pytest.approx(30 - k, abs=0.6)
        assert _radius(erode_dilate_mask(disk, k)) == pytest.approx(30 + k, abs=0.6)
    assert np.array_equal(erode_dilate_mask(disk, 0), disk)


def test_boundary_jitter_moves_the_boundary_by_about_the_amplitude():
    disk = _disk(35)
    perimeter = 2 * math.pi * 35
    assert np.array_equal(jitter_mask_boundary(disk, 0.0, rng()), disk)
    for amp in (2.0, 4.0):
        shifts = []
        for seed in range(6):
            out = jitter_mask_boundary(disk, amp, rng(seed))
            shifts.append(np.logical_xor(out, disk).sum() / perimeter)  # mean |normal displacement|
        # a Gaussian normal displacement of std amp has mean absolute value amp * sqrt(2 / pi) ~ 0.8 amp
        assert np.mean(shifts) == pytest.approx(amp * math.sqrt(2 / math.pi), rel=0.1)
    assert np.array_equal(jitter_mask_boundary(disk, 3.0, rng(5)), jitter_mask_boundary(disk, 3.0, rng(5)))


def test_missing_part_removes_the_fraction_as_one_blob():
    disk = np.concatenate([_disk(30), _disk(20)])
    out = remove_mask_part(disk, 0.25, rng())
    removed = disk.sum((1, 2)) - out.sum((1, 2))
    assert np.allclose(removed, np.round(0.25 * disk.sum((1, 2))))
    assert not (out & ~disk.astype(bool)).any()
    import cv2

    hole = (disk[0] - out[0]).astype(np.uint8)
    assert cv2.connectedComponents(hole)[0] == 2  # background + one blob
    assert np.array_equal(remove_mask_part(disk, 0.0, rng()), disk)


def test_false_blobs_count_follows_the_poisson_mean():
    empty = np.zeros((400, 60, 60), dtype=np.uint8)
    out = add_false_blobs(empty, 0.5, rng(1))
    import cv2

    counts = [cv2.connectedComponents(f)[0] - 1 for f in out]
    assert np.mean(counts) == pytest.approx(0.5, abs=0.1)  # overlaps merge rarely at this density
    assert np.array_equal(add_false_blobs(empty, 0.0, rng()), empty)


def test_missing_frames_and_joints_probabilities():
    assert drop_frames(20000, 0.1, rng()).mean() == pytest.approx(0.1, abs=0.01)
    assert not drop_frames(50, 0.0, rng()).any()
    conf = np.ones((2000, 21))
    out = drop_keypoints(conf, 0.2, rng())
    assert (out == 0).mean() == pytest.approx(0.2, abs=0.01) and set(np.unique(out)) <= {0.0, 1.0}


def test_keypoint_gaussian_noise_std_matches_sigma():
    kps = np.random.default_rng(9).uniform(0, 640, size=(500, 21, 2))
    for sigma in (1.0, 5.0):
        noisy = add_keypoint_noise(kps, sigma, rng(2))
        assert np.std(noisy - kps) == pytest.approx(sigma, rel=0.1)
        assert abs(np.mean(noisy - kps)) < 0.05 * sigma
    assert np.array_equal(add_keypoint_noise(kps, 0.0, rng()), kps)
    assert np.array_equal(add_keypoint_noise(kps, 3.0, rng(4)), add_keypoint_noise(kps, 3.0, rng(4)))


def test_keypoint_outliers_rate_and_region():
    kps = np.random.default_rng(1).uniform(100, 200, size=(3000, 21, 2))
    out, hit = add_keypoint_outliers(kps, 0.1, rng(3), image_size=(480, 640))
    assert hit.mean() == pytest.approx(0.1, abs=0.01)
    assert np.array_equal(out[~hit], kps[~hit])
    # in the keypoint box enlarged twice about its centre: within [50, 250] here
    assert out[hit].min() >= 50 - 1e-9 and out[hit].max() <= 250 + 1e-9
    same, none = add_keypoint_outliers(kps, 0.0, rng())
    assert np.array_equal(same, kps) and not none.any()


def test_left_right_swaps():
    a, b = np.zeros((1000, 21, 2)), np.ones((1000, 21, 2))
    na, nb, swapped = swap_hands(a, b, 0.3, rng())
    assert swapped.mean() == pytest.approx(0.3, abs=0.05)
    assert (na[swapped] == 1).all() and (nb[swapped] == 0).all() and (na[~swapped] == 0).all()
    labels, flipped = flip_handedness(np.ones(1000, dtype=bool), 0.2, rng())
    assert flipped.mean() == pytest.approx(0.2, abs=0.04) and np.array_equal(labels, ~flipped)


def test_box_jitter_and_scale_statistics():
    boxes = np.tile(np.array([100.0, 200.0, 200.0, 250.0]), (20000, 1))  # 100 x 50 px
    jittered = jitter_boxes(boxes, 0.1, rng())
    centre_shift = (jittered[:, :2] + jittered[:, 2:]) / 2 - np.array([150.0, 225.0])
    assert np.std(centre_shift, axis=0) == pytest.approx([10.0, 5.0], rel=0.05)
    assert np.allclose(jittered[:, 2:] - jittered[:, :2], boxes[:, 2:] - boxes[:, :2])
    scaled = scale_boxes(boxes, 0.1, rng())
    factor = (scaled[:, 2] - scaled[:, 0]) / 100.0
    assert np.std(np.log(factor)) == pytest.approx(0.1, rel=0.05)
    assert np.allclose((scaled[:, :2] + scaled[:, 2:]) / 2, [150.0, 225.0])
    assert np.array_equal(jitter_boxes(boxes, 0.0, rng()), boxes)
    assert np.array_equal(scale_boxes(boxes, 0.0, rng()), boxes)


def test_intrinsics_error_is_the_relative_focal_error():
    K = np.array([[600.0, 0.0, 320.0], [0.0, 610.0, 240.0], [0.0, 0.0, 1.0]])
    for seed in range(10):
        out = perturb_intrinsics(K, 0.1, rng(seed))
        ratio = out[0, 0] / K[0, 0]
        assert ratio == pytest.approx(0.9) or ratio == pytest.approx(1.1)
        assert out[1, 1] / K[1, 1] == pytest.approx(ratio) and np.array_equal(out[:, 2], K[:, 2])
    assert np.array_equal(perturb_intrinsics(K, 0.0, rng()), K)


def test_noise_config_presets_and_validation():
    assert noise_level(0).is_clean()
    assert noise_level(1).keypoint_sigma_px < noise_level(2).keypoint_sigma_px < noise_level(3).keypoint_sigma_px
    with pytest.raises(ValueError, match="noise level"):
        noise_level(4)
    with pytest.raises(ValueError, match="keypoint_missing_prob"):
        NoiseConfig(keypoint_missing_prob=1.5)
    with pytest.raises(ValueError, match="keypoint_sigma_px"):
        NoiseConfig(keypoint_sigma_px=-1.0)
    assert NoiseConfig(mask_morph_px=-2).mask_morph_px == -2.0  # erosion is allowed
