"""The clip format: round trips, key-order conversion, video frames and every bad-input error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from hoFit.data.clip import Clip, GroundTruth, HandCues, HandGroundTruth, ObjectCues
from hoFit.data.frames import ArrayFrames, ImageFrames, VideoFrames, read_image, write_image
from hoFit.data.masks import MaskSequence, read_mask_png, write_mask_png
from hoFit.errors import HoFitError
from hoFit.geometry.cameras import CameraIntrinsics
from hoFit.models.hand.keypoints import OPENPOSE_FROM_HOFIT

H, W, T = 24, 32, 5


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=np.float32)


def make_clip(tmp_path: Path, num_frames: int = T, gt: bool = True) -> Clip:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(num_frames, H, W, 3), dtype=np.uint8)
    template = tmp_path / "box.obj"
    template.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\nf 1 3 4\nf 2 3 4\n")
    keypoints = rng.uniform(0, W, size=(num_frames, 21, 2)).astype(np.float32)
    confidence = rng.uniform(0.1, 1, size=(num_frames, 21)).astype(np.float32)
    present = np.ones(num_frames, dtype=bool)
    present[2] = False
    confidence[2] = 0
    confidence[1, 4] = 0
    boxes = np.tile(np.array([[2, 3, 20, 21]], dtype=np.float32), (num_frames, 1))
    boxes[2] = np.nan
    obj_masks, unknowns = [], []
    for t in range(num_frames):
        m = np.zeros((H, W), dtype=np.uint8)
        m[5 + t : 15, 8:20] = 1
        u = np.zeros((H, W), dtype=bool)
        u[5 + t, 8:12] = True
        obj_masks.append(m if t != 3 else None)
        unknowns.append(u)
    hand_masks = [np.pad(np.ones((4, 4), np.uint8), ((2, H - 6), (2, W - 6))) if t != 2 else None for t in range(num_frames)]
    hands = [
        HandCues("right", keypoints, confidence, present, boxes, MaskSequence.from_frames(hand_masks, size=(H, W))),
        HandCues("left", keypoints[:, ::-1] + 1, confidence[:, ::-1].copy()),
    ]
    obj = ObjectCues(
        np.ones(num_frames, dtype=bool),
        np.tile(np.array([[8, 5, 20, 15]], dtype=np.float32), (num_frames, 1)),
        MaskSequence.from_frames(obj_masks, unknowns, size=(H, W)),
    )
    ground_truth = None
    if gt:
        joints = rng.normal(size=(num_frames, 21, 3)).astype(np.float32)
        joints_valid = np.ones((num_frames, 21), dtype=bool)
        joints_valid[0, 1:] = False
        ground_truth = GroundTruth(
            object_rotation=np.stack([_rotation(0.1 * t) for t in range(num_frames)]),
            object_translation=rng.normal(size=(num_frames, 3)).astype(np.float32),
            object_valid=np.array([True] * (num_frames - 1) + [False]),
            hands=[HandGroundTruth(joints, joints_valid, rng.normal(size=(num_frames, 50, 3))), None],
        )
    return Clip(
        frames=ArrayFrames(frames),
        intrinsics=CameraIntrinsics(40.0, 41.0, 15.5, 11.5, W, H),
        hands=hands,
        object=obj,
        template=str(template),
        object_scale=0.5,
        object_category="box",
        ground_truth=ground_truth,
        name="test",
        fps=15.0,
        meta={"dataset": "unit", "sequence": "s0"},
    )


def assert_clips_equal(a: Clip, b: Clip) -> None:
    assert a.num_frames == b.num_frames and a.image_size == b.image_size
    np.testing.assert_array_equal(a.frames.read_all(), b.frames.read_all())
    assert a.intrinsics == b.intrinsics
    assert (a.template, a.object_scale, a.object_category, a.name, a.fps) == (
        b.template, b.object_scale, b.object_category, b.name, b.fps)
    assert a.frame_ids == b.frame_ids and a.meta == b.meta
    assert len(a.hands) == len(b.hands)
    for ha, hb in zip(a.hands, b.hands):
        assert ha.side == hb.side
        np.testing.assert_array_equal(ha.keypoints, hb.keypoints)
        np.testing.assert_array_equal(ha.confidence, hb.confidence)
        np.testing.assert_array_equal(ha.present, hb.present)
        assert (ha.boxes is None) == (hb.boxes is None)
        if ha.boxes is not None:
            np.testing.assert_array_equal(ha.boxes, hb.boxes)
        assert (ha.masks is None) == (hb.masks is None)
        assert ha.masks is None or ha.masks.equals(hb.masks)
    np.testing.assert_array_equal(a.object.present, b.object.present)
    assert (a.object.boxes is None) == (b.object.boxes is None)
    if a.object.boxes is not None:
        np.testing.assert_array_equal(a.object.boxes, b.object.boxes)
    assert (a.object.masks is None) == (b.object.masks is None)
    assert a.object.masks is None or a.object.masks.equals(b.object.masks)
    assert (a.ground_truth is None) == (b.ground_truth is None)
    if a.ground_truth is not None:
        ga, gb = a.ground_truth, b.ground_truth
        np.testing.assert_array_equal(ga.object_rotation, gb.object_rotation)
        np.testing.assert_array_equal(ga.object_translation, gb.object_translation)
        np.testing.assert_array_equal(ga.object_valid, gb.object_valid)
        assert len(ga.hands) == len(gb.hands)
        for x, y in zip(ga.hands, gb.hands):
            assert (x is None) == (y is None)
            if x is not None:
                for name in ("joints", "joints_valid", "vertices", "vertices_valid"):
                    np.testing.assert_array_equal(getattr(x, name), getattr(y, name))


def test_round_trip(tmp_path):
    clip = make_clip(tmp_path)
    frames_before = clip.frames.read_all()
    out = clip.save(tmp_path / "clip")
    assert sorted(p.name for p in out.iterdir()) == ["clip.yaml", "cues.npz", "frames", "gt.npz", "masks"]
    # frame 3 has no object mask, frame 2 no hand mask: no file is written for them
    assert sorted(p.name for p in (out / "masks" / "object").iterdir()) == ["000000.png", "000001.png", "000002.png", "000004.png"]
    loaded = Clip.load(out)
    assert_clips_equal(clip, loaded)
    np.testing.assert_array_equal(loaded.frames.read_all(), frames_before)
    # values that survive the trip: unknown pixels and missing frames
    assert loaded.object.masks.unknown[0, 5, 8] and not loaded.object.masks.mask[0, 5, 8]
    assert not loaded.object.masks.available[3] and loaded.object.masks.unknown[3].all()
    assert loaded.ground_truth.hands[1] is None
    assert not loaded.ground_truth.hands[0].joints_valid[0, 5]
    # saving a loaded clip again (image files copied) gives the same clip
    again = Clip.load(loaded.save(tmp_path / "clip2"))
    assert_clips_equal(loaded, again)


def test_save_overwrites_in_place_and_refuses_non_empty(tmp_path):
    clip = make_clip(tmp_path, gt=False)
    out = clip.save(tmp_path / "clip")
    loaded = Clip.load(out)
    with pytest.raises(HoFitError, match="not empty"):
        loaded.save(out)
    loaded.hands[0].keypoints[0, 0] = (1.5, 2.5)
    loaded.save(out, overwrite=True)  # frames are read from the directory being replaced
    reloaded = Clip.load(out)
    np.testing.assert_array_equal(reloaded.hands[0].keypoints[0, 0], [1.5, 2.5])
    np.testing.assert_array_equal(reloaded.frames.read_all(), clip.frames.read_all())
    np.testing.assert_array_equal(loaded.frames[0], clip.frames[0])  # the saved copy is readable
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary left over


def test_reference_frames_without_copy(tmp_path):
    clip = make_clip(tmp_path, gt=False)
    first = Clip.load(clip.save(tmp_path / "a"))
    ref = first.save(tmp_path / "b", copy_frames=False)
    assert not (ref / "frames").exists()
    files = yaml.safe_load((ref / "clip.yaml").read_text())["frames"]["files"]
    assert Path(files[0]).is_absolute() and Path(files[0]).parent == tmp_path / "a" / "frames"
    assert_clips_equal(first, Clip.load(ref))


def test_subclip(tmp_path):
    clip = make_clip(tmp_path)
    sub = clip.subclip(1, None, 2)
    assert sub.num_frames == 2 and sub.frame_ids == ["000001", "000003"]
    np.testing.assert_array_equal(sub.frames[1], clip.frames[3])
    np.testing.assert_array_equal(sub.hands[0].keypoints, clip.hands[0].keypoints[[1, 3]])
    assert not sub.object.masks.available[1]
    np.testing.assert_array_equal(sub.ground_truth.object_translation, clip.ground_truth.object_translation[[1, 3]])
    assert_clips_equal(sub, Clip.load(sub.save(tmp_path / "sub")))
    with pytest.raises(HoFitError, match="empty"):
        clip.subclip(10)


def test_openpose_order_is_converted(tmp_path):
    clip = make_clip(tmp_path, gt=False)
    out = clip.save(tmp_path / "clip")
    cues = dict(np.load(out / "cues.npz"))
    cues["hand0_keypoints"] = cues["hand0_keypoints"][:, OPENPOSE_FROM_HOFIT]
    cues["hand0_confidence"] = cues["hand0_confidence"][:, OPENPOSE_FROM_HOFIT]
    np.savez(out / "cues.npz", **cues)
    spec = yaml.safe_load((out / "clip.yaml").read_text())
    spec["keypoint_order"] = "openpose"
    (out / "clip.yaml").write_text(yaml.safe_dump(spec))
    loaded = Clip.load(out)
    # left hand was not permuted on disk, so it comes back permuted; the right hand comes back exact
    np.testing.assert_array_equal(loaded.hands[0].keypoints, clip.hands[0].keypoints)
    np.testing.assert_array_equal(loaded.hands[0].confidence, clip.hands[0].confidence)
    # OpenPose index 1 is the thumb base (hoFit 13), index 4 the thumb tip (hoFit 16)
    op = cues["hand0_keypoints"]
    np.testing.assert_array_equal(loaded.hands[0].keypoints[:, 13], op[:, 1])
    np.testing.assert_array_equal(loaded.hands[0].keypoints[:, 16], op[:, 4])


def test_hand_made_clip_with_dir_and_procedural_template(tmp_path):
    folder = tmp_path / "mine" / "images"
    folder.mkdir(parents=True)
    for i in (1, 2, 10):  # natural order: 1, 2, 10
        write_image(folder / f"img_{i}.jpg", np.full((H, W, 3), i * 10, dtype=np.uint8))
    (tmp_path / "mine" / "clip.yaml").write_text(
        "intrinsics: {fx: 50, fy: 50, cx: 16, cy: 12}\n"
        "frames: {dir: images}\n"
        "object: {template: 'procedural:mug', scale: 1.0, category: mug}\n"
    )
    clip = Clip.load(tmp_path / "mine")
    assert clip.num_frames == 3 and clip.hands == [] and clip.object.present.all()
    assert (clip.intrinsics.width, clip.intrinsics.height) == (W, H)
    assert clip.procedural_category == "mug" and clip.name == "mine" and clip.fps == 30.0
    assert abs(int(clip.frames[2].mean()) - 100) <= 2  # img_10 is the last frame
    assert_clips_equal(clip, Clip.load(clip.save(tmp_path / "copy")))


def test_video_clip(tmp_path):
    imageio = pytest.importorskip("imageio.v2")
    frames = np.zeros((7, 48, 64, 3), dtype=np.uint8)
    for t in range(7):
        frames[t, :, : 8 * (t + 1)] = 200  # a bar growing by 8 px per frame
    video = tmp_path / "v" / "video.mp4"
    video.parent.mkdir()
    imageio.mimwrite(video, frames, fps=10, macro_block_size=1)
    (tmp_path / "v" / "clip.yaml").write_text(
        "intrinsics: {fx: 50, fy: 50, cx: 31.5, cy: 23.5, width: 64, height: 48}\n"
        "frames: {video: video.mp4}\n"
        "object: {template: 'procedural:can'}\n"
    )
    clip = Clip.load(tmp_path / "v")
    assert clip.num_frames == 7 and clip.image_size == (48, 64) and clip.fps == 10.0
    assert isinstance(clip.frames, VideoFrames)
    for t in (4, 1, 6):  # random access, including backwards
        bar = (clip.frames[t][24, :, 0] > 100).sum()
        assert abs(int(bar) - 8 * (t + 1)) <= 1
    sub = clip.subclip(2, 6, 2)
    saved = Clip.load(sub.save(tmp_path / "sub"))  # a subset of a video is written as PNG frames
    assert isinstance(saved.frames, ImageFrames) and saved.num_frames == 2
    np.testing.assert_array_equal(saved.frames[1], clip.frames[4])
    whole = Clip.load(clip.save(tmp_path / "whole"))  # the whole video is copied as is
    assert isinstance(whole.frames, VideoFrames) and whole.num_frames == 7
    spec = yaml.safe_load((tmp_path / "v" / "clip.yaml").read_text())
    spec["frames"]["indices"] = [0, 9]
    (tmp_path / "v" / "clip.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(HoFitError, match="has 7 frames, but the clip asks for video frame 9"):
        Clip.load(tmp_path / "v")


def test_mask_png_encoding(tmp_path):
    mask = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    unknown = np.array([[True, False], [False, False]])
    write_mask_png(tmp_path / "m.png", mask, unknown)
    raw = read_image(tmp_path / "m.png")[:, :, 0]
    np.testing.assert_array_equal(raw, [[128, 255], [255, 0]])
    m, u = read_mask_png(tmp_path / "m.png")
    np.testing.assert_array_equal(m, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(u, unknown)
    np.testing.assert_array_equal(MaskSequence.from_frames([mask]).boxes(), [[0, 0, 2, 2]])


# ------------------------------------------------------------------------------------------- bad input


@pytest.fixture()
def saved(tmp_path) -> Path:
    return make_clip(tmp_path).save(tmp_path / "clip")


def _edit_cues(path: Path, **changes) -> None:
    cues = dict(np.load(path / "cues.npz"))
    cues.update(changes)
    np.savez(path / "cues.npz", **cues)


def test_missing_clip_yaml(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(HoFitError, match=r"empty is not a clip directory: clip.yaml is missing"):
        Clip.load(tmp_path / "empty")
    with pytest.raises(HoFitError, match="clip directory not found"):
        Clip.load(tmp_path / "nowhere")


def test_missing_frame_file(saved):
    (saved / "frames" / "000003.png").unlink()
    with pytest.raises(HoFitError, match=r"frame file\(s\) not found: .*frames/000003.png"):
        Clip.load(saved)


def test_frames_of_different_sizes(saved):
    write_image(saved / "frames" / "000002.png", np.zeros((H + 2, W, 3), dtype=np.uint8))
    with pytest.raises(HoFitError, match=r"frame 2 \(.*000002.png\): size 32x26 .* differs from the clip's 32x24"):
        Clip.load(saved)


def test_unreadable_frame(saved):
    (saved / "frames" / "000001.png").write_bytes(b"not a png")
    with pytest.raises(HoFitError, match=r"000001.png"):
        Clip.load(saved)


def test_intrinsics_disagree_with_frames(saved):
    spec = yaml.safe_load((saved / "clip.yaml").read_text())
    spec["intrinsics"]["width"] = 640
    (saved / "clip.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(HoFitError, match=r"clip.yaml: intrinsics give 640x24 .* frames are 32x24"):
        Clip.load(saved)


def test_keypoint_frame_count_disagrees(saved):
    kp = np.load(saved / "cues.npz")["hand0_keypoints"]
    _edit_cues(saved, hand0_keypoints=kp[:4])
    with pytest.raises(HoFitError, match=r"cues.npz \['hand0_keypoints'\]: has 4 frames, but the clip has 5 frames"):
        Clip.load(saved)


def test_nan_keypoint(saved):
    kp = np.load(saved / "cues.npz")["hand1_keypoints"]
    kp[3, 7] = np.nan
    _edit_cues(saved, hand1_keypoints=kp)
    with pytest.raises(HoFitError, match=r"\['hand1_keypoints'\]: frame 3, joint 7 \(pinky1\) is NaN"):
        Clip.load(saved)


def test_nan_keypoint_with_zero_confidence_is_read_as_zero(saved):
    kp = np.load(saved / "cues.npz")["hand0_keypoints"]
    kp[1, 4] = np.nan  # joint 4 of frame 1 has confidence 0
    _edit_cues(saved, hand0_keypoints=kp)
    np.testing.assert_array_equal(Clip.load(saved).hands[0].keypoints[1, 4], [0, 0])


def test_inf_in_ground_truth(saved):
    gt = dict(np.load(saved / "gt.npz"))
    gt["object_translation"][1, 2] = np.inf
    np.savez(saved / "gt.npz", **gt)
    with pytest.raises(HoFitError, match=r"gt.npz \['object_translation'\]: frame 1 contains NaN or inf"):
        Clip.load(saved)


def test_empty_mask_for_present_frame(saved):
    write_mask_png(saved / "masks" / "object" / "000001.png", np.zeros((H, W), np.uint8))
    with pytest.raises(HoFitError, match=r"masks/object/000001.png \(frame 1\): the mask of the object is empty"):
        Clip.load(saved)


def test_mask_wrong_size_and_values(saved):
    write_mask_png(saved / "masks" / "hand0" / "000000.png", np.ones((H, W + 1), np.uint8))
    with pytest.raises(HoFitError, match=r"hand0/000000.png: mask size 33x24"):
        Clip.load(saved)
    import cv2

    cv2.imwrite(str(saved / "masks" / "hand0" / "000000.png"), np.full((H, W), 7, np.uint8))
    with pytest.raises(HoFitError, match=r"000000.png: pixel values must be 0 .* found \[7\]"):
        Clip.load(saved)


def test_mask_beyond_last_frame_and_stray_files(saved):
    write_mask_png(saved / "masks" / "object" / "000009.png", np.ones((H, W), np.uint8))
    with pytest.raises(HoFitError, match=r"000009.png: mask for frame 9, but the clip has 5 frames"):
        Clip.load(saved)
    (saved / "masks" / "object" / "000009.png").unlink()
    (saved / "masks" / "object" / "notes.txt").write_text("x")
    with pytest.raises(HoFitError, match=r"notes.txt: unexpected entry"):
        Clip.load(saved)


def test_foreground_mask_where_hand_absent(saved):
    write_mask_png(saved / "masks" / "hand0" / "000002.png", np.ones((H, W), np.uint8))
    with pytest.raises(HoFitError, match=r"hand0/000002.png \(frame 2\): .* foreground pixels although hand 0 \(right\) is marked absent"):
        Clip.load(saved)


def test_wrong_shapes(saved):
    _edit_cues(saved, hand0_confidence=np.ones((T, 20), np.float32))
    with pytest.raises(HoFitError, match=r"\['hand0_confidence'\]: expected shape \(T, 21\), got \(5, 20\)"):
        Clip.load(saved)


def test_wrong_box(saved):
    boxes = np.load(saved / "cues.npz")["object_boxes"]
    boxes[4] = [10, 10, 5, 20]
    _edit_cues(saved, object_boxes=boxes)
    with pytest.raises(HoFitError, match=r"\['object_boxes'\]: frame 4 box .* is not x1 < x2"):
        Clip.load(saved)


def test_confidence_on_absent_frame(saved):
    conf = np.load(saved / "cues.npz")["hand0_confidence"]
    conf[2, 0] = 0.5
    _edit_cues(saved, hand0_confidence=conf)
    with pytest.raises(HoFitError, match=r"frame 2 has keypoint confidences > 0 but hand 0 \(right\) is marked absent"):
        Clip.load(saved)


def test_missing_and_unknown_keys(saved):
    cues = dict(np.load(saved / "cues.npz"))
    del cues["hand1_confidence"]
    cues["hand1_keypoint"] = cues["hand1_keypoints"]
    np.savez(saved / "cues.npz", **cues)
    with pytest.raises(HoFitError, match=r"unknown key\(s\) \['hand1_keypoint'\]"):
        Clip.load(saved)
    del cues["hand1_keypoint"]
    np.savez(saved / "cues.npz", **cues)
    with pytest.raises(HoFitError, match=r"cues.npz: the array 'hand1_confidence' is missing"):
        Clip.load(saved)


def test_missing_template(saved):
    spec = yaml.safe_load((saved / "clip.yaml").read_text())
    spec["object"]["template"] = "meshes/missing.obj"
    (saved / "clip.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(HoFitError, match=r"object.template: file not found: .*meshes/missing.obj"):
        Clip.load(saved)


def test_not_a_rotation(saved):
    gt = dict(np.load(saved / "gt.npz"))
    gt["object_rotation"][2] *= 2
    np.savez(saved / "gt.npz", **gt)
    with pytest.raises(HoFitError, match=r"\['object_rotation'\]: frame 2 is not a rotation matrix"):
        Clip.load(saved)


def test_in_memory_checks(tmp_path):
    clip = make_clip(tmp_path, gt=False)
    kp = np.zeros((T, 21, 2), np.float32)
    with pytest.raises(HoFitError, match=r"HandCues\(right\).confidence: has 4 frames"):
        HandCues("right", kp, np.ones((4, 21)))
    with pytest.raises(HoFitError, match="side: expected one of"):
        HandCues("middle", kp, np.ones((T, 21)))
    with pytest.raises(HoFitError, match=r"Clip.hands\[0\] \(right\): has 3 frames, the clip has 5"):
        Clip(clip.frames, clip.intrinsics, [HandCues("right", kp[:3], np.ones((3, 21)))], clip.object, clip.template)
    with pytest.raises(HoFitError, match="distinct sides"):
        Clip(clip.frames, clip.intrinsics, [clip.hands[0], clip.hands[0]], clip.object, clip.template)
    with pytest.raises(HoFitError, match="image size 64x24"):
        Clip(clip.frames, CameraIntrinsics(1, 1, 0, 0, 64, H), [], clip.object, clip.template)
    with pytest.raises(HoFitError, match="frames: expected uint8"):
        ArrayFrames(np.zeros((2, H, W, 3), np.float32))
    with pytest.raises(HoFitError, match="ObjectCues.masks frame 0: the mask of the object is empty"):
        ObjectCues(np.ones(1, bool), masks=MaskSequence.from_frames([np.zeros((H, W))]))
    with pytest.raises(HoFitError, match="object rotation and translation must be given together"):
        GroundTruth(object_rotation=np.eye(3)[None])


def test_load_template_from_ycb(tmp_path, ycb_dir):
    mesh = ycb_dir / "025_mug" / "textured_simple_2000.obj"
    clip = make_clip(tmp_path, gt=False)
    clip.template, clip.object_scale = str(mesh), 2.0
    loaded = Clip.load(clip.save(tmp_path / "c"))
    assert loaded.template == str(mesh.absolute())
    template = loaded.load_template()
    import trimesh

    extents = trimesh.load(mesh, force="mesh").extents
    np.testing.assert_allclose(template.extents, 2.0 * extents, rtol=1e-4)


def test_procedural_template_check_and_load(tmp_path):
    clip = make_clip(tmp_path, gt=False)
    clip.template, clip.object_scale = "procedural:mug", 2.0
    out = clip.save(tmp_path / "c")
    from hoFit.models.objects import procedural_template

    np.testing.assert_allclose(Clip.load(out).load_template().extents, 2 * procedural_template("mug").extents, rtol=1e-5)
    spec = yaml.safe_load((out / "clip.yaml").read_text())
    spec["object"]["template"] = "procedural:spoon"
    (out / "clip.yaml").write_text(yaml.safe_dump(spec))
    clip = Clip.load(out)  # loads (cue-only clips may name their template later), but does not validate
    with pytest.raises(HoFitError, match=r"clip test: unknown procedural template 'procedural:spoon'"):
        clip.validate()
