"""Aggregation of per-clip metrics: means and medians, and the seen/unseen object split."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from hoFit.eval.types import Metrics

__all__ = ["summarize", "split_seen_unseen", "summarize_seen_unseen"]


def _as_mapping(item, index: int) -> Mapping[str, float]:
    if isinstance(item, Metrics):
        return item.to_dict()
    if isinstance(item, Mapping):
        return item
    raise ValueError(f"per_clip_metrics[{index}]: expected a dict of numbers or a Metrics, got {type(item).__name__}")


def summarize(per_clip_metrics: Sequence[Mapping[str, float] | Metrics]) -> dict[str, dict[str, float]]:
    """Mean and median of every metric over clips.

    Non-numeric entries (names, strings) are skipped; NaN values are left out of that metric's statistics
    (e.g. a mesh error missing for a clip). A metric absent from some clips is summarised over the clips
    that have it.

    Args:
        per_clip_metrics: one ``{name: value}`` dict (or `Metrics`) per clip.

    Returns:
        ``{name: {"mean": m, "median": md, "count": n}}`` with n the number of clips used; mean and median
        are NaN when n = 0. Names keep their first-seen order.
    """
    values: dict[str, list[float]] = {}
    for i, item in enumerate(per_clip_metrics):
        for name, value in _as_mapping(item, i).items():
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
                    value = value.item()
                else:
                    continue
            values.setdefault(name, [])
            if not math.isnan(float(value)):
                values[name].append(float(value))
    out = {}
    for name, vals in values.items():
        arr = np.asarray(vals, dtype=np.float64)
        out[name] = {
            "mean": float(arr.mean()) if arr.size else math.nan,
            "median": float(np.median(arr)) if arr.size else math.nan,
            "count": int(arr.size),
        }
    return out


def split_seen_unseen(
    per_clip_metrics: Sequence[Mapping[str, float] | Metrics],
    object_names: Sequence[str],
    unseen: Iterable[str],
) -> dict[str, list]:
    """Partition per-clip metrics by whether the clip's object is in ``unseen``.

    Args:
        per_clip_metrics: one entry per clip.
        object_names: the object name of each clip (same length), e.g. ``"019_pitcher_base"``.
        unseen: names of objects not seen when tuning/training.

    Returns:
        ``{"all": [...], "seen": [...], "unseen": [...]}`` lists of the input entries.
    """
    if len(per_clip_metrics) != len(object_names):
        raise ValueError(f"object_names: expected one name per clip ({len(per_clip_metrics)}), "
                         f"got {len(object_names)}")
    unseen_set = set(unseen)
    out: dict[str, list] = {"all": list(per_clip_metrics), "seen": [], "unseen": []}
    for item, name in zip(per_clip_metrics, object_names):
        out["unseen" if name in unseen_set else "seen"].append(item)
    return out


def summarize_seen_unseen(per_clip_metrics, object_names, unseen) -> dict[str, dict[str, dict[str, float]]]:
    """:func:`summarize` applied to each part of :func:`split_seen_unseen`: ``{"all"|"seen"|"unseen": ...}``."""
    return {k: summarize(v) for k, v in split_seen_unseen(per_clip_metrics, object_names, unseen).items()}
