"""Time SDF grid builds, grid queries and exact point-mesh distances; prints one JSON line per case.

Usage: python benchmarks/bench_sdf.py [--ycb ../shared/data/ycb] [--resolution 64] [--repeat 3]

The last line times the collision term's query (`hoFit.fit.losses.interaction`): the exact distance of
2000 points around a posed 30-frame hand to its closed mesh, the median of ``--repeat`` calls.
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
    parser.add_argument("--repeat", type=int, default=3)
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
    print(json.dumps(_posed_hand_case(args.repeat)))


def _posed_hand_case(repeat: int) -> dict:
    """Points (30, 2000, 3) in a 8 x 15 x 8 cm box about a posed hand (30 frames) against its closed mesh."""
    from hoFit.models.hand.layer import create_hand_layer

    layer = create_hand_layer("openhand", side="right", num_pca_comps=45)
    frames = 30
    g = torch.Generator().manual_seed(0)
    orient = torch.zeros(frames, 6)
    orient[:, 0] = orient[:, 4] = 1.0  # identity rotations in the 6D form
    with torch.no_grad():
        out = layer(global_orient=orient, articulation=0.3 * torch.randn(frames, 45, generator=g),
                    transl=torch.zeros(frames, 3))
    centre = out.vertices.mean(dim=1, keepdim=True)
    points = centre + (torch.rand(frames, 2000, 3, generator=g) - 0.5) * torch.tensor([0.08, 0.15, 0.08])
    times = sorted(_timed(lambda: point_mesh_distance(points, out.vertices, layer.closed_faces))[1] for _ in range(repeat))
    return {
        "bench": "posed_hand_distance", "frames": frames, "points": points.shape[1],
        "faces": int(layer.closed_faces.shape[0]), "median_s": round(times[len(times) // 2], 4),
        "threads": torch.get_num_threads(),
    }


if __name__ == "__main__":
    main()
