"""Fit hands and object to a clip directory (clip format), write the result directory, videos and report.

The clip directory holds frames, intrinsics and 2D cues (see docs/clip_format.md); with --detect, a
folder of frames or a video is turned into a clip first by the perception front end.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from hoFit.cli.common import add_config_arguments, config_from_args
from hoFit.errors import HoFitError

__all__ = ["add_arguments", "run"]

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("clip", metavar="CLIP_DIR", help="clip directory (or frames/video with --detect)")
    parser.add_argument("--object", metavar="MESH", help="object template (OBJ/PLY/GLB/STL, metres) replacing the clip's")
    parser.add_argument("--object-scale", type=float, help="metric scale of --object (default 1.0)")
    parser.add_argument("--out", metavar="DIR", help="result directory (default: results/<clip name>)")
    parser.add_argument("--resume", metavar="DIR", help="continue from a saved result (skips finished stages)")
    parser.add_argument("--start-stage", type=int, help="with --resume: first stage to run (default: the next one)")
    parser.add_argument("--detect", action="store_true", help="compute the cues from raw frames first (hofit detect)")
    parser.add_argument("--object-box", metavar="X1,Y1,X2,Y2", help="with --detect: object box in the first frame")
    parser.add_argument("--no-render", action="store_true", help="skip videos and report")
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from hoFit.data.clip import Clip
    from hoFit.fit.api import fit_clip

    config = config_from_args(args)
    clip_dir = Path(args.clip)
    if args.detect:
        clip_dir = _detect(args, clip_dir)
    clip = Clip.load(clip_dir)
    if args.object:
        mesh = Path(args.object)
        if not mesh.is_file():
            raise HoFitError(f"--object {mesh}: file not found")
        clip = dataclasses.replace(clip, template=str(mesh.resolve()), object_scale=args.object_scale or 1.0)
    out = Path(args.out) if args.out else Path("results") / clip.name
    result = fit_clip(clip, config, progress=not args.quiet, resume=args.resume, start_stage=args.start_stage)
    result.config["clip"] = {"path": str(clip_dir.resolve())}
    result.save(out)
    if not args.quiet:
        total = sum(result.timings.values())
        print(f"fitted {clip.num_frames} frames of '{clip.name}' in {total:.1f} s -> {out}")
        for event in result.log:
            print(f"  note: {event}")
    if clip.ground_truth is not None:
        from hoFit.eval.evaluate import evaluate_result, format_table, metrics_to_json
        from hoFit.utils.files import write_json

        metrics = evaluate_result(result, clip)
        write_json(out / "metrics.json", metrics_to_json(metrics))
        if not args.quiet:
            print(format_table(metrics))
    if not args.no_render:
        from hoFit.viz import render_all

        render_all(out, clip=clip, quiet=args.quiet)
    return 0


def _detect(args: argparse.Namespace, source: Path) -> Path:
    from hoFit.cli import detect as detect_cli

    clip_dir = Path(args.out or "results") / f"{source.stem}_clip"
    detect_args = argparse.Namespace(
        source=str(source), out=str(clip_dir), object_box=args.object_box, quiet=args.quiet, verbose=args.verbose
    )
    code = detect_cli.run(detect_args)
    if code != 0:
        raise HoFitError(f"detection on {source} failed; run 'hofit detect {source} --help' to see the options")
    return clip_dir
