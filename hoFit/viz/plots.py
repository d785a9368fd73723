"""Loss curves of a fit: one panel per optimization stage, one line per loss term, log scale.

Uses matplotlib's Agg backend (no display needed) through an explicit `Figure`, so that the global
pyplot state and the user's backend are left alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from hoFit.utils.files import atomic_path

__all__ = ["plot_losses"]


def _check_losses(losses: Mapping) -> dict[str, dict[str, np.ndarray]]:
    if not isinstance(losses, Mapping):
        raise ValueError(f"plot_losses: expected {{stage: {{term: [values]}}}}, got {type(losses).__name__}")
    out: dict[str, dict[str, np.ndarray]] = {}
    for stage, terms in losses.items():
        if not isinstance(terms, Mapping):
            raise ValueError(
                f"plot_losses: stage '{stage}': expected {{term: [values]}}, got {type(terms).__name__}"
            )
        curves = {}
        for term, values in terms.items():
            array = np.asarray(values, dtype=np.float64).reshape(-1)
            if array.size:
                curves[str(term)] = array
        if curves:
            out[str(stage)] = curves
    return out


def plot_losses(losses: Mapping[str, Mapping[str, Sequence[float]]], path: str | Path,
                title: str | None = None, dpi: int = 100) -> Path | None:
    """Plot ``{stage: {term: [value per logged iteration]}}`` to a PNG (written atomically).

    Each stage gets its own panel with the logged iteration index on x and the (weighted) loss on a log
    y axis; non-positive and non-finite values are left out of the log plot (a term that is never
    positive is drawn on a linear axis instead). The "total" term, when present, is drawn thicker and black.

    Returns:
        the path written, or None when there is nothing to plot (no stage with values).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    stages = _check_losses(losses)
    if not stages:
        return None
    n = len(stages)
    columns = min(n, 3)
    rows = math.ceil(n / columns)
    figure = Figure(figsize=(4.2 * columns, 3.2 * rows), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    for index, (stage, curves) in enumerate(stages.items()):
        axes = figure.add_subplot(rows, columns, index + 1)
        any_positive = any(np.any(np.isfinite(v) & (v > 0)) for v in curves.values())
        for term, values in curves.items():
            x = np.arange(values.size)
            y = values.copy()
            if any_positive:
                y[~(np.isfinite(y) & (y > 0))] = np.nan
            style = {"color": "black", "linewidth": 2.0} if term == "total" else {"linewidth": 1.2}
            axes.plot(x, y, label=term, **style)
        if any_positive:
            axes.set_yscale("log")
        axes.set_title(stage, fontsize=10)
        axes.set_xlabel("logged iteration", fontsize=8)
        axes.set_ylabel("loss (weighted)", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(fontsize=7, loc="upper right")
    if title:
        figure.suptitle(title, fontsize=11)
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path
