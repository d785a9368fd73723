"""Fit and evaluate every clip of a dataset (HO-3D, CORe50 or EPIC-KITCHENS-100).

Examples:
  hofit eval-dataset ho3d --root HO3D_v2 --ycb YCB_models --sequences test --preset default --out runs/ho3d --cues CUES
  hofit eval-dataset core50 --root CORE50 --objects cup,can --out runs/core50 --detect
  hofit eval-dataset epic --root EPIC --annotations EPIC_100_validation.csv --detections HOA --out runs/epic --detect

The run is resumable: a clip whose result exists in OUT/clips/<clip> is not fitted again. Hand keypoints
come from --cues DIR (clip directories DIR/<clip>, e.g. written by ``hofit detect``), from --detect (the
perception front end, run per clip into OUT/cues), or, on HO-3D, from the ground truth (--gt-cues).

Outputs in OUT: clips/<clip>/ (result and metrics.json), metrics.json (per clip, mean/median summary, per
category), results.md (table per category). HO-3D adds predictions/<SEQ>.npz (per-frame predictions
interpolated between fitted frames), sequence metrics (object ADD/ADD-S; hand joint errors where the
split has joints, wrist error on the evaluation split), a seen/unseen-object split, and pred.json in the
challenge format (frames not fitted are zero-filled and counted). CORe50 and EPIC report mask and box
IoU, keypoint reprojection error, penetration, contact ratio and jitter.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from hoFit.errors import HoFitError

__all__ = ["add_arguments", "run", "build_dataset", "evaluate_dataset", "clip_metrics"]

logger = logging.getLogger("hoFit.eval_dataset")

DATASETS = ("ho3d", "core50", "epic")


def _csv(text: str | None) -> list[str] | None:
    return None if text in (None, "", "all") else [t.strip() for t in str(text).split(",") if t.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hoFit.cli.common import add_config_arguments

    parser.add_argument("dataset", choices=DATASETS, help="which dataset")
    parser.add_argument("--root", required=True, metavar="DIR", help="dataset folder (see docs/datasets.md)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (results, metrics, tables)")
    add_config_arguments(parser)
    clips = parser.add_argument_group("clips")
    clips.add_argument("--frame-nb", type=int, default=10, help="frames per clip (-1: whole sequences; default 10)")
    clips.add_argument("--step", type=int, default=4, help="frames between two clip frames (default 4)")
    clips.add_argument("--limit", type=int, default=None, help="fit only the first N clips")
    clips.add_argument("--clips", default=None, metavar="NAME,...", help="fit only these clips")
    clips.add_argument("--cues", default=None, metavar="DIR", help="clip directories DIR/<clip> with the 2D cues")
    clips.add_argument("--detect", action="store_true", help="compute missing hand cues with the perception front end")
    clips.add_argument("--overwrite", action="store_true", help="fit again clips that already have a result")
    clips.add_argument("--no-plausibility", action="store_true", help="skip penetration and contact metrics")
    ho3d = parser.add_argument_group("HO-3D")
    ho3d.add_argument("--ycb", metavar="DIR", help="YCB models folder (one sub-folder per object)")
    ho3d.add_argument("--split", default="evaluation", choices=("evaluation", "train"), help="HO-3D split")
    ho3d.add_argument("--sequences", default="test", help="'test' (HOMan test set), 'all' or SEQ,SEQ,...")
    ho3d.add_argument("--gt-cues", action="store_true", help="cues rendered from the ground truth (ablations)")
    ho3d.add_argument("--noise-level", type=int, default=None, help="with --gt-cues: noise preset 0-3")
    ho3d.add_argument("--mano-dir", default=None, help="MANO files, for ground-truth hand vertices (train split)")
    other = parser.add_argument_group("CORe50 / EPIC-KITCHENS")
    other.add_argument("--objects", default=None, help="CORe50 object ids or categories (e.g. 41,42 or cup,can)")
    other.add_argument("--sessions", default=None, help="CORe50 sessions (e.g. 1,2)")
    other.add_argument("--focal", type=float, default=None,
                       help="focal length in pixels (CORe50: 480; EPIC: at 640 px width, 200)")
    other.add_argument("--annotations", action="append", default=[], metavar="CSV", help="EPIC annotation CSV(s)")
    other.add_argument("--nouns", default=None, help="EPIC noun classes (default cup,can,bottle,plate,jug,phone,glass)")
    other.add_argument("--videos", default=None, help="EPIC video ids (default: every annotated video present)")
    other.add_argument("--detections", default=None, metavar="DIR", help="EPIC hand-object detections (<video>.pkl)")
    other.add_argument("--masks", default=None, metavar="DIR", help="EPIC object masks (<video>/frame_*.png)")


def build_dataset(args: argparse.Namespace):
    """The dataset object named by the arguments (no fitting involved)."""
    kind = args.dataset
    if kind == "ho3d":
        from hoFit.data.datasets.ho3d import HO3D

        if not args.ycb:
            raise HoFitError("HO-3D needs --ycb DIR: the YCB models folder (e.g. 025_mug/textured_simple.obj)")
        sequences = None if args.sequences == "all" else ("test" if args.sequences == "test" else _csv(args.sequences))
        noise = None
        if args.noise_level is not None:
            if not args.gt_cues:
                raise HoFitError("--noise-level applies to --gt-cues")
            from hoFit.data.noise import noise_level

            noise = noise_level(args.noise_level)
        hand_layer = None
        if args.mano_dir:
            from hoFit.models.hand import create_hand_layer

            hand_layer = create_hand_layer("mano", "right", mano_dir=args.mano_dir, flat_hand_mean=True, use_pca=False)
        return HO3D(args.root, args.ycb, split=args.split, sequences=sequences, frame_nb=args.frame_nb,
                    step=args.step, cues="gt" if args.gt_cues else "dataset", noise=noise, hand_layer=hand_layer)
    if kind == "core50":
        from hoFit.data.datasets.core50 import DEFAULT_FOCAL, Core50

        sessions = _csv(args.sessions)
        return Core50(args.root, objects=_csv(args.objects), sessions=None if sessions is None else [int(s) for s in sessions],
                      frame_nb=args.frame_nb, step=args.step, focal=args.focal or DEFAULT_FOCAL)
    if kind == "epic":
        from hoFit.data.datasets.epic import DEFAULT_FOCAL_AT_640, EPIC_DEFAULT_NOUNS, EpicKitchens

        if not args.annotations:
            raise HoFitError("EPIC-KITCHENS needs --annotations CSV (e.g. EPIC_100_validation.csv)")
        return EpicKitchens(args.root, args.annotations, nouns=_csv(args.nouns) or EPIC_DEFAULT_NOUNS,
                            videos=_csv(args.videos), detections_dir=args.detections, masks_dir=args.masks,
                            frame_nb=args.frame_nb, step=args.step, focal=args.focal or DEFAULT_FOCAL_AT_640)
    raise HoFitError(f"unknown dataset {kind!r}; expected one of {DATASETS}")


def clip_metrics(kind: str, result, clip, plausibility: bool = True):
    """Per-clip metrics: with 3D ground truth (HO-3D) those of ``hofit eval``, plus the 2D ones."""
    from hoFit.data.datasets.protocol import image_space_metrics

    metrics = image_space_metrics(result, clip, plausibility=plausibility)
    if kind == "ho3d" and clip.ground_truth is not None:
        from hoFit.cli.eval import evaluate_result

        metrics.update(evaluate_result(result, clip, plausibility=False))
    return metrics


def _detect_cues(clip, cues_root: Path) -> None:
    """Run the perception front end on the clip's frames and write DIR/<clip> (clip format)."""
    from hoFit.data.frames import ImageFrames
    from hoFit.perception.pipeline import detect_clip

    if not isinstance(clip.frames, ImageFrames):
        raise HoFitError(f"--detect needs image frames; clip {clip.name} has {type(clip.frames).__name__}")
    boxes = clip.object.boxes
    detections = None if boxes is None else [None if np.isnan(b).any() else b[None].astype(np.float64) for b in boxes]
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(clip.frames.paths):
            os.symlink(path.absolute(), Path(tmp) / f"{i:06d}{path.suffix.lower()}")
        first = None if boxes is None or np.isnan(boxes[0]).any() else boxes[0].astype(np.float64)
        detect_clip(tmp, cues_root / clip.name, object_box=first if detections is None else None, template=clip.template,
                    object_scale=clip.object_scale, focal=clip.intrinsics.fx, object_detections=detections, overwrite=True)


def evaluate_dataset(
    dataset,
    kind: str,
    out: str | Path,
    fit: Callable,
    config=None,
    cues_dir: str | Path | None = None,
    detect: bool = False,
    overwrite: bool = False,
    plausibility: bool = True,
    clip_names: list[str] | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> dict:
    """Fit (or reuse) every clip, evaluate it, and write the dataset's summary files.

    Args:
        dataset: a dataset of :mod:`hoFit.data.datasets`.
        kind: ``"ho3d"``, ``"core50"`` or ``"epic"``.
        out: output folder.
        fit: ``fit(clip, config) -> FitResult`` (``hoFit.fit.api.fit_clip``).
        cues_dir: clip directories with 2D cues, attached to clips that lack hand keypoints.
        detect: run the perception front end for clips without hand keypoints (cues written to OUT/cues).

    Returns:
        The content written to OUT/metrics.json.
    """
    from tqdm import tqdm

    from hoFit.data.datasets.common import attach_cues, has_hand_cues
    from hoFit.data.datasets.protocol import SequenceTracks, category_table
    from hoFit.eval.aggregate import summarize
    from hoFit.fit.result import FitResult
    from hoFit.utils.files import write_json, write_text

    out = Path(out)
    specs = list(dataset.specs)
    if clip_names:
        unknown = sorted(set(clip_names) - {s.name for s in specs})
        if unknown:
            raise HoFitError(f"--clips: no clip named {unknown[:5]} (e.g. {[s.name for s in specs[:3]]})")
        specs = [s for s in specs if s.name in clip_names]
    if limit is not None:
        specs = specs[:limit]
    if not specs:
        raise HoFitError("no clip to evaluate")
    detected_root = out / "cues"
    per_clip: dict[str, dict] = {}
    rows: list[tuple[str, dict]] = []
    tracks = SequenceTracks()
    for spec in tqdm(specs, desc=f"{kind} clips", disable=not progress):
        clip = dataset.load_clip(spec)
        if not has_hand_cues(clip):
            if cues_dir is not None and (Path(cues_dir) / clip.name / "clip.yaml").is_file():
                clip = attach_cues(clip, cues_dir)
            elif (detected_root / clip.name / "clip.yaml").is_file() and not overwrite:
                clip = attach_cues(clip, detected_root)
            elif detect:
                _detect_cues(clip, detected_root)
                clip = attach_cues(clip, detected_root)
            else:
                where = f" (no {Path(cues_dir) / clip.name})" if cues_dir is not None else ""
                raise HoFitError(
                    f"clip {clip.name} has no hand keypoints{where}: run the perception front end first, either with "
                    "--detect (needs MediaPipe, see `hofit models`) or by writing clip directories DIR/<clip name> with "
                    "cues (e.g. `hofit detect`) and passing --cues DIR"
                )
            if not has_hand_cues(clip):
                raise HoFitError(f"clip {clip.name}: the attached cues have no hand keypoint either")
        result_dir = out / "clips" / clip.name
        if (result_dir / "params.npz").is_file() and not overwrite:
            result = FitResult.load(result_dir)
            if result.num_frames and int(np.max(result.frame_indices)) >= clip.num_frames:
                raise HoFitError(f"{result_dir}: saved result does not match clip {clip.name}; use --overwrite")
        else:
            result = fit(clip, config)
            result.save(result_dir, meshes=False)
        metrics = clip_metrics(kind, result, clip, plausibility)
        from hoFit.cli.eval import metrics_to_json

        write_json(result_dir / "metrics.json", metrics_to_json(metrics))
        values = metrics.to_dict()
        category = clip.object_category or spec.category or "all"
        per_clip[clip.name] = {"category": category, "sequence": spec.sequence, "metrics": values,
                               "units": metrics.units()}
        rows.append((category, values))
        if kind == "ho3d":
            positions = np.asarray(clip.meta["positions"])[np.asarray(result.frame_indices, dtype=np.int64)]
            tracks.add(spec.sequence, positions, result)

    summary = {"dataset": kind, "clips": per_clip, "summary": summarize([r[1] for r in rows])}
    categories: dict[str, list[dict]] = {}
    for category, values in rows:
        categories.setdefault(category, []).append(values)
    summary["per_category"] = {c: summarize(v) for c, v in sorted(categories.items())}
    table = category_table(rows)
    if kind == "ho3d":
        summary.update(_ho3d_outputs(dataset, tracks, out))
        from hoFit.data.datasets.ho3d import HO3D_UNSEEN_OBJECTS

        seen = [v for c, v in rows if c not in HO3D_UNSEEN_OBJECTS]
        unseen = [v for c, v in rows if c in HO3D_UNSEEN_OBJECTS]
        summary["seen_objects"] = summarize(seen) if seen else {}
        summary["unseen_objects"] = summarize(unseen) if unseen else {}
    write_json(out / "metrics.json", _json_safe(summary))
    write_text(out / "results.md", f"# {kind}: mean per category\n\n{table}\n")
    return summary


def _ho3d_outputs(dataset, tracks, out: Path) -> dict:
    """Interpolated per-frame predictions, full-sequence metrics and pred.json."""
    from hoFit.data.datasets.ho3d import read_split_list, write_challenge_predictions
    from hoFit.data.datasets.protocol import sequence_metrics

    pred_dir = out / "predictions"
    pred_dir.mkdir(parents=True, exist_ok=True)
    joints, vertices, seq_metrics = {}, {}, {}
    for seq in tracks.sequences():
        ids = dataset.sequences[seq]
        full = tracks.interpolate(seq, len(ids))
        np.savez_compressed(pred_dir / f"{seq}.npz", frame_ids=np.asarray(ids), **full)
        for i, frame_id in enumerate(ids):
            joints[f"{seq}/{frame_id}"] = full["joints"][i]
            vertices[f"{seq}/{frame_id}"] = full["vertices"][i]
        ground_truth, _ = dataset.sequence_ground_truth(seq)
        metrics = sequence_metrics(full, ground_truth, tracks.canonical[seq], tracks.scales[seq], 1.0)
        seq_metrics[seq] = {**metrics.to_dict(), "fitted_frames": int(full["fitted"].sum()), "frames": len(ids)}
    from hoFit.eval.aggregate import summarize

    outputs = {"sequences": seq_metrics,
               "sequence_summary": summarize([{k: v for k, v in m.items() if k not in ("fitted_frames", "frames")}
                                              for m in seq_metrics.values()])}
    if dataset.split != "evaluation":
        return outputs  # the challenge file is for the evaluation split only
    frame_list = read_split_list(dataset.root, dataset.split)
    filled = write_challenge_predictions(out / "pred.json", frame_list, joints, vertices, fill_missing=True)
    outputs["pred_json"] = {"path": str(out / "pred.json"), "frames": len(frame_list), "zero_filled": filled}
    if filled:
        logger.warning("pred.json: %d of %d frames of %s.txt have no prediction (sequences not fitted) and are zeros",
                       filled, len(frame_list), dataset.split)
    return outputs


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def run(args: argparse.Namespace) -> int:
    from hoFit.cli.common import config_from_args

    dataset = build_dataset(args)
    config = config_from_args(args)
    try:
        from hoFit.fit.api import fit_clip
    except ImportError as exc:  # the fitter is a separate sub-package
        raise HoFitError(f"the fitter is not available in this installation: {exc}") from None

    def fit(clip, cfg):
        return fit_clip(clip, cfg, progress=False)

    summary = evaluate_dataset(
        dataset, args.dataset, args.out, fit, config, cues_dir=args.cues, detect=args.detect, overwrite=args.overwrite,
        plausibility=not args.no_plausibility, clip_names=_csv(args.clips), limit=args.limit,
        progress=not getattr(args, "quiet", False),
    )
    if not getattr(args, "quiet", False):
        print((Path(args.out) / "results.md").read_text())
        if "pred_json" in summary:
            info = summary["pred_json"]
            print(f"pred.json: {info['frames']} frames, {info['zero_filled']} zero-filled")
    print(Path(args.out) / "metrics.json")
    return 0
