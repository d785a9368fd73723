"""Signed-distance grids of object templates (object frame, metres), cached on disk.

Convention: signed distance is NEGATIVE inside the object and positive outside (the opposite of
``trimesh.proximity.signed_distance``).

Grid layout: a cube of ``resolution`` samples per axis covering the template's bounding box plus
``padding`` metres on every side (isotropic voxels). ``values[i, j, k]`` is the signed distance at
``origin + voxel_size * (i, j, k)`` (i along x, j along y, k along z).

Building a grid: exact unsigned distances to the triangles (blocks of voxels only test the faces that can
be nearest to them), and the sign from the generalized winding number (inside where w > 0.5), evaluated in
a narrow band around the surface and once per connected region of the remaining voxels (all voxels of a
region where sampled winding numbers disagree, as can happen for meshes with holes).

Cache: ``<cache_dir>/sdf_<sha256>_r<R>_p<padding in micrometres>um_v<version>.npz``, where the hash is
`ObjectTemplate.content_hash`. The default cache directory is ``$HOFIT_CACHE_DIR/sdf`` or
``~/.cache/hofit/sdf``.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from hoFit.errors import HoFitError

from .distance import _triangle_sq_distance, winding_number
from .template import ObjectTemplate

__all__ = ["SDFGrid", "sdf_grid", "compute_sdf_grid", "default_cache_dir", "sdf_cache_path"]

_CACHE_VERSION = 1
_BLOCK = 8  # voxels per block edge for face culling
_SAMPLES_PER_REGION = 24


@dataclass
class SDFGrid:
    """A signed-distance grid in the object frame.

    Attributes:
        values: (R, R, R) signed distances in metres, negative inside; ``values[i, j, k]`` lies at
            ``origin + voxel_size * (i, j, k)``.
        origin: (3,) position of sample (0, 0, 0) in the object frame, metres.
        voxel_size: spacing of the samples, metres.
        mesh_hash: `ObjectTemplate.content_hash` of the mesh it was built from ("" if unknown).
    """

    values: torch.Tensor
    origin: torch.Tensor
    voxel_size: float
    mesh_hash: str = ""

    def __post_init__(self) -> None:
        if not torch.is_tensor(self.values) or self.values.ndim != 3 or len(set(self.values.shape)) != 1:
            raise ValueError(f"expected SDF values of shape (R, R, R), got {tuple(getattr(self.values, 'shape', ()))}")
        if self.values.shape[0] < 2:
            raise ValueError(f"expected a grid resolution of at least 2, got {self.values.shape[0]}")
        origin = torch.as_tensor(self.origin)
        if origin.shape != (3,):
            raise ValueError(f"expected origin of shape (3,), got {tuple(origin.shape)}")
        self.origin = origin.to(self.values)
        if not (np.isfinite(self.voxel_size) and self.voxel_size > 0):
            raise ValueError(f"expected a positive voxel_size in metres, got {self.voxel_size}")
        self.voxel_size = float(self.voxel_size)

    @property
    def resolution(self) -> int:
        return int(self.values.shape[0])

    @property
    def bounds(self) -> torch.Tensor:
        """(2, 3) lower and upper corner of the sampled box (object frame, metres)."""
        return torch.stack([self.origin, self.origin + self.voxel_size * (self.resolution - 1)])

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "SDFGrid":
        """A copy on another device / dtype."""
        return SDFGrid(self.values.to(device=device, dtype=dtype), self.origin.to(device=device, dtype=dtype),
                       self.voxel_size, self.mesh_hash)

    def query(self, points: torch.Tensor) -> torch.Tensor:
        """Signed distance at points by trilinear interpolation; differentiable w.r.t. ``points``.

        Args:
            points: (..., 3) points in the object frame, metres (any float dtype / device).

        Returns:
            (...,) signed distances in metres, negative inside. Outside the sampled box the value is the
            boundary value at the nearest box point plus the distance to the box (positive and growing).
        """
        if not torch.is_tensor(points) or points.shape[-1:] != (3,) or not points.dtype.is_floating_point:
            raise ValueError(
                f"expected floating points of shape (..., 3) in the object frame, got "
                f"{tuple(getattr(points, 'shape', ()))} {getattr(points, 'dtype', type(points).__name__)}"
            )
        values = self.values.to(device=points.device, dtype=points.dtype)
        lo = self.origin.to(device=points.device, dtype=points.dtype)
        extent = self.voxel_size * (self.resolution - 1)
        flat = points.reshape(-1, 3)
        clamped = torch.minimum(torch.maximum(flat, lo), lo + extent)
        outside = torch.linalg.vector_norm(flat - clamped, dim=-1)
        grid = ((clamped - lo) * (2.0 / extent) - 1.0).reshape(1, -1, 1, 1, 3)
        volume = values.permute(2, 1, 0)[None, None]  # (1, 1, z, y, x): grid_sample's (D, H, W)
        inside = F.grid_sample(volume, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return (inside.reshape(-1) + outside).reshape(points.shape[:-1])

    def gradient(self, points: torch.Tensor) -> torch.Tensor:
        """Spatial gradient of `query` at points (..., 3) -> (..., 3) (points outward; not normalized)."""
        with torch.enable_grad():
            p = points.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.query(p).sum(), p)
        return grad


def default_cache_dir() -> Path:
    """``$HOFIT_CACHE_DIR/sdf`` if the variable is set, else ``~/.cache/hofit/sdf``."""
    root = os.environ.get("HOFIT_CACHE_DIR")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "hofit") / "sdf"


def sdf_cache_path(template: ObjectTemplate, resolution: int, padding: float, cache_dir: str | Path | None = None) -> Path:
    """Cache file of a template's grid (keyed by content hash, resolution and padding)."""
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    microns = int(round(padding * 1e6))
    return folder / f"sdf_{template.content_hash()}_r{resolution}_p{microns}um_v{_CACHE_VERSION}.npz"


def sdf_grid(
    template: ObjectTemplate,
    resolution: int = 64,
    padding: float = 0.02,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> SDFGrid:
    """The signed-distance grid of a template, loaded from the disk cache or computed and stored there.

    Args:
        template: the object template (object frame, metres).
        resolution: samples per axis (the grid is a cube with isotropic voxels).
        padding: margin around the bounding box, metres.
        cache_dir: folder of cached grids (default `default_cache_dir`).
        use_cache: False computes the grid without reading or writing the cache.

    Returns:
        An `SDFGrid` (float32, CPU).
    """
    _check_grid_args(resolution, padding)
    path = sdf_cache_path(template, resolution, padding, cache_dir) if use_cache else None
    if path is not None and path.is_file():
        grid = _load_cached(path, template.content_hash(), resolution)
        if grid is not None:
            return grid
    grid = compute_sdf_grid(template, resolution=resolution, padding=padding)
    if path is not None:
        _save_cached(path, grid, padding)
    return grid


def compute_sdf_grid(template: ObjectTemplate, resolution: int = 64, padding: float = 0.02) -> SDFGrid:
    """Compute a template's signed-distance grid (no cache). See the module docstring for the layout."""
    _check_grid_args(resolution, padding)
    vertices = torch.as_tensor(template.vertices, dtype=torch.float64)
    faces = torch.as_tensor(template.faces, dtype=torch.long)
    lo, hi = vertices.min(0).values, vertices.max(0).values
    side = float((hi - lo).max()) + 2.0 * padding
    if side <= 0:
        raise HoFitError(f"cannot build an SDF grid for template {template.name!r}: its bounding box is a point; "
                         "use padding > 0 or a mesh with extent")
    voxel = side / (resolution - 1)
    origin = (lo + hi) / 2 - side / 2
    axis = torch.arange(resolution, dtype=torch.float64) * voxel
    points = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1) + origin  # (R, R, R, 3)

    unsigned = _grid_unsigned_distance(points.float(), vertices.float(), faces, voxel)
    inside = _grid_inside(points, unsigned, vertices, faces, voxel)
    values = torch.where(inside, -unsigned, unsigned)
    return SDFGrid(values=values.float(), origin=origin.float(), voxel_size=voxel, mesh_hash=template.content_hash())


def _check_grid_args(resolution: int, padding: float) -> None:
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
        raise HoFitError(f"SDF resolution must be an integer >= 2 (samples per axis), got {resolution!r}")
    if not (isinstance(padding, (int, float, np.floating)) and np.isfinite(padding) and padding >= 0):
        raise HoFitError(f"SDF padding must be a finite number of metres >= 0, got {padding!r}")


def _grid_unsigned_distance(points: torch.Tensor, vertices: torch.Tensor, faces: torch.Tensor, voxel: float) -> torch.Tensor:
    """Exact distance from every grid point (R, R, R, 3) to the triangles, with per-block face culling.

    For a block of voxels, the distance to any point of the block is at most U = min over vertices of the
    distance to the vertex's farthest block corner; a face can be nearest only if the gap between its
    bounding box and the block's box is <= U.
    """
    res = points.shape[0]
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]  # (F, 3)
    f_lo = torch.minimum(torch.minimum(a, b), c)
    f_hi = torch.maximum(torch.maximum(a, b), c)
    starts = list(range(0, res, _BLOCK))
    block_lo, block_hi, slices = [], [], []
    for i in starts:
        for j in starts:
            for k in starts:
                sl = (slice(i, min(i + _BLOCK, res)), slice(j, min(j + _BLOCK, res)), slice(k, min(k + _BLOCK, res)))
                slices.append(sl)
                block_lo.append(points[sl[0].start, sl[1].start, sl[2].start])
                block_hi.append(points[sl[0].stop - 1, sl[1].stop - 1, sl[2].stop - 1])
    blo, bhi = torch.stack(block_lo), torch.stack(block_hi)  # (NB, 3)
    far = torch.maximum((vertices[None] - blo[:, None]).abs(), (vertices[None] - bhi[:, None]).abs())
    upper = torch.linalg.vector_norm(far, dim=-1).min(1).values  # (NB,)
    gap = torch.clamp(torch.maximum(f_lo[None] - bhi[:, None], blo[:, None] - f_hi[None]), min=0.0)
    lower = torch.linalg.vector_norm(gap, dim=-1)  # (NB, F)
    candidates = lower <= (upper[:, None] + 1e-6 * voxel)

    out = torch.empty(points.shape[:3], dtype=points.dtype)
    for blk, sl in enumerate(slices):
        ids = candidates[blk].nonzero().squeeze(1)
        p = points[sl].reshape(-1, 1, 3)
        d2 = _triangle_sq_distance(p, a[ids][None], b[ids][None], c[ids][None]).min(-1).values
        out[sl] = d2.sqrt().reshape(out[sl].shape)
    return out


def _grid_inside(
    points: torch.Tensor, unsigned: torch.Tensor, vertices: torch.Tensor, faces: torch.Tensor, voxel: float
) -> torch.Tensor:
    """Inside flags (R, R, R) from the winding number, evaluated sparsely (see the module docstring).

    Voxels farther than one voxel from the surface split into 6-connected regions that the surface cannot
    cross (crossing between two neighbours would put one of them within half a voxel of the surface).
    """
    shape = unsigned.shape
    flat_points = points.reshape(-1, 3)
    inside = torch.zeros(unsigned.numel(), dtype=torch.bool)
    band = (unsigned <= voxel).reshape(-1)
    band_ids = band.nonzero().squeeze(1)
    if band_ids.numel():
        inside[band_ids] = winding_number(flat_points[band_ids], vertices, faces) > 0.5
    labels, count = ndimage.label((~band).reshape(shape).numpy())
    labels = torch.from_numpy(labels.reshape(-1))
    generator = torch.Generator().manual_seed(0)
    order = torch.argsort(labels)
    sorted_labels = labels[order]
    bounds = torch.searchsorted(sorted_labels, torch.arange(1, count + 2))
    for region in range(count):
        members = order[bounds[region] : bounds[region + 1]]
        pick = members[torch.randperm(members.numel(), generator=generator)[:_SAMPLES_PER_REGION]]
        w = winding_number(flat_points[pick], vertices, faces) > 0.5
        if bool(w.all()) or not bool(w.any()):
            inside[members] = bool(w[0])
        else:  # the region leaks through a hole: decide every voxel
            inside[members] = winding_number(flat_points[members], vertices, faces) > 0.5
    return inside.reshape(shape)


def _load_cached(path: Path, mesh_hash: str, resolution: int) -> SDFGrid | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            values = data["values"]
            stored_hash = str(data["mesh_hash"])
            origin, voxel = data["origin"], float(data["voxel_size"])
    except Exception as exc:  # a truncated or foreign file: recompute and overwrite
        warnings.warn(f"ignoring unreadable SDF cache file {path} ({type(exc).__name__}: {exc}); recomputing",
                      stacklevel=3)
        return None
    if stored_hash != mesh_hash or values.shape != (resolution,) * 3 or not np.isfinite(values).all():
        warnings.warn(f"ignoring SDF cache file {path}: it does not match the mesh or resolution; recomputing",
                      stacklevel=3)
        return None
    return SDFGrid(torch.from_numpy(values.astype(np.float32)), torch.from_numpy(origin.astype(np.float32)),
                   voxel, stored_hash)


def _save_cached(path: Path, grid: SDFGrid, padding: float) -> None:
    """Write atomically (temporary file + rename) so concurrent readers never see a partial file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp.npz", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, values=grid.values.cpu().numpy(), origin=grid.origin.cpu().numpy(),
                     voxel_size=np.float64(grid.voxel_size), padding=np.float64(padding),
                     mesh_hash=np.str_(grid.mesh_hash), version=np.int64(_CACHE_VERSION))
        os.replace(tmp, path)
    except OSError as exc:
        warnings.warn(f"could not write the SDF cache file {path} ({exc}); the grid is used uncached", stacklevel=3)
