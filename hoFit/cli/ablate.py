"""Ablation of the fit's loss terms on a synthetic set: a grid of loss switches and noise levels.

Examples:
  hofit ablate --grid configs/ablations/interaction.yaml --out runs/ablate_interaction
  hofit ablate --grid configs/ablations/smoothness.yaml --out runs/ablate_smooth --noise 0,2
  hofit ablate --grid configs/ablations/interaction.yaml --quick --out /tmp/ablate_quick

The grid file names the synthetic set, the base preset, the noise levels (and optionally ``seeds``: several
draws of the noise, e.g. [0, 1, 2]; ``--seed`` overrides them) and the variants: named sets of
switches (collision, contact, coarse_interaction: on/off; smoothness or any loss term: on, off or a weight
applied in every stage) and/or a 'grid' whose axes are multiplied out. Outputs as for ``hofit bench``:
results.json, results.csv, results.md (one row per variant and noise level), plots, resumable runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hoFit.cli.bench import add_synth_arguments

    parser.add_argument("--grid", required=True, metavar="FILE", help="ablation grid YAML (see configs/ablations/)")
    parser.add_argument("--noise", default=None, metavar="K,...", help="noise levels, overriding the grid file's")
    parser.add_argument("--preset", default=None, help="base preset, overriding the grid file's")
    add_synth_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from hoFit.cli.bench import base_overrides, parse_levels, parse_noise_overrides, parse_seeds, select_clips
    from hoFit.config.schema import load_config
    from hoFit.eval.bench import ablation_variants, ensure_set, load_ablation_grid, run_benchmark, write_reports

    progress = not getattr(args, "quiet", False)
    spec = load_ablation_grid(args.grid)
    quick = args.quick or bool(spec.get("quick", False))
    set_name = "synth-quick" if quick else spec.get("set", "synth-v1")
    levels = parse_levels(args.noise) if args.noise else [int(k) for k in spec.get("noise", [0])]
    preset = args.preset or spec.get("preset", "default")
    args.quick = quick
    overrides = list(spec.get("overrides") or []) + base_overrides(args)
    base = load_config(preset, None, overrides)
    variants = ablation_variants(spec, base, where=str(args.grid))
    out = Path(args.out)
    data = Path(args.data) if args.data else out / "data"
    clips = select_clips(ensure_set(set_name, data, ycb_dir=args.ycb_dir, progress=progress), args.clips)
    noise_overrides = parse_noise_overrides(args.noise_override)
    seeds = parse_seeds(args.seed) if args.seed is not None else list(spec.get("seeds", [0]))
    records = run_benchmark(clips, variants, levels, out, seed=seeds, progress=progress, overwrite=args.overwrite,
                            noise_overrides=noise_overrides)
    name = spec.get("name") or Path(args.grid).stem
    meta = {"grid": str(args.grid), "set": set_name, "base preset": preset, "noise levels": levels,
            "variants": ", ".join(v.name for v in variants), "clips": len(clips),
            "overrides": " ".join(overrides) or "none", "noise seeds": seeds, "description": spec.get("description", "")}
    if noise_overrides:
        meta["noise overrides"] = " ".join(args.noise_override)
    summary = write_reports(records, out, title=f"hoFit ablation: {name}", meta=meta)
    failed = sum(entry["failed"] for per_noise in summary.values() for entry in per_noise.values())
    print(f"{len(records)} fits ({failed} failed): {out / 'results.md'}")
    return 0
