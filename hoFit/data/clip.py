"""The clip format: the exchange format between 2D perception and the fitter.

A clip is a short video (typically 10-300 frames) of one or two hands holding one object, with the camera
intrinsics, per-frame 2D cues, the object template and, optionally, ground truth. Any tool can write it
(see ``docs/clip_format.md``); on disk a clip directory holds::

    clip.yaml     version, name, fps, intrinsics, frames, object template and scale, hands, keypoint order
    cues.npz      per-frame hand keypoints/confidences/presence/boxes, object presence/boxes
    masks/        optional PNG masks: object/000000.png, hand0/000000.png ... (0 bg, 255 fg, 128 unknown)
    gt.npz        optional ground truth: object pose, hand joints/vertices (camera frame, metres)
    frames/       the images (or a video file named in clip.yaml; frames may also live elsewhere)

In memory, :class:`Clip` holds a lazy :class:`~hoFit.data.frames.FrameSource`, the
:class:`~hoFit.geometry.cameras.CameraIntrinsics`, one :class:`HandCues` per hand, the
:class:`ObjectCues`, the template reference and an optional :class:`GroundTruth`.

Conventions: pixels ``(u, v)`` with the centre of the top-left pixel at ``(0, 0)``; boxes ``x1, y1, x2, y2``
in pixels (box edges); camera frame OpenCV (x right, y down, z forward), metres; keypoints in hoFit order
(:mod:`hoFit.models.hand.keypoints`); object pose maps template to camera, ``x_cam = R (scale x_tpl) + t``.
Every constructor and :meth:`Clip.load` check their inputs and raise :class:`~hoFit.errors.HoFitError`
naming the file, frame and field at fault.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hoFit.data.frames import FrameSource, ImageFrames, VideoFrames, write_image
from hoFit.data.masks import MaskSequence, read_mask_png, write_mask_png
from hoFit.errors import HoFitError
from hoFit.geometry.cameras import CameraIntrinsics
from hoFit.models.hand.keypoints import HOFIT_FROM_OPENPOSE, KEYPOINT_NAMES, NUM_KEYPOINTS

__all__ = [
    "CLIP_FORMAT_VERSION",
    "HAND_SIDES",
    "KEYPOINT_ORDERS",
    "PROCEDURAL_PREFIX",
    "HandCues",
    "ObjectCues",
    "HandGroundTruth",
    "GroundTruth",
    "Clip",
]

CLIP_FORMAT_VERSION = 1
HAND_SIDES: tuple[str, ...] = ("right", "left")
KEYPOINT_ORDERS: tuple[str, ...] = ("hofit", "openpose")
PROCEDURAL_PREFIX = "procedural:"

CLIP_FILE = "clip.yaml"
CUES_FILE = "cues.npz"
GT_FILE = "gt.npz"
MASKS_DIR = "masks"
FRAMES_DIR = "frames"

Label = Callable[[str], str]


# --------------------------------------------------------------------------------------------------
# Array checks shared by the dataclasses (generic labels) and the loader (labels naming file and key).


def _numeric(value: Any, label: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise HoFitError(f"{label}: expected a numeric array, got dtype {arr.dtype}")
    return arr


def _shaped(value: Any, label: str, shape: tuple, num_frames: int | None, dtype=np.float32) -> np.ndarray:
    """Check ``value`` against ``shape`` (ints, "T" for the frame axis, or None for any size) and cast."""
    arr = _numeric(value, label)
    spelled = "(" + ", ".join("T" if s == "T" else ("N" if s is None else str(s)) for s in shape) + ")"
    if arr.ndim != len(shape) or any(isinstance(s, int) and s != d for s, d in zip(shape, arr.shape)):
        raise HoFitError(f"{label}: expected shape {spelled}, got {arr.shape}")
    if shape and shape[0] == "T" and num_frames is not None and arr.shape[0] != num_frames:
        raise HoFitError(f"{label}: has {arr.shape[0]} frames, but the clip has {num_frames} frames")
    if dtype is bool:
        if arr.dtype != bool:
            if not np.isin(arr, (0, 1)).all():
                raise HoFitError(f"{label}: expected booleans (or 0/1), got values {np.unique(arr)[:8].tolist()}")
            arr = arr.astype(bool)
        return arr
    return arr.astype(dtype, copy=False)


def _first_frame(bad: np.ndarray) -> int:
    return int(np.nonzero(bad.reshape(bad.shape[0], -1).any(axis=1))[0][0])


def _require_finite(arr: np.ndarray, label: str, ignore: np.ndarray | None = None) -> None:
    """Raise naming the first frame where ``arr`` is NaN/inf (``ignore``: per-frame or per-row bool mask)."""
    bad = ~np.isfinite(arr)
    if ignore is not None:
        bad &= ~ignore.reshape(ignore.shape + (1,) * (arr.ndim - ignore.ndim))
    if bad.any():
        t = _first_frame(bad)
        raise HoFitError(f"{label}: frame {t} contains NaN or inf ({arr[t].reshape(-1)[:6].tolist()}...)")


def _check_boxes(boxes: Any, label: str, num_frames: int | None, present: np.ndarray | None, who: str) -> np.ndarray:
    boxes = _shaped(boxes, label, ("T", 4), num_frames)
    nan_rows = np.isnan(boxes).all(axis=1)
    partial = ~np.isfinite(boxes).all(axis=1) & ~nan_rows
    if partial.any():
        t = int(np.nonzero(partial)[0][0])
        raise HoFitError(f"{label}: frame {t} box {boxes[t].tolist()} mixes numbers with NaN/inf; use 4 NaN for no box")
    ok = nan_rows | ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]))
    if not ok.all():
        t = int(np.nonzero(~ok)[0][0])
        raise HoFitError(f"{label}: frame {t} box {boxes[t].tolist()} is not x1 < x2, y1 < y2 (pixels)")
    if present is not None:
        stray = ~present & ~nan_rows
        if stray.any():
            t = int(np.nonzero(stray)[0][0])
            raise HoFitError(f"{label}: frame {t} has a box but {who} is marked absent there; set the box to NaN")
    return boxes


def _check_masks(masks: MaskSequence, present: np.ndarray, frame_label: Callable[[int], str], who: str) -> None:
    """Masks must agree with presence: no empty mask where present, no foreground where absent."""
    empty = masks.empty_frames()
    empty = empty[present[empty]]
    if empty.size:
        t = int(empty[0])
        raise HoFitError(
            f"{frame_label(t)}: the mask of {who} is empty (no foreground and no unknown pixel) although {who} is "
            f"marked present in frame {t}; mark it absent there or remove that frame's mask"
        )
    stray = masks.available & ~present & masks.mask.any(axis=(1, 2))
    if stray.any():
        t = int(np.nonzero(stray)[0][0])
        raise HoFitError(
            f"{frame_label(t)}: the mask of {who} has foreground pixels although {who} is marked absent in frame {t}"
        )


def _hand_arrays(
    keypoints: Any,
    confidence: Any,
    present: Any,
    boxes: Any,
    num_frames: int | None,
    label: Label,
    who: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate and normalize one hand's cue arrays (see :class:`HandCues`)."""
    keypoints = _shaped(keypoints, label("keypoints"), ("T", NUM_KEYPOINTS, 2), num_frames).copy()
    count = keypoints.shape[0]
    if count == 0:
        raise HoFitError(f"{label('keypoints')}: a clip needs at least one frame, got 0")
    confidence = _shaped(confidence, label("confidence"), ("T", NUM_KEYPOINTS), count)
    _require_finite(confidence, label("confidence"))
    if (confidence < 0).any():
        t = _first_frame(confidence < 0)
        raise HoFitError(f"{label('confidence')}: frame {t} has a negative confidence; expected values >= 0")
    if np.isinf(keypoints).any():
        t = _first_frame(np.isinf(keypoints))
        raise HoFitError(f"{label('keypoints')}: frame {t} contains inf")
    nan = np.isnan(keypoints).any(axis=2)
    if (nan & (confidence > 0)).any():
        t = _first_frame(nan & (confidence > 0))
        j = int(np.nonzero(nan[t] & (confidence[t] > 0))[0][0])
        raise HoFitError(
            f"{label('keypoints')}: frame {t}, joint {j} ({KEYPOINT_NAMES[j]}) is NaN but its confidence is "
            f"{float(confidence[t, j])}; give missing joints confidence 0"
        )
    keypoints[nan] = 0.0  # documented: coordinates of zero-confidence joints are ignored, NaN reads as 0
    present = np.ones(count, dtype=bool) if present is None else _shaped(present, label("present"), ("T",), count, bool)
    absent_conf = ~present & (confidence > 0).any(axis=1)
    if absent_conf.any():
        t = int(np.nonzero(absent_conf)[0][0])
        raise HoFitError(
            f"{label('confidence')}: frame {t} has keypoint confidences > 0 but {who} is marked absent there"
        )
    if boxes is not None:
        boxes = _check_boxes(boxes, label("boxes"), count, present, who)
    return keypoints, confidence, present, boxes


# --------------------------------------------------------------------------------------------------
# Cues


@dataclass(eq=False, repr=False)
class HandCues:
    """2D cues of one hand over the T frames of a clip.

    Attributes:
        side: ``"right"`` or ``"left"``.
        keypoints: ``float32 (T, 21, 2)`` pixel coordinates in hoFit order. Joints with confidence 0 are
            ignored (NaN is accepted there and stored as 0).
        confidence: ``float32 (T, 21)`` >= 0, typically in [0, 1]; 0 = joint not detected.
        present: ``bool (T,)`` whether the hand is in the frame; absent frames have all confidences 0.
            Defaults to all True.
        boxes: optional ``float32 (T, 4)`` ``x1, y1, x2, y2`` pixels; a row of NaN = no box for that frame.
        masks: optional :class:`~hoFit.data.masks.MaskSequence` of the hand.
    """

    side: str
    keypoints: np.ndarray
    confidence: np.ndarray
    present: np.ndarray | None = None
    boxes: np.ndarray | None = None
    masks: MaskSequence | None = None

    def __post_init__(self) -> None:
        if self.side not in HAND_SIDES:
            raise HoFitError(f"HandCues.side: expected one of {HAND_SIDES}, got {self.side!r}")
        who = f"the {self.side} hand"
        self.keypoints, self.confidence, self.present, self.boxes = _hand_arrays(
            self.keypoints, self.confidence, self.present, self.boxes, None, lambda f: f"HandCues({self.side}).{f}", who
        )
        if self.masks is not None:
            if self.masks.num_frames != self.num_frames:
                raise HoFitError(
                    f"HandCues({self.side}).masks: has {self.masks.num_frames} frames, keypoints have {self.num_frames}"
                )
            _check_masks(self.masks, self.present, lambda t: f"HandCues({self.side}).masks frame {t}", who)

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    def select(self, indices) -> "HandCues":
        """The cues of frames ``indices`` (slice, list or index array)."""
        return HandCues(
            self.side,
            self.keypoints[indices],
            self.confidence[indices],
            self.present[indices],
            None if self.boxes is None else self.boxes[indices],
            None if self.masks is None else self.masks.select(indices),
        )

    def __repr__(self) -> str:
        return (
            f"HandCues(side={self.side!r}, frames={self.num_frames}, present={int(self.present.sum())}, "
            f"boxes={self.boxes is not None}, masks={self.masks is not None})"
        )


@dataclass(eq=False, repr=False)
class ObjectCues:
    """2D cues of the object over the T frames of a clip.

    Attributes:
        present: ``bool (T,)`` whether the object is visible in the frame.
        boxes: optional ``float32 (T, 4)`` ``x1, y1, x2, y2`` pixels; NaN rows = no box.
        masks: optional :class:`~hoFit.data.masks.MaskSequence` (pixels hidden by the hand may be unknown).
    """

    present: np.ndarray
    boxes: np.ndarray | None = None
    masks: MaskSequence | None = None

    def __post_init__(self) -> None:
        self.present = _shaped(self.present, "ObjectCues.present", ("T",), None, bool)
        if self.present.shape[0] == 0:
            raise HoFitError("ObjectCues.present: a clip needs at least one frame, got 0")
        if self.boxes is not None:
            self.boxes = _check_boxes(self.boxes, "ObjectCues.boxes", self.num_frames, self.present, "the object")
        if self.masks is not None:
            if self.masks.num_frames != self.num_frames:
                raise HoFitError(f"ObjectCues.masks: has {self.masks.num_frames} frames, present has {self.num_frames}")
            _check_masks(self.masks, self.present, lambda t: f"ObjectCues.masks frame {t}", "the object")

    @classmethod
    def always_present(cls, num_frames: int, boxes=None, masks: MaskSequence | None = None) -> "ObjectCues":
        return cls(np.ones(num_frames, dtype=bool), boxes, masks)

    @property
    def num_frames(self) -> int:
        return int(self.present.shape[0])

    def select(self, indices) -> "ObjectCues":
        return ObjectCues(
            self.present[indices],
            None if self.boxes is None else self.boxes[indices],
            None if self.masks is None else self.masks.select(indices),
        )

    def __repr__(self) -> str:
        return (
            f"ObjectCues(frames={self.num_frames}, present={int(self.present.sum())}, "
            f"boxes={self.boxes is not None}, masks={self.masks is not None})"
        )


# --------------------------------------------------------------------------------------------------
# Ground truth


def _rotation_arrays(rotation: Any, valid: np.ndarray, label: str, num_frames: int | None) -> np.ndarray:
    rotation = _shaped(rotation, label, ("T", 3, 3), num_frames).copy()
    _require_finite(rotation, label, ignore=~valid)
    rotation[~valid] = np.eye(3, dtype=np.float32)
    gram = np.einsum("tji,tjk->tik", rotation.astype(np.float64), rotation.astype(np.float64))
    off = np.abs(gram - np.eye(3)).max(axis=(1, 2)) > 1e-3
    det = np.linalg.det(rotation.astype(np.float64)) <= 0
    if (off | det).any():
        t = int(np.nonzero(off | det)[0][0])
        raise HoFitError(f"{label}: frame {t} is not a rotation matrix (R^T R != I or det <= 0): {rotation[t].tolist()}")
    return rotation


@dataclass(eq=False, repr=False)
class HandGroundTruth:
    """Ground truth of one hand (camera frame OpenCV, metres).

    Attributes:
        joints: optional ``float32 (T, 21, 3)`` keypoints in hoFit order.
        joints_valid: ``bool (T, 21)`` which joints are annotated (e.g. only the wrist on HO-3D's
            evaluation split); defaults to all True. Invalid entries are stored as 0 (NaN accepted).
        vertices: optional ``float32 (T, V, 3)`` mesh vertices (MANO topology when V = 778).
        vertices_valid: ``bool (T,)`` frames whose vertices are annotated; defaults to all True.
    """

    joints: np.ndarray | None = None
    joints_valid: np.ndarray | None = None
    vertices: np.ndarray | None = None
    vertices_valid: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._normalize(lambda f: f"HandGroundTruth.{f}", None)

    def _normalize(self, label: Label, num_frames: int | None) -> None:
        if self.joints is None and self.vertices is None:
            raise HoFitError(f"{label('joints')}: a hand's ground truth needs joints or vertices, got neither")
        if self.joints is not None:
            self.joints = _shaped(self.joints, label("joints"), ("T", NUM_KEYPOINTS, 3), num_frames).copy()
            count = self.joints.shape[0]
            if self.joints_valid is None:
                self.joints_valid = np.ones((count, NUM_KEYPOINTS), dtype=bool)
            self.joints_valid = _shaped(self.joints_valid, label("joints_valid"), ("T", NUM_KEYPOINTS), count, bool)
            _require_finite(self.joints, label("joints"), ignore=~self.joints_valid)
            self.joints[~self.joints_valid] = 0.0
            num_frames = count
        elif self.joints_valid is not None:
            raise HoFitError(f"{label('joints_valid')}: given without joints")
        if self.vertices is not None:
            self.vertices = _shaped(self.vertices, label("vertices"), ("T", None, 3), num_frames).copy()
            count = self.vertices.shape[0]
            if self.vertices_valid is None:
                self.vertices_valid = np.ones(count, dtype=bool)
            self.vertices_valid = _shaped(self.vertices_valid, label("vertices_valid"), ("T",), count, bool)
            _require_finite(self.vertices, label("vertices"), ignore=~self.vertices_valid)
            self.vertices[~self.vertices_valid] = 0.0
        elif self.vertices_valid is not None:
            raise HoFitError(f"{label('vertices_valid')}: given without vertices")

    @property
    def num_frames(self) -> int:
        return int((self.joints if self.joints is not None else self.vertices).shape[0])  # type: ignore[union-attr]

    def select(self, indices) -> "HandGroundTruth":
        def pick(a):
            return None if a is None else a[indices]

        return HandGroundTruth(pick(self.joints), pick(self.joints_valid), pick(self.vertices), pick(self.vertices_valid))


@dataclass(eq=False, repr=False)
class GroundTruth:
    """Optional ground truth of a clip, for evaluation (camera frame OpenCV, metres).

    Attributes:
        object_rotation: optional ``float32 (T, 3, 3)`` template-to-camera rotations.
        object_translation: optional ``float32 (T, 3)`` translations (given together with the rotation).
        object_valid: ``bool (T,)`` frames with an annotated object pose (others hold the identity / 0).
        hands: one entry per hand of the clip (same order), ``None`` where that hand has no ground truth.
    """

    object_rotation: np.ndarray | None = None
    object_translation: np.ndarray | None = None
    object_valid: np.ndarray | None = None
    hands: list[HandGroundTruth | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._normalize(lambda f: f"GroundTruth.{f}", None)

    def _normalize(self, label: Label, num_frames: int | None) -> None:
        if (self.object_rotation is None) != (self.object_translation is None):
            raise HoFitError(f"{label('object_rotation')}: object rotation and translation must be given together")
        if self.object_rotation is not None:
            count = _numeric(self.object_rotation, label("object_rotation")).shape[0] if num_frames is None else num_frames
            if self.object_valid is None:
                self.object_valid = np.ones(count, dtype=bool)
            self.object_valid = _shaped(self.object_valid, label("object_valid"), ("T",), count, bool)
            self.object_rotation = _rotation_arrays(self.object_rotation, self.object_valid, label("object_rotation"), count)
            self.object_translation = _shaped(self.object_translation, label("object_translation"), ("T", 3), count).copy()
            _require_finite(self.object_translation, label("object_translation"), ignore=~self.object_valid)
            self.object_translation[~self.object_valid] = 0.0
            num_frames = count
        elif self.object_valid is not None:
            raise HoFitError(f"{label('object_valid')}: given without an object pose")
        self.hands = list(self.hands)
        for i, hand in enumerate(self.hands):
            if hand is None:
                continue
            if not isinstance(hand, HandGroundTruth):
                raise HoFitError(f"GroundTruth.hands[{i}]: expected HandGroundTruth or None, got {type(hand).__name__}")
            if num_frames is not None and hand.num_frames != num_frames:
                raise HoFitError(f"GroundTruth.hands[{i}]: has {hand.num_frames} frames, the object pose {num_frames}")
            num_frames = hand.num_frames
        if self.object_rotation is None and not any(h is not None for h in self.hands):
            raise HoFitError("GroundTruth: holds neither an object pose nor any hand ground truth")

    @property
    def num_frames(self) -> int:
        if self.object_rotation is not None:
            return int(self.object_rotation.shape[0])
        return next(h.num_frames for h in self.hands if h is not None)

    def select(self, indices) -> "GroundTruth":
        def pick(a):
            return None if a is None else a[indices]

        return GroundTruth(
            pick(self.object_rotation),
            pick(self.object_translation),
            pick(self.object_valid),
            [None if h is None else h.select(indices) for h in self.hands],
        )


# --------------------------------------------------------------------------------------------------
# The clip


@dataclass(eq=False, repr=False)
class Clip:
    """A short RGB video with 2D cues of the hands and the object, ready to fit.

    Attributes:
        frames: the images (lazy), ``uint8 (H, W, 3)`` RGB each.
        intrinsics: camera intrinsics; ``width``/``height`` equal the frame size.
        hands: one :class:`HandCues` per hand (0 to 2, distinct sides).
        object: the object's :class:`ObjectCues`.
        template: path of the object mesh (absolute, or relative to the current directory), or
            ``"procedural:<category>"`` for a procedural template of :mod:`hoFit.models.objects`.
        object_scale: metric scale applied to the template (template units to metres).
        object_category: optional category name (e.g. ``"mug"``).
        ground_truth: optional :class:`GroundTruth` for evaluation.
        name: clip name (used in file names and reports).
        fps: frames per second of the clip.
        frame_ids: one string per frame naming its origin (e.g. ``"SM1/0042"``); defaults to ``"000000"``...
        meta: free-form plain data (dataset, sequence, ...) stored in clip.yaml.
    """

    frames: FrameSource
    intrinsics: CameraIntrinsics
    hands: list[HandCues]
    object: ObjectCues
    template: str
    object_scale: float = 1.0
    object_category: str | None = None
    ground_truth: GroundTruth | None = None
    name: str = "clip"
    fps: float = 30.0
    frame_ids: list[str] | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.frames, FrameSource):
            raise HoFitError(f"Clip.frames: expected a FrameSource, got {type(self.frames).__name__}")
        if not isinstance(self.intrinsics, CameraIntrinsics):
            raise HoFitError(f"Clip.intrinsics: expected CameraIntrinsics, got {type(self.intrinsics).__name__}")
        count = self.frames.num_frames
        height, width = self.frames.size
        if (int(self.intrinsics.width), int(self.intrinsics.height)) != (width, height):
            raise HoFitError(
                f"Clip.intrinsics: image size {self.intrinsics.width}x{self.intrinsics.height} (WxH) differs from the "
                f"frames' {width}x{height} ({self.frames.describe(0)})"
            )
        self.hands = list(self.hands)
        if len(self.hands) > 2:
            raise HoFitError(f"Clip.hands: expected at most 2 hands, got {len(self.hands)}")
        sides = [h.side for h in self.hands]
        if len(set(sides)) != len(sides):
            raise HoFitError(f"Clip.hands: the hands must have distinct sides, got {sides}")
        for i, hand in enumerate(self.hands):
            if not isinstance(hand, HandCues):
                raise HoFitError(f"Clip.hands[{i}]: expected HandCues, got {type(hand).__name__}")
            if hand.num_frames != count:
                raise HoFitError(f"Clip.hands[{i}] ({hand.side}): has {hand.num_frames} frames, the clip has {count}")
            if hand.masks is not None and hand.masks.size != (height, width):
                raise HoFitError(f"Clip.hands[{i}].masks: size {hand.masks.size} (H, W), frames are {(height, width)}")
        if not isinstance(self.object, ObjectCues):
            raise HoFitError(f"Clip.object: expected ObjectCues, got {type(self.object).__name__}")
        if self.object.num_frames != count:
            raise HoFitError(f"Clip.object: has {self.object.num_frames} frames, the clip has {count}")
        if self.object.masks is not None and self.object.masks.size != (height, width):
            raise HoFitError(f"Clip.object.masks: size {self.object.masks.size} (H, W), frames are {(height, width)}")
        if isinstance(self.template, Path):
            self.template = str(self.template)
        if not isinstance(self.template, str) or not self.template:
            raise HoFitError(f"Clip.template: expected a mesh path or 'procedural:<category>', got {self.template!r}")
        if self.template.startswith(PROCEDURAL_PREFIX) and not self.template[len(PROCEDURAL_PREFIX):]:
            raise HoFitError("Clip.template: 'procedural:' needs a category, e.g. 'procedural:mug'")
        try:
            self.object_scale = float(self.object_scale)
            self.fps = float(self.fps)
        except (TypeError, ValueError) as exc:
            raise HoFitError(f"Clip: object_scale and fps must be numbers: {exc}") from None
        if not (math.isfinite(self.object_scale) and self.object_scale > 0):
            raise HoFitError(f"Clip.object_scale: expected a positive number, got {self.object_scale}")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise HoFitError(f"Clip.fps: expected a positive number, got {self.fps}")
        if self.ground_truth is not None:
            if not isinstance(self.ground_truth, GroundTruth):
                raise HoFitError(f"Clip.ground_truth: expected GroundTruth, got {type(self.ground_truth).__name__}")
            if self.ground_truth.num_frames != count:
                raise HoFitError(f"Clip.ground_truth: has {self.ground_truth.num_frames} frames, the clip has {count}")
            if self.ground_truth.hands and len(self.ground_truth.hands) != len(self.hands):
                raise HoFitError(
                    f"Clip.ground_truth.hands: {len(self.ground_truth.hands)} entries, the clip has {len(self.hands)} "
                    "hands; use None for a hand without ground truth"
                )
        if self.frame_ids is None:
            self.frame_ids = [f"{i:06d}" for i in range(count)]
        self.frame_ids = [str(f) for f in self.frame_ids]
        if len(self.frame_ids) != count:
            raise HoFitError(f"Clip.frame_ids: {len(self.frame_ids)} ids, the clip has {count} frames")
        if len(set(self.frame_ids)) != count:
            raise HoFitError("Clip.frame_ids: ids must be unique")
        if not isinstance(self.meta, dict):
            raise HoFitError(f"Clip.meta: expected a dict, got {type(self.meta).__name__}")

    # ---------------------------------------------------------------- accessors

    @property
    def num_frames(self) -> int:
        return self.frames.num_frames

    @property
    def image_size(self) -> tuple[int, int]:
        """``(height, width)`` of the frames, pixels."""
        return self.frames.size

    @property
    def template_is_procedural(self) -> bool:
        return self.template.startswith(PROCEDURAL_PREFIX)

    @property
    def procedural_category(self) -> str | None:
        """The category of a ``procedural:<category>`` template, else None."""
        return self.template[len(PROCEDURAL_PREFIX):] if self.template_is_procedural else None

    def hand(self, side: str) -> HandCues | None:
        """The cues of the hand on ``side`` ("right"/"left"), or None."""
        return next((h for h in self.hands if h.side == side), None)

    def load_template(self, **kwargs):
        """The object template (:class:`hoFit.models.objects.ObjectTemplate`) at the clip's metric scale.

        A mesh path is read with ``load_template(path, scale=object_scale, **kwargs)``; a procedural template
        is built with ``procedural_template(category)`` and scaled by ``object_scale``.
        """
        if self.template_is_procedural:
            from hoFit.models.objects import procedural_template

            template = procedural_template(self.procedural_category, scale=self.object_scale)
            max_faces = kwargs.get("max_faces")
            if max_faces is not None and template.num_faces > max_faces:
                from hoFit.models.objects import template_from_arrays

                template = template_from_arrays(template.vertices, template.faces, template.name, max_faces=max_faces,
                                                source=template.source)
            return template
        from hoFit.models.objects.template import load_template

        path = Path(self.template)
        if not path.is_file():
            raise HoFitError(f"clip {self.name}: object template not found: {path}")
        return load_template(path, scale=self.object_scale, **kwargs)

    def validate(self) -> None:
        """Full check, including the files: every frame exists and has the clip's size, the template exists
        (a mesh file, or a category that :mod:`hoFit.models.objects` can build)."""
        self.frames.check()
        if self.template_is_procedural:
            _check_procedural(self.procedural_category, f"clip {self.name}")  # type: ignore[arg-type]
        elif not Path(self.template).is_file():
            raise HoFitError(f"clip {self.name}: object template not found: {self.template}")

    # ---------------------------------------------------------------- slicing

    def select(self, indices: Sequence[int]) -> "Clip":
        """A clip made of frames ``indices`` of this one (in that order; frames stay lazy)."""
        indices = [int(i) for i in indices]
        if not indices:
            raise HoFitError(f"clip {self.name}: cannot select zero frames")
        bad = [i for i in indices if not 0 <= i < self.num_frames]
        if bad:
            raise HoFitError(f"clip {self.name}: frame indices {bad[:5]} out of range 0..{self.num_frames - 1}")
        idx = np.asarray(indices)
        return Clip(
            frames=self.frames.select(indices),
            intrinsics=self.intrinsics,
            hands=[h.select(idx) for h in self.hands],
            object=self.object.select(idx),
            template=self.template,
            object_scale=self.object_scale,
            object_category=self.object_category,
            ground_truth=None if self.ground_truth is None else self.ground_truth.select(idx),
            name=self.name,
            fps=self.fps,
            frame_ids=[self.frame_ids[i] for i in indices],  # type: ignore[index]
            meta=dict(self.meta),
        )

    def subclip(self, start: int = 0, stop: int | None = None, step: int = 1, name: str | None = None) -> "Clip":
        """Frames ``start:stop:step`` (Python slice semantics) as a new clip."""
        if step <= 0:
            raise HoFitError(f"subclip: step must be positive, got {step}")
        indices = list(range(self.num_frames))[start:stop:step]
        if not indices:
            raise HoFitError(f"subclip({start}, {stop}, {step}) of clip {self.name} ({self.num_frames} frames) is empty")
        clip = self.select(indices)
        if name is not None:
            clip.name = name
        return clip

    # ---------------------------------------------------------------- saving

    def save(self, directory: str | Path, overwrite: bool = False, copy_frames: bool = True) -> Path:
        """Write the clip directory atomically (a temporary directory renamed into place).

        Args:
            directory: target directory; it must not exist (or be empty) unless ``overwrite``.
            overwrite: replace an existing directory (it may be the one the clip was loaded from).
            copy_frames: copy the frame images (or the whole video) into the directory. When False, image
                and video frames are referenced by absolute path instead (frames held in memory are
                always written as PNG).

        After a save that copied the frames, the clip reads its frames from the saved copies.

        Returns:
            The directory's path.
        """
        directory = Path(directory).absolute()
        if directory.exists() and not directory.is_dir():
            raise HoFitError(f"cannot save clip to {directory}: a file of that name exists")
        if directory.is_dir() and any(directory.iterdir()) and not overwrite:
            raise HoFitError(f"cannot save clip to {directory}: the directory exists and is not empty (use overwrite)")
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
        try:
            frames_spec, saved_frames = self._write_frames(tmp, directory, copy_frames)
            self._write_cues(tmp)
            self._write_masks(tmp)
            if self.ground_truth is not None:
                self._write_ground_truth(tmp)
            spec = {
                "version": CLIP_FORMAT_VERSION,
                "name": self.name,
                "fps": self.fps,
                "intrinsics": {k: float(v) if k in ("fx", "fy", "cx", "cy") else int(v) for k, v in self.intrinsics.to_dict().items()},
                "frames": frames_spec,
                "frame_ids": list(self.frame_ids),  # type: ignore[arg-type]
                "keypoint_order": "hofit",
                "object": {
                    "template": self._template_for(directory),
                    "scale": self.object_scale,
                    "category": self.object_category,
                },
                "hands": [{"side": h.side} for h in self.hands],
                "meta": self.meta,
            }
            try:
                text = yaml.safe_dump(spec, sort_keys=False, default_flow_style=None, width=120)
            except yaml.YAMLError as exc:
                raise HoFitError(f"Clip.meta must hold plain data (str, numbers, lists, dicts): {exc}") from None
            (tmp / CLIP_FILE).write_text(text)
            _replace_directory(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if saved_frames is not None:
            self.frames = saved_frames(directory)
        return directory

    def _template_for(self, directory: Path) -> str:
        if self.template_is_procedural:
            return self.template
        path = Path(self.template).absolute()
        try:
            return str(path.relative_to(directory))
        except ValueError:
            return str(path)

    def _write_frames(self, tmp: Path, final: Path, copy: bool):
        """Write or reference the frames; returns the clip.yaml spec and a rebinder for the saved copy."""
        source = self.frames
        if isinstance(source, ImageFrames) and not copy:
            return {"files": [str(p.absolute()) for p in source.paths]}, None
        if isinstance(source, VideoFrames) and not copy:
            spec: dict = {"video": str(source.path.absolute())}
            if not source.is_whole_video:
                spec["indices"] = list(source.indices)
            return spec, None
        if isinstance(source, VideoFrames) and source.is_whole_video:
            name = "video" + source.path.suffix.lower()
            shutil.copyfile(source.path, tmp / name)
            return {"video": name}, lambda d: VideoFrames(d / name)
        (tmp / FRAMES_DIR).mkdir()
        names = []
        for i in range(source.num_frames):
            if isinstance(source, ImageFrames):
                name = f"{FRAMES_DIR}/{i:06d}{source.paths[i].suffix.lower()}"
                shutil.copyfile(source.paths[i], tmp / name)
            else:
                name = f"{FRAMES_DIR}/{i:06d}.png"
                write_image(tmp / name, source[i])
            names.append(name)
        if isinstance(source, ImageFrames):
            source.check()  # copied files must all have the clip's size
        size = source.size
        return {"files": names}, lambda d: ImageFrames([d / n for n in names], size=size)

    def _write_cues(self, tmp: Path) -> None:
        arrays: dict[str, np.ndarray] = {"object_present": self.object.present}
        if self.object.boxes is not None:
            arrays["object_boxes"] = self.object.boxes
        for i, hand in enumerate(self.hands):
            arrays[f"hand{i}_keypoints"] = hand.keypoints
            arrays[f"hand{i}_confidence"] = hand.confidence
            arrays[f"hand{i}_present"] = hand.present  # type: ignore[assignment]
            if hand.boxes is not None:
                arrays[f"hand{i}_boxes"] = hand.boxes
        np.savez_compressed(tmp / CUES_FILE, **arrays)

    def _write_masks(self, tmp: Path) -> None:
        entries = [("object", self.object.masks)] + [(f"hand{i}", h.masks) for i, h in enumerate(self.hands)]
        for key, masks in entries:
            if masks is None:
                continue
            folder = tmp / MASKS_DIR / key
            folder.mkdir(parents=True)
            for t in np.nonzero(masks.available)[0]:
                write_mask_png(folder / f"{t:06d}.png", masks.mask[t], masks.unknown[t])

    def _write_ground_truth(self, tmp: Path) -> None:
        gt = self.ground_truth
        assert gt is not None
        arrays: dict[str, np.ndarray] = {}
        if gt.object_rotation is not None:
            arrays.update(
                object_rotation=gt.object_rotation,
                object_translation=gt.object_translation,  # type: ignore[dict-item]
                object_valid=gt.object_valid,  # type: ignore[dict-item]
            )
        for i, hand in enumerate(gt.hands):
            if hand is None:
                continue
            if hand.joints is not None:
                arrays[f"hand{i}_joints"] = hand.joints
                arrays[f"hand{i}_joints_valid"] = hand.joints_valid  # type: ignore[assignment]
            if hand.vertices is not None:
                arrays[f"hand{i}_vertices"] = hand.vertices
                arrays[f"hand{i}_vertices_valid"] = hand.vertices_valid  # type: ignore[assignment]
        np.savez_compressed(tmp / GT_FILE, **arrays)

    # ---------------------------------------------------------------- loading

    @classmethod
    def load(cls, directory: str | Path) -> "Clip":
        """Read and fully validate a clip directory (see ``docs/clip_format.md``)."""
        return _load_clip(Path(directory))

    def __repr__(self) -> str:
        return (
            f"Clip(name={self.name!r}, frames={self.num_frames}, size={self.image_size}, hands={self.hands}, "
            f"object={self.object}, template={self.template!r}, scale={self.object_scale}, "
            f"ground_truth={self.ground_truth is not None})"
        )


def _check_procedural(category: str, where: str) -> None:
    try:
        from hoFit.models.objects import resolve_category
    except ImportError:  # pragma: no cover - the object models are part of hoFit
        return
    try:
        resolve_category(category)
    except (HoFitError, KeyError, ValueError) as exc:
        raise HoFitError(f"{where}: unknown procedural template 'procedural:{category}': {exc}") from None


def _replace_directory(tmp: Path, directory: Path) -> None:
    """Move ``tmp`` onto ``directory``, replacing it; the old tree is removed only after the move."""
    if not directory.exists():
        os.replace(tmp, directory)
        return
    if not any(directory.iterdir()):
        directory.rmdir()
        os.replace(tmp, directory)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old-", dir=directory.parent))
    old.rmdir()
    os.replace(directory, old)
    try:
        os.replace(tmp, directory)
    except BaseException:
        os.replace(old, directory)
        raise
    shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Loading


_TOP_KEYS = {"version", "name", "fps", "intrinsics", "frames", "frame_ids", "keypoint_order", "object", "hands", "meta"}
_MASK_NAME = re.compile(r"^(\d+)\.png$")


def _unknown_keys(found: dict, allowed: set, where: str) -> None:
    extra = sorted(set(found) - allowed)
    if extra:
        raise HoFitError(f"{where}: unknown key(s) {extra}; expected only {sorted(allowed)}")


def _resolve(directory: Path, value: Any, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise HoFitError(f"{where}: expected a path string, got {value!r}")
    path = Path(value).expanduser()
    return path if path.is_absolute() else directory / path


def _load_yaml(directory: Path) -> dict:
    if not directory.is_dir():
        raise HoFitError(f"clip directory not found: {directory}")
    path = directory / CLIP_FILE
    if not path.is_file():
        raise HoFitError(f"{directory} is not a clip directory: {CLIP_FILE} is missing (see docs/clip_format.md)")
    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise HoFitError(f"cannot read {path}: {exc}") from None
    if not isinstance(spec, dict):
        raise HoFitError(f"{path}: expected a mapping of keys (version, intrinsics, frames, ...), got {type(spec).__name__}")
    _unknown_keys(spec, _TOP_KEYS, str(path))
    for key in ("intrinsics", "frames", "object"):
        if key not in spec:
            raise HoFitError(f"{path}: the required key '{key}' is missing")
    version = spec.get("version", CLIP_FORMAT_VERSION)
    if not isinstance(version, int) or version < 1 or version > CLIP_FORMAT_VERSION:
        raise HoFitError(f"{path}: clip format version {version!r} is not supported (this hoFit reads 1..{CLIP_FORMAT_VERSION})")
    return spec


def _load_frames(directory: Path, spec: Any, where: str) -> FrameSource:
    if not isinstance(spec, dict):
        raise HoFitError(f"{where}: expected a mapping with 'files', 'dir' or 'video', got {spec!r}")
    _unknown_keys(spec, {"files", "dir", "pattern", "video", "indices"}, where)
    kinds = [k for k in ("files", "dir", "video") if k in spec]
    if len(kinds) != 1:
        raise HoFitError(f"{where}: give exactly one of 'files', 'dir' or 'video', got {kinds or 'none'}")
    if "video" in spec:
        indices = spec.get("indices")
        if indices is not None and (not isinstance(indices, list) or not all(isinstance(i, int) for i in indices)):
            raise HoFitError(f"{where}.indices: expected a list of integers, got {indices!r}")
        return VideoFrames(_resolve(directory, spec["video"], f"{where}.video"), indices)
    if "indices" in spec:
        raise HoFitError(f"{where}: 'indices' applies to a video only")
    if "dir" in spec:
        folder = _resolve(directory, spec["dir"], f"{where}.dir")
        return ImageFrames.from_folder(folder, spec.get("pattern"))
    if "pattern" in spec:
        raise HoFitError(f"{where}: 'pattern' applies to 'dir' only")
    files = spec["files"]
    if not isinstance(files, list) or not files:
        raise HoFitError(f"{where}.files: expected a non-empty list of image paths, got {files!r}")
    return ImageFrames([_resolve(directory, f, f"{where}.files[{i}]") for i, f in enumerate(files)])


def _load_intrinsics(spec: Any, frames: FrameSource, where: str) -> CameraIntrinsics:
    if not isinstance(spec, dict):
        raise HoFitError(f"{where}: expected a mapping {{fx, fy, cx, cy, width, height}}, got {spec!r}")
    _unknown_keys(spec, {"fx", "fy", "cx", "cy", "width", "height"}, where)
    missing = [k for k in ("fx", "fy", "cx", "cy") if k not in spec]
    if missing:
        raise HoFitError(f"{where}: missing {missing} (pixels)")
    height, width = frames.size
    try:
        return CameraIntrinsics(
            float(spec["fx"]), float(spec["fy"]), float(spec["cx"]), float(spec["cy"]),
            int(spec.get("width", width)), int(spec.get("height", height)),
        )
    except (TypeError, ValueError) as exc:
        raise HoFitError(f"{where}: {exc}") from None


def _load_masks(folder: Path, frames: FrameSource, present: np.ndarray, who: str) -> MaskSequence:
    count = frames.num_frames
    per_frame: list[np.ndarray | None] = [None] * count
    unknowns: list[np.ndarray | None] = [None] * count
    for path in sorted(folder.iterdir()):
        match = _MASK_NAME.match(path.name)
        if not match or not path.is_file():
            raise HoFitError(f"{path}: unexpected entry in a mask folder; expected files named <frame>.png, e.g. 000000.png")
        t = int(match.group(1))
        if t >= count:
            raise HoFitError(f"{path}: mask for frame {t}, but the clip has {count} frames (0..{count - 1})")
        mask, unknown = read_mask_png(path)
        if mask.shape != frames.size:
            raise HoFitError(
                f"{path}: mask size {mask.shape[1]}x{mask.shape[0]} (WxH) differs from the frames' "
                f"{frames.size[1]}x{frames.size[0]}"
            )
        per_frame[t], unknowns[t] = mask, unknown
    masks = MaskSequence.from_frames(per_frame, unknowns, size=frames.size)
    _check_masks(masks, present, lambda t: str(folder / f"{t:06d}.png") + f" (frame {t})", who)
    return masks


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise HoFitError(f"cannot read {path}: {exc} (expected an .npz of numeric arrays)") from None


def _reorder(arr: np.ndarray | None, order: str, axis: int = 1) -> np.ndarray | None:
    if arr is None or order == "hofit":
        return arr
    return np.take(arr, HOFIT_FROM_OPENPOSE, axis=axis)


def _load_clip(directory: Path) -> Clip:
    spec = _load_yaml(directory)
    yaml_path = directory / CLIP_FILE
    where = str(yaml_path)
    frames = _load_frames(directory, spec["frames"], f"{where}: frames")
    frames.check()
    count = frames.num_frames
    intrinsics = _load_intrinsics(spec["intrinsics"], frames, f"{where}: intrinsics")
    if (intrinsics.width, intrinsics.height) != (frames.size[1], frames.size[0]):
        raise HoFitError(
            f"{where}: intrinsics give {intrinsics.width}x{intrinsics.height} (WxH) but the frames are "
            f"{frames.size[1]}x{frames.size[0]} ({frames.describe(0)})"
        )
    order = spec.get("keypoint_order", "hofit")
    if order not in KEYPOINT_ORDERS:
        raise HoFitError(f"{where}: keypoint_order must be one of {KEYPOINT_ORDERS}, got {order!r}")

    hands_spec = spec.get("hands") or []
    if not isinstance(hands_spec, list):
        raise HoFitError(f"{where}: hands: expected a list like [{{side: right}}], got {hands_spec!r}")
    sides = []
    for i, entry in enumerate(hands_spec):
        if not isinstance(entry, dict) or entry.get("side") not in HAND_SIDES:
            raise HoFitError(f"{where}: hands[{i}]: expected {{side: right}} or {{side: left}}, got {entry!r}")
        _unknown_keys(entry, {"side"}, f"{where}: hands[{i}]")
        sides.append(entry["side"])

    obj_spec = spec["object"]
    if not isinstance(obj_spec, dict) or "template" not in obj_spec:
        raise HoFitError(f"{where}: object: expected {{template: <mesh path or procedural:<category>>, scale: 1.0}}")
    _unknown_keys(obj_spec, {"template", "scale", "category"}, f"{where}: object")
    template = obj_spec["template"]
    if not isinstance(template, str) or not template:
        raise HoFitError(f"{where}: object.template: expected a path or 'procedural:<category>', got {template!r}")
    if not template.startswith(PROCEDURAL_PREFIX):  # a procedural category is checked by validate() / load_template()
        template_path = _resolve(directory, template, f"{where}: object.template")
        if not template_path.is_file():
            raise HoFitError(f"{where}: object.template: file not found: {template_path}")
        template = str(template_path.absolute())

    # cues.npz
    cues_path = directory / CUES_FILE
    cues = _load_npz(cues_path) if cues_path.is_file() else {}
    if sides and not cues_path.is_file():
        raise HoFitError(f"{cues_path} not found; it must hold the keypoints of the {len(sides)} hand(s) listed in {CLIP_FILE}")
    allowed = {"object_present", "object_boxes"}
    for i in range(len(sides)):
        allowed |= {f"hand{i}_keypoints", f"hand{i}_confidence", f"hand{i}_present", f"hand{i}_boxes"}
    _unknown_keys(cues, allowed, str(cues_path))

    def cue_label(key: str) -> Callable[[str], str]:
        return lambda f: f"{cues_path} ['{key}{f}']"

    hands = []
    masks_dir = directory / MASKS_DIR
    if masks_dir.is_dir():
        expected = {"object"} | {f"hand{i}" for i in range(len(sides))}
        extra = sorted(p.name for p in masks_dir.iterdir() if p.name not in expected)
        if extra:
            raise HoFitError(f"{masks_dir}: unexpected entries {extra}; expected folders {sorted(expected)}")
    for i, side in enumerate(sides):
        for key in ("keypoints", "confidence"):
            if f"hand{i}_{key}" not in cues:
                raise HoFitError(f"{cues_path}: the array 'hand{i}_{key}' is missing (hand {i}, {side})")
        label = cue_label(f"hand{i}_")
        keypoints, confidence, present, boxes = _hand_arrays(
            _reorder(_shaped(cues[f"hand{i}_keypoints"], label("keypoints"), ("T", NUM_KEYPOINTS, 2), count), order),
            _reorder(_shaped(cues[f"hand{i}_confidence"], label("confidence"), ("T", NUM_KEYPOINTS), count), order),
            cues.get(f"hand{i}_present"),
            cues.get(f"hand{i}_boxes"),
            count,
            label,
            f"hand {i} ({side})",
        )
        folder = masks_dir / f"hand{i}"
        masks = _load_masks(folder, frames, present, f"hand {i} ({side})") if folder.is_dir() else None
        hands.append(HandCues(side, keypoints, confidence, present, boxes, masks))

    label = cue_label("object_")
    present = cues.get("object_present")
    present = np.ones(count, dtype=bool) if present is None else _shaped(present, label("present"), ("T",), count, bool)
    boxes = cues.get("object_boxes")
    if boxes is not None:
        boxes = _check_boxes(boxes, label("boxes"), count, present, "the object")
    folder = masks_dir / "object"
    object_masks = _load_masks(folder, frames, present, "the object") if folder.is_dir() else None
    object_cues = ObjectCues(present, boxes, object_masks)

    ground_truth = _load_ground_truth(directory / GT_FILE, count, len(sides), order) if (directory / GT_FILE).is_file() else None

    frame_ids = spec.get("frame_ids")
    if frame_ids is not None and (not isinstance(frame_ids, list) or len(frame_ids) != count):
        raise HoFitError(f"{where}: frame_ids: expected a list of {count} ids (one per frame), got {frame_ids!r:.80}")
    meta = spec.get("meta") or {}
    if not isinstance(meta, dict):
        raise HoFitError(f"{where}: meta: expected a mapping, got {meta!r:.80}")
    default_fps = frames.fps if isinstance(frames, VideoFrames) and frames.fps > 0 else 30.0
    obj_scale = obj_spec.get("scale", 1.0)
    try:
        clip = Clip(
            frames=frames,
            intrinsics=intrinsics,
            hands=hands,
            object=object_cues,
            template=template,
            object_scale=obj_scale,
            object_category=obj_spec.get("category"),
            ground_truth=ground_truth,
            name=str(spec.get("name") or directory.name),
            fps=spec.get("fps") or default_fps,
            frame_ids=frame_ids,
            meta=meta,
        )
    except HoFitError as exc:
        raise HoFitError(f"{directory}: {exc}") from None
    return clip


def _load_ground_truth(path: Path, count: int, num_hands: int, order: str) -> GroundTruth:
    arrays = _load_npz(path)
    allowed = {"object_rotation", "object_translation", "object_valid"}
    for i in range(num_hands):
        allowed |= {f"hand{i}_joints", f"hand{i}_joints_valid", f"hand{i}_vertices", f"hand{i}_vertices_valid"}
    _unknown_keys(arrays, allowed, str(path))

    def label(f: str) -> str:
        return f"{path} ['{f}']"

    hands: list[HandGroundTruth | None] = []
    for i in range(num_hands):
        joints, joints_valid = arrays.get(f"hand{i}_joints"), arrays.get(f"hand{i}_joints_valid")
        if joints is not None:
            joints = _reorder(_shaped(joints, label(f"hand{i}_joints"), ("T", NUM_KEYPOINTS, 3), count), order)
        if joints_valid is not None:
            joints_valid = _reorder(_shaped(joints_valid, label(f"hand{i}_joints_valid"), ("T", NUM_KEYPOINTS), count, bool), order)
        vertices, vertices_valid = arrays.get(f"hand{i}_vertices"), arrays.get(f"hand{i}_vertices_valid")
        if joints is None and vertices is None:
            if joints_valid is not None or vertices_valid is not None:
                raise HoFitError(f"{path}: hand{i}_*_valid given without hand{i}_joints or hand{i}_vertices")
            hands.append(None)
            continue
        hand = HandGroundTruth.__new__(HandGroundTruth)
        hand.joints, hand.joints_valid, hand.vertices, hand.vertices_valid = joints, joints_valid, vertices, vertices_valid
        hand._normalize(lambda f, i=i: label(f"hand{i}_{f}"), count)
        hands.append(hand)
    gt = GroundTruth.__new__(GroundTruth)
    gt.object_rotation = arrays.get("object_rotation")
    gt.object_translation = arrays.get("object_translation")
    gt.object_valid = arrays.get("object_valid")
    gt.hands = hands if any(h is not None for h in hands) else []
    if gt.object_rotation is None and not gt.hands:
        raise HoFitError(f"{path}: holds no ground truth; expected object_rotation/object_translation or hand<i>_joints")
    gt._normalize(label, count)
    return gt
