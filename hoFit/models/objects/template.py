"""Object templates: rigid triangle meshes in their own object frame (metres), loaded and validated.

`load_template` reads OBJ / PLY / GLB / GLTF / STL / OFF files with trimesh, `template_from_arrays` wraps
arrays. Both apply the same checks and clean-up, in this order:

1. inputs: vertices (V, 3) finite numbers, faces (F, 3) integer indices in range, V > 0, F > 0, a positive
   scale (a clear `HoFitError` naming the file or array otherwise);
2. vertices scaled by ``scale`` (file units times ``scale`` must be metres), duplicate vertices merged
   (texture seams split vertices in OBJ files), degenerate (zero-area) and duplicate faces removed and
   counted in ``num_removed_faces`` (with a warning);
3. optional decimation to at most ``max_faces`` faces (quadric decimation, fast-simplification);
4. watertightness: if the mesh is not closed, holes are filled; normals are made consistent and outward.
   ``is_watertight`` records the result; signed distances of non-watertight meshes still work because
   their sign comes from the generalized winding number (`hoFit.models.objects.distance.winding_number`).

The object frame is the file's own frame; `ObjectTemplate.centered` moves the box centre or centroid to
the origin when needed.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import trimesh

from hoFit.errors import HoFitError

__all__ = ["ObjectTemplate", "load_template", "template_from_arrays", "SUPPORTED_EXTENSIONS"]

SUPPORTED_EXTENSIONS = (".obj", ".ply", ".glb", ".gltf", ".stl", ".off")
_GENERIC_STEMS = re.compile(r"^(textured|nontextured|model|mesh|poisson|google_\d+k)", re.IGNORECASE)
_LARGE_EXTENT_M = 3.0  # a hand-held object larger than this is probably in millimetres or centimetres


@dataclass
class ObjectTemplate:
    """A rigid object mesh in its object frame.

    Attributes:
        vertices: (V, 3) float32 positions in metres, object frame.
        faces: (F, 3) int64 triangle indices, counter-clockwise seen from outside.
        name: short name (e.g. "025_mug", "mug").
        source: file path it was loaded from, "procedural:<category>" or "arrays".
        scale: factor that was applied to the source coordinates to get metres.
        is_watertight: True when the surface is closed (every edge shared by exactly two faces).
        num_removed_faces: degenerate or duplicate faces dropped while cleaning the source mesh (and
            after decimation).
    """

    vertices: np.ndarray
    faces: np.ndarray
    name: str
    source: str = "arrays"
    scale: float = 1.0
    is_watertight: bool = False
    num_removed_faces: int = 0

    def __post_init__(self) -> None:
        vertices = np.asarray(self.vertices)
        faces = np.asarray(self.faces)
        if vertices.ndim != 2 or vertices.shape[1] != 3:
            raise ValueError(f"ObjectTemplate {self.name!r}: expected vertices (V, 3), got {vertices.shape}")
        if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
            raise ValueError(
                f"ObjectTemplate {self.name!r}: expected integer faces (F, 3), got {faces.shape} {faces.dtype}; "
                "build templates with template_from_arrays to validate and triangulate-check raw arrays"
            )
        self.vertices = np.ascontiguousarray(vertices, dtype=np.float32)
        self.faces = np.ascontiguousarray(faces, dtype=np.int64)

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3) minimum and maximum corner of the bounding box, metres."""
        return np.stack([self.vertices.min(0), self.vertices.max(0)])

    @property
    def extents(self) -> np.ndarray:
        """(3,) bounding-box size along x, y, z, metres."""
        lo, hi = self.bounds
        return hi - lo

    def to_torch(
        self, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> vertices (V, 3) of ``dtype`` and faces (F, 3) long, on ``device``."""
        return (
            torch.as_tensor(self.vertices, dtype=dtype, device=device),
            torch.as_tensor(self.faces, dtype=torch.long, device=device),
        )

    def to_trimesh(self) -> trimesh.Trimesh:
        """A trimesh copy (float64 vertices, no processing)."""
        return trimesh.Trimesh(self.vertices.astype(np.float64), self.faces.copy(), process=False)

    def content_hash(self) -> str:
        """sha256 hex digest of the float32 vertex bytes and int64 face bytes (with their shapes)."""
        digest = hashlib.sha256()
        digest.update(f"v{self.vertices.shape}f{self.faces.shape}".encode())
        digest.update(np.ascontiguousarray(self.vertices, dtype="<f4").tobytes())
        digest.update(np.ascontiguousarray(self.faces, dtype="<i8").tobytes())
        return digest.hexdigest()

    def center(self, mode: str = "bbox") -> np.ndarray:
        """(3,) centre of the bounding box ("bbox") or the volume centroid ("centroid", area-weighted for
        open meshes), metres."""
        if mode == "bbox":
            return self.bounds.mean(0)
        if mode == "centroid":
            return np.asarray(self.to_trimesh().center_mass if self.is_watertight else self.to_trimesh().centroid,
                              dtype=np.float32)
        raise HoFitError(f"unknown centre mode {mode!r}; expected 'bbox' or 'centroid'")

    def centered(self, mode: str = "bbox") -> "ObjectTemplate":
        """A copy translated so that `center` (mode "bbox" or "centroid") is the origin.

        The new frame is the old one shifted: x_new = x_old - center(mode). An object pose (R, t) for the
        old frame becomes (R, t + R @ center) for the new one.
        """
        shift = self.center(mode).astype(np.float32)
        return replace(self, vertices=self.vertices - shift[None])

    def decimated(self, max_faces: int) -> "ObjectTemplate":
        """A coarser copy with at most ``max_faces`` faces (quadric decimation), in the same frame and units;
        the template itself when it has no more faces. Thin parts can fold during decimation, so the copy may
        not be watertight (``is_watertight`` says); faces it leaves degenerate are removed and counted."""
        where = f"object template {self.name!r}"
        if isinstance(max_faces, bool) or not isinstance(max_faces, (int, np.integer)) or max_faces < 4:
            raise HoFitError(f"{where}: max_faces must be an integer >= 4, got {max_faces!r}")
        if self.num_faces <= max_faces:
            return self
        mesh, dropped = _decimate(self.to_trimesh(), int(max_faces), where)
        return replace(
            self, vertices=np.asarray(mesh.vertices, dtype=np.float32), faces=np.asarray(mesh.faces, dtype=np.int64),
            is_watertight=bool(mesh.is_watertight), num_removed_faces=self.num_removed_faces + dropped,
        )


def load_template(
    path: str | Path,
    scale: float = 1.0,
    max_faces: int | None = None,
    name: str | None = None,
    repair: bool = True,
) -> ObjectTemplate:
    """Load a mesh file as an `ObjectTemplate` (validated and cleaned, see the module docstring).

    Args:
        path: OBJ / PLY / GLB / GLTF / STL / OFF file. Multi-part files (scenes) are merged into one mesh
            with their transforms applied; quads and polygons are triangulated by trimesh.
        scale: factor that turns file units into metres (e.g. 0.001 for millimetres).
        max_faces: decimate to at most this many faces (None keeps all).
        name: template name (default: the file stem, or the folder name for generic stems such as
            "textured_simple_2000").
        repair: fill holes and fix normals when the mesh is not watertight.

    Raises:
        HoFitError: missing, unreadable or unsupported file, or invalid mesh content.
    """
    file = Path(path).expanduser()
    if not file.exists():
        raise HoFitError(f"object mesh file not found: {file}; expected an existing {'/'.join(SUPPORTED_EXTENSIONS)} file")
    if not file.is_file():
        raise HoFitError(f"object mesh path {file} is not a file; expected a {'/'.join(SUPPORTED_EXTENSIONS)} file")
    suffix = file.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise HoFitError(
            f"unsupported object mesh format {suffix or '(no extension)'!r} for {file}; "
            f"expected one of {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    try:
        loaded = trimesh.load(str(file), file_type=suffix[1:], force="mesh", process=False)
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise HoFitError(
            f"could not read object mesh {file} as {suffix[1:].upper()}: {type(exc).__name__}: {exc}; "
            "expected a valid triangle mesh file"
        ) from exc
    if not isinstance(loaded, trimesh.Trimesh):
        raise HoFitError(
            f"object mesh {file} holds no triangle mesh (trimesh returned {type(loaded).__name__}); "
            "expected a file with vertices and faces"
        )
    if name is None:
        name = file.parent.name if _GENERIC_STEMS.match(file.stem) and file.parent.name else file.stem
    return _build_template(
        np.asarray(loaded.vertices), np.asarray(loaded.faces), name=name, source=str(file), scale=scale,
        max_faces=max_faces, repair=repair, where=f"object mesh {file}",
    )


def template_from_arrays(
    vertices: np.ndarray | torch.Tensor,
    faces: np.ndarray | torch.Tensor,
    name: str,
    scale: float = 1.0,
    max_faces: int | None = None,
    source: str = "arrays",
    repair: bool = True,
) -> ObjectTemplate:
    """Build an `ObjectTemplate` from arrays with the same validation as `load_template`.

    Args:
        vertices: (V, 3) positions (times ``scale`` = metres).
        faces: (F, 3) integer triangle indices; (F, 4) quads or other shapes are rejected.
        name: template name.
        scale, max_faces, repair: as in `load_template`.
        source: provenance string stored in the template.
    """
    if torch.is_tensor(vertices):
        vertices = vertices.detach().cpu().numpy()
    if torch.is_tensor(faces):
        faces = faces.detach().cpu().numpy()
    return _build_template(np.asarray(vertices), np.asarray(faces), name=name, source=source, scale=scale,
                           max_faces=max_faces, repair=repair, where=f"object mesh {name!r} ({source})")


def _build_template(
    vertices: np.ndarray, faces: np.ndarray, name: str, source: str, scale: float, max_faces: int | None,
    repair: bool, where: str,
) -> ObjectTemplate:
    _validate_arrays(vertices, faces, where)
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)) or not np.isfinite(scale) or scale <= 0:
        raise HoFitError(f"{where}: scale must be a finite number > 0 (file units to metres), got {scale!r}")
    if max_faces is not None and (isinstance(max_faces, bool) or not isinstance(max_faces, (int, np.integer))
                                  or max_faces < 4):
        raise HoFitError(f"{where}: max_faces must be None or an integer >= 4, got {max_faces!r}")

    mesh = trimesh.Trimesh(vertices.astype(np.float64) * float(scale), faces.astype(np.int64), process=False,
                           validate=False)
    removed = _clean(mesh, where)
    if removed:
        warnings.warn(f"{where}: removed {removed} degenerate or duplicate faces of {len(faces)}", stacklevel=3)
    if max_faces is not None and len(mesh.faces) > max_faces:
        mesh, dropped = _decimate(mesh, int(max_faces), where)
        removed += dropped
    watertight = _make_watertight(mesh, where) if repair else bool(mesh.is_watertight)

    extent = float(np.ptp(mesh.vertices, axis=0).max())
    if extent > _LARGE_EXTENT_M:
        warnings.warn(
            f"{where}: the mesh is {extent:.3g} m across after scale={scale}; templates must be in metres "
            "(pass scale=0.001 for millimetres or 0.01 for centimetres)", stacklevel=3,
        )
    return ObjectTemplate(
        vertices=np.asarray(mesh.vertices, dtype=np.float32), faces=np.asarray(mesh.faces, dtype=np.int64),
        name=name, source=source, scale=float(scale), is_watertight=watertight, num_removed_faces=removed,
    )


def _validate_arrays(vertices: np.ndarray, faces: np.ndarray, where: str) -> None:
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise HoFitError(f"{where}: expected vertices of shape (V, 3), got {vertices.shape}")
    if not (np.issubdtype(vertices.dtype, np.floating) or np.issubdtype(vertices.dtype, np.integer)):
        raise HoFitError(f"{where}: expected numeric vertices, got dtype {vertices.dtype}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        hint = (" (quads: split each (a, b, c, d) into (a, b, c) and (a, c, d), or load the file, which "
                "triangulates)") if faces.ndim == 2 and faces.shape[1] == 4 else ""
        raise HoFitError(f"{where}: expected triangle faces of shape (F, 3), got {faces.shape}{hint}")
    if len(vertices) == 0 or len(faces) == 0:
        raise HoFitError(
            f"{where}: the mesh is empty ({len(vertices)} vertices, {len(faces)} faces); "
            "expected at least one triangle"
        )
    if not np.issubdtype(faces.dtype, np.integer):
        raise HoFitError(f"{where}: expected integer face indices, got dtype {faces.dtype}")
    bad = ~np.isfinite(vertices).all(axis=1)
    if bad.any():
        raise HoFitError(
            f"{where}: {int(bad.sum())} of {len(vertices)} vertices contain NaN or inf (first at vertex "
            f"{int(np.argmax(bad))}); expected finite coordinates"
        )
    lo, hi = int(faces.min()), int(faces.max())
    if lo < 0 or hi >= len(vertices):
        raise HoFitError(
            f"{where}: face indices range over [{lo}, {hi}] but there are {len(vertices)} vertices; "
            f"expected indices in [0, {len(vertices) - 1}]"
        )


def _clean(mesh: trimesh.Trimesh, where: str) -> int:
    """Merge duplicate vertices (ignoring UVs/normals), drop degenerate and duplicate faces; -> #dropped."""
    mesh.merge_vertices(merge_tex=True, merge_norm=True)
    before = len(mesh.faces)
    keep = mesh.nondegenerate_faces() & mesh.unique_faces()
    if not keep.any():
        raise HoFitError(f"{where}: all {before} faces are degenerate (zero area); expected a surface with area")
    if not keep.all():
        mesh.update_faces(keep)
    mesh.remove_unreferenced_vertices()
    return before - len(mesh.faces)


def _decimate(mesh: trimesh.Trimesh, max_faces: int, where: str) -> tuple[trimesh.Trimesh, int]:
    """Quadric decimation to at most ``max_faces``; -> mesh, number of degenerate/duplicate faces it left
    (removed). Thin parts can fold during decimation, so the result may no longer be watertight."""
    try:
        import fast_simplification  # noqa: F401  (trimesh's quadric decimation backend)
    except ImportError as exc:
        raise HoFitError(
            f"{where}: decimation to max_faces={max_faces} needs the 'fast-simplification' package; "
            "install it with `pip install fast-simplification` or set max_faces=None"
        ) from exc
    result = mesh.simplify_quadric_decimation(face_count=max_faces)
    if len(result.faces) > max_faces:  # the backend aims at the target; make sure we never exceed it
        result = result.simplify_quadric_decimation(face_count=max_faces - (len(result.faces) - max_faces))
    result = trimesh.Trimesh(result.vertices, result.faces, process=False)
    dropped = _clean(result, where)
    if dropped:
        warnings.warn(f"{where}: decimation to {max_faces} faces left {dropped} degenerate or duplicate faces, "
                      "removed", stacklevel=4)
    return result, dropped


def _make_watertight(mesh: trimesh.Trimesh, where: str) -> bool:
    """Fill holes if needed and orient faces consistently outward; -> watertight after repair."""
    if not mesh.is_watertight:
        before = len(mesh.faces)
        trimesh.repair.fill_holes(mesh)
        if mesh.is_watertight:
            warnings.warn(f"{where}: the mesh was not watertight; filled its holes with {len(mesh.faces) - before} "
                          "faces", stacklevel=4)
        else:
            warnings.warn(
                f"{where}: the mesh is not watertight and hole filling did not close it; inside tests and SDF "
                "signs use the generalized winding number", stacklevel=4,
            )
    trimesh.repair.fix_normals(mesh, multibody=True)
    return bool(mesh.is_watertight)
