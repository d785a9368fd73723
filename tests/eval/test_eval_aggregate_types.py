"""Metrics containers and aggregation helpers."""

from __future__ import annotations

import json
import math

import pytest
import torch

from hoFit.eval.aggregate import split_seen_unseen, summarize, summarize_seen_unseen
from hoFit.eval.types import Metrics, MetricValue


def test_metrics_container_roundtrip():
    m = Metrics()
    m.add("joint_error", torch.tensor(1.5), "cm")
    m.add("joint_auc", 0.8, "", higher_is_better=True)
    m.add("mesh_error", math.nan, "cm")
    assert m["joint_error"] == 1.5 and isinstance(m["joint_error"], float)
    assert list(m) == ["joint_error", "joint_auc", "mesh_error"] and len(m) == 3
    assert m.units()["joint_error"] == "cm"
    records = json.loads(json.dumps(m.to_records()))
    back = Metrics.from_records(records)
    assert back["joint_auc"] == 0.8 and back.get_value("joint_auc").higher_is_better
    assert math.isnan(back["mesh_error"])
    other = Metrics()
    other.update(m, prefix="hand/")
    assert other["hand/joint_error"] == 1.5
    assert str(MetricValue("x", 2.0, "mm")) == "x = 2 mm"
    with pytest.raises(KeyError, match="available"):
        m["nope"]


def test_summarize_mean_median_skips_nan_and_missing():
    clips = [{"a": 1.0, "b": 2.0, "name": "clip0"}, {"a": 2.0, "b": math.nan}, {"a": 6.0}]
    out = summarize(clips)
    assert out["a"] == {"mean": 3.0, "median": 2.0, "count": 3}
    assert out["b"] == {"mean": 2.0, "median": 2.0, "count": 1}
    assert "name" not in out
    m = Metrics()
    m.add("a", 4.0)
    assert summarize([m])["a"]["mean"] == 4.0
    empty = summarize([{"c": math.nan}])
    assert empty["c"]["count"] == 0 and math.isnan(empty["c"]["mean"])


def test_seen_unseen_split():
    clips = [{"e": 1.0}, {"e": 3.0}, {"e": 10.0}]
    names = ["025_mug", "019_pitcher_base", "025_mug"]
    parts = split_seen_unseen(clips, names, {"019_pitcher_base"})
    assert parts["unseen"] == [clips[1]] and parts["seen"] == [clips[0], clips[2]] and len(parts["all"]) == 3
    summary = summarize_seen_unseen(clips, names, ["019_pitcher_base"])
    assert summary["seen"]["e"]["mean"] == 5.5 and summary["unseen"]["e"]["mean"] == 3.0
    with pytest.raises(ValueError, match="one name per clip"):
        split_seen_unseen(clips, names[:2], set())
