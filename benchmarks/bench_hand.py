"""Speed of the hand layer on CPU: prints one JSON line per measurement.

``python benchmarks/bench_hand.py [--batch 64] [--repeats 20]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from hoFit.models.hand import create_hand_layer


def _time(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    layer = create_hand_layer("openhand", num_pca_comps=15)
    gen = torch.Generator().manual_seed(0)
    b = args.batch
    inputs = [0.5 * torch.randn(b, n, generator=gen) for n in (3, 15, 10, 3)]
    common = {"device": "cpu", "threads": torch.get_num_threads(), "batch": b, "vertices": layer.num_vertices,
              "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count()}
    with torch.no_grad():
        seconds = _time(lambda: layer(*inputs), args.repeats)
    print(json.dumps({"name": "openhand_forward", "ms": round(1000 * seconds, 3), **common}))
    params = [x.clone().requires_grad_() for x in inputs]

    def forward_backward() -> None:
        out = layer(*params)
        (out.vertices.square().sum() + out.keypoints.sum()).backward()

    seconds = _time(forward_backward, args.repeats)
    print(json.dumps({"name": "openhand_forward_backward", "ms": round(1000 * seconds, 3), **common}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
