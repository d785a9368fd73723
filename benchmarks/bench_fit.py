"""Accuracy and speed of the fit presets on the same synthetic clips: prints one JSON line per (preset, clip).

``python benchmarks/bench_fit.py [--clips 3] [--frames 10] [--size 240x320] [--presets default,homan]
[--homan-clips 1] [--homan-frames 4] [--records FILE] [--device cpu|cuda]``

Clips are generated once (exact, noise-free cues) under ``--data-dir`` from fixed seeds: YCB objects when
``../shared/data/ycb`` exists, procedural ones otherwise. Every preset fits every clip, except ``homan``,
which is slow on a CPU: it fits only the first ``--homan-clips`` clips cut to their first ``--homan-frames``
frames, and the default preset fits those same cut clips too (unless they are whole), so that the speed
ratio compares equal work (the JSON lines say which clip and how many frames). On a GPU (``--device cuda``)
homan is affordable on whole clips: ``--homan-clips 3 --homan-frames 10``; an untimed fit of two frames by
each preset first keeps the CUDA start-up costs out of the timings. A line per preset then gives the
mean metrics, and a last line the speed ratio (homan wall time / default wall time on the shared clips).

``--records FILE`` keeps the per-(preset, clip) lines in a JSON-lines file and reuses a line whose clip and
full config are unchanged, so that re-running after a change of one preset refits only that preset.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

METRICS = (
    "object_add_s",
    "object_rotation_error",
    "object_rotation_error_sym",
    "object_translation_error",
    "joint_error",
    "joint_error_pa",
    "max_penetration_depth",
    "contact_ratio",
)

# (YCB object, procedural stand-in, grasp type, seed)
CLIPS = (
    ("006_mustard_bottle", "bottle", "power", 11),
    ("010_potted_meat_can", "can", "pinch", 12),
    ("025_mug", "mug", "precision", 13),
    ("004_sugar_box", "remote_control", "power", 14),
)


def _clip_configs(count: int, frames: int, size: tuple[int, int]):
    from hoFit.data.synth.generator import SynthConfig, default_ycb_dir
    from hoFit.data.synth.grasp import GraspSettings

    ycb = default_ycb_dir()
    configs = []
    for name, category, grasp, seed in CLIPS[:count]:
        have = ycb is not None and (ycb / name).is_dir()
        obj = f"ycb:{name}" if have else f"procedural:{category}"
        short = name if have else category
        configs.append(
            SynthConfig(
                object=obj, grasp=GraspSettings(grasp_type=grasp), num_frames=frames, image_size=size, seed=seed,
                name=f"fit_{short}_{grasp}_{seed}_{frames}f_{size[1]}x{size[0]}",
            )
        )
    return configs


def _load_or_generate(config, data_dir: Path):
    from hoFit.data.synth.generator import SyntheticClip, generate_clip

    directory = data_dir / config.name
    try:
        return SyntheticClip.load(directory).clip
    except Exception:  # absent or incomplete: (re)generate
        synthetic = generate_clip(config)
        synthetic.save(directory, overwrite=True)
        return SyntheticClip.load(directory).clip


def _fingerprint(config, clip_name: str, frames: int) -> str:
    from hoFit.config.core import to_dict

    text = json.dumps({"config": to_dict(config), "clip": clip_name, "frames": frames}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _fit(preset: str, clip, frames_note: str, device: str) -> dict:
    from hoFit.config.schema import load_config
    from hoFit.eval.evaluate import evaluate_result
    from hoFit.fit.api import fit_clip

    config = load_config(preset, overrides=[f"device={device}"])
    start = time.perf_counter()
    result = fit_clip(clip, config, progress=False)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    metrics = evaluate_result(result, clip, plausibility=True)
    row = {
        "preset": preset,
        "clip": clip.name,
        "frames": clip.num_frames,
        "image": f"{clip.image_size[1]}x{clip.image_size[0]}",
        "note": frames_note,
        "wall_s": round(wall, 2),
        "stages_s": {k: round(v, 2) for k, v in result.timings.items()},
    }
    for name in METRICS:
        try:
            row[name] = round(float(metrics[name]), 4)
        except KeyError:
            row[name] = None
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=3, help=f"number of clips (at most {len(CLIPS)})")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--size", default="240x320", help="HEIGHTxWIDTH pixels")
    parser.add_argument("--presets", default="default,homan")
    parser.add_argument("--homan-clips", type=int, default=1)
    parser.add_argument("--homan-frames", type=int, default=4)
    parser.add_argument("--data-dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "hofit_bench_fit"))
    parser.add_argument("--records", default=None, help="JSON-lines cache of per-(preset, clip) results")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    height, width = (int(x) for x in args.size.lower().split("x"))
    presets = [p for p in args.presets.split(",") if p]
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)

    from hoFit.config.schema import load_config

    cache: dict[str, dict] = {}
    records_path = Path(args.records) if args.records else None
    if records_path is not None and records_path.is_file():
        for line in records_path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                cache[row["fingerprint"]] = row

    clips = [_load_or_generate(c, data_dir) for c in _clip_configs(args.clips, args.frames, (height, width))]
    short = [c.select(list(range(min(args.homan_frames, c.num_frames)))) for c in clips[: args.homan_clips]]
    jobs = []  # (preset, clip, note)
    for preset in presets:
        if preset == "homan":
            jobs += [(preset, c, f"first {c.num_frames} frames") for c in short]
        else:
            jobs += [(preset, c, "full clip") for c in clips]
            if "homan" in presets:  # the cut clips, unless they are whole (then the full-clip fit serves)
                jobs += [
                    (preset, c, f"first {c.num_frames} frames (shared with homan)")
                    for c, whole in zip(short, clips)
                    if c.num_frames < whole.num_frames
                ]

    machine = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
               "threads": torch.get_num_threads(), "torch": torch.__version__, "device": args.device}
    if args.device.startswith("cuda"):
        machine["gpu"] = torch.cuda.get_device_name(torch.device(args.device))
    if args.device.startswith("cuda") and jobs:
        # Untimed: the first fit in a process pays for the CUDA context, cuBLAS and kernel loading (about 2 s
        # on an H100), which would otherwise be charged to whichever preset runs first.
        warm = clips[0].select(list(range(min(2, clips[0].num_frames))))
        for preset in presets:
            _fit(preset, warm, "warm-up", args.device)
    rows = []
    for preset, clip, note in jobs:
        fingerprint = _fingerprint(load_config(preset, overrides=[f"device={args.device}"]), clip.name, clip.num_frames)
        row = cache.get(fingerprint)
        if row is None:
            row = {**_fit(preset, clip, note, args.device), "fingerprint": fingerprint, **machine}
            if records_path is not None:
                with records_path.open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
        rows.append(row)
        print(json.dumps(row), flush=True)

    for preset in presets:
        mine = [r for r in rows if r["preset"] == preset and r["note"] == "full clip"] or [
            r for r in rows if r["preset"] == preset
        ]
        summary = {"summary": preset, "clips": len(mine), "note": mine[0]["note"] if mine else ""}
        summary["wall_s"] = round(float(np.mean([r["wall_s"] for r in mine])), 2)
        for name in METRICS:
            values = [r[name] for r in mine if r[name] is not None]
            summary[name] = round(float(np.mean(values)), 4) if values else None
        if preset != "homan":
            values = [r["max_penetration_depth"] for r in mine if r["max_penetration_depth"] is not None]
            summary["median_max_penetration_depth"] = round(float(np.median(values)), 4) if values else None
        print(json.dumps(summary), flush=True)

    if "homan" in presets and len(presets) > 1:
        shared = {(r["clip"], r["frames"]) for r in rows if r["preset"] == "homan"}
        for preset in presets:
            if preset == "homan":
                continue
            mine = [r for r in rows if r["preset"] == preset and (r["clip"], r["frames"]) in shared]
            theirs = [r for r in rows if r["preset"] == "homan"]
            if mine and theirs:
                ratio = sum(r["wall_s"] for r in theirs) / max(sum(r["wall_s"] for r in mine), 1e-9)
                line = {"speed_ratio": f"homan/{preset}", "value": round(ratio, 2), "clips": sorted(c for c, _ in shared)}
                for name in METRICS:
                    a = [r[name] for r in mine if r[name] is not None]
                    b = [r[name] for r in theirs if r[name] is not None]
                    if a and b:
                        line[f"{name}_{preset}"] = round(float(np.mean(a)), 4)
                        line[f"{name}_homan"] = round(float(np.mean(b)), 4)
                print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
