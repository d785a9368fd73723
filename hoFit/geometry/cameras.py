"""Pinhole cameras: intrinsics, projection and region-of-interest crops.

Convention (OpenCV): camera frame x right, y down, z forward; pixel (u, v) with u along x (columns) and
v along y (rows); the centre of the top-left pixel is (0, 0). Lengths are metres, image coordinates pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = [
    "CameraIntrinsics",
    "intrinsics_matrix",
    "project_points",
    "backproject_points",
    "crop_intrinsics",
    "roi_from_box",
]


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of one image, in pixels.

    Attributes:
        fx, fy: focal lengths (pixels).
        cx, cy: principal point (pixels, OpenCV: centre of the top-left pixel is (0, 0)).
        width, height: image size (pixels).
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        for name in ("fx", "fy", "cx", "cy"):
            value = getattr(self, name)
            if not math.isfinite(float(value)):
                raise ValueError(f"CameraIntrinsics.{name}: expected a finite number, got {value}")
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"CameraIntrinsics: focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise ValueError(
                f"CameraIntrinsics: image size must be positive, got width={self.width}, height={self.height}"
            )

    @classmethod
    def from_matrix(cls, matrix, width: int, height: int) -> "CameraIntrinsics":
        """Build from a 3x3 matrix ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]`` (skew must be 0)."""
        m = torch.as_tensor(matrix, dtype=torch.float64)
        if tuple(m.shape) != (3, 3):
            raise ValueError(f"intrinsics matrix: expected shape (3, 3), got {tuple(m.shape)}")
        if not torch.isfinite(m).all():
            raise ValueError(f"intrinsics matrix: contains NaN or inf: {m.tolist()}")
        if abs(float(m[0, 1])) > 1e-9 or abs(float(m[2, 2]) - 1) > 1e-9 or m[2, :2].abs().max() > 1e-9:
            raise ValueError(f"intrinsics matrix: expected [[fx,0,cx],[0,fy,cy],[0,0,1]], got {m.tolist()}")
        return cls(float(m[0, 0]), float(m[1, 1]), float(m[0, 2]), float(m[1, 2]), int(width), int(height))

    @classmethod
    def from_fov(cls, width: int, height: int, focal: float) -> "CameraIntrinsics":
        """Square pixels, principal point at the image centre."""
        return cls(focal, focal, (width - 1) / 2.0, (height - 1) / 2.0, int(width), int(height))

    def matrix(self, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
        """The (3, 3) intrinsics matrix."""
        return intrinsics_matrix(
            torch.tensor([self.fx, self.fy, self.cx, self.cy], dtype=dtype, device=device)
        )

    def to_dict(self) -> dict:
        return {"fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy, "width": self.width, "height": self.height}

    def crop(self, box: tuple[float, float, float, float], out_size: tuple[int, int]) -> "CameraIntrinsics":
        """Intrinsics of the region ``box = (x1, y1, x2, y2)`` resized to ``out_size = (height, width)``."""
        k = crop_intrinsics(self.matrix(torch.float64)[None], torch.tensor([box], dtype=torch.float64), out_size)[0]
        return CameraIntrinsics(float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), out_size[1], out_size[0])


def intrinsics_matrix(fxfycxcy: torch.Tensor) -> torch.Tensor:
    """(..., 4) ``[fx, fy, cx, cy]`` -> (..., 3, 3) intrinsics matrices."""
    if fxfycxcy.shape[-1] != 4:
        raise ValueError(f"expected (..., 4) [fx, fy, cx, cy], got {tuple(fxfycxcy.shape)}")
    fx, fy, cx, cy = fxfycxcy.unbind(-1)
    zero, one = torch.zeros_like(fx), torch.ones_like(fx)
    rows = [torch.stack([fx, zero, cx], -1), torch.stack([zero, fy, cy], -1), torch.stack([zero, zero, one], -1)]
    return torch.stack(rows, dim=-2)


def project_points(points: torch.Tensor, K: torch.Tensor, min_depth: float = 1e-6) -> torch.Tensor:
    """Project camera-frame points to pixels.

    Args:
        points: (..., N, 3) metres, camera frame (OpenCV).
        K: (..., 3, 3) intrinsics, broadcastable against ``points``' leading dims.
        min_depth: depths are clamped to at least this value (metres) so that points behind or on the
            camera plane give finite, if meaningless, pixels instead of inf/NaN gradients.

    Returns:
        (..., N, 2) pixel coordinates (u, v).
    """
    if points.shape[-1] != 3:
        raise ValueError(f"points: expected (..., N, 3), got {tuple(points.shape)}")
    if tuple(K.shape[-2:]) != (3, 3):
        raise ValueError(f"K: expected (..., 3, 3), got {tuple(K.shape)}")
    z = points[..., 2:3].clamp(min=min_depth)
    xy = points[..., :2] / z
    fx, fy = K[..., 0, 0, None], K[..., 1, 1, None]
    cx, cy = K[..., 0, 2, None], K[..., 1, 2, None]
    skew = K[..., 0, 1, None]
    u = fx * xy[..., 0] + skew * xy[..., 1] + cx
    v = fy * xy[..., 1] + cy
    return torch.stack([u, v], dim=-1)


def backproject_points(pixels: torch.Tensor, depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`project_points` for zero skew.

    Args:
        pixels: (..., N, 2) pixel coordinates.
        depth: (..., N) depth along z in metres.
        K: (..., 3, 3) intrinsics.

    Returns:
        (..., N, 3) camera-frame points in metres.
    """
    fx, fy = K[..., 0, 0, None], K[..., 1, 1, None]
    cx, cy = K[..., 0, 2, None], K[..., 1, 2, None]
    x = (pixels[..., 0] - cx) / fx * depth
    y = (pixels[..., 1] - cy) / fy * depth
    return torch.stack([x, y, depth], dim=-1)


def crop_intrinsics(K: torch.Tensor, boxes: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """Intrinsics of image regions resized to a fixed size.

    A pixel p of the full image lands at ``(p - box_min) * scale`` in the crop, with
    ``scale = out / box_size`` per axis (pixel-corner convention: the crop's pixel edges align with
    the box edges, so ``c' = (c + 0.5 - x1) * s - 0.5``).

    Args:
        K: (B, 3, 3) full-image intrinsics.
        boxes: (B, 4) ``x1, y1, x2, y2`` in full-image pixels (box edges), x2 > x1, y2 > y1.
        out_size: ``(height, width)`` of the crop in pixels.

    Returns:
        (B, 3, 3) intrinsics of the crop.
    """
    if boxes.shape[-1] != 4:
        raise ValueError(f"boxes: expected (B, 4) x1,y1,x2,y2, got {tuple(boxes.shape)}")
    x1, y1, x2, y2 = boxes.unbind(-1)
    if bool(((x2 <= x1) | (y2 <= y1)).any()):
        raise ValueError(f"boxes: expected x2 > x1 and y2 > y1, got {boxes.tolist()}")
    height, width = out_size
    sx = width / (x2 - x1)
    sy = height / (y2 - y1)
    out = K.clone()
    out[..., 0, 0] = K[..., 0, 0] * sx
    out[..., 0, 1] = K[..., 0, 1] * sx
    out[..., 1, 1] = K[..., 1, 1] * sy
    out[..., 0, 2] = (K[..., 0, 2] + 0.5 - x1) * sx - 0.5
    out[..., 1, 2] = (K[..., 1, 2] + 0.5 - y1) * sy - 0.5
    return out


def roi_from_box(box: torch.Tensor, scale: float = 1.5) -> torch.Tensor:
    """Square region of interest around boxes (it may extend past the image border).

    Args:
        box: (..., 4) ``x1, y1, x2, y2`` pixels.
        scale: side of the square relative to the box's longer side.

    Returns:
        (..., 4) square boxes with the same centre, side at least 2 pixels.
    """
    centre = (box[..., :2] + box[..., 2:]) / 2
    half = (box[..., 2:] - box[..., :2]).max(dim=-1, keepdim=True).values * scale / 2
    half = half.clamp(min=1.0)
    return torch.cat([centre - half, centre + half], dim=-1)
