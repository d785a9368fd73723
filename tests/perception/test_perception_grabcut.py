"""GrabCut object/hand masks on synthetic frames with exact masks."""

from __future__ import annotations

import numpy as np
import pytest

from _synthetic import background, draw_hand, draw_object, hand_keypoints
from hoFit.perception.boxes import box_from_mask
from hoFit.perception.grabcut import (
    grabcut_hand_mask,
    grabcut_object_mask,
    hand_hull_mask,
    hand_skeleton_mask,
    mask_iou,
    shift_mask,
)

PAD = np.array([-8.0, -6.0, 8.0, 6.0])  # a user's box is a little loose


def test_object_mask_from_box_matches_ellipse():
    rng = np.random.default_rng(0)
    img = background(rng)
    truth = draw_object(img, rng)
    result = grabcut_object_mask(img, box_from_mask(truth) + PAD)
    assert not result.degenerate
    assert result.mask.dtype == np.uint8 and set(np.unique(result.mask)) <= {0, 1}
    assert mask_iou(result.mask, truth) > 0.9


def test_hand_pixels_are_excluded_from_the_object():
    rng = np.random.default_rng(1)
    img = background(rng)
    obj = draw_object(img, rng)
    kp = hand_keypoints()
    hand = draw_hand(img, kp)
    visible = obj & (1 - hand)
    assert (obj & hand).sum() > 0.1 * obj.sum()  # the hand really occludes the object
    result = grabcut_object_mask(img, box_from_mask(obj) + PAD, hand_keypoints=kp)
    assert mask_iou(result.mask, visible) > 0.85
    assert (result.mask & hand).sum() < 0.05 * hand.sum()
    without = grabcut_object_mask(img, box_from_mask(obj) + PAD)  # the keypoints are what removes the hand
    assert mask_iou(without.mask, visible) < mask_iou(result.mask, visible) - 0.1

    hand_result = grabcut_hand_mask(img, kp, object_mask=result.mask)
    assert mask_iou(hand_result.mask, hand) > 0.8


def test_previous_mask_seeds_the_next_frame_and_bad_prior_reinitializes():
    rng = np.random.default_rng(2)
    prev = None
    prev_box = None
    for t, (cx, cy) in enumerate([(140, 110), (150, 114), (161, 118)]):
        img = background(rng)
        truth = draw_object(img, rng, centre=(cx, cy), angle=20 + 5 * t)
        box = box_from_mask(truth) + PAD
        prior = None
        if prev is not None:
            d = (box[:2] + box[2:]) / 2 - (prev_box[:2] + prev_box[2:]) / 2
            prior = shift_mask(prev, d[0], d[1])
        result = grabcut_object_mask(img, box, prior_mask=prior)
        assert not result.reinitialized and not result.degenerate
        assert mask_iou(result.mask, truth) > 0.9
        prev, prev_box = result.mask, box

    # A prior that covers a sliver of background only gives a degenerate mask: re-run from the box.
    img = background(rng)
    truth = draw_object(img, rng)
    box = box_from_mask(truth) + PAD
    bad = np.zeros_like(truth)
    r0, c0 = int(box[1]) + 1, int(box[0]) + 1
    bad[r0:r0 + 3, c0:c0 + 3] = 1
    result = grabcut_object_mask(img, box, prior_mask=bad)
    assert result.reinitialized
    assert mask_iou(result.mask, truth) > 0.9


def test_seed_drawings():
    kp = hand_keypoints()
    skel = hand_skeleton_mask(kp, (240, 320), 0.06)
    hull = hand_hull_mask(kp, (240, 320), 0.0)
    u, v = np.round(kp).astype(int).T
    assert skel[v, u].all() and hull[v, u].all()  # every keypoint is covered
    assert (skel & ~hull).sum() > 0  # thick lines stick out of the bare hull by half their width ...
    wide_hull = hand_hull_mask(kp, (240, 320), 0.05)
    assert (skel & ~wide_hull).sum() == 0  # ... and lie inside a hull dilated by more than that
    kp_missing = kp.copy()
    kp_missing[17] = np.nan  # index tip unknown: its bone is skipped, nothing crashes
    assert hand_skeleton_mask(kp_missing, (240, 320)).sum() < skel.sum()
    with pytest.raises(ValueError, match="21, 2"):
        hand_skeleton_mask(kp[:20], (240, 320))


def test_shift_mask_and_iou():
    m = np.zeros((6, 6), np.uint8)
    m[1:3, 1:3] = 1
    s = shift_mask(m, 2, 3)
    assert s[4:6, 3:5].all() and s.sum() == 4
    assert shift_mask(m, 10, 0).sum() == 0
    assert mask_iou(m, s) == 0.0 and mask_iou(m, m) == 1.0
