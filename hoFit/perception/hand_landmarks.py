"""Hand keypoints and side from MediaPipe's hand landmarker, in hoFit's keypoint order.

MediaPipe returns 21 landmarks per hand in the "OpenPose" order (wrist; thumb CMC, MCP, IP, tip; index
MCP, PIP, DIP, tip; middle ...; ring ...; pinky ...), see :data:`MEDIAPIPE_LANDMARK_NAMES`.
:func:`mediapipe_to_hofit` reorders them into hoFit's order
(:data:`hoFit.models.hand.keypoints.KEYPOINT_NAMES`).

``mediapipe`` is an optional dependency (``pip install "hofit[perception]"``); the model file
``hand_landmarker.task`` comes from ``hofit models`` (see :mod:`hoFit.perception.model_store`).

Pixel convention: keypoints are (u, v) pixels with the centre of the top-left pixel at (0, 0) (OpenCV).
MediaPipe's normalized coordinates put the image's left edge at 0 and right edge at 1, so
``u = x * W - 0.5``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hoFit.errors import HoFitError
from hoFit.models.hand.keypoints import HOFIT_FROM_OPENPOSE, NUM_KEYPOINTS
from hoFit.perception.boxes import box_from_points

__all__ = [
    "MEDIAPIPE_LANDMARK_NAMES",
    "mediapipe_to_hofit",
    "HandDetection",
    "HandLandmarkerSettings",
    "MediaPipeHandDetector",
    "mediapipe_unavailable_reason",
]

# MediaPipe's HandLandmark enum, by index.
MEDIAPIPE_LANDMARK_NAMES: tuple[str, ...] = (
    "WRIST",
    "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP",
    "INDEX_FINGER_MCP", "INDEX_FINGER_PIP", "INDEX_FINGER_DIP", "INDEX_FINGER_TIP",
    "MIDDLE_FINGER_MCP", "MIDDLE_FINGER_PIP", "MIDDLE_FINGER_DIP", "MIDDLE_FINGER_TIP",
    "RING_FINGER_MCP", "RING_FINGER_PIP", "RING_FINGER_DIP", "RING_FINGER_TIP",
    "PINKY_MCP", "PINKY_PIP", "PINKY_DIP", "PINKY_TIP",
)


def mediapipe_to_hofit(landmarks: np.ndarray) -> np.ndarray:
    """Reorder landmarks from MediaPipe's (OpenPose) order to hoFit's keypoint order.

    Args:
        landmarks: (..., 21, C) array (any C, e.g. 2 for pixels, 3 for 3D).

    Returns:
        (..., 21, C) array with ``out[..., i] = landmarks[..., HOFIT_FROM_OPENPOSE[i]]``.
    """
    landmarks = np.asarray(landmarks)
    if landmarks.ndim < 2 or landmarks.shape[-2] != NUM_KEYPOINTS:
        raise ValueError(f"landmarks: expected (..., {NUM_KEYPOINTS}, C), got shape {landmarks.shape}")
    return landmarks[..., list(HOFIT_FROM_OPENPOSE), :]


@dataclass
class HandDetection:
    """One detected hand.

    Attributes:
        keypoints_2d: (21, 2) float pixels (u, v), hoFit order, pixel-centre convention.
        keypoints_3d: (21, 3) float metres, hoFit order, MediaPipe's "world" landmarks: relative to the
            hand's centre, axes aligned with the image (x right, y down, z away from the camera).
        side: "right" or "left" (the person's hand, for a non-mirrored image).
        score: handedness confidence in [0, 1] (MediaPipe's per-hand score).
        box: (4,) hand box from the keypoints (edge coordinates, with the detector's margin).
    """

    keypoints_2d: np.ndarray
    keypoints_3d: np.ndarray
    side: str
    score: float
    box: np.ndarray


@dataclass
class HandLandmarkerSettings:
    """Settings of :class:`MediaPipeHandDetector`.

    Attributes:
        model_path: ``hand_landmarker.task`` path; "" = the cached model from ``hofit models``.
        num_hands: maximum hands per frame.
        min_detection_confidence: palm detector threshold.
        min_presence_confidence: landmark model's hand-presence threshold.
        min_tracking_confidence: threshold to keep tracking between frames (video mode).
        video_mode: use MediaPipe's video mode (tracks hands between consecutive frames).
        mirrored_input: frames are mirrored (selfie camera): swap the reported side.
        box_margin: margin of the hand box relative to its longer side.
    """

    model_path: str = ""
    num_hands: int = 2
    min_detection_confidence: float = 0.3
    min_presence_confidence: float = 0.3
    min_tracking_confidence: float = 0.3
    video_mode: bool = False
    mirrored_input: bool = False
    box_margin: float = 0.1


def mediapipe_unavailable_reason() -> str | None:
    """None when ``mediapipe`` can be imported, else a one-line reason with what to install."""
    if importlib.util.find_spec("mediapipe") is None:
        return (
            "mediapipe is not installed (optional, for hand keypoints): pip install --no-deps mediapipe absl-py "
            "flatbuffers certifi  (--no-deps keeps opencv-contrib-python from clashing with opencv-python-headless); "
            "then run `hofit models`. Or pass --no-hands to detect object cues only"
        )
    try:
        from mediapipe.tasks.python import vision  # noqa: F401
    except Exception as exc:  # a broken install raises anything from ImportError to AttributeError
        return f"mediapipe is installed but cannot be imported ({type(exc).__name__}: {exc})"
    return None


class MediaPipeHandDetector:
    """MediaPipe hand landmarker returning :class:`HandDetection` lists in hoFit's order.

    Use as a context manager (it holds native resources)::

        with MediaPipeHandDetector(settings) as detector:
            hands = detector.detect(rgb)  # rgb: (H, W, 3) uint8

    Raises:
        HoFitError: when mediapipe or the model file is missing (the message says what to run).
    """

    def __init__(self, settings: HandLandmarkerSettings | None = None) -> None:
        from hoFit.perception.model_store import find_hand_landmarker

        self.settings = settings or HandLandmarkerSettings()
        reason = mediapipe_unavailable_reason()
        if reason is not None:
            raise HoFitError(reason)
        self.model_path: Path = find_hand_landmarker(self.settings.model_path or None)
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        s = self.settings
        options = vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO if s.video_mode else vision.RunningMode.IMAGE,
            num_hands=int(s.num_hands),
            min_hand_detection_confidence=float(s.min_detection_confidence),
            min_hand_presence_confidence=float(s.min_presence_confidence),
            min_tracking_confidence=float(s.min_tracking_confidence),
        )
        try:
            self._landmarker = vision.HandLandmarker.create_from_options(options)
        except Exception as exc:
            raise HoFitError(
                f"{self.model_path}: MediaPipe cannot load this hand landmarker ({exc}); "
                "rebuild it with: hofit models --force"
            ) from exc
        self._last_timestamp = -1

    def __enter__(self) -> "MediaPipeHandDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release MediaPipe's resources (idempotent)."""
        landmarker = getattr(self, "_landmarker", None)
        if landmarker is not None:
            self._landmarker = None
            landmarker.close()

    def detect(self, image: np.ndarray, timestamp_ms: int | None = None) -> list[HandDetection]:
        """Detect hands in one RGB frame.

        Args:
            image: (H, W, 3) uint8 RGB.
            timestamp_ms: frame time for video mode (increasing); defaults to previous + 33.

        Returns:
            Detected hands, highest score first (empty when there is no hand).
        """
        if self._landmarker is None:
            raise ValueError("MediaPipeHandDetector: detect() after close()")
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image: expected (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        h, w = image.shape[:2]
        mp_image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(image))
        if self.settings.video_mode:
            if timestamp_ms is None:
                timestamp_ms = self._last_timestamp + 33
            timestamp_ms = max(int(timestamp_ms), self._last_timestamp + 1)
            self._last_timestamp = timestamp_ms
            result = self._landmarker.detect_for_video(mp_image, timestamp_ms)
        else:
            result = self._landmarker.detect(mp_image)
        hands = []
        for lms, world, handedness in zip(result.hand_landmarks, result.hand_world_landmarks, result.handedness):
            norm = np.array([[p.x, p.y] for p in lms], dtype=np.float64)
            pix = norm * np.array([w, h]) - 0.5
            xyz = np.array([[p.x, p.y, p.z] for p in world], dtype=np.float64)
            category = handedness[0]
            side = str(category.category_name).lower()
            if side not in ("left", "right"):
                raise ValueError(f"MediaPipe returned an unknown handedness label {category.category_name!r}")
            if self.settings.mirrored_input:
                side = "left" if side == "right" else "right"
            kp2 = mediapipe_to_hofit(pix)
            hands.append(
                HandDetection(
                    keypoints_2d=kp2,
                    keypoints_3d=mediapipe_to_hofit(xyz),
                    side=side,
                    score=float(category.score),
                    box=box_from_points(kp2, self.settings.box_margin),
                )
            )
        hands.sort(key=lambda d: -d.score)
        return hands
