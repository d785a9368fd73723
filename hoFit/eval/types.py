"""Result types of the metric suite: named numbers with units.

A `MetricValue` is one number (a Python float), its unit (``"cm"``, ``"mm"``, ``"deg"``, ``"cm^3"``,
``"mm/frame^2"``, ``"px"``, ``""`` for ratios) and whether larger is better. `Metrics` is an ordered
collection of them keyed by name, convertible to plain dicts for JSON files and tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

__all__ = ["MetricValue", "Metrics"]


@dataclass(frozen=True)
class MetricValue:
    """One metric.

    Attributes:
        name: identifier, e.g. ``"joint_error_pa"``.
        value: the number, in ``unit``; NaN when it could not be computed (e.g. no valid frame).
        unit: physical unit of ``value``; ``""`` for dimensionless ratios in [0, 1].
        higher_is_better: True for scores (AUC, F-score, IoU), False for errors.
        description: one line saying what was measured.
    """

    name: str
    value: float
    unit: str = ""
    higher_is_better: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"MetricValue.name: expected a non-empty string, got {self.name!r}")
        object.__setattr__(self, "value", float(self.value))

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.name} = {self.value:.4g}{unit}"


@dataclass
class Metrics:
    """An ordered set of `MetricValue` keyed by name.

    ``metrics["joint_error"]`` gives the float; ``metrics.get_value("joint_error")`` the `MetricValue`.
    """

    values: dict[str, MetricValue] = field(default_factory=dict)

    def add(self, name: str, value, unit: str = "", higher_is_better: bool = False, description: str = "") -> None:
        """Add (or replace) a metric; ``value`` may be a Python number or a 0-dim tensor/array."""
        self.values[name] = MetricValue(name, float(value), unit, higher_is_better, description)

    def add_value(self, metric: MetricValue) -> None:
        self.values[metric.name] = metric

    def update(self, other: "Metrics", prefix: str = "") -> None:
        """Copy all metrics of ``other`` into this set, renaming them ``prefix + name``."""
        for m in other.values.values():
            self.add(prefix + m.name, m.value, m.unit, m.higher_is_better, m.description)

    def get_value(self, name: str) -> MetricValue:
        return self.values[name]

    def __getitem__(self, name: str) -> float:
        if name not in self.values:
            raise KeyError(f"no metric named {name!r}; available: {sorted(self.values)}")
        return self.values[name].value

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def to_dict(self) -> dict[str, float]:
        """Plain ``{name: value}`` (floats, NaN kept) for JSON and :func:`hoFit.eval.aggregate.summarize`."""
        return {k: v.value for k, v in self.values.items()}

    def units(self) -> dict[str, str]:
        return {k: v.unit for k, v in self.values.items()}

    def to_records(self) -> list[dict]:
        """One plain dict per metric (name, value, unit, higher_is_better, description); NaN -> None."""
        return [
            {"name": m.name, "value": None if math.isnan(m.value) else m.value, "unit": m.unit,
             "higher_is_better": m.higher_is_better, "description": m.description}
            for m in self.values.values()
        ]

    @classmethod
    def from_records(cls, records: list[Mapping]) -> "Metrics":
        """Inverse of :meth:`to_records`."""
        out = cls()
        for r in records:
            value = r.get("value")
            out.add(r["name"], math.nan if value is None else value, r.get("unit", ""),
                    bool(r.get("higher_is_better", False)), r.get("description", ""))
        return out

    def __str__(self) -> str:
        return ", ".join(str(m) for m in self.values.values())
