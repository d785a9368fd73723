"""Smooth 6-DoF motion of a rigid hand+object pair in front of the camera.

The pair is described by points ``p`` in a *pivot frame* (the object frame shifted so that the pivot,
usually the object's centroid, is the origin). Frame ``t`` places them in the camera (OpenCV, metres) as

    x_cam(t) = R(t) p + c(t),    R(t) = exp([w(t)]) R0

where ``R0`` is a base orientation, ``w(t)`` (T, 3) a rotation-vector offset and ``c(t)`` (T, 3) the pivot's
position. ``w`` and the lateral/depth offsets of ``c`` are sums of a few low-frequency sinusoids with random
phases (smooth and bounded). `place_in_view` picks the depth in the configured range and
shrinks the motion until every point of every frame projects inside the image with a margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from hoFit.geometry.cameras import CameraIntrinsics
from hoFit.geometry.rotations import axis_angle_to_matrix

__all__ = [
    "MotionSettings",
    "RigidTrajectory",
    "smooth_signal",
    "sample_trajectory",
    "viewing_rotation",
    "place_in_view",
]


@dataclass
class MotionSettings:
    """Settings of the rigid motion.

    Attributes:
        rotation_amplitude: peak rotation offset per axis, radians.
        translation_amplitude: peak translation of the pivot per axis, metres (depth uses half of it).
        num_components: sinusoids summed per axis.
        max_cycles: highest sinusoid frequency, in cycles over the whole clip (lowest is 0.2).
        distance_range: (min, max) distance of the pivot from the camera along z, metres.
        margin: fraction of the image width/height kept free at each border.
        hand_view_angle: (min, max) angle in degrees between the object->hand direction and the
            direction towards the camera at frame 0: 0 puts the hand in front of the object, 90 beside it.
    """

    rotation_amplitude: float = 0.5
    translation_amplitude: float = 0.04
    num_components: int = 3
    max_cycles: float = 1.0
    distance_range: tuple[float, float] = (0.4, 0.8)
    margin: float = 0.03
    hand_view_angle: tuple[float, float] = (55.0, 110.0)

    def __post_init__(self) -> None:
        if self.rotation_amplitude < 0 or self.translation_amplitude < 0:
            raise ValueError(
                f"MotionSettings: amplitudes must be >= 0, got rotation_amplitude={self.rotation_amplitude}, "
                f"translation_amplitude={self.translation_amplitude}"
            )
        if self.num_components < 1:
            raise ValueError(f"MotionSettings.num_components: expected >= 1, got {self.num_components}")
        lo, hi = self.distance_range
        if not 0 < lo <= hi:
            raise ValueError(f"MotionSettings.distance_range: expected 0 < min <= max metres, got {self.distance_range}")
        if not 0 <= self.margin < 0.5:
            raise ValueError(f"MotionSettings.margin: expected a fraction in [0, 0.5), got {self.margin}")
        a, b = self.hand_view_angle
        if not 0 <= a <= b <= 180:
            raise ValueError(f"MotionSettings.hand_view_angle: expected 0 <= min <= max <= 180 degrees, got {self.hand_view_angle}")


@dataclass
class RigidTrajectory:
    """Per-frame rigid transforms of the pivot frame into the camera.

    Attributes:
        rotations: (T, 3, 3) ``R(t)``.
        centers: (T, 3) ``c(t)``, metres, camera frame.
    """

    rotations: np.ndarray
    centers: np.ndarray

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) pivot-frame points -> (T, N, 3) camera-frame points."""
        return np.einsum("tij,nj->tni", self.rotations, points) + self.centers[:, None, :]


def smooth_signal(
    num_frames: int, dims: int, rng: np.random.Generator, num_components: int = 3, max_cycles: float = 1.0
) -> np.ndarray:
    """Random smooth signal: per dimension a sum of sinusoids, scaled so its peak |value| is 1.

    Args:
        num_frames: T.
        dims: number of independent channels.
        rng: numpy random generator (the only source of randomness).
        num_components: sinusoids per channel, frequencies uniform in [0.2, max(0.2, max_cycles)] cycles
            per clip, random phases and weights.

    Returns:
        (T, dims) float64 with max |x| = 1 per channel (a single frame gives +-1).
    """
    if num_frames < 1:
        raise ValueError(f"num_frames: expected >= 1, got {num_frames}")
    s = np.linspace(0.0, 1.0, num_frames)[:, None, None]  # (T, 1, 1)
    freqs = rng.uniform(0.2, max(0.2, max_cycles), size=(1, dims, num_components))
    phases = rng.uniform(0.0, 2 * math.pi, size=(1, dims, num_components))
    weights = rng.uniform(0.3, 1.0, size=(1, dims, num_components))
    signal = (weights * np.sin(2 * math.pi * freqs * s + phases)).sum(-1)  # (T, dims)
    peak = np.abs(signal).max(axis=0, keepdims=True)
    return signal / np.maximum(peak, 1e-9)


def sample_trajectory(
    num_frames: int, rng: np.random.Generator, settings: MotionSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Rotation-vector offsets ``w`` (T, 3) radians and unit-free translation offsets (T, 3) in [-1, 1].

    The translation offsets are multiplied by the amplitude in `place_in_view` (which may shrink it).
    """
    scale_rot = rng.uniform(0.5, 1.0, size=(1, 3)) * settings.rotation_amplitude
    rot = smooth_signal(num_frames, 3, rng, settings.num_components, settings.max_cycles) * scale_rot
    trans = smooth_signal(num_frames, 3, rng, settings.num_components, settings.max_cycles)
    trans = trans * rng.uniform(0.5, 1.0, size=(1, 3)) * np.array([[1.0, 1.0, 0.5]])
    return rot, trans


def viewing_rotation(
    rng: np.random.Generator, hand_direction: np.ndarray, angle_range: tuple[float, float], max_tries: int = 1000
) -> np.ndarray:
    """A random base rotation ``R0`` (3, 3) that shows the grasp from a chosen side.

    Args:
        hand_direction: (3,) direction from the pivot to the hand (centroid), pivot frame.
        angle_range: (min, max) degrees allowed between ``R0 @ hand_direction`` and the direction
            towards the camera (-z): small angles put the hand in front of the object.

    Rotations are drawn uniformly (normalised Gaussian quaternions) until one fits.
    """
    d = np.asarray(hand_direction, dtype=np.float64)
    norm = np.linalg.norm(d)
    if d.shape != (3,) or not np.isfinite(norm) or norm < 1e-9:
        raise ValueError(f"hand_direction: expected a non-zero (3,) vector, got {hand_direction}")
    d = d / norm
    lo, hi = (math.radians(a) for a in angle_range)
    for _ in range(max_tries):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        rot = _quat_xyzw_to_matrix(q)
        angle = math.acos(float(np.clip(-(rot @ d)[2], -1.0, 1.0)))
        if lo <= angle <= hi:
            return rot
    raise ValueError(f"viewing_rotation: no rotation found within {angle_range} degrees in {max_tries} tries")


def _quat_xyzw_to_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _rotvec_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    return axis_angle_to_matrix(torch.from_numpy(np.ascontiguousarray(rotvec, dtype=np.float64))).numpy()


def place_in_view(
    points: np.ndarray,
    base_rotation: np.ndarray,
    rotation_offsets: np.ndarray,
    translation_offsets: np.ndarray,
    intrinsics: CameraIntrinsics,
    rng: np.random.Generator,
    settings: MotionSettings,
    max_tries: int = 60,
) -> RigidTrajectory:
    """Choose depth, lateral position and motion scale so that all points stay inside the image.

    Args:
        points: (N, 3) pivot-frame points that must stay visible (hand and object vertices), metres.
        base_rotation: (3, 3) ``R0``.
        rotation_offsets: (T, 3) ``w(t)``, radians.
        translation_offsets: (T, 3) unit-free offsets in [-1, 1] (from `sample_trajectory`).
        intrinsics: the camera.
        rng: random generator (depth and lateral position).

    Returns:
        `RigidTrajectory`. The pivot starts at a depth drawn in ``settings.distance_range``; when the
        points leave the image the translation and rotation amplitudes shrink and the depth grows (at
        most to ``distance_range[1]``, then beyond in 2 cm steps until it fits).

    Raises:
        ValueError: nothing fits after ``max_tries`` adjustments.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
        raise ValueError(f"points: expected (N, 3) with N > 0, got {points.shape}")
    num_frames = len(rotation_offsets)
    if translation_offsets.shape != (num_frames, 3) or rotation_offsets.shape != (num_frames, 3):
        raise ValueError(
            f"offsets: expected (T, 3) rotation and translation offsets, got {rotation_offsets.shape} and "
            f"{translation_offsets.shape}"
        )
    width, height = intrinsics.width, intrinsics.height
    lo_u, hi_u = settings.margin * width, (1 - settings.margin) * width - 1
    lo_v, hi_v = settings.margin * height, (1 - settings.margin) * height - 1
    depth = float(rng.uniform(*settings.distance_range))
    lateral = rng.uniform(-1.0, 1.0, size=2)  # fraction of the visible half-extent, shrunk below
    lateral_scale = 0.3
    rot_scale = 1.0
    trans_scale = 1.0
    for _ in range(max_tries):
        rotations = _rotvec_to_matrix(rotation_offsets * rot_scale) @ base_rotation
        half_w = depth * (width / 2) / intrinsics.fx
        half_h = depth * (height / 2) / intrinsics.fy
        base = np.array([lateral[0] * lateral_scale * half_w, lateral[1] * lateral_scale * half_h, depth])
        base[0] += depth * ((width - 1) / 2 - intrinsics.cx) / intrinsics.fx
        base[1] += depth * ((height - 1) / 2 - intrinsics.cy) / intrinsics.fy
        centers = base[None] + translation_offsets * settings.translation_amplitude * trans_scale
        cam = np.einsum("tij,nj->tni", rotations, points) + centers[:, None, :]
        z = cam[..., 2]
        if (z > 0.05).all():
            u = intrinsics.fx * cam[..., 0] / z + intrinsics.cx
            v = intrinsics.fy * cam[..., 1] / z + intrinsics.cy
            if u.min() >= lo_u and u.max() <= hi_u and v.min() >= lo_v and v.max() <= hi_v:
                return RigidTrajectory(rotations=rotations, centers=centers)
        # shrink the motion first, then move away from the camera
        lateral_scale *= 0.7
        trans_scale *= 0.8
        rot_scale *= 0.9
        depth = depth * 1.04 if depth * 1.04 <= settings.distance_range[1] else depth + 0.02
    raise ValueError(
        f"place_in_view: the scene does not fit in a {width}x{height} image after {max_tries} adjustments "
        f"(extent {np.ptp(points, axis=0).round(3).tolist()} m); use a larger distance_range or smaller motion"
    )
