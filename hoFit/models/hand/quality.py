"""Checks of a hand model's skinning quality: segment volumes under flexion and knuckle self-intersection.

Used by the tests and by the OpenHand build report; numpy on posed meshes from a `HandLayer`.

Volume of a finger segment: the mesh interior within a cylinder around the segment's bone, between the
planes that bisect the joint angles at its two ends, counting only points nearer to this bone than to
any other finger's bones or to the palm's wrist-knuckle lines. At rest the region is sampled on a grid;
flexed, the same samples move rigidly with the segment's joint, and the region is evaluated again with the
posed bones. Inside/outside is the exact integer winding number of each sample, counted along lines of
samples parallel to the bone (signed crossings of the closed mesh), so a self-overlapping mesh counts as
it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hoFit.models.hand import anatomy
from hoFit.models.hand.layer import HandLayer
from hoFit.models.hand.mesh import winding_numbers

__all__ = [
    "FlexionReport",
    "flexion_reports",
    "flexion_report",
    "line_winding_numbers",
    "edge_face_crossings",
    "hand_measurements",
]

_TIP_KEYPOINT = {"thumb": 16, "index": 17, "middle": 18, "ring": 19, "pinky": 20}


@dataclass
class FlexionReport:
    """Skinning quality of one finger with one joint flexed (the rest of the hand flat).

    Attributes:
        finger, level: the flexed joint (level 0 MCP / thumb CMC, 1 PIP / thumb MCP, 2 DIP / thumb IP).
        angle_deg: flexion angle about the joint's anatomical flexion axis, degrees.
        volume_ratio: (3,) posed / rest volume of the finger's segments (proximal, middle, distal).
        max_vertex_winding: largest generalized winding number of the vertices that the finger's joints
            influence: the fraction of a small ball around the vertex that lies inside the hand, below 1 on
            a surface without self-intersection, >= 1 where a vertex has passed through another part of
            the surface (e.g. the opposite wall of a knuckle crease).
        edge_face_crossings: mesh edges near the flexed joint that pierce a face they do not touch (0 for a
            surface without self-intersection).
        min_area_ratio: smallest posed / rest face area among the finger's faces (collapsed faces -> 0).
        flipped_faces: finger faces whose normal turned by more than 120 degrees relative to the rotation of
            the joint that owns them.
    """

    finger: str
    level: int
    angle_deg: float
    volume_ratio: np.ndarray
    max_vertex_winding: float
    edge_face_crossings: int
    min_area_ratio: float
    flipped_faces: int


def _intersect(origins: np.ndarray, directions: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Möller-Trumbore for every line x every triangle.

    origins, directions: (L, 3); tri: (F, 3, 3). Returns hit (L, F) bool (barycentric inside, closed),
    t (L, F) line parameter of the hit, sign (L, F) +1 where the line enters through the face's front
    (direction against the outward normal), -1 where it leaves.
    """
    e1 = tri[:, 1] - tri[:, 0]
    e2 = tri[:, 2] - tri[:, 0]
    pvec = np.cross(directions[:, None, :], e2[None])  # (L, F, 3)
    det = np.einsum("fi,lfi->lf", e1, pvec)
    ok = np.abs(det) > 1e-18
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    tvec = origins[:, None, :] - tri[None, :, 0]
    u = np.einsum("lfi,lfi->lf", tvec, pvec) * inv
    qvec = np.cross(tvec, e1[None])
    v = np.einsum("li,lfi->lf", directions, qvec) * inv
    t = np.einsum("fi,lfi->lf", e2, qvec) * inv
    hit = ok & (u >= 0.0) & (v >= 0.0) & (u + v <= 1.0)
    return hit, t, np.sign(det)


def line_winding_numbers(
    origins: np.ndarray, directions: np.ndarray, params: np.ndarray, vertices: np.ndarray, faces: np.ndarray
) -> np.ndarray:
    """Integer winding numbers (L, K) of the points ``origins[l] + params[k] * directions[l]`` w.r.t. a
    closed, outward-oriented mesh (vertices (V, 3), faces (F, 3)): 1 inside, 0 outside, 2 inside two
    overlapping parts. Counted as signed crossings of each line before the point, which is exact for a
    closed mesh (up to lines through an edge or vertex, an event of probability zero)."""
    tri = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    hit, t, sign = _intersect(np.asarray(origins, dtype=np.float64), np.asarray(directions, dtype=np.float64), tri)
    before = t[:, :, None] < np.asarray(params)[None, None, :]  # (L, F, K)
    return np.einsum("lf,lfk->lk", np.where(hit, sign, 0.0), before.astype(np.float64))


def edge_face_crossings(vertices: np.ndarray, faces: np.ndarray, face_ids: np.ndarray) -> int:
    """Number of (edge, face) pairs among the faces ``face_ids`` where the edge pierces the face's interior
    and shares no vertex with it: 0 unless that part of the surface intersects itself."""
    sub = np.asarray(faces)[np.asarray(face_ids)]
    edges = np.unique(np.sort(np.concatenate([sub[:, [0, 1]], sub[:, [1, 2]], sub[:, [2, 0]]]), axis=1), axis=0)
    v = np.asarray(vertices, dtype=np.float64)
    start, end = v[edges[:, 0]], v[edges[:, 1]]
    hit, t, _ = _intersect(start, end - start, v[sub])
    shares = (edges[:, None, :, None] == sub[None, :, None, :]).any(axis=(2, 3))  # (E, F)
    return int((hit & (t > 0.0) & (t < 1.0) & ~shares).sum())


def _disk_lines(start: np.ndarray, end: np.ndarray, radius: float, step: float):
    """Sample lines parallel to the bone start->end: origins (L, 3), direction (3,), params (K,)."""
    axis = end - start
    length = np.linalg.norm(axis)
    axis = axis / length
    helper = np.array([0.0, 1.0, 0.0]) if abs(axis[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    w = np.cross(axis, u)
    r = np.arange(-radius, radius, step) + step / 2
    uu, ww = np.meshgrid(r, r, indexing="ij")
    keep = uu**2 + ww**2 <= radius**2
    origins = start + uu[keep, None] * u + ww[keep, None] * w
    params = np.arange(-radius, length + radius, step) + step / 2
    return origins, axis, params


def _distance_to_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip((p - a) @ ab / (ab @ ab), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[..., None] * ab), axis=-1)


def _region(points: np.ndarray, keypoints: np.ndarray, finger: str, segment: int) -> np.ndarray:
    """Mask (...,) of the points that belong to a finger segment's volume (see the module docstring)."""
    chains = {name: [*joints, _TIP_KEYPOINT[name]] for name, joints in anatomy.FINGER_JOINTS.items()}
    chain = chains[finger]
    k = keypoints
    a, b = k[chain[segment]], k[chain[segment + 1]]
    bone = (b - a) / np.linalg.norm(b - a)
    parent = 0 if segment == 0 else chain[segment - 1]
    previous = (a - k[parent]) / np.linalg.norm(a - k[parent])
    mask = (points - a) @ (bone + previous) >= 0
    if segment < 2:
        following = k[chain[segment + 2]] - b
        mask &= (points - b) @ (bone + following / np.linalg.norm(following)) <= 0
    own = _distance_to_segment(points, a, b)
    for name, other in chains.items():
        if name != finger:
            for c, d in zip(other[:-1], other[1:]):
                mask &= own < _distance_to_segment(points, k[c], k[d])
    for mcp in (1, 4, 7, 10):  # the palm, as the wrist -> knuckle lines
        mask &= own < _distance_to_segment(points, k[0], k[mcp])
    return mask


def _check_layer(layer: HandLayer, finger: str) -> None:
    if finger not in anatomy.FINGER_JOINTS:
        raise ValueError(f"finger: expected one of {sorted(anatomy.FINGER_JOINTS)}, got {finger!r}")
    if layer.use_pca:
        raise ValueError("flexion reports need a layer with use_pca=False (axis-angle articulation)")


def flexion_reports(
    layer: HandLayer,
    finger: str,
    angle_deg: float = 90.0,
    step: float = 0.002,
    levels: tuple[int, ...] = (0, 1, 2),
    radius: float = 0.0125,
) -> list[FlexionReport]:
    """Flex each joint ``levels`` of ``finger`` in turn by ``angle_deg`` about its anatomical flexion axis
    (everything else flat, mean pose not added) and compare the finger with its rest pose.

    Args:
        layer: a hand layer with ``use_pca=False``; it is evaluated in float64.
        finger: "thumb", "index", "middle", "ring" or "pinky".
        angle_deg: flexion angle, degrees.
        step: spacing of the volume samples, metres.
        levels: which joints to flex (0 MCP / thumb CMC, 1 PIP / thumb MCP, 2 DIP / thumb IP).
        radius: radius of the sampling cylinder around each bone, metres (larger than the finger).

    Returns:
        one `FlexionReport` per level.
    """
    _check_layer(layer, finger)
    layer = layer.to(torch.float64)
    ids = anatomy.FINGER_JOINTS[finger]
    axes = layer.joint_axes.numpy()
    poses = [np.zeros(45)]
    for level in levels:
        angles = np.zeros((15, 3))
        angles[ids[level] - 1, 0] = np.radians(angle_deg)
        poses.append(anatomy.articulation_from_angles(angles, axes))
    batch = torch.tensor(np.stack(poses), dtype=torch.float64) - layer.hands_mean
    with torch.no_grad():
        out = layer(torch.zeros(len(poses), 3, dtype=torch.float64), batch)
    faces = layer.closed_faces.numpy()
    verts = out.vertices.numpy()
    keypoints = out.keypoints.numpy()
    transforms = out.joint_transforms.numpy()
    weights = layer.lbs_weights.double().numpy()
    owner = np.argmax(weights, axis=1)
    chain = [*ids, _TIP_KEYPOINT[finger]]
    lines = [_disk_lines(keypoints[0, chain[s]], keypoints[0, chain[s + 1]], radius, step) for s in range(3)]

    def volumes(pose_index: int) -> np.ndarray:
        result = np.zeros(3)
        for s, (origins, direction, params) in enumerate(lines):
            t = transforms[pose_index, chain[s]]
            o, d = origins @ t[:3, :3].T + t[:3, 3], t[:3, :3] @ direction
            points = o[:, None, :] + params[None, :, None] * d
            inside = line_winding_numbers(o, np.broadcast_to(d, o.shape), params, verts[pose_index], faces) > 0.5
            result[s] = (inside & _region(points, keypoints[pose_index], finger, s)).sum() * step**3
        return result

    rest = volumes(0)
    finger_vertices = np.nonzero((weights[:, list(ids)] > 0).any(axis=1))[0]
    finger_faces = np.nonzero(np.isin(owner[faces], list(ids)).all(axis=1))[0]
    tri0 = verts[0][faces[finger_faces]]
    n0 = np.cross(tri0[:, 1] - tri0[:, 0], tri0[:, 2] - tri0[:, 0])
    area0 = np.linalg.norm(n0, axis=1)
    reports = []
    for index, level in enumerate(levels, start=1):
        v = verts[index]
        tri = v[faces[finger_faces]]
        n1 = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        area1 = np.linalg.norm(n1, axis=1)
        expected = np.einsum("frc,fc->fr", transforms[index, owner[faces[finger_faces, 0]], :3, :3], n0)
        cos = np.einsum("fi,fi->f", expected, n1) / np.maximum(area0 * area1, 1e-30)
        joint = keypoints[index, ids[level]]
        near = np.nonzero((np.linalg.norm(v[faces] - joint, axis=2) < 0.035).all(axis=1))[0]
        reports.append(
            FlexionReport(
                finger=finger,
                level=level,
                angle_deg=float(angle_deg),
                volume_ratio=volumes(index) / rest,
                max_vertex_winding=float(winding_numbers(v[finger_vertices], v, faces).max()),
                edge_face_crossings=edge_face_crossings(v, faces, near),
                min_area_ratio=float((area1 / area0).min()),
                flipped_faces=int((cos < -0.5).sum()),
            )
        )
    return reports


def flexion_report(
    layer: HandLayer, finger: str, level: int, angle_deg: float = 90.0, step: float = 0.002
) -> FlexionReport:
    """`flexion_reports` for one joint: flex joint ``level`` of ``finger`` by ``angle_deg``."""
    if level not in (0, 1, 2):
        raise ValueError(f"level: expected 0 (MCP / thumb CMC), 1 or 2, got {level}")
    return flexion_reports(layer, finger, angle_deg, step, levels=(level,))[0]


def hand_measurements(layer: HandLayer) -> dict[str, float]:
    """Rest-pose size of a hand model (metres): ``hand_length`` from the wrist joint to the middle
    fingertip, ``palm_width`` across the palm just proximal to the knuckles (thumb excluded)."""
    out = layer(None, None)
    verts = out.vertices[0].detach().double().numpy()
    keypoints = out.keypoints[0].detach().double().numpy()
    distal = keypoints[4] - keypoints[0]
    distal /= np.linalg.norm(distal)
    radial = keypoints[1] - keypoints[7]
    radial -= distal * (radial @ distal)
    radial /= np.linalg.norm(radial)
    owner = np.argmax(layer.lbs_weights.double().numpy(), axis=1)
    along = (verts - keypoints[0]) @ distal
    level = (keypoints[1] - keypoints[0]) @ distal
    band = (along > level - 0.015) & (along < level - 0.005) & ~np.isin(owner, [13, 14, 15])
    across = verts[band] @ radial
    return {
        "hand_length": float(np.linalg.norm(keypoints[18] - keypoints[0])),
        "palm_width": float(across.max() - across.min()),
    }
