"""Where a fit's time goes: per phase wall time, operator counts and the most expensive operators.

``python benchmarks/profile_fit.py [--preset default] [--set KEY=VALUE]... [--device cpu|cuda] [--frames 10]
[--repeat 1] [--no-profile] [--top 25] [--out DIR]``

Fits `bench_fit.py`'s first clip (generated once under ``--data-dir``) with one preset: once to warm up (CUDA
context, kernel caches, template caches), ``--repeat`` times timed, then once under ``torch.profiler``
(unless ``--no-profile``: on a GPU profiling a fit takes minutes). Prints one JSON line with the wall times,
the per-phase wall times (`FitResult.timings`) and errors (joints, object ADD-S; cm) of the last timed fit,
the profiled fit's operator calls and, on a GPU, kernel launches, in all and per phase (top-level operator
calls: those inside another operator are not counted), then tables of the operators with the most self CPU
time and (on a GPU) the most self CUDA time. On a GPU a fit of many small steps is bound by the host: its
operator count times the host's cost per operator bounds its wall time from below. ``--out`` also writes a
Chrome trace.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fit import _clip_configs, _load_or_generate  # noqa: E402


def _fit(clip, preset: str, device: str, overrides: list[str]):
    from hoFit.config.schema import load_config
    from hoFit.fit.api import fit_clip

    config = load_config(preset, overrides=[f"device={device}", *overrides])
    start = time.perf_counter()
    result = fit_clip(clip, config, progress=False)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return result, time.perf_counter() - start


LAUNCHES = ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC")


def _per_phase_counts(events) -> dict[str, dict[str, int]]:
    """Top-level operator calls and kernel launches that started inside each ``hofit.<phase>`` range (any
    thread: the backward pass runs on the autograd engine's threads)."""
    phases = sorted(
        (e.time_range.start, e.time_range.end, e.name[len("hofit."):]) for e in events if e.name.startswith("hofit.")
    )
    counts = {name: {"aten": 0, "launches": 0} for _, _, name in phases}
    starts = [start for start, _, _ in phases]
    for e in events:
        is_launch = e.name in LAUNCHES
        # top-level: not called from inside another operator (a phase's own range may be the parent)
        parent = e.cpu_parent
        if not (is_launch or (e.name.startswith("aten::") and (parent is None or not parent.name.startswith("aten::")))):
            continue
        k = bisect.bisect_right(starts, e.time_range.start) - 1
        if k >= 0 and e.time_range.start <= phases[k][1]:
            counts[phases[k][2]]["launches" if is_launch else "aten"] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--size", default="240x320", help="HEIGHTxWIDTH pixels")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, as for hofit fit (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="timed fits, without the profiler (after the warm-up)")
    parser.add_argument("--no-profile", action="store_true", help="only the timed fits (the profiler is slow)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "hofit_bench_fit"))
    parser.add_argument("--out", default=None, help="folder for the Chrome trace")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    height, width = (int(x) for x in args.size.lower().split("x"))
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    clip = _load_or_generate(_clip_configs(1, args.frames, (height, width))[0], data_dir)

    on_gpu = args.device.startswith("cuda")
    _, warm_wall = _fit(clip, args.preset, args.device, args.overrides)
    timed = [_fit(clip, args.preset, args.device, args.overrides) for _ in range(args.repeat)]
    line = {
        "preset": args.preset, "overrides": args.overrides, "device": args.device, "clip": clip.name,
        "frames": clip.num_frames, "wall_s_warmup": round(warm_wall, 2), "wall_s": [round(w, 2) for _, w in timed],
        "phases_s": {k: round(v, 2) for k, v in timed[-1][0].timings.items()} if timed else None,
        "torch": torch.__version__, "threads": torch.get_num_threads(),
    }
    if timed:  # the fit's accuracy, so that a faster variant can be seen to give the same result
        from hoFit.eval.evaluate import evaluate_result

        metrics = evaluate_result(timed[-1][0], clip)
        line.update({name: round(float(metrics[name]), 4) for name in ("joint_error", "object_add_s")})
    if on_gpu:
        line["gpu"] = torch.cuda.get_device_name(torch.device(args.device))
    if args.no_profile:
        print(json.dumps(line), flush=True)
        return 0

    activities = [torch.profiler.ProfilerActivity.CPU]
    if on_gpu:
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as profiler:
        result, wall = _fit(clip, args.preset, args.device, args.overrides)
    events = profiler.key_averages()
    line.update({
        "wall_s_profiled": round(wall, 2), "phases_s_profiled": {k: round(v, 2) for k, v in result.timings.items()},
        "aten_calls": sum(e.count for e in events if e.key.startswith("aten::")),
        "per_phase": _per_phase_counts(profiler.events()),
    })
    if on_gpu:
        line["kernel_launches"] = sum(e.count for e in events if e.key in LAUNCHES)
    print(json.dumps(line), flush=True)
    print(events.table(sort_by="self_cpu_time_total", row_limit=args.top, max_name_column_width=48))
    if on_gpu:
        print(events.table(sort_by="self_cuda_time_total", row_limit=args.top, max_name_column_width=48))
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        profiler.export_chrome_trace(str(Path(args.out) / f"trace_{args.preset}.json"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
