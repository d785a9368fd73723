"""Object poses carried from frame to frame by the hand that holds the object.

A held object keeps its pose relative to the hand. When the silhouette fit leaves some frames in a wrong
local minimum (a thin box seen edge-on, or turned the wrong way where the initial hand misled the object
search) while others are right, the right frames' hand-relative pose, placed with each frame's hand,
proposes a pose for every other frame; a frame takes the proposal whose silhouette matches its mask best,
if it matches clearly better than its current pose.
"""

from __future__ import annotations

import torch

from hoFit.geometry.rotations import matrix_to_rotation_6d, rotation_6d_to_matrix

__all__ = ["hand_relative_proposals", "transfer_object_poses"]


def hand_relative_proposals(
    hand_rotation: torch.Tensor, hand_origin: torch.Tensor, object_rotation: torch.Tensor, object_translation: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every frame's object pose relative to the hand, placed with every frame's hand.

    Args:
        hand_rotation: (T, 3, 3) hand-to-camera rotations. hand_origin: (T, 3) a point fixed to the hand
            (its wrist), metres.
        object_rotation: (T, 3, 3) object-to-camera rotations. object_translation: (T, 3) metres.

    Returns:
        (rotation (S, T, 3, 3), translation (S, T, 3)): entry [s, t] is frame s's object pose in the hand's
        frame placed with frame t's hand; entry [t, t] is frame t's own pose.
    """
    relative_rotation = hand_rotation.transpose(1, 2) @ object_rotation  # (S, 3, 3)
    relative_translation = (hand_rotation.transpose(1, 2) @ (object_translation - hand_origin)[..., None])[..., 0]
    rotation = hand_rotation[None] @ relative_rotation[:, None]  # (S, T, 3, 3)
    translation = (hand_rotation[None] @ relative_translation[:, None, :, None])[..., 0] + hand_origin[None]
    return rotation, translation


def _silhouette_errors(rotation, translation, state, object_vertices, object_faces, data, settings) -> torch.Tensor:
    """(S, T) silhouette loss of object poses (S, T, 3, 3) / (S, T, 3) in every frame's region."""
    from hoFit.render import soft_silhouette

    from hoFit.fit.losses import silhouette_errors

    size = (data.roi_resolution, data.roi_resolution)
    errors = []
    for r, t in zip(rotation, translation):  # one source at a time bounds the memory
        posed = (object_vertices[None] * state.object_scale) @ r.transpose(1, 2) + t[:, None]
        rendered = soft_silhouette(posed, object_faces, data.K_roi, size, settings)
        errors.append(silhouette_errors(rendered, data.object_mask_roi, data.object_valid_roi))
    return torch.stack(errors)


@torch.no_grad()
def transfer_object_poses(
    params, data, layers, object_vertices, object_faces, base_scale: float, settings, hand: int = 0, sources: int = 8,
    margin: float = 0.3,
):
    """Replace, in place, the object pose of every frame whose silhouette a hand-carried pose matches better.

    Args:
        params: the `FitParameters` (their object pose is updated in place).
        data: the clip's `FitData` (region targets and valid pixels).
        layers: the hand layers. object_vertices: (V, 3) template, metres before ``base_scale``.
        object_faces: (F, 3). settings: the renderer's `SilhouetteSettings`.
        hand: the hand that carries the object.
        sources: the frames whose silhouettes match best give their poses (at most this many: the cost is
            ``sources`` renders per frame).
        margin: a frame takes a carried pose only if its silhouette loss is lower by this fraction (poses that
            are equally good stay where their own frame's fit put them).

    Returns:
        (T,) bool tensor, the frames whose pose was replaced. Frames without an object cue or without the
        hand's keypoints neither give nor take a pose.
    """
    from hoFit.fit.problem import pose_scene

    T = params.object_rot.shape[0]
    state = pose_scene(params, layers, object_vertices, base_scale)
    frames = torch.arange(T, device=params.object_rot.device)
    current = _silhouette_errors(
        state.object_rotation[None], state.object_translation[None], state, object_vertices, object_faces, data, settings
    )[0]
    usable = data.object_present & (data.hands[hand].confidence > 0).any(dim=-1)
    if int(usable.sum()) < 2:
        return torch.zeros(T, dtype=torch.bool, device=frames.device)
    ranked = torch.where(usable, current, torch.full_like(current, float("inf"))).argsort()
    chosen = ranked[: min(sources, int(usable.sum()))]
    rotation, translation = hand_relative_proposals(
        rotation_6d_to_matrix(params.hand_orient[hand]), state.hand_outputs[hand].joints[:, 0],
        state.object_rotation, state.object_translation,
    )
    error = _silhouette_errors(rotation[chosen], translation[chosen], state, object_vertices, object_faces, data, settings)
    best_error, best = error.min(dim=0)  # per target frame, over the chosen sources
    source = chosen[best]
    replaced = usable & (source != frames) & (best_error < (1.0 - margin) * current)
    # Frames that keep their pose keep their parameters exactly (the 6D vector, not only its rotation).
    carried = matrix_to_rotation_6d(rotation[source, frames]).to(params.object_rot.dtype)
    params.object_rot.copy_(torch.where(replaced[:, None], carried, params.object_rot))
    params.object_transl.copy_(torch.where(replaced[:, None], translation[source, frames], params.object_transl))
    return replaced
