"""The hand layer: a thin module holding a MANO-format model's buffers around the pure `lbs` functions.

Works unchanged with the official MANO files and with hoFit's bundled OpenHand model.

Parameters of `HandLayer.forward` (batch B):
    global_orient: rotation of the hand about its root joint (wrist), axis-angle (B, 3) radians,
        6D (B, 6) or matrix (B, 3, 3).
    articulation: finger pose, PCA coefficients (B, k) with k <= num_pca_comps, or axis-angle (B, 45)
        (15 joints x 3, MANO joint order without the wrist, radians, rest-pose axes).
        Unless ``flat_hand_mean`` the model's mean pose ``hands_mean`` is added (as in MANO / smplx).
    betas: shape coefficients (B, S), S <= number of shape directions (10).
    transl: translation (B, 3) metres, added after posing (the root joint ends at J_root(betas) + transl).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hoFit.errors import HoFitError
from hoFit.geometry.rotations import axis_angle_to_matrix, rotation_6d_to_matrix
from hoFit.models.hand import anatomy
from hoFit.models.hand.config import HandConfig
from hoFit.models.hand.data import (
    MANO_FINGERTIP_VERTEX_IDS,
    MANO_HELP,
    HandModelData,
    load_hand_data,
    mirror_hand_data,
)
from hoFit.models.hand.lbs import lbs
from hoFit.models.hand.mesh import boundary_loops, close_holes, vertex_normals

__all__ = [
    "HandOutput",
    "HandLayer",
    "create_hand_layer",
    "hand_layer_from_config",
    "complete_hand_data",
    "resolve_mano_path",
    "openhand_data",
    "MANO_DIR_ENV",
]

MANO_DIR_ENV = "HOFIT_MANO_DIR"


@dataclass
class HandOutput:
    """Result of `HandLayer.forward` (model frame after global rotation and translation, metres).

    Attributes:
        vertices: (B, V, 3).
        keypoints: (B, 21, 3) in hoFit (HO-3D) order: 16 joints, then thumb/index/middle/ring/pinky tips.
        joints: (B, 16, 3) MANO joints.
        joint_transforms: (B, 16, 4, 4) rigid transforms mapping rest-pose model points attached to each
            joint to their posed location (translation included).
        articulation: (B, 45) the finger articulation actually applied, axis-angle incl. the mean pose.
    """

    vertices: torch.Tensor
    keypoints: torch.Tensor
    joints: torch.Tensor
    joint_transforms: torch.Tensor
    articulation: torch.Tensor


def complete_hand_data(data: HandModelData) -> HandModelData:
    """Fill hoFit's optional fields that a plain MANO file lacks (fingertips, closed faces, anatomical
    axes, limits, contact regions), computing them from the model itself."""
    if data.fingertip_vertex_ids is None:
        if data.num_vertices != 778:
            raise HoFitError(
                f"{data.source or 'hand model'}: no fingertip_vertex_ids stored and the mesh has "
                f"{data.num_vertices} vertices, not MANO's 778; add a (5,) 'fingertip_vertex_ids' array "
                "(thumb, index, middle, ring, pinky) to the file"
            )
        data.fingertip_vertex_ids = np.array(MANO_FINGERTIP_VERTEX_IDS, dtype=np.int64)
    if data.closed_faces is None:
        data.closed_faces = close_holes(data.v_template, data.f) if boundary_loops(data.f) else data.f.copy()
    joints = data.J_regressor @ data.v_template
    tips = data.v_template[data.fingertip_vertex_ids]
    if data.joint_axes is None:
        data.joint_axes = anatomy.joint_axes(joints, tips, data.side)
    if data.joint_limits is None:
        data.joint_limits = anatomy.joint_limits()
    if not data.regions:
        normals = vertex_normals(data.v_template, data.closed_faces)
        data.regions = anatomy.contact_regions(data.v_template, normals, data.weights, joints, tips, data.side)
    return data


class HandLayer(nn.Module):
    """MANO-format hand layer (see the module docstring for the inputs).

    Attributes (buffers, moved with ``.to()``): ``faces`` (F, 3) long, ``closed_faces`` (F', 3) long
    (watertight, for collision terms), ``fingertip_vertex_ids`` (5,), ``contact_vertices`` (all palmar
    contact vertex ids), ``joint_limits`` (15, 3, 2) radians (flexion / abduction / twist, min / max),
    ``joint_axes`` (15, 3, 3), ``hands_components`` (num_pca_comps, 45), ``hands_mean`` (45,);
    ``contact_vertex_ids`` maps a region name to its ids; ``side`` is "right" or "left".
    """

    def __init__(
        self,
        data: HandModelData,
        num_pca_comps: int = 15,
        flat_hand_mean: bool = False,
        use_pca: bool = True,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        data = complete_hand_data(data)
        available = data.hands_components.shape[0]
        if not 1 <= num_pca_comps <= available:
            raise HoFitError(f"num_pca_comps must be in [1, {available}] for model '{data.name}', got {num_pca_comps}")
        self.side = data.side
        self.name = data.name
        self.num_pca_comps = int(num_pca_comps)
        self.flat_hand_mean = bool(flat_hand_mean)
        self.use_pca = bool(use_pca)
        self.num_betas = int(data.shapedirs.shape[2])
        self.parents = [int(p) for p in data.parents]
        num_v = data.num_vertices

        def buf(name: str, value: np.ndarray, kind: torch.dtype = dtype) -> None:
            self.register_buffer(name, torch.as_tensor(np.ascontiguousarray(value), dtype=kind))

        buf("v_template", data.v_template)
        buf("shapedirs", data.shapedirs)
        buf("posedirs", data.posedirs.reshape(num_v * 3, -1).T)  # ((J-1)*9, V*3)
        buf("J_regressor", data.J_regressor)
        buf("lbs_weights", data.weights)
        buf("faces", data.f, torch.long)
        buf("closed_faces", data.closed_faces, torch.long)
        buf("fingertip_vertex_ids", data.fingertip_vertex_ids, torch.long)
        buf("hands_components", data.hands_components[:num_pca_comps])
        buf("hands_mean", np.zeros(45) if flat_hand_mean else data.hands_mean)
        buf("joint_axes", data.joint_axes)
        buf("joint_limits", data.joint_limits)
        self.contact_vertex_ids = {key: torch.as_tensor(ids, dtype=torch.long) for key, ids in data.regions.items()}
        contact = np.unique(np.concatenate([np.asarray(v) for v in data.regions.values()])) if data.regions else []
        buf("contact_vertices", np.asarray(contact, dtype=np.int64), torch.long)

    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])

    def _apply(self, fn, recurse=True):  # keep the region dict on the buffers' device
        out = super()._apply(fn, recurse)
        device = self.faces.device
        self.contact_vertex_ids = {key: ids.to(device) for key, ids in self.contact_vertex_ids.items()}
        return out

    def articulation_axis_angle(self, articulation: torch.Tensor) -> torch.Tensor:
        """(B, 45) axis-angle of an articulation given as PCA coefficients (B, k) or axis-angle (B, 45),
        the mean pose included unless ``flat_hand_mean``."""
        if articulation.dim() != 2:
            raise ValueError(f"articulation: expected (B, k) PCA or (B, 45) axis-angle, got {tuple(articulation.shape)}")
        width = articulation.shape[1]
        if self.use_pca and width <= self.num_pca_comps and not (width == 45 and self.num_pca_comps < 45):
            pose = articulation @ self.hands_components[:width]
        elif width == 45:
            pose = articulation
        else:
            raise ValueError(
                f"articulation: expected at most {self.num_pca_comps} PCA coefficients or 45 axis-angle "
                f"values, got {width}; raise num_pca_comps or pass the full (B, 45) pose"
            )
        return pose + self.hands_mean

    def forward(
        self,
        global_orient: torch.Tensor | None = None,
        articulation: torch.Tensor | None = None,
        betas: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
    ) -> HandOutput:
        """Pose and shape the hand; see the module docstring. Missing inputs are zeros (batch from the others)."""
        given = [x for x in (global_orient, articulation, betas, transl) if x is not None]
        batch = given[0].shape[0] if given else 1
        # Computation runs in the buffers' dtype and device (move the layer with .to()); inputs are cast.
        device, dtype = self.v_template.device, self.v_template.dtype
        global_orient, articulation, betas, transl = (
            None if x is None else x.to(device=device, dtype=dtype) for x in (global_orient, articulation, betas, transl)
        )
        for name, value in (("global_orient", global_orient), ("articulation", articulation), ("betas", betas), ("transl", transl)):
            if value is not None and value.shape[0] != batch:
                raise ValueError(f"{name}: batch size {value.shape[0]} differs from {batch} of the other inputs")
        if global_orient is None:
            root = torch.eye(3, device=device, dtype=dtype).expand(batch, 3, 3)
        else:
            if global_orient.shape[1:] not in ((3,), (6,), (3, 3)):
                raise ValueError(
                    f"global_orient: expected (B, 3) axis-angle, (B, 6) 6D or (B, 3, 3) matrix, got {tuple(global_orient.shape)}"
                )
            # Decide by rank, not trailing shape: a batch of three axis-angles is also (3, 3).
            if global_orient.dim() == 3:
                root = global_orient
            elif global_orient.shape[1] == 3:
                root = axis_angle_to_matrix(global_orient)
            else:
                root = rotation_6d_to_matrix(global_orient)
        if articulation is None:
            articulation = torch.zeros(batch, 45 if not self.use_pca else self.num_pca_comps, device=device, dtype=dtype)
        pose = self.articulation_axis_angle(articulation)
        finger_rots = axis_angle_to_matrix(pose.reshape(batch, 15, 3))
        rot_mats = torch.cat([root.unsqueeze(1), finger_rots], dim=1)
        if betas is None:
            betas = torch.zeros(batch, self.num_betas, device=device, dtype=dtype)
        if betas.dim() != 2 or betas.shape[1] > self.num_betas:
            raise ValueError(f"betas: expected (B, S) with S <= {self.num_betas}, got {tuple(betas.shape)}")
        vertices, joints, transforms = lbs(
            betas, rot_mats, self.v_template, self.shapedirs, self.posedirs, self.J_regressor, self.parents, self.lbs_weights
        )
        if transl is not None:
            if transl.shape != (batch, 3):
                raise ValueError(f"transl: expected (B, 3) metres, got {tuple(transl.shape)}")
            vertices = vertices + transl[:, None]
            joints = joints + transl[:, None]
            transforms = transforms.clone()
            transforms[:, :, :3, 3] = transforms[:, :, :3, 3] + transl[:, None]
        keypoints = torch.cat([joints, vertices[:, self.fingertip_vertex_ids]], dim=1)
        return HandOutput(vertices, keypoints, joints, transforms, pose)

    def anatomical_angles(self, articulation_aa: torch.Tensor) -> torch.Tensor:
        """(B, 15, 3) flexion / abduction / twist angles (radians) of a (B, 45) axis-angle articulation."""
        return torch.einsum("jkc,bjc->bjk", self.joint_axes, articulation_aa.reshape(-1, 15, 3))

    def extra_repr(self) -> str:
        return (
            f"name={self.name}, side={self.side}, vertices={self.num_vertices}, num_pca_comps={self.num_pca_comps}, "
            f"flat_hand_mean={self.flat_hand_mean}, use_pca={self.use_pca}"
        )


# --------------------------------------------------------------------------------------------------
# Model selection.


def resolve_mano_path(side: str, mano_dir: str | os.PathLike | None = None) -> Path:
    """The MANO file of a side: ``mano_dir`` (a folder or a file), else $HOFIT_MANO_DIR; errors say what to do."""
    source = "mano_dir"
    if mano_dir is None:
        mano_dir = os.environ.get(MANO_DIR_ENV) or None
        source = f"${MANO_DIR_ENV}"
    if mano_dir is None:
        raise HoFitError("hand.model is 'mano' but no MANO folder is set. " + MANO_HELP)
    path = Path(mano_dir).expanduser()
    if path.is_file():
        return path
    if not path.is_dir():
        raise HoFitError(f"MANO folder {path} (from {source}) does not exist. " + MANO_HELP)
    stem = f"MANO_{side.upper()}"
    for candidate in (path / f"{stem}.pkl", path / f"{stem}.npz", path / "models" / f"{stem}.pkl"):
        if candidate.is_file():
            return candidate
    raise HoFitError(f"no {stem}.pkl in the MANO folder {path} (from {source}). " + MANO_HELP)


def openhand_data(side: str = "right") -> HandModelData:
    """The bundled OpenHand model (from the repository's assets, else rebuilt once into the user cache)."""
    from hoFit.models.hand.openhand import openhand_asset_path

    data = load_hand_data(openhand_asset_path(), side="right")
    return data if side == "right" else mirror_hand_data(data)


def create_hand_layer(
    model: str = "openhand",
    side: str = "right",
    mano_dir: str | os.PathLike | None = None,
    num_pca_comps: int = 15,
    flat_hand_mean: bool = False,
    use_pca: bool = True,
    dtype: torch.dtype = torch.float32,
) -> HandLayer:
    """A `HandLayer` for ``model`` "openhand" (bundled) or "mano" (official files, see `resolve_mano_path`)."""
    if side not in ("right", "left"):
        raise HoFitError(f"hand side must be 'right' or 'left', got '{side}'")
    if model == "openhand":
        data = openhand_data(side)
    elif model == "mano":
        data = load_hand_data(resolve_mano_path(side, mano_dir), side=side)
    else:
        raise HoFitError(f"hand.model must be 'openhand' or 'mano', got '{model}'")
    return HandLayer(data, num_pca_comps=num_pca_comps, flat_hand_mean=flat_hand_mean, use_pca=use_pca, dtype=dtype)


def hand_layer_from_config(config: HandConfig, side: str = "right", dtype: torch.dtype = torch.float32) -> HandLayer:
    """`create_hand_layer` from a `HandConfig` (the ``hand`` section of the config tree)."""
    return create_hand_layer(
        model=config.model,
        side=side,
        mano_dir=config.mano_dir,
        num_pca_comps=config.num_pca_comps,
        flat_hand_mean=config.flat_hand_mean,
        dtype=dtype,
    )
