"""apply_noise on an in-memory Clip: reproducible, identity at level 0, consistent cues."""

from __future__ import annotations

import numpy as np
import pytest

from hoFit.data.clip import Clip, GroundTruth, HandCues, HandGroundTruth, ObjectCues
from hoFit.data.frames import ArrayFrames
from hoFit.data.masks import MaskSequence
from hoFit.data.noise import NoiseConfig, apply_noise, noise_level
from hoFit.geometry.cameras import CameraIntrinsics

T, H, W = 12, 64, 80


def _disk_masks(cx, cy, r):
    ys, xs = np.mgrid[0:H, 0:W]
    frame = (((xs - cx) ** 2 + (ys - cy) ** 2) <= r ** 2).astype(np.uint8)
    return np.repeat(frame[None], T, axis=0)


def _hand(side, cx, rng):
    kps = np.stack([rng.uniform(cx - 10, cx + 10, (T, 21)), rng.uniform(20, 40, (T, 21))], -1).astype(np.float32)
    conf = np.ones((T, 21), np.float32)
    boxes = np.tile(np.array([cx - 12, 18, cx + 12, 42], np.float32), (T, 1))
    masks = MaskSequence(_disk_masks(cx, 30, 9), np.zeros((T, H, W), bool), np.ones(T, bool))
    return HandCues(side, kps, conf, boxes=boxes, masks=masks)


def make_clip(num_hands=1):
    rng = np.random.default_rng(0)
    hands = [_hand("right", 25, rng), _hand("left", 55, rng)][:num_hands]
    unknown = np.zeros((T, H, W), bool)
    unknown[:, :5] = True
    obj_mask = _disk_masks(40, 40, 12) * (~unknown)
    obj = ObjectCues.always_present(T, np.tile(np.array([28, 28, 52, 52], np.float32), (T, 1)),
                                    MaskSequence(obj_mask.astype(np.uint8), unknown, np.ones(T, bool)))
    gt = GroundTruth(np.tile(np.eye(3, dtype=np.float32), (T, 1, 1)), np.zeros((T, 3), np.float32),
                     hands=[HandGroundTruth(joints=np.zeros((T, 21, 3), np.float32)) for _ in hands])
    return Clip(ArrayFrames(np.zeros((T, H, W, 3), np.uint8)), CameraIntrinsics(100.0, 100.0, 40.0, 32.0, W, H),
                hands, obj, "procedural:mug", ground_truth=gt, name="toy")


def _cue_arrays(clip):
    out = [clip.intrinsics.fx, clip.intrinsics.fy]
    for h in clip.hands:
        out += [h.side, h.keypoints, h.confidence, h.present, h.boxes, h.masks.mask, h.masks.available]
    out += [clip.object.boxes, clip.object.masks.mask, clip.object.masks.unknown, clip.object.masks.available]
    return out


def _same(a, b):
    return all(np.array_equal(x, y, equal_nan=True) if isinstance(x, np.ndarray) else x == y
               for x, y in zip(_cue_arrays(a), _cue_arrays(b)))


def test_level_zero_is_identity_and_input_untouched():
    clip = make_clip(2)
    before = [np.copy(x) if isinstance(x, np.ndarray) else x for x in _cue_arrays(clip)]
    out = apply_noise(clip, noise_level(0), seed=3)
    assert _same(out, clip) and out is not clip
    noisy = apply_noise(clip, noise_level(3), seed=3)
    assert not _same(noisy, clip)
    assert all(np.array_equal(x, y, equal_nan=True) if isinstance(x, np.ndarray) else x == y
               for x, y in zip(before, _cue_arrays(clip)))
    assert noisy.meta["noise"]["seed"] == 3 and noisy.meta["noise"]["keypoint_sigma_px"] == 10.0


def test_reproducible_with_the_same_seed_and_different_otherwise():
    clip = make_clip(2)
    assert _same(apply_noise(clip, noise_level(2), 7), apply_noise(clip, noise_level(2), 7))
    assert not _same(apply_noise(clip, noise_level(2), 7), apply_noise(clip, noise_level(2), 8))


def test_one_knob_changes_only_its_cue_and_matches_its_statistic():
    clip = make_clip(1)
    out = apply_noise(clip, NoiseConfig(keypoint_sigma_px=2.0), seed=1)
    diff = out.hands[0].keypoints - clip.hands[0].keypoints
    assert np.std(diff) == pytest.approx(2.0, rel=0.15)
    assert np.array_equal(out.object.masks.mask, clip.object.masks.mask)
    assert np.array_equal(out.hands[0].boxes, clip.hands[0].boxes)
    # the keypoint draws do not depend on other knobs being on
    both = apply_noise(clip, NoiseConfig(keypoint_sigma_px=2.0, box_jitter=0.1), seed=1)
    assert np.array_equal(both.hands[0].keypoints, out.hands[0].keypoints)


def test_masks_respect_unknown_pixels_and_presence():
    clip = make_clip(1)
    out = apply_noise(clip, NoiseConfig(mask_morph_px=3, mask_false_blobs=2.0, mask_jitter_px=2.0), seed=2)
    m = out.object.masks
    assert not (m.mask.astype(bool) & m.unknown).any()
    assert np.array_equal(m.unknown, clip.object.masks.unknown)
    # erosion of a disk of radius 9 by 9+ px leaves nothing: those frames become "no mask", not empty masks
    gone = apply_noise(clip, NoiseConfig(mask_morph_px=-10), seed=0)
    assert not gone.hands[0].masks.available.any()


def test_missing_frames_drop_all_cues_of_an_entity():
    clip = make_clip(1)
    out = apply_noise(clip, NoiseConfig(missing_frame_prob=0.5), seed=4)
    hand = out.hands[0]
    dropped = ~hand.masks.available
    assert 0 < dropped.sum() < T
    assert (hand.confidence[dropped] == 0).all() and np.isnan(hand.boxes[dropped]).all()
    assert (hand.confidence[~dropped] == 1).all() and hand.present.all()


def test_handedness_swaps_with_two_hands_and_flips_with_one():
    two = make_clip(2)
    out = apply_noise(two, NoiseConfig(handedness_swap_prob=0.5), seed=5)
    swapped = ~np.isclose(out.hands[0].keypoints, two.hands[0].keypoints).all(axis=(1, 2))
    assert 0 < swapped.sum() < T
    assert np.array_equal(out.hands[0].keypoints[swapped], two.hands[1].keypoints[swapped])
    assert np.array_equal(out.hands[1].masks.mask[swapped], two.hands[0].masks.mask[swapped])
    assert [h.side for h in out.hands] == ["right", "left"]
    one = make_clip(1)
    flipped_clip = apply_noise(one, NoiseConfig(handedness_swap_prob=0.5), seed=5)
    assert [h.side for h in flipped_clip.hands] == ["right", "left"]
    moved = flipped_clip.hands[1].present
    assert 0 < moved.sum() < T and np.array_equal(flipped_clip.hands[0].present, ~moved)
    assert flipped_clip.ground_truth.hands[1] is None and flipped_clip.ground_truth.hands[0] is not None


def test_intrinsics_and_boxes_noise():
    clip = make_clip(1)
    out = apply_noise(clip, NoiseConfig(focal_rel_error=0.1, box_jitter=0.05), seed=6)
    assert out.intrinsics.fx / clip.intrinsics.fx in (pytest.approx(0.9), pytest.approx(1.1))
    assert (out.intrinsics.cx, out.intrinsics.cy) == (clip.intrinsics.cx, clip.intrinsics.cy)
    size = out.hands[0].boxes[:, 2:] - out.hands[0].boxes[:, :2]
    assert np.allclose(size, 24.0)
    assert not np.array_equal(out.hands[0].boxes, clip.hands[0].boxes)


def test_apply_noise_rejects_wrong_inputs():
    with pytest.raises(ValueError, match="Clip"):
        apply_noise(object(), noise_level(1))
    with pytest.raises(ValueError, match="NoiseConfig"):
        apply_noise(make_clip(1), {"keypoint_sigma_px": 1.0})
