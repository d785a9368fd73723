"""Run the whole pipeline on a generated clip: synthesize, fit, evaluate, render videos and a report.

Nothing needs downloading: the clip is made by hoFit's synthetic generator with the bundled OpenHand
model holding a procedural object, so the result can be scored against exact ground truth. Writes
OUT/clip (the input, in the clip format) and OUT/result (parameters, meshes, metrics.json, videos,
progress video, losses.png, report.html).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hoFit.cli.common import add_config_arguments, config_from_args

__all__ = ["add_arguments", "run", "HEADLINE_METRICS"]

# Metric name -> label printed at the end of the demo.
HEADLINE_METRICS = {
    "object_add_s": "object ADD-S",
    "object_translation_error": "object translation error",
    "joint_error": "hand joint error",
    "joint_error_pa": "hand joint error (Procrustes)",
    "max_penetration_depth": "max penetration",
    "contact_ratio": "contact ratio",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="hofit_demo", metavar="DIR", help="output folder (default ./hofit_demo)")
    parser.add_argument("--object", default="procedural:mug", help="object of the generated clip (default procedural:mug)")
    parser.add_argument("--frames", type=int, default=10, help="frames in the generated clip (default 10)")
    parser.add_argument("--size", default="240x320", metavar="HxW", help="image size of the clip (default 240x320)")
    parser.add_argument("--seed", type=int, default=3, help="seed of the generated clip (default 3)")
    parser.add_argument("--no-videos", action="store_true", help="skip the videos and report")
    add_config_arguments(parser)


def _parse_size(text: str) -> tuple[int, int]:
    from hoFit.errors import HoFitError

    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError as error:
        raise HoFitError(f"--size {text!r}: expected HEIGHTxWIDTH in pixels, e.g. 240x320") from error
    return height, width


def run(args: argparse.Namespace) -> int:

    from hoFit.data.synth.camera import HO3D_FOCAL
    from hoFit.data.synth.generator import SynthConfig, generate_clip
    from hoFit.eval.evaluate import evaluate_result, format_table, metrics_to_json
    from hoFit.fit.api import fit_clip
    from hoFit.utils.files import write_json

    config = config_from_args(args)
    out = Path(args.out)
    height, width = _parse_size(args.size)
    say = (lambda *a: None) if args.quiet else print
    timings = {}

    start = time.perf_counter()
    say(f"[1/4] generating a {args.frames}-frame {height}x{width} clip of a hand holding {args.object} ...")
    synth = generate_clip(
        SynthConfig(object=args.object, num_frames=args.frames, image_size=(height, width),
                    focal=HO3D_FOCAL, seed=args.seed, name="demo")
    )
    clip_dir = synth.clip.save(out / "clip", overwrite=True)
    from hoFit.data.clip import Clip

    clip = Clip.load(clip_dir)
    timings["generate"] = time.perf_counter() - start

    start = time.perf_counter()
    say(f"[2/4] fitting on {config.device} (preset {args.preset}) ...")
    recorder = None
    if not args.no_videos:
        recorder = _progress_recorder(clip, config)
    result = fit_clip(clip, config, progress=not args.quiet, callback=recorder)
    result.config["clip"] = {"path": str(Path(clip_dir).resolve())}
    result_dir = result.save(out / "result")
    timings["fit"] = time.perf_counter() - start

    start = time.perf_counter()
    say("[3/4] evaluating against the generated ground truth ...")
    metrics = evaluate_result(result, clip)
    write_json(result_dir / "metrics.json", metrics_to_json(metrics))
    timings["evaluate"] = time.perf_counter() - start

    if not args.no_videos:
        start = time.perf_counter()
        say("[4/4] rendering videos and the report ...")
        if recorder is not None and recorder.frames:
            recorder.write(result_dir / "videos" / "progress.mp4")
        from hoFit.viz import render_all

        render_all(result_dir, clip=clip, result=result, quiet=args.quiet)
        timings["render"] = time.perf_counter() - start

    total = sum(timings.values())
    if args.verbose:
        print(format_table(metrics))
    print(f"hofit demo finished in {total:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in timings.items())})")
    for name, label in HEADLINE_METRICS.items():
        if name in metrics:
            value = metrics.get_value(name)
            print(f"  {label:<32} {value.value:8.3f} {value.unit}")
    print(f"result: {result_dir}")
    if not args.no_videos:
        print(f"report: {result_dir / 'report.html'}")
    return 0


def _progress_recorder(clip, config):
    """Records the first frame's overlay every 10 iterations (the fitting-progress video)."""
    from hoFit.fit.api import prepare_template
    from hoFit.models.hand import hand_layer_from_config
    from hoFit.viz.progress import ProgressRecorder

    template, _ = prepare_template(clip, config)
    faces = [hand_layer_from_config(config.hand, side=h.side).faces.cpu().numpy() for h in clip.hands]
    return ProgressRecorder(
        every=10, intrinsics=clip.intrinsics, hand_faces=faces, object_faces=template.faces,
        frame=clip.frames[0], hand_sides=[h.side for h in clip.hands],
    )
