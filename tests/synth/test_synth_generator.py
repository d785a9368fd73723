"""The synthetic clip generator: exact ground truth, plausible grasps, masks, determinism, file formats."""

from __future__ import annotations

import argparse
import pickle

import cv2
import numpy as np
import pytest
import torch

from hoFit.data.clip import Clip
from hoFit.data.synth import SynthConfig, SyntheticClip, generate_clip, write_ho3d_replica
from hoFit.data.synth.generator import _hand_layer
from hoFit.data.synth.grasp import GraspSettings
from hoFit.data.synth.ho3d import OPENGL_FROM_OPENCV, decode_ho3d_depth
from hoFit.eval.plausibility import max_penetration_depth
from hoFit.geometry.cameras import backproject_points, project_points
from hoFit.geometry.rotations import axis_angle_to_matrix
from hoFit.models.objects import point_mesh_distance


def _config(**changes) -> SynthConfig:
    base = dict(
        object="procedural:can",
        num_frames=4,
        image_size=(96, 128),
        two_hands=True,
        finger_motion=0.3,
        seed=5,
        grasp=GraspSettings(hypotheses=2, iterations=60),
    )
    base.update(changes)
    return SynthConfig(**base)


@pytest.fixture(scope="module")
def synthetic() -> SyntheticClip:
    return generate_clip(_config())


def _object_vertices(s: SyntheticClip) -> np.ndarray:
    gt = s.clip.ground_truth
    v = s.template.vertices.astype(np.float64)
    return np.einsum("tij,nj->tni", gt.object_rotation.astype(np.float64), v) + gt.object_translation[:, None]


def test_synth_clip_has_two_hands_with_ground_truth(synthetic):
    clip = synthetic.clip
    assert [h.side for h in clip.hands] == ["right", "left"]
    assert [h.side for h in synthetic.hands] == ["right", "left"]
    T, (H, W) = clip.num_frames, clip.image_size
    assert (T, H, W) == (4, 96, 128)
    for hand in clip.ground_truth.hands:
        assert hand.joints.shape == (T, 21, 3)
        assert hand.vertices.shape[0] == T
    assert synthetic.depth.shape == synthetic.instance.shape == (T, H, W)
    assert set(np.unique(synthetic.instance)) <= {-1, 0, 1, 2}
    assert {0, 1, 2} <= set(np.unique(synthetic.instance))


def test_synth_grasps_do_not_penetrate_and_touch(synthetic):
    obj = _object_vertices(synthetic)
    faces = torch.as_tensor(synthetic.template.faces)
    for i, gt in enumerate(synthetic.clip.ground_truth.hands):
        frames = [0, synthetic.num_frames - 1]  # grasp and most open fingers (finger motion peaks there or before)
        hand = torch.as_tensor(gt.vertices[frames], dtype=torch.float64)
        depth = max_penetration_depth(hand, torch.as_tensor(obj[frames]), faces)
        assert float(depth.max()) <= 1e-3 + 1e-6, f"hand {i} penetrates {float(depth.max()) * 1000:.2f} mm"
        layer = _hand_layer("openhand", synthetic.hands[i].side, None)
        contact = hand[:1, layer.contact_vertices]
        distance = point_mesh_distance(contact, torch.as_tensor(obj[:1]), faces)
        assert float(distance.min()) <= 2e-3  # the grasp frame (fingers closed) touches the object
    assert float(synthetic.penetration.max()) <= 1e-3 + 1e-6
    for report in synthetic.grasps:
        assert {"thumb_pad", "thumb_phalanges"} & set(report["contact_regions"])


def test_synth_hand_parameters_reproduce_ground_truth(synthetic):
    gt = synthetic.clip.ground_truth
    for params, hand_gt in zip(synthetic.hands, gt.hands):
        layer = _hand_layer(params.model, params.side, None)
        T = len(params.transl)
        out = layer(
            torch.as_tensor(params.global_orient, dtype=torch.float32),
            torch.as_tensor(params.articulation, dtype=torch.float32),
            torch.as_tensor(params.betas[None].repeat(T, 0), dtype=torch.float32),
            torch.as_tensor(params.transl, dtype=torch.float32),
        )
        np.testing.assert_allclose(out.vertices.numpy(), hand_gt.vertices, atol=2e-5)
        np.testing.assert_allclose(out.keypoints.numpy(), hand_gt.joints, atol=2e-5)
        # the hand moves rigidly with the object: its wrist is fixed in the object frame
        R, t = gt.object_rotation.astype(np.float64), gt.object_translation.astype(np.float64)
        wrist_local = np.einsum("tji,tj->ti", R, hand_gt.joints[:, 0].astype(np.float64) - t)
        np.testing.assert_allclose(wrist_local, wrist_local[:1].repeat(T, 0), atol=2e-5)


def test_synth_keypoints_are_projections_inside_image(synthetic):
    clip = synthetic.clip
    K = clip.intrinsics.matrix(torch.float64)
    H, W = clip.image_size
    for cues, gt in zip(clip.hands, clip.ground_truth.hands):
        uv = project_points(torch.as_tensor(gt.joints, dtype=torch.float64), K).numpy()
        np.testing.assert_allclose(cues.keypoints, uv, atol=1e-3)
        assert (uv[..., 0] >= 0).all() and (uv[..., 0] <= W - 1).all()
        assert (uv[..., 1] >= 0).all() and (uv[..., 1] <= H - 1).all()
        assert (cues.confidence == 1).all()
    # the object keeps a depth in the HO-3D range
    assert (clip.ground_truth.object_translation[:, 2] > 0.3).all()


def test_synth_masks_and_depth_lie_on_the_surfaces(synthetic):
    """Pixels of each instance back-project (with the depth map) onto that mesh's surface."""
    clip = synthetic.clip
    K = clip.intrinsics.matrix(torch.float64)
    obj = _object_vertices(synthetic)
    meshes = [(obj, synthetic.template.faces)]
    for i, gt in enumerate(clip.ground_truth.hands):
        meshes.append((gt.vertices.astype(np.float64), _hand_layer("openhand", clip.hands[i].side, None).closed_faces))
    t = 1
    assert np.isinf(synthetic.depth[t][synthetic.instance[t] == -1]).all()
    for m, (verts, faces) in enumerate(meshes):
        vs, us = np.nonzero(synthetic.instance[t] == m)
        pixels = torch.as_tensor(np.stack([us, vs], -1), dtype=torch.float64)
        points = backproject_points(pixels, torch.as_tensor(synthetic.depth[t][vs, us], dtype=torch.float64), K)
        distance = point_mesh_distance(points[None], torch.as_tensor(verts[t])[None], torch.as_tensor(faces))
        assert float(distance.max()) < 2e-3, f"mesh {m}: pixels {float(distance.max()) * 1000:.2f} mm off the surface"
    # visible object mask within the amodal one, and the box of the visible mask
    visible = clip.object.masks.mask.astype(bool)
    assert not (visible & ~synthetic.object_amodal).any()
    assert (synthetic.object_amodal & ~visible).any()  # the hands hide part of the object
    np.testing.assert_array_equal(visible, synthetic.instance == 0)
    np.testing.assert_allclose(clip.object.boxes, clip.object.masks.boxes())
    uv = project_points(torch.as_tensor(obj), K).numpy()
    assert (clip.object.boxes[:, 0] >= uv[..., 0].min(1) - 1).all() and (clip.object.boxes[:, 2] <= uv[..., 0].max(1) + 2).all()


def test_synth_is_deterministic(synthetic):
    again = generate_clip(_config())
    np.testing.assert_array_equal(again.clip.frames.frames, synthetic.clip.frames.frames)
    np.testing.assert_array_equal(again.instance, synthetic.instance)
    np.testing.assert_array_equal(again.clip.ground_truth.object_rotation, synthetic.clip.ground_truth.object_rotation)
    for a, b in zip(again.hands, synthetic.hands):
        np.testing.assert_array_equal(a.articulation, b.articulation)
        np.testing.assert_array_equal(a.transl, b.transl)


def test_synth_save_load_round_trip(synthetic, tmp_path):
    directory = synthetic.save(tmp_path / "clip")
    loaded = SyntheticClip.load(directory)
    clip = Clip.load(directory)
    for c in (loaded.clip, clip):
        assert c.num_frames == synthetic.num_frames
        for t in range(c.num_frames):
            np.testing.assert_array_equal(c.frames[t], synthetic.clip.frames[t])
        np.testing.assert_allclose(c.ground_truth.object_translation, synthetic.clip.ground_truth.object_translation)
        np.testing.assert_allclose(c.ground_truth.hands[1].vertices, synthetic.clip.ground_truth.hands[1].vertices)
        assert c.hands[0].masks.equals(synthetic.clip.hands[0].masks)
    np.testing.assert_allclose(clip.load_template().vertices, synthetic.template.vertices, atol=1e-6)
    finite = np.isfinite(synthetic.depth)
    np.testing.assert_array_equal(np.isfinite(loaded.depth), finite)
    np.testing.assert_allclose(loaded.depth[finite], synthetic.depth[finite], atol=6e-5)
    np.testing.assert_array_equal(loaded.hands[0].global_orient, synthetic.hands[0].global_orient)
    assert loaded.config == synthetic.config


def test_synth_ho3d_replica_layout_and_opengl_coordinates(synthetic, tmp_path):
    seq = write_ho3d_replica(synthetic, tmp_path / "ho3d", sequence="SYN1")
    assert (tmp_path / "ho3d" / "train.txt").read_text().split() == [f"SYN1/{t:04d}" for t in range(4)]
    assert (tmp_path / "ho3d" / "models" / "procedural_can" / "textured_simple.obj").is_file()
    gt = synthetic.clip.ground_truth
    K = synthetic.clip.intrinsics.matrix(torch.float64).numpy()
    F = OPENGL_FROM_OPENCV
    t = 2
    with open(seq / "meta" / f"{t:04d}.pkl", "rb") as handle:
        meta = pickle.load(handle, encoding="latin1")
    for key in ("camMat", "handPose", "handTrans", "handBeta", "handJoints3D", "objRot", "objTrans", "objName",
                "objCorners3DRest", "objCorners3D"):
        assert key in meta, key
    np.testing.assert_allclose(meta["camMat"], K)
    np.testing.assert_allclose(meta["handJoints3D"] @ F.T, gt.hands[0].joints[t], atol=1e-6)
    # object vertices in the camera: V @ R(objRot)^T + objTrans (OpenGL), flipped back to OpenCV
    R = axis_angle_to_matrix(torch.as_tensor(meta["objRot"][:, 0], dtype=torch.float64)).numpy()
    posed = (synthetic.template.vertices @ R.T + meta["objTrans"]) @ F.T
    np.testing.assert_allclose(posed, _object_vertices(synthetic)[t], atol=1e-5)
    # the hand model with the OpenGL parameters lands on the flipped ground-truth vertices
    layer = _hand_layer("openhand", "right", None)
    out = layer(
        torch.as_tensor(meta["handPose"][None, :3]), torch.as_tensor(meta["handPose"][None, 3:]),
        torch.as_tensor(meta["handBeta"][None]), torch.as_tensor(meta["handTrans"][None]),
    )
    np.testing.assert_allclose(out.vertices[0].numpy() @ F.T, gt.hands[0].vertices[t], atol=3e-5)
    # images: depth decodes to the rendered depth, seg channels hold hand and object
    depth = decode_ho3d_depth(cv2.imread(str(seq / "depth" / f"{t:04d}.png")))
    finite = np.isfinite(synthetic.depth[t])
    np.testing.assert_allclose(depth[finite], synthetic.depth[t][finite], atol=7e-5)
    assert (depth[~finite] == 0).all()
    seg = cv2.imread(str(seq / "seg" / f"{t:04d}.png"))
    np.testing.assert_array_equal(seg[..., 0] > 0, synthetic.instance[t] == 1)
    np.testing.assert_array_equal(seg[..., 1] > 0, synthetic.instance[t] == 0)
    rgb = cv2.imread(str(seq / "rgb" / f"{t:04d}.png"))[..., ::-1]
    np.testing.assert_array_equal(rgb, synthetic.clip.frames[t])


def test_synth_cli_writes_one_clip(tmp_path):
    from hoFit.cli import synth

    parser = argparse.ArgumentParser()
    synth.add_arguments(parser)
    args = parser.parse_args(
        ["--out", str(tmp_path), "--object", "procedural:can", "--frames", "2", "--size", "48x64", "--seed", "1",
         "--grasp", "pinch", "--name", "one"]
    )
    assert synth.run(args) == 0
    loaded = SyntheticClip.load(tmp_path / "one")
    assert loaded.clip.image_size == (48, 64) and loaded.clip.num_frames == 2
    assert loaded.config.grasp.grasp_type == "pinch"


def test_synth_ho3d_replica_reads_back_through_the_ho3d_loader(synthetic, tmp_path):
    from hoFit.data.datasets.ho3d import HO3D

    root = tmp_path / "ho3d"
    write_ho3d_replica(synthetic, root, sequence="SYN1")
    layer = _hand_layer("openhand", "right", None)  # flat hand mean, full axis-angle: HO-3D's handPose
    for cues in ("dataset", "gt"):
        dataset = HO3D(root, root / "models", split="train", sequences=None, frame_nb=-1, step=1, cues=cues,
                       hand_layer=layer)
        (clip,) = list(dataset)
        gt, ours = clip.ground_truth, synthetic.clip.ground_truth
        np.testing.assert_allclose(gt.object_rotation, ours.object_rotation, atol=1e-5)
        np.testing.assert_allclose(gt.object_translation, ours.object_translation, atol=1e-6)
        np.testing.assert_allclose(gt.hands[0].joints, ours.hands[0].joints, atol=1e-6)
        np.testing.assert_allclose(gt.hands[0].vertices, ours.hands[0].vertices, atol=5e-5)
        np.testing.assert_allclose(clip.load_template().vertices, synthetic.template.vertices, atol=1e-5)
        for t in range(clip.num_frames):
            np.testing.assert_array_equal(clip.frames[t], synthetic.clip.frames[t])
        if cues == "dataset":  # masks read from seg/ are the exact visible masks
            np.testing.assert_array_equal(clip.object.masks.mask.astype(bool), synthetic.instance == 0)
            np.testing.assert_array_equal(clip.hands[0].masks.mask.astype(bool), synthetic.instance == 1)
