"""Evaluate one result against the ground truth of its clip and write metrics.json.

Metrics (hoFit.eval): hand keypoint / mesh errors and PCK AUC (unaligned, Procrustes-aligned,
scale-and-translation-aligned), object rotation / translation / ADD / ADD-S errors, the object error in
the hand frame, acceleration (jitter), and hand-object penetration and contact. Ground truth comes from
--gt CLIP_DIR or from the clip path stored in the result; without ground truth only the metrics that
need none (jitter, penetration, contact) are reported. Writes RESULT_DIR/metrics.json as
{name: {value, unit, higher_is_better, description}} and prints a table.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hoFit.eval.evaluate import evaluate_result, format_table, metrics_to_json

__all__ = ["add_arguments", "run"]

logger = logging.getLogger(__name__)



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("result_dir", metavar="RESULT_DIR", help="result directory written by hofit fit / demo")
    parser.add_argument("--gt", default=None, metavar="CLIP_DIR",
                        help="clip directory with ground truth (default: the clip stored in the result)")
    parser.add_argument("--no-plausibility", action="store_true",
                        help="skip penetration and contact (the slowest metrics)")
    parser.add_argument("--no-report", action="store_true", help="do not rewrite report.html with the new metrics")


def run(args: argparse.Namespace) -> int:
    from hoFit.fit.result import FitResult
    from hoFit.utils.files import write_json
    from hoFit.viz.outputs import resolve_clip
    from hoFit.viz.report import write_report

    result_dir = Path(args.result_dir)
    result = FitResult.load(result_dir)
    clip, _ = resolve_clip(result, args.gt, result_dir)
    if clip is None:
        logger.warning("no clip given (--gt CLIP_DIR) or stored in the result: only metrics without ground truth")
    elif clip.ground_truth is None:
        logger.warning("clip %s has no ground truth (gt.npz): only metrics without ground truth", clip.name)
    metrics = evaluate_result(result, clip, plausibility=not args.no_plausibility)
    write_json(result_dir / "metrics.json", metrics_to_json(metrics))
    if not args.no_report:
        write_report(result_dir)
    if not getattr(args, "quiet", False):
        print(format_table(metrics))
    print(result_dir / "metrics.json")
    return 0
