"""A hand track that is the other hand with flipped labels is merged back into it."""

from __future__ import annotations

import numpy as np
import pytest

from hoFit.data.clip import HandCues
from hoFit.fit.handedness import merge_mislabeled_hands


def _track(side: str, frames: list[int], T: int = 10, offset: float = 0.0) -> HandCues:
    present = np.zeros(T, bool)
    present[frames] = True
    keypoints = np.arange(T * 21 * 2, dtype=np.float32).reshape(T, 21, 2) + offset
    confidence = np.where(present[:, None], 1.0, 0.0).astype(np.float32) * np.ones((T, 21), np.float32)
    boxes = np.where(present[:, None], np.array([[1.0, 2.0, 3.0, 4.0]]) + offset, np.nan).astype(np.float32)
    return HandCues(side, keypoints, confidence, present, boxes)


def test_a_short_track_never_seen_with_the_other_is_merged_into_it():
    right = _track("right", [0, 1, 2, 4, 5, 6, 7, 8, 9])
    left = _track("left", [3], offset=1000.0)  # frame 3: the right hand labelled left
    hands, message = merge_mislabeled_hands([right, left], max_fraction=0.2)
    assert len(hands) == 1 and hands[0].side == "right"
    assert hands[0].present.all()
    np.testing.assert_array_equal(hands[0].keypoints[3], left.keypoints[3])
    np.testing.assert_array_equal(hands[0].keypoints[4], right.keypoints[4])
    np.testing.assert_array_equal(hands[0].confidence[3], left.confidence[3])
    np.testing.assert_array_equal(hands[0].boxes[3], left.boxes[3])
    assert "frames [3]" in message and "hand 1 (left)" in message
    # the order of the tracks does not matter
    hands, _ = merge_mislabeled_hands([left, right], max_fraction=0.2)
    assert len(hands) == 1 and hands[0].side == "right" and hands[0].present.all()


@pytest.mark.parametrize(
    "left_frames, fraction",
    [([3, 4], 0.2),  # frame 4 has both hands: two hands
     ([0, 1, 2, 3], 0.2),  # too many frames for a mislabeling (hands taking turns)
     ([3], 0.0)],  # merging disabled
)
def test_tracks_seen_together_or_long_enough_stay_two_hands(left_frames, fraction):
    right = _track("right", [0, 4, 5, 6, 7, 8, 9])
    left = _track("left", left_frames)
    hands, message = merge_mislabeled_hands([right, left], max_fraction=fraction)
    assert hands == [right, left] and message is None
