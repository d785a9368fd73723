"""Frame sources: the RGB images of a clip, read lazily from image files, a video file or memory.

Every source behaves like a read-only sequence of ``uint8`` arrays of shape ``(H, W, 3)`` in RGB order,
all of the same size. Images are read with OpenCV, videos with imageio-ffmpeg (decoded in order; a
backward jump restarts the decoder). A source is checked when it is built (files exist) and, with
:meth:`FrameSource.check`, before use (sizes agree, video long enough); a frame whose size differs from the
others raises an error that names its file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from hoFit.errors import HoFitError

__all__ = [
    "IMAGE_EXTENSIONS",
    "FrameSource",
    "ImageFrames",
    "VideoFrames",
    "ArrayFrames",
    "read_image",
    "read_uint8_image",
    "write_image",
    "image_size",
    "list_images",
    "natural_sort_key",
]

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def natural_sort_key(name: str) -> list:
    """Sort key that orders ``frame_2`` before ``frame_10`` (digit runs compare as numbers)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def read_uint8_image(path: str | Path, what: str = "image") -> np.ndarray:
    """Read an 8-bit image file as OpenCV decodes it (channels unchanged, BGR order).

    Args:
        path: the file. what: how errors name it ("image", "mask").

    Raises:
        HoFitError: the file is missing, not decodable, or not 8-bit.
    """
    path = Path(path)
    if not path.is_file():
        raise HoFitError(f"{what} file not found: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise HoFitError(f"cannot read {what} {path}: not an image format OpenCV can decode (or a damaged file)")
    if image.dtype != np.uint8:
        raise HoFitError(f"{what} {path}: expected 8-bit pixels, got {image.dtype}; convert it to 8-bit PNG or JPEG")
    return image


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as ``uint8`` RGB ``(H, W, 3)`` (grey images are repeated over 3 channels).

    Raises:
        HoFitError: the file is missing, unreadable or not 8-bit.
    """
    image = read_uint8_image(path, "image")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 4:
        image = image[:, :, :3]
    if image.shape[2] != 3:
        raise HoFitError(f"image {path}: expected 1, 3 or 4 channels, got {image.shape[2]}")
    return np.ascontiguousarray(image[:, :, ::-1])


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Write a ``uint8`` RGB ``(H, W, 3)`` (or grey ``(H, W)``) array; the format follows the extension."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"write_image: expected uint8 (H, W, 3) or (H, W), got {image.dtype} {image.shape}")
    data = image if image.ndim == 2 else image[:, :, ::-1]
    if not cv2.imwrite(str(path), np.ascontiguousarray(data)):
        raise HoFitError(f"cannot write image {path} (unknown extension or unwritable folder)")


def image_size(path: str | Path) -> tuple[int, int]:
    """``(height, width)`` of an image file, read from its header when possible (no full decode)."""
    path = Path(path)
    if not path.is_file():
        raise HoFitError(f"image file not found: {path}")
    try:
        from PIL import Image  # installed with imageio; reads only the header

        with Image.open(path) as img:
            width, height = img.size
        return int(height), int(width)
    except ImportError:  # pragma: no cover - Pillow always comes with imageio
        pass
    except Exception as exc:  # noqa: BLE001 - any decoder error means the file is unusable
        raise HoFitError(f"cannot read image {path}: {exc}") from exc
    return read_image(path).shape[:2]  # pragma: no cover


def list_images(folder: str | Path, pattern: str | None = None) -> list[Path]:
    """Image files of a folder in natural order (``pattern``: a glob such as ``"*.png"``; default: any image)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HoFitError(f"frame folder not found: {folder}")
    if pattern is None:
        files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    else:
        files = [p for p in folder.glob(pattern) if p.is_file()]
    return sorted(files, key=lambda p: natural_sort_key(p.name))


class FrameSource(Sequence):
    """A read-only sequence of RGB frames, ``uint8`` ``(H, W, 3)``, all of one size.

    Subclasses implement ``num_frames``, ``size`` and ``_read(i)``; indexing with a slice returns a new
    source over the selected frames without reading them.
    """

    @property
    def num_frames(self) -> int:
        raise NotImplementedError

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` in pixels."""
        raise NotImplementedError

    def describe(self, index: int) -> str:
        """Human-readable origin of frame ``index`` for error messages (file name, video frame)."""
        return f"frame {index}"

    def _read(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def _select(self, indices: list[int]) -> "FrameSource":
        raise NotImplementedError

    def check(self) -> None:
        """Verify that every frame exists and has the source's size (cheap: headers or metadata only)."""

    def __len__(self) -> int:
        return self.num_frames

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return self._select(list(range(self.num_frames))[index])
        if isinstance(index, (int, np.integer)):
            i = int(index)
            if i < 0:
                i += self.num_frames
            if not 0 <= i < self.num_frames:
                raise IndexError(f"frame index {index} out of range for a clip of {self.num_frames} frames")
            image = self._read(i)
            if image.shape[:2] != self.size:
                raise HoFitError(
                    f"{self.describe(i)}: size {image.shape[1]}x{image.shape[0]} (WxH) differs from the clip's "
                    f"{self.size[1]}x{self.size[0]}; all frames of a clip must have the same size"
                )
            return image
        raise TypeError(f"frame index must be an int or a slice, got {type(index).__name__}")

    def select(self, indices: Sequence[int]) -> "FrameSource":
        """A new source over ``indices`` (in the given order)."""
        indices = [int(i) for i in indices]
        for i in indices:
            if not 0 <= i < self.num_frames:
                raise IndexError(f"frame index {i} out of range for a clip of {self.num_frames} frames")
        return self._select(indices)

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(self.num_frames):
            yield self[i]

    def read_all(self) -> np.ndarray:
        """All frames as one ``(T, H, W, 3)`` ``uint8`` array."""
        height, width = self.size
        out = np.empty((self.num_frames, height, width, 3), dtype=np.uint8)
        for i, frame in enumerate(self):
            out[i] = frame
        return out


class ImageFrames(FrameSource):
    """Frames stored as one image file per frame.

    Args:
        paths: image files in frame order (all must exist).
        size: expected ``(height, width)``; read from the first file's header when omitted.
    """

    def __init__(self, paths: Sequence[str | Path], size: tuple[int, int] | None = None) -> None:
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise HoFitError("a clip needs at least one frame, got an empty list of image files")
        missing = [str(p) for p in self.paths if not p.is_file()]
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise HoFitError(f"{len(missing)} frame file(s) not found: {shown}")
        self._size = tuple(int(s) for s in size) if size is not None else image_size(self.paths[0])

    @classmethod
    def from_folder(cls, folder: str | Path, pattern: str | None = None) -> "ImageFrames":
        """All images of ``folder`` in natural name order."""
        files = list_images(folder, pattern)
        if not files:
            what = pattern or "/".join(IMAGE_EXTENSIONS)
            raise HoFitError(f"no frame images ({what}) in {folder}")
        return cls(files)

    @property
    def num_frames(self) -> int:
        return len(self.paths)

    @property
    def size(self) -> tuple[int, int]:
        return self._size  # type: ignore[return-value]

    def describe(self, index: int) -> str:
        return f"frame {index} ({self.paths[index]})"

    def _read(self, index: int) -> np.ndarray:
        return read_image(self.paths[index])

    def _select(self, indices: list[int]) -> "ImageFrames":
        return ImageFrames([self.paths[i] for i in indices], size=self.size)

    def check(self) -> None:
        for i, path in enumerate(self.paths):
            size = image_size(path)
            if size != self.size:
                raise HoFitError(
                    f"frame {i} ({path}): size {size[1]}x{size[0]} (WxH) differs from the clip's "
                    f"{self.size[1]}x{self.size[0]} ({self.paths[0].name}); all frames of a clip must have the same size"
                )


class VideoFrames(FrameSource):
    """Frames decoded from a video file with imageio-ffmpeg.

    Args:
        path: the video file.
        indices: which video frames (0-based, decoding order) make up the clip; all frames when omitted.
    """

    def __init__(self, path: str | Path, indices: Sequence[int] | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise HoFitError(f"video file not found: {self.path}")
        self._video_size, self.fps = self._probe()
        self._count: int | None = None
        if indices is None:
            indices = range(self.video_frame_count)
        self.indices = [int(i) for i in indices]
        if not self.indices:
            raise HoFitError(f"video {self.path}: a clip needs at least one frame, got an empty frame list")
        if min(self.indices) < 0:
            raise HoFitError(f"video {self.path}: frame indices must be >= 0, got {min(self.indices)}")
        self._reader = None
        self._position = -1
        self._last: tuple[int, np.ndarray] | None = None

    def _probe(self) -> tuple[tuple[int, int], float]:
        import imageio_ffmpeg

        try:
            gen = imageio_ffmpeg.read_frames(str(self.path))
            meta = next(gen)
            gen.close()
        except Exception as exc:  # noqa: BLE001 - ffmpeg reports many kinds of failure
            raise HoFitError(f"cannot read video {self.path}: {exc}") from exc
        width, height = meta["size"]
        return (int(height), int(width)), float(meta.get("fps") or 0.0)

    @property
    def video_frame_count(self) -> int:
        """Number of frames in the whole video (counted by decoding it once)."""
        if self._count is None:
            import imageio_ffmpeg

            try:
                self._count = int(imageio_ffmpeg.count_frames_and_secs(str(self.path))[0])
            except Exception as exc:  # noqa: BLE001
                raise HoFitError(f"cannot count the frames of video {self.path}: {exc}") from exc
        return self._count

    @property
    def is_whole_video(self) -> bool:
        """True when the source is every frame of the video, in order."""
        return self.indices == list(range(self.video_frame_count))

    @property
    def num_frames(self) -> int:
        return len(self.indices)

    @property
    def size(self) -> tuple[int, int]:
        return self._video_size

    def describe(self, index: int) -> str:
        return f"frame {index} ({self.path}, video frame {self.indices[index]})"

    def check(self) -> None:
        last = max(self.indices)
        if last >= self.video_frame_count:
            raise HoFitError(
                f"video {self.path} has {self.video_frame_count} frames, but the clip asks for video frame {last}"
            )

    def _restart(self) -> None:
        import imageio_ffmpeg

        self.close()
        self._reader = imageio_ffmpeg.read_frames(str(self.path))
        next(self._reader)  # metadata
        self._position = -1

    def close(self) -> None:
        """Stop the decoder process (it restarts on the next read)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _read(self, index: int) -> np.ndarray:
        target = self.indices[index]
        if self._last is not None and self._last[0] == target:
            return self._last[1].copy()
        if self._reader is None or target <= self._position:
            self._restart()
        height, width = self.size
        data = None
        while self._position < target:
            try:
                data = next(self._reader)  # type: ignore[arg-type]
            except StopIteration:
                self.close()
                raise HoFitError(
                    f"video {self.path} ended after {self._position + 1} frames; frame {target} was asked for"
                ) from None
            self._position += 1
        frame = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3).copy()
        self._last = (target, frame)
        return frame.copy()

    def _select(self, indices: list[int]) -> "VideoFrames":
        out = VideoFrames.__new__(VideoFrames)
        out.path, out._video_size, out.fps, out._count = self.path, self._video_size, self.fps, self._count
        out.indices = [self.indices[i] for i in indices]
        out._reader, out._position, out._last = None, -1, None
        return out

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


class ArrayFrames(FrameSource):
    """Frames held in memory: ``uint8`` ``(T, H, W, 3)`` RGB."""

    def __init__(self, frames: np.ndarray) -> None:
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
            raise HoFitError(f"frames: expected a (T, H, W, 3) RGB array with T >= 1, got shape {frames.shape}")
        if frames.dtype != np.uint8:
            raise HoFitError(f"frames: expected uint8 pixels, got {frames.dtype}; scale to 0..255 and cast to uint8")
        self.frames = frames

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    def _read(self, index: int) -> np.ndarray:
        return self.frames[index].copy()

    def _select(self, indices: list[int]) -> "ArrayFrames":
        return ArrayFrames(self.frames[indices])
