"""Depth bias of the hand initialization under keypoint noise: prints one JSON line per clip.

``python benchmarks/bench_hand_depth_bias.py DATA/v1_10_021_bleach_cleanser_pinch [...] [--sigma 5] [--seeds 3]
[--level 2] [--set KEY=VALUE]...``

Each clip is a synthetic clip directory (``hofit synth --set synth-v1 --out DATA``). For every noise seed the
keypoints get ``--sigma`` pixels of Gaussian noise (nothing else), or with ``--level K`` every keypoint
corruption of noise level K (Gaussian noise, outliers, missing joints and frames, left/right swaps; no mask,
box or intrinsics noise). Hand tracks that are one hand mislabeled are merged as the fit merges them, the
hands are initialized from their keypoints alone (`hoFit.fit.init_hand.initialize_hand`, the preset's
settings) and the wrist's depth is compared with the truth (after the initialization's size factor, see
``noise_debias_samples``): negative means too close to the camera. ``--sigma 0`` measures the noise-free
baseline.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from hoFit.config.schema import load_config
from hoFit.data.noise import NoiseConfig, apply_noise, noise_level
from hoFit.data.synth.generator import SyntheticClip
from hoFit.fit.handedness import merge_mislabeled_hands
from hoFit.fit.init_hand import initialize_hand
from hoFit.fit.problem import build_fit_data
from hoFit.models.hand import hand_layer_from_config


# The keypoint corruptions of a noise level, as `--level` applies them.
KEYPOINT_NOISE = ("keypoint_sigma_px", "keypoint_outlier_prob", "keypoint_missing_prob", "missing_frame_prob",
                  "handedness_swap_prob")


def keypoint_noise(sigma: float, level: int | None) -> NoiseConfig:
    """Gaussian noise of ``sigma`` pixels alone, or every keypoint corruption of noise level ``level``."""
    if level is None:
        return NoiseConfig(keypoint_sigma_px=sigma)
    preset = noise_level(level)
    return NoiseConfig(**{name: getattr(preset, name) for name in KEYPOINT_NOISE})


def wrist_depth_errors(
    directory: Path, noise: NoiseConfig, seeds: int, preset: str, overrides=()
) -> list[float]:
    """Per seed and hand, the mean over frames of (initial - true) wrist depth, centimetres."""
    synthetic = SyntheticClip.load(directory)
    clip = synthetic.clip
    config = load_config(preset, overrides=list(overrides))
    truth_by_side = {params.side: truth for params, truth in zip(synthetic.hands, clip.ground_truth.hands)}
    layers = {side: hand_layer_from_config(config.hand, side=side) for side in truth_by_side}
    errors = []
    for seed in range(1 if noise.is_clean() else seeds):
        noisy = clip if noise.is_clean() else apply_noise(clip, noise, seed=seed)
        hands, merged = merge_mislabeled_hands(list(noisy.hands), config.fit.mislabeled_hand_fraction)
        if merged:
            noisy = dataclasses.replace(noisy, hands=hands, ground_truth=None)
        data = build_fit_data(noisy, config.fit.roi_resolution, config.fit.roi_scale, "cpu")
        for hand in data.hands:
            if hand.side not in truth_by_side:
                raise RuntimeError(f"{directory.name}, noise seed {seed}: a {hand.side} hand track that is not "
                                   "one of the clip's hands and was not merged; lower the swap probability")
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
    parser.add_argument("--level", type=int, default=None,
                        help="apply every keypoint corruption of this noise level instead of --sigma alone")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. fit.hand_init.noise_debias_samples=2 (repeatable)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    noise = keypoint_noise(args.sigma, args.level)
    for directory in args.clips:
        errors = wrist_depth_errors(directory, noise, args.seeds, args.preset, args.overrides)
        print(json.dumps({
            "clip": directory.name, "sigma_px": noise.keypoint_sigma_px, "level": args.level,
            "overrides": args.overrides,
            "wrist_depth_error_cm": round(float(np.mean(errors)), 3),
            "per_seed_and_hand_cm": [round(e, 3) for e in errors], "torch_threads": torch.get_num_threads(),
        }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
