"""Fitting-progress video: the camera-view overlay of one frame, recorded every N optimizer iterations.

The optimizer calls a :class:`ProgressRecorder` with its current vertices; every ``every``-th iteration
of a stage (and its first) the recorder renders the chosen frame's overlay, labels it with the stage and
iteration, and keeps it (``uint8``, display size). :meth:`ProgressRecorder.write` saves the frames as
``progress.mp4`` (or GIF / PNG). Rendering happens under ``torch.no_grad`` on detached copies, so the
optimization graph is untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from hoFit.geometry.cameras import CameraIntrinsics
from hoFit.viz.views import ViewSettings, _render, _resize_frames, display_intrinsics, draw_label, to_uint8

__all__ = ["ProgressRecorder"]


class ProgressRecorder:
    """Callback that renders the fit's overlay on one frame every ``every`` iterations.

    Args:
        every: record iteration 0 of every stage and every ``every``-th iteration after it (>= 1).
        intrinsics: the clip's camera (`CameraIntrinsics` or a dict with fx, fy, cx, cy, width, height).
        hand_faces: one ``(F, 3)`` integer triangle array per hand (same order as the vertices passed in).
        object_faces: ``(F, 3)`` integer triangles of the object.
        frame: ``uint8 (H, W, 3)`` background image (the input frame ``frame_index``), or None for grey.
        frame_index: which of the T frames of the vertices to show.
        hand_sides: optional side ("right"/"left") per hand, for the colours.
        settings: view settings (colours, opacity, display size).
        max_frames: stop recording after this many frames (bounds memory: each frame is h*w*3 bytes).

    Call signature (what the optimizer calls)::

        recorder(stage, iteration, hand_vertices, object_vertices)

    with ``hand_vertices`` a list of ``(T, V, 3)`` tensors (camera frame, metres), one per hand, and
    ``object_vertices`` a ``(T, V, 3)`` tensor. Returns True when a frame was recorded.
    """

    def __init__(self, every: int, intrinsics: CameraIntrinsics | dict, hand_faces: Sequence, object_faces,
                 frame: np.ndarray | None = None, frame_index: int = 0, hand_sides: Sequence[str] | None = None,
                 settings: ViewSettings | None = None, max_frames: int = 2000) -> None:
        if int(every) < 1:
            raise ValueError(f"ProgressRecorder.every: expected a positive number of iterations, got {every}")
        self.every = int(every)
        self.settings = settings or ViewSettings()
        self.intrinsics = display_intrinsics(intrinsics, self.settings.max_panel_size)
        self.size = (int(self.intrinsics.height), int(self.intrinsics.width))
        self.hand_faces = [torch.as_tensor(np.asarray(f), dtype=torch.long) for f in hand_faces]
        self.object_faces = torch.as_tensor(np.asarray(object_faces), dtype=torch.long)
        self.frame_index = int(frame_index)
        self.hand_sides = list(hand_sides) if hand_sides is not None else ["right", "left"][: len(self.hand_faces)]
        if len(self.hand_sides) != len(self.hand_faces):
            raise ValueError(f"ProgressRecorder: {len(self.hand_faces)} hand face arrays but "
                             f"{len(self.hand_sides)} hand sides")
        if frame is not None:
            frame = np.asarray(frame)
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise ValueError(f"ProgressRecorder.frame: expected uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
            background = _resize_frames(frame[None], self.size)[0].astype(np.float32) / 255.0
        else:
            background = np.broadcast_to(np.asarray(self.settings.no_frame_background, np.float32), (*self.size, 3))
        self._background = torch.from_numpy(np.ascontiguousarray(background))[None]
        self.max_frames = int(max_frames)
        self.frames: list[np.ndarray] = []
        self.labels: list[tuple[str, int]] = []

    def __call__(self, stage: str, iteration: int, hand_vertices: Sequence[torch.Tensor],
                 object_vertices: torch.Tensor) -> bool:
        if iteration % self.every != 0 or len(self.frames) >= self.max_frames:
            return False
        if len(hand_vertices) != len(self.hand_faces):
            raise ValueError(f"ProgressRecorder: expected {len(self.hand_faces)} hand vertex tensors, "
                             f"got {len(hand_vertices)}")
        with torch.no_grad():
            t = self.frame_index
            meshes = []
            colors = []
            for verts, faces, side in zip(hand_vertices, self.hand_faces, self.hand_sides):
                if verts.dim() != 3 or verts.shape[-1] != 3 or not 0 <= t < verts.shape[0]:
                    raise ValueError(f"ProgressRecorder: expected hand vertices (T > {t}, V, 3), got {tuple(verts.shape)}")
                meshes.append((verts[t:t + 1].detach().to("cpu", torch.float32), faces))
                colors.append(tuple(self.settings.hand_colors[0 if side == "right" else 1]))
            if object_vertices.dim() != 3 or object_vertices.shape[-1] != 3 or not 0 <= t < object_vertices.shape[0]:
                raise ValueError(f"ProgressRecorder: expected object vertices (T > {t}, V, 3), "
                                 f"got {tuple(object_vertices.shape)}")
            meshes.append((object_vertices[t:t + 1].detach().to("cpu", torch.float32), self.object_faces))
            colors.append(tuple(self.settings.object_color))
            image = to_uint8(_render(meshes, colors, self.intrinsics, 1, self._background,
                                     float(self.settings.alpha), self.settings))[0]
        if self.settings.labels:
            draw_label(image, f"{stage}  it {iteration}")
        self.frames.append(image)
        self.labels.append((str(stage), int(iteration)))
        return True

    def __len__(self) -> int:
        return len(self.frames)

    def write(self, path: str | Path, fps: float = 5.0, fmt: str | None = None) -> Path | None:
        """Write the recorded frames (atomically); returns the path, or None when nothing was recorded."""
        from hoFit.viz.video import write_video

        if not self.frames:
            return None
        return write_video(path, self.frames, fmt=fmt, fps=fps)
