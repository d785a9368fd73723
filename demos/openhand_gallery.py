"""Picture of OpenHand in several poses and shapes: ``python demos/openhand_gallery.py [--out PATH]``.

Draws each posed mesh with a simple painter's algorithm (faces sorted back to front, Lambert shading)
in matplotlib (Agg), so it needs no renderer.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from hoFit.models.hand import create_hand_layer  # noqa: E402
from hoFit.models.hand.grasps import grasp_articulations  # noqa: E402
from hoFit.models.hand.layer import openhand_data  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _view_rotation(azimuth: float, elevation: float) -> np.ndarray:
    a, e = np.radians(azimuth), np.radians(elevation)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(e), -np.sin(e)], [0, np.sin(e), np.cos(e)]])
    # Hand frame: x distal, y dorsal, z ulnar. Screen: x right, y up, z towards the viewer.
    base = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # back of the hand towards the viewer
    return rx @ rz @ base


def draw(ax, vertices: np.ndarray, faces: np.ndarray, rotation: np.ndarray, title: str) -> None:
    points = vertices @ rotation.T
    tri = points[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    order = np.argsort(tri[:, :, 2].mean(axis=1))
    light = np.array([0.3, 0.4, 0.86])
    shade = 0.25 + 0.75 * np.clip(normals @ light, 0.0, 1.0)
    colors = np.array([0.93, 0.72, 0.6])[None] * shade[:, None]
    ax.add_collection(PolyCollection(tri[order][:, :, :2], facecolors=colors[order], edgecolors=colors[order] * 0.85,
                                     linewidths=0.15))
    centre = (points.max(axis=0) + points.min(axis=0)) / 2
    half = 0.115
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "assets" / "hands" / "openhand_gallery.png")
    args = parser.parse_args(argv)
    layer = create_hand_layer("openhand", use_pca=False, flat_hand_mean=True, dtype=torch.float64)
    grasps = grasp_articulations(openhand_data("right"))
    panels: list[tuple[str, np.ndarray, np.ndarray]] = []
    for name in ("flat", "relaxed", "power", "precision", "tripod", "lateral", "hook", "fist", "pointing"):
        panels.append((name, grasps[name], np.zeros(10)))
    for index, label in ((0, "size"), (2, "finger length"), (1, "palm width")):
        for sign in (-2.0, 2.0):
            betas = np.zeros(10)
            betas[index] = sign
            panels.append((f"{label} {sign:+.0f}", grasps["relaxed"], betas))
    pose = torch.as_tensor(np.stack([p[1] for p in panels]))
    betas = torch.as_tensor(np.stack([p[2] for p in panels]))
    out = layer(None, pose, betas)
    vertices = out.vertices.numpy() - out.keypoints[:, 4:5].numpy() * 0.6
    faces = layer.faces.numpy()
    columns = 5
    rows = int(np.ceil(len(panels) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.6 * rows))
    for k, ax in enumerate(axes.flat):
        if k >= len(panels):
            ax.axis("off")
            continue
        rotation = _view_rotation(azimuth=-30.0, elevation=140.0) if k < 9 else _view_rotation(0.0, 180.0)
        draw(ax, vertices[k], faces, rotation, panels[k][0])
    fig.suptitle("OpenHand (hoFit's generated MANO-format hand): grasps and shape components", fontsize=11)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
