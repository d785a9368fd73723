"""Physical plausibility of a hand-object reconstruction: penetration, intersection volume, contact.

Inputs are camera-frame (or any common frame) vertices in metres. The object mesh should be closed
(watertight) for inside tests; inside = generalized winding number > 0.5 (robust to small holes). Depth
and distances use the exact point-to-triangle distance of `hoFit.models.objects.distance`.

Definitions (as in the HOMan evaluation):
* penetration depth of a frame: the largest distance to the object surface among hand vertices inside
  the object, 0 when none is inside (metres; reported in mm);
* intersection volume: volume inside both the (closed) hand mesh and the object mesh, estimated by
  counting the centres of a regular grid of ``voxel_size`` cells over the intersection of the two bounding
  boxes (m^3; reported in cm^3);
* contact: a frame is in contact when some hand vertex is within ``threshold`` (2 mm) of the object
  surface or inside it; the contact ratio is the fraction of such frames. The hand surface is represented
  by its vertices.
"""

from __future__ import annotations

import torch

from hoFit.eval._common import as_tensor
from hoFit.eval.types import Metrics
from hoFit.models.objects.distance import point_mesh_distance, winding_number

__all__ = [
    "penetration_depths",
    "max_penetration_depth",
    "intersection_volume",
    "contact_frames",
    "contact_ratio",
    "plausibility_metrics",
]

# Number of grid points tested against the meshes at once by `intersection_volume`.
_GRID_CHUNK = 8192


def _frames(hand_vertices, obj_vertices, obj_faces):
    h = as_tensor(hand_vertices, "hand_vertices", (None, 3))
    if h.dim() == 2:
        h = h[None]
    if h.dim() != 3:
        raise ValueError(f"hand_vertices: expected (T, V, 3) or (V, 3), got {tuple(h.shape)}")
    o = as_tensor(obj_vertices, "obj_vertices", (None, 3)).to(h)
    if o.dim() == 2:
        o = o[None].expand(h.shape[0], -1, -1)
    if o.dim() != 3 or o.shape[0] != h.shape[0]:
        raise ValueError(f"obj_vertices: expected ({h.shape[0]}, V, 3) or (V, 3), got {tuple(o.shape)}")
    f = _faces(obj_faces, "obj_faces", o.shape[1])
    return h, o, f


def _faces(faces, name: str, num_vertices: int) -> torch.Tensor:
    f = faces if isinstance(faces, torch.Tensor) else torch.as_tensor(faces)
    if f.dim() != 2 or f.shape[-1] != 3 or f.dtype.is_floating_point:
        raise ValueError(f"{name}: expected an integer (F, 3) triangle array, got {f.dtype} {tuple(f.shape)}")
    return f.long()


def penetration_depths(hand_vertices, obj_vertices, obj_faces):
    """Per-vertex penetration of the hand into the object.

    Args:
        hand_vertices: (T, Vh, 3) metres.
        obj_vertices: (T, Vo, 3) or (Vo, 3) metres, same frame.
        obj_faces: (F, 3) integer triangles of a closed object mesh.

    Returns:
        ``(depth (T, Vh), distance (T, Vh))``: depth = distance to the surface for vertices inside the
        object and 0 outside; distance = unsigned distance to the surface (metres).
    """
    h, o, f = _frames(hand_vertices, obj_vertices, obj_faces)
    with torch.no_grad():
        dist = point_mesh_distance(h, o, f)
        inside = winding_number(h, o, f) > 0.5
    return torch.where(inside, dist, torch.zeros_like(dist)), dist


def max_penetration_depth(hand_vertices, obj_vertices, obj_faces) -> torch.Tensor:
    """Deepest hand vertex inside the object per frame, (T,) metres (0 without penetration).
    Shapes as in :func:`penetration_depths`."""
    depth, _ = penetration_depths(hand_vertices, obj_vertices, obj_faces)
    return depth.max(dim=-1).values


def contact_frames(hand_vertices, obj_vertices, obj_faces, threshold: float = 0.002) -> torch.Tensor:
    """(T,) bool: some hand vertex is inside the object or within ``threshold`` metres of its surface."""
    depth, dist = penetration_depths(hand_vertices, obj_vertices, obj_faces)
    return ((dist <= threshold) | (depth > 0)).any(dim=-1)


def contact_ratio(hand_vertices, obj_vertices, obj_faces, threshold: float = 0.002) -> float:
    """Fraction of frames in contact (see :func:`contact_frames`), in [0, 1]."""
    return float(contact_frames(hand_vertices, obj_vertices, obj_faces, threshold).double().mean())


def intersection_volume(hand_vertices, hand_faces, obj_vertices, obj_faces, voxel_size: float = 0.002) -> torch.Tensor:
    """Volume inside both the hand mesh and the object mesh, per frame.

    Args:
        hand_vertices: (T, Vh, 3) metres.
        hand_faces: (Fh, 3) triangles of the *closed* hand mesh (e.g. ``HandLayer.closed_faces``).
        obj_vertices: (T, Vo, 3) or (Vo, 3) metres.
        obj_faces: (Fo, 3) triangles of the closed object mesh.
        voxel_size: grid spacing in metres (default 2 mm; the estimate's error shrinks with it).

    Returns:
        (T,) volumes in m^3 (multiply by 1e6 for cm^3).
    """
    if not voxel_size > 0:
        raise ValueError(f"voxel_size: expected > 0 metres, got {voxel_size}")
    h, o, fo = _frames(hand_vertices, obj_vertices, obj_faces)
    fh = _faces(hand_faces, "hand_faces", h.shape[1])
    volumes = []
    for t in range(h.shape[0]):
        lo = torch.maximum(h[t].min(0).values, o[t].min(0).values)
        hi = torch.minimum(h[t].max(0).values, o[t].max(0).values)
        if bool((hi <= lo).any()):
            volumes.append(h.new_zeros(()))
            continue
        counts = torch.ceil((hi - lo) / voxel_size).long().clamp(min=1)
        axes = [lo[i] + (torch.arange(int(counts[i]), dtype=h.dtype, device=h.device) + 0.5) * voxel_size
                for i in range(3)]
        grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
        grid = grid[(grid <= hi).all(-1)]
        inside = 0
        with torch.no_grad():
            for start in range(0, grid.shape[0], _GRID_CHUNK):
                pts = grid[start:start + _GRID_CHUNK]
                pts = pts[winding_number(pts, o[t], fo) > 0.5]
                if pts.shape[0]:
                    inside += int((winding_number(pts, h[t], fh) > 0.5).sum())
        volumes.append(h.new_tensor(inside * voxel_size ** 3))
    return torch.stack(volumes)


def plausibility_metrics(hand_vertices, obj_vertices, obj_faces, hand_faces=None, contact_threshold: float = 0.002,
                         voxel_size: float = 0.002) -> Metrics:
    """Plausibility metrics of one clip, averaged over frames.

    Returns:
        Metrics ``penetration_depth`` (mean over frames of the per-frame maximum, mm),
        ``max_penetration_depth`` (worst frame, mm), ``contact_ratio`` (fraction of frames in contact) and,
        when ``hand_faces`` (closed hand mesh) is given, ``intersection_volume`` (mean over frames, cm^3).
    """
    depth, dist = penetration_depths(hand_vertices, obj_vertices, obj_faces)
    per_frame = depth.max(-1).values
    contact = ((dist <= contact_threshold) | (depth > 0)).any(-1)
    out = Metrics()
    out.add("penetration_depth", 1000 * per_frame.mean(), "mm",
            description="deepest hand vertex inside the object, mean over frames")
    out.add("max_penetration_depth", 1000 * per_frame.max(), "mm",
            description="deepest hand vertex inside the object, worst frame")
    out.add("contact_ratio", contact.double().mean(), "", True,
            description=f"fraction of frames with the hand within {1000 * contact_threshold:g} mm of the object")
    if hand_faces is not None:
        vol = intersection_volume(hand_vertices, hand_faces, obj_vertices, obj_faces, voxel_size)
        out.add("intersection_volume", 1e6 * vol.mean(), "cm^3", description="hand-object intersection volume")
    return out
