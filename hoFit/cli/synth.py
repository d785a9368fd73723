"""Generate synthetic hand-object clips with exact ground truth (a named benchmark set or one clip).

Examples:
    hofit synth --set synth-v1 --out data/synth-v1
    hofit synth --set synth-quick --out /tmp/quick --ho3d /tmp/quick_ho3d
    hofit synth --object procedural:mug --grasp precision --frames 20 --size 240x320 --seed 3 --out /tmp/one
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hoFit.errors import HoFitError

__all__ = ["add_arguments", "run"]


def _size(text: str) -> tuple[int, int]:
    """``HxW`` -> (height, width)."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 480x640, got {text!r}") from None
    return height, width


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hoFit.data.synth.sets import SET_NAMES

    parser.add_argument("--out", required=True, help="output folder (one sub-folder per clip)")
    parser.add_argument("--set", choices=SET_NAMES, help="generate a named benchmark set")
    parser.add_argument("--only", nargs="+", metavar="CLIP", help="with --set: generate only these clips")
    parser.add_argument("--overwrite", action="store_true", help="regenerate clips that are already complete")
    parser.add_argument("--ycb-dir", help="folder of YCB meshes (default $HOFIT_YCB_DIR or ../shared/data/ycb)")
    parser.add_argument("--ho3d", metavar="DIR", help="also write an HO-3D-format replica of every clip there")
    single = parser.add_argument_group("one clip (without --set)")
    single.add_argument("--object", default="procedural:mug", help="ycb:<name>, procedural:<category> or a mesh file")
    single.add_argument("--grasp", default="power", choices=("power", "precision", "pinch"), help="grasp type")
    single.add_argument("--frames", type=int, default=30, help="number of frames (default 30)")
    single.add_argument("--size", type=_size, default=(480, 640), help="image HEIGHTxWIDTH (default 480x640)")
    single.add_argument("--two-hands", action="store_true", help="a left hand also holds the object")
    single.add_argument("--finger-motion", type=float, default=0.0, help="peak finger opening in [0, 1] (default 0)")
    single.add_argument("--hand-model", default="openhand", choices=("openhand", "mano"), help="hand model")
    single.add_argument("--mano-dir", help="MANO folder for --hand-model mano")
    single.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    single.add_argument("--name", help="clip name (default synth_<seed>)")


def run(args: argparse.Namespace) -> int:
    from hoFit.data.synth.generator import SynthConfig, generate_clip
    from hoFit.data.synth.grasp import GraspSettings
    from hoFit.data.synth.ho3d import write_ho3d_replica
    from hoFit.data.synth.sets import generate_set

    out = Path(args.out)
    progress = not getattr(args, "quiet", False)
    if args.set:
        paths = generate_set(
            args.set, out, ycb_dir=args.ycb_dir, overwrite=args.overwrite, progress=progress, only=args.only,
            ho3d_root=args.ho3d,
        )
        print(f"{len(paths)} clips of {args.set} in {out}")
        return 0
    if args.only:
        raise HoFitError("--only needs --set")
    config = SynthConfig(
        object=args.object,
        ycb_dir=args.ycb_dir,
        grasp=GraspSettings(grasp_type=args.grasp),
        hand_model=args.hand_model,
        mano_dir=args.mano_dir,
        two_hands=args.two_hands,
        num_frames=args.frames,
        image_size=args.size,
        finger_motion=args.finger_motion,
        seed=args.seed,
        name=args.name or "",
    )
    start = time.perf_counter()
    synthetic = generate_clip(config)
    directory = out / config.name
    if directory.exists() and any(directory.iterdir()) and not args.overwrite:
        raise HoFitError(f"{directory} exists and is not empty; use --overwrite")
    synthetic.save(directory, overwrite=True)
    if args.ho3d:
        write_ho3d_replica(synthetic, args.ho3d)
    print(f"{directory} ({synthetic.num_frames} frames, {time.perf_counter() - start:.1f} s)")
    return 0
