"""Noise models for 2D pseudo-labels (masks, keypoints, boxes) and camera intrinsics.

Every model is a pure function of numpy arrays and an explicit ``numpy.random.Generator``, so the same
seed gives the same noisy cues, and has one severity knob with a documented unit. Severity 0 returns the
input unchanged (a copy). `NoiseConfig` gathers the knobs; `noise_level` gives presets 0 (clean) to 3
(very noisy); `apply_noise` turns a clean `hoFit.data.clip.Clip` into a noisy one.

Conventions: masks ``(T, H, W)`` with 1 = foreground (uint8 or bool; returned as uint8); keypoints
``(T, J, 2)`` pixels (u, v) with confidences ``(T, J)`` in [0, 1] (0 = missing); boxes ``(T, 4)``
``x1, y1, x2, y2`` pixels; intrinsics a ``(3, 3)`` matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import cv2
import numpy as np

__all__ = [
    "NoiseConfig",
    "noise_level",
    "NOISE_LEVELS",
    "jitter_mask_boundary",
    "erode_dilate_mask",
    "remove_mask_part",
    "add_false_blobs",
    "drop_frames",
    "add_keypoint_noise",
    "add_keypoint_outliers",
    "drop_keypoints",
    "swap_hands",
    "flip_handedness",
    "jitter_boxes",
    "scale_boxes",
    "perturb_intrinsics",
    "apply_noise",
]

# Correlation length (pixels) of the smooth random displacement field of `jitter_mask_boundary`.
BOUNDARY_CORRELATION_PX = 12.0
# Radius of a false blob relative to the equivalent-disk radius of the frame's foreground.
FALSE_BLOB_RELATIVE_RADIUS = 0.3
# Outliers land uniformly in the keypoints' bounding box enlarged by this factor (about its centre).
OUTLIER_BOX_SCALE = 2.0


@dataclass
class NoiseConfig:
    """Severity knobs of the noise models (0 everywhere = clean cues).

    Attributes:
        mask_jitter_px: std (pixels) of each component of a smooth random displacement field that warps
            the masks (correlation length ``BOUNDARY_CORRELATION_PX``): boundary wobble.
        mask_morph_px: signed radius (pixels) of a disk-shaped dilation (> 0) or erosion (< 0) applied to
            every mask frame: systematic over/under-segmentation.
        mask_missing_fraction: fraction (0-1) of each mask's foreground removed as one compact blob.
        mask_false_blobs: mean number (Poisson) of spurious foreground disks added per mask frame.
        missing_frame_prob: probability (0-1) that a frame's cue is missing entirely (mask unavailable, or
            every keypoint's confidence 0), drawn independently per cue track.
        keypoint_sigma_px: std (pixels) of the Gaussian noise added to each keypoint coordinate.
        keypoint_outlier_prob: probability (0-1) per keypoint of being replaced by a uniform position
            in the hand's keypoint box enlarged ``OUTLIER_BOX_SCALE`` times.
        keypoint_missing_prob: probability (0-1) per keypoint of confidence set to 0.
        handedness_swap_prob: probability (0-1) per frame of swapping the two hands' cues (two hands) or
            flipping the handedness label (one hand).
        box_jitter: std of the box-centre displacement, as a fraction of the box width/height.
        box_scale_error: std of the log of the box size factor (about the relative size error).
        focal_rel_error: relative focal-length error: ``f' = f (1 +/- e)`` with a random sign.
    """

    mask_jitter_px: float = 0.0
    mask_morph_px: float = 0.0
    mask_missing_fraction: float = 0.0
    mask_false_blobs: float = 0.0
    missing_frame_prob: float = 0.0
    keypoint_sigma_px: float = 0.0
    keypoint_outlier_prob: float = 0.0
    keypoint_missing_prob: float = 0.0
    handedness_swap_prob: float = 0.0
    box_jitter: float = 0.0
    box_scale_error: float = 0.0
    focal_rel_error: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = float(getattr(self, f.name))
            if not math.isfinite(value):
                raise ValueError(f"NoiseConfig.{f.name}: expected a finite number, got {value}")
            if f.name != "mask_morph_px" and value < 0:
                raise ValueError(f"NoiseConfig.{f.name}: expected >= 0, got {value}")
            if f.name.endswith(("_prob", "_fraction")) and value > 1:
                raise ValueError(f"NoiseConfig.{f.name}: a probability/fraction must be <= 1, got {value}")
            if f.name == "focal_rel_error" and value >= 1:
                raise ValueError(f"NoiseConfig.focal_rel_error: expected < 1, got {value}")
            setattr(self, f.name, value)

    def is_clean(self) -> bool:
        return all(getattr(self, f.name) == 0 for f in fields(self))


NOISE_LEVELS: dict[int, NoiseConfig] = {
    0: NoiseConfig(),
    1: NoiseConfig(1.0, 1.0, 0.05, 0.1, 0.02, 2.0, 0.02, 0.05, 0.01, 0.03, 0.05, 0.05),
    2: NoiseConfig(2.0, 2.0, 0.15, 0.3, 0.05, 5.0, 0.05, 0.10, 0.03, 0.07, 0.10, 0.10),
    3: NoiseConfig(4.0, 4.0, 0.30, 0.6, 0.10, 10.0, 0.10, 0.20, 0.05, 0.15, 0.20, 0.20),
}


def noise_level(level: int) -> NoiseConfig:
    """Preset severities: 0 clean, 1 mild (good detector), 2 moderate, 3 severe."""
    if level not in NOISE_LEVELS:
        raise ValueError(f"noise level must be one of {sorted(NOISE_LEVELS)}, got {level!r}")
    return NoiseConfig(**{f.name: getattr(NOISE_LEVELS[level], f.name) for f in fields(NoiseConfig)})


# ----------------------------------------------------------------------------------------------- masks


def _masks(masks: np.ndarray, name: str = "masks") -> np.ndarray:
    m = np.asarray(masks)
    if m.ndim != 3:
        raise ValueError(f"{name}: expected (T, H, W), got shape {m.shape}")
    return (m > 0).astype(np.uint8)


def _check_prob(p: float, name: str) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"{name}: expected a probability in [0, 1], got {p}")


def jitter_mask_boundary(masks: np.ndarray, amplitude_px: float, rng: np.random.Generator) -> np.ndarray:
    """Warp each mask by a smooth random displacement field.

    The field's two components are Gaussian with std ``amplitude_px`` pixels and spatial correlation
    length ``BOUNDARY_CORRELATION_PX`` (coarse noise upsampled bicubically, renormalised); so the boundary
    moves along its normal by about ``amplitude_px`` (mean absolute shift ``~0.8 amplitude_px``).

    Args:
        masks: (T, H, W) binary masks.
        amplitude_px: pixels, >= 0.

    Returns:
        (T, H, W) uint8 masks.
    """
    m = _masks(masks)
    if amplitude_px < 0:
        raise ValueError(f"amplitude_px: expected >= 0, got {amplitude_px}")
    if amplitude_px == 0:
        return m.copy()
    _, height, width = m.shape
    gh = max(2, int(math.ceil(height / BOUNDARY_CORRELATION_PX)) + 1)
    gw = max(2, int(math.ceil(width / BOUNDARY_CORRELATION_PX)) + 1)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty_like(m)
    for t in range(m.shape[0]):
        coarse = rng.standard_normal((2, gh, gw)).astype(np.float32)
        field = np.stack([cv2.resize(c, (width, height), interpolation=cv2.INTER_CUBIC) for c in coarse])
        field /= max(float(field.std()), 1e-6)
        field *= amplitude_px
        warped = cv2.remap(m[t].astype(np.float32), xs + field[0], ys + field[1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        out[t] = warped >= 0.5
    return out


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def erode_dilate_mask(masks: np.ndarray, radius_px: float) -> np.ndarray:
    """Dilate (``radius_px > 0``) or erode (``< 0``) every mask by a disk of ``round(|radius_px|)`` pixels.

    A disk of radius r becomes a disk of radius ``r + radius_px`` (to within half a pixel).
    Deterministic (no randomness). Returns (T, H, W) uint8.
    """
    m = _masks(masks)
    r = int(round(abs(radius_px)))
    if r == 0:
        return m.copy()
    op = cv2.dilate if radius_px > 0 else cv2.erode
    kernel = _disk(r)
    return np.stack([op(frame, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0) for frame in m])


def remove_mask_part(masks: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Remove ``round(fraction * area)`` foreground pixels of each frame as one compact blob: the pixels
    nearest to a foreground pixel drawn at random. ``fraction`` in [0, 1]. Returns (T, H, W) uint8."""
    m = _masks(masks)
    _check_prob(fraction, "fraction")
    out = m.copy()
    if fraction == 0:
        return out
    for t in range(m.shape[0]):
        ys, xs = np.nonzero(m[t])
        k = int(round(fraction * ys.size))
        if k == 0:
            continue
        c = rng.integers(ys.size)
        d2 = (ys - ys[c]) ** 2 + (xs - xs[c]) ** 2
        idx = np.argpartition(d2, k - 1)[:k] if k < ys.size else np.arange(ys.size)
        out[t, ys[idx], xs[idx]] = 0
    return out


def add_false_blobs(masks: np.ndarray, mean_count: float, rng: np.random.Generator) -> np.ndarray:
    """Add a Poisson(``mean_count``) number of foreground disks per frame at uniform random centres.

    Blob radius: ``FALSE_BLOB_RELATIVE_RADIUS`` times the equivalent-disk radius of the frame's
    foreground (2 % of the smaller image side for empty frames), at least 2 pixels. Returns (T, H, W) uint8.
    """
    m = _masks(masks)
    if mean_count < 0:
        raise ValueError(f"mean_count: expected >= 0, got {mean_count}")
    out = m.copy()
    if mean_count == 0:
        return out
    _, height, width = m.shape
    for t in range(m.shape[0]):
        count = int(rng.poisson(mean_count))
        area = int(m[t].sum())
        base = math.sqrt(area / math.pi) if area > 0 else 0.02 * min(height, width) / FALSE_BLOB_RELATIVE_RADIUS
        radius = max(2, int(round(FALSE_BLOB_RELATIVE_RADIUS * base)))
        for _ in range(count):
            cx, cy = int(rng.integers(width)), int(rng.integers(height))
            cv2.circle(out[t], (cx, cy), radius, 1, thickness=-1)
    return out


def drop_frames(num_frames: int, prob: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean (T,) array, True for frames whose cue goes missing, each with probability ``prob``."""
    _check_prob(prob, "prob")
    if prob == 0:
        return np.zeros(num_frames, dtype=bool)
    return rng.random(num_frames) < prob


# ------------------------------------------------------------------------------------------- keypoints


def _keypoints(kps: np.ndarray) -> np.ndarray:
    k = np.asarray(kps, dtype=np.float64)
    if k.ndim < 2 or k.shape[-1] != 2:
        raise ValueError(f"keypoints: expected (..., J, 2) pixels, got shape {k.shape}")
    return k


def add_keypoint_noise(keypoints: np.ndarray, sigma_px: float, rng: np.random.Generator) -> np.ndarray:
    """Add i.i.d. Gaussian noise of std ``sigma_px`` pixels to each coordinate of (..., J, 2) keypoints."""
    k = _keypoints(keypoints)
    if sigma_px < 0:
        raise ValueError(f"sigma_px: expected >= 0, got {sigma_px}")
    if sigma_px == 0:
        return k.copy()
    return k + sigma_px * rng.standard_normal(k.shape)


def add_keypoint_outliers(keypoints: np.ndarray, prob: float, rng: np.random.Generator,
                          image_size: tuple[int, int] | None = None):
    """Replace each keypoint, with probability ``prob``, by a uniform position in its frame's keypoint box
    enlarged ``OUTLIER_BOX_SCALE`` times about its centre (clipped to the image when ``image_size = (H, W)``
    is given). Non-finite keypoints are left alone and ignored for the box.

    Args:
        keypoints: (T, J, 2) pixels.

    Returns:
        ``(keypoints (T, J, 2), outlier (T, J) bool)``.
    """
    k = _keypoints(keypoints)
    if k.ndim != 3:
        raise ValueError(f"keypoints: expected (T, J, 2), got shape {k.shape}")
    _check_prob(prob, "prob")
    out = k.copy()
    finite = np.isfinite(k).all(-1)
    if prob == 0:
        return out, np.zeros(k.shape[:2], dtype=bool)
    hit = (rng.random(k.shape[:2]) < prob) & finite
    uniform = rng.random(k.shape)
    for t in range(k.shape[0]):
        if not hit[t].any():
            continue
        pts = k[t][finite[t]]
        lo, hi = pts.min(0), pts.max(0)
        centre, half = (lo + hi) / 2, np.maximum((hi - lo) / 2 * OUTLIER_BOX_SCALE, 1.0)
        lo, hi = centre - half, centre + half
        if image_size is not None:
            lo = np.maximum(lo, 0.0)
            hi = np.minimum(hi, np.array([image_size[1] - 1, image_size[0] - 1], dtype=np.float64))
            hi = np.maximum(hi, lo)
        out[t, hit[t]] = lo + uniform[t, hit[t]] * (hi - lo)
    return out, hit


def drop_keypoints(confidence: np.ndarray, prob: float, rng: np.random.Generator) -> np.ndarray:
    """Set each (..., J) confidence to 0 with probability ``prob``; returns the new confidences."""
    c = np.asarray(confidence, dtype=np.float64)
    _check_prob(prob, "prob")
    if prob == 0:
        return c.copy()
    return np.where(rng.random(c.shape) < prob, 0.0, c)


def swap_hands(cues_a: np.ndarray, cues_b: np.ndarray, prob: float, rng: np.random.Generator):
    """Swap two hands' per-frame cues (arrays with the frame axis first and equal shapes) in frames drawn
    with probability ``prob``. Returns ``(new_a, new_b, swapped (T,) bool)``."""
    a, b = np.asarray(cues_a), np.asarray(cues_b)
    if a.shape != b.shape:
        raise ValueError(f"swap_hands: the two hands' cues must have equal shapes, got {a.shape} and {b.shape}")
    swapped = drop_frames(a.shape[0], prob, rng)
    sel = swapped.reshape((-1,) + (1,) * (a.ndim - 1))
    return np.where(sel, b, a), np.where(sel, a, b), swapped


def flip_handedness(is_right: np.ndarray, prob: float, rng: np.random.Generator):
    """Flip a per-frame (T,) boolean handedness label with probability ``prob`` per frame.
    Returns ``(new_labels, flipped (T,) bool)``."""
    r = np.asarray(is_right, dtype=bool)
    flipped = drop_frames(r.shape[0], prob, rng)
    return r ^ flipped, flipped


# ----------------------------------------------------------------------------------------------- boxes


def _boxes(boxes: np.ndarray) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64)
    if b.ndim < 1 or b.shape[-1] != 4:
        raise ValueError(f"boxes: expected (..., 4) x1, y1, x2, y2, got shape {b.shape}")
    return b


def jitter_boxes(boxes: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Move each (..., 4) box's centre by Gaussian noise of std ``fraction`` times its width (x) and
    height (y); the size is kept. NaN boxes stay NaN."""
    b = _boxes(boxes)
    if fraction < 0:
        raise ValueError(f"fraction: expected >= 0, got {fraction}")
    if fraction == 0:
        return b.copy()
    size = np.stack([b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]], -1)
    shift = fraction * size * rng.standard_normal(size.shape)
    return b + np.concatenate([shift, shift], -1)


def scale_boxes(boxes: np.ndarray, log_sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Scale each (..., 4) box about its centre by ``exp(log_sigma * N(0, 1))`` (same factor for width
    and height)."""
    b = _boxes(boxes)
    if log_sigma < 0:
        raise ValueError(f"log_sigma: expected >= 0, got {log_sigma}")
    if log_sigma == 0:
        return b.copy()
    factor = np.exp(log_sigma * rng.standard_normal(b.shape[:-1]))[..., None]
    centre = np.concatenate([(b[..., :2] + b[..., 2:]) / 2] * 2, -1)
    return centre + (b - centre) * factor


# ------------------------------------------------------------------------------------------ intrinsics


def perturb_intrinsics(K: np.ndarray, rel_error: float, rng: np.random.Generator) -> np.ndarray:
    """Scale both focal lengths of a (3, 3) (or (..., 3, 3)) intrinsics matrix by ``1 + s * rel_error``
    with a random sign s = +/-1 (one draw per matrix); the principal point is kept."""
    k = np.asarray(K, dtype=np.float64)
    if k.shape[-2:] != (3, 3):
        raise ValueError(f"K: expected (..., 3, 3), got shape {k.shape}")
    if not 0 <= rel_error < 1:
        raise ValueError(f"rel_error: expected in [0, 1), got {rel_error}")
    out = k.copy()
    if rel_error == 0:
        return out
    sign = np.where(rng.random(k.shape[:-2]) < 0.5, -1.0, 1.0)
    factor = 1.0 + sign * rel_error
    out[..., 0, 0] *= factor
    out[..., 1, 1] *= factor
    out[..., 0, 1] *= factor
    return out


# ------------------------------------------------------------------------------------------------ clip

# Stream ids: each (entity, model) pair draws from its own generator, so that turning one knob on or off
# does not change the draws of the others.
_STREAMS = {name: i for i, name in enumerate((
    "drop", "jitter", "missing_part", "blobs", "kp_noise", "kp_outliers", "kp_missing", "box_jitter",
    "box_scale", "swap", "intrinsics"))}


def _stream(seed: int, entity: int, model: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(entity), _STREAMS[model]])


def _noisy_masks(masks, present: np.ndarray, dropped: np.ndarray, config: NoiseConfig, seed: int, entity: int):
    """Noise for one entity's `MaskSequence`; frames that end up with an empty mask become unavailable."""
    from hoFit.data.masks import MaskSequence

    m = masks.mask.astype(np.uint8)
    m = erode_dilate_mask(m, config.mask_morph_px)
    m = jitter_mask_boundary(m, config.mask_jitter_px, _stream(seed, entity, "jitter"))
    m = remove_mask_part(m, config.mask_missing_fraction, _stream(seed, entity, "missing_part"))
    blobs = add_false_blobs(m, config.mask_false_blobs, _stream(seed, entity, "blobs"))
    m = np.where(present[:, None, None], blobs, m)  # no spurious foreground where the entity is absent
    m = (m > 0) & ~masks.unknown
    frames: list[np.ndarray | None] = []
    unknowns: list[np.ndarray | None] = []
    for t in range(m.shape[0]):
        empty_but_present = present[t] and not m[t].any() and not masks.unknown[t].any()
        if not masks.available[t] or dropped[t] or empty_but_present:
            frames.append(None)
            unknowns.append(None)
        else:
            frames.append(m[t])
            unknowns.append(masks.unknown[t])
    return MaskSequence.from_frames(frames, unknowns, size=masks.size)


def _noisy_boxes(boxes, dropped: np.ndarray, config: NoiseConfig, seed: int, entity: int):
    if boxes is None:
        return None
    b = jitter_boxes(boxes, config.box_jitter, _stream(seed, entity, "box_jitter"))
    b = scale_boxes(b, config.box_scale_error, _stream(seed, entity, "box_scale"))
    b[dropped] = np.nan
    return b.astype(np.float32)


def _noisy_hand(hand, config: NoiseConfig, seed: int, entity: int, image_size: tuple[int, int]):
    from hoFit.data.clip import HandCues

    count = hand.num_frames
    dropped = drop_frames(count, config.missing_frame_prob, _stream(seed, entity, "drop")) & hand.present
    conf = hand.confidence.astype(np.float64)
    detected = conf > 0
    kps = add_keypoint_noise(hand.keypoints, config.keypoint_sigma_px, _stream(seed, entity, "kp_noise"))
    with_nan = np.where(detected[..., None], kps, np.nan)
    outl, _ = add_keypoint_outliers(with_nan, config.keypoint_outlier_prob, _stream(seed, entity, "kp_outliers"),
                                    image_size)
    kps = np.where(detected[..., None], outl, hand.keypoints)
    conf = drop_keypoints(conf, config.keypoint_missing_prob, _stream(seed, entity, "kp_missing"))
    conf[dropped] = 0.0
    masks = None if hand.masks is None else _noisy_masks(hand.masks, hand.present, dropped, config, seed, entity)
    return HandCues(hand.side, kps.astype(np.float32), conf.astype(np.float32), hand.present.copy(),
                    _noisy_boxes(hand.boxes, dropped, config, seed, entity), masks)


def _swap_hand_frames(hands: list, swapped: np.ndarray) -> list:
    """Exchange the cues of two hands in the ``swapped`` frames (sides stay with their slots)."""
    from hoFit.data.clip import HandCues
    from hoFit.data.masks import MaskSequence

    a, b = hands

    def mix(x, y):
        if x is None or y is None:
            return x, y
        sel = swapped.reshape((-1,) + (1,) * (x.ndim - 1))
        return np.where(sel, y, x), np.where(sel, x, y)

    kp = mix(a.keypoints, b.keypoints)
    conf = mix(a.confidence, b.confidence)
    present = mix(a.present, b.present)
    boxes = mix(a.boxes, b.boxes) if (a.boxes is not None and b.boxes is not None) else (a.boxes, b.boxes)
    if a.masks is not None and b.masks is not None:
        parts = [mix(getattr(a.masks, f), getattr(b.masks, f)) for f in ("mask", "unknown", "available")]
        masks = (MaskSequence(*(p[0] for p in parts)), MaskSequence(*(p[1] for p in parts)))
    else:
        masks = (a.masks, b.masks)
    if a.boxes is None or b.boxes is None:  # a box cannot follow cues to a hand without boxes: drop it
        boxes = tuple(None if h.boxes is None else np.where(swapped[:, None], np.nan, h.boxes) for h in hands)
    if a.masks is None or b.masks is None:
        masks = tuple(None if h.masks is None else _without_frames(h.masks, swapped) for h in hands)
    return [HandCues(h.side, kp[i], conf[i], present[i], boxes[i], masks[i]) for i, h in enumerate(hands)]


def _without_frames(masks, frames: np.ndarray):
    from hoFit.data.masks import MaskSequence

    m, u, a = masks.mask.copy(), masks.unknown.copy(), masks.available.copy()
    m[frames], u[frames], a[frames] = 0, True, False
    return MaskSequence(m, u, a)


def _split_flipped_hand(hand, flipped: np.ndarray) -> list:
    """One hand whose label flips in ``flipped`` frames: those frames' cues move to a new hand track of the
    other side (absent elsewhere), and the original hand becomes absent there."""
    from hoFit.data.clip import HAND_SIDES, HandCues

    other = next(s for s in HAND_SIDES if s != hand.side)
    keep = ~flipped

    def part(mask_frames, present):
        conf = np.where(mask_frames[:, None], hand.confidence, 0.0).astype(np.float32)
        boxes = None if hand.boxes is None else np.where(mask_frames[:, None], hand.boxes, np.nan).astype(np.float32)
        masks = None if hand.masks is None else _without_frames(hand.masks, ~mask_frames)
        return conf, present & mask_frames, boxes, masks

    c0, p0, b0, m0 = part(keep, hand.present)
    c1, p1, b1, m1 = part(flipped, hand.present)
    return [HandCues(hand.side, hand.keypoints, c0, p0, b0, m0), HandCues(other, hand.keypoints, c1, p1, b1, m1)]


def apply_noise(clip, config: NoiseConfig, seed: int = 0):
    """A copy of ``clip`` whose 2D cues and intrinsics are corrupted by the noise models of ``config``.

    Reproducible: the same (clip, config, seed) gives the same result, and every (entity, model) pair has
    its own random stream, so changing one knob leaves the other models' draws unchanged. Frames, template
    and ground truth are kept (ground truth deep-copied); ``meta["noise"]`` records the config and seed.

    Per entity (each hand, the object): a frame is dropped with ``missing_frame_prob`` (all its keypoint
    confidences 0, box NaN, mask unavailable). Masks: dilation/erosion, boundary jitter, a missing part,
    false blobs (only in frames where the entity is present); unknown pixels stay unknown, and a mask that
    becomes empty in a frame where the entity is present is marked unavailable. Keypoints (detected ones
    only): Gaussian noise, outliers, missing joints. Boxes: centre jitter, then scale error. Handedness:
    with two hands their cues are swapped in frames drawn with ``handedness_swap_prob``; with one hand, the
    cues of such frames move to a new hand track of the other side (the detector called it the other
    hand), with no ground truth. Intrinsics: focal lengths scaled by ``1 +/- focal_rel_error``.

    Args:
        clip: a `hoFit.data.clip.Clip` with clean cues.
        config: the severities (`noise_level(k)` for presets).
        seed: integer seed.

    Returns:
        A new `Clip`; ``clip`` is not modified.
    """
    import copy
    import dataclasses

    from hoFit.data.clip import Clip, GroundTruth, ObjectCues
    from hoFit.geometry.cameras import CameraIntrinsics

    if not isinstance(clip, Clip):
        raise ValueError(f"apply_noise: expected a hoFit.data.clip.Clip, got {type(clip).__name__}")
    if not isinstance(config, NoiseConfig):
        raise ValueError(f"apply_noise: expected a NoiseConfig (e.g. noise_level(2)), got {type(config).__name__}")
    seed = int(seed)
    image_size = clip.image_size
    hands = [_noisy_hand(h, config, seed, i, image_size) for i, h in enumerate(clip.hands)]

    obj_entity = 2
    obj = clip.object
    dropped = drop_frames(obj.num_frames, config.missing_frame_prob, _stream(seed, obj_entity, "drop")) & obj.present
    obj_masks = None if obj.masks is None else _noisy_masks(obj.masks, obj.present, dropped, config, seed, obj_entity)
    new_object = ObjectCues(obj.present.copy(), _noisy_boxes(obj.boxes, dropped, config, seed, obj_entity), obj_masks)

    ground_truth = copy.deepcopy(clip.ground_truth)
    swap_rng = _stream(seed, 3, "swap")
    if len(hands) == 2:
        swapped = drop_frames(clip.num_frames, config.handedness_swap_prob, swap_rng)
        if swapped.any():
            hands = _swap_hand_frames(hands, swapped)
    elif len(hands) == 1:
        flipped = drop_frames(clip.num_frames, config.handedness_swap_prob, swap_rng) & hands[0].present
        if flipped.any():
            hands = _split_flipped_hand(hands[0], flipped)
            if ground_truth is not None and ground_truth.hands:
                ground_truth = GroundTruth(ground_truth.object_rotation, ground_truth.object_translation,
                                           ground_truth.object_valid, list(ground_truth.hands) + [None])

    k = clip.intrinsics
    matrix = np.array([[k.fx, 0.0, k.cx], [0.0, k.fy, k.cy], [0.0, 0.0, 1.0]])
    noisy_k = perturb_intrinsics(matrix, config.focal_rel_error, _stream(seed, 4, "intrinsics"))
    intrinsics = CameraIntrinsics(float(noisy_k[0, 0]), float(noisy_k[1, 1]), k.cx, k.cy, k.width, k.height)

    meta = copy.deepcopy(clip.meta)
    meta["noise"] = {"seed": seed, **{f.name: getattr(config, f.name) for f in fields(NoiseConfig)}}
    return dataclasses.replace(clip, hands=hands, object=new_object, intrinsics=intrinsics,
                               ground_truth=ground_truth, meta=meta)
