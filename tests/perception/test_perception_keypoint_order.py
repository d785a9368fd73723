"""MediaPipe landmark order -> hoFit keypoint order, checked by landmark names."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from hoFit.models.hand.keypoints import KEYPOINT_NAMES
from hoFit.perception.hand_landmarks import MEDIAPIPE_LANDMARK_NAMES, mediapipe_to_hofit

# Written from the anatomy, independently of the index tables: MANO/HO-3D joint k of a finger is
# MediaPipe's MCP (k=1), PIP (k=2), DIP (k=3); for the thumb CMC, MCP, IP.
HOFIT_TO_MEDIAPIPE_NAME = {
    "wrist": "WRIST",
    "index1": "INDEX_FINGER_MCP", "index2": "INDEX_FINGER_PIP", "index3": "INDEX_FINGER_DIP",
    "middle1": "MIDDLE_FINGER_MCP", "middle2": "MIDDLE_FINGER_PIP", "middle3": "MIDDLE_FINGER_DIP",
    "pinky1": "PINKY_MCP", "pinky2": "PINKY_PIP", "pinky3": "PINKY_DIP",
    "ring1": "RING_FINGER_MCP", "ring2": "RING_FINGER_PIP", "ring3": "RING_FINGER_DIP",
    "thumb1": "THUMB_CMC", "thumb2": "THUMB_MCP", "thumb3": "THUMB_IP",
    "thumb_tip": "THUMB_TIP", "index_tip": "INDEX_FINGER_TIP", "middle_tip": "MIDDLE_FINGER_TIP",
    "ring_tip": "RING_FINGER_TIP", "pinky_tip": "PINKY_TIP",
}


def test_named_landmarks_land_on_named_keypoints():
    # Encode each MediaPipe landmark by its index; after reordering, slot i must hold the landmark
    # whose name corresponds to hoFit's keypoint i.
    landmarks = np.arange(21, dtype=np.float64)[:, None].repeat(2, 1)
    out = mediapipe_to_hofit(landmarks)
    for i, name in enumerate(KEYPOINT_NAMES):
        got = MEDIAPIPE_LANDMARK_NAMES[int(out[i, 0])]
        assert got == HOFIT_TO_MEDIAPIPE_NAME[name], f"hoFit {name}: got {got}"


def test_mapping_is_a_permutation_and_keeps_trailing_dims():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(4, 21, 3))
    out = mediapipe_to_hofit(pts)
    assert out.shape == (4, 21, 3)
    np.testing.assert_array_equal(np.sort(out, axis=1), np.sort(pts, axis=1))
    with pytest.raises(ValueError, match="21"):
        mediapipe_to_hofit(np.zeros((20, 2)))


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None, reason="mediapipe not installed (optional extra)")
def test_names_match_mediapipe_enum():
    try:
        from mediapipe.tasks.python.vision.hand_landmarker import HandLandmark
    except Exception as exc:  # noqa: BLE001 - broken optional install
        pytest.skip(f"mediapipe cannot be imported: {exc}")
    assert tuple(m.name for m in sorted(HandLandmark, key=int)) == MEDIAPIPE_LANDMARK_NAMES
