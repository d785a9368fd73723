"""EPIC-KITCHENS-100: action segments of hand-held objects, cut into clips; no 3D ground truth.

On-disk layout::

    root/<participant>/rgb_frames/<video_id>/frame_<10 digits>.jpg    official frames (1-based numbers)
    annotations: EPIC_100_train.csv / EPIC_100_validation.csv (+ EPIC_100_noun_classes.csv beside them)
    detections:  <dir>/<video_id>.pkl    official hand-object detections (epic-kitchens-100-hand-object-bboxes)
    masks:       <dir>/<video_id>/frame_<10 digits>.png  optional object masks (0 bg, 255 fg, 128 unknown)

Segments (``start_frame`` to ``stop_frame``) whose noun class is in ``nouns`` are cut into clips of
``frame_nb`` frames taken ``step`` apart. Each noun has a procedural template (:data:`EPIC_TEMPLATES`).

Hand-object detections: a ``.pkl`` file holds a pickled list of serialized protobuf ``Detections`` messages
(schema ``types.proto`` of the official repository: boxes normalised to [0, 1] by the image width and height,
a score, the hand side LEFT=0/RIGHT=1, the contact state NO_CONTACT=0 ... PORTABLE_OBJECT=3,
STATIONARY_OBJECT=4, and the normalised offset from the hand box centre to the contacted object). This
module decodes that wire format itself (no protobuf dependency); :func:`encode_frame_detections` writes it.
Per frame, each side keeps its best hand above ``hand_threshold``; the object box is the detection the
hands in contact point to (hand centre + offset, nearest object centre), else the best object above
``object_threshold``.

Intrinsics: focal length ``focal`` at 640 px width (200 px as in the original code), scaled to the frame
width, principal point at the centre.
"""

from __future__ import annotations

import csv
import json
import logging
import pickle
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hoFit.data.clip import Clip, HandCues, ObjectCues
from hoFit.data.datasets.common import ClipDataset, ClipSpec, attach_cues, check_root, clip_windows
from hoFit.data.frames import ImageFrames
from hoFit.data.masks import MaskSequence, read_mask_png
from hoFit.errors import HoFitError
from hoFit.geometry.cameras import CameraIntrinsics

__all__ = [
    "EpicKitchens",
    "EPIC_TEMPLATES",
    "EPIC_DEFAULT_NOUNS",
    "EPIC_LAYOUT",
    "HandDetection",
    "ObjectDetection",
    "FrameDetections",
    "decode_frame_detections",
    "encode_frame_detections",
    "load_detections",
    "read_segments",
]

logger = logging.getLogger(__name__)

EPIC_TEMPLATES: dict[str, str] = {
    "cup": "mug",
    "mug": "mug",
    "can": "can",
    "bottle": "bottle",
    "plate": "plate",
    "jug": "jug",
    "phone": "mobile_phone",
    "glass": "glass",
}
EPIC_DEFAULT_NOUNS: tuple[str, ...] = ("cup", "can", "bottle", "plate", "jug", "phone", "glass")
DEFAULT_FOCAL_AT_640 = 200.0
HAND_SIDES = {0: "left", 1: "right"}
NO_CONTACT, PORTABLE_OBJECT = 0, 3

EPIC_LAYOUT = """  ROOT/<participant>/rgb_frames/<video_id>/frame_0000000001.jpg ...   (e.g. ROOT/P01/rgb_frames/P01_09/...)
  annotation CSVs (EPIC_100_train.csv / EPIC_100_validation.csv, EPIC_100_noun_classes.csv)
  optional: hand-object detections <video_id>.pkl, object masks <video_id>/frame_XXXXXXXXXX.png
(see docs/datasets.md)"""

_FRAME_DIGITS = 10


# ---------------------------------------------------------------------------------------------------
# Hand-object detections (protobuf wire format of types.proto)


@dataclass
class HandDetection:
    """One detected hand. ``box``: (4,) left, top, right, bottom normalised to [0, 1]; ``offset``: (2,)
    normalised vector from the box centre to the contacted object's centre."""

    box: np.ndarray
    score: float
    state: int
    side: int
    offset: np.ndarray


@dataclass
class ObjectDetection:
    box: np.ndarray
    score: float


@dataclass
class FrameDetections:
    video_id: str
    frame_number: int
    hands: list[HandDetection] = field(default_factory=list)
    objects: list[ObjectDetection] = field(default_factory=list)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes):
    """Yield ``(field number, wire type, value)``; value is int (varint), bytes (length-delimited) or
    float (32-bit)."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = struct.unpack("<f", data[pos:pos + 4])[0], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated message")
        yield number, wire, value


def _floats(data: bytes, count: int) -> np.ndarray:
    out = np.zeros(count, dtype=np.float64)
    for number, wire, value in _fields(data):
        if wire == 5 and 1 <= number <= count:
            out[number - 1] = value
    return out


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >= 1 << 63 else value


def decode_frame_detections(data: bytes) -> FrameDetections:
    """Decode one serialized ``Detections`` message."""
    frame = FrameDetections("", 0)
    for number, wire, value in _fields(data):
        if number == 1 and wire == 2:
            frame.video_id = value.decode("utf-8")
        elif number == 2 and wire == 0:
            frame.frame_number = _signed32(value)
        elif number == 3 and wire == 2:
            hand = HandDetection(np.zeros(4), 0.0, 0, 0, np.zeros(2))
            for n, w, v in _fields(value):
                if n == 1 and w == 2:
                    hand.box = _floats(v, 4)
                elif n == 2 and w == 5:
                    hand.score = float(v)
                elif n == 3 and w == 0:
                    hand.state = int(v)
                elif n == 4 and w == 2:
                    hand.offset = _floats(v, 2)
                elif n == 5 and w == 0:
                    hand.side = int(v)
            frame.hands.append(hand)
        elif number == 4 and wire == 2:
            obj = ObjectDetection(np.zeros(4), 0.0)
            for n, w, v in _fields(value):
                if n == 1 and w == 2:
                    obj.box = _floats(v, 4)
                elif n == 2 and w == 5:
                    obj.score = float(v)
            frame.objects.append(obj)
    return frame


def _put_varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _put_float(number: int, value: float) -> bytes:
    return b"" if value == 0 else _put_varint(number << 3 | 5) + struct.pack("<f", value)


def _put_int(number: int, value: int) -> bytes:
    return b"" if value == 0 else _put_varint(number << 3) + _put_varint(int(value))


def _put_bytes(number: int, value: bytes) -> bytes:
    return _put_varint(number << 3 | 2) + _put_varint(len(value)) + value


def encode_frame_detections(frame: FrameDetections) -> bytes:
    """Serialize like protobuf's ``SerializeToString`` (proto3: zero values omitted, fields in order)."""
    out = b""
    if frame.video_id:
        out += _put_bytes(1, frame.video_id.encode("utf-8"))
    out += _put_int(2, frame.frame_number)
    for hand in frame.hands:
        box = b"".join(_put_float(i + 1, float(v)) for i, v in enumerate(hand.box))
        offset = b"".join(_put_float(i + 1, float(v)) for i, v in enumerate(hand.offset))
        body = _put_bytes(1, box) + _put_float(2, hand.score) + _put_int(3, hand.state)
        body += _put_bytes(4, offset) + _put_int(5, hand.side)
        out += _put_bytes(3, body)
    for obj in frame.objects:
        box = b"".join(_put_float(i + 1, float(v)) for i, v in enumerate(obj.box))
        out += _put_bytes(4, _put_bytes(1, box) + _put_float(2, obj.score))
    return out


def _from_json_record(record: dict) -> FrameDetections:
    def box(d):
        b = d["bbox"]
        return np.array([b["left"], b["top"], b["right"], b["bottom"]], dtype=np.float64)

    sides = {"LEFT": 0, "RIGHT": 1}
    states = {"NO_CONTACT": 0, "SELF_CONTACT": 1, "ANOTHER_PERSON": 2, "PORTABLE_OBJECT": 3, "STATIONARY_OBJECT": 4}
    hands = [
        HandDetection(box(h), float(h["score"]), int(h.get("state_id", states.get(h.get("state"), 0))),
                      int(h.get("side_id", sides.get(h.get("side"), 0))),
                      np.array([h["object_offset"]["x"], h["object_offset"]["y"]], dtype=np.float64))
        for h in record.get("hands", [])
    ]
    objects = [ObjectDetection(box(o), float(o["score"])) for o in record.get("objects", [])]
    return FrameDetections(str(record.get("video_id", "")), int(record["frame_number"]), hands, objects)


def load_detections(path: str | Path) -> dict[int, FrameDetections]:
    """Read hand-object detections: the official ``<video_id>.pkl`` (pickled list of serialized
    ``Detections``), or JSON records ``{video_id, frame_number, hands: [...], objects: [...]}`` (one or a
    list) with boxes ``{left, top, right, bottom}``. Returns ``frame number -> FrameDetections``."""
    path = Path(path)
    if not path.is_file():
        raise HoFitError(f"hand-object detections not found: {path}")
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text())
            records = data if isinstance(data, list) else [data]
            frames = [_from_json_record(r) for r in records]
        else:
            with open(path, "rb") as handle:
                blobs = pickle.load(handle)
            if not isinstance(blobs, list) or not all(isinstance(b, bytes) for b in blobs):
                raise ValueError("expected a pickled list of serialized Detections (bytes)")
            frames = [decode_frame_detections(b) for b in blobs]
    except HoFitError:
        raise
    except Exception as exc:  # noqa: BLE001 - malformed files fail in many ways
        raise HoFitError(f"cannot read hand-object detections {path}: {exc}") from None
    return {f.frame_number: f for f in frames}


def _pick_object(frame: FrameDetections, hand_threshold: float, object_threshold: float) -> ObjectDetection | None:
    objects = [o for o in frame.objects if o.score >= object_threshold]
    if not objects:
        return None
    centres = np.array([[(o.box[0] + o.box[2]) / 2, (o.box[1] + o.box[3]) / 2] for o in objects])
    contacts = [h for h in frame.hands if h.state != NO_CONTACT and h.score >= hand_threshold]
    if contacts:
        hand = max(contacts, key=lambda h: (h.state == PORTABLE_OBJECT, h.score))
        target = np.array([(hand.box[0] + hand.box[2]) / 2, (hand.box[1] + hand.box[3]) / 2]) + hand.offset
        return objects[int(np.argmin(((centres - target) ** 2).sum(axis=1)))]
    return max(objects, key=lambda o: o.score)


# ---------------------------------------------------------------------------------------------------
# Annotations


def _noun_classes(folder: Path) -> dict[int, str] | None:
    path = folder / "EPIC_100_noun_classes.csv"
    if not path.is_file():
        return None
    with open(path, newline="") as handle:
        return {int(row["id"]): row["key"] for row in csv.DictReader(handle)}


def read_segments(csv_path: str | Path, nouns: Sequence[str] | None = None) -> list[dict]:
    """Action segments of an EPIC-KITCHENS-100 annotation CSV, optionally restricted to noun classes.

    The noun class is the key of ``noun_class`` in ``EPIC_100_noun_classes.csv`` beside the CSV (``cup``
    covers ``mug``, ``phone`` covers ``smartphone``, ...), else the part of ``noun`` before the first ``:``.

    Returns:
        Dicts with ``narration_id, participant_id, video_id, start_frame, stop_frame, verb, noun, noun_key``.
    """
    path = Path(csv_path)
    if not path.is_file():
        raise HoFitError(f"EPIC-KITCHENS annotation file not found: {path}")
    classes = _noun_classes(path.parent)
    required = {"narration_id", "participant_id", "video_id", "start_frame", "stop_frame", "verb", "noun"}
    segments = []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise HoFitError(f"{path}: missing columns {sorted(missing)}; expected an EPIC-KITCHENS-100 annotation CSV")
        for number, row in enumerate(reader, 2):
            try:
                start, stop = int(row["start_frame"]), int(row["stop_frame"])
            except ValueError:
                raise HoFitError(f"{path}, line {number}: start_frame/stop_frame are not integers") from None
            if stop < start or start < 1:
                raise HoFitError(f"{path}, line {number}: invalid frame range {start}..{stop}")
            if classes is not None and row.get("noun_class", "").strip().isdigit():
                key = classes.get(int(row["noun_class"]), row["noun"].split(":")[0])
            else:
                key = row["noun"].split(":")[0]
            if nouns is not None and key not in nouns:
                continue
            segments.append({
                "narration_id": row["narration_id"], "participant_id": row["participant_id"],
                "video_id": row["video_id"], "start_frame": start, "stop_frame": stop,
                "verb": row["verb"], "noun": row["noun"], "noun_key": key,
            })
    return segments


# ---------------------------------------------------------------------------------------------------
# Dataset


class EpicKitchens(ClipDataset):
    """Clips of EPIC-KITCHENS-100 action segments with hand-held objects.

    Args:
        root: folder holding ``<participant>/rgb_frames/<video_id>/``.
        annotations: one or more annotation CSVs (e.g. ``EPIC_100_validation.csv``).
        nouns: noun classes to keep (each needs a template; see :data:`EPIC_TEMPLATES`).
        videos: video ids to use; None uses the annotated videos whose frame folder exists (the others
            are listed in ``self.skipped_videos`` and logged).
        detections_dir: folder of ``<video_id>.pkl`` hand-object detections (boxes and hand sides).
        masks_dir: folder of ``<video_id>/frame_XXXXXXXXXX.png`` object masks.
        frame_nb, step: clips of ``frame_nb`` frames taken ``step`` apart (-1: whole segments).
        focal: focal length at 640 px image width (scaled to the frames' width).
        hand_threshold, object_threshold: minimum detection scores.
        templates: ``{noun: mesh path}`` overriding the procedural templates.
        cues_dir: optional folder of clip-format cue directories, one per clip name, attached on load.
    """

    name = "epic"

    def __init__(
        self,
        root: str | Path,
        annotations: str | Path | Sequence[str | Path],
        nouns: Sequence[str] = EPIC_DEFAULT_NOUNS,
        videos: Sequence[str] | None = None,
        detections_dir: str | Path | None = None,
        masks_dir: str | Path | None = None,
        frame_nb: int = 10,
        step: int = 4,
        focal: float = DEFAULT_FOCAL_AT_640,
        hand_threshold: float = 0.5,
        object_threshold: float = 0.5,
        templates: dict[str, str] | None = None,
        cues_dir: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.root = check_root(root, "EPIC-KITCHENS", [], EPIC_LAYOUT)
        self.templates = dict(templates or {})
        for noun in nouns:
            if noun not in EPIC_TEMPLATES and noun not in self.templates:
                raise HoFitError(
                    f"no template for the noun {noun!r}: built-in ones are {sorted(EPIC_TEMPLATES)}; pass templates={{'{noun}': 'mesh.obj'}}"
                )
        self.detections_dir = None if detections_dir is None else Path(detections_dir)
        if self.detections_dir is not None and not self.detections_dir.is_dir():
            raise HoFitError(f"detections folder not found: {self.detections_dir}")
        self.masks_dir = None if masks_dir is None else Path(masks_dir)
        if self.masks_dir is not None and not self.masks_dir.is_dir():
            raise HoFitError(f"masks folder not found: {self.masks_dir}")
        self.cues_dir = None if cues_dir is None else Path(cues_dir)
        self.focal, self.hand_threshold, self.object_threshold = float(focal), hand_threshold, object_threshold
        files = [annotations] if isinstance(annotations, (str, Path)) else list(annotations)
        segments = [s for f in files for s in read_segments(f, list(nouns))]
        wanted = None if videos is None else set(videos)
        self.skipped_videos: list[str] = []
        self._detections: dict[str, dict[int, FrameDetections]] = {}
        for seg in segments:
            video = seg["video_id"]
            if wanted is not None and video not in wanted:
                continue
            folder = self.video_folder(seg["participant_id"], video)
            if not folder.is_dir():
                if wanted is not None:
                    raise HoFitError(f"frames of video {video} not found: expected {folder}")
                if video not in self.skipped_videos:
                    self.skipped_videos.append(video)
                continue
            numbers = list(range(seg["start_frame"], seg["stop_frame"] + 1))
            for window in clip_windows(len(numbers), frame_nb, step):
                frames = [numbers[i] for i in window]
                missing = [str(self.frame_path(seg["participant_id"], video, n)) for n in frames
                           if not self.frame_path(seg["participant_id"], video, n).is_file()]
                if missing:
                    raise HoFitError(
                        f"EPIC-KITCHENS segment {seg['narration_id']} ({video}, frames {seg['start_frame']}-"
                        f"{seg['stop_frame']}): {len(missing)} frame file(s) missing, e.g. {missing[:3]}"
                    )
                self.specs.append(ClipSpec(
                    name=f"{seg['narration_id']}_{frames[0]:010d}", sequence=video, frames=frames,
                    category=seg["noun_key"], extra={"participant": seg["participant_id"], "segment": seg},
                ))
        if wanted is not None:
            absent = sorted(wanted - {s.sequence for s in self.specs} - set(self.skipped_videos))
            if absent:
                raise HoFitError(f"videos {absent} have no segment with the nouns {list(nouns)} in the annotations")
        if self.skipped_videos:
            logger.info("EPIC-KITCHENS: %d annotated videos have no frames under %s and were skipped: %s",
                        len(self.skipped_videos), self.root, ", ".join(self.skipped_videos[:10]))
        if not self.specs:
            raise HoFitError(
                f"no EPIC-KITCHENS clip: no segment with nouns {list(nouns)} has its frames under {self.root}. Expected:\n{EPIC_LAYOUT}"
            )

    def video_folder(self, participant: str, video: str) -> Path:
        return self.root / participant / "rgb_frames" / video

    def frame_path(self, participant: str, video: str, number: int) -> Path:
        return self.video_folder(participant, video) / f"frame_{number:0{_FRAME_DIGITS}d}.jpg"

    def detections(self, video: str) -> dict[int, FrameDetections] | None:
        if self.detections_dir is None:
            return None
        if video not in self._detections:
            path = self.detections_dir / f"{video}.pkl"
            if not path.is_file():
                raise HoFitError(f"hand-object detections of video {video} not found: {path}")
            self._detections[video] = load_detections(path)
        return self._detections[video]

    def template_for(self, noun: str) -> str:
        if noun in self.templates:
            path = Path(self.templates[noun]).expanduser()
            if not path.is_file():
                raise HoFitError(f"template for {noun} not found: {path}")
            return str(path.absolute())
        return f"procedural:{EPIC_TEMPLATES[noun]}"

    def load_clip(self, spec: ClipSpec) -> Clip:
        participant, video = spec.extra["participant"], spec.sequence
        frames = ImageFrames([self.frame_path(participant, video, n) for n in spec.frames])
        height, width = frames.size
        count = len(spec.frames)
        scale = np.array([width, height, width, height], dtype=np.float64)
        detections = self.detections(video)
        hand_boxes = {"right": np.full((count, 4), np.nan), "left": np.full((count, 4), np.nan)}
        object_boxes = np.full((count, 4), np.nan)
        if detections is not None:
            for t, number in enumerate(spec.frames):
                frame = detections.get(number)
                if frame is None:
                    continue
                for side_id, side in HAND_SIDES.items():
                    hands = [h for h in frame.hands if h.side == side_id and h.score >= self.hand_threshold]
                    if hands:
                        hand_boxes[side][t] = _pixel_box(max(hands, key=lambda h: h.score).box, scale)
                obj = _pick_object(frame, self.hand_threshold, self.object_threshold)
                if obj is not None:
                    object_boxes[t] = _pixel_box(obj.box, scale)
        hands = []
        for side in ("right", "left"):
            boxes = hand_boxes[side]
            present = ~np.isnan(boxes[:, 0])
            if present.any():
                hands.append(HandCues(side, np.zeros((count, 21, 2), np.float32), np.zeros((count, 21), np.float32),
                                      present, boxes))
        masks = self._masks(video, spec.frames, (height, width)) if self.masks_dir is not None else None
        present = np.ones(count, dtype=bool) if detections is None else ~np.isnan(object_boxes[:, 0])
        if masks is not None:
            present |= masks.mask.any(axis=(1, 2))
            object_boxes = np.where(present[:, None], object_boxes, np.nan)
        clip = Clip(
            frames=frames,
            intrinsics=CameraIntrinsics.from_fov(width, height, self.focal * width / 640.0),
            hands=hands,
            object=ObjectCues(present, object_boxes if detections is not None else None, masks),
            template=self.template_for(spec.category),
            object_scale=1.0,
            object_category=spec.category,
            name=spec.name,
            fps=60.0,
            frame_ids=[f"{video}/{n:0{_FRAME_DIGITS}d}" for n in spec.frames],
            meta={"dataset": "epic", "video": video, "participant": participant, "noun": spec.extra["segment"]["noun"],
                  "verb": spec.extra["segment"]["verb"], "category": spec.category},
        )
        if self.cues_dir is not None:
            clip = attach_cues(clip, self.cues_dir)
        return clip

    def _masks(self, video: str, numbers: list[int], size) -> MaskSequence:
        folder = self.masks_dir / video  # type: ignore[operator]
        per_frame, unknowns = [], []
        for number in numbers:
            path = folder / f"frame_{number:0{_FRAME_DIGITS}d}.png"
            if path.is_file():
                mask, unknown = read_mask_png(path)
                if mask.shape != tuple(size):
                    raise HoFitError(f"{path}: mask size {mask.shape[::-1]} (WxH) differs from the frames' {size[::-1]}")
                per_frame.append(mask)
                unknowns.append(unknown)
            else:
                per_frame.append(None)
                unknowns.append(None)
        return MaskSequence.from_frames(per_frame, unknowns, size=size)


def _pixel_box(normalised: np.ndarray, scale: np.ndarray) -> np.ndarray:
    box = np.asarray(normalised, dtype=np.float64) * scale
    box[2:] = np.maximum(box[2:], box[:2] + 1e-3)
    return box

