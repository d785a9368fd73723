"""Speed of the synthetic clip generator on CPU: prints one JSON line per generated clip.

``python benchmarks/bench_synth.py [--set synth-quick] [--clips NAME,...]``

Each line gives the clip, its size and the seconds spent per step (object, grasp synthesis, motion and
per-frame checks, rendering) and in total. The first clip of an object also builds (and caches) its SDF grid.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from hoFit.data.synth import generate_clip, set_configs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="synth-quick", help="named set whose clips are generated (default synth-quick)")
    parser.add_argument("--clips", default=None, help="comma-separated clip names (default all)")
    args = parser.parse_args()
    wanted = set(args.clips.split(",")) if args.clips else None
    for item in set_configs(args.set):
        if wanted and item.name not in wanted:
            continue
        start = time.perf_counter()
        synthetic = generate_clip(item.config)
        total = time.perf_counter() - start
        print(json.dumps({
            "benchmark": "synth_generate_clip",
            "clip": item.name,
            "frames": item.config.num_frames,
            "image_size": list(item.config.image_size),
            "hands": len(synthetic.hands),
            "seconds": round(total, 3),
            "steps": synthetic.timings,
            "grasp_attempts": [g["attempts"] for g in synthetic.grasps],
            "threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
