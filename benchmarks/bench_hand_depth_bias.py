"""Depth bias of the hand initialization under Gaussian keypoint noise: prints one JSON line per clip.

``python benchmarks/bench_hand_depth_bias.py DATA/v1_10_021_bleach_cleanser_pinch [...] [--sigma 5] [--seeds 3]
[--set KEY=VALUE]...``

Each clip is a synthetic clip directory (``hofit synth --set synth-v1 --out DATA``). For every noise seed the
keypoints get ``--sigma`` pixels of Gaussian noise (nothing else), the hands are initialized from them
alone (`hoFit.fit.init_hand.initialize_hand`, the default preset's settings) and the wrist's depth is
compared with the truth (after the initialization's size factor, see ``noise_debias_samples``): negative
means too close to the camera. ``--sigma 0`` measures the noise-free baseline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from hoFit.config.schema import load_config
from hoFit.data.noise import NoiseConfig, apply_noise
from hoFit.data.synth.generator import SyntheticClip
from hoFit.fit.init_hand import initialize_hand
from hoFit.fit.problem import build_fit_data
from hoFit.models.hand import hand_layer_from_config


def wrist_depth_errors(directory: Path, sigma: float, seeds: int, preset: str, overrides=()) -> list[float]:
    """Per seed and hand, the mean over frames of (initial - true) wrist depth, centimetres."""
    synthetic = SyntheticClip.load(directory)
    clip = synthetic.clip
    config = load_config(preset, overrides=list(overrides))
    truth_by_side = {params.side: truth for params, truth in zip(synthetic.hands, clip.ground_truth.hands)}
    layers = {side: hand_layer_from_config(config.hand, side=side) for side in truth_by_side}
    errors = []
    for seed in range(seeds if sigma > 0 else 1):
        noisy = apply_noise(clip, NoiseConfig(keypoint_sigma_px=sigma), seed=seed) if sigma > 0 else clip
        data = build_fit_data(noisy, config.fit.roi_resolution, config.fit.roi_scale, "cpu")
        for hand in data.hands:
            truth, layer = truth_by_side[hand.side], layers[hand.side]
            init = initialize_hand(
                layer, hand.keypoints, hand.confidence, hand.present, data.K, config.fit.hand_init,
                config.hand.num_pca_comps, torch.Generator().manual_seed(config.seed),
            )
            with torch.no_grad():
                posed = layer(global_orient=init.global_orient, articulation=init.articulation, transl=init.transl)
            wrist = posed.keypoints[:, 0] * init.size_factor  # the size factor scales about the camera centre
            errors.append(100.0 * float(np.mean(wrist[:, 2].numpy() - truth.joints[:, 0, 2])))
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="+", type=Path, help="synthetic clip directories")
    parser.add_argument("--sigma", type=float, default=5.0, help="keypoint noise std, pixels")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. fit.hand_init.noise_debias_samples=2 (repeatable)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for directory in args.clips:
        errors = wrist_depth_errors(directory, args.sigma, args.seeds, args.preset, args.overrides)
        print(json.dumps({
            "clip": directory.name, "sigma_px": args.sigma, "overrides": args.overrides,
            "wrist_depth_error_cm": round(float(np.mean(errors)), 3),
            "per_seed_and_hand_cm": [round(e, 3) for e in errors], "torch_threads": torch.get_num_threads(),
        }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
