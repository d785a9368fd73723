"""Differentiable rendering: sparse soft silhouettes for fitting, shaded images for display.

Pure PyTorch, device-agnostic (CPU or GPU), no OpenGL. See :mod:`hoFit.render.silhouette` for the
silhouette model and :mod:`hoFit.render.rasterize` for the sparse face-pixel engine.
"""

from hoFit.render.settings import RenderSettings, SilhouetteSettings
from hoFit.render.rasterize import Fragments, rasterize
from hoFit.render.silhouette import SceneRender, render_scene, silhouette_falloff, silhouette_profile, soft_silhouette
from hoFit.render.shading import render_shaded, vertex_normals
from hoFit.render.orbit import orbit_vertices, render_orbit

__all__ = [
    "SilhouetteSettings",
    "RenderSettings",
    "Fragments",
    "rasterize",
    "SceneRender",
    "soft_silhouette",
    "render_scene",
    "silhouette_falloff",
    "silhouette_profile",
    "render_shaded",
    "vertex_normals",
    "orbit_vertices",
    "render_orbit",
]
