"""Object pose initialization by many silhouette-fitted hypotheses carried as tracks over the clip.

As in PHOSA and HOMan, rotations are sampled uniformly on SO(3) and each is fitted to the occlusion-aware
object mask. hoFit makes this cheap: every hypothesis is one *track* (its rotation seeds every frame, and
the frames of a track are optimized together with a smoothness term), the translation of each hypothesis
and frame starts from a closed form (depth from the template's projected size against the box), all
tracks are scored at a low resolution in one batch, and only the best few are refined at a higher one.
The refined tracks are returned best first (by mean mask IoU); the fitter may break near-ties with the
hand (see `hoFit.fit.interaction_select`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hoFit.fit.config import ObjectInitConfig
from hoFit.fit.targets import crop_images, square_rois
from hoFit.geometry.rotations import matrix_to_rotation_6d, random_rotations, rotation_6d_to_matrix

__all__ = ["ObjectInit", "translation_from_box", "initialize_object"]


@dataclass
class ObjectInit:
    """Initial object poses.

    Attributes:
        rotation: (T, 3, 3) object-to-camera rotations.
        translation: (T, 3) metres.
        iou: (T,) mask IoU of the chosen track per frame at the refinement resolution.
        track_scores: (H,) mean IoU of every hypothesis at the search resolution.
        candidate_rotations: (K, T, 3, 3) the refined tracks, best first (the chosen one is index 0).
        candidate_translations: (K, T, 3).
        candidate_scores: (K,) their mean IoU at the refinement resolution.
    """

    rotation: torch.Tensor
    translation: torch.Tensor
    iou: torch.Tensor
    track_scores: torch.Tensor
    candidate_rotations: torch.Tensor
    candidate_translations: torch.Tensor
    candidate_scores: torch.Tensor


def translation_from_box(vertices: torch.Tensor, rotations: torch.Tensor, boxes: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Translation placing rotated vertices so that their projection fills the box.

    The depth makes the rotated template's metric width and height project to the box's (averaged over
    the two axes); the centre of its bounding box is placed on the ray through the box centre.

    Args:
        vertices: (V, 3) template vertices (scaled), metres.
        rotations: (N, 3, 3). boxes: (N, 4) pixels. K: (3, 3).

    Returns:
        (N, 3) metres.
    """
    rotated = vertices[None] @ rotations.transpose(1, 2)  # (N, V, 3)
    low, high = rotated.min(dim=1).values, rotated.max(dim=1).values
    centre = (low + high) / 2
    size = (high - low)[:, :2].clamp(min=1e-4)
    box_size = (boxes[:, 2:] - boxes[:, :2]).clamp(min=1.0)
    focal = torch.stack([K[0, 0], K[1, 1]])
    depth = (focal * size / box_size).mean(dim=-1)
    box_centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    principal = torch.stack([K[0, 2], K[1, 2]])
    xy = (box_centre - principal) / focal * depth[:, None]
    return torch.cat([xy - centre[:, :2], (depth - centre[:, 2])[:, None]], dim=-1)


def _fit_tracks(
    vertices, faces, rot6d, transl, K_roi, target, valid, iterations, lr, smoothness, settings, resolution
):
    """Adam on (N, T) hypotheses; returns refined (rot6d, transl) and per-(N, T) IoU."""
    from hoFit.render import soft_silhouette

    N, T = rot6d.shape[:2]
    rot6d = rot6d.clone().requires_grad_(True)
    transl = transl.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([{"params": [rot6d], "lr": lr * 10}, {"params": [transl], "lr": lr}])
    K_all = K_roi[None].expand(N, T, 3, 3).reshape(N * T, 3, 3)
    target_all = target[None].expand(N, T, resolution, resolution)
    valid_all = valid[None].expand(N, T, resolution, resolution).to(target.dtype)
    denominator = valid_all.sum(dim=(-1, -2)).clamp(min=1.0)

    def render(r6, tr):
        rotation = rotation_6d_to_matrix(r6).reshape(N * T, 3, 3)
        posed = vertices[None] @ rotation.transpose(1, 2) + tr.reshape(N * T, 1, 3)
        return soft_silhouette(posed, faces, K_all, (resolution, resolution), settings).view(N, T, resolution, resolution)

    for _ in range(iterations):
        optimizer.zero_grad()
        rendered = render(rot6d, transl)
        per_item = ((rendered - target_all) ** 2 * valid_all).sum(dim=(-1, -2)) / denominator
        loss = per_item.sum()
        if smoothness > 0 and T > 1:
            loss = loss + smoothness * (torch.diff(transl, dim=1).pow(2).sum() * 1e2 + torch.diff(rot6d, dim=1).pow(2).sum() * 1e-2)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        hard = render(rot6d, transl) > 0.5
        truth = target_all > 0.5
        v = valid_all > 0
        inter = (hard & truth & v).sum(dim=(-1, -2)).to(target.dtype)
        union = ((hard | truth) & v).sum(dim=(-1, -2)).to(target.dtype)
        iou = inter / union.clamp(min=1.0)
    return rot6d.detach(), transl.detach(), iou


def initialize_object(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    masks: torch.Tensor,
    valid: torch.Tensor,
    boxes: torch.Tensor,
    present: torch.Tensor,
    K: torch.Tensor,
    config: ObjectInitConfig,
    silhouette_sigma: float = 1.0,
    roi_scale: float = 1.3,
    generator: torch.Generator | None = None,
) -> ObjectInit:
    """Search the object's pose in every frame.

    Args:
        vertices: (V, 3) template vertices already scaled to metres. faces: (F, 3).
        masks: (T, H, W) object masks in [0, 1] (full image).
        valid: (T, H, W) bool, pixels that count (not unknown, not covered by the hand).
        boxes: (T, 4) object boxes (pixels), interpolated where absent.
        present: (T,) bool, frames with an object cue; others do not vote for a track.
        K: (3, 3) full-image intrinsics.
        config: search settings. silhouette_sigma: soft-silhouette band (pixels of the ROI).
        roi_scale: region side relative to the object box. generator: for the rotation samples.

    Returns:
        `ObjectInit`.
    """
    from hoFit.render import SilhouetteSettings

    dtype = vertices.dtype
    T = masks.shape[0]
    settings = SilhouetteSettings(sigma_px=silhouette_sigma)
    H = max(int(config.hypotheses), 1)
    rotations = random_rotations(H, generator=generator, dtype=dtype).to(vertices.device)

    def prepare(resolution):
        rois, K_roi = square_rois(boxes, K, roi_scale, resolution)
        target = crop_images(masks.to(dtype), rois, resolution)
        ok = crop_images(valid.to(dtype), rois, resolution, mode="nearest") > 0.5
        return K_roi, target, ok

    K_low, target_low, valid_low = prepare(config.resolution)
    rot_all = rotations[:, None].expand(H, T, 3, 3)
    transl = translation_from_box(vertices, rot_all.reshape(H * T, 3, 3), boxes.repeat(H, 1), K).view(H, T, 3)
    rot6d = matrix_to_rotation_6d(rot_all)
    rot6d, transl, iou = _fit_tracks(
        vertices, faces, rot6d, transl, K_low, target_low, valid_low,
        config.iterations, config.lr, config.smoothness, settings, config.resolution,
    )
    weight = present.to(dtype)
    scores = (iou * weight).sum(dim=1) / weight.sum().clamp(min=1.0)
    top = scores.argsort(descending=True)[: max(1, min(config.refine_top, H))]

    K_high, target_high, valid_high = prepare(config.refine_resolution)
    rot6d_top, transl_top, iou_top = _fit_tracks(
        vertices, faces, rot6d[top], transl[top], K_high, target_high, valid_high,
        config.refine_iterations, config.lr * 0.5, config.smoothness, settings, config.refine_resolution,
    )
    refined_scores = (iou_top * weight).sum(dim=1) / weight.sum().clamp(min=1.0)
    order = refined_scores.argsort(descending=True)
    best = int(order[0])
    return ObjectInit(
        rotation=rotation_6d_to_matrix(rot6d_top[best]),
        translation=transl_top[best],
        iou=iou_top[best],
        track_scores=scores,
        candidate_rotations=rotation_6d_to_matrix(rot6d_top[order]),
        candidate_translations=transl_top[order],
        candidate_scores=refined_scores[order],
    )
