"""Make the README's picture: one frame of `hofit demo`'s side-by-side video.

    python demos/readme_figure.py [--out assets/readme/demo_summary.png] [--frame 5]

Runs the demo into a temporary folder (about a minute on a 2-core CPU) and saves frame ``--frame`` of
``videos/summary.mp4`` (input | camera view | rotated views) as a PNG.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import imageio.v3 as iio

from hoFit.cli.main import main as hofit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="assets/readme/demo_summary.png")
    parser.add_argument("--frame", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if hofit(["demo", "--out", tmp, "--quiet"]) != 0:
            raise SystemExit("hofit demo failed")
        frame = iio.imread(Path(tmp) / "result" / "videos" / "summary.mp4", index=args.frame)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(args.out, frame)
    print(f"wrote {args.out} ({frame.shape[1]}x{frame.shape[0]})")


if __name__ == "__main__":
    main()
