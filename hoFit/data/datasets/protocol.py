"""Evaluation protocols of the datasets: per-clip metrics without 3D truth, full-sequence predictions
interpolated between fitted frames (HO-3D), and per-category result tables.

Everything here works on a fitted `hoFit.fit.result.FitResult` and its `Clip`; nothing runs the fitter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from hoFit.data.datasets.common import interpolate_positions, interpolate_rotations
from hoFit.errors import HoFitError

__all__ = [
    "image_space_metrics",
    "canonical_object_vertices",
    "SequenceTracks",
    "sequence_metrics",
    "category_table",
]


def canonical_object_vertices(result) -> np.ndarray:
    """(V, 3) unscaled template vertices (object frame) of a result's object track:
    ``x_tpl = R^T (v - t) / scale`` from its first frame."""
    obj = result.object
    rot = np.asarray(obj.rotation[0], dtype=np.float64)
    local = (np.asarray(obj.vertices[0], dtype=np.float64) - np.asarray(obj.translation[0], dtype=np.float64)) @ rot
    return local / float(obj.scale)


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lo = np.maximum(a[:, :2], b[:, :2])
    hi = np.minimum(a[:, 2:], b[:, 2:])
    inter = np.clip(hi - lo, 0, None).prod(axis=1)
    area = lambda x: np.clip(x[:, 2:] - x[:, :2], 0, None).prod(axis=1)  # noqa: E731
    union = area(a) + area(b) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), np.nan)


def image_space_metrics(result, clip, plausibility: bool = True, render: bool = True):
    """The metrics a dataset without 3D truth allows, for one fitted clip (a `Metrics`).

    - ``object_mask_iou`` / ``<side>_hand_mask_iou``: IoU between the rendered visible silhouette of the
      fitted object (hand) and the clip's masks, over frames with a mask, unknown pixels left out;
    - ``object_box_iou``: IoU between the box of the projected fitted object and the clip's object boxes;
    - ``<side>_keypoint_error``: confidence-weighted pixel distance between the projected fitted keypoints
      and the 2D keypoints;
    - ``penetration_depth``, ``max_penetration_depth``, ``contact_ratio`` (per hand with two hands) and
      ``hand_jitter`` / ``object_jitter`` (mean accelerations, mm/frame^2), as in ``hofit eval``.
    """
    import torch

    from hoFit.eval.image_metrics import mask_iou, projected_keypoint_error
    from hoFit.eval.types import Metrics
    from hoFit.geometry.cameras import project_points

    frames = np.asarray(result.frame_indices, dtype=np.int64)
    if frames.size == 0 or frames.max() >= clip.num_frames:
        raise HoFitError(f"result {result.clip_name}: frame indices {frames.tolist()[:5]}... do not fit clip {clip.name}")
    metrics = Metrics()
    K = clip.intrinsics.matrix(torch.float64)
    obj_v = torch.as_tensor(np.asarray(result.object.vertices), dtype=torch.float64)

    if clip.object.boxes is not None:
        boxes = clip.object.boxes[frames].astype(np.float64)
        have = ~np.isnan(boxes[:, 0])
        if have.any():
            px = project_points(obj_v[have], K).numpy()
            pred = np.concatenate([px.min(axis=1), px.max(axis=1)], axis=1) + 0.5  # centre -> edge coordinates
            metrics.add("object_box_iou", float(np.nanmean(_box_iou(pred, boxes[have]))), "", True,
                        "IoU of the projected fitted object's box and the object boxes")

    sides = [h.side for h in clip.hands]
    for hand in result.hands:
        if hand.side not in sides:
            continue
        cues = clip.hands[sides.index(hand.side)]
        conf = cues.confidence[frames]
        if (conf > 0).any():
            err = projected_keypoint_error(
                torch.as_tensor(np.asarray(hand.keypoints), dtype=torch.float64), K,
                torch.as_tensor(cues.keypoints[frames], dtype=torch.float64), torch.as_tensor(conf, dtype=torch.float64))
            metrics.add(f"{hand.side}_keypoint_error", float(torch.as_tensor(err).double().mean()), "px",
                        description="confidence-weighted 2D distance of projected fitted keypoints to the 2D keypoints")

    want_masks = clip.object.masks is not None or any(h.masks is not None for h in clip.hands)
    if render and want_masks:
        from hoFit.render import render_scene

        meshes = [(obj_v.float(), torch.as_tensor(np.asarray(result.object.faces), dtype=torch.long))]
        for hand in result.hands:
            meshes.append((torch.as_tensor(np.asarray(hand.vertices), dtype=torch.float32),
                           torch.as_tensor(np.asarray(hand.faces), dtype=torch.long)))
        with torch.no_grad():
            instance = render_scene(meshes, K.float(), clip.image_size).instance
        entries = [("object", 0, clip.object.masks)]
        for i, hand in enumerate(result.hands):
            if hand.side in sides:
                entries.append((f"{hand.side}_hand", i + 1, clip.hands[sides.index(hand.side)].masks))
        for name, index, masks in entries:
            if masks is None:
                continue
            available = masks.available[frames]
            if not available.any():
                continue
            pred = (instance[torch.as_tensor(available)] == index).double()
            target = torch.as_tensor(masks.mask[frames][available], dtype=torch.float64)
            ignore = torch.as_tensor(masks.unknown[frames][available])
            iou = mask_iou(pred, target, ignore=ignore, empty_value=math.nan)
            metrics.add(f"{name}_mask_iou", float(np.nanmean(iou.numpy())), "", True,
                        f"IoU of the rendered visible {name.replace('_', ' ')} and its masks (unknown pixels ignored)")

    from hoFit.cli.eval import evaluate_result

    metrics.update(evaluate_result(result, None, plausibility=plausibility))
    return metrics


@dataclass
class SequenceTracks:
    """Fitted frames of whole sequences, gathered clip by clip, interpolated to every frame.

    ``add`` records, for frames at positions ``positions`` of a sequence, the hand joints (21, 3), hand
    vertices (V, 3), and object pose; a position fitted by several clips keeps the first clip's values.
    """

    joints: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    vertices: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    rotations: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    translations: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    canonical: dict[str, np.ndarray] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)

    def add(self, sequence: str, positions: Sequence[int], result, hand_index: int = 0) -> None:
        hand = result.hands[hand_index]
        positions = [int(p) for p in positions]
        if len(positions) != result.num_frames:
            raise HoFitError(f"{result.clip_name}: {len(positions)} positions for {result.num_frames} fitted frames")
        self.canonical.setdefault(sequence, canonical_object_vertices(result))
        self.scales.setdefault(sequence, float(result.object.scale))
        for store, values in ((self.joints, hand.keypoints), (self.vertices, hand.vertices),
                              (self.rotations, result.object.rotation), (self.translations, result.object.translation)):
            table = store.setdefault(sequence, {})
            for p, v in zip(positions, np.asarray(values, dtype=np.float64)):
                table.setdefault(p, v)

    def sequences(self) -> list[str]:
        return list(self.joints)

    def interpolate(self, sequence: str, num_positions: int) -> dict[str, np.ndarray]:
        """Arrays over positions ``0..num_positions-1``: ``joints (N, 21, 3)``, ``vertices (N, V, 3)``,
        ``rotation (N, 3, 3)``, ``translation (N, 3)``, ``fitted (N,)`` bool."""
        if sequence not in self.joints:
            raise HoFitError(f"no fitted clip of sequence {sequence}")
        known = sorted(self.joints[sequence])
        query = np.arange(num_positions)
        out = {
            "joints": interpolate_positions(known, np.stack([self.joints[sequence][p] for p in known]), query),
            "vertices": interpolate_positions(known, np.stack([self.vertices[sequence][p] for p in known]), query),
            "rotation": interpolate_rotations(known, np.stack([self.rotations[sequence][p] for p in known]), query),
            "translation": interpolate_positions(known, np.stack([self.translations[sequence][p] for p in known]), query),
        }
        out["fitted"] = np.isin(query, known)
        return out


def sequence_metrics(tracks: Mapping[str, np.ndarray], ground_truth, canonical: np.ndarray, pred_scale: float = 1.0,
                     object_scale: float = 1.0):
    """Full-sequence scores of interpolated predictions (HO-3D protocol), a `Metrics`.

    ``canonical`` is the unscaled template (V, 3); the prediction places ``pred_scale * canonical`` with the
    interpolated poses, the ground truth ``object_scale * canonical`` (the dataset's metric scale).

    Object (frames with an annotated pose): ``object_add`` (mean corresponding-vertex distance, cm) and
    ``object_add_s`` (mean distance from each true vertex to the nearest predicted one, cm), camera frame.
    Hand: with full joints, the official family of :func:`hoFit.eval.hand_metrics.hand_pose_metrics`; with
    the wrist only (evaluation split), ``root_error`` (cm).
    """
    import torch
    from scipy.spatial import cKDTree

    from hoFit.eval.hand_metrics import hand_pose_metrics
    from hoFit.eval.types import Metrics

    metrics = Metrics()
    if ground_truth is None:
        return metrics
    count = tracks["joints"].shape[0]
    if ground_truth.num_frames != count:
        raise HoFitError(f"sequence_metrics: {count} predicted frames but {ground_truth.num_frames} annotated")
    if ground_truth.object_rotation is not None and ground_truth.object_valid.any():
        valid = ground_truth.object_valid
        pred = np.einsum("tij,vj->tvi", tracks["rotation"][valid], pred_scale * canonical)
        pred += tracks["translation"][valid][:, None]
        gt = np.einsum("tij,vj->tvi", ground_truth.object_rotation[valid].astype(np.float64), object_scale * canonical)
        gt += ground_truth.object_translation[valid].astype(np.float64)[:, None]
        metrics.add("object_add", 100 * np.linalg.norm(pred - gt, axis=-1).mean(), "cm",
                    description="mean corresponding-vertex distance of the object, all annotated frames")
        adds = [cKDTree(p).query(g)[0].mean() for p, g in zip(pred, gt)]
        metrics.add("object_add_s", 100 * float(np.mean(adds)), "cm",
                    description="mean distance of true object vertices to the nearest predicted one")
    hand = ground_truth.hands[0] if ground_truth.hands else None
    if hand is not None and hand.joints is not None:
        full = hand.joints_valid.all(axis=1)
        if full.any():
            metrics.update(hand_pose_metrics(torch.as_tensor(tracks["joints"][full]),
                                             torch.as_tensor(hand.joints[full], dtype=torch.float64)))
        roots = hand.joints_valid[:, 0]
        if roots.any():
            err = np.linalg.norm(tracks["joints"][roots, 0] - hand.joints[roots, 0], axis=-1)
            metrics.add("root_error", 100 * err.mean(), "cm", description="wrist position error, all annotated frames")
    return metrics


def category_table(rows: Sequence[tuple[str, Mapping[str, float]]], metric_names: Sequence[str] | None = None) -> str:
    """A Markdown table of mean metrics per category (and over all clips).

    Args:
        rows: ``(category, {metric: value})`` per clip; NaN values are left out of the means.
        metric_names: columns (default: every metric seen, in first-seen order).
    """
    if metric_names is None:
        metric_names = list(dict.fromkeys(name for _, values in rows for name in values))
    groups: dict[str, list[Mapping[str, float]]] = {}
    for category, values in rows:
        groups.setdefault(category, []).append(values)
    groups_sorted = sorted(groups.items()) + [("all", [v for _, v in rows])]

    def mean(values, name):
        vals = [float(v[name]) for v in values if name in v and v[name] is not None and not math.isnan(float(v[name]))]
        return f"{np.mean(vals):.4g}" if vals else "n/a"

    header = "| category | clips | " + " | ".join(metric_names) + " |"
    lines = [header, "|" + "---|" * (len(metric_names) + 2)]
    for category, values in groups_sorted:
        lines.append(f"| {category} | {len(values)} | " + " | ".join(mean(values, n) for n in metric_names) + " |")
    return "\n".join(lines)
