"""Choosing among object-pose tracks that explain the mask almost equally well, using the hand.

Silhouettes leave an object's pose ambiguous (a mug seen from the side looks the same with its handle
turned towards or away from the camera). The hand that holds the object is evidence the mask lacks: of
the tracks whose mask IoU is within ``iou_margin`` of the best, keep the one whose surface the hand's
contact regions touch best without entering it.

The hand's depth from 2D keypoints is uncertain by a few percent (its size is unknown), so a track is
scored with the hand scaled about the camera centre by the factor (shared over the clip, among
``hand_scales``) that suits the track best: scaling about the camera centre keeps every keypoint's
projection.
"""

from __future__ import annotations

import torch

from hoFit.fit.losses import object_signed_distance

__all__ = ["contact_regions", "grasp_gap_and_penetration", "grasp_scores", "select_track"]


def contact_regions(layer) -> tuple[torch.Tensor, torch.Tensor]:
    """The contact vertices of a hand layer grouped by region: (C,) vertex ids and (C,) region index."""
    ids, regions = [], []
    for index, name in enumerate(sorted(layer.contact_vertex_ids)):
        vertex_ids = torch.as_tensor(layer.contact_vertex_ids[name], dtype=torch.long)
        ids.append(vertex_ids)
        regions.append(torch.full_like(vertex_ids, index))
    return torch.cat(ids), torch.cat(regions)


def grasp_scores(
    contact_points: list[torch.Tensor],
    hand_points: list[torch.Tensor],
    sdf,
    rotations: torch.Tensor,
    translations: torch.Tensor,
    contact_regions: list[torch.Tensor] | None = None,
    touching_regions: int = 3,
    hand_scales: tuple[float, ...] = (1.0,),
    object_scale: float = 1.0,
) -> torch.Tensor:
    """How badly each hand, scaled by each factor, holds each candidate track: (K, H, S) centimetres.

    Args:
        contact_points: per hand, (T, C, 3) camera-frame contact-region vertices.
        hand_points: per hand, (T, V, 3) all hand vertices.
        sdf: template-frame signed distance (negative inside), metres.
        rotations: (K, T, 3, 3). translations: (K, T, 3).
        contact_regions: per hand, (C,) long region index of each contact vertex (e.g. fingertip pads,
            palm), or None (then the gap is the median contact-vertex distance).
        touching_regions: a grasp touches the object with at least this many regions.
        hand_scales: (S,) factors scaling each hand about the camera centre (which keeps its projection).
        object_scale: the object's metric scale relative to the template of ``sdf``.

    Returns:
        (K, H, S): the mean over frames of (gap + penetration), where gap is the mean of the
        ``touching_regions`` smallest region-to-surface distances (a region's distance is its closest
        vertex's |signed distance|, clipped at 5 cm) -- without regions, the median contact-vertex
        distance -- and penetration is the mean depth of the penetrating hand vertices.
    """
    K, T = rotations.shape[:2]
    flat_r = rotations.reshape(K * T, 3, 3)
    flat_t = translations.reshape(K * T, 3)
    scores = rotations.new_empty((K, len(contact_points), len(hand_scales)))
    for h, (contact, hand) in enumerate(zip(contact_points, hand_points)):
        regions = None if contact_regions is None else contact_regions[h]
        for i, s in enumerate(hand_scales):
            contact_k = (contact * s)[None].expand(K, *contact.shape).reshape(K * T, *contact.shape[1:])
            hand_k = (hand * s)[None].expand(K, *hand.shape).reshape(K * T, *hand.shape[1:])
            value = grasp_gap_and_penetration(
                contact_k, hand_k, sdf, flat_r, flat_t, object_scale, regions, touching_regions
            )
            scores[:, h, i] = 100.0 * value.view(K, T).mean(dim=1)
    return scores


def grasp_gap_and_penetration(
    contact: torch.Tensor,
    hand: torch.Tensor,
    sdf,
    rotation: torch.Tensor,
    translation: torch.Tensor,
    object_scale: float = 1.0,
    regions: torch.Tensor | None = None,
    touching_regions: int = 3,
) -> torch.Tensor:
    """How badly a hand holds a posed object, per item: gap plus penetration, metres.

    Args:
        contact: (B, C, 3) camera-frame contact-region vertices. hand: (B, V, 3) hand vertices tested
            for penetration (a subset is enough).
        sdf: template-frame signed distance (negative inside). rotation (B, 3, 3), translation (B, 3),
            object_scale: the object's pose and metric scale.
        regions: (C,) long region index of each contact vertex, or None.
        touching_regions: how many of the closest regions the gap averages.

    Returns:
        (B,): the gap -- mean of the ``touching_regions`` smallest region-to-surface distances (a region's
        distance is its closest vertex's |signed distance|, clipped at 5 cm), or without regions the
        median contact-vertex distance -- plus the mean depth of the penetrating hand vertices.
    """
    distance = object_signed_distance(contact, sdf, rotation, translation, object_scale).abs().clamp(max=0.05)
    if regions is None:
        gap = distance.median(dim=-1).values
    else:
        B = distance.shape[0]
        count = int(regions.max()) + 1
        index = regions.to(distance.device)[None].expand(B, -1)
        per_region = distance.new_full((B, count), 0.05).scatter_reduce(1, index, distance, "amin")
        gap = per_region.topk(min(touching_regions, count), dim=-1, largest=False).values.mean(dim=-1)
    depth = torch.relu(-object_signed_distance(hand, sdf, rotation, translation, object_scale))
    penetration = depth.sum(dim=-1) / (depth > 0).sum(dim=-1).clamp(min=1)
    return gap + penetration


def select_track(ious: torch.Tensor, interaction: torch.Tensor, iou_margin: float, min_gain: float = 0.0) -> int:
    """Index of the track with the best interaction score among those within ``iou_margin`` of the best IoU;
    the best-IoU track stays unless that score beats its own by more than ``min_gain`` (same unit)."""
    eligible = ious >= ious.max() - iou_margin
    masked = torch.where(eligible, interaction, torch.full_like(interaction, float("inf")))
    chosen, best_iou = int(masked.argmin()), int(ious.argmax())
    if float(interaction[chosen]) >= float(interaction[best_iou]) - min_gain:
        return best_iou
    return chosen
