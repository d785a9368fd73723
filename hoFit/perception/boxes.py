"""Axis-aligned 2D boxes: IoU, boxes from keypoints and masks, clipping, parsing.

Convention: a box is ``(x1, y1, x2, y2)`` in pixel-EDGE coordinates, as in
:func:`hoFit.geometry.cameras.crop_intrinsics`: the image spans ``[0, W] x [0, H]`` and pixel ``(u, v)``
(centre at integer ``(u, v)``, OpenCV) covers ``[u, u + 1] x [v, v + 1]``. A mask whose foreground spans
columns ``a..b`` therefore has ``x1 = a`` and ``x2 = b + 1``; a keypoint at ``u`` sits at edge coordinate
``u + 0.5``. Boxes are float numpy arrays ``(..., 4)``; an invalid/missing box is all-NaN.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hoFit.errors import HoFitError

__all__ = [
    "box_iou",
    "box_area",
    "box_from_points",
    "box_from_mask",
    "clip_box",
    "scale_box",
    "box_pixel_slices",
    "box_is_valid",
    "parse_box",
    "load_box",
]


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Areas (pixels^2) of boxes ``(..., 4)``; 0 for empty or inverted boxes, NaN stays NaN."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.shape[-1] != 4:
        raise ValueError(f"boxes: expected (..., 4) x1,y1,x2,y2, got shape {boxes.shape}")
    w = np.clip(boxes[..., 2] - boxes[..., 0], 0.0, None)
    h = np.clip(boxes[..., 3] - boxes[..., 1], 0.0, None)
    return w * h


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection over union.

    Args:
        a: (N, 4) boxes; b: (M, 4) boxes (edge coordinates).

    Returns:
        (N, M) IoU in [0, 1]; 0 where either box is empty or NaN.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return np.nan_to_num(iou, nan=0.0)


def box_is_valid(box: np.ndarray) -> bool:
    """True when ``box`` (4,) is finite with positive width and height."""
    box = np.asarray(box, dtype=np.float64)
    return bool(np.all(np.isfinite(box)) and box[2] > box[0] and box[3] > box[1])


def box_from_points(points: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Tight box around 2D points plus a relative margin.

    Args:
        points: (..., N, 2) pixel coordinates (u, v), pixel-centre convention; NaN points are ignored.
        margin: fraction of the box's longer side added on every side (0.1 = 10 %).

    Returns:
        (..., 4) boxes in edge coordinates (a point at ``u`` covers ``[u, u + 1]``); NaN when no finite point.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim < 2 or points.shape[-1] != 2:
        raise ValueError(f"points: expected (..., N, 2), got shape {points.shape}")
    finite = np.isfinite(points).all(-1, keepdims=True)
    lo = np.where(finite, points, np.inf).min(-2)
    hi = np.where(finite, points, -np.inf).max(-2) + 1.0
    box = np.concatenate([lo, hi], -1)
    side = np.maximum(box[..., 2] - box[..., 0], box[..., 3] - box[..., 1])
    pad = (margin * side)[..., None]
    box = box + np.concatenate([-pad, -pad, pad, pad], -1)
    return np.where(np.isfinite(box).all(-1, keepdims=True), box, np.nan)


def box_from_mask(mask: np.ndarray) -> np.ndarray:
    """Box (4,) around the foreground (``mask > 0``) of one (H, W) mask; NaN when the mask is empty."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask: expected (H, W), got shape {mask.shape}")
    rows = np.flatnonzero(mask.any(1))
    cols = np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return np.full(4, np.nan)
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float64)


def clip_box(box: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Clip boxes ``(..., 4)`` to the image ``image_size = (H, W)``; a box fully outside becomes empty."""
    h, w = image_size
    box = np.asarray(box, dtype=np.float64).copy()
    box[..., [0, 2]] = np.clip(box[..., [0, 2]], 0, w)
    box[..., [1, 3]] = np.clip(box[..., [1, 3]], 0, h)
    return box


def scale_box(box: np.ndarray, factor: float) -> np.ndarray:
    """Boxes ``(..., 4)`` scaled by ``factor`` about their centres."""
    box = np.asarray(box, dtype=np.float64)
    centre = (box[..., :2] + box[..., 2:]) / 2
    half = (box[..., 2:] - box[..., :2]) / 2 * factor
    return np.concatenate([centre - half, centre + half], -1)


def box_pixel_slices(box: np.ndarray, image_size: tuple[int, int]) -> tuple[slice, slice]:
    """(rows, cols) slices of the pixels whose area overlaps ``box`` (4,), clipped to ``image_size = (H, W)``."""
    h, w = image_size
    x1, y1, x2, y2 = np.asarray(box, dtype=np.float64)
    c0 = int(np.clip(np.floor(x1), 0, w))
    c1 = int(np.clip(np.ceil(x2), 0, w))
    r0 = int(np.clip(np.floor(y1), 0, h))
    r1 = int(np.clip(np.ceil(y2), 0, h))
    return slice(r0, r1), slice(c0, c1)


def parse_box(text: str, name: str = "box") -> np.ndarray:
    """Parse ``"x1,y1,x2,y2"`` (pixels, edge coordinates) into a (4,) array.

    Raises:
        HoFitError: when the text is not four numbers with x2 > x1 and y2 > y1.
    """
    parts = [p for p in str(text).replace(" ", ",").split(",") if p]
    try:
        values = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        values = np.array([])
    if values.shape != (4,) or not np.all(np.isfinite(values)):
        raise HoFitError(f"{name}: expected four numbers 'x1,y1,x2,y2' in pixels, got {text!r}")
    if not (values[2] > values[0] and values[3] > values[1]):
        raise HoFitError(
            f"{name}: expected x2 > x1 and y2 > y1 (top-left corner first), got {text!r}"
        )
    return values


def load_box(path: str | Path) -> np.ndarray:
    """Read a first-frame box from a small JSON file.

    Accepted forms: ``[x1, y1, x2, y2]``, ``{"box": [x1, y1, x2, y2]}``, ``{"object_box": [...]}`` or
    ``{"x1": .., "y1": .., "x2": .., "y2": ..}`` (pixels, edge coordinates).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise HoFitError(f"{path}: cannot read the box JSON ({exc}); expected e.g. {{\"box\": [x1, y1, x2, y2]}}")
    if isinstance(data, dict):
        if all(k in data for k in ("x1", "y1", "x2", "y2")):
            data = [data["x1"], data["y1"], data["x2"], data["y2"]]
        else:
            data = data.get("box", data.get("object_box"))
    if not isinstance(data, (list, tuple)):
        raise HoFitError(f"{path}: expected [x1, y1, x2, y2] or {{\"box\": [x1, y1, x2, y2]}}, got {data!r}")
    return parse_box(",".join(str(v) for v in data), name=str(path))
