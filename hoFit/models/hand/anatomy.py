"""Anatomical frames, joint limits and palmar contact regions of a MANO-format hand.

All of it is computed from a model's rest pose (joints, fingertips, skinning weights), so that the same
code serves MANO and OpenHand, right and left hands.

Anatomical axes of the 15 finger joints (rows of ``joint_axes`` (15, 3, 3), rest-pose model axes):
    0 flexion:   positive rotation curls the bone towards the palm (the thumb: across the palm),
    1 abduction: positive rotation moves a finger towards the thumb side (the thumb: away from the palm),
    2 twist:     rotation about the bone (for the right hand positive = right-handed about the distal
                 direction; for a left hand all axes are mirrored as axial vectors).
A finger articulation (axis-angle per joint, in rest-pose axes as in MANO) has anatomical angles
``angles[j, k] = joint_axes[j, k] . r_j``; for mirrored models these angles are identical, so one table
of limits serves both hands.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FINGERS",
    "FINGER_JOINTS",
    "TIP_ORDER",
    "JOINT_LIMITS_DEG",
    "palm_frame",
    "joint_axes",
    "joint_limits",
    "anatomical_angles",
    "articulation_from_angles",
    "contact_regions",
    "distal_children",
]

# MANO joint order: wrist; index 1-3; middle 1-3; pinky 1-3; ring 1-3; thumb 1-3.
FINGERS: tuple[str, ...] = ("index", "middle", "pinky", "ring", "thumb")
FINGER_JOINTS: dict[str, tuple[int, int, int]] = {
    "index": (1, 2, 3),
    "middle": (4, 5, 6),
    "pinky": (7, 8, 9),
    "ring": (10, 11, 12),
    "thumb": (13, 14, 15),
}
# Fingertip order of the keypoints (HO-3D): thumb, index, middle, ring, pinky.
TIP_ORDER: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")

# Limits in degrees per joint level: (flexion min, max), (abduction min, max), (twist min, max).
JOINT_LIMITS_DEG: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "mcp": ((-25.0, 95.0), (-22.0, 22.0), (-12.0, 12.0)),
    "pip": ((-8.0, 110.0), (-6.0, 6.0), (-8.0, 8.0)),
    "dip": ((-15.0, 85.0), (-6.0, 6.0), (-8.0, 8.0)),
    "thumb_cmc": ((-35.0, 60.0), (-30.0, 55.0), (-35.0, 45.0)),
    "thumb_mcp": ((-15.0, 65.0), (-12.0, 12.0), (-20.0, 20.0)),
    "thumb_ip": ((-20.0, 85.0), (-6.0, 6.0), (-8.0, 8.0)),
}

# Direction, in degrees from the palm normal towards the ulnar side, in which the thumb flexes.
_THUMB_FLEXION_TILT_DEG = 45.0


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-30)


def palm_frame(joints: np.ndarray, side: str) -> dict[str, np.ndarray]:
    """Unit vectors of the palm from rest-pose joints (16, 3): ``distal`` (wrist -> middle MCP), ``radial``
    (towards the thumb side), ``palmar`` (out of the palm). For a right hand distal x radial = dorsal."""
    sign = 1.0 if side == "right" else -1.0
    distal = _unit(joints[4] - joints[0])
    radial = joints[1] - joints[7]
    radial = _unit(radial - distal * (radial @ distal))
    dorsal = sign * np.cross(distal, radial)
    return {"distal": distal, "radial": radial, "palmar": -dorsal}


def distal_children(joints: np.ndarray, tips: np.ndarray) -> np.ndarray:
    """(15, 3) location of the child of each finger joint: the next joint, or the fingertip (tips (5, 3) in
    HO-3D order thumb, index, middle, ring, pinky) for the last joint of each finger."""
    children = np.zeros((15, 3))
    for finger, (a, b, c) in FINGER_JOINTS.items():
        children[a - 1] = joints[b]
        children[b - 1] = joints[c]
        children[c - 1] = tips[TIP_ORDER.index(finger)]
    return children


def joint_axes(joints: np.ndarray, tips: np.ndarray, side: str) -> np.ndarray:
    """Anatomical axes (15, 3, 3) (rows flexion, abduction, twist) of the finger joints; see module doc."""
    frame = palm_frame(joints, side)
    sign = 1.0 if side == "right" else -1.0
    children = distal_children(joints, tips)
    thumb_dir = _unit(
        np.cos(np.radians(_THUMB_FLEXION_TILT_DEG)) * frame["palmar"]
        - np.sin(np.radians(_THUMB_FLEXION_TILT_DEG)) * frame["radial"]
    )
    axes = np.zeros((15, 3, 3))
    for j in range(15):
        bone = _unit(children[j] - joints[j + 1])
        towards = thumb_dir if j >= 12 else frame["palmar"]
        towards = _unit(towards - bone * (towards @ bone))
        flexion = np.cross(bone, towards)  # rotating `bone` about `flexion` moves it towards `towards`
        abduction = np.cross(bone, flexion)  # rotating `bone` about it moves it towards `flexion`
        axes[j] = np.stack([flexion, sign * abduction, sign * bone])
    return axes


def joint_limits() -> np.ndarray:
    """Anatomical limits (15, 3, 2) in radians, rows flexion / abduction / twist, columns (min, max)."""
    levels = ["mcp", "pip", "dip"] * 4 + ["thumb_cmc", "thumb_mcp", "thumb_ip"]
    return np.radians(np.array([JOINT_LIMITS_DEG[level] for level in levels], dtype=np.float64))


def anatomical_angles(articulation: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Anatomical angles (..., 15, 3) of an articulation (..., 45) axis-angle with axes (15, 3, 3)."""
    r = np.asarray(articulation).reshape(*np.shape(articulation)[:-1], 15, 3)
    return np.einsum("jkc,...jc->...jk", axes, r)


def articulation_from_angles(angles: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Axis-angle articulation (..., 45) whose anatomical angles (..., 15, 3) are ``angles``."""
    # axes rows are orthonormal, so the inverse is the transpose.
    r = np.einsum("jkc,...jk->...jc", axes, np.asarray(angles))
    return r.reshape(*r.shape[:-2], 45)


def contact_regions(
    vertices: np.ndarray,
    normals: np.ndarray,
    weights: np.ndarray,
    joints: np.ndarray,
    tips: np.ndarray,
    side: str,
) -> dict[str, np.ndarray]:
    """Palmar contact regions (vertex ids) of a rest-pose hand.

    Regions: ``<finger>_pad`` (palmar side of the distal segment), ``<finger>_phalanges`` (palmar side of
    the proximal and middle segments) for the five fingers, and ``palm`` (palmar surface of the palm,
    from the wrist crease to the finger bases). A vertex belongs to the segment of its largest skinning
    weight; it is palmar when its outward normal points within ~60 degrees of the segment's flexion
    direction.
    """
    frame = palm_frame(joints, side)
    axes = joint_axes(joints, tips, side)
    sign = 1.0 if side == "right" else -1.0
    owner = np.argmax(weights, axis=1)
    regions: dict[str, np.ndarray] = {}
    for finger, ids in FINGER_JOINTS.items():
        pad_parts, phalanx_parts = [], []
        for level, joint in enumerate(ids):
            if finger == "thumb" and level == 0:
                continue  # the thumb's first joint drives its metacarpal (thenar), part of the palm region
            ax = axes[joint - 1]
            # Direction the segment flexes towards = abduction-free "palmar" of the segment.
            flex_dir = np.cross(ax[0], sign * ax[2])
            facing = normals @ flex_dir
            chosen = np.nonzero((owner == joint) & (facing > 0.3))[0]
            (pad_parts if level == 2 else phalanx_parts).append(chosen)
        regions[f"{finger}_pad"] = np.sort(np.concatenate(pad_parts))
        regions[f"{finger}_phalanges"] = np.sort(np.concatenate(phalanx_parts))
    # Palm: root-owned vertices facing palmar, between the wrist and the finger bases, not on the thumb side
    # beyond the thumb's base.
    rel = vertices - joints[0]
    along = rel @ frame["distal"]
    mcp_along = min((joints[j] - joints[0]) @ frame["distal"] for j in (1, 4, 7, 10))
    palm = (owner == 0) & (normals @ frame["palmar"] > 0.5) & (along > 0.1 * mcp_along) & (along < mcp_along)
    regions["palm"] = np.nonzero(palm)[0]
    return regions
