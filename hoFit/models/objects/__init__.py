"""Object templates: mesh loading and validation, signed-distance grids, procedural objects.

Object frame: the template's own frame, metres. Signed distances are negative inside.
"""

from .distance import MeshProximity, mesh_proximity, point_mesh_distance, winding_number
from .procedural import CATEGORY_SYNONYMS, PROCEDURAL_CATEGORIES, procedural_template, resolve_category
from .sdf import SDFGrid, compute_sdf_grid, default_cache_dir, sdf_cache_path, sdf_grid
from .template import SUPPORTED_EXTENSIONS, ObjectTemplate, load_template, template_from_arrays

__all__ = [
    "ObjectTemplate", "load_template", "template_from_arrays", "SUPPORTED_EXTENSIONS",
    "SDFGrid", "sdf_grid", "compute_sdf_grid", "default_cache_dir", "sdf_cache_path",
    "MeshProximity", "mesh_proximity", "point_mesh_distance", "winding_number",
    "PROCEDURAL_CATEGORIES", "CATEGORY_SYNONYMS", "resolve_category", "procedural_template",
]
