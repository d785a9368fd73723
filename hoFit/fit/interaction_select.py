"""Choosing among object-pose tracks that explain the mask almost equally well, using the hand.

Silhouettes leave an object's pose ambiguous (a mug seen from the side looks the same with its handle
turned towards or away from the camera). The hand that holds the object is evidence the mask lacks: of
the tracks whose mask IoU is within ``iou_margin`` of the best, keep the one whose surface the hand's
contact regions touch best without entering it.
"""

from __future__ import annotations

import torch

from hoFit.fit.losses import object_signed_distance

__all__ = ["interaction_score", "select_track"]


def interaction_score(
    contact_points: list[torch.Tensor], hand_points: list[torch.Tensor], sdf, rotations: torch.Tensor, translations: torch.Tensor
) -> torch.Tensor:
    """Hand-object consistency of candidate tracks, in centimetres (lower is better).

    Args:
        contact_points: per hand, (T, C, 3) camera-frame contact-region vertices.
        hand_points: per hand, (T, V, 3) all hand vertices.
        sdf: template-frame signed distance (negative inside), metres.
        rotations: (K, T, 3, 3). translations: (K, T, 3).

    Returns:
        (K,): mean over frames of (median distance from contact vertices to the surface, clipped at 5 cm)
        plus (mean penetration depth of the penetrating hand vertices).
    """
    K, T = rotations.shape[:2]
    score = rotations.new_zeros(K)
    for contact, hand in zip(contact_points, hand_points):
        flat_r = rotations.reshape(K * T, 3, 3)
        flat_t = translations.reshape(K * T, 3)
        contact_k = contact[None].expand(K, *contact.shape).reshape(K * T, *contact.shape[1:])
        hand_k = hand[None].expand(K, *hand.shape).reshape(K * T, *hand.shape[1:])
        gap = object_signed_distance(contact_k, sdf, flat_r, flat_t, 1.0).abs().median(dim=-1).values.clamp(max=0.05)
        depth = torch.relu(-object_signed_distance(hand_k, sdf, flat_r, flat_t, 1.0))
        penetration = depth.sum(dim=-1) / (depth > 0).sum(dim=-1).clamp(min=1)
        score = score + 100.0 * (gap + penetration).view(K, T).mean(dim=1)
    return score


def select_track(ious: torch.Tensor, interaction: torch.Tensor, iou_margin: float) -> int:
    """Index of the track with the best interaction score among those within ``iou_margin`` of the best IoU."""
    eligible = ious >= ious.max() - iou_margin
    masked = torch.where(eligible, interaction, torch.full_like(interaction, float("inf")))
    return int(masked.argmin())
