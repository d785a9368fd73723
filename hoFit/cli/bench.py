"""Benchmark the fitter on a synthetic set: fit every clip at each noise level, tables and plots.

Examples:
  hofit bench synth --set synth-v1 --preset default --noise 0,1,2,3 --out runs/bench
  hofit bench synth --set synth-v1 --preset default,homan --noise 0,2 --out runs/bench2
  hofit bench synth --quick --out /tmp/bench_quick
  hofit bench synth --noise 2 --seed 0,1,2 --out runs/bench3   # three draws of the noise

The synthetic clips are generated into OUT/data (or --data DIR) when missing. Outputs: results.json,
results.csv, results.md (mean / median per metric, wall time per clip), plots/<metric>.png (metric versus
noise level, one line per preset) and runs/<preset>/noise<k>/<clip>/. With several noise seeds each level
is fitted once per seed (a draw of the noise); the tables add each draw's means and their spread.
Re-running the same command resumes: finished fits are not redone. --quick uses the 3 small clips of
synth-quick, noise levels 0 and 2 and fewer optimization steps.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hoFit.errors import HoFitError

__all__ = ["add_arguments", "run", "parse_levels", "parse_seeds", "parse_noise_overrides"]

logger = logging.getLogger("hoFit.bench")


def parse_levels(text: str) -> list[int]:
    """``"0,1,2"`` -> [0, 1, 2]."""
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise HoFitError(f"--noise: expected comma-separated integers such as 0,1,2,3, got {text!r}") from None
    if not levels:
        raise HoFitError("--noise: give at least one noise level")
    return levels


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> [0, 1, 2]: distinct integers >= 0 (checked by `hoFit.eval.bench.check_seeds`)."""
    from hoFit.eval.bench import check_seeds

    try:
        seeds = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise HoFitError(f"--seed: expected integers such as 0 or 0,1,2, got {text!r}") from None
    try:
        return check_seeds(seeds)
    except HoFitError as error:
        raise HoFitError(f"--seed {text!r}: {error}") from None


def add_synth_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``hofit bench synth`` and ``hofit ablate``."""
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--data", metavar="DIR", help="folder of the synthetic set (default OUT/data; generated if missing)")
    parser.add_argument("--ycb-dir", metavar="DIR", help="YCB meshes for synth-v1 (default $HOFIT_YCB_DIR or ../shared/data/ycb)")
    parser.add_argument("--clips", metavar="NAME,...", help="fit only these clips of the set")
    parser.add_argument("--quick", action="store_true", help="3 small clips (synth-quick), fewer optimization steps")
    parser.add_argument("--seed", default=None, metavar="S[,S...]",
                        help="seed of the cue noise (default 0, or an ablation grid's seeds); several, e.g. 0,1,2, fit "
                             "one draw of the noise each and report the spread of their means")
    parser.add_argument("--overwrite", action="store_true", help="refit clips that already have a result")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="config override applied to every preset, e.g. fit.stages.0.iterations=30 (repeatable)")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--noise-override", action="append", default=[], metavar="FIELD=VALUE",
                        help="replace one severity of every noise level, e.g. focal_rel_error=0 to study a level "
                             "without its intrinsics error (fields: see hoFit.data.noise.NoiseConfig; repeatable)")


def parse_noise_overrides(items: list[str]) -> dict[str, float]:
    """``["focal_rel_error=0"]`` -> ``{"focal_rel_error": 0.0}``."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise HoFitError(f"--noise-override: expected FIELD=NUMBER such as focal_rel_error=0, got {item!r}") from None
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hoFit.data.synth.sets import SET_NAMES

    parser.add_argument("source", choices=("synth",), help="benchmark source: synth (synthetic clips with exact ground truth)")
    parser.add_argument("--set", dest="set_name", default="synth-v1", choices=SET_NAMES, help="synthetic set (default synth-v1)")
    parser.add_argument("--preset", default="default", metavar="NAME,...",
                        help="preset(s) in configs/ (or YAML paths), comma-separated: one line per preset in the plots")
    parser.add_argument("--noise", default=None, metavar="K,...", help="noise levels 0-3 (default 0,1,2,3; --quick: 0,2)")
    add_synth_arguments(parser)


def select_clips(paths: list[Path], names: str | None) -> list[Path]:
    if not names:
        return paths
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = {p.name: p for p in paths}
    missing = [n for n in wanted if n not in known]
    if missing:
        raise HoFitError(f"--clips: no clips named {missing}; clips are {sorted(known)}")
    return [known[n] for n in wanted]


def base_overrides(args: argparse.Namespace) -> list[str]:
    from hoFit.eval.bench import QUICK_OVERRIDES

    overrides = list(QUICK_OVERRIDES) if args.quick else []
    overrides += list(args.override)
    if args.device:
        overrides.append(f"device={args.device}")
    return overrides


def run(args: argparse.Namespace) -> int:
    from hoFit.config.schema import load_config
    from hoFit.eval.bench import Variant, ensure_set, run_benchmark, write_reports

    progress = not getattr(args, "quiet", False)
    set_name = "synth-quick" if args.quick else args.set_name
    levels = parse_levels(args.noise or ("0,2" if args.quick else "0,1,2,3"))
    out = Path(args.out)
    data = Path(args.data) if args.data else out / "data"
    overrides = base_overrides(args)
    variants = []
    for preset in [p.strip() for p in args.preset.split(",") if p.strip()]:
        name = Path(preset).stem if preset.endswith((".yaml", ".yml")) else preset
        variants.append(Variant(name, load_config(preset, None, overrides)))
    clips = select_clips(ensure_set(set_name, data, ycb_dir=args.ycb_dir, progress=progress), args.clips)
    noise_overrides = parse_noise_overrides(args.noise_override)
    seeds = parse_seeds(args.seed or "0")
    records = run_benchmark(clips, variants, levels, out, seed=seeds, progress=progress, overwrite=args.overwrite,
                            noise_overrides=noise_overrides)
    meta = {"set": set_name, "presets": ", ".join(v.name for v in variants), "noise levels": levels,
            "clips": len(clips), "overrides": " ".join(overrides) or "none", "noise seeds": seeds}
    if noise_overrides:
        meta["noise overrides"] = " ".join(args.noise_override)
    summary = write_reports(records, out, title=f"hoFit benchmark: {set_name}", meta=meta)
    failed = sum(entry["failed"] for per_noise in summary.values() for entry in per_noise.values())
    print(f"{len(records)} fits ({failed} failed): {out / 'results.md'}")
    return 0
