"""OpenHand: hoFit's own MANO-format hand model, generated deterministically by code (never from MANO data).

Build it with ``python -m hoFit.models.hand.openhand [--out assets/hands/openhand_right.npz]``; the left
hand is the mirror image (`hoFit.models.hand.data.mirror_hand_data`).

How it is made:

1. A skeleton of an adult right hand (MANO's 16 joints and tree, plus 5 fingertips) from published
   proportions: hand length (wrist to middle fingertip) ~18.5 cm, palm breadth ~8.5 cm.
2. A smooth implicit surface around it: tapered capsules per phalanx, a rounded palm slab with
   metacarpal ridges, thenar and hypothenar eminences and a wrist stub, merged by smooth unions.
3. Marching tetrahedra on a 2 mm grid, quadric decimation to ~1,000 vertices, then tangential
   relaxation with re-projection onto the implicit surface: a closed, oriented 2-manifold.
4. Skinning weights from each vertex's distance to the body parts (restricted to its own finger chain
   and the palm), diffused over the mesh; a joint regressor that reproduces the skeleton exactly from
   rings of vertices around each joint; fingertip vertices; palmar contact regions. Pose correctives
   (MANO posedirs) fitted per joint flexion so that the skinned mesh lies on the posed implicit surface,
   evenly spread, without folds, and keeps the rest mesh's volume (see `_pose_targets`).
5. Ten shape directions (size, palm width, finger length, finger thickness, palm length, palm thickness,
   thumb length, index/ring ratio, pinky length, finger taper), each one standard deviation per unit beta.
6. Anatomical joint axes and limits, and a PCA basis of the articulation from generated grasps
   (`hoFit.models.hand.grasps`).

Coordinates of the right hand's rest pose (metres): origin at the wrist joint, +x towards the fingers,
+y out of the back of the hand (dorsal), +z towards the little finger (ulnar); the thumb is on the -z side.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hoFit.models.hand import anatomy
from hoFit.models.hand.data import HandModelData
from hoFit.models.hand.implicit import (
    ellipsoid,
    field_gradient,
    marching_tetrahedra,
    round_box,
    round_cone,
    smooth_min,
)
from hoFit.models.hand.mesh import vertex_normals
from hoFit.models.hand.remesh import isotropic_remesh, target_edge_length

__all__ = [
    "OpenHandSpec",
    "build_openhand",
    "openhand_asset_path",
    "default_asset_path",
    "SHAPE_COMPONENT_NAMES",
    "main",
]

SHAPE_COMPONENT_NAMES: tuple[str, ...] = (
    "size",
    "palm_width",
    "finger_length",
    "finger_thickness",
    "palm_length",
    "palm_thickness",
    "thumb_length",
    "index_ring_ratio",
    "pinky_length",
    "finger_taper",
)

# MANO joint order: wrist; index 1-3; middle 1-3; pinky 1-3; ring 1-3; thumb 1-3.
_FINGER_ORDER = ("index", "middle", "pinky", "ring", "thumb")
_TIP_OF = {"thumb": 0, "index": 1, "middle": 2, "ring": 3, "pinky": 4}


@dataclass(frozen=True)
class OpenHandSpec:
    """Build settings. Defaults produce the shipped asset; changing them changes the model."""

    grid_step: float = 0.0020  # metres, marching-tetrahedra grid
    target_vertices: int = 1050
    remesh_iterations: int = 6
    num_pca_poses: int = 3000
    seed: int = 20240601


# --------------------------------------------------------------------------------------------------
# 1. Skeleton.

_RADIAL = np.array([0.0, 0.0, -1.0])
_DISTAL = np.array([1.0, 0.0, 0.0])
_DORSAL = np.array([0.0, 1.0, 0.0])

# name: MCP position, spread angle towards the thumb (deg), segment lengths (MCP->PIP, PIP->DIP, DIP->tip
# surface), radii at MCP, PIP, DIP and fingertip.
_FINGERS = {
    "index": ((0.0860, 0.0000, -0.0310), 8.0, (0.0410, 0.0250, 0.0215), (0.0101, 0.0090, 0.0081, 0.0073)),
    "middle": ((0.0900, 0.0015, -0.0095), 2.0, (0.0450, 0.0280, 0.0225), (0.0104, 0.0093, 0.0083, 0.0074)),
    "ring": ((0.0850, 0.0005, 0.0115), -5.0, (0.0420, 0.0270, 0.0220), (0.0099, 0.0088, 0.0079, 0.0071)),
    "pinky": ((0.0760, -0.0020, 0.0305), -13.0, (0.0330, 0.0200, 0.0200), (0.0089, 0.0079, 0.0071, 0.0064)),
}
# Thumb: CMC position, metacarpal direction angles (deg, towards the thumb side from +x; palmar tilt),
# segment lengths (CMC->MCP, MCP->IP, IP->tip surface), radii at CMC, MCP, IP, tip.
_THUMB = ((0.0240, -0.0090, -0.0200), 42.0, 22.0, (0.0440, 0.0320, 0.0270), (0.0125, 0.0110, 0.0100, 0.0088))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


@dataclass
class _Skeleton:
    joints: np.ndarray  # (16, 3)
    tips: np.ndarray  # (5, 3) HO-3D tip order
    radii: np.ndarray  # (16, 2) radius at the start and end of the segment a joint drives (0: unused)
    cone_ends: np.ndarray  # (16, 3) end point of each finger segment's capsule axis (0: unused)


def _skeleton() -> _Skeleton:
    joints = np.zeros((16, 3))
    tips = np.zeros((5, 3))
    radii = np.zeros((16, 2))
    ends = np.zeros((16, 3))
    for name, (mcp, spread, lengths, rad) in _FINGERS.items():
        ids = anatomy.FINGER_JOINTS[name]
        angle = np.radians(spread)
        direction = np.cos(angle) * _DISTAL + np.sin(angle) * _RADIAL
        point = np.array(mcp)
        for level, joint in enumerate(ids):
            joints[joint] = point
            point = point + lengths[level] * direction
            radii[joint] = rad[level], rad[level + 1]
            ends[joint] = point if level < 2 else point - rad[3] * direction
        tips[_TIP_OF[name]] = point
    cmc, spread, tilt, lengths, rad = _THUMB
    spread, tilt = np.radians(spread), np.radians(tilt)
    direction = _unit(np.cos(tilt) * (np.cos(spread) * _DISTAL + np.sin(spread) * _RADIAL) - np.sin(tilt) * _DORSAL)
    point = np.array(cmc)
    for level, joint in enumerate(anatomy.FINGER_JOINTS["thumb"]):
        joints[joint] = point
        point = point + lengths[level] * direction
        radii[joint] = rad[level], rad[level + 1]
        ends[joint] = point if level < 2 else point - rad[3] * direction
        direction = _unit(direction + 0.12 * _DISTAL)  # the thumb curves gently towards the fingers
    tips[_TIP_OF["thumb"]] = point
    return _Skeleton(joints, tips, radii, ends)


# --------------------------------------------------------------------------------------------------
# 2. Implicit surface, split into body parts (each part's field is used for skinning weights too).


class _HandField:
    """The hand's smooth implicit field and the fields of its parts (palm, thumb base, finger segments)."""

    def __init__(self, skel: _Skeleton) -> None:
        self.skel = skel
        j = skel.joints
        thumb_axis = _unit(j[14] - j[13])
        thumb_side = _unit(np.cross(thumb_axis, _DORSAL))
        thumb_normal = np.cross(thumb_side, thumb_axis)
        self.thenar = (
            j[13] + 0.42 * (j[14] - j[13]) - 0.0045 * _DORSAL + 0.006 * np.array([0.0, 0.0, 1.0]),
            np.stack([thumb_axis, thumb_normal, thumb_side]),
            np.array([0.0280, 0.0135, 0.0150]),
        )

    def palm(self, p: np.ndarray) -> np.ndarray:
        j = self.skel.joints
        eye = np.eye(3)
        slab = round_box(p, np.array([0.0470, -0.0020, 0.0000]), eye, np.array([0.0290, 0.0062, 0.0270]), 0.0078)
        field = slab
        for finger in ("index", "middle", "ring", "pinky"):
            mcp = j[anatomy.FINGER_JOINTS[finger][0]]
            base = np.array([0.014, mcp[1] - 0.001, 0.55 * mcp[2]])
            cone = round_cone(p, base, mcp, 0.0112, 0.0112)
            field = smooth_min(field, cone, 0.010)
        hypothenar = ellipsoid(p, np.array([0.0420, -0.0055, 0.0270]), eye, np.array([0.0330, 0.0115, 0.0120]))
        field = smooth_min(field, hypothenar, 0.008)
        wrist = round_box(p, np.array([-0.0020, -0.0010, 0.0010]), eye, np.array([0.0140, 0.0085, 0.0185]), 0.0085)
        return smooth_min(field, wrist, 0.014)

    def thumb_base(self, p: np.ndarray) -> np.ndarray:
        j, r = self.skel.joints, self.skel.radii
        cone = round_cone(p, j[13], self.skel.cone_ends[13], r[13, 0], r[13, 1])
        centre, axes, radii = self.thenar
        return smooth_min(cone, ellipsoid(p, centre, axes, radii), 0.008)

    def segment(self, joint: int, p: np.ndarray) -> np.ndarray:
        j, r = self.skel.joints, self.skel.radii
        return round_cone(p, j[joint], self.skel.cone_ends[joint], r[joint, 0], r[joint, 1])

    def part(self, joint: int, p: np.ndarray) -> np.ndarray:
        """(N,) field of the body part that ``joint`` drives (0: palm, 13: thumb metacarpal + thenar)."""
        if joint == 0:
            return self.palm(p)
        if joint == 13:
            return self.thumb_base(p)
        return self.segment(joint, p)

    def parts(self, p: np.ndarray) -> np.ndarray:
        """(N, 16) field of the part each joint drives."""
        return np.stack([self.part(joint, p) for joint in range(16)], axis=1)

    def posed_parts(self, p: np.ndarray, transforms: np.ndarray) -> np.ndarray:
        """(N, 16) part fields with every part moved rigidly by its joint's transform: (16, 4, 4) for all
        points, or (N, 16, 4, 4) per point (to evaluate several poses at once)."""
        out = np.empty((len(p), 16))
        for joint in range(16):
            rot, trans = transforms[..., joint, :3, :3], transforms[..., joint, :3, 3]
            out[:, joint] = self.part(joint, np.einsum("...c,...cr->...r", p - trans, rot))
        return out

    def __call__(self, p: np.ndarray, transforms: np.ndarray | None = None) -> np.ndarray:
        """The hand's field at rest, or posed by per-joint rigid transforms (16, 4, 4) or (N, 16, 4, 4)."""
        parts = self.parts(p) if transforms is None else self.posed_parts(p, transforms)
        field = smooth_min(parts[:, 0], parts[:, 13], 0.010)
        for finger in ("index", "middle", "ring", "pinky", "thumb"):
            a, b, c = anatomy.FINGER_JOINTS[finger]
            chain = np.minimum(parts[:, b], parts[:, c])
            if finger != "thumb":  # the thumb's metacarpal part is already merged with the palm
                chain = np.minimum(chain, parts[:, a])
            field = smooth_min(field, chain, 0.006 if finger != "thumb" else 0.008)
        return field


# --------------------------------------------------------------------------------------------------
# 3. Mesh.


def _mesh(field: _HandField, spec: OpenHandSpec) -> tuple[np.ndarray, np.ndarray]:
    import fast_simplification

    lo = np.array([-0.040, -0.070, -0.115])
    hi = np.array([0.200, 0.032, 0.062])
    step = spec.grid_step
    axes = [np.arange(lo[k], hi[k] + step, step) for k in range(3)]
    values = _grid_values(field, lo, step, tuple(len(a) for a in axes))
    for face_slice in ((0,), (-1,)):
        if (values[face_slice] <= 0).any() or (values[:, face_slice] <= 0).any() or (values[:, :, face_slice] <= 0).any():
            raise RuntimeError("OpenHand field touches the meshing box: enlarge the box")
    vertices, faces = marching_tetrahedra(values, lo, step)
    # Quadric decimation to a few thousand faces, then isotropic remeshing on the implicit surface.
    vertices, faces = fast_simplification.simplify(
        vertices.astype(np.float64), faces.astype(np.int64), target_count=4 * spec.target_vertices
    )
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    length = target_edge_length(vertices, faces, spec.target_vertices)
    return isotropic_remesh(vertices, faces, length, lambda p: _project(field, p), iterations=spec.remesh_iterations)


def _grid_values(field: _HandField, lo: np.ndarray, step: float, shape: tuple[int, int, int]) -> np.ndarray:
    """Field samples on the grid, evaluated exactly only near the surface.

    The field is evaluated on a grid three times coarser and interpolated; nodes whose interpolated
    value lies within a few coarse steps of zero are evaluated exactly (the field is distance-like, so
    far nodes keep the right sign, which is all the extractor needs there)."""
    from scipy.ndimage import map_coordinates

    stride = 3
    coarse_axes = [lo[k] + step * np.arange(0, shape[k] + stride, stride) for k in range(3)]
    coarse_points = np.stack(np.meshgrid(*coarse_axes, indexing="ij"), axis=-1)
    coarse = field(coarse_points.reshape(-1, 3)).reshape(coarse_points.shape[:3])
    index = np.stack(np.meshgrid(*[np.arange(n) / stride for n in shape], indexing="ij"), axis=0)
    values = map_coordinates(coarse, index.reshape(3, -1), order=1).reshape(shape)
    near = np.abs(values) < 2.0 * stride * step
    nodes = np.argwhere(near)
    values[near] = field(lo + step * nodes)
    return values


def _project(field, points: np.ndarray, iterations: int = 3) -> np.ndarray:
    for _ in range(iterations):
        value = field(points)
        grad = field_gradient(field, points)
        points = points - (value / np.maximum(np.einsum("vi,vi->v", grad, grad), 1e-12))[:, None] * grad
    return points


def _neighbour_matrix(faces: np.ndarray, num_vertices: int):
    """Row-normalized vertex adjacency (V, V) as a scipy sparse matrix (uniform Laplacian averaging)."""
    import scipy.sparse as sp

    rows = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2], faces[:, 1], faces[:, 2], faces[:, 0]])
    cols = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0], faces[:, 0], faces[:, 1], faces[:, 2]])
    adjacency = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(num_vertices, num_vertices)).tocsr()
    adjacency.data[:] = 1.0
    degree = np.asarray(adjacency.sum(axis=1)).reshape(-1)
    return sp.diags(1.0 / degree) @ adjacency


# --------------------------------------------------------------------------------------------------
# 4. Skinning weights, joint regressor, fingertips.

_CHAINS = {name: anatomy.FINGER_JOINTS[name] for name in _FINGER_ORDER}


def _skinning_weights(field: _HandField, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    parts = field.parts(vertices)  # (V, 16)
    # Each vertex may only follow the palm and the joints of its own finger chain.
    chain_field = np.stack([parts[:, list(ids)].min(axis=1) for ids in _CHAINS.values()], axis=1)
    chain = np.argmin(chain_field, axis=1)
    allowed = np.zeros_like(parts, dtype=bool)
    allowed[:, 0] = True
    for index, ids in enumerate(_CHAINS.values()):
        allowed[np.ix_(chain == index, list(ids))] = True
    tau = 0.0012
    score = np.where(allowed, parts, np.inf)
    score = score - score.min(axis=1, keepdims=True)
    weights = np.exp(-score / tau)
    weights /= weights.sum(axis=1, keepdims=True)
    neighbours = _neighbour_matrix(faces, len(vertices))
    for _ in range(6):
        weights = 0.5 * weights + 0.5 * (neighbours @ weights)
    # Keep the four largest influences per vertex.
    order = np.argsort(-weights, axis=1, kind="stable")
    weights[np.arange(len(weights))[:, None], order[:, 4:]] = 0.0
    weights[weights < 1e-4] = 0.0
    return weights / weights.sum(axis=1, keepdims=True)


def _joint_regressor(skel: _Skeleton, vertices: np.ndarray) -> np.ndarray:
    """(16, V): each joint as an affine combination of a ring of vertices around it, exact on the template."""
    joints = skel.joints
    children = anatomy.distal_children(joints, skel.tips)
    regressor = np.zeros((16, len(vertices)))
    for j in range(16):
        if j == 0:
            axis, radius = _DISTAL, 0.035
        else:
            axis = _unit(children[j - 1] - joints[j])
            parent = 0 if j in (1, 4, 7, 10, 13) else j - 1
            if parent:
                axis = _unit(axis + _unit(joints[j] - joints[parent]))
            radius = 1.6 * skel.radii[j, 0] if j != 13 else 0.022
        rel = vertices - joints[j]
        along = rel @ axis
        radial = np.linalg.norm(rel - along[:, None] * axis, axis=1)
        band = 0.0035
        chosen = np.nonzero((np.abs(along) < band) & (radial < radius))[0]
        while len(chosen) < 8:
            band *= 1.5
            chosen = np.nonzero((np.abs(along) < band) & (radial < radius))[0]
        points = vertices[chosen]
        w0 = np.full(len(chosen), 1.0 / len(chosen))
        # Minimum-norm correction so that sum w = 1 and sum w v = joint.
        a = np.vstack([points.T, np.ones(len(chosen))])  # (4, n)
        residual = np.concatenate([joints[j], [1.0]]) - a @ w0
        w = w0 + a.T @ np.linalg.solve(a @ a.T, residual)
        regressor[j, chosen] = w
    return regressor


def _fingertip_ids(skel: _Skeleton, vertices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    owner = np.argmax(weights, axis=1)
    ids = np.zeros(5, dtype=np.int64)
    for name in _FINGER_ORDER:
        distal = anatomy.FINGER_JOINTS[name][2]
        direction = _unit(skel.tips[_TIP_OF[name]] - skel.joints[distal])
        candidates = np.nonzero(owner == distal)[0]
        ids[_TIP_OF[name]] = candidates[np.argmax(vertices[candidates] @ direction)]
    return ids


# --------------------------------------------------------------------------------------------------
# 4b. Pose correctives.


def _training_poses(data: HandModelData, seed: int) -> np.ndarray:
    """Articulations (N, 45) for fitting pose correctives: flexion of one joint at a time by 45 and 90
    degrees (correctives of several joints add up, as the pose features are per joint). A flexion about a
    fixed axis spans two pose features (sin and 1 - cos of the angle), so the fit is exact at both angles."""
    singles = []
    for joint in range(15):
        for angle in (45.0, 90.0):
            angles = np.zeros((15, 3))
            angles[joint, 0] = np.radians(angle)
            singles.append(anatomy.articulation_from_angles(angles, data.joint_axes))
    return np.stack(singles)


def _rotate(points: np.ndarray, centre: np.ndarray, axis: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotate points (N, 3) about the line through ``centre`` along the unit ``axis`` by ``angles`` (N,) radians."""
    u = points - centre
    cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]
    return centre + u * cos + np.cross(axis, u) * sin + axis * (u @ axis)[:, None] * (1.0 - cos)


def _volume_gradient(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) derivative of a closed mesh's signed volume with respect to each vertex."""
    tri = vertices[faces]
    grad = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(grad, faces[:, k], np.cross(tri[:, (k + 1) % 3], tri[:, (k + 2) % 3]) / 6.0)
    return grad


def _pose_targets(
    field: _HandField, data: HandModelData, poses: np.ndarray, transforms: np.ndarray, iterations: int = 40
) -> np.ndarray:
    """Where the vertices should be in each single-joint training pose (N, V, 3).

    1. Start: each vertex turns about the flexed joint's axis by its skinning weight's share of the angle
       (a spherical blend, which neither collapses the outside of the bend nor crosses the crease).
    2. The vertices that the flexed joint influences alternately slide tangentially so that their uniform
       Laplacian matches the rest pose's (rotated the same way), and step towards the posed implicit
       surface (at most 1 mm per step, so that no vertex jumps across a crease to the opposite wall).
    3. The chords of a coarse mesh cut into the sharper convex curvature of a bent knuckle, so the mesh
       would lose volume there although its vertices lie on the surface. The vertices move out along the
       surface normal in proportion to how much their Laplacian's normal part grew over the rest pose's,
       by the one factor (Newton on the closed mesh's volume) that gives back the rest mesh's volume;
       vertices of faces that this would turn over (by more than 120 degrees from their joint's
       rotation) stay on the surface.

    poses: (N, 45) articulations with exactly one flexed joint each; transforms: (N, 16, 4, 4) their
    skinning transforms.
    """
    from hoFit.models.hand.mesh import mesh_volume

    num = len(poses)
    rest, faces = data.v_template, data.f
    num_v = len(rest)
    joints = data.J_regressor @ rest
    subtree = np.eye(16, dtype=bool)
    for joint in range(15, 0, -1):
        subtree[data.parents[joint]] |= subtree[joint]
    neighbours = _neighbour_matrix(faces, num_v)
    rest_laplacian = neighbours @ rest - rest
    targets = np.empty((num, num_v, 3))
    expected = np.empty((num, num_v, 3))
    movable = []
    for n in range(num):
        rotvec = poses[n].reshape(15, 3)
        moving = np.nonzero(np.linalg.norm(rotvec, axis=1) > 0)[0]
        if len(moving) != 1:
            raise ValueError(f"training pose {n}: expected one flexed joint, got {len(moving)}")
        joint = int(moving[0]) + 1
        angle = float(np.linalg.norm(rotvec[joint - 1]))
        axis = rotvec[joint - 1] / angle
        share = data.weights[:, subtree[joint]].sum(axis=1) * angle
        targets[n] = _rotate(rest, joints[joint], axis, share)
        expected[n] = _rotate(rest_laplacian, np.zeros(3), axis, share)
        movable.append(np.nonzero(data.weights[:, joint] > 0)[0])
    pose_of = np.concatenate([np.full(len(ids), n) for n, ids in enumerate(movable)])
    vertex_of = np.concatenate(movable)
    point_transforms = transforms[pose_of]  # (M, 16, 4, 4): all poses' movable vertices in one field call
    posed = lambda p: field(p, point_transforms)  # noqa: E731
    eps = 1e-5

    def surface_and_laplacian(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        value = posed(points)
        grad = np.stack([(posed(points + eps * np.eye(3)[k]) - value) / eps for k in range(3)], axis=1)
        norm = np.maximum(np.linalg.norm(grad, axis=1), 1e-12)
        flat = targets.transpose(1, 0, 2).reshape(num_v, -1)
        laplacian = (neighbours @ flat - flat).reshape(num_v, num, 3).transpose(1, 0, 2)
        return value, norm, grad / norm[:, None], (laplacian - expected)[pose_of, vertex_of]

    for _ in range(iterations):
        points = targets[pose_of, vertex_of]
        value, norm, normal, slide = surface_and_laplacian(points)
        slide -= normal * np.einsum("mi,mi->m", slide, normal)[:, None]
        step = -(value / norm)[:, None] * normal
        step *= np.minimum(1.0, 0.001 / np.maximum(np.linalg.norm(step, axis=1, keepdims=True), 1e-12))
        targets[pose_of, vertex_of] = points + 0.5 * slide + step

    # 3. Give back the volume that the chords lose on the outside of the bend.
    _, _, normal, residual = surface_and_laplacian(targets[pose_of, vertex_of])
    growth = np.maximum(-np.einsum("mi,mi->m", residual, normal), 0.0)
    direction = np.zeros_like(targets)
    direction[pose_of, vertex_of] = growth[:, None] * normal
    rest_volume = mesh_volume(rest, faces)
    owner = np.argmax(data.weights, axis=1)[faces[:, 0]]
    rest_normal = np.cross(rest[faces[:, 1]] - rest[faces[:, 0]], rest[faces[:, 2]] - rest[faces[:, 0]])
    rest_normal /= np.linalg.norm(rest_normal, axis=1, keepdims=True)
    for n in range(num):
        for _attempt in range(4):
            scale = 0.0
            for _ in range(3):
                x = targets[n] + scale * direction[n]
                slope = float(np.einsum("vi,vi->", _volume_gradient(x, faces), direction[n]))
                if slope <= 0.0:
                    break
                scale += (rest_volume - mesh_volume(x, faces)) / slope
            x = targets[n] + max(scale, 0.0) * direction[n]
            face_normal = np.cross(x[faces[:, 1]] - x[faces[:, 0]], x[faces[:, 2]] - x[faces[:, 0]])
            turned = np.einsum("fr,fr->f", np.einsum("frc,fc->fr", transforms[n, owner, :3, :3], rest_normal), face_normal)
            flipped = (turned < -0.5 * np.linalg.norm(face_normal, axis=1)) & (owner > 0)
            if not flipped.any():
                break
            direction[n][np.unique(faces[flipped])] = 0.0
        targets[n] = x
    return targets


def _pose_correctives(field: _HandField, data: HandModelData, poses: np.ndarray) -> np.ndarray:
    """Posedirs (V, 3, 135) fitted so that skinning + correctives reaches `_pose_targets`: on the posed
    implicit surface (each part moved rigidly by its joint, then smoothly united as at rest), evenly
    spread, with the rest mesh's volume.

    The offsets from the skinned vertices to the targets, taken back to the rest frame, are regressed per
    vertex on the pose features of the joints that influence the vertex.
    """
    import torch

    from hoFit.geometry.rotations import axis_angle_to_matrix
    from hoFit.models.hand.lbs import pose_features, rigid_transforms, skin_vertices

    dtype = torch.float64
    num = len(poses)
    v = torch.as_tensor(data.v_template, dtype=dtype)
    weights = torch.as_tensor(data.weights, dtype=dtype)
    rots = axis_angle_to_matrix(torch.as_tensor(poses, dtype=dtype).reshape(num, 15, 3))
    rots = torch.cat([torch.eye(3, dtype=dtype).expand(num, 1, 3, 3), rots], dim=1)
    joints = torch.as_tensor(data.J_regressor @ data.v_template, dtype=dtype).expand(num, 16, 3)
    _, transforms = rigid_transforms(rots, joints, data.parents.tolist())
    skinned = skin_vertices(v.expand(num, -1, 3), weights, transforms).numpy()
    features = pose_features(rots).numpy()  # (N, 135)
    blend_rot = torch.einsum("vj,njrc->nvrc", weights, transforms[:, :, :3, :3]).numpy()
    transforms = transforms.numpy()
    targets = _pose_targets(field, data, poses, transforms)
    offsets = np.linalg.solve(blend_rot, (targets - skinned)[..., None])[..., 0]
    num_v = len(v)
    posedirs = np.zeros((num_v, 3, 135))
    influences = data.weights > 0
    for vertex in range(num_v):
        active = [j for j in range(1, 16) if influences[vertex, j]]
        if not active:
            continue
        columns = np.concatenate([np.arange(9 * (j - 1), 9 * j) for j in active])
        x = features[:, columns]
        y = offsets[:, vertex]
        ridge = 1e-4 * np.eye(len(columns))
        coef = np.linalg.solve(x.T @ x + ridge, x.T @ y)  # (k, 3)
        posedirs[vertex][:, columns] = coef.T
    return posedirs


# --------------------------------------------------------------------------------------------------
# 5. Shape directions.


def _segment_frames(skel: _Skeleton) -> tuple[np.ndarray, np.ndarray]:
    children = anatomy.distal_children(skel.joints, skel.tips)
    axes = np.zeros((16, 3))
    lengths = np.zeros(16)
    for j in range(1, 16):
        axes[j] = _unit(children[j - 1] - skel.joints[j])
        lengths[j] = np.linalg.norm(children[j - 1] - skel.joints[j])
    return axes, lengths


def _deform(
    skel: _Skeleton,
    vertices: np.ndarray,
    weights: np.ndarray,
    palm_scale: np.ndarray,
    length_scale: np.ndarray,
    radius_scale: np.ndarray,
    radius_taper: float = 0.0,
) -> np.ndarray:
    """Vertices after a skeletal shape change.

    palm_scale (3,): scale of the palm along x (distal), y (dorsal), z (ulnar) about the wrist.
    length_scale (16,): scale of the segment each joint drives (joint 0 unused).
    radius_scale (16,): scale of the segment's thickness about its axis (joint 0: palm, unused).
    radius_taper: extra relative thickness change per metre along a finger segment.
    """
    joints = skel.joints
    axes, lengths = _segment_frames(skel)
    new_joints = joints.copy()
    for j in range(1, 16):
        parent = 0 if j in (1, 4, 7, 10, 13) else j - 1
        if parent == 0:
            new_joints[j] = joints[j] * palm_scale
        else:
            new_joints[j] = new_joints[parent] + length_scale[parent] * (joints[j] - joints[parent])
    candidates = np.zeros((16,) + vertices.shape)
    candidates[0] = vertices * palm_scale
    for j in range(1, 16):
        rel = vertices - joints[j]
        along = rel @ axes[j]
        radial = rel - along[:, None] * axes[j]
        scale = radius_scale[j] * (1.0 + radius_taper * np.clip(along, 0.0, lengths[j]))
        candidates[j] = new_joints[j] + length_scale[j] * along[:, None] * axes[j] + scale[:, None] * radial
    return np.einsum("vj,jvc->vc", weights, candidates)


def _shape_directions(skel: _Skeleton, vertices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(V, 3, 10) displacements of one standard deviation per component (see SHAPE_COMPONENT_NAMES)."""
    ones3, ones16 = np.ones(3), np.ones(16)

    def lengths_for(fingers: tuple[str, ...], value: float) -> np.ndarray:
        scale = ones16.copy()
        for finger in fingers:
            scale[list(anatomy.FINGER_JOINTS[finger])] = value
        return scale

    four = ("index", "middle", "ring", "pinky")
    finger_joints = [j for j in range(1, 16)]
    thick = ones16.copy()
    thick[finger_joints] = 1.08
    index_ring = lengths_for(("index",), 1.035) * lengths_for(("ring",), 0.965)
    settings = [
        (1.06 * ones3, 1.06 * ones16, 1.06 * ones16, 0.0),  # size
        (np.array([1.0, 1.0, 1.06]), ones16, 1.02 * ones16, 0.0),  # palm width
        (ones3, lengths_for(four, 1.06) * lengths_for(("thumb",), 1.03), ones16, 0.0),  # finger length
        (ones3, ones16, thick, 0.0),  # finger thickness
        (np.array([1.05, 1.0, 1.0]), ones16, ones16, 0.0),  # palm length
        (np.array([1.0, 1.10, 1.0]), ones16, ones16, 0.0),  # palm thickness
        (ones3, lengths_for(("thumb",), 1.07), ones16, 0.0),  # thumb length
        (ones3, index_ring, ones16, 0.0),  # index / ring ratio
        (ones3, lengths_for(("pinky",), 1.07), ones16, 0.0),  # pinky length
        (ones3, ones16, ones16, -2.0),  # finger taper (thinner towards the tips)
    ]
    out = np.zeros(vertices.shape + (len(settings),))
    for k, (palm, length, radius, taper) in enumerate(settings):
        out[:, :, k] = _deform(skel, vertices, weights, palm, length, radius, taper) - vertices
    return out


# --------------------------------------------------------------------------------------------------
# Assembly.


def build_openhand(spec: OpenHandSpec | None = None) -> HandModelData:
    """Generate the right OpenHand model (deterministic for a given spec and library versions)."""
    from hoFit.models.hand.grasps import articulation_pca

    spec = spec or OpenHandSpec()
    skel = _skeleton()
    field = _HandField(skel)
    vertices, faces = _mesh(field, spec)
    weights = _skinning_weights(field, vertices, faces)
    regressor = _joint_regressor(skel, vertices)
    tip_ids = _fingertip_ids(skel, vertices, weights)
    tips = vertices[tip_ids]
    axes = anatomy.joint_axes(skel.joints, tips, "right")
    limits = anatomy.joint_limits()
    shapedirs = _shape_directions(skel, vertices, weights)
    normals = vertex_normals(vertices, faces)
    regions = anatomy.contact_regions(vertices, normals, weights, skel.joints, tips, "right")
    kintree = np.array([[-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14], list(range(16))], dtype=np.int64)
    data = HandModelData(
        v_template=vertices,
        shapedirs=shapedirs,
        posedirs=np.zeros((len(vertices), 3, 135)),
        J_regressor=regressor,
        weights=weights,
        kintree_table=kintree,
        f=faces,
        hands_components=np.zeros((45, 45)),
        hands_mean=np.zeros(45),
        side="right",
        name="openhand_right",
        fingertip_vertex_ids=tip_ids,
        closed_faces=faces.copy(),
        joint_axes=axes,
        joint_limits=limits,
        regions=regions,
        source="hoFit.models.hand.openhand.build_openhand",
    )
    components, mean, _ = articulation_pca(data, num_poses=spec.num_pca_poses, seed=spec.seed)
    data.hands_components = components
    data.hands_mean = mean
    data.posedirs = _pose_correctives(field, data, _training_poses(data, spec.seed))
    return _rounded(data)


def _rounded(data: HandModelData) -> HandModelData:
    """Store floats as float32 values (the asset's precision) so that built and loaded models agree."""
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "hands_components", "hands_mean",
                "joint_axes", "joint_limits"):
        setattr(data, key, np.asarray(getattr(data, key), dtype=np.float32).astype(np.float64))
    return data


def _save_compact(data: HandModelData, path: Path) -> Path:
    from hoFit.utils.files import save_npz

    arrays = data.to_arrays()
    for key, value in arrays.items():
        if value.dtype == np.float64:
            arrays[key] = value.astype(np.float32)
        elif value.dtype == np.int64 and key != "kintree_table":
            arrays[key] = value.astype(np.int32)
    save_npz(path, **arrays)
    os.chmod(path, 0o644)
    return path


def default_asset_path() -> Path:
    """Where the package keeps the asset: ``hoFit/assets/hands/openhand_right.npz`` (see `package_folder`)."""
    from hoFit.utils.resources import package_folder

    return package_folder("assets") / "hands" / "openhand_right.npz"


def _cache_dir() -> Path:
    root = os.environ.get("HOFIT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hofit"
    )
    return Path(root)


def openhand_asset_path() -> Path:
    """The OpenHand file: the repository asset if present, else a copy built once into the user cache
    (``$HOFIT_CACHE_DIR`` or ``~/.cache/hofit``), e.g. for a non-editable install."""
    path = default_asset_path()
    if path.is_file():
        return path
    cached = _cache_dir() / "openhand_right.npz"
    if not cached.is_file():
        _save_compact(build_openhand(), cached)
    return cached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the OpenHand model (right hand) as a MANO-format .npz.")
    parser.add_argument("--out", type=Path, default=default_asset_path(), help="output .npz (default: the repo asset)")
    args = parser.parse_args(argv)
    data = build_openhand()
    _save_compact(data, args.out)
    print(f"wrote {args.out} ({data.num_vertices} vertices, {len(data.f)} faces)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
