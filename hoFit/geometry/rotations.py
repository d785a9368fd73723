"""Rotation representations and conversions between them.

Thin, documented wrappers over `roma` so that the rest of hoFit speaks one vocabulary.
All functions are batched over arbitrary leading dimensions ``(...)`` and keep the input's
device and dtype. Angles are radians; matrices act on column vectors (``x' = R @ x``).

Representations:
    axis-angle (rotation vector): ``(..., 3)``, direction = axis, norm = angle.
    rotation matrix: ``(..., 3, 3)``.
    6D (Zhou et al. 2019, continuous): ``(..., 6)``, the first two *columns* of the matrix,
        concatenated ``[c0, c1]``; mapped back by Gram-Schmidt, so any 6-vector is valid.
    quaternion: ``(..., 4)`` in XYZW order (roma's convention).
"""

from __future__ import annotations

import roma
import torch

__all__ = [
    "axis_angle_to_matrix",
    "matrix_to_axis_angle",
    "rotation_6d_to_matrix",
    "matrix_to_rotation_6d",
    "quaternion_to_matrix",
    "matrix_to_quaternion",
    "to_matrix",
    "random_rotations",
    "spread_rotations",
    "rotation_angle_between",
]


def _check_last(x: torch.Tensor, shape: tuple[int, ...], name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if tuple(x.shape[x.dim() - len(shape):]) != shape or x.dim() < len(shape):
        raise ValueError(f"{name}: expected shape (..., {', '.join(map(str, shape))}), got {tuple(x.shape)}")


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) rotation vectors in radians -> (..., 3, 3) matrices.

    Differentiable with finite gradients at zero angle (roma uses a Taylor expansion there).
    """
    _check_last(axis_angle, (3,), "axis_angle")
    return roma.rotvec_to_rotmat(axis_angle)


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrices -> (..., 3) rotation vectors with angle in [0, pi]."""
    _check_last(matrix, (3, 3), "matrix")
    return roma.rotmat_to_rotvec(matrix)


def rotation_6d_to_matrix(rot6d: torch.Tensor) -> torch.Tensor:
    """(..., 6) continuous representation (first two columns) -> (..., 3, 3) matrices."""
    _check_last(rot6d, (6,), "rot6d")
    two_columns = torch.stack([rot6d[..., :3], rot6d[..., 3:]], dim=-1)  # (..., 3, 2)
    return roma.special_gramschmidt(two_columns)


def matrix_to_rotation_6d(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) matrices -> (..., 6): first column then second column."""
    _check_last(matrix, (3, 3), "matrix")
    return torch.cat([matrix[..., :, 0], matrix[..., :, 1]], dim=-1)


def quaternion_to_matrix(quat_xyzw: torch.Tensor) -> torch.Tensor:
    """(..., 4) unit quaternions, XYZW order -> (..., 3, 3) matrices."""
    _check_last(quat_xyzw, (4,), "quat_xyzw")
    return roma.unitquat_to_rotmat(quat_xyzw)


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) matrices -> (..., 4) unit quaternions, XYZW order."""
    _check_last(matrix, (3, 3), "matrix")
    return roma.rotmat_to_unitquat(matrix)


def to_matrix(rotation: torch.Tensor) -> torch.Tensor:
    """Any supported representation, recognised by its trailing shape, -> (..., 3, 3).

    Trailing (3,) is axis-angle, (6,) is 6D, (4,) is an XYZW quaternion, (3, 3) is a matrix.
    """
    if rotation.dim() >= 2 and tuple(rotation.shape[-2:]) == (3, 3):
        return rotation
    last = rotation.shape[-1] if rotation.dim() else 0
    if last == 3:
        return axis_angle_to_matrix(rotation)
    if last == 6:
        return rotation_6d_to_matrix(rotation)
    if last == 4:
        return quaternion_to_matrix(rotation)
    raise ValueError(
        f"rotation: expected trailing shape (3,) axis-angle, (6,) 6D, (4,) quaternion or (3, 3) matrix, "
        f"got {tuple(rotation.shape)}"
    )


def _uniform_quaternions(n: int, generator: torch.Generator | None) -> torch.Tensor:
    """(n, 4) float64 unit quaternions uniform on the 3-sphere (normalised Gaussian 4-vectors)."""
    quat = torch.randn(n, 4, generator=generator, dtype=torch.float64)
    return quat / quat.norm(dim=-1, keepdim=True)


def random_rotations(
    n: int,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``n`` rotation matrices (n, 3, 3) drawn uniformly on SO(3) (Haar measure).

    Uses normalised Gaussian quaternions, which are uniform on the 3-sphere.
    """
    return quaternion_to_matrix(_uniform_quaternions(n, generator)).to(dtype=dtype, device=device)


def spread_rotations(
    n: int,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
    pool: int = 64,
) -> torch.Tensor:
    """``n`` rotation matrices (n, 3, 3) spread evenly over SO(3): a farthest-point subset of ``pool * n``
    uniform samples.

    Independent uniform samples leave holes that a local fit started from them cannot cross: 48 of them
    leave some rotations 70-80 degrees from every sample, a farthest-point subset of 48 about 60 (see
    tests/foundation/test_geometry.py). Deterministic given ``generator``.
    """
    quat = _uniform_quaternions(max(pool, 1) * n, generator)
    chosen = [0]
    # |q_a . q_b| = cos(angle / 2): the nearest chosen sample has the largest absolute dot product
    nearest = (quat @ quat[0]).abs()
    for _ in range(1, n):
        index = int(nearest.argmin())
        chosen.append(index)
        nearest = torch.maximum(nearest, (quat @ quat[index]).abs())
    return quaternion_to_matrix(quat[chosen]).to(dtype=dtype, device=device)


def rotation_angle_between(rot_a: torch.Tensor, rot_b: torch.Tensor) -> torch.Tensor:
    """Geodesic angle in radians between two batches of rotation matrices (..., 3, 3) -> (...)."""
    _check_last(rot_a, (3, 3), "rot_a")
    _check_last(rot_b, (3, 3), "rot_b")
    return roma.rotmat_geodesic_distance(rot_a, rot_b)
