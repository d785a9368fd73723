"""Generated hand poses (grasps and gestures) and the PCA basis of the articulation built from them.

Each grasp is a template of anatomical angles (flexion, abduction, twist per joint, degrees); thumb
placements that must touch something (precision pinch, tripod, lateral pinch) are solved by forward
kinematics within the joint limits. Random variations (grasp closure, per-finger and per-joint noise,
clamped to the limits) give a pose set whose principal components span natural grasps.
"""

from __future__ import annotations

import numpy as np
import torch

from hoFit.geometry.rotations import axis_angle_to_matrix
from hoFit.models.hand import anatomy
from hoFit.models.hand.data import HandModelData
from hoFit.models.hand.lbs import rigid_transforms

__all__ = ["GRASP_NAMES", "grasp_angles", "grasp_articulations", "sample_articulations", "articulation_pca", "fingertips_fk"]

GRASP_NAMES: tuple[str, ...] = (
    "flat", "relaxed", "open", "fist", "power", "precision", "tripod", "lateral", "hook", "pointing",
)

# Per finger: (MCP flexion, PIP flexion, DIP flexion, MCP abduction) in degrees (positive abduction = radial).
_FINGER_TEMPLATES: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "flat": {f: (0, 0, 0, 0) for f in ("index", "middle", "ring", "pinky")},
    "relaxed": {"index": (18, 25, 10, 0), "middle": (22, 30, 12, 0), "ring": (27, 35, 14, -2), "pinky": (32, 38, 15, -4)},
    "open": {"index": (-10, 0, 0, 12), "middle": (-10, 0, 0, 3), "ring": (-10, 0, 0, -8), "pinky": (-12, 0, 0, -18)},
    "fist": {"index": (85, 100, 55, 0), "middle": (88, 100, 55, 0), "ring": (88, 100, 55, -3), "pinky": (88, 100, 55, -6)},
    "power": {"index": (45, 60, 30, 2), "middle": (50, 62, 32, 0), "ring": (55, 65, 32, -3), "pinky": (60, 65, 32, -6)},
    "precision": {"index": (35, 40, 15, 0), "middle": (40, 50, 25, 0), "ring": (45, 60, 30, -2), "pinky": (50, 65, 30, -4)},
    "tripod": {"index": (35, 40, 15, -3), "middle": (35, 42, 18, 4), "ring": (55, 70, 35, -2), "pinky": (60, 75, 35, -4)},
    "lateral": {"index": (60, 70, 30, 0), "middle": (75, 90, 45, 0), "ring": (80, 95, 50, -2), "pinky": (80, 95, 50, -4)},
    "hook": {"index": (5, 90, 55, 0), "middle": (5, 90, 55, 0), "ring": (5, 90, 55, -2), "pinky": (5, 90, 55, -4)},
    "pointing": {"index": (0, 0, 0, 0), "middle": (85, 100, 55, 0), "ring": (88, 100, 55, -3), "pinky": (88, 100, 55, -6)},
}
# Thumb: (CMC flexion, CMC abduction, CMC twist, MCP flexion, IP flexion); None = solved to touch a target.
_THUMB_TEMPLATES: dict[str, tuple[float, float, float, float, float] | None] = {
    "flat": (0, 0, 0, 0, 0),
    "relaxed": (10, 10, 8, 10, 10),
    "open": (-25, 30, 0, -5, -5),
    "fist": None,
    "power": (30, 30, 25, 25, 20),
    "precision": None,
    "tripod": None,
    "lateral": None,
    "hook": (0, 15, 0, 0, 0),
    "pointing": None,
}


def _angles_from_template(name: str, thumb: np.ndarray | None = None) -> np.ndarray:
    angles = np.zeros((15, 3))
    for finger, (mcp, pip, dip, abd) in _FINGER_TEMPLATES[name].items():
        a, b, c = anatomy.FINGER_JOINTS[finger]
        angles[a - 1] = (mcp, abd, 0)
        angles[b - 1] = (pip, 0, 0)
        angles[c - 1] = (dip, 0, 0)
    values = thumb if thumb is not None else _THUMB_TEMPLATES[name]
    if values is not None:
        cf, ca, ct, mf, ipf = values
        angles[12] = (cf, ca, ct)
        angles[13] = (mf, 0, 0)
        angles[14] = (ipf, 0, 0)
    return np.radians(angles)


def fingertips_fk(data: HandModelData, articulation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Posed joints (B, 16, 3) and fingertips (B, 5, 3) of the rest-shape model, no global rotation.

    Fingertips are the model's fingertip vertices carried rigidly by the last joint of their finger.
    """
    dtype = articulation.dtype
    joints_rest = torch.as_tensor(data.J_regressor @ data.v_template, dtype=dtype)
    tips_rest = torch.as_tensor(data.v_template[data.fingertip_vertex_ids], dtype=dtype)
    batch = articulation.shape[0]
    rots = axis_angle_to_matrix(articulation.reshape(batch, 15, 3))
    rots = torch.cat([torch.eye(3, dtype=dtype).expand(batch, 1, 3, 3), rots], dim=1)
    joints, transforms = rigid_transforms(rots, joints_rest.expand(batch, 16, 3), data.parents.tolist())
    last = torch.tensor([15, 3, 6, 12, 9])  # distal joint of thumb, index, middle, ring, pinky
    t = transforms[:, last]
    tips = torch.einsum("btrc,tc->btr", t[..., :3, :3], tips_rest) + t[..., :3, 3]
    return joints, tips


def _solve_thumb(data: HandModelData, name: str, steps: int = 150) -> np.ndarray:
    """Thumb angles (5,) in degrees, within the limits, that bring the thumb onto the grasp's target."""
    axes = torch.as_tensor(data.joint_axes, dtype=torch.float64)
    limits = torch.as_tensor(data.joint_limits, dtype=torch.float64)
    base = torch.as_tensor(_angles_from_template(name, thumb=np.zeros(5)), dtype=torch.float64)
    free = [(12, 0), (12, 1), (12, 2), (13, 0), (14, 0)]
    lo = torch.stack([limits[j, k, 0] for j, k in free])
    hi = torch.stack([limits[j, k, 1] for j, k in free])
    u = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([u], lr=0.1)
    radial = torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64)
    for _ in range(steps):
        theta = lo + (hi - lo) * torch.sigmoid(u)
        angles = base.clone()
        for index, (j, k) in enumerate(free):
            angles[j, k] = theta[index]
        pose = torch.einsum("jkc,jk->jc", axes, angles).reshape(1, 45)
        joints, tips = fingertips_fk(data, pose)
        thumb = tips[0, 0]
        if name == "precision":
            gap = torch.linalg.norm(thumb - tips[0, 1]) - 0.008
        elif name == "tripod":
            gap = torch.linalg.norm(thumb - 0.5 * (tips[0, 1] + tips[0, 2])) - 0.008
        elif name == "lateral":
            target = 0.5 * (joints[0, 2] + joints[0, 3]) + 0.011 * radial
            gap = torch.linalg.norm(thumb - target)
        else:  # fist and pointing: thumb tip over the middle phalanx of the middle finger, outside the fist
            target = 0.5 * (joints[0, 5] + joints[0, 6]) - 0.012 * torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
            gap = torch.linalg.norm(thumb - target)
        loss = gap**2 + 1e-4 * (theta**2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    theta = (lo + (hi - lo) * torch.sigmoid(u)).detach().numpy()
    return np.degrees(theta)


def grasp_angles(data: HandModelData) -> dict[str, np.ndarray]:
    """Anatomical angles (15, 3) radians of every grasp in `GRASP_NAMES` for this model."""
    out = {}
    for name in GRASP_NAMES:
        thumb = _solve_thumb(data, name) if _THUMB_TEMPLATES[name] is None else None
        out[name] = _angles_from_template(name, thumb)
    return out


def grasp_articulations(data: HandModelData) -> dict[str, np.ndarray]:
    """Axis-angle articulation (45,) of every grasp (flat-hand relative, rest-pose axes)."""
    return {name: anatomy.articulation_from_angles(a, data.joint_axes) for name, a in grasp_angles(data).items()}


def sample_articulations(data: HandModelData, num: int, seed: int) -> np.ndarray:
    """(num, 45) plausible articulations: grasps at random closure with correlated noise, within limits."""
    rng = np.random.default_rng(seed)
    templates = grasp_angles(data)
    names = list(GRASP_NAMES)
    relaxed = templates["relaxed"]
    choice = rng.integers(0, len(names), size=num)
    closure = rng.uniform(0.4, 1.1, size=num)
    angles = np.empty((num, 15, 3))
    for i in range(num):
        target = templates[names[choice[i]]]
        start = templates["flat"] if names[choice[i]] in ("relaxed", "open", "flat") else relaxed
        angles[i] = start + closure[i] * (target - start)
    noise = np.zeros((num, 15, 3))
    finger_noise = rng.normal(0.0, np.radians(7.0), size=(num, 5))
    for f_index, finger in enumerate(anatomy.FINGERS):
        for joint in anatomy.FINGER_JOINTS[finger]:
            noise[:, joint - 1, 0] += finger_noise[:, f_index]
    noise[..., 0] += rng.normal(0.0, np.radians(4.0), size=(num, 15))
    noise[..., 1] += rng.normal(0.0, np.radians(3.0), size=(num, 15))
    noise[..., 2] += rng.normal(0.0, np.radians(2.0), size=(num, 15))
    angles = np.clip(angles + noise, data.joint_limits[..., 0], data.joint_limits[..., 1])
    return anatomy.articulation_from_angles(angles, data.joint_axes)


def articulation_pca(data: HandModelData, num_poses: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA of generated articulations: components (45, 45) (rows, by decreasing variance), mean (45,),
    explained-variance ratio (45,)."""
    poses = sample_articulations(data, num_poses, seed)
    mean = poses.mean(axis=0)
    _, singular, vt = np.linalg.svd(poses - mean, full_matrices=False)
    # Deterministic signs: the largest-magnitude entry of each component is positive.
    signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
    vt = vt * signs[:, None]
    variance = singular**2
    return vt, mean, variance / variance.sum()
