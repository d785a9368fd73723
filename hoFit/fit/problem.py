"""The fitting problem of one clip: targets on the device, parameters, and the loss terms over them.

`FitData` turns a `Clip`'s cues into tensors once (boxes interpolated over missing frames, masks cropped to
per-frame regions of interest around hand and object). `FitParameters` holds the optimized tensors.
`compute_losses` evaluates the named loss terms whose weight is non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from hoFit.fit import losses as L
from hoFit.fit.targets import crop_images, mask_signed_distance, matched_mask_targets, square_rois, union_boxes
from hoFit.fit.temporal import fill_missing
from hoFit.geometry.cameras import project_points
from hoFit.geometry.rotations import rotation_6d_to_matrix
from hoFit.models.hand.layer import HandOutput

__all__ = [
    "HandData", "FitData", "FitParameters", "SceneState", "build_fit_data", "scale_hand_output", "pose_scene", "compute_losses",
]


@dataclass
class HandData:
    """One hand's cues as tensors. keypoints (T, 21, 2) px; confidence (T, 21); present (T,) bool;
    boxes (T, 4) px (interpolated where absent); box_size (T,) px; mask / mask_valid (T, r, r) or None,
    the mask in the regions matched to the renderer's soft silhouette (see `matched_mask_targets`)."""

    side: str
    keypoints: torch.Tensor
    confidence: torch.Tensor
    present: torch.Tensor
    boxes: torch.Tensor
    box_size: torch.Tensor
    mask: torch.Tensor | None
    mask_valid: torch.Tensor | None


@dataclass
class FitData:
    """A clip's targets on the device.

    Attributes:
        K: (3, 3) full-image intrinsics. image_size: (H, W).
        hands: per-hand cues.
        object_present: (T,) bool. object_boxes: (T, 4) px, interpolated where absent.
        object_distance / object_valid: (T, H, W) full-image signed distance to the object mask's edge
            (pixels, negative inside) and the pixels that count (known and not covered by a hand), used by
            the initialization.
        rois: (T, 4) square regions around hand(s) and object. K_roi: (T, 3, 3) their intrinsics.
        object_mask_roi / object_valid_roi: (T, r, r) the target and valid pixels in the regions; the
            target is matched to the renderer's soft silhouette (see `matched_mask_targets`).
    """

    K: torch.Tensor
    image_size: tuple[int, int]
    hands: list[HandData]
    object_present: torch.Tensor
    object_boxes: torch.Tensor
    object_distance: torch.Tensor
    object_valid: torch.Tensor
    rois: torch.Tensor
    K_roi: torch.Tensor
    object_mask_roi: torch.Tensor
    object_valid_roi: torch.Tensor
    roi_resolution: int

    @property
    def num_frames(self) -> int:
        return int(self.object_present.shape[0])


def _boxes_from_masks(mask: np.ndarray) -> np.ndarray:
    """(T, H, W) -> (T, 4) tight boxes (pixel edges), NaN for empty masks."""
    T = mask.shape[0]
    boxes = np.full((T, 4), np.nan, dtype=np.float32)
    for t in range(T):  # one-off conversion at setup, not in the optimization loop
        ys, xs = np.nonzero(mask[t])
        if len(xs):
            boxes[t] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return boxes


def _keypoint_boxes(keypoints: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """(T, 21, 2) -> (T, 4) boxes around confident keypoints, NaN where none."""
    known = (confidence > 0) & np.isfinite(keypoints).all(-1)
    low = np.where(known[..., None], keypoints, np.inf).min(axis=1)
    high = np.where(known[..., None], keypoints, -np.inf).max(axis=1)
    boxes = np.concatenate([low, high], axis=-1).astype(np.float32)
    boxes[~known.any(axis=1)] = np.nan
    return boxes


def _fill_boxes(boxes: np.ndarray, who: str, device, dtype) -> torch.Tensor:
    tensor = torch.as_tensor(boxes, dtype=dtype, device=device)
    known = torch.isfinite(tensor).all(dim=-1)
    if not bool(known.any()):
        raise ValueError(f"{who}: no frame has a box, a mask or keypoints to locate it")
    return fill_missing(torch.nan_to_num(tensor), known)


def build_fit_data(
    clip, roi_resolution: int, roi_scale: float, device, dtype=torch.float32, silhouette=None
) -> FitData:
    """Tensors of a `Clip`'s cues; see `FitData`. ``silhouette``: the renderer's `SilhouetteSettings`, which
    the region targets are matched to (see `matched_mask_targets`); None uses its defaults."""
    from hoFit.errors import HoFitError

    height, width = clip.image_size
    T = clip.num_frames
    K = clip.intrinsics.matrix(dtype=dtype, device=device)
    hand_covered = np.zeros((T, height, width), dtype=bool)
    hands_np = []
    for i, cues in enumerate(clip.hands):
        boxes = cues.boxes if cues.boxes is not None else _keypoint_boxes(cues.keypoints, cues.confidence)
        boxes = np.where(cues.present[:, None], boxes, np.nan)
        if cues.masks is not None:
            hand_covered |= cues.masks.mask.astype(bool)
        hands_np.append((cues, boxes))
    obj = clip.object
    if obj.masks is None and obj.boxes is None:
        raise HoFitError(f"clip '{clip.name}': the object has neither masks nor boxes; the fit needs at least boxes")
    if obj.masks is not None:
        object_masks = obj.masks.mask.astype(np.float32)
        object_valid = ~obj.masks.unknown & ~hand_covered
        mask_boxes = _boxes_from_masks(obj.masks.mask)
        boxes = obj.boxes if obj.boxes is not None else mask_boxes
    else:
        # Boxes only: the box interior is unknown, the outside is background.
        object_masks = np.zeros((T, height, width), dtype=np.float32)
        object_valid = np.ones((T, height, width), dtype=bool)
        for t in range(T):
            if obj.present[t] and np.isfinite(obj.boxes[t]).all():
                x1, y1, x2, y2 = np.round(obj.boxes[t]).astype(int)
                object_valid[t, max(y1, 0): max(y2, 0), max(x1, 0): max(x2, 0)] = False
        boxes = obj.boxes
    object_boxes_np = np.where(obj.present[:, None], boxes, np.nan)
    object_valid[~obj.present] = False
    object_boxes = _fill_boxes(object_boxes_np, f"clip '{clip.name}' object", device, dtype)

    hand_tensors = []
    for i, (cues, boxes) in enumerate(hands_np):
        hand_boxes = _fill_boxes(boxes, f"clip '{clip.name}' hand {i} ({cues.side})", device, dtype)
        hand_tensors.append((cues, hand_boxes))
    all_boxes = [object_boxes] + [b for _, b in hand_tensors]
    rois, K_roi = square_rois(union_boxes(*all_boxes), K, roi_scale, roi_resolution)

    valid_t = torch.as_tensor(object_valid, device=device)
    distance_t = mask_signed_distance(object_masks).to(device=device, dtype=dtype)
    mask_roi = matched_mask_targets(distance_t, rois, roi_resolution, silhouette)
    valid_roi = crop_images(valid_t.to(dtype), rois, roi_resolution, mode="nearest") > 0.5

    hands = []
    for cues, hand_boxes in hand_tensors:
        keypoints = torch.as_tensor(cues.keypoints, dtype=dtype, device=device)
        confidence = torch.as_tensor(cues.confidence, dtype=dtype, device=device)
        present = torch.as_tensor(cues.present, device=device)
        confidence = torch.where(present[:, None], confidence, torch.zeros_like(confidence))
        box_size = (hand_boxes[:, 2:] - hand_boxes[:, :2]).max(dim=-1).values.clamp(min=1.0)
        mask = mask_valid = None
        if cues.masks is not None:
            mask = matched_mask_targets(mask_signed_distance(cues.masks.mask), rois, roi_resolution, silhouette)
            known = torch.as_tensor(~cues.masks.unknown, device=device).to(dtype)
            mask_valid = crop_images(known, rois, roi_resolution, mode="nearest") > 0.5
        hands.append(HandData(cues.side, keypoints, confidence, present, hand_boxes, box_size, mask, mask_valid))
    return FitData(
        K=K,
        image_size=(height, width),
        hands=hands,
        object_present=torch.as_tensor(obj.present, device=device),
        object_boxes=object_boxes,
        object_distance=distance_t,
        object_valid=valid_t,
        rois=rois,
        K_roi=K_roi,
        object_mask_roi=mask_roi,
        object_valid_roi=valid_roi,
        roi_resolution=roi_resolution,
    )


@dataclass
class FitParameters:
    """Optimized tensors. Per hand i: ``hand_orient[i]`` (T, 6) 6D, ``hand_pca[i]`` (T, C),
    ``hand_betas[i]`` (1, S), ``hand_transl[i]`` (T, 3), ``hand_log_scale[i]`` (1,) the log of its size
    factor about the camera centre. Object: ``object_rot`` (T, 6) 6D, ``object_transl`` (T, 3),
    ``object_log_scale`` (1,) relative to the clip's scale."""

    hand_orient: list[torch.Tensor]
    hand_pca: list[torch.Tensor]
    hand_betas: list[torch.Tensor]
    hand_transl: list[torch.Tensor]
    object_rot: torch.Tensor
    object_transl: torch.Tensor
    object_log_scale: torch.Tensor
    hand_log_scale: list[torch.Tensor] = field(default_factory=list)

    def groups(self) -> dict[str, list[torch.Tensor]]:
        """Tensors per parameter group name (see `hoFit.fit.config.PARAMETER_GROUPS`)."""
        return {
            "hand_global": self.hand_orient + self.hand_transl,
            "hand_articulation": self.hand_pca,
            "hand_shape": self.hand_betas,
            "object_pose": [self.object_rot, self.object_transl],
            "object_scale": [self.object_log_scale],
            "hand_scale": self.hand_log_scale,
        }

    def all(self) -> list[torch.Tensor]:
        return [p for group in self.groups().values() for p in group]

    def snapshot(self) -> "FitParameters":
        """A detached copy."""
        copy = lambda xs: [x.detach().clone() for x in xs]  # noqa: E731
        return FitParameters(
            copy(self.hand_orient), copy(self.hand_pca), copy(self.hand_betas), copy(self.hand_transl),
            self.object_rot.detach().clone(), self.object_transl.detach().clone(), self.object_log_scale.detach().clone(),
            copy(self.hand_log_scale),
        )


@dataclass
class SceneState:
    """Posed meshes of the current parameters. hand_outputs: per hand `HandOutput` (batch T);
    object_vertices (T, V, 3); object_rotation (T, 3, 3); object_translation (T, 3); object_scale (1,)."""

    hand_outputs: list = field(default_factory=list)
    object_vertices: torch.Tensor | None = None
    object_rotation: torch.Tensor | None = None
    object_translation: torch.Tensor | None = None
    object_scale: torch.Tensor | None = None


def scale_hand_output(out: HandOutput, factor: torch.Tensor) -> HandOutput:
    """A posed hand scaled about the camera centre by ``factor`` (a scalar tensor, differentiable): every
    point's projection is unchanged, its depth and the hand's size are multiplied by ``factor``."""
    top, bottom = out.joint_transforms[..., :3, :], out.joint_transforms[..., 3:, :]
    transforms = torch.cat([top * factor, bottom], dim=-2)  # s (R x + t): no longer rigid
    return HandOutput(out.vertices * factor, out.keypoints * factor, out.joints * factor, transforms, out.articulation)


def pose_scene(params: FitParameters, layers, object_vertices: torch.Tensor, base_scale: float) -> SceneState:
    """Pose every hand and the object for all frames."""
    T = params.object_rot.shape[0]
    log_scales = params.hand_log_scale or [None] * len(layers)
    hand_outputs = []
    for layer, orient, pca, betas, transl, log_scale in zip(
        layers, params.hand_orient, params.hand_pca, params.hand_betas, params.hand_transl, log_scales
    ):
        out = layer(global_orient=orient, articulation=pca, betas=betas.expand(T, -1), transl=transl)
        hand_outputs.append(out if log_scale is None else scale_hand_output(out, log_scale.exp()))
    rotation = rotation_6d_to_matrix(params.object_rot)
    scale = base_scale * params.object_log_scale.exp()
    posed = (object_vertices[None] * scale) @ rotation.transpose(1, 2) + params.object_transl[:, None]
    return SceneState(hand_outputs, posed, rotation, params.object_transl, scale)


def _depth_range(vertices: torch.Tensor) -> torch.Tensor:
    z = vertices[..., 2]
    return torch.stack([z.min(dim=1).values, z.max(dim=1).values], dim=-1)


def compute_losses(
    state: SceneState,
    params: FitParameters,
    data: FitData,
    layers,
    object_faces: torch.Tensor,
    sdf,
    weights: dict[str, float],
    settings,
    keypoint_robust_sigma: float | None,
    contact_distance: float,
    base_scale: float,
    keypoint_normalizer: str = "hand_box",
    smoothness_order: int = 1,
) -> dict[str, torch.Tensor]:
    """Unweighted values of every loss term whose weight is non-zero (terms that do not apply, e.g. a
    hand silhouette without hand masks, are left out)."""
    from hoFit.render import soft_silhouette

    def on(name: str) -> bool:
        return weights.get(name, 0.0) > 0

    size = (data.roi_resolution, data.roi_resolution)
    terms: dict[str, torch.Tensor] = {}
    if on("object_silhouette"):
        rendered = soft_silhouette(state.object_vertices, object_faces, data.K_roi, size, settings)
        terms["object_silhouette"] = L.silhouette_loss(rendered, data.object_mask_roi, data.object_valid_roi)
    if on("hand_silhouette"):
        values = []
        for hand, layer, out in zip(data.hands, layers, state.hand_outputs):
            if hand.mask is not None:
                rendered = soft_silhouette(out.vertices, layer.closed_faces, data.K_roi, size, settings)
                values.append(L.silhouette_loss(rendered, hand.mask, hand.mask_valid))
        if values:
            terms["hand_silhouette"] = torch.stack(values).sum()
    if on("hand_keypoints_2d"):
        values = []
        for hand, out in zip(data.hands, state.hand_outputs):
            projected = project_points(out.keypoints, data.K)
            scale = hand.box_size if keypoint_normalizer == "hand_box" else float(data.image_size[1])
            values.append(
                L.keypoint_reprojection_loss(
                    projected, torch.nan_to_num(hand.keypoints), hand.confidence, scale, keypoint_robust_sigma
                )
            )
        terms["hand_keypoints_2d"] = torch.stack(values).sum()
    if on("pca_prior"):
        terms["pca_prior"] = torch.stack([L.pca_prior_loss(p) for p in params.hand_pca]).sum()
    if on("joint_limits"):
        terms["joint_limits"] = torch.stack(
            [
                L.joint_limit_loss(layer.anatomical_angles(out.articulation), layer.joint_limits)
                for layer, out in zip(layers, state.hand_outputs)
            ]
        ).sum()
    if on("shape_prior"):
        terms["shape_prior"] = torch.stack([L.shape_prior_loss(b) for b in params.hand_betas]).sum()
    if on("scale_prior"):
        terms["scale_prior"] = L.scale_prior_loss(state.object_scale, base_scale)
    if on("hand_scale_prior") and params.hand_log_scale:
        terms["hand_scale_prior"] = torch.stack([L.scale_prior_loss(s.exp()) for s in params.hand_log_scale]).sum()
    if on("hand_smoothness"):
        terms["hand_smoothness"] = torch.stack([L.smoothness_loss(out.vertices, smoothness_order) for out in state.hand_outputs]).sum()
    if on("object_smoothness"):
        terms["object_smoothness"] = L.smoothness_loss(state.object_vertices, smoothness_order)
    if on("coarse_interaction"):
        values = []
        object_depth = _depth_range(state.object_vertices.detach())
        for hand, out in zip(data.hands, state.hand_outputs):
            active = L.interaction_active(
                hand.boxes, data.object_boxes, _depth_range(out.vertices.detach()), object_depth
            )
            values.append(L.coarse_interaction_loss(out.vertices, state.object_vertices, active))
        terms["coarse_interaction"] = torch.stack(values).sum()
    if on("collision"):
        values = []
        for layer, out in zip(layers, state.hand_outputs):
            values.append(
                L.collision_loss(
                    out.vertices, sdf, state.object_rotation, state.object_translation, state.object_scale,
                    object_vertices=state.object_vertices, hand_closed_faces=layer.closed_faces,
                )
            )
        if len(state.hand_outputs) == 2:
            (_, layer_b), (out_a, out_b) = layers, state.hand_outputs
            depth = L.object_in_hand_penetration(out_a.vertices, out_b.vertices, layer_b.closed_faces)
            values.append((depth * 100.0).pow(2).sum(dim=-1).mean())
        terms["collision"] = torch.stack(values).sum()
    if on("contact"):
        values = []
        for layer, out in zip(layers, state.hand_outputs):
            contact_points = out.vertices[:, layer.contact_vertices]
            values.append(
                L.contact_loss(
                    contact_points, sdf, state.object_rotation, state.object_translation, state.object_scale,
                    attraction_distance=contact_distance,
                )
            )
        terms["contact"] = torch.stack(values).sum()
    return terms
