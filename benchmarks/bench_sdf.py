"""Time SDF grid builds, grid queries and exact point-mesh distances; prints one JSON line per case.

Usage: python benchmarks/bench_sdf.py [--ycb ../shared/data/ycb] [--resolution 64]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from hoFit.models.objects import compute_sdf_grid, load_template, point_mesh_distance, procedural_template


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ycb", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ycb")
    parser.add_argument("--resolution", type=int, default=64)
    args = parser.parse_args()
    templates = [procedural_template("mug"), procedural_template("bottle")]
    for name in ("006_mustard_bottle", "025_mug", "003_cracker_box"):
        path = args.ycb / name / "textured_simple_2000.obj"
        if path.is_file():
            templates.append(load_template(path))
    for template in templates:
        grid, seconds = _timed(lambda: compute_sdf_grid(template, resolution=args.resolution, padding=0.02))
        points = torch.rand(100_000, 3) * 0.2 - 0.1
        _, q_seconds = _timed(lambda: grid.query(points))
        verts, faces = template.to_torch()
        hand = torch.rand(778, 3) * 0.2 - 0.1
        _, d_seconds = _timed(lambda: point_mesh_distance(hand, verts, faces))
        print(json.dumps({
            "bench": "sdf_grid", "template": template.name, "faces": template.num_faces,
            "resolution": args.resolution, "build_s": round(seconds, 3), "query_100k_s": round(q_seconds, 4),
            "point_mesh_distance_778_s": round(d_seconds, 4), "threads": torch.get_num_threads(),
        }))


if __name__ == "__main__":
    main()
