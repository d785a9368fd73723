"""Writing frame sequences to disk: H.264 MP4, GIF and PNG sequences, atomically.

Frames are ``uint8`` RGB arrays ``(H, W, 3)``, given either as one ``(T, H, W, 3)`` array or as any
iterable of ``(H, W, 3)`` arrays (so long clips stream without holding every frame in memory). All frames
of one video must have the same size.

* MP4: H.264 (libx264, bundled with imageio-ffmpeg), ``yuv420p`` pixels and ``-movflags +faststart`` so
  browsers play it progressively. Odd widths/heights are padded with black to the next even size (yuv420p
  needs even dimensions); nothing is rescaled.
* GIF: Pillow through imageio, looping forever; GIF delays are stored in 1/100 s, so the frame rate is
  rounded to that resolution.
* PNG: a folder of ``frame_000000.png`` ... written to a temporary folder, then renamed into place.

Every writer goes through a temporary file (or folder) beside the target and renames it on success, so an
interrupted write never leaves a file that looks complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from hoFit.errors import HoFitError

__all__ = ["VIDEO_FORMATS", "VideoWriter", "write_video", "write_mp4", "write_gif", "write_png_sequence", "pad_to_even"]

VIDEO_FORMATS: tuple[str, ...] = ("mp4", "gif", "png")


def pad_to_even(frame: np.ndarray) -> np.ndarray:
    """Pad an ``(H, W, 3)`` frame with black rows/columns at the bottom/right to even ``H`` and ``W``."""
    pad_h = frame.shape[0] % 2
    pad_w = frame.shape[1] % 2
    if pad_h == 0 and pad_w == 0:
        return frame
    return np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)))


def _check_frame(frame, index: int, size: tuple[int, int] | None, what: str) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(
            f"{what}: frame {index}: expected uint8 (H, W, 3) RGB, got {frame.dtype} {tuple(frame.shape)}; "
            "convert float images with (np.clip(x, 0, 1) * 255).round().astype(np.uint8)"
        )
    if size is not None and frame.shape[:2] != size:
        raise ValueError(
            f"{what}: frame {index}: size {frame.shape[:2]} differs from the first frame's {size}; "
            "all frames of one video must have the same size"
        )
    return np.ascontiguousarray(frame)


def _check_fps(fps: float, what: str) -> float:
    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"{what}: fps must be a positive number, got {fps}")
    return fps


class VideoWriter:
    """Stream frames into an MP4, GIF or PNG sequence; the target appears only when `close` succeeds.

    Use as a context manager::

        with VideoWriter("out.mp4", fps=10) as writer:
            for frame in frames:
                writer.append(frame)

    On an exception inside the ``with`` block the partial output is deleted and nothing appears at the
    target. GIF frames are kept in memory until `close` (GIF is for short clips).

    Args:
        path: target file (``.mp4`` / ``.gif``) or, for ``fmt="png"``, the folder to create (a suffix is
            dropped).
        fmt: "mp4", "gif" or "png"; default from the suffix of ``path`` (no suffix: "mp4").
        fps: frames per second (> 0).
        crf: x264 constant rate factor for MP4, 0 (lossless luma) .. 51 (worst).
    """

    def __init__(self, path: str | Path, fmt: str | None = None, fps: float = 10.0, crf: int = 20) -> None:
        path = Path(path)
        fmt = (fmt or path.suffix.lstrip(".") or "mp4").lower()
        if fmt not in VIDEO_FORMATS:
            raise HoFitError(f"video format '{fmt}' is not supported; use one of {', '.join(VIDEO_FORMATS)}")
        self.fmt = fmt
        self.path = (path.with_suffix("") if path.suffix else path) if fmt == "png" else path.with_suffix(f".{fmt}")
        self.fps = _check_fps(fps, f"video {self.path}")
        self.crf = int(crf)
        self.count = 0
        self._size: tuple[int, int] | None = None
        self._tmp: Path | None = None
        self._ffmpeg = None
        self._gif: list[np.ndarray] = []
        self._closed = False

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _start(self, frame: np.ndarray) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fmt == "png":
            self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
            return
        fd, name = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=self.path.suffix, dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(name)
        if self.fmt == "mp4":
            import imageio_ffmpeg

            height, width = pad_to_even(frame).shape[:2]
            self._ffmpeg = imageio_ffmpeg.write_frames(
                str(self._tmp),
                (width, height),
                fps=self.fps,
                codec="libx264",
                pix_fmt_in="rgb24",
                pix_fmt_out="yuv420p",
                macro_block_size=1,
                quality=None,
                output_params=["-crf", str(self.crf), "-movflags", "+faststart"],
                ffmpeg_log_level="error",
            )
            self._ffmpeg.send(None)  # start the generator

    def append(self, frame: np.ndarray) -> None:
        """Add one ``uint8`` ``(H, W, 3)`` RGB frame (same size as the first)."""
        if self._closed:
            raise ValueError(f"video {self.path}: append after close")
        frame = _check_frame(frame, self.count, self._size, f"video {self.path}")
        if self._size is None:
            self._start(frame)
            self._size = frame.shape[:2]
        if self.fmt == "mp4":
            self._ffmpeg.send(pad_to_even(frame))
        elif self.fmt == "gif":
            self._gif.append(frame)
        else:
            from hoFit.data.frames import write_image

            write_image(self._tmp / f"frame_{self.count:06d}.png", frame)
        self.count += 1

    def extend(self, frames: np.ndarray | Iterable[np.ndarray]) -> None:
        """Add every frame of a ``(T, H, W, 3)`` array or an iterable of ``(H, W, 3)`` frames."""
        if isinstance(frames, np.ndarray) and frames.ndim != 4:
            raise ValueError(f"video {self.path}: expected frames (T, H, W, 3), got an array of shape {frames.shape}")
        for frame in frames:
            self.append(frame)

    def close(self) -> Path:
        """Finish the file and move it into place; returns the path written."""
        if self._closed:
            return self.path
        if self.count == 0:
            self.abort()
            raise ValueError(f"video {self.path}: no frames to write; expected at least one (H, W, 3) frame")
        try:
            if self.fmt == "mp4":
                self._ffmpeg.close()
                self._ffmpeg = None
            elif self.fmt == "gif":
                import imageio.v3 as iio

                duration_ms = 10.0 * max(1, round(100.0 / self.fps))  # GIF delays are in 1/100 s
                iio.imwrite(self._tmp, np.stack(self._gif), extension=".gif", plugin="pillow",
                            duration=duration_ms, loop=0)
                self._gif = []
            if self.fmt == "png" and self.path.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.old.", dir=self.path.parent))
                os.replace(self.path, old / self.path.name)
                os.replace(self._tmp, self.path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(self._tmp, self.path)
            self._tmp = None
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Stop writing and delete the partial output; the target is left as it was."""
        self._closed = True
        if self._ffmpeg is not None:
            try:
                self._ffmpeg.close()
            except Exception:  # noqa: BLE001 - the partial file is deleted anyway
                pass
            self._ffmpeg = None
        self._gif = []
        if self._tmp is not None:
            if self._tmp.is_dir():
                shutil.rmtree(self._tmp, ignore_errors=True)
            elif self._tmp.exists():
                self._tmp.unlink()
            self._tmp = None


def write_mp4(path: str | Path, frames: np.ndarray | Iterable[np.ndarray], fps: float = 10.0, crf: int = 20) -> int:
    """Write an H.264 MP4 that browsers play (yuv420p, faststart); returns the number of frames.

    Args:
        path: target ``.mp4`` file; its folder is created.
        frames: ``(T, H, W, 3)`` uint8 RGB, or an iterable of ``(H, W, 3)`` uint8 RGB frames.
        fps: frames per second (> 0).
        crf: x264 constant rate factor, 0 (lossless luma) .. 51 (worst); 20 looks clean for overlays.
    """
    with VideoWriter(path, "mp4", fps=fps, crf=crf) as writer:
        writer.extend(frames)
    return writer.count


def write_gif(path: str | Path, frames: np.ndarray | Iterable[np.ndarray], fps: float = 10.0) -> int:
    """Write a looping GIF (Pillow); returns the number of frames.

    GIF stores 256 colours per frame and delays in 1/100 s: keep GIFs short and small.
    """
    with VideoWriter(path, "gif", fps=fps) as writer:
        writer.extend(frames)
    return writer.count


def write_png_sequence(directory: str | Path, frames: np.ndarray | Iterable[np.ndarray]) -> int:
    """Write ``<directory>/frame_000000.png ...``; returns the number of frames.

    The folder is built under a temporary name beside ``directory`` and renamed into place; an existing
    folder of that name is replaced only after the new one is complete.
    """
    with VideoWriter(directory, "png") as writer:
        writer.extend(frames)
    return writer.count


def write_video(path: str | Path, frames: np.ndarray | Iterable[np.ndarray], fmt: str | None = None,
                fps: float = 10.0) -> Path:
    """Write frames as ``fmt`` ("mp4", "gif" or "png"; default: from the suffix of ``path``).

    For "png" the suffix of ``path`` is dropped and a folder of that name is written. Returns the path
    actually written (the file, or the folder for PNG sequences).
    """
    with VideoWriter(path, fmt, fps=fps) as writer:
        writer.extend(frames)
    return writer.path
