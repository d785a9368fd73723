"""Loss curves PNG."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np

from hoFit.viz.plots import plot_losses


def test_plot_losses_writes_one_panel_per_stage(tmp_path):
    losses = {"a": {"total": [1.0, 0.1, 0.01]}, "b": {"total": [2.0, 1.0], "zero": [0.0, 0.0]},
              "c": {"neg": [-1.0, -2.0]}}
    path = plot_losses(losses, tmp_path / "losses.png", dpi=50)
    image = iio.imread(path)
    # 3 stages -> 3 columns of 4.2 in, 1 row of 3.2 in, at 50 dpi
    assert image.shape[:2] == (160, 630)
    assert [p.name for p in tmp_path.iterdir()] == ["losses.png"]
    # two stages in one row are narrower: the layout follows the number of stages
    two = iio.imread(plot_losses({"a": losses["a"], "b": losses["b"]}, tmp_path / "two.png", dpi=50))
    assert two.shape[:2] == (160, 420)
    assert np.ptp(two[..., :3]) > 100  # something was drawn


def test_plot_losses_nothing_to_plot(tmp_path):
    assert plot_losses({}, tmp_path / "x.png") is None
    assert plot_losses({"s": {"t": []}}, tmp_path / "x.png") is None
    assert not (tmp_path / "x.png").exists()
