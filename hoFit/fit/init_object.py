"""Object pose initialization by many silhouette-fitted hypotheses carried as tracks over the clip.

As in PHOSA and HOMan, rotations are sampled uniformly on SO(3) and each is fitted to the occlusion-aware
object mask. hoFit makes this cheap: every hypothesis is one *track* (its rotation seeds every frame, and
the frames of a track are optimized together with a smoothness term, optionally with a shared depth
factor), the translation of each hypothesis and frame starts from a closed form (depth from the
template's projected size against the box), all tracks are scored at a low resolution in one batch, and
only the best few are refined at a higher one, together with the best one turned by 180 degrees about
each of the template's principal axes (`half_turns`), which no local step reaches.
The refined tracks are returned best first (by mean mask IoU); the fitter may break near-ties with the
hand (see `hoFit.fit.interaction_select`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hoFit.fit.config import ObjectInitConfig
from hoFit.fit.losses.image import silhouette_errors
from hoFit.fit.targets import crop_images, matched_mask_targets, square_rois
from hoFit.geometry.rotations import matrix_to_rotation_6d, random_rotations, rotation_6d_to_matrix, spread_rotations

__all__ = ["HandContact", "ObjectInit", "half_turns", "translation_from_box", "initialize_object"]


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


@dataclass
class HandContact:
    """The initial hand, as evidence for the object's pose during the search.

    Attributes:
        contact: (T, C, 3) camera-frame contact-region vertices, metres.
        regions: (C,) long region index of each contact vertex.
        hand: (T, V, 3) camera-frame hand vertices tested for penetration (a subset is enough).
        sdf: template-frame signed distance (negative inside), metres, of the template before ``scale``.
        touching_regions: the gap is the mean distance of this many closest regions to the surface.
        weight: multiplies the per-frame (gap + penetration depth) in centimetres.
        scale: the object's metric scale relative to the template of ``sdf``.
    """

    contact: torch.Tensor
    regions: torch.Tensor
    hand: torch.Tensor
    sdf: object
    touching_regions: int = 3
    weight: float = 0.02
    scale: float = 1.0

    def loss(self, rotation: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
        """(N, T) weighted contact loss of N tracks; rotation (N, T, 3, 3), translation (N, T, 3)."""
        from hoFit.fit.interaction_select import grasp_gap_and_penetration

        N, T = rotation.shape[:2]
        contact = self.contact[None].expand(N, *self.contact.shape).reshape(N * T, *self.contact.shape[1:])
        hand = self.hand[None].expand(N, *self.hand.shape).reshape(N * T, *self.hand.shape[1:])
        value = grasp_gap_and_penetration(
            contact, hand, self.sdf, rotation.reshape(N * T, 3, 3), translation.reshape(N * T, 3), self.scale,
            self.regions, self.touching_regions,
        )
        return self.weight * 100.0 * value.view(N, T)


def _object_rotations(relative: torch.Tensor, base: torch.Tensor | None) -> torch.Tensor:
    """(N, T, 3, 3) object rotations of tracks whose rotations ``relative`` (N, T, 3, 3) are relative to the
    hand's ``base`` (T, 3, 3) (object rotation = base @ relative), or absolute where ``base`` is None."""
    return relative if base is None else base[None] @ relative


def half_turns(vertices: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotations by 180 degrees about a template's three principal axes, and the centre they turn about.

    Boxes, bottles, cans and mugs are nearly symmetric under these turns: a silhouette search that ends
    in the wrong one of such poses (a mug's handle on the far side, a bottle upside down) has a close
    rival that a local optimizer cannot reach from there. The axes are those of the surface's second
    moment (area-weighted, so that a finely meshed part does not tilt them), about its centroid.

    Args:
        vertices: (V, 3) template vertices. faces: (F, 3) long.

    Returns:
        turns: (3, 3, 3) rotations ``2 a a^T - I`` about the unit principal axes ``a`` through the centre,
            the axis of the smallest spread first.
        centre: (3,) the surface's centroid.
    """
    corners = vertices[faces]  # (F, 3, 3)
    area = torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]).norm(dim=-1) / 2
    total = corners.sum(dim=1)  # (F, 3): a + b + c
    centre = (area[:, None] * total).sum(dim=0) / (3.0 * area.sum())
    # a triangle's integral of p p^T over its area: A / 12 (a a^T + b b^T + c c^T + s s^T), s = a + b + c
    moment = corners.transpose(1, 2) @ corners + total[:, :, None] * total[:, None, :]
    second = (area[:, None, None] * moment).sum(dim=0) / (12.0 * area.sum()) - torch.outer(centre, centre)
    _, axes = torch.linalg.eigh(second)  # columns: unit principal axes
    axes = axes.T  # (3, 3): one axis per row
    eye = torch.eye(3, dtype=vertices.dtype, device=vertices.device)
    return 2.0 * axes[:, :, None] * axes[:, None, :] - eye, centre


def _turned_tracks(rot6d, transl, base, turns, centre):
    """Every track of (N, T) relative rotations ``rot6d`` (6D) and translations ``transl`` (N, T, 3) turned by
    each of ``turns`` (K, 3, 3) in the object's frame about ``centre`` (3,), which stays in place.
    ``base``: (T, 3, 3) or None, as in `_fit_tracks`. Returns (N * K, T, 6) and (N * K, T, 3), track-major."""
    N, T = rot6d.shape[:2]
    K = turns.shape[0]
    relative = rotation_6d_to_matrix(rot6d)  # (N, T, 3, 3)
    absolute = _object_rotations(relative, base)
    turned = relative[:, None] @ turns[None, :, None]  # (N, K, T, 3, 3)
    # R x + t with R -> R F keeps the centre c where it was: t' = t + R (c - F c)
    shift = centre[None] - turns @ centre  # (K, 3)
    moved = transl[:, None] + torch.einsum("ntij,kj->nkti", absolute, shift)  # (N, K, T, 3)
    return matrix_to_rotation_6d(turned).reshape(N * K, T, 6), moved.reshape(N * K, T, 3)


# Adam step size of a track's log depth factor: about 1 % of the depth per step, whatever the clip's length.
DEPTH_LR = 0.01


def _fit_tracks(
    vertices, faces, rot6d, transl, K_roi, target, valid, iterations, lr, smoothness, settings, resolution, base=None,
    hand: HandContact | None = None, depth_factor: bool = False,
):
    """Adam on (N, T) hypotheses; returns refined (rot6d, transl) and per-(N, T) IoU.

    ``rot6d`` are rotations relative to ``base`` (T, 3, 3) when given (object rotation = base @ relative),
    so that the smoothness term acts on the relative rotation. Translations are smoothed by their
    acceleration (the object moves). ``hand`` adds its contact loss.

    With ``depth_factor``, each track also has one factor scaling all its translations about the camera
    centre (keeping every frame's projected position): per-frame translations under the smoothness term
    move a whole track along the viewing rays slowly, so a track that starts at the wrong depth (its
    hand-relative start inherits the initial hand's depth, which noisy keypoints bias towards the camera)
    would keep most of that error."""
    from hoFit.render import soft_silhouette

    N, T = rot6d.shape[:2]
    rot6d = rot6d.clone().requires_grad_(True)
    transl = transl.clone().requires_grad_(True)
    groups = [{"params": [rot6d], "lr": lr * 10}, {"params": [transl], "lr": lr}]
    if depth_factor:
        log_depth = torch.zeros(N, 1, 1, dtype=transl.dtype, device=transl.device, requires_grad=True)
        groups.append({"params": [log_depth], "lr": DEPTH_LR})
    optimizer = torch.optim.Adam(groups)
    K_all = K_roi[None].expand(N, T, 3, 3).reshape(N * T, 3, 3)
    target_all = target[None].expand(N, T, resolution, resolution)
    valid_all = valid[None].expand(N, T, resolution, resolution).to(target.dtype)

    def absolute(r6):
        return _object_rotations(rotation_6d_to_matrix(r6), base)

    def render(r6, tr):
        rotation = absolute(r6).reshape(N * T, 3, 3)
        posed = vertices[None] @ rotation.transpose(1, 2) + tr.reshape(N * T, 1, 3)
        return soft_silhouette(posed, faces, K_all, (resolution, resolution), settings).view(N, T, resolution, resolution)

    def track(tr):
        return tr * log_depth.exp() if depth_factor else tr

    order = 2 if T > 2 else 1
    for _ in range(iterations):
        optimizer.zero_grad()
        placed = track(transl)
        per_item = silhouette_errors(render(rot6d, placed), target_all, valid_all)
        if hand is not None:
            per_item = per_item + hand.loss(absolute(rot6d), placed)
        loss = per_item.sum()
        if smoothness > 0 and T > 1:
            loss = loss + smoothness * (
                torch.diff(transl, n=order, dim=1).pow(2).sum() * 1e2 + torch.diff(rot6d, dim=1).pow(2).sum() * 1e-2
            )
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        transl = track(transl)
        hard = render(rot6d, transl) > 0.5
        truth = target_all > 0.5
        v = valid_all > 0
        inter = (hard & truth & v).sum(dim=(-1, -2)).to(target.dtype)
        union = ((hard | truth) & v).sum(dim=(-1, -2)).to(target.dtype)
        iou = inter / union.clamp(min=1.0)
    return rot6d.detach(), transl.detach(), iou


def _hand_relative_translation(
    box_translation: torch.Tensor,
    hand_rotations: torch.Tensor,
    hand_positions: torch.Tensor,
    present: torch.Tensor,
    excess_weight: float = 4.0,
) -> torch.Tensor:
    """Initial translations of tracks held rigidly by the hand, from per-frame box translations.

    The box is the *visible* mask's: where the hand hides part of the object, the box is too small and its
    depth too large, so a box depth is an upper bound of the true one. The object's offset in the hand's
    frame is constant; each frame proposes the offset of its box translation, placed in every frame; the
    proposal with the smallest asymmetric L1 residual to the box depths wins, a depth beyond a box's
    costing ``excess_weight`` times one short of it (the least occluded frame's proposal).

    Args:
        box_translation: (N, T, 3) per track and frame, from `translation_from_box`.
        hand_rotations: (T, 3, 3). hand_positions: (T, 3). present: (T,) bool, frames with an object cue.

    Returns:
        (N, T, 3) metres.
    """
    offsets = ((box_translation - hand_positions)[..., None, :] @ hand_rotations)[..., 0, :]  # (N, T, 3) hand frame
    # implied[n, a, t] = R_t offsets[n, a] + p_t: frame a's proposal placed in frame t
    implied = torch.einsum("tij,naj->nati", hand_rotations, offsets) + hand_positions[None, None]
    residual = (implied[..., 2] - box_translation[:, None, :, 2]) * present.to(implied.dtype)
    cost = (excess_weight * torch.relu(residual) + torch.relu(-residual)).sum(dim=-1)
    cost = cost + torch.where(present, 0.0, float("inf")).to(implied.dtype)[None]
    choice = cost.argmin(dim=1)  # (N,)
    return implied[torch.arange(implied.shape[0], device=implied.device), choice]


def initialize_object(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    mask_distance: torch.Tensor,
    valid: torch.Tensor,
    boxes: torch.Tensor,
    present: torch.Tensor,
    K: torch.Tensor,
    config: ObjectInitConfig,
    silhouette_sigma: float = 1.0,
    roi_scale: float = 1.3,
    generator: torch.Generator | None = None,
    hand_rotations: torch.Tensor | None = None,
    hand: HandContact | None = None,
    hand_positions: torch.Tensor | None = None,
    search_mesh: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> ObjectInit:
    """Search the object's pose in every frame.

    Args:
        vertices: (V, 3) template vertices already scaled to metres. faces: (F, 3).
        mask_distance: (T, H, W) signed distance to the object masks' edges (full image, pixels, negative
            inside; `hoFit.fit.targets.mask_signed_distance`).
        valid: (T, H, W) bool, pixels that count (not unknown, not covered by the hand).
        boxes: (T, 4) object boxes (pixels), interpolated where absent.
        present: (T,) bool, frames with an object cue; others do not vote for a track.
        K: (3, 3) full-image intrinsics.
        config: search settings. silhouette_sigma: soft-silhouette band (pixels of the ROI).
        roi_scale: region side relative to the object box. generator: for the rotation samples.
        hand_rotations: (T, 3, 3) global rotations of the hand that holds the object, or None. When given,
            a hypothesis is a rotation *relative to the hand* (object rotation = hand rotation @ hypothesis),
            so that every track follows the hand's rotation over the clip from the start (the object is
            held rigidly), and the track smoothness acts on the hand-relative rotation.
        hand_positions: (T, 3) a point fixed to the hand (e.g. its wrist), metres, with ``hand_rotations``:
            each track's initial translations then keep one offset in the hand's frame over the clip (see
            `_hand_relative_translation`).
        hand: the initial hand's contact evidence (`HandContact`), added to every track's silhouette loss
            during the search and the refinement, or None.
        search_mesh: vertices (V', 3), scaled like ``vertices``, and faces (F', 3) of a coarser copy of the
            template (`ObjectTemplate.decimated`) that the search of every hypothesis renders; the refinement
            of the best tracks renders the template itself. None renders the template throughout.

    Returns:
        `ObjectInit`.
    """
    from hoFit.render import SilhouetteSettings

    dtype = vertices.dtype
    T = mask_distance.shape[0]
    settings = SilhouetteSettings(sigma_px=silhouette_sigma)
    H = max(int(config.hypotheses), 1)
    sample = spread_rotations if config.sampling == "spread" else random_rotations
    rotations = sample(H, generator=generator, dtype=dtype).to(vertices.device)

    def prepare(resolution):
        rois, K_roi = square_rois(boxes, K, roi_scale, resolution)
        target = matched_mask_targets(mask_distance, rois, resolution, settings)
        ok = crop_images(valid.to(dtype), rois, resolution, mode="nearest") > 0.5
        return K_roi, target, ok

    K_low, target_low, valid_low = prepare(config.resolution)
    base = None if hand_rotations is None else hand_rotations.to(dtype)
    rot_rel = rotations[:, None].expand(H, T, 3, 3)
    rot_all = _object_rotations(rot_rel, base)
    transl = translation_from_box(vertices, rot_all.reshape(H * T, 3, 3), boxes.repeat(H, 1), K).view(H, T, 3)
    if base is not None and hand_positions is not None and T > 1:
        transl = _hand_relative_translation(transl, base, hand_positions.to(dtype), present)
    rot6d = matrix_to_rotation_6d(rot_rel)
    search_vertices, search_faces = (vertices, faces) if search_mesh is None else search_mesh
    rot6d, transl, iou = _fit_tracks(
        search_vertices, search_faces, rot6d, transl, K_low, target_low, valid_low,
        config.iterations, config.lr, config.smoothness, settings, config.resolution, base, hand,
        config.track_depth_factor,
    )
    weight = present.to(dtype)
    scores = (iou * weight).sum(dim=1) / weight.sum().clamp(min=1.0)
    top = scores.argsort(descending=True)[: max(1, min(config.refine_top, H))]

    rot6d_top, transl_top = rot6d[top], transl[top]
    if config.turn_top > 0:  # the best tracks' half-turned rivals are refined beside them
        turns, centre = half_turns(vertices, faces)
        k = min(int(config.turn_top), len(top))
        turned_rot6d, turned_transl = _turned_tracks(rot6d_top[:k], transl_top[:k], base, turns, centre)
        rot6d_top = torch.cat([rot6d_top, turned_rot6d])
        transl_top = torch.cat([transl_top, turned_transl])

    K_high, target_high, valid_high = prepare(config.refine_resolution)
    rot6d_top, transl_top, iou_top = _fit_tracks(
        vertices, faces, rot6d_top, transl_top, K_high, target_high, valid_high,
        config.refine_iterations, config.lr * 0.5, config.smoothness, settings, config.refine_resolution, base, hand,
        config.track_depth_factor,
    )
    refined_scores = (iou_top * weight).sum(dim=1) / weight.sum().clamp(min=1.0)
    order = refined_scores.argsort(descending=True)
    best = int(order[0])
    absolute = _object_rotations(rotation_6d_to_matrix(rot6d_top), base)
    return ObjectInit(
        rotation=absolute[best],
        translation=transl_top[best],
        iou=iou_top[best],
        track_scores=scores,
        candidate_rotations=absolute[order],
        candidate_translations=transl_top[order],
        candidate_scores=refined_scores[order],
    )
