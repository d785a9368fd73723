"""Object poses carried between frames by the hand: the proposals' closed form, and a frame knocked out of
its pose recovered from the others on a synthetic clip; on the same clip, the object's silhouette residual."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hoFit.data.synth.generator import SynthConfig, generate_clip
from hoFit.fit.problem import FitParameters, build_fit_data
from hoFit.fit.transfer import hand_relative_proposals, transfer_object_poses
from hoFit.geometry.rotations import matrix_to_rotation_6d, rotation_6d_to_matrix
from hoFit.models.hand import HandConfig, hand_layer_from_config
from hoFit.render import SilhouetteSettings


def _random_rotations(count: int, seed: int) -> torch.Tensor:
    return torch.as_tensor(Rotation.random(count, random_state=seed).as_matrix())


def test_proposals_keep_each_frames_pose_in_the_hands_frame():
    T = 4
    hand_rotation, object_rotation = _random_rotations(T, 0), _random_rotations(T, 1)
    generator = torch.Generator().manual_seed(2)
    hand_origin = torch.randn(T, 3, generator=generator, dtype=torch.float64)
    object_translation = torch.randn(T, 3, generator=generator, dtype=torch.float64)
    rotation, translation = hand_relative_proposals(hand_rotation, hand_origin, object_rotation, object_translation)
    assert rotation.shape == (T, T, 3, 3) and translation.shape == (T, T, 3)
    for s in range(T):
        torch.testing.assert_close(rotation[s, s], object_rotation[s])
        torch.testing.assert_close(translation[s, s], object_translation[s])
        for t in range(T):
            # in frame t's hand frame, the proposal is frame s's object in frame s's hand frame
            torch.testing.assert_close(
                hand_rotation[t].T @ rotation[s, t], hand_rotation[s].T @ object_rotation[s]
            )
            torch.testing.assert_close(
                hand_rotation[t].T @ (translation[s, t] - hand_origin[t]),
                hand_rotation[s].T @ (object_translation[s] - hand_origin[s]),
            )


@pytest.fixture(scope="module")
def held_mug():
    """A mug clip with its true poses, and a hand that moves rigidly with the mug (constant relative pose)."""
    clip = generate_clip(
        SynthConfig(object="procedural:mug", num_frames=4, image_size=(96, 128), seed=1, pixel_noise=0.0)
    ).clip
    settings = SilhouetteSettings(sigma_px=0.5)
    data = build_fit_data(clip, 64, 1.3, torch.device("cpu"), torch.float64, settings)
    layer = hand_layer_from_config(HandConfig(num_pca_comps=6), dtype=torch.float64)
    template = clip.load_template()
    vertices = torch.as_tensor(np.asarray(template.vertices), dtype=torch.float64)
    faces = torch.as_tensor(np.asarray(template.faces), dtype=torch.int64)
    rotation = torch.as_tensor(np.asarray(clip.ground_truth.object_rotation), dtype=torch.float64)
    translation = torch.as_tensor(np.asarray(clip.ground_truth.object_translation), dtype=torch.float64)
    # The hand's rotation is the object's times a fixed offset, its wrist at a fixed point of the object.
    offset = torch.as_tensor(Rotation.from_rotvec([0.4, -0.2, 1.0]).as_matrix())
    hand_rotation = rotation @ offset
    T = rotation.shape[0]
    pca = torch.zeros(T, 6, dtype=torch.float64)
    betas = torch.zeros(1, 10, dtype=torch.float64)
    unmoved = layer(global_orient=matrix_to_rotation_6d(hand_rotation), articulation=pca, betas=betas.expand(T, -1),
                    transl=torch.zeros(T, 3, dtype=torch.float64))
    wrist = (rotation @ torch.tensor([0.05, 0.0, 0.02], dtype=torch.float64)) + translation
    params = FitParameters(
        hand_orient=[matrix_to_rotation_6d(hand_rotation)], hand_pca=[pca], hand_betas=[betas],
        hand_transl=[wrist - unmoved.joints[:, 0]], object_rot=matrix_to_rotation_6d(rotation).clone(),
        object_transl=translation.clone(), object_log_scale=torch.zeros(1, dtype=torch.float64),
        hand_log_scale=[torch.zeros(1, dtype=torch.float64)],
    )
    return clip, data, layer, vertices, faces, params, settings


def _knock(params: FitParameters, frame: int) -> None:
    """Turn one frame's object by 60 degrees."""
    turned = rotation_6d_to_matrix(params.object_rot[frame]) @ torch.as_tensor(Rotation.from_rotvec([0.0, 1.05, 0.0]).as_matrix())
    params.object_rot[frame] = matrix_to_rotation_6d(turned)


def test_a_frame_knocked_out_of_its_pose_takes_it_back_from_the_others(held_mug):
    clip, data, layer, vertices, faces, truth, settings = held_mug
    params = truth.snapshot()
    _knock(params, 2)
    untouched = params.object_rot.clone()
    replaced = transfer_object_poses(params, data, [layer], vertices, faces, float(clip.object_scale), settings)
    assert replaced.tolist() == [False, False, True, False]
    torch.testing.assert_close(rotation_6d_to_matrix(params.object_rot[2]), rotation_6d_to_matrix(truth.object_rot[2]))
    torch.testing.assert_close(params.object_transl[2], truth.object_transl[2])
    # the other frames keep their parameters exactly
    assert torch.equal(params.object_rot[[0, 1, 3]], untouched[[0, 1, 3]])


def test_frames_without_hand_keypoints_neither_give_nor_take(held_mug):
    clip, data, layer, vertices, faces, truth, settings = held_mug
    params = truth.snapshot()
    _knock(params, 2)
    knocked = params.object_rot.clone()
    data.hands[0].confidence[2] = 0.0
    try:
        replaced = transfer_object_poses(params, data, [layer], vertices, faces, float(clip.object_scale), settings)
    finally:
        data.hands[0].confidence[2] = 1.0
    assert not replaced.any()
    assert torch.equal(params.object_rot, knocked)


def test_the_transfer_point_is_a_fraction_of_the_stage():
    from hoFit.errors import HoFitError
    from hoFit.fit.config import StageConfig

    assert StageConfig(name="s", iterations=60, transfer_object_pose_at=0.6).transfer_object_pose_at == 0.6
    with pytest.raises(HoFitError, match="stage 's': transfer_object_pose_at is a fraction"):
        StageConfig(name="s", iterations=60, transfer_object_pose_at=36)


def test_the_object_silhouette_residual_is_the_stages_term_and_grows_off_the_masks(held_mug):
    """The residual that scales the stage-2 size search's prior (`hoFit.fit.api._object_silhouette_residual`)."""
    from hoFit.fit.api import _object_silhouette_residual
    from hoFit.fit.problem import compute_losses, pose_scene

    clip, data, layer, vertices, faces, params, settings = held_mug
    state = pose_scene(params, [layer], vertices, 1.0)
    at_truth = _object_silhouette_residual(state.object_vertices, faces, data, settings)
    term = compute_losses(state, params, data, [layer], faces, None, {"object_silhouette": 1.0}, settings, None, 0.005, 1.0)
    assert at_truth == pytest.approx(float(term["object_silhouette"]), rel=1e-12)
    knocked = FitParameters(**{**vars(params), "object_rot": params.object_rot.clone()})
    _knock(knocked, 2)
    off = _object_silhouette_residual(pose_scene(knocked, [layer], vertices, 1.0).object_vertices, faces, data, settings)
    # the soft silhouette's band leaves 0.002 at the true poses; one frame of four turned by 60 degrees: 0.012
    assert at_truth < 0.005 and off > 4 * at_truth
