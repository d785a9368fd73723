"""Box tracker: IoU association, constant-velocity coasting, loss and re-initialization."""

from __future__ import annotations

import numpy as np
import pytest

from hoFit.perception.boxes import box_from_mask, box_from_points, box_iou, parse_box
from hoFit.perception.tracking import BoxTracker, TrackerSettings, track_boxes
from hoFit.errors import HoFitError


def _box(cx, cy, w=40.0, h=30.0):
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def test_box_iou_closed_form():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]])
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0.0, 1.0]])


def test_boxes_from_points_and_masks_use_edge_coordinates():
    mask = np.zeros((10, 12), np.uint8)
    mask[2:5, 3:9] = 1
    np.testing.assert_array_equal(box_from_mask(mask), [3, 2, 9, 5])
    assert np.isnan(box_from_mask(np.zeros((4, 4)))).all()
    pts = np.array([[3.0, 2.0], [8.0, 4.0], [np.nan, np.nan]])
    np.testing.assert_allclose(box_from_points(pts), [3, 2, 9, 5])
    np.testing.assert_array_equal(parse_box("1,2,30,40"), [1, 2, 30, 40])
    with pytest.raises(HoFitError, match="x2 > x1"):
        parse_box("30,2,1,40")
    with pytest.raises(HoFitError, match="four numbers"):
        parse_box("1,2,3")


def test_follows_fast_target_and_ignores_static_distractor():
    # The target accelerates to 30 px/frame; from frame 5 on a distractor sits 14 px past the previous
    # position. A tracker without motion model would pick the distractor (IoU with the previous box
    # 0.48 against 0.14 for the target); the constant-velocity prediction picks the target.
    xs = [100, 110, 125, 150, 180, 210, 240, 270, 300]
    target = [_box(x, 100) for x in xs]
    dets = []
    for t in range(len(xs)):
        if t < 5:
            dets.append(target[t][None])
        else:
            dets.append(np.stack([target[t - 1] + np.array([14.0, 0, 14.0, 0]), target[t]]))
    iou_prev = box_iou(target[5][None], target[6][None])[0, 0]
    iou_distractor = box_iou(target[5][None], dets[6][0][None])[0, 0]
    assert iou_prev < 0.3 < iou_distractor  # the test really needs the motion model
    result = track_boxes(dets, initial_box=target[0], settings=TrackerSettings(velocity_smoothing=1.0))
    assert list(result.matched) == [0] * 5 + [1] * 4
    assert result.status == ["initialized"] + ["tracked"] * 8
    np.testing.assert_allclose(result.boxes, np.stack(target))


def test_coasts_through_a_short_gap_with_constant_velocity():
    T = 10
    truth = np.stack([_box(50 + 10 * t, 80 + 5 * t) for t in range(T)])
    dets = [truth[t][None] for t in range(T)]
    for t in (4, 5, 6):
        dets[t] = np.zeros((0, 4))
    result = track_boxes(dets, initial_box=truth[0], settings=TrackerSettings(max_missed=3, velocity_smoothing=1.0))
    assert result.status[4:7] == ["predicted"] * 3
    np.testing.assert_allclose(result.boxes, truth, atol=1e-9)  # extrapolation is exact for linear motion
    assert result.status[7] == "tracked" and result.matched[7] == 0


def test_lost_then_reinitialized_at_a_new_place():
    truth = [_box(100, 100)] * 4 + [None] * 4 + [_box(300, 200)] * 3
    dets = [None if b is None else b[None] for b in truth]
    tracker = BoxTracker(TrackerSettings(max_missed=2), initial_box=truth[0])
    steps = [tracker.update(d) for d in dets]
    status = [s.status for s in steps]
    assert status[:4] == ["initialized", "tracked", "tracked", "tracked"]
    assert status[4:6] == ["predicted", "predicted"]
    assert status[6:8] == ["lost", "lost"]
    assert np.isnan(steps[6].box).all() and np.isnan(steps[7].box).all()
    assert status[8] == "reinitialized"
    np.testing.assert_allclose(steps[8].box, truth[8])
    assert status[9:] == ["tracked", "tracked"]
    np.testing.assert_allclose(steps[10].box, truth[10])


def test_reinitialization_prefers_score_then_nearest():
    near, far = _box(120, 100), _box(500, 400)
    tracker = BoxTracker(TrackerSettings(max_missed=0), initial_box=_box(100, 100))
    tracker.update(_box(100, 100)[None])
    assert tracker.update(None).status == "lost"
    step = tracker.update(np.stack([far, near]))
    assert step.status == "reinitialized" and step.matched == 1  # nearest to the last confirmed box
    tracker = BoxTracker(TrackerSettings(max_missed=0), initial_box=_box(100, 100))
    tracker.update(None)
    step = tracker.update(np.stack([far, near]), scores=np.array([0.9, 0.2]))
    assert step.matched == 0  # the highest score wins when scores are given


def test_invalid_initial_box():
    with pytest.raises(ValueError, match="initial_box"):
        BoxTracker(initial_box=np.array([10, 10, 5, 20]))
