"""Benchmark of the soft silhouette renderer: one JSON line per case (forward + backward pass).

Cases (issue 4):
  A: 10 frames, 256x256 region of interest, a hand (bundled OpenHand mesh, or a procedural proxy of the
     same size if the hand model cannot be built) and a YCB object (2k faces), rendered as a scene
     (per-mesh soft silhouettes, depth test, occlusion-aware silhouettes) and back-propagated.
  B: 512 pose hypotheses of one YCB object (2k faces) at 128x128 (soft silhouettes only).
The slow dense reference (every pixel against every face) runs on a reduced version of case A
("A_reduced": fewer frames at half resolution); the fast renderer is timed on exactly that reduced case
in the same run for the speed-up figure.

Usage:
    python benchmarks/bench_render.py [--device cpu|cuda] [--repeats 10] [--cases A,B,ref] [--threads N]
                                      [--note TEXT]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
import trimesh

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hoFit.geometry.rotations import axis_angle_to_matrix  # noqa: E402
from hoFit.render import SilhouetteSettings, render_scene, soft_silhouette  # noqa: E402
from hoFit.render.reference import render_scene_reference  # noqa: E402

YCB = REPO.parent / "shared" / "data" / "ycb"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, device, repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


def _peak_reset(device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mib(device) -> dict:
    if device.type == "cuda":
        return {"peak_mem_mib": round(torch.cuda.max_memory_allocated(device) / 2**20, 1)}
    # CPU: the process's resident high-water mark (includes the Python/torch runtime).
    return {"peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _object(name: str, device, dtype=torch.float32):
    path = YCB / name / "textured_simple_2000.obj"
    mesh = trimesh.load(path, force="mesh", process=False)
    v = torch.tensor(mesh.vertices, dtype=dtype, device=device)
    return v - v.mean(0), torch.tensor(mesh.faces, dtype=torch.long, device=device)


def _hand(device, dtype=torch.float32):
    """Hand vertices (V, 3) centred at the origin, closed faces; ("openhand" | "proxy")."""
    try:
        from hoFit.models.hand import create_hand_layer

        layer = create_hand_layer("openhand", dtype=dtype)
        out = layer(torch.zeros(1, 3), torch.zeros(1, layer.num_pca_comps), torch.zeros(1, 10), torch.zeros(1, 3))
        v = out.vertices[0].detach().to(device)
        faces = layer.closed_faces if getattr(layer, "closed_faces", None) is not None else layer.faces
        return v - v.mean(0), faces.to(device=device, dtype=torch.long), "openhand"
    except Exception as exc:  # the hand model is optional for the benchmark
        print(f"# hand model unavailable ({type(exc).__name__}: {exc}); using a procedural proxy", file=sys.stderr)
        proxy = trimesh.creation.capsule(height=0.12, radius=0.03, count=[28, 28])
        v = torch.tensor(proxy.vertices, dtype=dtype, device=device) * torch.tensor([1.0, 0.5, 1.0], device=device)
        return v, torch.tensor(proxy.faces, dtype=torch.long, device=device), "proxy"


def _scene_case_a(device, frames: int, size: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    vo, fo = _object("006_mustard_bottle", device)
    vh, fh, hand_kind = _hand(device)
    rot_o = axis_angle_to_matrix(0.3 * torch.randn(frames, 3, generator=g)).to(device)
    rot_h = axis_angle_to_matrix(0.3 * torch.randn(frames, 3, generator=g)).to(device)
    t_o = (torch.tensor([0.0, 0.0, 0.55]) + 0.01 * torch.randn(frames, 3, generator=g)).to(device)
    t_h = (torch.tensor([0.03, 0.02, 0.47]) + 0.01 * torch.randn(frames, 3, generator=g)).to(device)
    obj = torch.einsum("bij,vj->bvi", rot_o, vo) + t_o[:, None]
    hand = torch.einsum("bij,vj->bvi", rot_h, vh) + t_h[:, None]
    # A 256x256 region of interest around both meshes (focal length scaled with the ROI size).
    f = 320.0 * size / 256.0
    c = (size - 1) / 2.0
    K = torch.tensor([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]], device=device).expand(frames, 3, 3)
    return (hand, fh), (obj, fo), K, hand_kind


def case_a(device, repeats, settings, frames=10, size=256):
    (hand, fh), (obj, fo), K, hand_kind = _scene_case_a(device, frames, size)
    weights = torch.rand(frames, 2, size, size, device=device)

    def step():
        h = hand.clone().requires_grad_(True)
        o = obj.clone().requires_grad_(True)
        out = render_scene([(h, fh), (o, fo)], K, (size, size), settings)
        loss = (out.silhouettes * weights).sum() + out.visible.sum()
        loss.backward()

    _peak_reset(device)
    times = _time(step, device, repeats)
    return times, hand_kind, int(fh.shape[0]), int(fo.shape[0])


def case_b(device, repeats, settings, hypotheses=512, size=128):
    g = torch.Generator().manual_seed(1)
    vo, fo = _object("004_sugar_box", device)
    rot = axis_angle_to_matrix(math.pi * torch.rand(hypotheses, 3, generator=g)).to(device)
    t = (torch.tensor([0.0, 0.0, 0.5]) + 0.02 * torch.randn(hypotheses, 3, generator=g)).to(device)
    verts = torch.einsum("bij,vj->bvi", rot, vo) + t[:, None]
    f = 200.0 * size / 128.0
    c = (size - 1) / 2.0
    K = torch.tensor([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]], device=device)
    target = (torch.rand(size, size, device=device) > 0.5).float()

    def step():
        v = verts.clone().requires_grad_(True)
        sil = soft_silhouette(v, fo, K, (size, size), settings)
        ((sil - target) ** 2).mean(dim=(1, 2)).sum().backward()

    _peak_reset(device)
    times = _time(step, device, repeats)
    return times, int(fo.shape[0])


def case_reference(device, repeats, settings, frames, size):
    (hand, fh), (obj, fo), K, hand_kind = _scene_case_a(device, frames, size)
    weights = torch.rand(frames, 2, size, size, device=device)

    def fast():
        h, o = hand.clone().requires_grad_(True), obj.clone().requires_grad_(True)
        out = render_scene([(h, fh), (o, fo)], K, (size, size), settings)
        (out.silhouettes * weights).sum().backward()

    def slow():
        h, o = hand.clone().requires_grad_(True), obj.clone().requires_grad_(True)
        sil = render_scene_reference([(h, fh), (o, fo)], K, (size, size), settings)[0]
        (sil * weights).sum().backward()

    t_fast = _time(fast, device, max(repeats, 10))
    t_slow = _time(slow, device, 3, warmup=0)  # seconds per run: no warm-up needed
    return t_fast, t_slow, hand_kind


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--cases", default="A,B,ref")
    parser.add_argument("--sigma", type=float, default=1.0, help="SilhouetteSettings.sigma_px")
    parser.add_argument("--ref-frames", type=int, default=1)
    parser.add_argument("--ref-size", type=int, default=96)
    parser.add_argument("--note", default="", help="free text copied into every line (e.g. the machine)")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    settings = SilhouetteSettings(sigma_px=args.sigma)
    common = {
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "sigma_px": args.sigma,
        "note": args.note,
    }
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if "A" in cases:
        times, hand_kind, fh, fo = case_a(device, args.repeats, settings)
        print(json.dumps({
            "case": "A", "frames": 10, "image": [256, 256], "hand_mesh": hand_kind, "hand_faces": fh,
            "object_faces": fo, "ms_median": round(statistics.median(times), 2), "ms_min": round(min(times), 2),
            "repeats": len(times), **_peak_mib(device), **common,
        }), flush=True)
    if "B" in cases:
        times, fo = case_b(device, args.repeats, settings)
        print(json.dumps({
            "case": "B", "hypotheses": 512, "image": [128, 128], "object_faces": fo,
            "ms_median": round(statistics.median(times), 2), "ms_min": round(min(times), 2),
            "repeats": len(times), **_peak_mib(device), **common,
        }), flush=True)
    if "ref" in cases:
        t_fast, t_slow, hand_kind = case_reference(device, args.repeats, settings, args.ref_frames, args.ref_size)
        fast, slow = statistics.median(t_fast), statistics.median(t_slow)
        print(json.dumps({
            "case": "A_reduced_vs_reference", "frames": args.ref_frames, "image": [args.ref_size, args.ref_size],
            "hand_mesh": hand_kind, "ms_median": round(fast, 2), "reference_ms_median": round(slow, 1),
            "reference_repeats": len(t_slow), "speedup": round(slow / fast, 1), "repeats": len(t_fast),
            **common,
        }), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
