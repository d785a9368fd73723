"""The whole fit on small synthetic clips with exact cues: recovery of known poses, two hands, resuming,
missing frames, rejected non-finite steps, determinism; collision on the real hand mesh."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from hoFit.config.schema import load_config
from hoFit.data.synth.generator import SynthConfig, generate_clip
from hoFit.data.synth.motion import MotionSettings
from hoFit.eval.evaluate import evaluate_result
from hoFit.fit.api import fit_clip

# A small clip: a box-shaped object (a mobile phone: its silhouette fixes the pose up to the box's own
# symmetries, if weakly when it faces the camera), close to the camera, the hand beside it. Its motion is what
# five consecutive video frames show (0.3 motion cycles over the clip): with a whole cycle in five frames, the
# default's object smoothness (tuned on 30-frame clips) costs about 1 cm of depth.
CLEAN = dict(
    object="procedural:mobile_phone", num_frames=5, image_size=(180, 240), seed=3, pixel_noise=0.0,
    motion=MotionSettings(distance_range=(0.4, 0.45), hand_view_angle=(95.0, 110.0), rotation_amplitude=0.3,
                          max_cycles=0.3),
)
# Issue 5's targets. The default preset (with the reduced iterations below) reaches rotation 1.0 degree (up to
# the phone's half turns), translation 0.17 cm, ADD-S 0.13 cm, keypoints 0.63 cm on this clip. Not every
# clip of this kind does: with seeds 4 and 5 the object search picks a wrong track (see the README's open
# work). A broken fit (a random object pose, the hand's depth off by its size prior) fails these by far.
# The fit is sensitive to the search's hypotheses: with the config's seed 1 or 2 instead of 0 the hand's
# keypoints end 1.74 or 1.19 cm off and seed 2 misses the object's bounds, and torch 2.11 (another CPU)
# failed the keypoint bound at seed 0 (README, "On a GPU"): the bounds hold for this platform's fit.
ROTATION_BOUND_DEG = 5.0
TRANSLATION_BOUND_CM = 1.0
ADD_S_BOUND_CM = 1.0
KEYPOINT_BOUND_CM = 1.5

# Reduced iterations (the default preset's structure, fewer steps).
FAST = [
    "device=cpu",
    "fit.object_init.hypotheses=32",
    "fit.stages.0.iterations=40",
    "fit.stages.1.iterations=25",
]

# A smoke configuration for tests about bookkeeping rather than accuracy.
TINY = [
    "device=cpu",
    "fit.hand_init.rotation_hypotheses=4",
    "fit.hand_init.rigid_iterations=5",
    "fit.hand_init.iterations=5",
    "fit.object_init.hypotheses=4",
    "fit.object_init.iterations=3",
    "fit.object_init.refine_top=2",
    "fit.object_init.refine_iterations=3",
    "fit.stages.0.iterations=4",
    "fit.stages.1.iterations=3",
]


@pytest.fixture(scope="module")
def clean_clip():
    torch.set_num_threads(1)
    return generate_clip(SynthConfig(**CLEAN)).clip


@pytest.fixture(scope="module")
def clean_fit(clean_clip):
    config = load_config("default", overrides=FAST)
    return fit_clip(clean_clip, config, progress=False)


def _keypoint_error_cm(result, clip, hand: int = 0) -> np.ndarray:
    """(T,) mean 3D keypoint error per frame, centimetres, unaligned."""
    truth = np.asarray(clip.ground_truth.hands[hand].joints)
    return 100 * np.linalg.norm(result.hands[hand].keypoints - truth, axis=-1).mean(axis=-1)


def test_fit_recovers_object_pose_and_hand_keypoints(clean_clip, clean_fit):
    metrics = evaluate_result(clean_fit, clean_clip, plausibility=False)
    assert metrics["object_rotation_error_sym"] < ROTATION_BOUND_DEG  # the phone's half turns are equivalent
    assert metrics["object_translation_error"] < TRANSLATION_BOUND_CM
    assert metrics["object_add_s"] < ADD_S_BOUND_CM
    assert _keypoint_error_cm(clean_fit, clean_clip).mean() < KEYPOINT_BOUND_CM
    assert all(np.isfinite(v).all() for v in clean_fit.losses["stage2"].values())


def test_resuming_stage_two_from_a_saved_stage_one_matches_the_full_fit(clean_clip, clean_fit, tmp_path):
    full = load_config("default", overrides=FAST)
    first = load_config("default", overrides=FAST)
    first.fit.stages = first.fit.stages[:1]
    stage1 = fit_clip(clean_clip, first, progress=False)
    stage1.save(tmp_path / "stage1", meshes=False)
    resumed = fit_clip(clean_clip, full, progress=False, resume=tmp_path / "stage1", start_stage=1)
    assert list(resumed.losses) == ["stage1", "stage2"]
    # Only the float32 round trip through the saved parameters separates the two runs.
    np.testing.assert_allclose(resumed.hands[0].keypoints, clean_fit.hands[0].keypoints, atol=1e-3)
    np.testing.assert_allclose(resumed.object.translation, clean_fit.object.translation, atol=1e-3)
    assert resumed.hands[0].scale == pytest.approx(clean_fit.hands[0].scale, abs=1e-4)  # the hand's size factor too
    # ... and stage 2 did change the stage-1 result.
    assert np.abs(stage1.hands[0].keypoints - resumed.hands[0].keypoints).max() > 1e-5


def test_two_hand_clip_fits():
    torch.set_num_threads(1)
    clip = generate_clip(
        SynthConfig(object="procedural:remote_control", two_hands=True, num_frames=4, image_size=(180, 240), seed=5,
                    pixel_noise=0.0, motion=MotionSettings(distance_range=(0.4, 0.45), rotation_amplitude=0.3))
    ).clip
    result = fit_clip(clip, load_config("default", overrides=FAST), progress=False)
    assert [h.side for h in result.hands] == [h.side for h in clip.hands] and len(result.hands) == 2
    # Reached: about 1.7 and 1.4 cm for the hands (their depth, from 4 frames), ADD-S 1.1 cm.
    for i in range(2):
        assert _keypoint_error_cm(result, clip, i).mean() < 2.0
    metrics = evaluate_result(result, clip, plausibility=False)
    assert metrics["object_add_s"] < 2.0


def _tiny_clip(seed: int = 1, frames: int = 4):
    return generate_clip(
        SynthConfig(object="procedural:can", num_frames=frames, image_size=(96, 128), seed=seed, pixel_noise=0.0,
                    motion=MotionSettings(distance_range=(0.35, 0.4)))
    ).clip


@pytest.mark.parametrize("limit", [None, 300])
def test_object_search_gets_the_template_decimated_to_its_face_limit(monkeypatch, limit):
    import hoFit.fit.api as api

    class Searched(Exception):
        pass

    def spy(vertices, faces, *args, search_mesh=None, **kwargs):
        raise Searched(vertices, faces.shape[0], search_mesh)

    monkeypatch.setattr(api, "initialize_object", spy)
    clip = _tiny_clip()
    # an object scale other than the clip's (1.0), which the coarse mesh must take too
    overrides = [f"fit.object_init.search_max_faces={limit or 'null'}", "object.scale=1.5"]
    config = load_config("default", overrides=TINY + overrides)
    with pytest.raises(Searched) as searched:
        fit_clip(clip, config, progress=False)
    vertices, template_faces, search_mesh = searched.value.args
    assert template_faces == 1280  # the procedural can
    if limit is None:
        assert search_mesh is None
    else:
        coarse_vertices, coarse_faces = search_mesh
        assert 0.9 * limit <= coarse_faces.shape[0] <= limit and int(coarse_faces.max()) < coarse_vertices.shape[0]
        # in the same frame and at the same metric scale as the template the search is given (within 3 mm)
        extent = lambda v: torch.stack([v.amin(0), v.amax(0)])  # noqa: E731
        torch.testing.assert_close(extent(coarse_vertices), extent(vertices), atol=0.003, rtol=0.0)


def test_frames_without_object_or_hand_cues_are_interpolated_and_marked():
    torch.set_num_threads(1)
    clip = _tiny_clip(frames=5)
    clip.hands[0].present[2] = False
    clip.hands[0].keypoints[2] = np.nan
    clip.hands[0].confidence[2] = 0.0
    clip.object.present[3] = False
    clip.object.masks.mask[3] = 0
    if clip.object.boxes is not None:
        clip.object.boxes[3] = np.nan
    result = fit_clip(clip, load_config("default", overrides=TINY), progress=False)
    assert result.hands[0].missing.tolist() == [False, False, True, False, False]
    assert result.object.missing.tolist() == [False, False, False, True, False]
    assert any("hand 0: frames [2] interpolated" in e for e in result.log)
    assert any("object: frames [3]" in e for e in result.log)
    # The interpolated hand lies between its neighbours (up to the optimization's pull).
    wrist = result.hands[0].keypoints[:, 0]
    assert np.linalg.norm(wrist[2] - (wrist[1] + wrist[3]) / 2) < 0.02
    assert np.isfinite(result.object.translation).all()


def test_a_hand_labelled_left_in_one_frame_is_fitted_as_the_one_right_hand():
    from hoFit.data.noise import NoiseConfig, apply_noise

    torch.set_num_threads(1)
    clip = _tiny_clip(frames=5)
    noisy = apply_noise(clip, NoiseConfig(handedness_swap_prob=0.3), seed=1)
    assert len(noisy.hands) == 2  # the noise model called the right hand left in frame 2: a one-frame track
    flipped = np.flatnonzero(noisy.hands[1].present).tolist()
    assert flipped == [2] and noisy.hands[1].side == "left"
    result = fit_clip(noisy, load_config("default", overrides=TINY), progress=False)
    assert [h.side for h in result.hands] == ["right"] and not result.hands[0].missing.any()
    assert any(f"present only in frames {flipped}" in e and "merged" in e for e in result.log)
    # with the merge disabled, the one-frame track is fitted as a second (left) hand
    config = load_config("default", overrides=TINY + ["fit.mislabeled_hand_fraction=0"])
    assert [h.side for h in fit_clip(noisy, config, progress=False).hands] == ["right", "left"]


def test_non_finite_step_is_rejected_and_logged(monkeypatch, caplog):
    torch.set_num_threads(1)
    from hoFit.fit import problem

    original = problem.L.pca_prior_loss
    calls = {"n": 0}

    def poisoned(pca):
        calls["n"] += 1
        value = original(pca)
        return value * float("nan") if calls["n"] == 2 else value

    monkeypatch.setattr(problem.L, "pca_prior_loss", poisoned)
    clip = _tiny_clip()
    with caplog.at_level(logging.WARNING, logger="hoFit.fit.optimize"):
        result = fit_clip(clip, load_config("default", overrides=TINY), progress=False)
    message = "stage1 iteration 1: non-finite loss or gradient, step rejected, lr halved"
    assert message in result.log
    assert any(message in record.getMessage() for record in caplog.records)
    assert np.isfinite(result.hands[0].keypoints).all() and np.isfinite(result.object.vertices).all()
    # the rejected step logged no loss: 4 iterations, 3 entries
    assert len(result.losses["stage1"]["total"]) == 3


def test_fit_is_deterministic_for_a_seed():
    torch.set_num_threads(1)
    clip = _tiny_clip(seed=2)
    config = load_config("default", overrides=TINY)
    a = fit_clip(clip, config, progress=False)
    b = fit_clip(clip, config, progress=False)
    np.testing.assert_array_equal(a.hands[0].vertices, b.hands[0].vertices)
    np.testing.assert_array_equal(a.object.rotation, b.object.rotation)
    np.testing.assert_array_equal(a.object.translation, b.object.translation)


def test_collision_separates_the_real_hand_mesh_from_a_procedural_object():
    from hoFit.fit import losses as L
    from hoFit.models.hand import create_hand_layer
    from hoFit.models.objects import procedural_template, sdf_grid

    torch.set_num_threads(1)
    layer = create_hand_layer("openhand", num_pca_comps=15)
    with torch.no_grad():
        hand = layer(
            global_orient=torch.zeros(1, 3), articulation=torch.zeros(1, 15), betas=torch.zeros(1, 10),
            transl=torch.zeros(1, 3),
        ).vertices
    template = procedural_template("ball")
    sdf = sdf_grid(template, resolution=32).query
    # the ball's centre on the palm's centroid: deep interpenetration
    R = torch.eye(3)[None]
    t = hand.mean(dim=1).clone().requires_grad_(True)
    vertices, faces = template.to_torch(dtype=torch.float32)

    def penetration() -> float:
        with torch.no_grad():
            into_object = L.hand_in_object_penetration(hand, sdf, R, t, 1.0).max()
            posed = vertices[None] + t[:, None]
            into_hand = L.object_in_hand_penetration(posed, hand, layer.closed_faces).max()
        return float(torch.maximum(into_object, into_hand))

    before = penetration()
    optimizer = torch.optim.Adam([t], lr=2e-3)
    for _ in range(60):
        optimizer.zero_grad()
        posed = vertices[None] + t[:, None]
        L.collision_loss(hand, sdf, R, t, 1.0, object_vertices=posed, hand_closed_faces=layer.closed_faces).backward()
        optimizer.step()
    after = penetration()
    assert before > 0.01 and after < 0.3 * before
