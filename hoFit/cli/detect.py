"""Detect 2D cues (hand keypoints, boxes, masks) in frames or a video and write a clip.

Example: ``hofit detect video.mp4 --object-box 210,140,330,260 --out my_clip --template mug.obj``.
Hand keypoints come from MediaPipe (``pip install "hofit[perception]"`` and ``hofit models``), object and
hand masks from GrabCut, or from PNG files of any segmenter (``--object-masks``), or Segment Anything when
installed with a checkpoint. Overlays of the cues are written to ``CLIP_DIR/overlays``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from hoFit.errors import HoFitError

__all__ = ["add_arguments", "run", "settings_from_args", "detect_from_args", "load_object_detections"]

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser, include_io: bool = True) -> None:
    """Add the detect options. ``include_io=False`` leaves out FRAMES and --out (for ``hofit fit --detect``)."""
    if include_io:
        parser.add_argument("frames", metavar="FRAMES_DIR_OR_VIDEO", help="folder of images, one image, or a video file")
        parser.add_argument("--out", required=True, metavar="CLIP_DIR", help="clip directory to write")
        parser.add_argument("--overwrite", action="store_true", help="replace CLIP_DIR if it exists")
    group = parser.add_argument_group("detection")
    group.add_argument("--object-box", metavar="X1,Y1,X2,Y2", help="object box in the first frame (pixels)")
    group.add_argument("--object-box-json", metavar="FILE", help='JSON with the first-frame box, e.g. {"box": [x1, y1, x2, y2]}')
    group.add_argument("--object-detections", metavar="FILE_OR_CLIP",
                       help="per-frame object boxes: a clip directory (its object boxes) or a JSON list with one "
                            "entry per frame: null, [x1,y1,x2,y2] or a list of such boxes")
    group.add_argument("--object-masks", metavar="DIR", help="per-frame object mask PNGs from any segmenter (take precedence)")
    group.add_argument("--hand-masks", metavar="DIR", help="per-frame hand mask PNGs (take precedence)")
    group.add_argument("--template", default="", help="object template for the clip: mesh path or procedural:<category>")
    group.add_argument("--object-scale", type=float, default=1.0, help="template units to metres (default 1)")
    group.add_argument("--focal", type=float, default=None, help="focal length in pixels (default: from --fov)")
    group.add_argument("--fov", type=float, default=60.0, help="horizontal field of view in degrees when --focal is not given")
    group.add_argument("--side", choices=("auto", "right", "left"), default="auto",
                       help="which hand to keep (default: the hand nearest the object)")
    group.add_argument("--no-hands", action="store_true", help="skip hand detection (object cues only)")
    group.add_argument("--model", default="", help="hand_landmarker.task to use (default: the one cached by `hofit models`)")
    group.add_argument("--mirrored", action="store_true", help="frames are mirrored (selfie camera): swap the hand side")
    group.add_argument("--segmenter", choices=("auto", "grabcut", "sam"), default="auto",
                       help="object masks: auto = Segment Anything when usable, else GrabCut")
    group.add_argument("--sam-checkpoint", default="", help="Segment Anything checkpoint (default $HOFIT_SAM_CHECKPOINT)")
    group.add_argument("--no-overlays", action="store_true", help="do not write overlay PNGs")
    group.add_argument("--max-frames", type=int, default=None, help="process only the first N frames")


def settings_from_args(args: argparse.Namespace):
    from hoFit.perception.external import SamSettings
    from hoFit.perception.hand_landmarks import HandLandmarkerSettings
    from hoFit.perception.pipeline import DetectSettings

    return DetectSettings(
        side=args.side,
        detect_hands=not args.no_hands,
        segmenter=args.segmenter,
        fov_degrees=args.fov,
        overlays=not args.no_overlays,
        hands=HandLandmarkerSettings(model_path=args.model, mirrored_input=args.mirrored),
        sam=SamSettings(checkpoint=args.sam_checkpoint),
    )


def load_object_detections(path: str | Path) -> list[np.ndarray | None]:
    """Per-frame object boxes from a clip directory or a JSON list (see ``--object-detections``)."""
    path = Path(path)
    if path.is_dir():
        from hoFit.data.clip import Clip

        clip = Clip.load(path)
        if clip.object.boxes is None:
            raise HoFitError(f"{path}: the clip has no object boxes")
        return [None if not np.isfinite(b).all() else b[None].astype(np.float64) for b in clip.object.boxes]
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise HoFitError(f"--object-detections {path}: cannot read ({exc})") from exc
    if isinstance(data, dict):
        data = data.get("boxes", data.get("frames"))
    if not isinstance(data, list):
        raise HoFitError(f"{path}: expected a JSON list with one entry per frame (null, a box, or a list of boxes)")
    out: list[np.ndarray | None] = []
    for t, entry in enumerate(data):
        if entry is None or entry == []:
            out.append(None)
            continue
        arr = np.asarray(entry, dtype=np.float64)
        arr = arr.reshape(1, 4) if arr.shape == (4,) else arr
        if arr.ndim != 2 or arr.shape[1] != 4 or not np.isfinite(arr).all():
            raise HoFitError(f"{path}: frame {t}: expected [x1, y1, x2, y2] or a list of them, got {entry!r}")
        out.append(arr)
    return out


def detect_from_args(args: argparse.Namespace, frames: str | Path, out: str | Path, overwrite: bool = False):
    """Run the detection described by ``args`` (the options of :func:`add_arguments`); returns the report."""
    from hoFit.perception.boxes import load_box, parse_box
    from hoFit.perception.pipeline import detect_clip

    if args.object_box and args.object_box_json:
        raise HoFitError("give either --object-box or --object-box-json, not both")
    box = None
    if args.object_box:
        box = parse_box(args.object_box, "--object-box")
    elif args.object_box_json:
        box = load_box(args.object_box_json)
    detections = load_object_detections(args.object_detections) if args.object_detections else None
    if box is None and detections is None and not args.object_masks:
        raise HoFitError("the object must be located in the first frame: pass --object-box x1,y1,x2,y2 "
                         "(pixels, top-left and bottom-right corners), --object-box-json, --object-detections "
                         "or --object-masks")
    state = {"last": -1}

    def progress(done: int, total: int) -> None:
        step = max(1, total // 10)
        if done == total or done // step != state["last"]:
            state["last"] = done // step
            log.info("frame %d/%d", done, total)

    return detect_clip(
        frames, out, box, settings_from_args(args), template=args.template, object_scale=args.object_scale,
        focal=args.focal, object_mask_dir=args.object_masks, hand_mask_dir=args.hand_masks,
        object_detections=detections, overwrite=overwrite, max_frames=args.max_frames, progress=progress,
    )


def run(args: argparse.Namespace) -> int:
    report = detect_from_args(args, args.frames, args.out, args.overwrite)
    print(
        f"clip written to {report.clip_dir}: {report.num_frames} frames, hand in {report.hand_frames}, "
        f"object box in {report.object_frames}, object mask in {report.mask_frames}"
    )
    missing = {t: m for t, m in report.messages.items()}
    if missing:
        shown = list(missing.items())[:5]
        print(f"{len(missing)} frame(s) with missing cues (details in clip.yaml meta.frame_notes), e.g.:")
        for t, msgs in shown:
            print(f"  frame {t}: {'; '.join(msgs)}")
    if not args.no_overlays:
        print(f"overlays: {Path(report.clip_dir) / 'overlays'}")
    return 0
