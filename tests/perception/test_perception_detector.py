"""MediaPipe hand landmarker on the real FreiHAND / Panoptic samples in ../shared/data/hands.

Skipped with the reason when mediapipe (optional extra) or the model (``hofit models``) is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from hoFit.models.hand.keypoints import HOFIT_FROM_OPENPOSE, KEYPOINT_NAMES
from hoFit.perception.boxes import box_iou
from hoFit.perception.hand_landmarks import (
    HandLandmarkerSettings,
    MediaPipeHandDetector,
    mediapipe_unavailable_reason,
)
from hoFit.perception.model_store import hand_landmarker_cache_path, offline_instructions, verify_hand_landmarker


@pytest.fixture(scope="module")
def detector():
    reason = mediapipe_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    path = hand_landmarker_cache_path()
    if not path.is_file():
        pytest.skip(f"hand landmarker model not cached at {path}: run `hofit models` ({offline_instructions()})")
    with MediaPipeHandDetector(HandLandmarkerSettings(num_hands=2)) as det:
        yield det


def _samples(root: Path, name: str):
    folder = root / "hands" / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    data = json.loads((folder / f"test_{name}.json").read_text())
    images = {im["id"]: im for im in data["images"]}
    for ann in data["annotations"]:
        kp = np.asarray(ann["keypoints"], dtype=np.float64).reshape(21, 3)
        x, y, w, h = ann["bbox"]
        yield folder / images[ann["image_id"]]["file_name"], kp[list(HOFIT_FROM_OPENPOSE), :2], np.array([x, y, x + w, y + h])


def _read_rgb(path: Path) -> np.ndarray:
    import cv2

    return np.ascontiguousarray(cv2.imread(str(path))[:, :, ::-1])


def test_cached_model_verifies():
    path = hand_landmarker_cache_path()
    if not path.is_file():
        pytest.skip(f"hand landmarker model not cached at {path}: run `hofit models`")
    check = verify_hand_landmarker(path, try_load=False)
    assert check.ok, check.details


def test_freihand_keypoints_side_and_order(detector, shared_data):
    correct, total, detected, n = 0, 0, 0, 0
    cost = np.zeros((21, 21))  # summed normalized distance of predicted keypoint i to annotated keypoint j
    for path, gt, gt_box in _samples(shared_data, "freihand"):
        n += 1
        hands = detector.detect(_read_rgb(path))
        if not hands:
            continue
        detected += 1
        hand = hands[0]
        assert hand.side == "right"  # FreiHAND shows right hands only
        assert hand.keypoints_2d.shape == (21, 2) and hand.keypoints_3d.shape == (21, 3)
        size = max(gt_box[2] - gt_box[0], gt_box[3] - gt_box[1])
        err = np.linalg.norm(hand.keypoints_2d - gt, axis=1)
        correct += int((err < 0.2 * size).sum())
        total += 21
        cost += np.linalg.norm(hand.keypoints_2d[:, None] - gt[None], axis=-1) / size
    assert detected >= n - 2, f"hands found in only {detected} of {n} FreiHAND images"
    assert correct / total > 0.85  # PCK@0.2 on the detected hands
    # Order check on real data: the best one-to-one assignment of predictions to annotations over all
    # images is the identity, i.e. every keypoint carries the name of the annotation it sits on.
    rows, cols = linear_sum_assignment(cost)
    wrong = [(KEYPOINT_NAMES[r], KEYPOINT_NAMES[c]) for r, c in zip(rows, cols) if r != c]
    assert not wrong, f"keypoints matched to other names: {wrong}"


def test_panoptic_two_hands(detector, shared_data):
    matched = 0
    for path, gt, gt_box in _samples(shared_data, "panoptic"):
        hands = detector.detect(_read_rgb(path))
        if not hands:
            continue
        iou = box_iou(gt_box[None], np.stack([h.box for h in hands]))[0]
        hand = hands[int(np.argmax(iou))]
        size = max(gt_box[2] - gt_box[0], gt_box[3] - gt_box[1])
        pck = float((np.linalg.norm(hand.keypoints_2d - gt, axis=1) < 0.2 * size).mean())
        matched += int(pck > 0.5)
    assert matched >= 2


def test_no_hand_in_a_blank_frame(detector):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    assert detector.detect(noise) == []
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(noise.astype(np.float32))
