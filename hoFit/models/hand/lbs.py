"""Pure batched functions of a MANO-format hand: blend shapes, joint regression, kinematic chain, skinning.

Everything here is a plain function of tensors (no module state), batched over a leading ``B``, and keeps
the device and dtype of its inputs. Conventions are MANO's (and smplx's):

* The rest-pose ("template") mesh ``v_template`` (V, 3) is in metres; the rest-pose joint frames are
  aligned with the model frame, so a joint's local rotation is expressed in rest-pose model axes.
* ``shapedirs`` (V, 3, S) are linear shape displacements per unit beta; ``posedirs`` (P*9, V*3) are pose
  corrective displacements driven by the flattened ``R_j - I`` of the P = J-1 non-root joints.
* ``parents`` (J,) holds each joint's parent index, -1 for the root, parents before children.
* Skinning is linear blend skinning with per-vertex weights (V, J) that sum to one.
"""

from __future__ import annotations

import functools

import torch

__all__ = [
    "blend_shapes",
    "pose_features",
    "regress_joints",
    "rigid_transforms",
    "skin_vertices",
    "lbs",
]


def blend_shapes(betas: torch.Tensor, shapedirs: torch.Tensor) -> torch.Tensor:
    """Shape displacements ``(B, V, 3)`` from betas ``(B, S)`` and shape directions ``(V, 3, S)``.

    Only the first ``S`` directions are used when ``shapedirs`` has more; fewer betas than directions is fine.
    """
    if betas.dim() != 2 or shapedirs.dim() != 3:
        raise ValueError(
            f"blend_shapes: expected betas (B, S) and shapedirs (V, 3, S), got {tuple(betas.shape)} and "
            f"{tuple(shapedirs.shape)}"
        )
    num = betas.shape[1]
    if num > shapedirs.shape[2]:
        raise ValueError(f"blend_shapes: {num} betas given but the model has {shapedirs.shape[2]} shape directions")
    return torch.einsum("bs,vcs->bvc", betas, shapedirs[:, :, :num])


def pose_features(rot_mats: torch.Tensor) -> torch.Tensor:
    """MANO pose-corrective features ``(B, (J-1)*9)``: flattened ``R_j - I`` of the non-root joints.

    Args:
        rot_mats: (B, J, 3, 3) local joint rotations; joint 0 (the global orientation) is ignored.
    """
    eye = torch.eye(3, dtype=rot_mats.dtype, device=rot_mats.device)
    return (rot_mats[:, 1:] - eye).reshape(rot_mats.shape[0], -1)


def regress_joints(vertices: torch.Tensor, regressor: torch.Tensor) -> torch.Tensor:
    """Joints ``(B, J, 3)`` as fixed linear combinations of vertices ``(B, V, 3)``; regressor is (J, V)."""
    return torch.einsum("jv,bvc->bjc", regressor, vertices)


def rigid_transforms(
    rot_mats: torch.Tensor, joints: torch.Tensor, parents: torch.Tensor | list[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward kinematics of a tree of joints.

    Args:
        rot_mats: (B, J, 3, 3) local rotations (joint 0: global orientation about the root joint).
        joints: (B, J, 3) rest-pose joint locations, metres.
        parents: (J,) parent indices, ``parents[0] = -1``, each parent listed before its children.

    Returns:
        posed_joints: (B, J, 3) joint locations after posing.
        transforms: (B, J, 4, 4) world transforms of the joints, each mapping rest-pose model coordinates
            of a point rigidly attached to that joint to posed coordinates (the "relative" transforms that
            skinning blends).
    """
    batch, num_joints = rot_mats.shape[:2]
    parent_list = tuple(int(p) for p in (parents.tolist() if isinstance(parents, torch.Tensor) else parents))
    rel_joints = joints.clone()
    rel_joints[:, 1:] = joints[:, 1:] - joints.index_select(1, _parent_index(parent_list, joints.device))
    local = torch.zeros(batch, num_joints, 4, 4, dtype=rot_mats.dtype, device=rot_mats.device)
    local[:, :, :3, :3] = rot_mats
    local[:, :, :3, 3] = rel_joints
    local[:, :, 3, 3] = 1.0
    chain = [local[:, 0]]
    for j in range(1, num_joints):
        chain.append(chain[parent_list[j]] @ local[:, j])
    world = torch.stack(chain, dim=1)  # (B, J, 4, 4): joint frame -> world
    posed_joints = world[:, :, :3, 3]
    # Remove the rest-pose joint offset so that the transform acts on rest-pose model coordinates.
    offset = torch.einsum("bjrc,bjc->bjr", world[:, :, :3, :3], joints)
    transforms = world.clone()
    transforms[:, :, :3, 3] = posed_joints - offset
    return posed_joints, transforms


@functools.lru_cache(maxsize=16)
def _parent_index(parents: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """(J-1,) parents of joints 1..J-1 as a tensor on ``device``, made once: indexing with a Python list would
    copy it from the host at every call, which a CUDA graph cannot capture (`hoFit.fit.steps`)."""
    if not parents or parents[0] != -1 or any(not 0 <= p < j for j, p in enumerate(parents) if j > 0):
        raise ValueError(f"parents: expected parents[0] = -1 and each parent listed before its children, got {list(parents)}")
    return torch.tensor(parents[1:], dtype=torch.long, device=device)


def skin_vertices(vertices: torch.Tensor, weights: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
    """Linear blend skinning of rest-pose vertices ``(B, V, 3)`` with weights ``(V, J)`` and transforms ``(B, J, 4, 4)``."""
    blended = torch.einsum("vj,bjrc->bvrc", weights, transforms[:, :, :3, :])  # (B, V, 3, 4)
    return torch.einsum("bvrc,bvc->bvr", blended[..., :3], vertices) + blended[..., 3]


def lbs(
    betas: torch.Tensor,
    rot_mats: torch.Tensor,
    v_template: torch.Tensor,
    shapedirs: torch.Tensor,
    posedirs: torch.Tensor,
    regressor: torch.Tensor,
    parents: torch.Tensor | list[int],
    weights: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The full MANO forward model for a batch.

    Args:
        betas: (B, S) shape coefficients.
        rot_mats: (B, J, 3, 3) local joint rotations, joint 0 = global orientation about the root joint.
        v_template: (V, 3) rest-pose vertices, metres.
        shapedirs: (V, 3, S') shape directions, S <= S'.
        posedirs: ((J-1)*9, V*3) pose corrective directions.
        regressor: (J, V) joint regressor (dense).
        parents: (J,) kinematic tree.
        weights: (V, J) skinning weights.

    Returns:
        vertices (B, V, 3), joints (B, J, 3) posed, transforms (B, J, 4, 4); the root joint stays at its
        rest-pose location (add a translation afterwards).
    """
    batch = rot_mats.shape[0]
    v_shaped = v_template.unsqueeze(0) + blend_shapes(betas, shapedirs)
    joints_rest = regress_joints(v_shaped, regressor)
    offsets = (pose_features(rot_mats) @ posedirs).reshape(batch, -1, 3)
    v_posed = v_shaped + offsets
    joints, transforms = rigid_transforms(rot_mats, joints_rest, parents)
    vertices = skin_vertices(v_posed, weights, transforms)
    return vertices, joints, transforms
