"""Checks of a hand model's skinning quality: segment volumes under flexion and knuckle self-intersection.

Used by the tests and by the OpenHand build report; pure numpy on a posed mesh.
"""

from __future__ import annotations

import numpy as np
import torch

from hoFit.models.hand import anatomy
from hoFit.models.hand.layer import HandLayer
from hoFit.models.hand.mesh import winding_numbers

__all__ = ["FlexionReport", "flexion_report", "hand_measurements"]


class FlexionReport(dict):
    """Keys: ``volume_ratio`` (3,) posed/rest volume per segment (proximal, middle, distal),
    ``max_vertex_winding`` (largest winding number of the finger's vertices: 1/2 on a clean surface,
    >= 1 where a vertex has passed through another part of the surface), ``min_area_ratio`` (smallest posed/rest face area on
    the finger), ``flipped_faces`` (finger faces whose normal turned by more than 120 degrees relative to
    their owning segment's rotation)."""


def _segment_points(start: np.ndarray, end: np.ndarray, radius: float, step: float) -> np.ndarray:
    axis = end - start
    length = np.linalg.norm(axis)
    axis = axis / length
    helper = np.array([0.0, 1.0, 0.0]) if abs(axis[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    w = np.cross(axis, u)
    s = np.arange(-radius, length + radius, step) + step / 2
    r = np.arange(-radius, radius, step) + step / 2
    S, U, W = np.meshgrid(s, r, r, indexing="ij")
    keep = U**2 + W**2 <= radius**2
    return start + S[keep, None] * axis + U[keep, None] * u + W[keep, None] * w


def flexion_report(
    layer: HandLayer, finger: str, level: int, angle_deg: float = 90.0, step: float = 0.002
) -> FlexionReport:
    """Flex joint ``level`` (0 MCP, 1 PIP, 2 DIP) of ``finger`` by ``angle_deg`` (flat hand otherwise) and
    compare the finger's three segments with the rest pose.

    A segment's volume is the mesh interior in a cylinder around the segment, between the planes that
    bisect the joint angles at its two ends, counting only points nearer to this segment's axis than to
    any other finger's; the same is measured at rest.
    """
    dtype = torch.float64
    layer = layer.to(dtype)
    ids = anatomy.FINGER_JOINTS[finger]
    angles = np.zeros((15, 3))
    angles[ids[level] - 1, 0] = np.radians(angle_deg)
    pose = anatomy.articulation_from_angles(angles, layer.joint_axes.numpy())
    batch = torch.tensor(np.stack([np.zeros(45), pose]), dtype=dtype)
    mean = layer.hands_mean
    out = layer(torch.zeros(2, 3, dtype=dtype), batch - mean if layer.use_pca is False else None)
    if layer.use_pca:
        raise ValueError("flexion_report needs a layer with use_pca=False")
    faces = layer.closed_faces.numpy()
    verts = out.vertices.detach().numpy()
    keypoints = out.keypoints.detach().numpy()
    transforms = out.joint_transforms.detach().numpy()
    tip_index = {"thumb": 16, "index": 17, "middle": 18, "ring": 19, "pinky": 20}
    chains = {name: list(j) + [tip_index[name]] for name, j in anatomy.FINGER_JOINTS.items()}

    def axes_segments(k: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, str]]:
        segs = []
        for name, chain in chains.items():
            for a, b in zip(chain[:-1], chain[1:]):
                segs.append((k[a], k[b], name))
        return segs

    def dist_to_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ab = b - a
        t = np.clip((p - a) @ ab / (ab @ ab), 0, 1)
        return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)

    radius = 0.0125
    volumes = np.zeros((2, 3))
    chain = chains[finger]
    rest_pts = [_segment_points(keypoints[0, chain[s]], keypoints[0, chain[s + 1]], radius, step) for s in range(3)]
    for pose_index in range(2):
        k = keypoints[pose_index]
        segs = axes_segments(k)
        for s in range(3):
            joint = chain[s]
            pts = rest_pts[s]
            if pose_index == 1:
                t = transforms[1, joint]
                pts = pts @ t[:3, :3].T + t[:3, 3]
            a, b = k[chain[s]], k[chain[s + 1]]
            bone = (b - a) / np.linalg.norm(b - a)
            parent = 0 if s == 0 else chain[s - 1]
            prev = (a - k[parent]) / np.linalg.norm(a - k[parent])
            n0 = bone + prev
            inside_region = (pts - a) @ n0 >= 0
            if s < 2:
                nxt = k[chain[s + 2]] - b
                n1 = bone + nxt / np.linalg.norm(nxt)
                inside_region &= (pts - b) @ n1 <= 0
            own = dist_to_segment(pts, a, b)
            for a2, b2, name in segs:
                if name != finger:
                    inside_region &= own < dist_to_segment(pts, a2, b2)
            for mcp in (1, 4, 7, 10):  # the palm, as the wrist -> knuckle segments
                inside_region &= own < dist_to_segment(pts, k[0], k[mcp])
            pts = pts[inside_region]
            inside = winding_numbers(pts, verts[pose_index], faces) > 0.5
            volumes[pose_index, s] = inside.sum() * step**3
    # Self-intersection: a vertex lies on the surface (winding number 1/2); a vertex pushed through
    # another part of the surface has winding number >= 1.
    owner = np.argmax(layer.lbs_weights.numpy(), axis=1)
    finger_vertices = np.nonzero(np.isin(owner, list(ids)))[0]
    vertex_winding = winding_numbers(verts[1, finger_vertices], verts[1], faces)
    finger_faces = np.nonzero(np.isin(owner[faces], list(ids)).all(axis=1))[0]

    def areas_normals(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tri = v[faces[finger_faces]]
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        return np.linalg.norm(n, axis=1), n

    area0, n0 = areas_normals(verts[0])
    area1, n1 = areas_normals(verts[1])
    rot = transforms[1, owner[faces[finger_faces, 0]], :3, :3]
    expected = np.einsum("frc,fc->fr", rot, n0)
    cos = np.einsum("fi,fi->f", expected, n1) / np.maximum(area0 * area1, 1e-30)
    return FlexionReport(
        volume_ratio=volumes[1] / volumes[0],
        max_vertex_winding=float(vertex_winding.max()),
        min_area_ratio=float((area1 / area0).min()),
        flipped_faces=int((cos < -0.5).sum()),
    )


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
