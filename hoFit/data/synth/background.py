"""Varied, deterministic image backgrounds for synthetic clips.

A background is a smooth colour gradient (four random corner colours, bilinearly blended), plus
low-frequency colour blotches, a few soft-edged shapes standing in for clutter, and fine grain. Every
random choice comes from the generator passed in, so a seed fixes the image exactly.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["random_background"]


def random_background(image_size: tuple[int, int], rng: np.random.Generator, num_shapes: tuple[int, int] = (3, 8)) -> np.ndarray:
    """A random background image.

    Args:
        image_size: (height, width) in pixels.
        rng: numpy random generator (the only source of randomness).
        num_shapes: (min, max) number of soft rectangles/ellipses drawn over the gradient.

    Returns:
        (H, W, 3) float32 RGB in [0, 1].
    """
    height, width = int(image_size[0]), int(image_size[1])
    if height <= 0 or width <= 0:
        raise ValueError(f"image_size: expected positive (height, width), got {image_size}")
    corners = rng.uniform(0.1, 0.9, size=(2, 2, 3)).astype(np.float32)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    gradient = (
        corners[0, 0] * (1 - ys) * (1 - xs) + corners[0, 1] * (1 - ys) * xs
        + corners[1, 0] * ys * (1 - xs) + corners[1, 1] * ys * xs
    )
    cells = int(rng.integers(3, 9))
    blotches = rng.normal(0.0, 0.12, size=(cells, cells, 3)).astype(np.float32)
    image = gradient + cv2.resize(blotches, (width, height), interpolation=cv2.INTER_CUBIC)
    low, high = num_shapes
    scale = min(height, width)
    for _ in range(int(rng.integers(low, high + 1))):
        layer = np.zeros((height, width), np.float32)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        sx, sy = rng.uniform(0.05, 0.35, size=2) * scale
        if rng.random() < 0.5:
            angle = float(rng.uniform(0, 180))
            cv2.ellipse(layer, (int(cx), int(cy)), (max(1, int(sx)), max(1, int(sy))), angle, 0, 360, 1.0, -1)
        else:
            cv2.rectangle(layer, (int(cx - sx), int(cy - sy)), (int(cx + sx), int(cy + sy)), 1.0, -1)
        blur = max(1, int(scale * 0.02)) * 2 + 1
        layer = cv2.GaussianBlur(layer, (blur, blur), 0)[..., None]
        colour = rng.uniform(0.0, 1.0, size=3).astype(np.float32)
        opacity = float(rng.uniform(0.3, 0.8))
        image = image * (1 - opacity * layer) + colour * opacity * layer
    image = image + rng.normal(0.0, 0.015, size=image.shape).astype(np.float32)
    return np.clip(image, 0.0, 1.0).astype(np.float32)
