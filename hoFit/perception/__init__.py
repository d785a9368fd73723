"""2D perception front end: hand keypoints, hand and object boxes and masks, tracking, from raw frames.

- :mod:`~hoFit.perception.hand_landmarks`: MediaPipe hand landmarker, mapped to hoFit's keypoint order.
- :mod:`~hoFit.perception.model_store`: obtaining, verifying and caching ``hand_landmarker.task``.
- :mod:`~hoFit.perception.boxes`: box IoU, boxes from keypoints and masks, parsing.
- :mod:`~hoFit.perception.tracking`: IoU + constant-velocity box tracker.
- :mod:`~hoFit.perception.grabcut`: GrabCut object and hand masks seeded by boxes and keypoints.
- :mod:`~hoFit.perception.external`: per-frame mask PNGs from any segmenter; Segment Anything adapter.
- :mod:`~hoFit.perception.pipeline`: frames -> cues -> :class:`~hoFit.data.clip.Clip` (``hofit detect``).
- :mod:`~hoFit.perception.overlay`: overlay images of the cues.

``mediapipe`` is optional (``pip install "hofit[perception]"``) and imported only when hands are detected.
"""

from hoFit.perception.boxes import box_from_mask, box_from_points, box_iou, clip_box, load_box, parse_box
from hoFit.perception.external import FileMasks, SamBoxSegmenter, SamSettings, read_external_mask
from hoFit.perception.grabcut import (
    GrabCutSettings,
    MaskResult,
    grabcut_hand_mask,
    grabcut_object_mask,
    hand_hull_mask,
    hand_skeleton_mask,
    mask_iou,
    shift_mask,
)
from hoFit.perception.hand_landmarks import (
    MEDIAPIPE_LANDMARK_NAMES,
    HandDetection,
    HandLandmarkerSettings,
    MediaPipeHandDetector,
    mediapipe_to_hofit,
    mediapipe_unavailable_reason,
)
from hoFit.perception.model_store import fetch_hand_landmarker, find_hand_landmarker, verify_hand_landmarker
from hoFit.perception.overlay import draw_cues
from hoFit.perception.pipeline import CueExtractor, DetectReport, DetectSettings, FrameCues, detect_clip
from hoFit.perception.tracking import BoxTracker, TrackerSettings, TrackResult, TrackStep, track_boxes

__all__ = [
    "box_from_mask", "box_from_points", "box_iou", "clip_box", "load_box", "parse_box",
    "FileMasks", "SamBoxSegmenter", "SamSettings", "read_external_mask",
    "GrabCutSettings", "MaskResult", "grabcut_hand_mask", "grabcut_object_mask", "hand_hull_mask",
    "hand_skeleton_mask", "mask_iou", "shift_mask",
    "MEDIAPIPE_LANDMARK_NAMES", "HandDetection", "HandLandmarkerSettings", "MediaPipeHandDetector",
    "mediapipe_to_hofit", "mediapipe_unavailable_reason",
    "fetch_hand_landmarker", "find_hand_landmarker", "verify_hand_landmarker",
    "draw_cues",
    "CueExtractor", "DetectReport", "DetectSettings", "FrameCues", "detect_clip",
    "BoxTracker", "TrackerSettings", "TrackResult", "TrackStep", "track_boxes",
]
