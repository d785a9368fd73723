"""Single-target box tracking: IoU association with a constant-velocity motion model.

Each frame the tracker predicts the box from its velocity, associates the detection with the highest IoU
against the prediction (at least ``iou_threshold``), and updates box and velocity. Without a match it
coasts on the prediction for up to ``max_missed`` frames, then declares the target lost (NaN box). A lost
target is re-initialized from the next detections: the highest-scoring one, or without scores the one
nearest the last confirmed position.

Boxes are ``(x1, y1, x2, y2)`` pixels (see :mod:`hoFit.perception.boxes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from hoFit.perception.boxes import box_iou, box_is_valid

__all__ = ["TrackerSettings", "TrackStep", "TrackResult", "BoxTracker", "track_boxes", "TRACK_STATUSES"]

TRACK_STATUSES = ("initialized", "tracked", "predicted", "lost", "reinitialized")


@dataclass
class TrackerSettings:
    """Settings of :class:`BoxTracker`.

    Attributes:
        iou_threshold: minimum IoU between the predicted box and a detection to associate them.
        max_missed: frames without a match during which the box is extrapolated; one more and it is lost.
        velocity_smoothing: weight of the newest displacement in the velocity estimate (1 = no smoothing).
        reinit_min_score: detections below this score never re-initialize a lost target.
    """

    iou_threshold: float = 0.3
    max_missed: int = 5
    velocity_smoothing: float = 0.6
    reinit_min_score: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.iou_threshold <= 1.0:
            raise ValueError(f"TrackerSettings.iou_threshold: expected a value in [0, 1], got {self.iou_threshold}")
        if self.max_missed < 0:
            raise ValueError(f"TrackerSettings.max_missed: expected >= 0, got {self.max_missed}")
        if not 0.0 < self.velocity_smoothing <= 1.0:
            raise ValueError(
                f"TrackerSettings.velocity_smoothing: expected a value in (0, 1], got {self.velocity_smoothing}"
            )


@dataclass
class TrackStep:
    """Result of one frame: ``box`` (4,) estimate (NaN when lost), index of the ``matched`` detection
    (-1 for none) and ``status`` (one of :data:`TRACK_STATUSES`)."""

    box: np.ndarray
    matched: int
    status: str


@dataclass
class TrackResult:
    """Per-frame results of :func:`track_boxes`: ``boxes`` (T, 4), ``matched`` (T,) detection index or -1,
    ``status`` (T,) strings."""

    boxes: np.ndarray
    matched: np.ndarray
    status: list[str] = field(default_factory=list)


def _to_cwh(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0], box[3] - box[1]])


def _to_xyxy(state: np.ndarray) -> np.ndarray:
    cx, cy, w, h = state
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


class BoxTracker:
    """Stateful single-target tracker; call :meth:`update` once per frame in order.

    Args:
        settings: :class:`TrackerSettings`.
        initial_box: (4,) box of the target in the first frame, or None to start from the first detection.
    """

    def __init__(self, settings: TrackerSettings | None = None, initial_box: np.ndarray | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self._state: np.ndarray | None = None  # (cx, cy, w, h)
        self._velocity = np.zeros(4)
        self._missed = 0
        self._last_confirmed: np.ndarray | None = None
        self._pending_init = False
        if initial_box is not None:
            initial_box = np.asarray(initial_box, dtype=np.float64)
            if initial_box.shape != (4,) or not box_is_valid(initial_box):
                raise ValueError(f"initial_box: expected (4,) x1,y1,x2,y2 with x2 > x1, y2 > y1, got {initial_box}")
            self._state = _to_cwh(initial_box)
            self._last_confirmed = self._state.copy()
            self._pending_init = True

    @property
    def is_lost(self) -> bool:
        """True when the tracker has no current estimate."""
        return self._state is None

    def predict(self) -> np.ndarray:
        """The box expected in the next frame (4,), NaN when lost. Does not change the state."""
        if self._state is None:
            return np.full(4, np.nan)
        if self._pending_init:
            return _to_xyxy(self._state)
        state = self._state + self._velocity
        state[2:] = np.maximum(state[2:], 1.0)
        return _to_xyxy(state)

    def update(self, detections: np.ndarray | None, scores: np.ndarray | None = None) -> TrackStep:
        """Advance one frame with this frame's detections.

        Args:
            detections: (N, 4) candidate boxes (N may be 0) or None.
            scores: optional (N,) confidences used to pick a detection when (re-)initializing.

        Returns:
            :class:`TrackStep` for this frame.
        """
        dets = np.zeros((0, 4)) if detections is None else np.asarray(detections, dtype=np.float64).reshape(-1, 4)
        keep = np.array([box_is_valid(d) for d in dets], dtype=bool)
        if scores is not None:
            scores = np.asarray(scores, dtype=np.float64).reshape(-1)
            if scores.shape[0] != dets.shape[0]:
                raise ValueError(f"scores: expected ({dets.shape[0]},) like detections, got {scores.shape}")
        s = self.settings

        if self._state is None:
            return self._reinitialize(dets, keep, scores)

        predicted = self.predict()
        first = self._pending_init
        self._pending_init = False
        matched = -1
        if keep.any():
            iou = box_iou(predicted[None], dets)[0]
            iou[~keep] = -1.0
            best = int(np.argmax(iou))
            if iou[best] >= s.iou_threshold:
                matched = best
        if matched >= 0:
            new_state = _to_cwh(dets[matched])
            if not first:
                displacement = (new_state - self._state) / (self._missed + 1)
                self._velocity = s.velocity_smoothing * displacement + (1 - s.velocity_smoothing) * self._velocity
            self._state = new_state
            self._last_confirmed = new_state.copy()
            self._missed = 0
            return TrackStep(_to_xyxy(self._state), matched, "initialized" if first else "tracked")

        self._missed += 1
        if self._missed > s.max_missed:
            self._state = None
            self._velocity = np.zeros(4)
            return TrackStep(np.full(4, np.nan), -1, "lost")
        self._state = _to_cwh(predicted)
        return TrackStep(predicted, -1, "initialized" if first else "predicted")

    def _reinitialize(self, dets: np.ndarray, keep: np.ndarray, scores: np.ndarray | None) -> TrackStep:
        candidates = np.flatnonzero(keep)
        if scores is not None:
            candidates = candidates[scores[candidates] >= self.settings.reinit_min_score]
        if candidates.size == 0:
            return TrackStep(np.full(4, np.nan), -1, "lost")
        if scores is not None:
            pick = int(candidates[np.argmax(scores[candidates])])
        elif self._last_confirmed is not None:
            centres = (dets[candidates, :2] + dets[candidates, 2:]) / 2
            dist = np.linalg.norm(centres - self._last_confirmed[:2], axis=1)
            pick = int(candidates[np.argmin(dist)])
        else:
            pick = int(candidates[0])
        was_tracked = self._last_confirmed is not None
        self._state = _to_cwh(dets[pick])
        self._last_confirmed = self._state.copy()
        self._velocity = np.zeros(4)
        self._missed = 0
        return TrackStep(_to_xyxy(self._state), pick, "reinitialized" if was_tracked else "initialized")


def track_boxes(
    detections: Sequence[np.ndarray | None],
    initial_box: np.ndarray | None = None,
    scores: Sequence[np.ndarray | None] | None = None,
    settings: TrackerSettings | None = None,
) -> TrackResult:
    """Track one target through a sequence of per-frame detections.

    Args:
        detections: T entries, each (N_t, 4) boxes or None (no detection in that frame).
        initial_box: (4,) target box in frame 0, or None to start from the first detection.
        scores: optional T entries of (N_t,) confidences.
        settings: :class:`TrackerSettings`.

    Returns:
        :class:`TrackResult` with (T, 4) boxes (NaN where lost).
    """
    tracker = BoxTracker(settings, initial_box)
    boxes, matched, status = [], [], []
    for t, dets in enumerate(detections):
        step = tracker.update(dets, None if scores is None else scores[t])
        boxes.append(step.box)
        matched.append(step.matched)
        status.append(step.status)
    return TrackResult(np.array(boxes).reshape(-1, 4), np.array(matched, dtype=np.int64), status)
