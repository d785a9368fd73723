"""Settings of the object template (`ObjectConfig`) and the helper that builds a template from them."""

from __future__ import annotations

from dataclasses import dataclass

from hoFit.errors import HoFitError

from .procedural import procedural_template
from .template import ObjectTemplate, load_template

__all__ = ["ObjectConfig", "template_from_config"]


@dataclass
class ObjectConfig:
    """Which object template to use and how to build its signed-distance grid.

    Attributes:
        path: mesh file (OBJ/PLY/GLB/GLTF/STL/OFF); exclusive with ``category``.
        category: procedural category or synonym (e.g. "mug", "cup3", "phone"); used when ``path`` is None.
        scale: factor from file units to metres (procedural templates: a uniform size factor).
        max_faces: decimate loaded meshes to at most this many faces (None keeps all).
        center: None keeps the file's frame; "bbox" or "centroid" moves that point to the origin.
        sdf_resolution: SDF grid samples per axis.
        sdf_padding: margin of the SDF grid around the bounding box, metres.
        cache_dir: SDF cache folder (None: $HOFIT_CACHE_DIR/sdf or ~/.cache/hofit/sdf).
    """

    path: str | None = None
    category: str | None = None
    scale: float = 1.0
    max_faces: int | None = None
    center: str | None = None
    sdf_resolution: int = 64
    sdf_padding: float = 0.02
    cache_dir: str | None = None


def template_from_config(config: ObjectConfig) -> ObjectTemplate:
    """Load ``config.path`` or build ``config.category``; optionally centre it (see `ObjectConfig`)."""
    if (config.path is None) == (config.category is None):
        raise HoFitError(
            "object config: set exactly one of 'path' (a mesh file) and 'category' (a procedural object), got "
            f"path={config.path!r}, category={config.category!r}"
        )
    if config.path is not None:
        template = load_template(config.path, scale=config.scale, max_faces=config.max_faces)
    else:
        template = procedural_template(config.category, scale=config.scale)
    if config.center is not None:
        if config.center not in ("bbox", "centroid"):
            raise HoFitError(f"object config: center must be null, 'bbox' or 'centroid', got {config.center!r}")
        template = template.centered(config.center)
    return template
