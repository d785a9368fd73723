"""Fit a YCB object's 6-DoF pose to a silhouette mask with hoFit's differentiable renderer.

The mask is rendered from a known pose (or read from --mask, a binary PNG of the same size); the fit
starts 15 degrees and 2 cm away and minimizes the squared difference between the soft silhouette and the
mask, coarse to fine in sharpness. Writes a before/after picture: mask | initial pose | fitted pose
(shaded object over the mask).

    python demos/fit_object_pose.py --out fit_object_pose.png
    python demos/fit_object_pose.py --object ../shared/data/ycb/025_mug/textured_simple_2000.obj
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import trimesh

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hoFit.geometry.rotations import axis_angle_to_matrix, rotation_angle_between  # noqa: E402
from hoFit.render import RenderSettings, SilhouetteSettings, render_shaded, soft_silhouette  # noqa: E402

DEFAULT_OBJECT = REPO.parent / "shared" / "data" / "ycb" / "004_sugar_box" / "textured_simple_2000.obj"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--object", type=Path, default=DEFAULT_OBJECT, help="mesh file (metres)")
    parser.add_argument("--mask", type=Path, default=None, help="binary mask PNG (default: rendered at a known pose)")
    parser.add_argument("--size", type=int, default=160, help="image side in pixels")
    parser.add_argument("--focal", type=float, default=300.0, help="focal length in pixels")
    parser.add_argument("--iters", type=int, default=150)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("fit_object_pose.png"))
    args = parser.parse_args(argv)
    if not args.object.is_file():
        print(f"error: object mesh {args.object} not found; pass --object PATH", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    torch.manual_seed(0)

    mesh = trimesh.load(args.object, force="mesh", process=False)
    verts = torch.tensor(mesh.vertices, dtype=torch.float32, device=device)
    verts = verts - verts.mean(0)
    faces = torch.tensor(mesh.faces, dtype=torch.long, device=device)
    size = args.size
    K = torch.tensor([[args.focal, 0, (size - 1) / 2], [0, args.focal, (size - 1) / 2], [0, 0, 1]], device=device)
    extent = float((verts.max(0).values - verts.min(0).values).max())
    distance = 1.6 * extent * args.focal / size  # the object spans ~60% of the image

    R_true = axis_angle_to_matrix(torch.tensor([0.5, -0.7, 0.2], device=device))
    t_true = torch.tensor([0.0, 0.0, distance], device=device)
    if args.mask is not None:
        mask_img = cv2.imread(str(args.mask), cv2.IMREAD_GRAYSCALE)
        if mask_img is None or mask_img.shape != (size, size):
            print(f"error: {args.mask}: expected a {size}x{size} grayscale PNG", file=sys.stderr)
            return 2
        mask = torch.tensor(mask_img > 127, dtype=torch.float32, device=device)
        known = False
    else:
        with torch.no_grad():
            sharp = SilhouetteSettings(sigma_px=0.05)
            mask = (soft_silhouette((verts @ R_true.T + t_true)[None], faces, K, (size, size), sharp)[0] > 0.5).float()
        known = True

    axis = torch.nn.functional.normalize(torch.tensor([0.3, 0.8, -0.5], device=device), dim=0)
    R_init = axis_angle_to_matrix(axis * math.radians(15.0)) @ R_true
    t_init = t_true + 0.02 * torch.nn.functional.normalize(torch.tensor([1.0, -1.0, 0.7], device=device), dim=0)
    rotvec = torch.zeros(3, device=device, requires_grad=True)
    transl = t_init.clone().requires_grad_(True)
    opt = torch.optim.Adam([{"params": [rotvec], "lr": 0.02}, {"params": [transl], "lr": 0.002}])
    # (sigma_px, share of the iterations). The soft band lies outside the hard silhouette, so against a
    # binary mask a sharp last stage keeps the depth unbiased.
    stages = [(2.0, 0.35), (1.0, 0.3), (0.25, 0.35)]
    start = time.perf_counter()
    for sigma, share in stages:
        settings = SilhouetteSettings(sigma_px=sigma)
        for _ in range(max(1, int(share * args.iters))):
            opt.zero_grad()
            R = axis_angle_to_matrix(rotvec) @ R_init
            sil = soft_silhouette((verts @ R.T + transl)[None], faces, K, (size, size), settings)[0]
            loss = (sil - mask).pow(2).mean()
            loss.backward()
            opt.step()
        for group in opt.param_groups:
            group["lr"] *= 0.4
    elapsed = time.perf_counter() - start
    R_fit = (axis_angle_to_matrix(rotvec) @ R_init).detach()
    t_fit = transl.detach()

    background = mask[..., None].expand(size, size, 3) * 0.6 + 0.2
    colour = [(0.95, 0.55, 0.2)]
    shade = RenderSettings(supersample=2)
    before = render_shaded([((verts @ R_init.T + t_init)[None], faces)], colour, K, (size, size), background, 0.6, shade)
    after = render_shaded([((verts @ R_fit.T + t_fit)[None], faces)], colour, K, (size, size), background, 0.6, shade)
    panels = torch.cat([background, before[0], after[0]], dim=1).cpu().numpy()
    image = (panels[..., ::-1] * 255).round().astype(np.uint8)
    for i, label in enumerate(("mask", "before", "after")):
        cv2.putText(image, label, (i * size + 5, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), image)

    print(f"fitted in {elapsed:.1f} s ({args.iters} iterations, {device}); final loss {loss.item():.2e}")
    if known:
        for name, R, t in (("before", R_init, t_init), ("after", R_fit, t_fit)):
            angle = math.degrees(float(rotation_angle_between(R, R_true)))
            print(f"{name:>6}: rotation error {angle:6.2f} deg, translation error {1000 * float((t - t_true).norm()):6.2f} mm")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
