"""The typed config machinery: round-trip through YAML, checked keys and types, dotted overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest
import yaml

from hoFit.config import apply_overrides, from_dict, merge, read_yaml, to_dict, write_yaml
from hoFit.errors import HoFitError


@dataclass
class Stage:
    iterations: int = 10
    lr: float = 1e-2
    weights: dict[str, float] = field(default_factory=lambda: {"silhouette": 1.0})


@dataclass
class Tree:
    name: str = "x"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    scale: float | None = None
    flags: tuple[bool, bool] = (True, False)
    stages: list[Stage] = field(default_factory=lambda: [Stage(), Stage(iterations=20)])


def test_round_trip_through_yaml_safe_load(tmp_path):
    tree = Tree(name="y", scale=2.5, stages=[Stage(5, 0.1, {"a": 2.0})])
    write_yaml(tree, tmp_path / "c.yaml")
    text = (tmp_path / "c.yaml").read_text()
    assert from_dict(Tree, yaml.safe_load(text)) == tree
    assert from_dict(Tree, read_yaml(tmp_path / "c.yaml")) == tree


def test_overrides_reach_nested_lists_and_parse_yaml_values():
    data = apply_overrides(to_dict(Tree()), ["stages.1.iterations=100", "stages.0.weights.silhouette=0", "scale=1e-3"])
    tree = from_dict(Tree, data)
    assert tree.stages[1].iterations == 100
    assert tree.stages[0].weights["silhouette"] == 0.0
    assert tree.scale == pytest.approx(1e-3)
    assert isinstance(tree.flags, tuple)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"nmae": "a"}, "config key 'nmae' is not a setting of Tree"),
        ({"stages": [{"iterations": "many"}]}, "config key 'stages.0.iterations': expected an integer, got str"),
        ({"stages": [{"iterations": 1.5}]}, "config key 'stages.0.iterations': expected an integer"),
        ({"device": "gpu"}, "config key 'device': expected one of ['auto', 'cpu', 'cuda']"),
        ({"flags": [True]}, "config key 'flags': expected 2 items, got 1"),
        ({"stages": [{"weights": {"a": "b"}}]}, "config key 'stages.0.weights.a': expected a number"),
        ({"stages": [{"bogus": 1}]}, "config key 'stages.0.bogus' is not a setting of Stage"),
        ({"scale": True}, "config key 'scale'"),
    ],
)
def test_bad_keys_and_types_name_the_key(data, message):
    with pytest.raises(HoFitError) as info:
        from_dict(Tree, data)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "override, message",
    [
        ("stages.5.iterations=1", "'stages.5' needs an index in 0..1"),
        ("stage.0.iterations=1", "unknown config key 'stage'"),
        ("name", "expected KEY=VALUE"),
        ("name.sub=1", "'name' is a value, not a section"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(HoFitError, match=None) as info:
        apply_overrides(to_dict(Tree()), [override])
    assert message in str(info.value)


def test_merge_is_deep_and_does_not_mutate():
    base = {"a": {"b": 1, "c": 2}, "d": [1, 2]}
    out = merge(base, {"a": {"c": 3}, "d": [5]})
    assert out == {"a": {"b": 1, "c": 3}, "d": [5]}
    assert base == {"a": {"b": 1, "c": 2}, "d": [1, 2]}


def test_read_yaml_errors_name_the_file(tmp_path):
    with pytest.raises(HoFitError, match="config file not found"):
        read_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(HoFitError, match="bad.yaml is not valid YAML"):
        read_yaml(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n")
    with pytest.raises(HoFitError, match="expected a mapping at the top level"):
        read_yaml(listed)
