"""Object initialization helpers against hand-computed cases."""

from __future__ import annotations

import pytest
import torch

from hoFit.errors import HoFitError
from hoFit.fit.init_object import HandContact, _hand_relative_translation, translation_from_box
from hoFit.fit.interaction_select import grasp_scores, select_track
from hoFit.geometry.rotations import axis_angle_to_matrix


def sphere_sdf(radius: float):
    return lambda p: p.norm(dim=-1) - radius


def test_hand_relative_translation_ignores_frames_whose_box_is_too_small():
    T = 4
    # a hand turning by up to ~0.3 rad over the clip
    angles = torch.tensor([[0.0, 0.0, 0.0], [0.1, -0.1, 0.05], [0.2, 0.1, -0.1], [0.3, 0.05, 0.0]], dtype=torch.float64)
    rotations = axis_angle_to_matrix(angles)
    positions = torch.tensor([[0.0, 0.0, 0.5], [0.01, 0.0, 0.52], [0.02, 0.01, 0.55], [0.0, 0.02, 0.5]], dtype=torch.float64)
    offset = torch.tensor([0.03, -0.02, 0.05], dtype=torch.float64)  # object in the hand's frame
    truth = (rotations @ offset) + positions  # (T, 3)
    boxes = truth.clone()[None]
    boxes[0, 1, 2] += 0.10  # occluded: the visible box is small, its depth too large
    boxes[0, 2, 2] += 0.04
    out = _hand_relative_translation(boxes, rotations, positions, torch.ones(T, dtype=torch.bool))
    torch.testing.assert_close(out[0], truth)


@pytest.mark.parametrize("sampling", ["random", "spread"])
def test_object_search_draws_its_hypotheses_as_configured(monkeypatch, sampling):
    import hoFit.fit.init_object as init_object
    from hoFit.fit.config import ObjectInitConfig

    drawn = []

    class Drawn(Exception):
        pass

    def spy(name):
        def sample(n, generator=None, dtype=torch.float32):
            drawn.append((name, n))
            raise Drawn

        return sample

    monkeypatch.setattr(init_object, "random_rotations", spy("random"))
    monkeypatch.setattr(init_object, "spread_rotations", spy("spread"))
    empty = torch.zeros(2, 8, 8)
    with pytest.raises(Drawn):
        init_object.initialize_object(
            torch.zeros(4, 3), torch.zeros(1, 3, dtype=torch.long), empty, empty > 0, torch.zeros(2, 4),
            torch.ones(2, dtype=torch.bool), torch.eye(3), ObjectInitConfig(hypotheses=7, sampling=sampling),
        )
    assert drawn == [(sampling, 7)]


def test_translation_from_box_reproduces_the_projected_size():
    vertices = torch.tensor([[-0.05, -0.02, 0.0], [0.05, 0.02, 0.0]], dtype=torch.float64)
    K = torch.tensor([[500.0, 0, 100], [0, 500.0, 80], [0, 0, 1]], dtype=torch.float64)
    # at depth 0.5 m the 10 x 4 cm object spans 100 x 40 px; centred on pixel (150, 80)
    boxes = torch.tensor([[100.0, 60.0, 200.0, 100.0]], dtype=torch.float64)
    t = translation_from_box(vertices, torch.eye(3, dtype=torch.float64)[None], boxes, K)
    torch.testing.assert_close(t, torch.tensor([[0.05, 0.0, 0.5]], dtype=torch.float64))


def test_grasp_scores_use_the_closest_regions_at_every_hand_scale():
    sdf = sphere_sdf(0.05)
    R = torch.eye(3, dtype=torch.float64).expand(1, 1, 3, 3)
    t = torch.zeros(1, 1, 3, dtype=torch.float64)
    x = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    # region 0 touches (distance 0), region 1 is 1 cm out, region 2 is 2 cm out, region 3 is 4 cm out
    contact = torch.stack([x * 0.05, x * 0.06, x * 0.07, x * 0.09])[None]
    regions = torch.tensor([0, 1, 2, 3])
    hand = contact.clone()
    score = grasp_scores([contact], [hand], sdf, R, t, contact_regions=[regions], touching_regions=2)
    assert score.shape == (1, 1, 1) and float(score[0, 0, 0]) == pytest.approx((0.0 + 1.0) / 2)
    # scaling about the origin by 0.9 moves the points to 4.5, 5.4, 6.3, 8.1 cm: gaps 0.5 (inside), 0.4, 1.3, 3.1
    # cm; penetration 0.5 cm on one vertex: (0.4 + 0.5) / 2 + 0.5
    score = grasp_scores([contact], [hand], sdf, R, t, contact_regions=[regions], touching_regions=2,
                         hand_scales=(1.0, 0.9))
    assert score[0, 0].tolist() == pytest.approx([0.5, 0.95])
    # a second hand 20 % further from the origin (6, 7.2, 8.4, 10.8 cm: gap 1.6 cm) is `contact` again when
    # scaled by 1/1.2 (gap 0.5); the first hand scaled by 1/1.2 enters the sphere (closest gaps 0 and 0.83 cm,
    # penetration 0.83 cm: 1.25)
    far = contact * 1.2
    score = grasp_scores([contact, far], [hand, far], sdf, R, t, contact_regions=[regions, regions],
                         touching_regions=2, hand_scales=(1.0, 1 / 1.2))
    torch.testing.assert_close(score[0], torch.tensor([[0.5, 1.25], [1.6, 0.5]], dtype=torch.float64))
    # several tracks: the sphere moved 1.5 cm along x leaves regions 0-3 at -1.5, -0.5, 0.5, 2.5 cm (gap 0.5;
    # penetration (1.5 + 0.5) / 2)
    R2, t2 = R.expand(2, 1, 3, 3), torch.stack([t[0], torch.tensor([[0.015, 0.0, 0.0]], dtype=torch.float64)])
    score = grasp_scores([contact], [hand], sdf, R2, t2, contact_regions=[regions], touching_regions=2)
    assert score[:, 0, 0].tolist() == pytest.approx([0.5, 0.5 + 1.0])
    # without regions: the median contact distance (torch's median of 0, 1, 2, 4 cm is the lower middle: 1 cm)
    assert float(grasp_scores([contact], [hand], sdf, R, t)[0, 0, 0]) == pytest.approx(1.0)


def test_select_track_prefers_contact_among_near_ties_only():
    ious = torch.tensor([0.90, 0.89, 0.70])
    interaction = torch.tensor([2.0, 1.0, 0.1])
    assert select_track(ious, interaction, 0.03) == 1
    assert select_track(ious, interaction, 0.0) == 0
    # a switch needs a gain above min_gain over the best-IoU track's score (2.0 - 1.0 = 1.0 cm here)
    assert select_track(ious, interaction, 0.03, min_gain=0.5) == 1
    assert select_track(ious, interaction, 0.03, min_gain=1.0) == 0
    # the best IoU need not come first
    assert select_track(ious.flip(0), interaction.flip(0), 0.03, min_gain=0.5) == 1
    assert select_track(ious.flip(0), interaction.flip(0), 0.03, min_gain=1.5) == 2


def test_hand_contact_loss_is_zero_for_a_grasp_on_the_surface_and_grows_with_the_gap():
    sdf = sphere_sdf(0.05)
    directions = torch.nn.functional.normalize(torch.randn(1, 6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3)), dim=-1)
    contact = directions * 0.05
    regions = torch.tensor([0, 0, 1, 1, 2, 2])
    evidence = HandContact(contact=contact, regions=regions, hand=contact, sdf=sdf, touching_regions=3, weight=1.0)
    R = torch.eye(3, dtype=torch.float64).expand(2, 1, 3, 3)
    t = torch.tensor([[[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]], dtype=torch.float64)
    t[1, 0] = -directions[0, 0] * 0.5  # moves the sphere away along one direction
    loss = evidence.loss(R, t)
    assert float(loss[0, 0]) == pytest.approx(0.0, abs=1e-9)
    assert float(loss[1, 0]) > 0.1


@pytest.fixture(scope="module")
def curled_grasp_clip():
    from hoFit.data.synth.generator import SynthConfig, generate_clip
    from hoFit.data.synth.grasp import GraspSettings
    from hoFit.data.synth.motion import MotionSettings

    torch.set_num_threads(1)
    config = SynthConfig(
        object="procedural:mug", grasp=GraspSettings(grasp_type="precision"), num_frames=3, image_size=(240, 320),
        seed=4, pixel_noise=0.0, motion=MotionSettings(distance_range=(0.45, 0.5)),
    )
    return generate_clip(config).clip


def _initial_keypoints(clip, overrides=()):
    from hoFit.config.schema import load_config
    from hoFit.fit.init_hand import initialize_hand
    from hoFit.models.hand import hand_layer_from_config

    config = load_config("default", overrides=["device=cpu", *overrides])
    cues = clip.hands[0]
    layer = hand_layer_from_config(config.hand, side=cues.side)
    K = torch.as_tensor(clip.intrinsics.matrix(), dtype=torch.float32)
    init = initialize_hand(
        layer, torch.as_tensor(cues.keypoints, dtype=torch.float32), torch.as_tensor(cues.confidence),
        torch.as_tensor(cues.present), K, config.fit.hand_init, config.hand.num_pca_comps, torch.Generator().manual_seed(0),
    )
    with torch.no_grad():
        out = layer(global_orient=init.global_orient, articulation=init.articulation, transl=init.transl)
    return out.keypoints.numpy(), init


def test_hand_initialization_reprojects_a_curled_grasp_exactly(curled_grasp_clip):
    import numpy as np

    truth = np.asarray(curled_grasp_clip.ground_truth.hands[0].joints)
    keypoints, init = _initial_keypoints(curled_grasp_clip)
    # Exact 2D cues: all 45 articulation components under light priors reproduce them within a pixel (15
    # components with the stage priors leave 1.5-4 px here). The depth stays uncertain by a few percent (a
    # curled hand fits the same keypoints from several depths), so the 3D bound is looser.
    assert float(init.keypoint_error.mean()) < 1.0
    assert np.linalg.norm(keypoints - truth, axis=-1).mean() < 0.04


def _sphere_track_problem(T: int = 4, resolution: int = 40):
    """A 5 cm sphere moving at about 0.5 m, seen in square regions: (vertices, faces, true translations
    (T, 3), K_roi, target, valid) for `_fit_tracks`."""
    import trimesh

    from hoFit.fit.targets import square_rois
    from hoFit.render import SilhouetteSettings, soft_silhouette

    mesh = trimesh.creation.icosphere(subdivisions=3, radius=0.05)
    vertices = torch.as_tensor(mesh.vertices, dtype=torch.float64)
    faces = torch.as_tensor(mesh.faces, dtype=torch.long)
    truth = torch.tensor([[0.0, 0.0, 0.5], [0.01, 0.0, 0.51], [0.02, 0.01, 0.52], [0.03, 0.01, 0.53]], dtype=torch.float64)[:T]
    K = torch.tensor([[500.0, 0.0, 160.0], [0.0, 500.0, 120.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    centre = truth[:, :2] / truth[:, 2:] * 500.0 + torch.tensor([160.0, 120.0], dtype=torch.float64)
    half = 500.0 * 0.05 / truth[:, 2:]
    boxes = torch.cat([centre - half, centre + half], dim=-1)
    _, K_roi = square_rois(boxes, K, 1.3, resolution)
    target = soft_silhouette(vertices[None] + truth[:, None], faces, K_roi, (resolution, resolution), SilhouetteSettings())
    return vertices, faces, truth, K_roi, target, torch.ones_like(target, dtype=torch.bool)


def _search(problem, start, depth_factor=False, iterations=25):
    from hoFit.fit.init_object import _fit_tracks
    from hoFit.render import SilhouetteSettings

    vertices, faces, _, K_roi, target, valid = problem
    rot6d = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], dtype=torch.float64).expand(1, len(start), 6)
    _, transl, _ = _fit_tracks(
        vertices, faces, rot6d, start[None], K_roi, target, valid, iterations, 0.01, 10.0, SilhouetteSettings(),
        target.shape[-1], depth_factor=depth_factor,
    )
    return transl[0]


def test_object_search_recovers_the_depth_of_a_track_started_too_close():
    """A track's shared depth factor moves it along the viewing rays as a whole: 25 steps recover a 10 %
    depth error that per-frame translations under the smoothness term do not."""
    problem = _sphere_track_problem()
    truth = problem[2]
    start = truth * 0.9  # every frame 10 % too close, on its true viewing ray
    depth_error = lambda transl: float(((transl[:, 2] - truth[:, 2]) / truth[:, 2]).abs().max())
    assert depth_error(_search(problem, start, depth_factor=True)) < 0.01
    assert depth_error(_search(problem, start)) > 0.03


@pytest.mark.parametrize("depth_factor", [False, True])
def test_object_search_passes_its_depth_factor_switch_to_the_search_and_the_refinement(monkeypatch, depth_factor):
    import hoFit.fit.init_object as init_object
    from hoFit.fit.config import ObjectInitConfig

    seen = []

    class Refined(Exception):
        pass

    def spy(vertices, faces, rot6d, transl, *args):
        seen.append(args[-1])
        if len(seen) == 2:  # the refinement of the best tracks
            raise Refined
        return rot6d, transl, torch.ones(rot6d.shape[:2])

    monkeypatch.setattr(init_object, "_fit_tracks", spy)
    empty = torch.zeros(2, 8, 8)
    with pytest.raises(Refined):
        init_object.initialize_object(
            torch.rand(4, 3) + torch.tensor([0.0, 0.0, 0.5]), torch.tensor([[0, 1, 2]]), empty, empty > 0,
            torch.tensor([[0.0, 0.0, 4.0, 4.0]]).expand(2, 4), torch.ones(2, dtype=torch.bool), torch.eye(3),
            ObjectInitConfig(hypotheses=3, track_depth_factor=depth_factor),
        )
    assert seen == [depth_factor, depth_factor]


def test_object_search_renders_the_coarse_mesh_and_the_refinement_the_template(monkeypatch):
    import hoFit.fit.init_object as init_object
    from hoFit.fit.config import ObjectInitConfig

    rendered = []

    def spy(vertices, faces, rot6d, transl, *args):
        rendered.append((vertices, faces))
        return rot6d, transl, torch.ones(rot6d.shape[:2])

    monkeypatch.setattr(init_object, "_fit_tracks", spy)
    vertices, faces = torch.rand(4, 3) + torch.tensor([0.0, 0.0, 0.5]), torch.tensor([[0, 1, 2], [0, 2, 3]])
    coarse = (vertices[:3].clone(), faces[:1].clone())
    empty = torch.zeros(2, 8, 8)
    args = (vertices, faces, empty, empty > 0, torch.tensor([[0.0, 0.0, 4.0, 4.0]]).expand(2, 4),
            torch.ones(2, dtype=torch.bool), torch.eye(3), ObjectInitConfig(hypotheses=3))
    init_object.initialize_object(*args, search_mesh=coarse)
    assert [(v is coarse[0], f is coarse[1]) for v, f in rendered] == [(True, True), (False, False)]
    assert rendered[1][0] is vertices and rendered[1][1] is faces
    rendered.clear()
    init_object.initialize_object(*args)
    assert all(v is vertices and f is faces for v, f in rendered) and len(rendered) == 2
    with pytest.raises(HoFitError, match="search_max_faces must be None or an integer >= 4"):
        ObjectInitConfig(search_max_faces=2)


def _hand_and_projection(T: int = 3):
    """A posed hand (layer, its init, its keypoints projected exactly) for noise_depth_factor."""
    from hoFit.fit.config import HandInitConfig
    from hoFit.fit.init_hand import HandInit
    from hoFit.geometry.cameras import project_points
    from hoFit.geometry.rotations import matrix_to_rotation_6d
    from hoFit.models.hand.layer import create_hand_layer

    layer = create_hand_layer("openhand", side="right", num_pca_comps=45)
    orient = torch.tensor([[0.3, -0.2, 0.1], [0.35, -0.2, 0.1], [0.4, -0.15, 0.1]])[:T]
    init = HandInit(
        global_orient=matrix_to_rotation_6d(axis_angle_to_matrix(orient)), articulation=torch.zeros(T, 45),
        transl=torch.tensor([0.0, 0.0, 0.5]).repeat(T, 1), betas=torch.zeros(10), missing=torch.zeros(T, dtype=torch.bool),
        keypoint_error=torch.zeros(T),
    )
    K = torch.tensor([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
    with torch.no_grad():
        posed = layer(global_orient=init.global_orient, articulation=init.articulation, transl=init.transl).keypoints
    config = HandInitConfig(rotation_hypotheses=4, rigid_iterations=5, iterations=5, temporal_iterations=0,
                            noise_debias_samples=2)
    return layer, init, posed, project_points(posed, K), K, config


@pytest.mark.parametrize("refit_depth_ratio, expected", [(1.04, 1 / 1.04), (0.97, 1 / 0.97), (1.2, 0.9), (0.8, 1.1)])
def test_noise_depth_factor_inverts_the_refits_depth_ratio(monkeypatch, refit_depth_ratio, expected):
    import dataclasses

    import hoFit.fit.init_hand as init_hand

    layer, init, posed, projected, K, config = _hand_and_projection()
    keypoints = projected + torch.tensor([4.0, -2.0])  # a 4.5 px residual (3.8 per axis): the bootstrap runs
    calls = []

    def refit(layer_, keypoints_, confidence_, present_, K_, config_, num_pca_, generator_):
        calls.append((keypoints_.clone(), config_.noise_debias_samples))
        # a refit that places every wrist refit_depth_ratio times as deep
        return dataclasses.replace(init, transl=_scaled_transl(layer, init, refit_depth_ratio))

    monkeypatch.setattr(init_hand, "initialize_hand", refit)
    T = posed.shape[0]
    factor = init_hand.noise_depth_factor(
        layer, init, keypoints, torch.ones(T, 21), torch.ones(T, dtype=torch.bool), K, config, 45, seed=0
    )
    assert factor == pytest.approx(expected, rel=1e-5)
    assert len(calls) == 2 and all(samples == 0 for _, samples in calls)  # refits never recurse
    # simulated sets: the fit's projection plus noise of the residual's size (3.8 px per axis)
    scatter = torch.stack([k - projected for k, _ in calls]).std()
    assert 3.0 < float(scatter) < 4.6


def _scaled_transl(layer, init, ratio):
    """init.transl moved so that each frame's wrist lies ``ratio`` times as deep (same rotation and pose)."""
    with torch.no_grad():
        wrist = layer(global_orient=init.global_orient, articulation=init.articulation, transl=init.transl).keypoints[:, 0]
    return init.transl + wrist * (ratio - 1.0)


def test_noise_depth_factor_is_one_below_its_noise_floor(monkeypatch):
    import hoFit.fit.init_hand as init_hand

    layer, init, _, projected, K, config = _hand_and_projection()
    monkeypatch.setattr(init_hand, "initialize_hand", lambda *args: pytest.fail("refitted below the noise floor"))
    T = projected.shape[0]
    keypoints = projected + torch.tensor([2.0, -1.0])  # 2.2 px: 1.9 px per axis, under the 3 px floor
    factor = init_hand.noise_depth_factor(
        layer, init, keypoints, torch.ones(T, 21), torch.ones(T, dtype=torch.bool), K, config, 45, 0
    )
    assert factor == 1.0


def test_noise_depth_factor_is_one_for_exact_keypoints():
    from hoFit.fit.init_hand import noise_depth_factor

    layer, init, _, projected, K, config = _hand_and_projection()
    T = projected.shape[0]
    factor = noise_depth_factor(layer, init, projected, torch.ones(T, 21), torch.ones(T, dtype=torch.bool), K, config, 45, 0)
    assert factor == 1.0  # no residual: nothing to simulate


@pytest.mark.parametrize("dense_side", [False, True])
def test_half_turns_turn_a_box_onto_itself_about_its_three_axes(dense_side):
    """Whatever the meshing: with one side of the box meshed a thousand times finer the vertices' mean and
    spread move towards it, the surface's do not."""
    import trimesh

    from hoFit.fit.init_object import half_turns

    mesh = trimesh.creation.box(extents=(0.2, 0.1, 0.05))
    vertices, faces = mesh.vertices, mesh.faces
    if dense_side:
        for _ in range(5):  # split the +x side's triangles again and again
            side = (vertices[faces][:, :, 0] > 0.099).all(axis=1)
            vertices, faces = trimesh.remesh.subdivide(vertices, faces, face_index=side.nonzero()[0])
        assert len(vertices) > 100
    rotation = axis_angle_to_matrix(torch.tensor([0.3, -0.7, 0.4], dtype=torch.float64))
    centre = torch.tensor([0.02, -0.01, 0.3], dtype=torch.float64)
    vertices = torch.as_tensor(vertices) @ rotation.T + centre
    corners = torch.as_tensor(mesh.vertices) @ rotation.T + centre
    turns, found_centre = half_turns(vertices, torch.as_tensor(faces))
    torch.testing.assert_close(found_centre, centre)
    eye = torch.eye(3, dtype=torch.float64)
    # principal axes by increasing spread: the box's 5, 10 and 20 cm sides
    for turn, axis in zip(turns, rotation.T.flip(0)):
        torch.testing.assert_close(turn, 2.0 * torch.outer(axis, axis) - eye)
        torch.testing.assert_close(turn @ turn, eye)
        assert float(torch.linalg.det(turn)) == pytest.approx(1.0)
        turned = (corners - centre) @ turn.T + centre  # the box's corners land on its corners
        assert float(torch.cdist(turned, corners).min(dim=1).values.max()) < 1e-12


@pytest.mark.parametrize("with_base", [False, True])
def test_turned_tracks_turn_the_object_in_its_frame_about_a_fixed_centre(with_base):
    from hoFit.fit.init_object import _turned_tracks
    from hoFit.geometry.rotations import matrix_to_rotation_6d, rotation_6d_to_matrix

    generator = torch.Generator().manual_seed(0)
    N, T = 2, 3
    relative = axis_angle_to_matrix(torch.randn(N, T, 3, generator=generator, dtype=torch.float64))
    transl = torch.randn(N, T, 3, generator=generator, dtype=torch.float64)
    base = axis_angle_to_matrix(torch.randn(T, 3, generator=generator, dtype=torch.float64)) if with_base else None
    axes = axis_angle_to_matrix(torch.randn(3, generator=generator, dtype=torch.float64))
    turns = 2.0 * axes[:, :, None] * axes[:, None, :] - torch.eye(3, dtype=torch.float64)
    centre = torch.randn(3, generator=generator, dtype=torch.float64)
    rot6d, moved = _turned_tracks(matrix_to_rotation_6d(relative), transl, base, turns, centre)
    assert rot6d.shape == (N * 3, T, 6) and moved.shape == (N * 3, T, 3)
    absolute = relative if base is None else base @ relative
    for n in range(N):
        for k in range(3):
            i = n * 3 + k  # track-major
            turned = rotation_6d_to_matrix(rot6d[i])
            turned = turned if base is None else base @ turned
            torch.testing.assert_close(turned, absolute[n] @ turns[k])
            # the centre stays where it was; a point off the centre goes to where its turned twin was
            torch.testing.assert_close(turned @ centre + moved[i], absolute[n] @ centre + transl[n])
            point = centre + turns[k] @ torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
            torch.testing.assert_close(
                turned @ point + moved[i], absolute[n] @ (centre + torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)) + transl[n]
            )


def _mug_scene(rotation: torch.Tensor, T: int = 2):
    """A mug-like object (an 8 x 8 x 12 cm body with a handle on one side) at about 0.5 m, seen by a 160x120
    camera in T frames at ``rotation`` (3, 3): vertices, faces and the `initialize_object` cues."""
    import trimesh

    from hoFit.fit.targets import mask_signed_distance
    from hoFit.render import SilhouetteSettings, soft_silhouette

    body = trimesh.creation.box(extents=(0.08, 0.08, 0.12))
    handle = trimesh.creation.box(extents=(0.03, 0.02, 0.07))
    handle.apply_translation((0.055, 0.0, 0.0))
    mesh = trimesh.util.concatenate([body, handle])
    vertices = torch.as_tensor(mesh.vertices, dtype=torch.float64)
    faces = torch.as_tensor(mesh.faces, dtype=torch.long)
    K = torch.tensor([[200.0, 0.0, 80.0], [0.0, 200.0, 60.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    transl = torch.tensor([[0.0, 0.0, 0.5], [0.01, 0.005, 0.5]], dtype=torch.float64)[:T]
    posed = vertices[None] @ rotation.T + transl[:, None]
    masks = soft_silhouette(posed, faces, K, (120, 160), SilhouetteSettings()) > 0.5
    ys, xs = torch.meshgrid(torch.arange(120), torch.arange(160), indexing="ij")
    boxes = torch.stack([
        torch.tensor([xs[m].min(), ys[m].min(), xs[m].max() + 1, ys[m].max() + 1], dtype=torch.float64) for m in masks
    ])
    distance = mask_signed_distance(masks.numpy()).to(torch.float64)
    return vertices, faces, distance, torch.ones_like(masks), boxes, torch.ones(T, dtype=torch.bool), K


@pytest.mark.parametrize("turn_top", [0, 1])
def test_object_refinement_with_half_turns_puts_a_handle_left_on_the_far_side_right(monkeypatch, turn_top):
    """The search's only track is the true pose turned by 180 degrees about the mug's height (handle on the
    far side; the search is skipped). Refined alone it stays more than 120 degrees off; refined beside its
    half-turned rivals, the rival that is the true pose wins on mask IoU. Errors are taken up to the mug's
    own symmetry (the half turn about its handle's direction)."""
    import hoFit.fit.init_object as init_object
    from hoFit.fit.config import ObjectInitConfig
    from hoFit.geometry.rotations import rotation_angle_between

    truth = axis_angle_to_matrix(torch.tensor([1.5, 0.0, 0.0], dtype=torch.float64))
    scene = _mug_scene(truth)
    turns, _ = init_object.half_turns(scene[0], scene[1])
    about_height, about_handle = int(torch.argmax(turns[:, 2, 2])), int(torch.argmax(turns[:, 0, 0]))
    start = truth @ turns[about_height]
    monkeypatch.setattr(init_object, "random_rotations", lambda n, generator=None, dtype=torch.float32: start[None].to(dtype))
    refine = init_object._fit_tracks
    tracks = []

    def skip_search(vertices, faces, rot6d, transl, *args, **kwargs):
        tracks.append(rot6d.shape[0])
        if len(tracks) == 1:  # the search: its track stays where it started
            return rot6d, transl, torch.ones(rot6d.shape[:2], dtype=transl.dtype)
        return refine(vertices, faces, rot6d, transl, *args, **kwargs)

    monkeypatch.setattr(init_object, "_fit_tracks", skip_search)
    result = init_object.initialize_object(*scene, ObjectInitConfig(hypotheses=1, refine_top=1, turn_top=turn_top))
    error = torch.minimum(
        rotation_angle_between(result.rotation, truth[None]), rotation_angle_between(result.rotation, (truth @ turns[about_handle])[None])
    ).max() * 180.0 / torch.pi
    assert tracks == [1, 1 + 3 * turn_top] and len(result.candidate_scores) == 1 + 3 * turn_top
    if turn_top:
        assert float(error) < 10.0
    else:
        assert float(error) > 120.0
    with pytest.raises(HoFitError, match="turn_top must be an integer >= 0"):
        ObjectInitConfig(turn_top=-1)
