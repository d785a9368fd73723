"""Settings of the renderer: soft silhouettes for fitting and shaded images for display.

Plain dataclasses with defaults (floats, ints, bools, tuples) so that they round-trip through YAML as
part of hoFit's config tree.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SilhouetteSettings", "RenderSettings"]


@dataclass
class SilhouetteSettings:
    """Soft silhouette rasterization (see :func:`hoFit.render.soft_silhouette`).

    A pixel whose centre lies inside a (front-facing) projected triangle has occupancy 1; a pixel at
    distance ``d`` (pixels) outside the hard silhouette has occupancy
    ``(exp(-d^2 / sigma_px^2) - exp(-cutoff^2)) / (1 - exp(-cutoff^2))`` for ``d < cutoff * sigma_px``
    and 0 beyond (a truncated Gaussian falloff, as in DIB-R's silhouette term). Gradients reach the
    vertices through the pixels of that outer band.

    Attributes:
        sigma_px: width of the soft band outside the silhouette, pixels (> 0). About 0.5-2 for fitting;
            0.05 or less gives an almost binary mask. The soft mask's area exceeds the hard area by about
            ``perimeter * sigma_px * sqrt(pi) / 2``.
        cutoff: support of the falloff in units of ``sigma_px`` (> 0); pixels farther than
            ``cutoff * sigma_px`` from every face are 0 exactly and are never evaluated.
        cull_backfaces: skip faces whose projection is clockwise on screen, i.e. whose outward normal
            (counter-clockwise winding seen from outside) points away from the camera. The silhouette of a
            closed mesh is unchanged; for an open mesh (e.g. a hand without its wrist cap) set False or
            render its closed faces.
        znear: faces with a vertex closer than this depth (metres) are skipped.
        max_pairs_per_chunk: face-pixel pairs evaluated at once; bounds the working memory of the
            rasterizer (roughly 100-200 bytes per pair). 0 picks per device: 2**18 on CPU (cache-sized, measured
            fastest), 2**24 on a GPU.
    """

    sigma_px: float = 1.0
    cutoff: float = 3.0
    cull_backfaces: bool = True
    znear: float = 1e-3
    max_pairs_per_chunk: int = 0

    def __post_init__(self) -> None:
        if not self.sigma_px > 0:
            raise ValueError(f"SilhouetteSettings.sigma_px: expected a positive number of pixels, got {self.sigma_px}")
        if not self.cutoff > 0:
            raise ValueError(f"SilhouetteSettings.cutoff: expected a positive multiple of sigma, got {self.cutoff}")
        if not self.znear > 0:
            raise ValueError(f"SilhouetteSettings.znear: expected a positive depth in metres, got {self.znear}")
        if int(self.max_pairs_per_chunk) != 0 and int(self.max_pairs_per_chunk) < 1024:
            raise ValueError(
                f"SilhouetteSettings.max_pairs_per_chunk: expected 0 (automatic) or at least 1024, "
                f"got {self.max_pairs_per_chunk}"
            )


@dataclass
class RenderSettings:
    """Shaded display rendering (see :func:`hoFit.render.render_shaded`).

    Attributes:
        supersample: render at this many times the resolution per axis, then average (anti-aliasing).
        ambient, diffuse, specular: Phong weights; the light is a headlight at the camera centre.
        shininess: Phong exponent.
        background: RGB in [0, 1] used where no image is given.
        cull_backfaces: skip back faces (False shows the inside of open meshes, lit two-sided).
        znear: faces with a vertex closer than this depth (metres) are skipped.
        max_pairs_per_chunk: working-memory bound of the rasterizer, as in :class:`SilhouetteSettings`
            (0: automatic).
    """

    supersample: int = 2
    ambient: float = 0.3
    diffuse: float = 0.6
    specular: float = 0.25
    shininess: float = 32.0
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    cull_backfaces: bool = False
    znear: float = 1e-3
    max_pairs_per_chunk: int = 0

    def __post_init__(self) -> None:
        if int(self.supersample) < 1:
            raise ValueError(f"RenderSettings.supersample: expected an integer >= 1, got {self.supersample}")
        if len(tuple(self.background)) != 3:
            raise ValueError(f"RenderSettings.background: expected 3 RGB values in [0, 1], got {self.background}")
        if not self.znear > 0:
            raise ValueError(f"RenderSettings.znear: expected a positive depth in metres, got {self.znear}")
