"""Camera orbit: view the same frame from rotated viewpoints by rotating camera-frame geometry.

Rotating the scene by ``R`` about a centre is the same as orbiting the camera by ``R^T`` about it, so
the result videos' side views are rendered with the original intrinsics.
"""

from __future__ import annotations

import torch

from hoFit.geometry.rotations import axis_angle_to_matrix
from hoFit.render.settings import RenderSettings
from hoFit.render.shading import render_shaded

__all__ = ["orbit_vertices", "render_orbit"]

_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


def _axis(axis, dtype, device) -> torch.Tensor:
    if isinstance(axis, str):
        if axis not in _AXES:
            raise ValueError(f"axis: expected 'x', 'y', 'z' or a 3-vector in the camera frame, got {axis!r}")
        axis = _AXES[axis]
    a = torch.as_tensor(axis, dtype=dtype, device=device)
    if a.shape != (3,) or not float(a.norm()) > 0:
        raise ValueError(f"axis: expected a non-zero 3-vector in the camera frame, got {axis!r}")
    return a / a.norm()


def orbit_vertices(vertices: torch.Tensor, center: torch.Tensor, angles, axis="y") -> torch.Tensor:
    """Rotate camera-frame vertices about an axis through a centre.

    Args:
        vertices: (B, V, 3) metres, camera frame (OpenCV).
        center: (B, 3) or (3,) centre of rotation in metres (e.g. the object's centroid).
        angles: radians; a float, or a 1-D tensor/sequence of A angles.
        axis: "x", "y" (the camera's vertical: yaw, the default), "z", or a 3-vector in the camera frame.

    Returns:
        (B, V, 3) for a scalar angle, (A, B, V, 3) for A angles. ``x' = R (x - c) + c`` with ``R`` the
        right-handed rotation by the angle about the axis.
    """
    if vertices.dim() != 3 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices: expected (B, V, 3) in the camera frame, got {tuple(vertices.shape)}")
    c = torch.as_tensor(center, dtype=vertices.dtype, device=vertices.device)
    if c.shape == (3,):
        c = c.expand(vertices.shape[0], 3)
    if c.shape != (vertices.shape[0], 3):
        raise ValueError(f"center: expected (B, 3) or (3,) metres, got {tuple(c.shape)}")
    ang = torch.as_tensor(angles, dtype=vertices.dtype, device=vertices.device)
    scalar = ang.dim() == 0
    ang = ang.reshape(-1)
    R = axis_angle_to_matrix(ang[:, None] * _axis(axis, vertices.dtype, vertices.device))  # (A, 3, 3)
    local = (vertices - c[:, None])[None]  # (1, B, V, 3)
    out = torch.einsum("aij,abvj->abvi", R, local) + c[None, :, None]
    return out[0] if scalar else out


def render_orbit(
    meshes,
    colors,
    K: torch.Tensor,
    image_size: tuple[int, int],
    angles,
    center: torch.Tensor | None = None,
    axis="y",
    settings: RenderSettings | None = None,
) -> torch.Tensor:
    """Shaded renderings of a scene from orbiting viewpoints.

    Args:
        meshes, colors, K, image_size, settings: as in :func:`hoFit.render.render_shaded`.
        angles: A yaw angles in radians (1-D).
        center: (B, 3) or (3,) metres; default: the centroid of the last mesh's vertices (the object, by
            hoFit's convention of listing hands first).
        axis: rotation axis, as in :func:`orbit_vertices`.

    Returns:
        (A, B, H, W, 3) float RGB in [0, 1] on the settings' background colour.
    """
    if isinstance(meshes, tuple) and len(meshes) == 2 and isinstance(meshes[0], torch.Tensor):
        meshes = [meshes]
    if center is None:
        center = meshes[-1][0].mean(dim=1)
    rotated = [orbit_vertices(v, center, torch.as_tensor(angles).reshape(-1), axis) for v, _ in meshes]
    A, B = rotated[0].shape[:2]
    K = torch.as_tensor(K, dtype=meshes[0][0].dtype, device=meshes[0][0].device)
    K = K.expand(B, 3, 3) if K.dim() == 2 else K
    flat = [(rv.reshape(A * B, *rv.shape[2:]), f) for rv, (_, f) in zip(rotated, meshes)]
    images = render_shaded(flat, colors, K.repeat(A, 1, 1), image_size, settings=settings)
    return images.view(A, B, *images.shape[1:])
