"""Result presentation: camera-view overlays, rotated views, videos, loss plots and the HTML report.

Consumes a :class:`hoFit.fit.result.FitResult` (and optionally the clip's frames); knows nothing of the
optimizer. Rendering goes through :func:`hoFit.render.render_shaded`.
"""

from hoFit.viz.outputs import RenderOutputs, render_all, render_videos, resolve_clip
from hoFit.viz.plots import plot_losses
from hoFit.viz.progress import ProgressRecorder
from hoFit.viz.report import read_metrics_json, write_report
from hoFit.viz.video import VideoWriter, write_gif, write_mp4, write_png_sequence, write_video
from hoFit.viz.views import (
    ViewSettings,
    compose_side_by_side,
    iter_views,
    render_overlay,
    render_rotated,
    scene_centre,
    turn_vertices,
)

__all__ = [
    "RenderOutputs",
    "render_all",
    "render_videos",
    "resolve_clip",
    "plot_losses",
    "ProgressRecorder",
    "read_metrics_json",
    "write_report",
    "VideoWriter",
    "write_gif",
    "write_mp4",
    "write_png_sequence",
    "write_video",
    "ViewSettings",
    "compose_side_by_side",
    "iter_views",
    "render_overlay",
    "render_rotated",
    "scene_centre",
    "turn_vertices",
]
