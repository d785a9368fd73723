"""HO-3D loader on a miniature dataset written in the real layout (meta pickles with the real keys)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import trimesh

from hoFit.data.datasets.common import clip_windows
from hoFit.data.datasets.ho3d import (
    HO3D,
    HO3D_TEST_SEQUENCES,
    object_pose_to_opencv,
    read_split_list,
    write_challenge_predictions,
)
from hoFit.errors import HoFitError
from hoFit.geometry.cameras import project_points

W, H = 160, 120
CAM = np.array([[154.3, 0.0, 78.1], [0.0, 154.3, 60.35], [0.0, 0.0, 1.0]])
BOX_EXTENTS = (0.06, 0.08, 0.1)


def _gl_project(points_gl: np.ndarray) -> np.ndarray:
    """Pixels of OpenGL camera points (camera looks down -z, y up), written out independently."""
    x, y, z = points_gl[..., 0], points_gl[..., 1], points_gl[..., 2]
    u = CAM[0, 0] * x / (-z) + CAM[0, 2]
    v = -CAM[1, 1] * y / (-z) + CAM[1, 2]
    return np.stack([u, v], -1)


def _mesh() -> trimesh.Trimesh:
    return trimesh.creation.box(extents=BOX_EXTENTS)


def _pose(t: int) -> tuple[np.ndarray, np.ndarray]:
    rotvec = np.array([0.3 + 0.05 * t, -0.4, 0.2])
    trans = np.array([0.02 + 0.002 * t, 0.05, -0.45])  # in front of an OpenGL camera: z < 0
    return rotvec.reshape(3, 1), trans


def _joints_gl(t: int) -> np.ndarray:
    rng = np.random.default_rng(t)
    return np.array([-0.03, 0.02, -0.42]) + rng.normal(scale=0.02, size=(21, 3))


def write_ho3d(root: Path, ycb: Path) -> None:
    """Eval split: SM1 (12 frames, root joint + hand box); train split: MC1 (6 frames, full joints, seg)."""
    mesh = _mesh()
    root.mkdir(parents=True)
    (ycb / "025_mug").mkdir(parents=True)
    mesh.export(ycb / "025_mug" / "textured_simple.obj")
    corners = np.asarray(trimesh.bounds.corners(mesh.bounds))
    splits = {"evaluation": ("SM1", 12), "train": ("MC1", 6)}
    for split, (seq, count) in splits.items():
        ids = [f"{i:04d}" for i in range(count)]
        (root / f"{split}.txt").write_text("".join(f"{seq}/{i}\n" for i in ids))
        for sub in ("rgb", "meta") + (("seg",) if split == "train" else ()):
            (root / split / seq / sub).mkdir(parents=True)
        for t, frame_id in enumerate(ids):
            cv2.imwrite(str(root / split / seq / "rgb" / f"{frame_id}.png"), np.full((H, W, 3), 40 + t, np.uint8))
            rot, trans = _pose(t)
            rot_m = cv2.Rodrigues(rot)[0]
            meta = {
                "camMat": CAM.copy(),
                "objRot": rot,
                "objTrans": trans,
                "objName": "025_mug",
                "objLabel": 6,
                "objCorners3DRest": corners,
                "objCorners3D": corners @ rot_m.T + trans,
            }
            joints = _joints_gl(t)
            if split == "evaluation":
                meta["handJoints3D"] = joints[0]
                meta["handBoundingBox"] = np.array([10.0, 20.0, 60.0, 80.0])
            else:
                meta.update(handJoints3D=joints, handPose=np.zeros(48) + 0.01 * t, handBeta=np.zeros(10),
                            handTrans=joints[0])
                if t == 4:
                    meta["objRot"] = None  # an unannotated train frame
                # the seg map: object in green, drawn from the OpenGL projection of the mesh
                seg = np.zeros((H, W, 3), np.uint8)
                if meta["objRot"] is not None:
                    px = _gl_project(np.asarray(mesh.vertices) @ rot_m.T + trans)
                    hull = cv2.convexHull(np.round(px).astype(np.int32))
                    cv2.fillConvexPoly(seg, hull, (0, 255, 0))  # BGR green
                cv2.imwrite(str(root / split / seq / "seg" / f"{frame_id}.png"), seg)
            with open(root / split / seq / "meta" / f"{frame_id}.pkl", "wb") as handle:
                pickle.dump(meta, handle, protocol=2)


@pytest.fixture()
def ho3d(tmp_path) -> tuple[Path, Path]:
    root, ycb = tmp_path / "HO3D_v2", tmp_path / "ycb"
    write_ho3d(root, ycb)
    return root, ycb


def test_clip_cutting_and_names(ho3d):
    root, ycb = ho3d
    data = HO3D(root, ycb, split="evaluation", sequences=["SM1"], frame_nb=3, step=2)
    assert clip_windows(12, 3, 2) == [[0, 2, 4], [6, 8, 10], [7, 9, 11]]
    assert [s.name for s in data.specs] == ["SM1_0000", "SM1_0006", "SM1_0007"]
    clip = data[2]
    assert clip.frame_ids == ["SM1/0007", "SM1/0009", "SM1/0011"]
    assert clip.num_frames == 3 and clip.image_size == (H, W)
    assert clip.frames[0][0, 0, 0] == 40 + 7
    whole = HO3D(root, ycb, sequences=["SM1"], frame_nb=-1, step=1)
    assert len(whole) == 1 and whole[0].num_frames == 12


def test_evaluation_split_ground_truth_in_opencv(ho3d):
    root, ycb = ho3d
    clip = HO3D(root, ycb, sequences=["SM1"], frame_nb=4, step=1)[0]
    np.testing.assert_allclose(clip.intrinsics.matrix(torch.float64).numpy(), CAM, atol=1e-9)
    gt = clip.ground_truth
    for t in range(4):
        rot, trans = _pose(t)
        # a template vertex v: HO-3D camera point (OpenGL) = R v + t; hoFit's = F (R v + t)
        v = np.array([0.03, -0.04, 0.05])
        gl = cv2.Rodrigues(rot)[0] @ v + trans
        np.testing.assert_allclose(gt.object_rotation[t] @ v + gt.object_translation[t], gl * [1, -1, -1], atol=1e-6)
        np.testing.assert_allclose(gt.hands[0].joints[t, 0], _joints_gl(t)[0] * [1, -1, -1], atol=1e-6)
    assert gt.hands[0].joints_valid[:, 0].all() and not gt.hands[0].joints_valid[:, 1:].any()
    assert np.linalg.det(gt.object_rotation).round(6).tolist() == [1.0] * 4
    hand = clip.hands[0]
    assert hand.side == "right" and not (hand.confidence > 0).any()
    np.testing.assert_array_equal(hand.boxes[0], [10, 20, 60, 80])
    # the object box is the projected mesh's box, inside the image
    assert clip.object.present.all() and (clip.object.boxes[:, 2] > clip.object.boxes[:, 0]).all()
    assert clip.template.endswith("025_mug/textured_simple.obj") and clip.object_category == "025_mug"


def test_train_ground_truth_projects_onto_the_dataset_mask(ho3d):
    root, ycb = ho3d
    clip = HO3D(root, ycb, split="train", sequences=["MC1"], frame_nb=6, step=1)[0]
    gt = clip.ground_truth
    assert gt.object_valid.tolist() == [True, True, True, True, False, True]
    assert not clip.object.masks.available[4] or not clip.object.masks.mask[4].any()
    verts = torch.as_tensor(np.asarray(_mesh().vertices), dtype=torch.float64)
    K = clip.intrinsics.matrix(torch.float64)
    for t in (0, 3, 5):
        cam = verts @ torch.as_tensor(gt.object_rotation[t], dtype=torch.float64).T + torch.as_tensor(gt.object_translation[t], dtype=torch.float64)
        px = project_points(cam, K).numpy()
        mask = clip.object.masks.mask[t]
        inside = mask[np.clip(np.round(px[:, 1]).astype(int), 0, H - 1), np.clip(np.round(px[:, 0]).astype(int), 0, W - 1)]
        assert inside.mean() > 0.9  # hull vertices land on (the border of) the mask
        centre = project_points(cam.mean(0, keepdim=True), K).numpy()[0]
        assert mask[int(round(centre[1])), int(round(centre[0]))] == 1
        # a mirrored convention would put the centre elsewhere
        assert mask[int(round(H - 1 - centre[1])), int(round(centre[0]))] == 0
    assert gt.hands[0].joints_valid.all()


def test_ground_truth_cues(ho3d):
    root, ycb = ho3d
    clip = HO3D(root, ycb, split="train", sequences=["MC1"], frame_nb=3, step=1, cues="gt")[0]
    hand = clip.hands[0]
    for t in range(3):
        np.testing.assert_allclose(hand.keypoints[t], _gl_project(_joints_gl(t)), atol=1e-3)
    assert (hand.confidence == 1).all()
    masks = clip.object.masks
    assert masks.available.all() and masks.mask.any(axis=(1, 2)).all()
    # rendered and dataset masks agree closely (same pose, same mesh)
    data_clip = HO3D(root, ycb, split="train", sequences=["MC1"], frame_nb=3, step=1)[0]
    inter = (masks.mask & data_clip.object.masks.mask).sum()
    union = (masks.mask | data_clip.object.masks.mask).sum()
    assert inter / union > 0.85


class _BoxHand:
    """A stand-in hand layer: a 4 cm cube 10 cm in front of the object (OpenGL frame), whatever the pose."""

    def __init__(self) -> None:
        cube = trimesh.creation.box(extents=(0.04, 0.04, 0.04))
        self.vertices = torch.as_tensor(np.asarray(cube.vertices) + [0.02, 0.05, -0.35], dtype=torch.float32)
        self.faces = torch.as_tensor(np.asarray(cube.faces))

    def __call__(self, global_orient, articulation, betas, transl):
        class Out:
            vertices = self.vertices.expand(global_orient.shape[0], -1, -1)

        assert articulation.shape[1] == 45 and betas.shape[1] == 10 and transl.shape[1] == 3
        return Out()


def test_ground_truth_cues_with_a_hand_layer_and_noise(ho3d):
    from hoFit.data.noise import noise_level

    root, ycb = ho3d
    layer = _BoxHand()
    clip = HO3D(root, ycb, split="train", sequences=["MC1"], frame_nb=2, step=1, cues="gt", hand_layer=layer)[0]
    gt_hand = clip.ground_truth.hands[0]
    np.testing.assert_allclose(gt_hand.vertices[0], layer.vertices.numpy() * [1, -1, -1], atol=1e-6)
    hand_masks = clip.hands[0].masks
    assert hand_masks is not None and hand_masks.mask.any(axis=(1, 2)).all()
    # object pixels hidden by the hand are unknown, and only those
    unknown = clip.object.masks.unknown
    assert unknown.any()
    assert not (unknown & ~hand_masks.mask.astype(bool)).any()
    assert not (clip.object.masks.mask.astype(bool) & hand_masks.mask.astype(bool)).any()
    clean = HO3D(root, ycb, split="train", sequences=["MC1"], frame_nb=2, step=1, cues="gt")[0]
    noisy = HO3D(root, ycb, split="train", sequences=["MC1"], frame_nb=2, step=1, cues="gt", noise=noise_level(2))[0]
    assert not np.array_equal(noisy.hands[0].keypoints, clean.hands[0].keypoints)
    assert noisy.meta["noise"]


def test_bad_roots_and_missing_files(ho3d, tmp_path):
    root, ycb = ho3d
    with pytest.raises(HoFitError, match=r"(?s)does not look like a HO-3D root: missing \['evaluation.txt', 'evaluation'\].*ROOT/train.txt"):
        HO3D(tmp_path / "ycb", ycb)
    with pytest.raises(HoFitError, match="HO-3D root not found"):
        HO3D(tmp_path / "nope", ycb)
    with pytest.raises(HoFitError, match=r"sequences \['AP10', .*are not in"):
        HO3D(root, ycb, sequences="test")
    (root / "evaluation" / "SM1" / "rgb" / "0005.png").unlink()
    with pytest.raises(HoFitError, match=r"SM1: 1 file\(s\) listed in evaluation.txt are missing, e.g. \['.*SM1/rgb/0005.png'\]"):
        HO3D(root, ycb, sequences=["SM1"])
    with pytest.raises(HoFitError, match="YCB models folder not found"):
        HO3D(root, tmp_path / "noycb", sequences=["SM1"])


def test_unreadable_meta_names_the_file(ho3d):
    root, ycb = ho3d
    (root / "evaluation" / "SM1" / "meta" / "0001.pkl").write_bytes(b"garbage")
    data = HO3D(root, ycb, sequences=["SM1"], frame_nb=3, step=1)
    with pytest.raises(HoFitError, match=r"cannot read HO-3D annotation .*SM1/meta/0001.pkl"):
        data[0]


def test_test_sequences_constant():
    assert len(HO3D_TEST_SEQUENCES) == 13 and {"AP10", "MPM14", "SB11", "SB13", "SM1"} <= set(HO3D_TEST_SEQUENCES)


def test_challenge_predictions(ho3d, tmp_path):
    root, _ = ho3d
    frames = read_split_list(root, "evaluation")
    joints = {f"{s}/{i}": np.full((21, 3), [0.1, 0.2, 0.5]) for s, i in frames}
    verts = {f"{s}/{i}": np.full((778, 3), [0.0, -0.1, 0.4]) for s, i in frames}
    out = tmp_path / "pred.json"
    assert write_challenge_predictions(out, frames, joints, verts) == 0
    xyz, vv = json.loads(out.read_text())
    assert len(xyz) == len(vv) == 12 and np.asarray(xyz).shape == (12, 21, 3) and np.asarray(vv).shape == (12, 778, 3)
    np.testing.assert_allclose(xyz[0][0], [0.1, -0.2, -0.5])  # OpenGL: the challenge checks z < 0
    np.testing.assert_allclose(vv[3][7], [0.0, 0.1, -0.4])
    del joints["SM1/0003"]
    with pytest.raises(HoFitError, match=r"1 missing, e.g. \['SM1/0003'\]"):
        write_challenge_predictions(out, frames, joints, verts)
    assert write_challenge_predictions(out, frames, joints, verts, fill_missing=True) == 1
    assert json.loads(out.read_text())[0][3] == np.zeros((21, 3)).tolist()


def test_object_pose_conversion_is_a_proper_rotation():
    rot, trans = object_pose_to_opencv(np.array([0.1, 2.0, -0.5]), np.array([0.0, 0.1, -0.6]))
    assert np.isclose(np.linalg.det(rot), 1.0) and np.allclose(rot @ rot.T, np.eye(3))
    np.testing.assert_allclose(trans, [0.0, -0.1, 0.6])
