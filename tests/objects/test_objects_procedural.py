"""Procedural templates: watertight, realistic metric sizes, synonyms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hoFit.errors import HoFitError
from hoFit.models.objects import PROCEDURAL_CATEGORIES, procedural_template, resolve_category

# Expected bounding-box size (x, y, z) in metres. Handles stick out along +x for mugs and jugs.
EXPECTED_EXTENTS = {
    "ball": (0.07, 0.07, 0.07),
    "can": (0.066, 0.066, 0.122),
    "mug": (0.08 + 0.03 + 0.011 / 2, 0.08, 0.095),  # body + reach + half the handle thickness
    "bottle": (0.07, 0.07, 0.22),
    "glass": (0.07, 0.07, 0.12),
    "mobile_phone": (0.071, 0.147, 0.008),
    "remote_control": (0.045, 0.17, 0.02),
    "marker": (0.015, 0.015, 0.13),
    "light_bulb": (0.06, 0.06, 0.11),
    "scissors": (None, 0.17, 0.008),
    "plate": (0.26, 0.26, 0.02),
    "jug": (0.12 + 0.045 + 0.016 / 2, 0.12, 0.20),
}


def test_categories_cover_the_evaluations() -> None:
    assert set(PROCEDURAL_CATEGORIES) == set(EXPECTED_EXTENTS)


@pytest.mark.parametrize("category", sorted(EXPECTED_EXTENTS))
def test_procedural_is_watertight_with_metric_size(category: str) -> None:
    template = procedural_template(category)
    mesh = template.to_trimesh()
    assert template.is_watertight and mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume > 0, "faces must point outward"
    assert template.num_removed_faces == 0
    assert 500 <= template.num_faces <= 3000
    assert template.source == f"procedural:{category}" and template.name == category
    np.testing.assert_allclose(template.bounds.mean(0), 0.0, atol=1e-6)
    for axis, expected in enumerate(EXPECTED_EXTENTS[category]):
        if expected is not None:
            assert template.extents[axis] == pytest.approx(expected, abs=1.5e-3), f"axis {axis}"


def test_scissors_are_flat_and_wider_than_rings() -> None:
    template = procedural_template("scissors")
    assert 0.06 < template.extents[0] < 0.1 and template.extents[2] < template.extents[0] / 5


def test_size_overrides_and_scale() -> None:
    mug = procedural_template("mug", diameter=0.09, height=0.1)
    assert mug.extents[1] == pytest.approx(0.09, abs=1e-4) and mug.extents[2] == pytest.approx(0.1, abs=1e-4)
    big = procedural_template("ball", scale=2.0)
    assert big.extents[0] == pytest.approx(0.14, abs=1e-4) and big.scale == 2.0
    with pytest.raises(HoFitError, match="unknown size 'radius' for procedural 'ball'.*diameter"):
        procedural_template("ball", radius=0.03)
    with pytest.raises(HoFitError, match="must be a positive number"):
        procedural_template("can", height=-0.1)


@pytest.mark.parametrize(
    "label, expected",
    [("cup3", "mug"), ("Cup", "mug"), ("mug", "mug"), ("pitcher", "jug"), ("jug:measuring", "jug"),
     ("phone", "mobile_phone"), ("cellphone", "mobile_phone"), ("mobile_phone5", "mobile_phone"),
     ("can1", "can"), ("tin", "can"), ("remote", "remote_control"), ("remote_control2", "remote_control"),
     ("bulb", "light_bulb"), ("light bulb", "light_bulb"), ("light_bulb4", "light_bulb"), ("scissor1", "scissors"),
     ("bottle:oil", "bottle"), ("glass5", "glass"), ("ball2", "ball"), ("marker3", "marker"), ("plate", "plate"),
     ("Mobile-Phone", "mobile_phone")],
)
def test_resolve_category(label: str, expected: str) -> None:
    assert resolve_category(label) == expected


def test_core50_class_names_resolve(shared_data: Path) -> None:
    names = (shared_data / "core50" / "core50_class_names.txt").read_text().split()
    wanted = [n for n in names if not n.startswith("plug_adapter")]  # no plug adapter template
    assert len(wanted) == 45
    assert {resolve_category(n) for n in wanted} == {
        "mobile_phone", "scissors", "light_bulb", "can", "glass", "ball", "marker", "mug", "remote_control"}


def test_unknown_category_lists_valid_names() -> None:
    with pytest.raises(HoFitError, match=r"unknown object category 'toaster'; expected one of ball, can, mug"):
        resolve_category("toaster")
