"""From raw frames to a clip: hand keypoints, hand and object boxes, tracking and masks per frame.

:class:`CueExtractor` processes frames in order and keeps the temporal state (object and hand trackers,
previous masks). For every frame:

1. hands: MediaPipe's landmarker (or any callable ``image -> list[HandDetection]``); the clip's hand is
   the one tracked by a box tracker, initialized on the hand nearest the object box;
2. object: the first frame's box comes from the user; later boxes from the tracker. Without external
   detections, the object is segmented in the predicted box and the mask's box is the tracker's
   measurement; with external detections (per-frame boxes), the tracker associates them first. A lost
   object is searched again around its last confirmed box, moved with the hand;
3. masks, by precedence: PNG files from any segmenter > Segment Anything (when installed with a
   checkpoint) > GrabCut seeded by the box and the hand keypoints (hand pixels excluded), initialized
   from the previous frame's mask. Object pixels covered by the hand are marked unknown.

:func:`detect_clip` runs the extractor over a frame source, writes overlays and saves a
:class:`~hoFit.data.clip.Clip`. A frame that cannot be used (unreadable, other size, no hand, no object)
is marked missing with a message; an interruption saves the frames processed so far.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from hoFit.errors import HoFitError
from hoFit.perception.boxes import box_from_mask, box_iou, box_is_valid, box_pixel_slices, clip_box, scale_box
from hoFit.perception.external import FileMasks, SamBoxSegmenter, SamSettings, segment_anything_checkpoint
from hoFit.perception.grabcut import GrabCutSettings, grabcut_hand_mask, grabcut_object_mask, shift_mask
from hoFit.perception.hand_landmarks import HandDetection, HandLandmarkerSettings
from hoFit.perception.overlay import draw_cues
from hoFit.perception.tracking import BoxTracker, TrackerSettings

__all__ = ["DetectSettings", "FrameCues", "CueExtractor", "open_frames", "default_intrinsics", "detect_clip", "DetectReport"]

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".flv", ".mpg", ".mpeg", ".wmv")


@dataclass
class DetectSettings:
    """Settings of the perception front end.

    Attributes:
        side: "auto" (the hand nearest the object), "right" or "left".
        min_hand_score: hands with a lower handedness score are ignored.
        detect_hands: run the hand landmarker (False: object cues only).
        segmenter: "auto" (Segment Anything when usable, else GrabCut), "grabcut" or "sam".
        object_search_scale: the predicted object box is enlarged by this factor before segmentation.
        hand_masks: compute hand masks (GrabCut from the keypoints) when no hand mask files are given.
        hand_occlusion_unknown: mark object-box pixels covered by the hand mask as unknown in the object mask.
        fov_degrees: horizontal field of view used for the intrinsics when no focal length is given.
        overlays: write overlay PNGs of the cues.
        hands: MediaPipe settings. grabcut: GrabCut settings. sam: Segment Anything settings.
        object_tracker, hand_tracker: box tracker settings.
    """

    side: str = "auto"
    min_hand_score: float = 0.5
    detect_hands: bool = True
    segmenter: str = "auto"
    object_search_scale: float = 1.1
    hand_masks: bool = True
    hand_occlusion_unknown: bool = True
    fov_degrees: float = 60.0
    overlays: bool = True
    hands: HandLandmarkerSettings = field(default_factory=HandLandmarkerSettings)
    grabcut: GrabCutSettings = field(default_factory=GrabCutSettings)
    sam: SamSettings = field(default_factory=SamSettings)
    object_tracker: TrackerSettings = field(default_factory=lambda: TrackerSettings(iou_threshold=0.3, max_missed=5))
    hand_tracker: TrackerSettings = field(default_factory=lambda: TrackerSettings(iou_threshold=0.1, max_missed=10))

    def __post_init__(self) -> None:
        if self.side not in ("auto", "right", "left"):
            raise HoFitError(f"side: expected auto, right or left, got {self.side!r}")
        if self.segmenter not in ("auto", "grabcut", "sam"):
            raise HoFitError(f"segmenter: expected auto, grabcut or sam, got {self.segmenter!r}")
        if not 1.0 <= self.fov_degrees < 180.0:
            raise HoFitError(f"fov_degrees: expected a horizontal field of view in [1, 180) degrees, got {self.fov_degrees}")


@dataclass
class FrameCues:
    """Cues of one frame. Arrays are NaN / None where a cue is missing; ``messages`` say why.

    Attributes:
        usable: False when the frame itself could not be used (unreadable, other size).
        hand_keypoints: (21, 2) pixels (hoFit order) or None. hand_keypoints_3d: (21, 3) metres or None.
        hand_side, hand_score: MediaPipe's side and score of the tracked hand.
        hand_box, object_box: (4,) boxes (NaN = none).
        hand_mask, object_mask: (H, W) uint8 or None; object_unknown: (H, W) bool or None.
        object_mask_source: "file", "sam", "grabcut" or "" (no mask).
        object_track: the object tracker's status for this frame.
    """

    index: int
    usable: bool = True
    hand_keypoints: np.ndarray | None = None
    hand_keypoints_3d: np.ndarray | None = None
    hand_side: str = ""
    hand_score: float = 0.0
    hand_box: np.ndarray = field(default_factory=lambda: np.full(4, np.nan))
    hand_mask: np.ndarray | None = None
    object_box: np.ndarray = field(default_factory=lambda: np.full(4, np.nan))
    object_mask: np.ndarray | None = None
    object_unknown: np.ndarray | None = None
    object_mask_source: str = ""
    object_track: str = ""
    messages: list[str] = field(default_factory=list)


def _centre(box: np.ndarray) -> np.ndarray:
    return (box[:2] + box[2:]) / 2


class CueExtractor:
    """Per-frame cue extraction with temporal state; call :meth:`process` on frames in order.

    Args:
        image_size: (H, W) of the frames.
        object_box: (4,) object box in the first frame (edge coordinates); clipped to the image.
        settings: :class:`DetectSettings`.
        hand_detector: callable ``(image) -> list[HandDetection]`` (e.g. a ``MediaPipeHandDetector.detect``)
            or None for no hands.
        object_mask_files, hand_mask_files: :class:`~hoFit.perception.external.FileMasks` that take precedence.
        object_detections: optional per-frame (N_t, 4) external object boxes (None for a frame without).
        sam: optional callable ``(image, box, negative_points) -> (H, W) mask`` used instead of GrabCut.

    Raises:
        HoFitError: when the object box does not overlap the image.
    """

    def __init__(
        self,
        image_size: tuple[int, int],
        object_box: np.ndarray | None,
        settings: DetectSettings | None = None,
        hand_detector: Callable[[np.ndarray], list[HandDetection]] | None = None,
        object_mask_files: FileMasks | None = None,
        hand_mask_files: FileMasks | None = None,
        object_detections: Sequence[np.ndarray | None] | None = None,
        sam: Callable[..., np.ndarray] | None = None,
    ) -> None:
        self.settings = settings or DetectSettings()
        self.size = (int(image_size[0]), int(image_size[1]))
        h, w = self.size
        if object_box is not None:
            given = np.asarray(object_box, dtype=np.float64)
            object_box = clip_box(given, self.size)
            if not box_is_valid(object_box):
                raise HoFitError(
                    f"object box {given.tolist()} lies outside the {w}x{h} (WxH) image; give x1,y1,x2,y2 in pixels "
                    f"with 0 <= x < {w} and 0 <= y < {h}"
                )
            if box_iou(object_box[None], given[None])[0, 0] < 0.999:
                log.warning("object box %s extends past the %dx%d image; clipped to %s", given.tolist(), w, h, object_box.tolist())
        elif object_detections is None and object_mask_files is None:
            raise HoFitError("an object box for the first frame is needed (--object-box or --object-box-json), "
                             "or per-frame object detections or mask files")
        self.object_tracker = BoxTracker(self.settings.object_tracker, object_box)
        self.hand_tracker = BoxTracker(self.settings.hand_tracker)
        self.hand_detector = hand_detector
        self.object_mask_files = object_mask_files
        self.hand_mask_files = hand_mask_files
        self.object_detections = object_detections
        self.sam = sam
        self._t = 0
        self._prev_mask: np.ndarray | None = None
        self._prev_box: np.ndarray | None = None
        self._confirmed_box: np.ndarray | None = None if object_box is None else object_box
        self._confirmed_hand_centre: np.ndarray | None = None
        self._last_hand_centre: np.ndarray | None = None

    # ------------------------------------------------------------------ hands

    def _select_hand(self, hands: list[HandDetection], cues: FrameCues) -> HandDetection | None:
        s = self.settings
        candidates = [d for d in hands if d.score >= s.min_hand_score and (s.side == "auto" or d.side == s.side)]
        if not candidates:
            self.hand_tracker.update(None)
            what = "hand" if s.side == "auto" else f"{s.side} hand"
            cues.messages.append(f"no {what} detected" + (f" ({len(hands)} hand(s) below the score or of the other side)" if hands else ""))
            return None
        boxes = np.stack([d.box for d in candidates])
        if self.hand_tracker.is_lost:
            ref = self._prev_box if self._prev_box is not None else self._confirmed_box
            if ref is not None:
                # the hand holding the object: most overlap with the enlarged object box, then nearest
                overlap = box_iou(scale_box(ref, 1.5)[None], boxes)[0]
                dist = np.linalg.norm(np.stack([_centre(b) for b in boxes]) - _centre(ref), axis=1)
                pick = int(np.lexsort((dist, -np.round(overlap, 2)))[0])
            else:
                pick = int(np.argmax([d.score for d in candidates]))
            self.hand_tracker.update(boxes[[pick]])
            return candidates[pick]
        step = self.hand_tracker.update(boxes, np.array([d.score for d in candidates]))
        if step.matched < 0:
            cues.messages.append("the tracked hand was not found (another hand was detected)")
            return None
        return candidates[step.matched]

    # ------------------------------------------------------------------ object

    def _search_box(self) -> np.ndarray | None:
        """Where to segment the object when the tracker gives no box: the last confirmed box, moved with the hand."""
        if self._confirmed_box is None:
            return None
        box = self._confirmed_box.copy()
        if self._confirmed_hand_centre is not None and self._last_hand_centre is not None:
            d = self._last_hand_centre - self._confirmed_hand_centre
            box = box + np.concatenate([d, d])
        return box

    def _segment_object(self, image, box, keypoints, hand_mask) -> tuple[np.ndarray | None, str, bool]:
        """(mask or None, source, reinitialized) for the object in ``box``."""
        if self.sam is not None:
            mask = np.asarray(self.sam(image, box, keypoints)).astype(np.uint8)
            return (mask if mask.any() else None), "sam", False
        prior = None
        if self._prev_mask is not None and self._prev_box is not None:
            d = _centre(box) - _centre(self._prev_box)
            prior = shift_mask(self._prev_mask, d[0], d[1])
        result = grabcut_object_mask(image, box, hand_keypoints=keypoints, hand_mask=hand_mask, prior_mask=prior,
                                     settings=self.settings.grabcut)
        if result.degenerate:
            return None, "grabcut", result.reinitialized
        return result.mask, "grabcut", result.reinitialized

    def process(self, image: np.ndarray) -> FrameCues:
        """Cues of the next frame ``image`` ((H, W, 3) uint8 RGB, the extractor's size)."""
        t = self._t
        self._t += 1
        cues = FrameCues(index=t)
        image = np.asarray(image)
        if image.shape != (*self.size, 3) or image.dtype != np.uint8:
            raise ValueError(f"frame {t}: expected ({self.size[0]}, {self.size[1]}, 3) uint8 RGB, got {image.shape} {image.dtype}")
        s = self.settings

        # hand keypoints and box
        keypoints = None
        if self.hand_detector is not None:
            hand = self._select_hand(self.hand_detector(image), cues)
            if hand is not None:
                keypoints = hand.keypoints_2d
                cues.hand_keypoints, cues.hand_keypoints_3d = hand.keypoints_2d, hand.keypoints_3d
                cues.hand_side, cues.hand_score = hand.side, hand.score
                cues.hand_box = clip_box(hand.box, self.size)
                self._last_hand_centre = _centre(hand.box)

        # hand mask from files (precedence) or GrabCut; refined after the object mask below
        hand_mask = None
        if self.hand_mask_files is not None and self.hand_mask_files.has(t):
            hand_mask = self.hand_mask_files.read(t)[0]
            if not hand_mask.any():
                hand_mask = None

        # object box and mask
        mask, unknown_file, source = None, None, ""
        if self.object_mask_files is not None and self.object_mask_files.has(t):
            mask, unknown_file = self.object_mask_files.read(t)
            source = "file"
            if not mask.any():
                mask = None
                cues.messages.append("object mask file is empty: object marked absent")
        external = None if self.object_detections is None else self.object_detections[t]
        if source == "file":  # an external mask is trusted: its box is the object's box
            box = box_from_mask(mask) if mask is not None else np.full(4, np.nan)
            step = self.object_tracker.update(box[None] if mask is not None else None)
        elif self.object_detections is not None:
            step = self.object_tracker.update(external)
            box = clip_box(step.box, self.size) if box_is_valid(step.box) else np.full(4, np.nan)
            if box_is_valid(box):
                mask, source, _ = self._segment_object(image, box, keypoints, hand_mask)
        else:
            guess = self.object_tracker.predict()
            if t > 0 and box_is_valid(guess):
                guess = scale_box(guess, s.object_search_scale)
            if not box_is_valid(guess):
                guess = self._search_box()
                if guess is not None:
                    cues.messages.append("object lost: searching near its last position")
            if guess is not None:
                guess = clip_box(guess, self.size)
            if guess is None or not box_is_valid(guess):
                step = self.object_tracker.update(None)
                cues.messages.append("object box outside the image")
                box = np.full(4, np.nan)
            else:
                mask, source, reinit = self._segment_object(image, guess, keypoints, hand_mask)
                if reinit:
                    cues.messages.append("object mask re-initialized from the box (previous mask did not fit)")
                measured = box_from_mask(mask) if mask is not None else None
                step = self.object_tracker.update(None if measured is None else measured[None])
                box = step.box
                if step.matched < 0:
                    mask = None  # the mask did not agree with the track (or there was none)
        cues.object_track = step.status
        if box_is_valid(box):
            box = clip_box(box, self.size)
        cues.object_box = box if box_is_valid(box) else np.full(4, np.nan)
        if mask is None and source != "file":
            cues.messages.append("no object mask" + (" (object not found)" if not box_is_valid(box) else " (segmentation failed)"))
        cues.object_mask_source = source if mask is not None else ""

        # hand mask by GrabCut, with the object mask as probable background
        if hand_mask is None and keypoints is not None and s.hand_masks:
            hand_mask = grabcut_hand_mask(image, keypoints, cues.hand_box if box_is_valid(cues.hand_box) else None,
                                          object_mask=mask, settings=s.grabcut).mask
        if keypoints is not None or (self.hand_mask_files is not None and hand_mask is not None):
            cues.hand_mask = hand_mask

        if mask is not None:
            unknown = np.zeros(self.size, dtype=bool) if unknown_file is None else unknown_file
            if s.hand_occlusion_unknown and hand_mask is not None and source != "file":
                region = np.zeros(self.size, dtype=bool)
                rows, cols = box_pixel_slices(scale_box(cues.object_box, 1.2), self.size)
                region[rows, cols] = True
                unknown = unknown | ((hand_mask > 0) & region & (mask == 0))
            cues.object_mask, cues.object_unknown = mask, unknown
            self._prev_mask, self._prev_box = mask, box_from_mask(mask)
            self._confirmed_box = cues.object_box.copy()
            self._confirmed_hand_centre = self._last_hand_centre
        elif not box_is_valid(cues.object_box):
            self._prev_mask = self._prev_box = None
        return cues


# ---------------------------------------------------------------------------------------------------- clips


def default_intrinsics(image_size: tuple[int, int], focal: float | None = None, fov_degrees: float = 60.0):
    """Square-pixel intrinsics with the principal point at the image centre; focal from ``focal`` (pixels)
    or the horizontal field of view ``fov_degrees``."""
    from hoFit.geometry.cameras import CameraIntrinsics

    h, w = image_size
    if focal is None:
        focal = (w / 2.0) / math.tan(math.radians(fov_degrees) / 2.0)
    return CameraIntrinsics.from_fov(int(w), int(h), float(focal))


def open_frames(path: str | Path):
    """A frame source for a folder of images, one image file or a video file.

    Raises:
        HoFitError: missing path, an empty folder, or a video that cannot be decoded.
    """
    from hoFit.data.frames import IMAGE_EXTENSIONS, ImageFrames, VideoFrames

    path = Path(path)
    if path.is_dir():
        return ImageFrames.from_folder(path)
    if not path.exists():
        raise HoFitError(f"frames not found: {path} (expected a folder of images or a video file)")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return ImageFrames([path])
    source = VideoFrames(path)  # raises HoFitError when ffmpeg cannot read it
    if source.video_frame_count == 0:
        raise HoFitError(f"video {path}: no frame could be decoded")
    return source


@dataclass
class DetectReport:
    """Summary of :func:`detect_clip`: the clip directory, frame counts, per-frame messages."""

    clip_dir: Path
    num_frames: int
    hand_frames: int
    object_frames: int
    mask_frames: int
    messages: dict[int, list[str]]
    complete: bool = True


def _frame_names(frames) -> list[str]:
    paths = getattr(frames, "paths", None)
    if paths is not None:
        return [Path(p).stem for p in paths]
    return [f"{i:06d}" for i in range(frames.num_frames)]


def _read_frame(frames, index: int, size: tuple[int, int]) -> tuple[np.ndarray | None, str]:
    """(image or None, reason). A video that ends early raises HoFitError (nothing after it can be read)."""
    from hoFit.data.frames import read_image

    paths = getattr(frames, "paths", None)
    if paths is None:
        return frames[index], ""
    try:
        image = read_image(paths[index])
    except HoFitError as exc:
        return None, str(exc)
    if image.shape[:2] != size:
        return None, (f"{paths[index]}: size {image.shape[1]}x{image.shape[0]} (WxH) differs from the clip's "
                      f"{size[1]}x{size[0]} (first frame); frame marked missing")
    return image, ""


def detect_clip(
    frames_path: str | Path,
    out_dir: str | Path,
    object_box: np.ndarray | None,
    settings: DetectSettings | None = None,
    template: str = "",
    object_scale: float = 1.0,
    focal: float | None = None,
    object_mask_dir: str | Path | None = None,
    hand_mask_dir: str | Path | None = None,
    object_detections: Sequence[np.ndarray | None] | None = None,
    overwrite: bool = False,
    max_frames: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    hand_detector: Callable[[np.ndarray], list[HandDetection]] | None = None,
) -> DetectReport:
    """Turn frames into a clip directory (see ``docs/clip_format.md``) with cue overlays in ``overlays/``.

    Args:
        frames_path: folder of images, an image or a video.
        out_dir: the clip directory to write.
        object_box: (4,) object box in the first frame, or None with ``object_detections``/mask files.
        settings: :class:`DetectSettings`.
        template: object template for the clip (mesh path or ``procedural:<category>``); "" records
            ``procedural:unspecified`` and warns.
        object_scale: template units to metres.
        focal: focal length in pixels (default from ``settings.fov_degrees``).
        object_mask_dir, hand_mask_dir: folders of per-frame mask PNGs from an external segmenter.
        object_detections: per-frame external object boxes (N_t, 4) or None.
        overwrite: replace an existing ``out_dir``.
        max_frames: process only the first frames.
        progress: called with (frames done, total).
        hand_detector: a callable ``image -> list[HandDetection]`` used instead of MediaPipe (any hand-pose
            network can be plugged in this way); None uses MediaPipe when ``settings.detect_hands``.

    Returns:
        :class:`DetectReport`. If processing stops early (interrupt, a video that ends early, an unexpected
        error) the frames processed so far are saved before the error propagates.
    """
    from hoFit.data.frames import ImageFrames, write_image

    s = settings or DetectSettings()
    out_dir = Path(out_dir).absolute()
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise HoFitError(f"output {out_dir} exists and is not empty; choose another --out or pass --overwrite")
    frames = open_frames(frames_path)
    total = frames.num_frames if max_frames is None else min(frames.num_frames, int(max_frames))
    size = frames.size
    names = _frame_names(frames)
    file_masks = FileMasks(object_mask_dir, names, size) if object_mask_dir else None
    hand_files = FileMasks(hand_mask_dir, names, size) if hand_mask_dir else None
    if object_detections is not None and len(object_detections) < total:
        raise HoFitError(f"object detections cover {len(object_detections)} frames, the clip has {total}")

    sam = None
    if s.segmenter in ("auto", "sam"):
        checkpoint = segment_anything_checkpoint(s.sam.checkpoint or None)
        if checkpoint is not None:
            sam = SamBoxSegmenter(s.sam)
            log.info("object masks by Segment Anything (%s)", checkpoint)
        elif s.segmenter == "sam":
            raise HoFitError("--segmenter sam: Segment Anything is not usable; install segment-anything and set "
                             "HOFIT_SAM_CHECKPOINT (or --sam-checkpoint)")

    detector = None
    if s.detect_hands and hand_detector is None:
        from hoFit.perception.hand_landmarks import MediaPipeHandDetector

        detector = MediaPipeHandDetector(s.hands)
        hand_detector = detector.detect
    elif not s.detect_hands:
        hand_detector = None

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.detect-", dir=out_dir.parent))
    overlay_dir = staging / "overlays"
    overlay_dir.mkdir()
    substitutes = staging / "frames"
    results: list[FrameCues] = []
    messages: dict[int, list[str]] = {}
    complete = False
    error: BaseException | None = None
    try:
        extractor = CueExtractor(size, object_box, s, hand_detector, file_masks, hand_files, object_detections, sam)
        for t in range(total):
            image, reason = _read_frame(frames, t, size)
            if image is None:
                cues = FrameCues(index=t, usable=False, messages=[reason])
                extractor._t += 1
                extractor.object_tracker.update(None)
                extractor.hand_tracker.update(None)
            else:
                try:
                    cues = extractor.process(image)
                except (HoFitError, cv2.error, ValueError) as exc:
                    cues = FrameCues(index=t, messages=[f"cue extraction failed: {exc}"])
                    log.warning("frame %d: cue extraction failed: %s", t, exc)
            results.append(cues)
            if cues.messages:
                messages[t] = cues.messages
                log.info("frame %d (%s): %s", t, names[t], "; ".join(cues.messages))
            if s.overlays:
                base = image if image is not None else np.full((*size, 3), 96, np.uint8)
                caption = f"{t} {names[t]}" + ("" if not cues.messages else " | " + "; ".join(cues.messages))
                write_image(overlay_dir / f"{t:06d}.png", draw_cues(
                    base, cues.hand_keypoints, cues.hand_box, cues.object_box, cues.hand_mask, cues.object_mask,
                    cues.object_unknown, caption[:120]))
            if progress is not None:
                progress(t + 1, total)
        complete = True
    except BaseException as exc:  # save what was processed, then re-raise
        error = exc
    finally:
        if detector is not None:
            detector.close()

    try:
        done = len(results)
        if done == 0:
            if error is not None:
                raise error
            raise HoFitError(f"no frame of {frames_path} could be processed")
        frame_source = frames.select(list(range(done)))
        paths = getattr(frame_source, "paths", None)
        copy_frames = True
        if paths is not None:
            paths = list(paths)
            for cues in results:
                if not cues.usable:  # a placeholder of the clip's size keeps the clip loadable
                    substitutes.mkdir(exist_ok=True)
                    placeholder = substitutes / f"missing_{cues.index:06d}.png"
                    write_image(placeholder, np.full((*size, 3), 96, np.uint8))
                    paths[cues.index] = placeholder
            frame_source = ImageFrames(paths, size=size)
        clip = _assemble_clip(results, frame_source, size, names[:done], s, template, object_scale, focal, error)
        clip.name = out_dir.name
        clip.save(out_dir, overwrite=overwrite, copy_frames=copy_frames)
        if s.overlays:
            target = out_dir / "overlays"
            if target.exists():
                shutil.rmtree(target)
            shutil.move(str(overlay_dir), str(target))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if error is not None:
        log.error("processing stopped at frame %d (%s); the %d frames before it were saved to %s",
                  len(results), type(error).__name__, len(results), out_dir)
        raise error
    return DetectReport(
        clip_dir=out_dir,
        num_frames=len(results),
        hand_frames=sum(c.hand_keypoints is not None for c in results),
        object_frames=sum(box_is_valid(c.object_box) for c in results),
        mask_frames=sum(c.object_mask is not None for c in results),
        messages=messages,
        complete=complete,
    )


def _assemble_clip(results, frame_source, size, names, s, template, object_scale, focal, error):
    from hoFit.data.clip import Clip, HandCues, ObjectCues
    from hoFit.data.masks import MaskSequence

    count = len(results)
    hand_present = np.array([c.hand_keypoints is not None for c in results])
    hands = []
    if hand_present.any():
        votes = {"right": 0.0, "left": 0.0}
        for c in results:
            if c.hand_keypoints is not None:
                votes[c.hand_side] += c.hand_score
        side = s.side if s.side != "auto" else max(votes, key=votes.get)
        keypoints = np.full((count, 21, 2), np.nan, dtype=np.float32)
        confidence = np.zeros((count, 21), dtype=np.float32)
        boxes = np.full((count, 4), np.nan, dtype=np.float32)
        for c in results:
            if c.hand_keypoints is not None:
                keypoints[c.index] = c.hand_keypoints
                confidence[c.index] = max(c.hand_score, 1e-3)
                boxes[c.index] = c.hand_box
        hand_masks = None
        if any(c.hand_mask is not None for c in results):
            hand_masks = MaskSequence.from_frames([c.hand_mask if p else None for c, p in zip(results, hand_present)], size=size)
        hands.append(HandCues(side, keypoints, confidence, hand_present, boxes, hand_masks))
    object_boxes = np.stack([c.object_box for c in results]).astype(np.float32)
    object_present = np.isfinite(object_boxes).all(axis=1)
    masks, unknowns = [], []
    for c, present in zip(results, object_present):
        ok = present and c.object_mask is not None and (c.object_mask.any() or (c.object_unknown is not None and c.object_unknown.any()))
        masks.append(c.object_mask if ok else None)
        unknowns.append(c.object_unknown if ok else None)
    object_masks = MaskSequence.from_frames(masks, unknowns, size=size) if any(m is not None for m in masks) else None
    if not template:
        log.warning("no --template given: the clip records 'procedural:unspecified'; set object.template in clip.yaml "
                    "(a mesh path or procedural:<category>) before fitting")
        template = "procedural:unspecified"
    if len(set(names)) != len(names):
        names = [f"{i:06d}" for i in range(count)]
    frame_notes = {names[c.index]: "; ".join(c.messages) for c in results if c.messages}
    meta = {
        "source": "hofit detect",
        "intrinsics_guessed": focal is None,
        "segmenter": sorted({c.object_mask_source for c in results if c.object_mask_source}),
        "frame_notes": frame_notes,
        "unusable_frames": [c.index for c in results if not c.usable],
    }
    if error is not None:
        meta["incomplete"] = f"stopped after {count} frames: {type(error).__name__}: {error}"
    return Clip(
        frames=frame_source,
        intrinsics=default_intrinsics(size, focal, s.fov_degrees),
        hands=hands,
        object=ObjectCues(object_present, object_boxes, object_masks),
        template=template,
        object_scale=object_scale,
        frame_ids=list(names),
        fps=float(getattr(frame_source, "fps", 0.0) or 30.0),
        meta=meta,
    )
