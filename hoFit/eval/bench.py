"""Benchmark and ablation runners on synthetic clips: fit every clip at every noise level, tabulate, plot.

A run fits every (variant, noise level, noise draw, clip): a *variant* is a named fit `Config` (a preset
for ``hofit bench``, a loss-switch combination for ``hofit ablate``); the clip's clean cues are corrupted
with `hoFit.data.noise.apply_noise` at the noise level (seeded per clip and draw, identical for every
variant), fitted with `hoFit.fit.api.fit_clip` and evaluated against the clip's exact ground truth with
`hoFit.eval.evaluate.evaluate_result`. A *draw* is one noise seed: on a dozen clips one draw of the noise
moves the means by more than many changes worth measuring, so several draws (``seeds=[0, 1, 2]``) are
summarised together, with the spread of their means. Clean cues (a level without noise) are one draw.

Output folder::

    data/                                    the synthetic set (generated when absent; resumable)
    runs/<variant>/noise<k>/<clip>/          result files of each fit (no meshes) and record.json (seed 0)
    runs/<variant>/noise<k>_seed<s>/<clip>/  the same for the noise draw of seed s
    results.json                             every record, the summary (mean/median per metric) and units
    results.csv                              one row per record
    results.md                               markdown tables: key metrics per variant and noise level, per
                                             noise draw when there are several, and each variant's paired
                                             differences from the first (`paired_differences`)
    plots/<metric>.png                       metric versus noise level, one line per variant (error bars: the
                                             standard deviation of the draws' means)

``record.json`` is written last, with a fingerprint of the config, noise level and seed: a fit whose
record matches is not fitted again, so an interrupted run resumes where it stopped. A fit that raises is
recorded as failed (with the error) and retried on the next run.

Two-hand clips report hand metrics per side (``right_joint_error``, ...); the record also gets the mean over
the sides under the plain name (``joint_error``) so that every clip contributes to the same columns.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import logging
import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hoFit.errors import HoFitError
from hoFit.utils.files import atomic_path, write_json, write_text

__all__ = [
    "KEY_METRICS",
    "QUICK_OVERRIDES",
    "Variant",
    "BenchRecord",
    "run_benchmark",
    "run_folder",
    "check_seeds",
    "noise_config",
    "summarize_records",
    "paired_differences",
    "write_reports",
    "ensure_set",
    "ablation_variants",
    "load_ablation_grid",
]

logger = logging.getLogger(__name__)

# Columns of the markdown tables and the plots (those present in the results are shown).
KEY_METRICS: tuple[str, ...] = (
    "joint_error",
    "joint_error_pa",
    "mesh_error",
    "object_add",
    "object_add_s",
    "object_rotation_error",
    "object_rotation_error_sym",
    "object_translation_error",
    "object_error_hand_frame",
    "penetration_depth",
    "contact_ratio",
)
_SIDE_PREFIXES = ("right_", "left_")

# Fewer hypotheses and iterations, for the --quick benchmark (3 small clips) on a 2-core CPU.
QUICK_OVERRIDES: tuple[str, ...] = (
    "fit.hand_init.rotation_hypotheses=8",
    "fit.hand_init.rigid_iterations=20",
    "fit.hand_init.iterations=30",
    "fit.object_init.hypotheses=12",
    "fit.object_init.iterations=12",
    "fit.object_init.refine_top=2",
    "fit.object_init.refine_iterations=15",
    "fit.object_init.refine_resolution=56",
    "fit.roi_resolution=64",
    "fit.sdf_resolution=32",
    "fit.stages.0.iterations=25",
    "fit.stages.1.iterations=15",
)


@dataclass
class Variant:
    """A named fit configuration (a `hoFit.config.schema.Config`)."""

    name: str
    config: object

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in "/\\ ") or self.name.startswith("."):
            raise HoFitError(f"variant name {self.name!r}: use letters, digits, '-', '_' or '.' (no spaces or slashes)")


@dataclass
class BenchRecord:
    """The outcome of one fit.

    Attributes:
        variant: variant name. noise: noise level. clip: clip name. seed: the noise draw's seed.
        status: "ok" or "failed". error: the error message of a failed fit.
        wall_time_s: seconds spent fitting (initialization and stages, evaluation excluded).
        metrics: ``{name: value}`` (NaN for metrics that could not be computed).
        units: ``{name: unit}``.
        timings: the fit's own per-step timings.
        info: clip facts (object, grasp type, number of hands, frames, image size).
        fingerprint: hash of the config, noise level and noise seed (resume key).
    """

    variant: str
    noise: int
    clip: str
    status: str = "ok"
    error: str = ""
    wall_time_s: float = math.nan
    metrics: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    fingerprint: str = ""
    seed: int = 0

    def to_json(self) -> dict:
        data = dict(self.__dict__)
        data["metrics"] = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in self.metrics.items()}
        data["wall_time_s"] = None if math.isnan(self.wall_time_s) else self.wall_time_s
        return data

    @classmethod
    def from_json(cls, data: dict) -> "BenchRecord":
        data = dict(data)
        data["metrics"] = {k: (math.nan if v is None else float(v)) for k, v in data.get("metrics", {}).items()}
        data["wall_time_s"] = math.nan if data.get("wall_time_s") is None else float(data["wall_time_s"])
        return cls(**data)


def _fingerprint(config, noise: int, seed: int, noise_overrides: dict[str, float] | None = None) -> str:
    from hoFit.config.core import to_dict

    data = {"config": to_dict(config), "noise": noise, "seed": seed}
    if noise_overrides:  # absent when unused, so that records written before the option still match
        data["noise_overrides"] = noise_overrides
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def noise_config(level: int, overrides: dict[str, float] | None = None):
    """The `NoiseConfig` of a level with some severities replaced, e.g. ``{"focal_rel_error": 0.0}`` to
    study a level without its intrinsics error."""
    from hoFit.data.noise import NoiseConfig, noise_level

    config = noise_level(level)
    known = [f.name for f in dataclasses.fields(NoiseConfig)]
    unknown = sorted(set(overrides or {}) - set(known))
    if unknown:
        raise HoFitError(f"noise override '{unknown[0]}' is not a noise severity; known: {', '.join(known)}")
    try:
        return dataclasses.replace(config, **{k: float(v) for k, v in (overrides or {}).items()})
    except ValueError as error:
        raise HoFitError(f"noise override: {error}") from None


def _merge_sides(metrics: dict[str, float], units: dict[str, str]) -> None:
    """Add plain-named means over the sides for per-side hand metrics of two-hand clips (in place)."""
    per_name: dict[str, list[float]] = {}
    for name, value in metrics.items():
        for prefix in _SIDE_PREFIXES:
            if name.startswith(prefix):
                per_name.setdefault(name[len(prefix):], []).append(value)
                units.setdefault(name[len(prefix):], units.get(name, ""))
    for name, values in per_name.items():
        if name not in metrics:
            finite = [v for v in values if not math.isnan(v)]
            metrics[name] = float(np.mean(finite)) if finite else math.nan


def ensure_set(set_name: str, data_dir: str | Path, ycb_dir=None, progress: bool = True) -> list[Path]:
    """Clip directories of the synthetic set in ``data_dir``, generating missing clips (resumable)."""
    from hoFit.data.synth import generate_set

    return generate_set(set_name, data_dir, ycb_dir=ycb_dir, progress=progress)


def _fit_one(
    clip_dir: Path, variant: Variant, noise: int, seed: int, run_dir: Path, progress: bool,
    noise_overrides: dict[str, float] | None = None,
) -> BenchRecord:
    from hoFit.data.clip import Clip
    from hoFit.data.noise import apply_noise
    from hoFit.eval.evaluate import evaluate_result
    from hoFit.fit.api import fit_clip

    clip = Clip.load(clip_dir)
    info = {
        "object": clip.meta.get("object", clip.template),
        "grasp_type": clip.meta.get("grasp_type", ""),
        "hands": len(clip.hands),
        "frames": clip.num_frames,
        "image_size": list(clip.image_size),
    }
    fingerprint = _fingerprint(variant.config, noise, seed, noise_overrides)
    record = BenchRecord(variant.name, noise, clip.name, info=info, fingerprint=fingerprint, seed=seed)
    # the same noisy cues for every variant: the seed depends on the clip, the level and the draw only
    clip_seed = int(hashlib.sha256(f"{clip.name}:{noise}:{seed}".encode()).hexdigest()[:8], 16)
    cue_noise = noise_config(noise, noise_overrides)
    noisy = clip if cue_noise.is_clean() else apply_noise(clip, cue_noise, seed=clip_seed)
    start = time.perf_counter()
    try:
        result = fit_clip(noisy, variant.config, progress=False)
    except Exception as error:  # a failed fit is a result of the benchmark, not a crash of it
        record.status = "failed"
        record.error = f"{type(error).__name__}: {error}"
        record.wall_time_s = time.perf_counter() - start
        logger.warning("%s / noise %d / %s failed: %s", variant.name, noise, clip.name, record.error)
        logger.debug(traceback.format_exc())
        return record
    record.wall_time_s = time.perf_counter() - start
    result.save(run_dir, meshes=False)
    metrics = evaluate_result(result, clip)
    record.metrics = metrics.to_dict()
    record.units = metrics.units()
    _merge_sides(record.metrics, record.units)
    record.timings = {k: float(v) for k, v in result.timings.items()}
    return record


def run_folder(out: str | Path, variant: str, noise: int, seed: int, clip: str) -> Path:
    """Folder of one fit's results: ``runs/<variant>/noise<k>[_seed<s>]/<clip>`` (no suffix for seed 0)."""
    level = f"noise{noise}" if seed == 0 else f"noise{noise}_seed{seed}"
    return Path(out) / "runs" / variant / level / clip


def check_seeds(seed: int | list[int]) -> list[int]:
    """One noise seed or a list of them as a list of distinct integers >= 0 (`HoFitError` otherwise)."""
    seeds = [seed] if isinstance(seed, (int, np.integer)) else list(seed)
    if not seeds:
        raise HoFitError("the benchmark got no noise seeds")
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise HoFitError(f"noise seeds must be integers >= 0, got {seeds}")
    if len(set(seeds)) != len(seeds):
        raise HoFitError(f"noise seeds must be distinct, got {seeds}")
    return [int(s) for s in seeds]


def run_benchmark(
    clip_dirs: list[Path],
    variants: list[Variant],
    noise_levels: list[int],
    out: str | Path,
    seed: int | list[int] = 0,
    progress: bool = True,
    overwrite: bool = False,
    noise_overrides: dict[str, float] | None = None,
) -> list[BenchRecord]:
    """Fit every (variant, noise level, noise draw, clip), resuming from finished records; returns all records.

    Args:
        clip_dirs: clip directories (with ground truth), e.g. from `ensure_set`.
        variants: named configs.
        noise_levels: levels of `hoFit.data.noise.noise_level` (0 = clean cues).
        out: output folder (``runs/`` goes there).
        seed: seed of the noise, or a list of seeds: one draw of the noise each (a level whose cues are
            clean is fitted once, as seed 0).
        progress: show a progress bar (tqdm).
        overwrite: refit triples that already have a matching record.
        noise_overrides: severities replaced in every level's `NoiseConfig` (see `noise_config`); part of
            each record's fingerprint, so a resumed run never reuses fits made with other cues.
    """
    from tqdm import tqdm

    from hoFit.data.noise import NOISE_LEVELS

    if not clip_dirs:
        raise HoFitError("the benchmark got no clips")
    if not variants:
        raise HoFitError("the benchmark got no variants (presets)")
    bad = [k for k in noise_levels if k not in NOISE_LEVELS]
    if bad:
        raise HoFitError(f"noise levels {bad} do not exist; available: {sorted(NOISE_LEVELS)}")
    # unknown or invalid severities fail before any fit
    cue_noise = {level: noise_config(level, noise_overrides) for level in noise_levels}
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise HoFitError(f"variant names must be unique, got {names}")
    seeds = check_seeds(seed)
    out = Path(out)
    # clean cues are the same for every seed: one fit
    draws = {k: [0] if cue_noise[k].is_clean() else seeds for k in noise_levels}
    jobs = [(v, k, s, Path(c)) for v in variants for k in noise_levels for s in draws[k] for c in clip_dirs]
    records: list[BenchRecord] = []
    bar = tqdm(jobs, desc="bench", unit="fit", disable=not progress)
    for variant, noise, seed, clip_dir in bar:
        draw = f" seed {seed}" if len(seeds) > 1 else ""
        bar.set_postfix_str(f"{variant.name} noise {noise}{draw} {clip_dir.name}")
        folder = run_folder(out, variant.name, noise, seed, clip_dir.name)
        record_path = folder / "record.json"
        fingerprint = _fingerprint(variant.config, noise, seed, noise_overrides)
        if record_path.is_file() and not overwrite:
            try:
                done = BenchRecord.from_json(json.loads(record_path.read_text()))
            except (OSError, ValueError, TypeError) as error:
                logger.warning("%s unreadable (%s); fitting again", record_path, error)
                done = None
            if done is not None and done.status == "ok" and done.fingerprint == fingerprint:
                # the job's names: the fingerprint holds the seed (records written before the field lack it)
                # but not the variant's name (a preset renamed or copied under another name keeps its fits)
                done.variant, done.seed = variant.name, seed
                records.append(done)
                continue
        record = _fit_one(clip_dir, variant, noise, seed, folder, progress, noise_overrides)
        write_json(record_path, record.to_json())
        records.append(record)
    return records


def summarize_records(records: list[BenchRecord]) -> dict:
    """Statistics per variant and noise level, over every clip and noise draw.

    Returns:
        ``{variant: {noise: entry}}``, each entry ``{"metrics": {name: {mean, median, count}}, "wall_time_s":
        {mean, median, total}, "clips": number of fits (clips times draws), "failed": n, "seeds": [s, ...]}``;
        with several noise draws also ``"draws": {seed: {name: mean over that draw's clips}}`` and
        ``"draw_spread": {name: {"std", "min", "max"}}`` of the draws' means (std with Bessel's correction).
    """
    from hoFit.eval.aggregate import summarize

    out: dict = {}
    for variant in dict.fromkeys(r.variant for r in records):
        out[variant] = {}
        for noise in sorted({r.noise for r in records if r.variant == variant}):
            group = [r for r in records if r.variant == variant and r.noise == noise]
            ok = [r for r in group if r.status == "ok"]
            times = np.array([r.wall_time_s for r in ok], dtype=np.float64)
            seeds = sorted({r.seed for r in group})
            entry = {
                "metrics": summarize([r.metrics for r in ok]),
                "wall_time_s": {
                    "mean": float(times.mean()) if times.size else math.nan,
                    "median": float(np.median(times)) if times.size else math.nan,
                    "total": float(times.sum()),
                },
                "clips": len(group),
                "failed": len(group) - len(ok),
                "seeds": seeds,
            }
            if len(seeds) > 1:
                draws = {}
                for seed in seeds:
                    per_draw = summarize([r.metrics for r in ok if r.seed == seed])
                    draws[str(seed)] = {name: stats["mean"] for name, stats in per_draw.items()}
                spread = {}
                for name in entry["metrics"]:
                    means = np.array([d[name] for d in draws.values() if not math.isnan(d.get(name, math.nan))])
                    spread[name] = {
                        "std": float(means.std(ddof=1)) if means.size > 1 else math.nan,
                        "min": float(means.min()) if means.size else math.nan,
                        "max": float(means.max()) if means.size else math.nan,
                    }
                entry["draws"], entry["draw_spread"] = draws, spread
            out[variant][str(noise)] = entry
    return out


def paired_differences(records: list[BenchRecord], reference: str | None = None) -> dict:
    """Each variant against a reference on the same fits' cues: differences paired by (noise, seed, clip).

    Variants see the same noisy cues for a clip, level and seed, so the paired difference is free of the
    draw-to-draw spread that dominates the plain means; its standard error tells a real change from chance.

    Args:
        records: benchmark records of two variants or more.
        reference: the variant compared against (default: the first variant in ``records``).

    Returns:
        ``{variant: {noise: {metric: {"mean", "sem", "count", "lower", "higher"}}}}``: the mean over paired
        fits of (variant - reference), its standard error (NaN with fewer than two pairs), the number of
        pairs, and in how many the variant's value is lower / higher. Pairs where either fit failed or the
        metric is NaN are left out. Empty with fewer than two variants.
    """
    variants = list(dict.fromkeys(r.variant for r in records))
    reference = variants[0] if reference is None and variants else reference
    if reference not in variants:
        raise HoFitError(f"paired differences: no records of the reference variant {reference!r}; variants: {variants}")
    ok = {(r.variant, r.noise, r.seed, r.clip): r.metrics for r in records if r.status == "ok"}
    out: dict = {}
    for variant in variants:
        if variant == reference:
            continue
        out[variant] = {}
        for noise in sorted({r.noise for r in records if r.variant == variant}):
            keys = [k[2:] for k in ok if k[0] == variant and k[1] == noise and (reference, noise, *k[2:]) in ok]
            per_metric: dict[str, list[float]] = {}
            for seed, clip in keys:
                mine, theirs = ok[(variant, noise, seed, clip)], ok[(reference, noise, seed, clip)]
                for name, value in mine.items():
                    other = theirs.get(name, math.nan)
                    if isinstance(value, (int, float)) and isinstance(other, (int, float)) and \
                            not (math.isnan(value) or math.isnan(other)):
                        per_metric.setdefault(name, []).append(float(value) - float(other))
            out[variant][str(noise)] = {
                name: {
                    "mean": float(np.mean(d)),
                    "sem": float(np.std(d, ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan,
                    "count": len(d),
                    "lower": int(np.sum(np.asarray(d) < 0)),
                    "higher": int(np.sum(np.asarray(d) > 0)),
                }
                for name, d in per_metric.items()
            }
    return out


def _fmt(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3g}"


def _nan_to_none(data):
    if isinstance(data, dict):
        return {k: _nan_to_none(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_nan_to_none(v) for v in data]
    if isinstance(data, float) and math.isnan(data):
        return None
    return data


def write_reports(records: list[BenchRecord], out: str | Path, title: str = "hoFit benchmark", meta: dict | None = None,
                  key_metrics: tuple[str, ...] = KEY_METRICS) -> dict:
    """Write results.json, results.csv, results.md and plots/ into ``out``; returns the summary."""
    out = Path(out)
    summary = summarize_records(records)
    paired = paired_differences(records) if records else {}
    units: dict[str, str] = {}
    for r in records:
        for name, unit in r.units.items():
            units.setdefault(name, unit)
    write_json(
        out / "results.json",
        _nan_to_none({"title": title, "meta": meta or {}, "summary": summary, "paired": paired, "units": units,
                      "records": [r.to_json() for r in records]}),
    )
    # csv: one row per record
    metric_names = list(dict.fromkeys(name for r in records for name in r.metrics))
    with atomic_path(out / "results.csv") as tmp:
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["variant", "noise", "seed", "clip", "status", "wall_time_s", "object", "hands", *metric_names,
                             "error"])
            for r in records:
                writer.writerow([r.variant, r.noise, r.seed, r.clip, r.status, _fmt(r.wall_time_s), r.info.get("object", ""),
                                 r.info.get("hands", ""), *[_fmt(r.metrics.get(n, math.nan)) for n in metric_names],
                                 r.error])
    shown = [m for m in key_metrics if m in metric_names]
    text = _markdown(summary, shown, units, title, meta or {}, metric_names)
    if paired:
        text += "\n".join(_paired_table(paired, next(iter(summary)), shown, units)) + "\n"
    write_text(out / "results.md", text)
    _plots(summary, shown, units, out / "plots")
    return summary


def _markdown(summary: dict, shown: list[str], units: dict, title: str, meta: dict, all_metrics: list[str]) -> str:
    lines = [f"# {title}", ""]
    for key, value in meta.items():
        lines.append(f"- {key}: {value}")
    several = any(len(entry["seeds"]) > 1 for per_noise in summary.values() for entry in per_noise.values())
    over = "clips and noise draws" if several else "clips"
    lines += ["", f"Each cell: mean / median over {over}. Wall time: seconds per clip (fit only).", ""]
    header = ["variant", "noise", "fits", "failed", *_metric_headers(shown, units),
              "wall time (s)"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for variant, per_noise in summary.items():
        for noise, entry in per_noise.items():
            cells = [variant, noise, str(entry["clips"]), str(entry["failed"])]
            for m in shown:
                stats = entry["metrics"].get(m)
                cells.append("n/a" if stats is None else f"{_fmt(stats['mean'])} / {_fmt(stats['median'])}")
            wt = entry["wall_time_s"]
            cells.append(f"{_fmt(wt['mean'])} / {_fmt(wt['median'])}")
            lines.append("| " + " | ".join(cells) + " |")
    rest = [m for m in all_metrics if m not in shown and not m.startswith(_SIDE_PREFIXES)]
    if rest:
        lines += ["", "## All metrics (mean / median)", ""]
        lines.append("| variant | noise | " + " | ".join(rest) + " |")
        lines.append("|" + "---|" * (len(rest) + 2))
        for variant, per_noise in summary.items():
            for noise, entry in per_noise.items():
                cells = []
                for m in rest:
                    stats = entry["metrics"].get(m)
                    cells.append("n/a" if stats is None else f"{_fmt(stats['mean'])} / {_fmt(stats['median'])}")
                lines.append(f"| {variant} | {noise} | " + " | ".join(cells) + " |")
    if several:
        lines += _draw_table(summary, shown, units)
    return "\n".join(lines) + "\n"


def _metric_headers(shown: list[str], units: dict) -> list[str]:
    """Table headers of metrics with their units, e.g. ``joint_error (cm)``."""
    return [f"{m} ({units.get(m, '')})".replace(" ()", "") for m in shown]


def _paired_table(paired: dict, reference: str, shown: list[str], units: dict) -> list[str]:
    """Markdown lines of `paired_differences`."""
    lines = [
        "", f"## Paired differences against {reference}", "",
        f"Each cell: mean over the same fits (clip, noise level and draw) of variant - {reference} +- its standard "
        "error (fits where the variant is lower / higher).", "",
    ]
    header = ["variant", "noise", *_metric_headers(shown, units)]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for variant, per_noise in paired.items():
        for noise, per_metric in per_noise.items():
            cells = []
            for m in shown:
                d = per_metric.get(m)
                cells.append("n/a" if d is None else f"{d['mean']:+.3g} +- {_fmt(d['sem'])} ({d['lower']}/{d['higher']})")
            lines.append(f"| {variant} | {noise} | " + " | ".join(cells) + " |")
    return lines


def _draw_table(summary: dict, shown: list[str], units: dict) -> list[str]:
    """Markdown lines: each noise draw's means, and their standard deviation, per variant and level."""
    lines = ["", "## Noise draws (mean over clips per draw; std: standard deviation of the draws' means)", ""]
    header = ["variant", "noise", "seed", *_metric_headers(shown, units)]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for variant, per_noise in summary.items():
        for noise, entry in per_noise.items():
            if len(entry["seeds"]) < 2:
                continue
            for seed, means in entry["draws"].items():
                lines.append(f"| {variant} | {noise} | {seed} | " + " | ".join(_fmt(means.get(m, math.nan)) for m in shown) + " |")
            spread = [_fmt(entry["draw_spread"].get(m, {}).get("std", math.nan)) for m in shown]
            lines.append(f"| {variant} | {noise} | std | " + " | ".join(spread) + " |")
    return lines


def _plots(summary: dict, shown: list[str], units: dict, folder: Path) -> None:
    from matplotlib.figure import Figure

    folder.mkdir(parents=True, exist_ok=True)
    for metric in shown:
        figure = Figure(figsize=(4.5, 3.2), dpi=100)
        axis = figure.add_subplot(1, 1, 1)
        for variant, per_noise in summary.items():
            levels = sorted(int(k) for k in per_noise)
            values = [per_noise[str(k)]["metrics"].get(metric, {}).get("mean", math.nan) for k in levels]
            spread = [per_noise[str(k)].get("draw_spread", {}).get(metric, {}).get("std", math.nan) for k in levels]
            if any(not math.isnan(v) for v in spread):  # several noise draws: their means' spread
                axis.errorbar(levels, values, yerr=np.nan_to_num(spread), marker="o", capsize=3, label=variant)
            else:
                axis.plot(levels, values, marker="o", label=variant)
        axis.set_xlabel("noise level")
        unit = units.get(metric, "")
        axis.set_ylabel(f"{metric} ({unit})" if unit else metric)
        axis.set_xticks(sorted({int(k) for per_noise in summary.values() for k in per_noise}))
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7)
        figure.tight_layout()
        with atomic_path(folder / f"{metric}.png") as tmp:
            figure.savefig(tmp)


# ------------------------------------------------------------------------------------------------ ablations

_TERM_GROUPS: dict[str, tuple[str, ...]] = {
    "collision": ("collision",),
    "contact": ("contact",),
    "coarse_interaction": ("coarse_interaction",),
    "smoothness": ("hand_smoothness", "object_smoothness"),
}


def _apply_switches(config, switches: dict, where: str):
    """A copy of ``config`` with loss switches applied to every stage.

    ``switches`` maps a switch (``collision``, ``contact``, ``coarse_interaction``, ``smoothness`` or any loss
    term name) to ``"on"`` (keep the preset's weights), ``"off"`` (weight 0 in every stage) or a number
    (that weight in every stage that uses the term; in every stage when none does).
    """
    import copy

    from hoFit.fit.config import LOSS_TERMS

    config = copy.deepcopy(config)
    for switch, value in switches.items():
        terms = _TERM_GROUPS.get(switch, (switch,) if switch in LOSS_TERMS else None)
        if terms is None:
            raise HoFitError(
                f"{where}: unknown switch '{switch}'; use one of {sorted(_TERM_GROUPS)} or a loss term ({', '.join(LOSS_TERMS)})"
            )
        if value is True or value == "on":
            continue
        if value is False or value == "off":
            weight = 0.0
        elif isinstance(value, (int, float)):
            weight = float(value)
            if weight < 0:
                raise HoFitError(f"{where}: switch '{switch}' weight must be >= 0, got {value}")
        else:
            raise HoFitError(f"{where}: switch '{switch}' must be on, off or a weight, got {value!r}")
        for term in terms:
            users = [s for s in config.fit.stages if s.weights.get(term, 0) > 0]
            for stage in users or config.fit.stages:
                if weight == 0:
                    stage.weights.pop(term, None)
                else:
                    stage.weights[term] = weight
    return config


def load_ablation_grid(path: str | Path) -> dict:
    """Read and check an ablation grid YAML (see ``configs/ablations/*.yaml`` for the format)."""
    from hoFit.config.core import read_yaml

    spec = read_yaml(path)
    allowed = {"name", "description", "set", "preset", "overrides", "noise", "seeds", "variants", "grid", "quick"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise HoFitError(f"{path}: unknown key(s) {unknown}; expected {sorted(allowed)}")
    if "variants" not in spec and "grid" not in spec:
        raise HoFitError(f"{path}: give 'variants' (named switch sets) and/or 'grid' (switch -> list of values)")
    noise = spec.get("noise", [0])
    if not isinstance(noise, list) or not all(isinstance(k, int) for k in noise):
        raise HoFitError(f"{path}: noise: expected a list of integer noise levels, got {noise!r}")
    seeds = spec.get("seeds", [0])
    if not isinstance(seeds, list):
        raise HoFitError(f"{path}: seeds: expected a list of noise seeds such as [0, 1, 2], got {seeds!r}")
    try:
        check_seeds(seeds)
    except HoFitError as error:
        raise HoFitError(f"{path}: seeds: {error}") from None
    return spec


def ablation_variants(spec: dict, base_config, where: str = "ablation grid") -> list[Variant]:
    """Variants of an ablation spec: each named entry of ``variants``, then the product of ``grid`` axes."""
    import itertools

    variants: list[Variant] = []
    for name, switches in (spec.get("variants") or {}).items():
        if switches is None:
            switches = {}
        if not isinstance(switches, dict):
            raise HoFitError(f"{where}: variants.{name}: expected a mapping of switches, got {switches!r}")
        variants.append(Variant(str(name), _apply_switches(base_config, switches, f"{where}: variants.{name}")))
    grid = spec.get("grid") or {}
    if grid:
        axes = list(grid.items())
        for axis, values in axes:
            if not isinstance(values, list) or not values:
                raise HoFitError(f"{where}: grid.{axis}: expected a non-empty list of values (on, off or weights)")
        for combo in itertools.product(*[values for _, values in axes]):
            switches = dict(zip([a for a, _ in axes], combo))
            name = "-".join(f"{a}_{_label(v)}" for a, v in switches.items())
            variants.append(Variant(name, _apply_switches(base_config, switches, f"{where}: grid {name}")))
    return variants


def _label(value) -> str:
    if value is True:
        return "on"
    if value is False:
        return "off"
    return str(value)
