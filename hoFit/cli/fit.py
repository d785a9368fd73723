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
    parser.add_argument("--object", metavar="MESH", help="object template (OBJ/PLY/GLB/STL, or procedural:<category>) "
                        "replacing the clip's; its metric scale is --object-scale")
    parser.add_argument("--out", metavar="DIR", help="result directory (default: results/<clip name>)")
    parser.add_argument("--resume", metavar="DIR", help="continue from a saved result (skips finished stages)")
    parser.add_argument("--start-stage", type=int, help="with --resume: first stage to run (default: the next one)")
    parser.add_argument("--detect", action="store_true", help="compute the cues from raw frames first (hofit detect)")
    parser.add_argument("--no-render", action="store_true", help="skip videos and report")
    add_config_arguments(parser)
    from hoFit.cli import detect as detect_cli

    # The detection options (--object-box, --template, ...) serve --detect; --object-scale also gives the
    # scale of --object.
    before = {action.dest for action in parser._actions}
    detect_cli.add_arguments(parser, include_io=False)
    detect_only = sorted({action.dest for action in parser._actions} - before - {"object_scale"})
    parser.set_defaults(_detect_only=detect_only, _detect_defaults={d: parser.get_default(d) for d in detect_only})


def run(args: argparse.Namespace) -> int:
    from hoFit.data.clip import Clip
    from hoFit.fit.api import fit_clip

    config = config_from_args(args)
    clip_dir = Path(args.clip)
    if not args.detect:
        given = [d for d in args._detect_only if getattr(args, d) != args._detect_defaults[d]]
        if given:
            option = "--" + given[0].replace("_", "-")
            raise HoFitError(f"{option} is a detection option: add --detect (to compute cues from raw frames) or drop it")
    if args.detect:
        clip_dir = _detect(args, clip_dir)
    clip = Clip.load(clip_dir)
    if args.object:
        template = args.object
        if not template.startswith("procedural:"):
            mesh = Path(template)
            if not mesh.is_file():
                raise HoFitError(f"--object {mesh}: file not found; give a mesh file or procedural:<category>")
            template = str(mesh.resolve())
        clip = dataclasses.replace(clip, template=template, object_scale=args.object_scale)
    if clip.template.endswith(":unspecified"):
        raise HoFitError(
            f"clip '{clip.name}' names no object template; pass --object MESH (or procedural:<category>)"
        )
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
    """Cues from raw frames into ``<out>/clip`` (the perception front end), returning that clip directory."""
    from hoFit.cli import detect as detect_cli

    if args.object and not args.template:
        args.template = args.object
    clip_dir = Path(args.out or Path("results") / source.stem) / "clip"
    detect_cli.detect_from_args(args, source, clip_dir, overwrite=True)
    return clip_dir
