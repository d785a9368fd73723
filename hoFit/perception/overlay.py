"""Overlay images of the 2D cues (keypoints, boxes, masks) for visual inspection."""

from __future__ import annotations

import cv2
import numpy as np

from hoFit.models.hand.keypoints import SKELETON_EDGES

__all__ = ["draw_cues"]

_OBJECT_COLOR = (255, 140, 0)
_HAND_COLOR = (0, 200, 255)
# one colour per finger, in the order of SKELETON_EDGES (4 bones each: thumb, index, middle, ring, pinky)
_FINGER_COLORS = ((255, 60, 60), (255, 200, 0), (60, 220, 60), (0, 160, 255), (200, 80, 255))


def _box(img: np.ndarray, box, color, label: str | None) -> None:
    box = np.asarray(box, dtype=np.float64)
    if box.shape != (4,) or not np.isfinite(box).all():
        return
    p1 = (int(round(box[0])), int(round(box[1])))
    p2 = (int(round(box[2])) - 1, int(round(box[3])) - 1)
    cv2.rectangle(img, p1, p2, color, 2)
    if label:
        cv2.putText(img, label, (p1[0], max(12, p1[1] - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)


def draw_cues(
    image: np.ndarray,
    hand_keypoints: np.ndarray | None = None,
    hand_box: np.ndarray | None = None,
    object_box: np.ndarray | None = None,
    hand_mask: np.ndarray | None = None,
    object_mask: np.ndarray | None = None,
    unknown_mask: np.ndarray | None = None,
    text: str = "",
) -> np.ndarray:
    """Draw cues over a copy of ``image``.

    Args:
        image: (H, W, 3) uint8 RGB.
        hand_keypoints: (21, 2) pixels in hoFit order (NaN = missing).
        hand_box, object_box: (4,) boxes (edge coordinates) or None/NaN.
        hand_mask, object_mask: (H, W) masks (nonzero = foreground), tinted.
        unknown_mask: (H, W) bool pixels whose object label is unknown, hatched grey.
        text: a caption in the top-left corner.

    Returns:
        (H, W, 3) uint8 RGB overlay.
    """
    out = np.asarray(image, dtype=np.uint8).copy()
    if out.ndim != 3 or out.shape[2] != 3:
        raise ValueError(f"image: expected (H, W, 3) uint8 RGB, got {out.shape}")
    for mask, color in ((object_mask, _OBJECT_COLOR), (hand_mask, _HAND_COLOR)):
        if mask is not None:
            sel = np.asarray(mask) > 0
            out[sel] = (0.5 * out[sel] + 0.5 * np.array(color)).astype(np.uint8)
            contours, _ = cv2.findContours(sel.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(out, contours, -1, color, 1)
    if unknown_mask is not None:
        sel = np.asarray(unknown_mask, dtype=bool)
        hatch = ((np.add.outer(np.arange(out.shape[0]), np.arange(out.shape[1])) // 3) % 2).astype(bool)
        out[sel & hatch] = (128, 128, 128)
    _box(out, object_box, _OBJECT_COLOR, "object")
    _box(out, hand_box, _HAND_COLOR, "hand")
    if hand_keypoints is not None:
        kp = np.asarray(hand_keypoints, dtype=np.float64)
        ok = np.isfinite(kp).all(1)
        for k, (a, b) in enumerate(SKELETON_EDGES):
            if ok[a] and ok[b]:
                cv2.line(out, tuple(int(round(x)) for x in kp[a]), tuple(int(round(x)) for x in kp[b]),
                         _FINGER_COLORS[k // 4], 2, cv2.LINE_AA)
        for i in np.flatnonzero(ok):
            cv2.circle(out, tuple(int(round(x)) for x in kp[i]), 3, (255, 255, 255), -1, cv2.LINE_AA)
    if text:
        cv2.putText(out, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out
