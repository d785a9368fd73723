"""Display views of a fit: the camera-view overlay, rotated views, and their side-by-side composition.

* camera view ("overlay"): the input frame with the fitted hand(s) and object shaded over it, partly
  transparent (``ViewSettings.alpha``), rendered with the clip's intrinsics.
* rotated views: the same 3D result turned about the vertical axis (camera ``y``, pointing down) through
  the scene centre, rendered with the same intrinsics on a plain background. A yaw of 0 gives exactly
  the camera-view rendering without the frame. Either fixed yaws (default 90 and 180 degrees, one panel
  each) or, with ``ViewSettings.orbit = D``, one panel whose yaw sweeps ``0 .. D`` degrees across the clip.
  The yaw is a right-handed rotation about camera ``y`` (which points down): ``R_y(yaw)`` maps ``+z`` to
  ``(sin yaw, 0, cos yaw)``, so a positive yaw moves the side that faced the camera towards the image's left.
* summary: ``input | camera view | rotated views`` side by side, each panel with a small text label.

All panels are rendered at a display resolution whose longer side is at most
``ViewSettings.max_panel_size`` pixels (intrinsics scaled to match), in batches of
``ViewSettings.batch_size`` frames through :func:`hoFit.render.render_shaded`.

Colours: right hand skin-toned, left hand blue-toned, object green (as in the saved PLY meshes).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from hoFit.geometry.cameras import CameraIntrinsics

__all__ = [
    "ViewSettings",
    "VIEW_NAMES",
    "display_intrinsics",
    "scene_meshes",
    "scene_centre",
    "turn_vertices",
    "orbit_yaws",
    "render_overlay",
    "render_rotated",
    "draw_label",
    "compose_side_by_side",
    "iter_views",
    "to_uint8",
]

VIEW_NAMES: tuple[str, ...] = ("camera", "rotated")


@dataclass
class ViewSettings:
    """How the display views are drawn.

    Attributes:
        alpha: opacity of the meshes over the input frame in the camera view, in (0, 1].
        yaws: fixed yaw angles (degrees) of the rotated views, one panel each; ignored when ``orbit`` is set.
        orbit: when set, one rotated panel whose yaw goes linearly from 0 to ``orbit`` degrees over the clip.
        max_panel_size: longer side of each panel in pixels (frames larger than this are shown smaller).
        labels: draw a small text label in the top-left corner of every panel.
        batch_size: frames rendered per call to the renderer (memory vs. speed).
        hand_colors: RGB in [0, 1] of the right and the left hand.
        object_color: RGB in [0, 1] of the object.
        background: RGB in [0, 1] behind the rotated views (and the camera view when no frame is given).
        no_frame_background: RGB in [0, 1] of the camera view's background when the input frames are unknown.
        supersample: anti-aliasing factor of the renderer (see :class:`hoFit.render.RenderSettings`).
    """

    alpha: float = 0.75
    yaws: tuple[float, ...] = (90.0, 180.0)
    orbit: float | None = None
    max_panel_size: int = 480
    labels: bool = True
    batch_size: int = 8
    hand_colors: tuple[tuple[float, float, float], tuple[float, float, float]] = ((0.93, 0.72, 0.60), (0.55, 0.70, 0.95))
    object_color: tuple[float, float, float] = (0.45, 0.80, 0.45)
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    no_frame_background: tuple[float, float, float] = (0.5, 0.5, 0.5)
    supersample: int = 2

    def __post_init__(self) -> None:
        if not 0 < float(self.alpha) <= 1:
            raise ValueError(f"ViewSettings.alpha: expected an opacity in (0, 1], got {self.alpha}")
        if int(self.max_panel_size) < 16:
            raise ValueError(f"ViewSettings.max_panel_size: expected at least 16 pixels, got {self.max_panel_size}")
        if int(self.batch_size) < 1:
            raise ValueError(f"ViewSettings.batch_size: expected a positive integer, got {self.batch_size}")
        if self.orbit is not None and not math.isfinite(float(self.orbit)):
            raise ValueError(f"ViewSettings.orbit: expected a finite number of degrees, got {self.orbit}")
        self.yaws = tuple(float(y) for y in self.yaws)


def to_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """Float images in [0, 1] (any shape) -> ``uint8`` numpy (rounded, clipped)."""
    if isinstance(images, torch.Tensor):
        images = images.detach().to("cpu", torch.float32).numpy()
    return (np.clip(images, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def display_intrinsics(intrinsics: CameraIntrinsics | dict, max_size: int) -> CameraIntrinsics:
    """The intrinsics of the image resized so that its longer side is at most ``max_size`` pixels."""
    if isinstance(intrinsics, dict):
        intrinsics = CameraIntrinsics(**{k: intrinsics[k] for k in ("fx", "fy", "cx", "cy", "width", "height")})
    width, height = int(intrinsics.width), int(intrinsics.height)
    scale = min(1.0, float(max_size) / max(width, height))
    if scale >= 1.0:
        return intrinsics
    out = (max(1, round(height * scale)), max(1, round(width * scale)))
    return intrinsics.crop((0.0, 0.0, float(width), float(height)), out)


def _result_intrinsics(result) -> CameraIntrinsics:
    k = result.intrinsics
    try:
        return CameraIntrinsics(float(k["fx"]), float(k["fy"]), float(k["cx"]), float(k["cy"]),
                                int(k["width"]), int(k["height"]))
    except (KeyError, TypeError) as error:
        raise ValueError(
            f"result {result.clip_name}: intrinsics must hold fx, fy, cx, cy, width, height; got {k!r}"
        ) from error


def scene_meshes(result, positions: Sequence[int], settings: ViewSettings | None = None,
                 dtype: torch.dtype = torch.float32) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], list[tuple]]:
    """The meshes of frames ``positions`` (indices into the result's T frames) and their colours.

    Returns:
        ``meshes``: ``[(vertices (B, Vi, 3) camera frame metres, faces (Fi, 3) long)]``, the hands in
        order then the object; ``colors``: one RGB tuple in [0, 1] per mesh.
    """
    settings = settings or ViewSettings()
    idx = np.asarray(positions, dtype=np.int64)
    meshes = []
    colors = []
    for i, hand in enumerate(result.hands):
        meshes.append((torch.as_tensor(np.asarray(hand.vertices)[idx], dtype=dtype),
                       torch.as_tensor(np.asarray(hand.faces), dtype=torch.long)))
        colors.append(tuple(settings.hand_colors[0 if hand.side == "right" else 1]) if hand.side in ("right", "left")
                      else tuple(settings.hand_colors[i % 2]))
    obj = result.object
    meshes.append((torch.as_tensor(np.asarray(obj.vertices)[idx], dtype=dtype),
                   torch.as_tensor(np.asarray(obj.faces), dtype=torch.long)))
    colors.append(tuple(settings.object_color))
    return meshes, colors


def scene_centre(result) -> np.ndarray:
    """``(3,)`` centre of the rotated views: the median over frames of the scene's bounding-box centre (metres)."""
    parts = [np.asarray(h.vertices, dtype=np.float64) for h in result.hands]
    parts.append(np.asarray(result.object.vertices, dtype=np.float64))
    points = np.concatenate(parts, axis=1)  # (T, V, 3)
    centres = 0.5 * (points.min(axis=1) + points.max(axis=1))
    return np.median(centres, axis=0)


def turn_vertices(vertices: torch.Tensor, yaw_deg, centre) -> torch.Tensor:
    """Turn camera-frame vertices about the vertical axis (camera ``y``) through ``centre``, per frame.

    Args:
        vertices: (B, V, 3) metres, camera frame.
        yaw_deg: a number or (B,) yaw angles in degrees (right-handed about +y, which points down).
        centre: (3,) metres, the pivot.

    Returns:
        (B, V, 3) ``R_y(yaw) (v - centre) + centre`` (via :func:`hoFit.render.orbit_vertices`); frames whose
        yaw is 0 are returned unchanged, bit for bit.
    """
    from hoFit.render import orbit_vertices

    if vertices.dim() != 3 or vertices.shape[-1] != 3:
        raise ValueError(f"turn_vertices: expected vertices (B, V, 3), got {tuple(vertices.shape)}")
    batch = vertices.shape[0]
    yaw = np.broadcast_to(np.asarray(yaw_deg, dtype=np.float64).reshape(-1), (batch,)) if np.size(yaw_deg) == 1 \
        else np.asarray(yaw_deg, dtype=np.float64).reshape(-1)
    if yaw.shape != (batch,):
        raise ValueError(f"turn_vertices: expected one yaw or {batch} yaws, got {np.size(yaw_deg)}")
    c = torch.as_tensor(np.asarray(centre, dtype=np.float64), dtype=vertices.dtype, device=vertices.device)
    out = vertices.clone()
    for value in np.unique(yaw):
        if value == 0:
            continue
        rows = torch.as_tensor(np.nonzero(yaw == value)[0], device=vertices.device)
        out[rows] = orbit_vertices(vertices[rows], c, math.radians(float(value)), axis="y")
    return out


def orbit_yaws(num_frames: int, degrees: float) -> np.ndarray:
    """``(T,)`` yaws sweeping linearly from 0 to ``degrees`` over ``num_frames`` frames (0 for one frame)."""
    if num_frames <= 1:
        return np.zeros(max(num_frames, 0))
    return np.linspace(0.0, float(degrees), num_frames)


def _render(meshes, colors, intrinsics: CameraIntrinsics, batch: int, background=None, alpha: float = 1.0,
            settings: ViewSettings | None = None) -> torch.Tensor:
    """(B, H, W, 3) float image of the meshes through :func:`hoFit.render.render_shaded`."""
    from hoFit.render import RenderSettings, render_shaded

    settings = settings or ViewSettings()
    render_settings = RenderSettings(supersample=int(settings.supersample), background=tuple(settings.background))
    K = intrinsics.matrix(meshes[0][0].dtype).expand(batch, 3, 3)
    size = (int(intrinsics.height), int(intrinsics.width))
    return render_shaded(meshes, colors, K, size, background=background, alpha=float(alpha), settings=render_settings)


def _resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    height, width = size
    if frames.shape[1:3] == (height, width):
        return frames
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])


def render_overlay(result, positions: Sequence[int], frames: np.ndarray | None = None,
                   settings: ViewSettings | None = None) -> np.ndarray:
    """Camera view: the fit drawn over the input frames.

    Args:
        result: a :class:`hoFit.fit.result.FitResult`.
        positions: B indices into the result's frames.
        frames: ``uint8 (B, H, W, 3)`` input frames at the result's image size (any size is resized to the
            display size), or None for a plain ``no_frame_background``.
        settings: view settings.

    Returns:
        ``uint8 (B, h, w, 3)`` at the display size (:func:`display_intrinsics`).
    """
    settings = settings or ViewSettings()
    intr = display_intrinsics(_result_intrinsics(result), settings.max_panel_size)
    size = (int(intr.height), int(intr.width))
    meshes, colors = scene_meshes(result, positions, settings)
    batch = len(positions)
    if frames is None:
        background = torch.tensor(settings.no_frame_background, dtype=torch.float32).expand(batch, *size, 3)
    else:
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[0] != batch or frames.shape[3] != 3:
            raise ValueError(f"render_overlay: expected uint8 frames ({batch}, H, W, 3), "
                             f"got {frames.dtype} {tuple(frames.shape)}")
        background = torch.from_numpy(_resize_frames(frames, size).astype(np.float32) / 255.0)
    return to_uint8(_render(meshes, colors, intr, batch, background, float(settings.alpha), settings))


def render_rotated(result, positions: Sequence[int], yaw_deg, settings: ViewSettings | None = None,
                   centre=None) -> np.ndarray:
    """Rotated view: the scene turned by ``yaw_deg`` (number or (B,) degrees) about ``centre``.

    ``centre`` defaults to :func:`scene_centre` of the whole result (fixed over the clip, so motion shows).
    Returns ``uint8 (B, h, w, 3)`` at the display size, on ``settings.background``.
    """
    settings = settings or ViewSettings()
    intr = display_intrinsics(_result_intrinsics(result), settings.max_panel_size)
    centre = scene_centre(result) if centre is None else np.asarray(centre, dtype=np.float64)
    meshes, colors = scene_meshes(result, positions, settings)
    turned = [(turn_vertices(v, yaw_deg, centre), f) for v, f in meshes]
    return to_uint8(_render(turned, colors, intr, len(positions), None, 1.0, settings))


def draw_label(image: np.ndarray, text: str, scale: float | None = None) -> np.ndarray:
    """Draw ``text`` in the top-left corner of a ``uint8 (H, W, 3)`` image, in place (white on dark outline)."""
    height = image.shape[0]
    scale = scale if scale is not None else max(0.35, min(0.8, height / 600.0))
    thickness = 1
    origin = (6, 6 + int(round(22 * scale)))
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return image


def compose_side_by_side(panels: Sequence[np.ndarray], labels: Sequence[str] | None = None) -> np.ndarray:
    """Concatenate ``uint8 (H, Wi, 3)`` panels (or ``(B, H, Wi, 3)`` batches) horizontally, labelling each.

    Panels must share their height (and batch size). Labels are drawn on copies, the inputs are untouched.
    """
    if not panels:
        raise ValueError("compose_side_by_side: expected at least one panel, got none")
    arrays = [np.asarray(p) for p in panels]
    batched = arrays[0].ndim == 4
    for i, a in enumerate(arrays):
        if a.dtype != np.uint8 or a.ndim != arrays[0].ndim or a.shape[-1] != 3 or a.shape[:-2] != arrays[0].shape[:-2]:
            raise ValueError(
                f"compose_side_by_side: panel {i}: expected uint8 {arrays[0].shape[:-2] + ('W', 3)}, "
                f"got {a.dtype} {tuple(a.shape)}; panels must share batch size and height"
            )
    if labels is not None and len(labels) != len(arrays):
        raise ValueError(f"compose_side_by_side: {len(arrays)} panels but {len(labels)} labels")
    out = np.concatenate(arrays, axis=-2).copy()
    if labels is not None:
        offset = 0
        for a, text in zip(arrays, labels):
            width = a.shape[-2]
            if text:
                frames = out if batched else out[None]
                for f in frames:
                    view = f[:, offset:offset + width]
                    draw_label(view, text)  # view is a slice of `out`: drawn in place
            offset += width
    return out


def _frame_batch(frames, indices: Sequence[int]) -> np.ndarray | None:
    if frames is None:
        return None
    return np.stack([np.asarray(frames[int(i)]) for i in indices])


def iter_views(result, frames=None, views: Sequence[str] = VIEW_NAMES, settings: ViewSettings | None = None,
               progress=None) -> Iterator[dict[str, np.ndarray]]:
    """Render every frame of a result; yields one dict of ``uint8 (h, W, 3)`` images per frame.

    Args:
        result: a :class:`hoFit.fit.result.FitResult` with T frames.
        frames: the clip's frames, indexable by the result's ``frame_indices`` (a
            :class:`~hoFit.data.frames.FrameSource`, an array ``(N, H, W, 3)`` or a list), or None (then
            the camera view has a plain background and the summary no input panel).
        views: which of "camera" and "rotated" to render.
        settings: view settings.
        progress: optional callable ``progress(n)`` told how many frames were finished (e.g. tqdm.update).

    Yields:
        ``{"input": ..., "overlay": ..., "rotated": ..., "summary": ...}`` with the keys that apply:
        "input" when frames are given, "overlay" for "camera", "rotated" (all rotated panels side by side,
        labelled) for "rotated", and always "summary" (input | overlay | rotated, labelled).
    """
    settings = settings or ViewSettings()
    unknown = [v for v in views if v not in VIEW_NAMES]
    if unknown or not views:
        raise ValueError(f"views: expected a non-empty subset of {', '.join(VIEW_NAMES)}, got {list(views)}")
    num = result.num_frames
    frame_indices = np.asarray(result.frame_indices, dtype=np.int64)
    if frames is not None and len(frames) <= int(frame_indices.max(initial=0)):
        raise ValueError(f"result {result.clip_name} uses frame {int(frame_indices.max())} but only "
                         f"{len(frames)} input frames were given; pass the clip the result was fitted on")
    centre = scene_centre(result)
    intr = display_intrinsics(_result_intrinsics(result), settings.max_panel_size)
    size = (int(intr.height), int(intr.width))
    if settings.orbit is not None:
        yaw_sets = [orbit_yaws(num, settings.orbit)]
    else:
        yaw_sets = [np.full(num, yaw) for yaw in settings.yaws]
    missing = np.zeros(num, dtype=bool)
    for hand in result.hands:
        missing |= np.asarray(hand.missing, dtype=bool)
    missing |= np.asarray(result.object.missing, dtype=bool)

    for start in range(0, num, int(settings.batch_size)):
        positions = list(range(start, min(num, start + int(settings.batch_size))))
        batch_frames = _frame_batch(frames, frame_indices[positions])
        out: dict[str, np.ndarray] = {}
        panels: list[np.ndarray] = []
        labels: list[str] = []
        if batch_frames is not None:
            out["input"] = _resize_frames(batch_frames, size)
            panels.append(out["input"])
            labels.append("input")
        if "camera" in views:
            out["overlay"] = render_overlay(result, positions, batch_frames, settings)
            panels.append(out["overlay"])
            labels.append("camera view" if batch_frames is not None else "camera view (no input frames)")
        if "rotated" in views:
            rotated = [render_rotated(result, positions, yaws[positions], settings, centre) for yaws in yaw_sets]
            rotated_labels = []
            for b, p in enumerate(positions):
                rotated_labels.append([f"yaw {yaws[p]:.0f} deg" for yaws in yaw_sets])
            out["rotated"] = np.stack([
                compose_side_by_side([r[b] for r in rotated], rotated_labels[b] if settings.labels else None)
                for b in range(len(positions))
            ])
            panels.extend(rotated)
        for b, p in enumerate(positions):
            frame_out = {k: v[b] for k, v in out.items()}
            parts = [panel[b] for panel in panels]
            names = labels + ([f"yaw {yaws[p]:.0f} deg" for yaws in yaw_sets] if "rotated" in views else [])
            summary = compose_side_by_side(parts, names if settings.labels else None)
            if settings.labels:
                stamp = f"frame {int(frame_indices[p])}" + (" (interpolated)" if missing[p] else "")
                cv2.putText(summary, stamp, (6, summary.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX,
                            max(0.35, min(0.7, summary.shape[0] / 700.0)), (255, 255, 255), 1, cv2.LINE_AA)
            frame_out["summary"] = summary
            yield frame_out
        if progress is not None:
            progress(len(positions))
