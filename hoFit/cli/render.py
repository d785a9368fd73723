"""Render a result's videos (input | camera view | rotated views) and its report page.

Reads a result directory written by `hofit fit` / `hofit demo` and writes videos/summary.<fmt>,
videos/overlay.<fmt>, videos/rotated.<fmt>, losses.png and report.html into it. The input frames come
from --clip or from the clip path stored in the result's config.yaml; without either the fit is drawn
on grey.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from hoFit.errors import HoFitError

__all__ = ["add_arguments", "run"]


def _views(text: str) -> tuple[str, ...]:
    from hoFit.viz.views import VIEW_NAMES

    views = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in views if v not in VIEW_NAMES]
    if not views or bad:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {','.join(VIEW_NAMES)}, got '{text}'")
    return views


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got '{text}'") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got '{text}'")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of degrees, got '{text}'") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number of degrees, got '{text}'")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("result_dir", metavar="RESULT_DIR", help="result directory written by hofit fit / demo")
    parser.add_argument("--views", type=_views, default=("camera", "rotated"),
                        help="comma-separated views to draw: camera,rotated (default both)")
    parser.add_argument("--format", dest="fmt", choices=("mp4", "gif", "png"), default="mp4",
                        help="video format: H.264 mp4 (default), gif, or a folder of png frames")
    parser.add_argument("--fps", type=_positive, default=None, help="frames per second (default: the clip's, else 10)")
    parser.add_argument("--orbit", type=_finite, default=None, metavar="DEGREES",
                        help="one rotated view orbiting DEGREES across the clip instead of fixed yaws 90 and 180")
    parser.add_argument("--yaws", default=None, metavar="DEG,DEG",
                        help="fixed yaw angles of the rotated views in degrees (default 90,180)")
    parser.add_argument("--size", type=int, default=480, metavar="PIXELS",
                        help="longer side of each panel in pixels (default 480)")
    parser.add_argument("--clip", default=None, metavar="CLIP_DIR",
                        help="clip directory with the input frames (default: the one stored in the result)")
    parser.add_argument("--no-report", action="store_true", help="do not rewrite report.html")


def run(args: argparse.Namespace) -> int:
    import logging

    from hoFit.fit.result import FitResult
    from hoFit.viz.outputs import render_all, render_videos, resolve_clip
    from hoFit.viz.views import ViewSettings

    result_dir = Path(args.result_dir)
    try:
        yaws = (90.0, 180.0) if args.yaws is None else tuple(float(y) for y in args.yaws.split(",") if y.strip())
    except ValueError:
        raise HoFitError(f"--yaws {args.yaws}: expected comma-separated degrees, e.g. 90,180") from None
    if not yaws:
        raise HoFitError(f"--yaws {args.yaws}: expected at least one angle, e.g. 90,180")
    try:
        settings = ViewSettings(yaws=yaws, max_panel_size=args.size)
    except ValueError as error:
        raise HoFitError(str(error)) from error
    quiet = bool(getattr(args, "quiet", False))
    result = FitResult.load(result_dir)
    if args.no_report:
        clip, _ = resolve_clip(result, args.clip, result_dir)
        if clip is None:
            logging.getLogger("hoFit.viz").warning("no input frames: the camera view is drawn on grey")
        fps = args.fps or (float(clip.fps) if clip is not None else 10.0)
        if args.orbit is not None:
            settings.orbit = args.orbit
        videos = render_videos(result, result_dir, None if clip is None else clip.frames, args.views, args.fmt,
                               fps, settings, quiet)
        paths = list(videos.values())
    else:
        outputs = render_all(result_dir, clip=args.clip, result=result, views=args.views, fmt=args.fmt,
                             fps=args.fps, orbit=args.orbit, settings=settings, quiet=quiet)
        paths = list(outputs.videos.values()) + [p for p in (outputs.losses, outputs.report) if p is not None]
    for path in paths:
        print(path)
    return 0
