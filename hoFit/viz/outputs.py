"""Everything a result directory shows: videos, loss curves and the report page, in one call.

`render_all` is what ``hofit render``, ``hofit fit`` and ``hofit demo`` call after a fit. It writes, in
the result directory (see docs/result_directory.md):

* ``videos/summary.<fmt>``  input | camera view | rotated views, labelled;
* ``videos/overlay.<fmt>``  the camera view alone (when "camera" is among the views);
* ``videos/rotated.<fmt>``  the rotated views alone (when "rotated" is among the views);
* ``losses.png``            loss curves per stage and term (when the result has a loss history);
* ``report.html``           the self-contained page.

The input frames come from the clip: a `Clip`, a clip directory, or the path stored in the result's
config (``config["clip"]["path"]``). Without any, the camera view is drawn on grey and a warning says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hoFit.errors import HoFitError
from hoFit.viz.plots import plot_losses
from hoFit.viz.report import write_report
from hoFit.viz.video import VIDEO_FORMATS, VideoWriter
from hoFit.viz.views import VIEW_NAMES, ViewSettings, iter_views

__all__ = ["RenderOutputs", "resolve_clip", "render_videos", "render_all"]

logger = logging.getLogger("hoFit.viz")


@dataclass
class RenderOutputs:
    """Paths written by `render_all` (None / empty where not written).

    Attributes:
        videos: ``{"summary" | "overlay" | "rotated": path}``.
        losses: the loss-curve PNG.
        report: the HTML page.
        clip_dir: where the input frames came from (None: rendered on grey).
    """

    videos: dict[str, Path] = field(default_factory=dict)
    losses: Path | None = None
    report: Path | None = None
    clip_dir: Path | None = None


def resolve_clip(result, clip=None, result_dir: str | Path | None = None):
    """The clip whose frames a result was fitted on, or None.

    Args:
        result: the `FitResult`.
        clip: a `Clip`, a clip directory, or None to use ``result.config["clip"]["path"]`` (a relative path
            is tried from the current directory, then from ``result_dir``).
        result_dir: the result directory, for relative clip paths.

    Returns:
        ``(clip or None, clip directory or None)``.
    """
    from hoFit.data.clip import Clip

    if isinstance(clip, Clip):
        return clip, None
    if clip is None:
        stored = (result.config or {}).get("clip", {}) if isinstance(result.config, dict) else {}
        stored = stored.get("path") if isinstance(stored, dict) else None
        if not stored:
            return None, None
        candidates = [Path(stored)]
        if result_dir is not None and not Path(stored).is_absolute():
            candidates.append(Path(result_dir) / stored)
        found = next((c for c in candidates if c.is_dir()), None)
        if found is None:
            logger.warning("the clip this result was fitted on (%s) is not there any more; pass --clip CLIP_DIR "
                           "to draw the fit over the input frames", stored)
            return None, None
        clip = found
    directory = Path(clip)
    if not directory.is_dir():
        raise HoFitError(f"clip directory not found: {directory}; pass the folder that holds clip.yaml")
    return Clip.load(directory), directory


def render_videos(result, result_dir: str | Path, frames=None, views: Sequence[str] = VIEW_NAMES, fmt: str = "mp4",
                  fps: float = 10.0, settings: ViewSettings | None = None, quiet: bool = False) -> dict[str, Path]:
    """Render and write the view videos of ``result`` into ``<result_dir>/videos``; returns their paths.

    ``frames``: the clip's frames indexable by ``result.frame_indices`` (or None for a grey background).
    Each video is written atomically; on an error none of the partial videos appears.
    """
    from tqdm import tqdm

    if fmt not in VIDEO_FORMATS:
        raise HoFitError(f"--format {fmt}: expected one of {', '.join(VIDEO_FORMATS)}")
    videos_dir = Path(result_dir) / "videos"
    names = ["summary"] + (["overlay"] if "camera" in views else []) + (["rotated"] if "rotated" in views else [])
    writers = {name: VideoWriter(videos_dir / f"{name}.{fmt}", fmt, fps=fps) for name in names}
    try:
        with tqdm(total=result.num_frames, desc="render", unit="frame", disable=quiet, leave=False) as bar:
            for images in iter_views(result, frames, views, settings, progress=bar.update):
                for name, writer in writers.items():
                    writer.append(images[name])
        return {name: writer.close() for name, writer in writers.items()}
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise


def render_all(result_dir: str | Path, clip=None, result=None, views: Sequence[str] = VIEW_NAMES, fmt: str = "mp4",
               fps: float | None = None, orbit: float | None = None, settings: ViewSettings | None = None,
               quiet: bool = False) -> RenderOutputs:
    """Write the videos, the loss curves and report.html of a result directory.

    Args:
        result_dir: the result directory (written by :meth:`FitResult.save`).
        clip: the `Clip` or clip directory the result was fitted on; None: the path stored in the config.
        result: the `FitResult` if already in memory (else loaded from ``result_dir``).
        views: which of "camera", "rotated" to draw.
        fmt: "mp4", "gif" or "png".
        fps: frames per second of the videos; default the clip's, else 10.
        orbit: degrees of a continuous orbit across the clip for the rotated view (replaces the fixed yaws).
        settings: view settings (``orbit`` overrides its ``orbit``).
        quiet: no progress bars.
    """
    from hoFit.fit.result import FitResult

    result_dir = Path(result_dir)
    if result is None:
        result = FitResult.load(result_dir)
    clip_obj, clip_dir = resolve_clip(result, clip, result_dir)
    frames = None
    if clip_obj is None:
        logger.warning("no input frames (no --clip and no clip path in the result's config): "
                       "the camera view is drawn on grey")
    else:
        frames = clip_obj.frames
        height, width = clip_obj.image_size
        if (width, height) != (int(result.intrinsics["width"]), int(result.intrinsics["height"])):
            raise HoFitError(
                f"clip {clip_obj.name} has {width}x{height} frames but the result was fitted on "
                f"{result.intrinsics['width']}x{result.intrinsics['height']}; pass the clip the result was fitted on"
            )
    if fps is None:
        fps = float(clip_obj.fps) if clip_obj is not None and clip_obj.fps else 10.0
    settings = settings or ViewSettings()
    if orbit is not None:
        settings.orbit = float(orbit)
    outputs = RenderOutputs(clip_dir=clip_dir)
    outputs.videos = render_videos(result, result_dir, frames, views, fmt, fps, settings, quiet)
    outputs.losses = plot_losses(result.losses, result_dir / "losses.png", title=f"losses: {result.clip_name}")
    outputs.report = write_report(result_dir)
    return outputs
