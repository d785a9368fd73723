"""Show versions, the compute device, the hand model in use and where MANO is expected."""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform

import torch

from hoFit import __version__

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="device to report on: auto, cpu or cuda (default auto)")


def run(args: argparse.Namespace) -> int:
    from hoFit.utils.device import resolve_device

    device = resolve_device(args.device)
    lines = [
        f"hofit {__version__}",
        f"python {platform.python_version()} on {platform.system()} {platform.machine()}",
        f"torch {torch.__version__}, device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
    ]
    mano_dir = os.environ.get("HOFIT_MANO_DIR")
    lines.append(
        "MANO: "
        + (f"HOFIT_MANO_DIR={mano_dir}" if mano_dir else "not configured (set HOFIT_MANO_DIR or hand.mano_dir to the "
           "folder with MANO_RIGHT.pkl / MANO_LEFT.pkl from https://mano.is.tue.mpg.de)")
    )
    from hoFit.models.hand.config import HandConfig

    lines.append(f"default hand model: {HandConfig().model} (change with --set hand.model=mano)")
    for name in ("mediapipe", "segment_anything"):
        lines.append(f"optional {name}: {'installed' if importlib.util.find_spec(name) else 'not installed'}")
    print("\n".join(lines))
    return 0
