"""The synthetic camera: HO-3D-like pinhole intrinsics at any image size.

HO-3D's camera has 640x480 images with fx = fy ≈ 617.3 px and the principal point near the centre
(cx ≈ 312.4, cy ≈ 241.4). A smaller image keeps the same field of view: every intrinsic is scaled by
``width / 640`` (and ``height / 480`` for the vertical ones), so the same 3D scene lands on the same
relative image positions at any resolution.
"""

from __future__ import annotations

from hoFit.geometry.cameras import CameraIntrinsics

__all__ = ["HO3D_FOCAL", "HO3D_PRINCIPAL_POINT", "HO3D_IMAGE_SIZE", "ho3d_like_intrinsics"]

HO3D_FOCAL = 617.343
HO3D_PRINCIPAL_POINT = (312.42, 241.42)
HO3D_IMAGE_SIZE = (480, 640)  # (height, width)


def ho3d_like_intrinsics(
    image_size: tuple[int, int] = HO3D_IMAGE_SIZE, focal: float | None = None
) -> CameraIntrinsics:
    """Intrinsics of an HO-3D-like camera for an image of ``image_size = (height, width)`` pixels.

    Args:
        image_size: (height, width) in pixels.
        focal: focal length in pixels *at 640x480*; None uses HO-3D's 617.343. It is scaled with the
            image width (and height for fy), like the principal point.

    Returns:
        `CameraIntrinsics` with square-ish pixels (fx/fy differ only if the aspect ratio is not 4:3).
    """
    height, width = (int(image_size[0]), int(image_size[1]))
    if height <= 0 or width <= 0:
        raise ValueError(f"image_size: expected positive (height, width), got {image_size}")
    base = HO3D_FOCAL if focal is None else float(focal)
    if base <= 0:
        raise ValueError(f"focal: expected a positive focal length in pixels, got {focal}")
    sx = width / HO3D_IMAGE_SIZE[1]
    sy = height / HO3D_IMAGE_SIZE[0]
    # principal point scales with the pixel-corner convention (centre of pixel 0 is 0)
    cx = (HO3D_PRINCIPAL_POINT[0] + 0.5) * sx - 0.5
    cy = (HO3D_PRINCIPAL_POINT[1] + 0.5) * sy - 0.5
    return CameraIntrinsics(base * sx, base * sy, cx, cy, width, height)
