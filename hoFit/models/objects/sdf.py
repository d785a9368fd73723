"""Signed-distance grids of object templates (object frame, metres), cached on disk.

Convention: signed distance is NEGATIVE inside the object and positive outside (the opposite of
``trimesh.proximity.signed_distance``).

Grid layout: a cube of ``resolution`` samples per axis covering the template's bounding box plus
``padding`` metres on every side (isotropic voxels). ``values[i, j, k]`` is the signed distance at
``origin + voxel_size * (i, j, k)`` (i along x, j along y, k along z).

Building a grid: unsigned distances to the triangles, exact within 1.5 voxels of the surface (each face is
tested against the voxels around it) and propagated outward as closest faces elsewhere (measured against
exact distances on YCB meshes: identical at > 98 % of the voxels, never more than 0.1 voxel too large);
the sign comes from the generalized winding number (inside where w > 0.5), evaluated for every voxel within
0.75 voxel of the surface and once per connected region of the remaining voxels (for all voxels of a
region whose sampled winding numbers disagree, as can happen for meshes with holes).

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
_SEED_VOXELS = 1.5  # faces are tested exactly against voxels within this many voxels of their box
_PAIR_CHUNK = 1 << 20
_BAND_VOXELS = 0.75  # winding numbers are evaluated for every voxel this close to the surface (>= 0.5 needed)
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
    """Compute a template's signed-distance grid (no cache). See the module docstring for the layout.

    Runs with one torch thread (restored afterwards): the build is many mid-sized tensor operations, which
    intra-op threads slow down several-fold on a busy machine.
    """
    _check_grid_args(resolution, padding)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _compute_sdf_grid(template, resolution, padding)
    finally:
        torch.set_num_threads(threads)


def _compute_sdf_grid(template: ObjectTemplate, resolution: int, padding: float) -> SDFGrid:
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

    unsigned, _ = _grid_unsigned_distance(points.float(), vertices.float(), faces, origin.float(), voxel)
    inside = _grid_inside(points.float(), unsigned, vertices.float(), faces, voxel)
    values = torch.where(inside, -unsigned, unsigned)
    return SDFGrid(values=values.float(), origin=origin.float(), voxel_size=voxel, mesh_hash=template.content_hash())


def _check_grid_args(resolution: int, padding: float) -> None:
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
        raise HoFitError(f"SDF resolution must be an integer >= 2 (samples per axis), got {resolution!r}")
    if not (isinstance(padding, (int, float, np.floating)) and np.isfinite(padding) and padding >= 0):
        raise HoFitError(f"SDF padding must be a finite number of metres >= 0, got {padding!r}")


def _grid_unsigned_distance(
    points: torch.Tensor, vertices: torch.Tensor, faces: torch.Tensor, origin: torch.Tensor, voxel: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance from every grid point (R, R, R, 3) to the triangles, and which voxels are exact.

    1. Exact near the surface: every face is tested against the voxels of its bounding box grown by
       ``_SEED_VOXELS``; a voxel within that distance of the surface meets its nearest face there.
    2. Elsewhere, closest-face propagation: each voxel takes the nearest face of its nearest exact voxel
       (Euclidean distance transform), then repeatedly tries the nearest faces of its 6 neighbours until
       nothing improves. Results are true distances to faces (never below the exact value) and match the
       exact distance up to rare float-level differences.

    Returns:
        distances (R, R, R) and a boolean (R, R, R) mask of the voxels computed exactly in step 1.
    """
    res = points.shape[0]
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]  # (F, 3)
    f_lo = torch.minimum(torch.minimum(a, b), c)
    f_hi = torch.maximum(torch.maximum(a, b), c)
    i_lo = torch.floor((f_lo - origin) / voxel - _SEED_VOXELS).long().clamp(0, res - 1)
    i_hi = torch.ceil((f_hi - origin) / voxel + _SEED_VOXELS).long().clamp(0, res - 1)
    dims = i_hi - i_lo + 1  # (F, 3)
    counts = dims.prod(1)
    pair_face = torch.repeat_interleave(torch.arange(len(faces)), counts)
    local = torch.arange(int(counts.sum())) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    d = dims[pair_face]
    ijk = i_lo[pair_face] + torch.stack([local // (d[:, 1] * d[:, 2]), (local // d[:, 2]) % d[:, 1], local % d[:, 2]], 1)
    pair_voxel = (ijk[:, 0] * res + ijk[:, 1]) * res + ijk[:, 2]
    flat_points = points.reshape(-1, 3)
    pair_d2 = torch.cat([
        _triangle_sq_distance(flat_points[pair_voxel[s : s + _PAIR_CHUNK]], a[pair_face[s : s + _PAIR_CHUNK]],
                              b[pair_face[s : s + _PAIR_CHUNK]], c[pair_face[s : s + _PAIR_CHUNK]])
        for s in range(0, len(pair_face), _PAIR_CHUNK)
    ])
    n_vox = res**3
    best_d2 = torch.full((n_vox,), float("inf"), dtype=points.dtype).scatter_reduce(0, pair_voxel, pair_d2, "amin")
    best_face = torch.full((n_vox,), -1, dtype=torch.long)
    winners = pair_d2 <= best_d2[pair_voxel]
    best_face[pair_voxel[winners]] = pair_face[winners]
    exact = best_d2 <= (_SEED_VOXELS * voxel) ** 2

    # Step 2: start from the nearest exact voxel's face.
    shape = (res, res, res)
    _, nearest = ndimage.distance_transform_edt(~exact.reshape(shape).numpy(), return_indices=True)
    nearest = torch.from_numpy(((nearest[0] * res + nearest[1]) * res + nearest[2]).reshape(-1))
    far = (~exact).nonzero().squeeze(1)
    _improve(far, best_face[nearest[far]], flat_points, a, b, c, best_d2, best_face)
    offsets = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]
    active = torch.zeros(n_vox, dtype=torch.bool)
    active[far] = True
    grid_ijk = torch.stack(torch.meshgrid(*(torch.arange(res),) * 3, indexing="ij"), -1).reshape(-1, 3)
    for _ in range(4 * res):  # each pass moves information by one voxel; stops when nothing changes
        ids = (active & ~exact).nonzero().squeeze(1)
        if ids.numel() == 0:
            break
        changed = torch.zeros(n_vox, dtype=torch.bool)
        for off in offsets:
            nb = (grid_ijk[ids] + torch.tensor(off)).clamp(0, res - 1)
            nb_face = best_face[(nb[:, 0] * res + nb[:, 1]) * res + nb[:, 2]]
            changed |= _improve(ids, nb_face, flat_points, a, b, c, best_d2, best_face)
        active = torch.from_numpy(ndimage.binary_dilation(changed.reshape(shape).numpy()).reshape(-1))
    return best_d2.sqrt().reshape(shape), exact.reshape(shape)


def _improve(
    ids: torch.Tensor, cand: torch.Tensor, points: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor,
    best_d2: torch.Tensor, best_face: torch.Tensor,
) -> torch.Tensor:
    """Try face ``cand[n]`` for voxel ``ids[n]``; keep it where nearer. -> (R^3,) mask of improved voxels."""
    changed = torch.zeros(best_d2.shape, dtype=torch.bool)
    ok = cand >= 0
    ids, cand = ids[ok], cand[ok]
    for s in range(0, len(ids), _PAIR_CHUNK):
        i, f = ids[s : s + _PAIR_CHUNK], cand[s : s + _PAIR_CHUNK]
        d2 = _triangle_sq_distance(points[i], a[f], b[f], c[f])
        better = d2 < best_d2[i]
        best_d2[i[better]] = d2[better]
        best_face[i[better]] = f[better]
        changed[i[better]] = True
    return changed


def _grid_inside(
    points: torch.Tensor, unsigned: torch.Tensor, vertices: torch.Tensor, faces: torch.Tensor, voxel: float
) -> torch.Tensor:
    """Inside flags (R, R, R) from the winding number, evaluated sparsely (see the module docstring).

    Voxels farther than 0.75 voxel from the surface split into 6-connected regions that the surface cannot
    cross (crossing between two neighbours would put one of them within half a voxel of the surface).
    """
    shape = unsigned.shape
    flat_points = points.reshape(-1, 3)
    inside = torch.zeros(unsigned.numel(), dtype=torch.bool)
    band = (unsigned <= _BAND_VOXELS * voxel).reshape(-1)
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
