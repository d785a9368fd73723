"""Object and hand masks by GrabCut (OpenCV), seeded by boxes and hand keypoints.

Seeds (OpenCV labels: definite/probable background/foreground):

- object: outside the (slightly enlarged) object box definite background, inside probable foreground;
  the hand's keypoint skeleton (thick lines) definite background and the hand mask, when given, probable
  background, so hand pixels are excluded from the object. With the previous frame's mask (shifted by the
  box motion) the prior's pixels are probable foreground and the rest of the box probable background.
- hand: the keypoint skeleton definite foreground, the hull of the keypoints (dilated) probable
  foreground, the rest of the hand box probable background, outside definite background.

A result is *degenerate* when it covers less than ``min_area_fraction`` of its box or its own box
overlaps the seed box by less than ``min_box_iou``; :func:`grabcut_object_mask` then re-runs from the box
alone (re-initialization). GrabCut runs on a crop around the box, downscaled to ``max_roi_side``.

Images are (H, W, 3) uint8 RGB; masks (H, W) uint8 with 1 = foreground; keypoints (21, 2) pixels
(pixel-centre convention) in hoFit order; boxes ``x1, y1, x2, y2`` in edge coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hoFit.models.hand.keypoints import SKELETON_EDGES
from hoFit.perception.boxes import box_from_mask, box_iou, box_is_valid, box_pixel_slices, scale_box

__all__ = [
    "GrabCutSettings",
    "MaskResult",
    "hand_skeleton_mask",
    "hand_hull_mask",
    "shift_mask",
    "mask_iou",
    "grabcut_labels",
    "grabcut_object_mask",
    "grabcut_hand_mask",
]


@dataclass
class GrabCutSettings:
    """Settings of the GrabCut segmentation.

    Attributes:
        iterations: GrabCut iterations per call.
        roi_margin: context around the box given to GrabCut, as a fraction of the box size.
        box_slack: the object box is enlarged by this factor before pixels outside it become definite
            background (tolerates a slightly tight box).
        max_roi_side: the crop is downscaled so its longer side is at most this (pixels).
        skeleton_thickness: thickness of the hand skeleton lines, fraction of the hand box's longer side.
        hull_dilation: dilation of the keypoint hull (probable hand), fraction of the hand box's longer side.
        prior_erosion: pixels eroded from the previous mask before it seeds probable foreground.
        min_area_fraction: a mask smaller than this fraction of its box is degenerate.
        min_box_iou: a mask whose box overlaps the seed box less than this is degenerate.
        min_component_fraction: connected components smaller than this fraction of the largest are removed.
        seed: OpenCV RNG seed set before each GrabCut call, so results do not depend on earlier calls.
    """

    iterations: int = 4
    roi_margin: float = 0.35
    box_slack: float = 1.05
    max_roi_side: int = 200
    skeleton_thickness: float = 0.06
    hull_dilation: float = 0.05
    prior_erosion: int = 2
    min_area_fraction: float = 0.08
    min_box_iou: float = 0.3
    min_component_fraction: float = 0.2
    seed: int = 0


@dataclass
class MaskResult:
    """A mask (H, W) uint8, whether it is ``degenerate`` and whether the prior was dropped
    (``reinitialized``)."""

    mask: np.ndarray
    degenerate: bool
    reinitialized: bool = False


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image: expected (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
    return image


def _hand_scale(keypoints: np.ndarray) -> float:
    finite = keypoints[np.isfinite(keypoints).all(1)]
    if len(finite) < 2:
        return 0.0
    return float(max(np.ptp(finite[:, 0]), np.ptp(finite[:, 1]), 1.0))


def hand_skeleton_mask(keypoints: np.ndarray, image_size: tuple[int, int], thickness: float = 0.06) -> np.ndarray:
    """Thick drawing of the hand skeleton (bones and joints).

    Args:
        keypoints: (21, 2) pixels, hoFit order; NaN keypoints and their bones are skipped.
        image_size: (H, W).
        thickness: line thickness as a fraction of the keypoints' extent (at least 1 pixel).

    Returns:
        (H, W) bool.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.shape != (21, 2):
        raise ValueError(f"keypoints: expected (21, 2) pixels, got shape {keypoints.shape}")
    canvas = np.zeros(image_size, dtype=np.uint8)
    width = max(1, int(round(thickness * _hand_scale(keypoints))))
    shift = 4  # sub-pixel precision of cv2 drawing
    pts = np.round(np.nan_to_num(keypoints, nan=-1e6) * (1 << shift)).astype(np.int64)
    ok = np.isfinite(keypoints).all(1)
    for a, b in SKELETON_EDGES:
        if ok[a] and ok[b]:
            cv2.line(canvas, tuple(int(x) for x in pts[a]), tuple(int(x) for x in pts[b]), 1, width, cv2.LINE_8, shift)
    for i in np.flatnonzero(ok):
        cv2.circle(canvas, tuple(int(x) for x in pts[i]), max(1, width // 2) << shift, 1, -1, cv2.LINE_8, shift)
    return canvas.astype(bool)


def hand_hull_mask(keypoints: np.ndarray, image_size: tuple[int, int], dilation: float = 0.05) -> np.ndarray:
    """Filled convex hull of the finite keypoints (21, 2), dilated by ``dilation`` of their extent; (H, W) bool."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    finite = keypoints[np.isfinite(keypoints).all(1)]
    canvas = np.zeros(image_size, dtype=np.uint8)
    if len(finite) >= 3:
        hull = cv2.convexHull(np.round(finite).astype(np.int32))
        cv2.fillConvexPoly(canvas, hull, 1)
        radius = int(round(dilation * _hand_scale(keypoints)))
        if radius > 0:
            canvas = cv2.dilate(canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))
    return canvas.astype(bool)


def shift_mask(mask: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Translate a (H, W) mask by (dx, dy) pixels (nearest pixel, zeros shifted in)."""
    mask = np.asarray(mask)
    h, w = mask.shape
    dx, dy = int(round(dx)), int(round(dy))
    out = np.zeros_like(mask)
    src_r = slice(max(0, -dy), min(h, h - dy))
    dst_r = slice(max(0, dy), min(h, h + dy))
    src_c = slice(max(0, -dx), min(w, w - dx))
    dst_c = slice(max(0, dx), min(w, w + dx))
    if src_r.start < src_r.stop and src_c.start < src_c.stop:
        out[dst_r, dst_c] = mask[src_r, src_c]
    return out


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (H, W) masks (foreground = nonzero); 1 when both are empty."""
    a = np.asarray(a) > 0
    b = np.asarray(b) > 0
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def grabcut_labels(
    image: np.ndarray, labels: np.ndarray, roi: np.ndarray, settings: GrabCutSettings | None = None
) -> np.ndarray:
    """Run GrabCut on a crop from an initial label map.

    Args:
        image: (H, W, 3) uint8 RGB.
        labels: (H, W) uint8 OpenCV labels (cv2.GC_BGD, GC_FGD, GC_PR_BGD, GC_PR_FGD).
        roi: (4,) box of the region to segment; pixels outside it are background.
        settings: :class:`GrabCutSettings`.

    Returns:
        (H, W) uint8 mask, 1 = foreground. Empty when the seeds lack foreground or background.
    """
    s = settings or GrabCutSettings()
    image = _check_image(image)
    h, w = image.shape[:2]
    rows, cols = box_pixel_slices(roi, (h, w))
    out = np.zeros((h, w), dtype=np.uint8)
    crop_labels = labels[rows, cols].copy()
    if crop_labels.size == 0:
        return out
    is_fg = (crop_labels == cv2.GC_FGD) | (crop_labels == cv2.GC_PR_FGD)
    if not is_fg.any() or is_fg.all():
        return out
    crop = image[rows, cols][:, :, ::-1]  # OpenCV works in BGR; GrabCut is colour-order agnostic anyway
    ch, cw = crop_labels.shape
    scale = min(1.0, s.max_roi_side / max(ch, cw))
    if scale < 1.0:
        size = (max(2, int(round(cw * scale))), max(2, int(round(ch * scale))))
        small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        small_labels = cv2.resize(crop_labels, size, interpolation=cv2.INTER_NEAREST)
    else:
        small, small_labels = np.ascontiguousarray(crop), crop_labels
    small_fg = (small_labels == cv2.GC_FGD) | (small_labels == cv2.GC_PR_FGD)
    if not small_fg.any() or small_fg.all():
        return out
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(int(s.seed))  # GrabCut's k-means initialization draws from OpenCV's global RNG
    try:
        cv2.grabCut(np.ascontiguousarray(small), small_labels, None, bgd, fgd, int(s.iterations), cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        # GrabCut fails when one of the GMMs gets too few distinct samples: report an empty mask.
        return out
    result = ((small_labels == cv2.GC_FGD) | (small_labels == cv2.GC_PR_FGD)).astype(np.uint8)
    if scale < 1.0:
        result = cv2.resize(result, (cw, ch), interpolation=cv2.INTER_NEAREST)
    out[rows, cols] = result
    return out


def _keep_large_components(mask: np.ndarray, min_fraction: float) -> np.ndarray:
    count, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= min_fraction * areas.max()) + 1
    return np.isin(comp, keep).astype(np.uint8)


def _is_degenerate(mask: np.ndarray, box: np.ndarray, s: GrabCutSettings) -> bool:
    area = float(mask.sum())
    box_area = max(1.0, float((box[2] - box[0]) * (box[3] - box[1])))
    if area < s.min_area_fraction * box_area:
        return True
    return float(box_iou(box_from_mask(mask)[None], box[None])[0, 0]) < s.min_box_iou


def _box_region(box: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    region = np.zeros(image_size, dtype=bool)
    rows, cols = box_pixel_slices(box, image_size)
    region[rows, cols] = True
    return region


def grabcut_object_mask(
    image: np.ndarray,
    box: np.ndarray,
    hand_keypoints: np.ndarray | None = None,
    hand_mask: np.ndarray | None = None,
    prior_mask: np.ndarray | None = None,
    settings: GrabCutSettings | None = None,
) -> MaskResult:
    """Object mask inside ``box`` with hand pixels excluded.

    Args:
        image: (H, W, 3) uint8 RGB.
        box: (4,) object box (edge coordinates).
        hand_keypoints: optional (21, 2) hand keypoints (pixels, hoFit order): skeleton = definite background.
        hand_mask: optional (H, W) hand mask: probable background.
        prior_mask: optional (H, W) object mask of the previous frame, already aligned to this frame
            (e.g. with :func:`shift_mask`): seeds probable foreground.
        settings: :class:`GrabCutSettings`.

    Returns:
        :class:`MaskResult`; ``reinitialized`` when the prior gave a degenerate mask and the box alone was used.
    """
    s = settings or GrabCutSettings()
    image = _check_image(image)
    size = image.shape[:2]
    box = np.asarray(box, dtype=np.float64)
    if not box_is_valid(box):
        raise ValueError(f"box: expected (4,) x1,y1,x2,y2 with x2 > x1 and y2 > y1, got {box}")
    inside = _box_region(scale_box(box, s.box_slack), size)
    exclude_definite = None
    if hand_keypoints is not None:
        exclude_definite = hand_skeleton_mask(hand_keypoints, size, s.skeleton_thickness)
    roi = scale_box(box, 1.0 + 2 * s.roi_margin)

    def run(prior: np.ndarray | None) -> np.ndarray:
        labels = np.full(size, cv2.GC_BGD, dtype=np.uint8)
        if prior is None:
            labels[inside] = cv2.GC_PR_FGD
        else:
            seed = prior.astype(np.uint8)
            if s.prior_erosion > 0:
                k = 2 * s.prior_erosion + 1
                seed = cv2.erode(seed, np.ones((k, k), np.uint8))
            labels[inside] = cv2.GC_PR_BGD
            labels[inside & (seed > 0)] = cv2.GC_PR_FGD
        if hand_mask is not None:
            labels[(np.asarray(hand_mask) > 0) & inside] = cv2.GC_PR_BGD
        if exclude_definite is not None:
            labels[exclude_definite] = cv2.GC_BGD
        mask = grabcut_labels(image, labels, roi, s)
        return _keep_large_components(mask, s.min_component_fraction)

    use_prior = prior_mask is not None and np.asarray(prior_mask).any()
    mask = run(np.asarray(prior_mask) > 0 if use_prior else None)
    degenerate = _is_degenerate(mask, box, s)
    if degenerate and use_prior:
        mask = run(None)
        return MaskResult(mask, _is_degenerate(mask, box, s), reinitialized=True)
    return MaskResult(mask, degenerate)


def grabcut_hand_mask(
    image: np.ndarray,
    keypoints: np.ndarray,
    box: np.ndarray | None = None,
    object_mask: np.ndarray | None = None,
    settings: GrabCutSettings | None = None,
) -> MaskResult:
    """Hand mask seeded by the keypoint skeleton.

    Args:
        image: (H, W, 3) uint8 RGB.
        keypoints: (21, 2) hand keypoints (pixels, hoFit order).
        box: optional (4,) hand box; default the keypoints' box with a 15 % margin.
        object_mask: optional (H, W) object mask: probable background (except on the skeleton).
        settings: :class:`GrabCutSettings`.

    Returns:
        :class:`MaskResult` (the mask always contains the skeleton pixels).
    """
    from hoFit.perception.boxes import box_from_points

    s = settings or GrabCutSettings()
    image = _check_image(image)
    size = image.shape[:2]
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if box is None:
        box = box_from_points(keypoints, 0.15)
    box = np.asarray(box, dtype=np.float64)
    if not box_is_valid(box):
        raise ValueError(f"hand box: expected a valid (4,) box from the keypoints, got {box}")
    skeleton = hand_skeleton_mask(keypoints, size, s.skeleton_thickness)
    hull = hand_hull_mask(keypoints, size, s.hull_dilation)
    labels = np.full(size, cv2.GC_BGD, dtype=np.uint8)
    labels[_box_region(box, size)] = cv2.GC_PR_BGD
    labels[hull] = cv2.GC_PR_FGD
    if object_mask is not None:
        labels[(np.asarray(object_mask) > 0) & hull] = cv2.GC_PR_BGD
    labels[skeleton] = cv2.GC_FGD
    mask = grabcut_labels(image, labels, scale_box(box, 1.0 + 2 * s.roi_margin), s)
    mask = np.maximum(_keep_large_components(mask, s.min_component_fraction), skeleton.astype(np.uint8))
    return MaskResult(mask, _is_degenerate(mask, box, s))
