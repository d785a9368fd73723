"""Frames -> clip: tracking + masks on a synthetic sequence, file masks, and bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from _synthetic import background, draw_hand, draw_object, hand_keypoints
from hoFit.data.clip import Clip
from hoFit.data.frames import write_image
from hoFit.errors import HoFitError
from hoFit.perception.boxes import box_from_mask, box_from_points
from hoFit.perception.external import FileMasks, read_external_mask
from hoFit.perception.grabcut import mask_iou
from hoFit.perception.hand_landmarks import HandDetection
from hoFit.perception.pipeline import CueExtractor, DetectSettings, detect_clip

PAD = np.array([-8.0, -6.0, 8.0, 6.0])


def _sequence(num=6, seed=0, size=(240, 320)):
    """Frames with an ellipse moving right and a hand moving with it; exact masks and keypoints."""
    rng = np.random.default_rng(seed)
    frames, objs, hands, kps = [], [], [], []
    for t in range(num):
        img = background(rng, size)
        obj = draw_object(img, rng, centre=(130 + 8 * t, 110 + 2 * t), angle=15 + 3 * t)
        kp = hand_keypoints(wrist=(120.0 + 8 * t, 205.0 + 2 * t))
        hand = draw_hand(img, kp)
        frames.append(img)
        objs.append(obj & (1 - hand))
        hands.append(hand)
        kps.append(kp)
    return frames, objs, hands, kps


class FakeHands:
    """A hand detector returning the true keypoints (and a distractor hand far away)."""

    def __init__(self, kps, drop=()):
        self.kps, self.drop, self.t = kps, set(drop), 0

    def __call__(self, image):
        t = self.t
        self.t += 1
        if t in self.drop:
            return []
        kp = self.kps[t]
        far = kp + np.array([400.0, 0.0])
        make = lambda k, side, score: HandDetection(k, np.zeros((21, 3)), side, score, box_from_points(k, 0.1))
        return [make(far, "left", 0.99), make(kp, "right", 0.9)]


def test_extractor_tracks_object_and_hand_through_a_sequence():
    frames, objs, hands, kps = _sequence()
    box0 = box_from_mask(objs[0]) + PAD
    extractor = CueExtractor(frames[0].shape[:2], box0, DetectSettings(), FakeHands(kps, drop={3}))
    for t, img in enumerate(frames):
        cues = extractor.process(img)
        assert cues.object_mask is not None, cues.messages
        assert mask_iou(cues.object_mask, objs[t]) > 0.85, t
        if t == 3:
            assert cues.hand_keypoints is None and "no hand detected" in cues.messages[0]
        else:
            # the hand nearest the object is chosen over the higher-scoring far one, and stays chosen
            np.testing.assert_allclose(cues.hand_keypoints, kps[t])
            assert mask_iou(cues.hand_mask, hands[t]) > 0.7
            # object pixels under the hand are unknown, never foreground
            assert not (cues.object_unknown & (cues.object_mask > 0)).any()
            assert (cues.object_unknown & (hands[t] > 0)).sum() > 0


def _write_frames(folder, frames):
    folder.mkdir()
    for t, img in enumerate(frames):
        write_image(folder / f"img_{t}.png", img)


def test_detect_clip_writes_a_loadable_clip_with_overlays_and_marks_bad_frames(tmp_path):
    frames, objs, hands, kps = _sequence(num=5)
    frames[2] = cv2.resize(frames[2], (300, 240))  # mixed image size
    _write_frames(tmp_path / "frames", frames)
    (tmp_path / "frames" / "img_3.png").write_bytes(b"not a png")  # undecodable frame
    kps_seen = [kps[0], kps[1], kps[4]]  # the detector only sees readable frames
    report = detect_clip(
        tmp_path / "frames", tmp_path / "clip", box_from_mask(objs[0]) + PAD,
        hand_detector=FakeHands(kps_seen), template="procedural:mug",
    )
    assert report.num_frames == 5 and report.hand_frames == 3
    assert "differs from the clip's" in report.messages[2][0]
    assert "cannot read image" in report.messages[3][0]
    clip = Clip.load(tmp_path / "clip")
    assert clip.num_frames == 5 and clip.image_size == (240, 320)
    hand = clip.hands[0]
    assert hand.side == "right"
    assert list(hand.present) == [True, True, False, False, True]
    np.testing.assert_allclose(hand.keypoints[4], kps[4], atol=1e-4)
    assert list(clip.object.present[[0, 1, 4]]) == [True] * 3
    assert not clip.object.masks.available[2] and not clip.object.masks.available[3]
    assert mask_iou(clip.object.masks.mask[4], objs[4]) > 0.85
    assert clip.meta["unusable_frames"] == [2, 3]
    assert sorted(p.name for p in (tmp_path / "clip" / "overlays").iterdir()) == [f"{t:06d}.png" for t in range(5)]
    with pytest.raises(HoFitError, match="not empty"):
        detect_clip(tmp_path / "frames", tmp_path / "clip", box_from_mask(objs[0]), DetectSettings(detect_hands=False))


def test_file_masks_take_precedence(tmp_path):
    frames, objs, _, _ = _sequence(num=3)
    _write_frames(tmp_path / "frames", frames)
    masks = tmp_path / "masks"
    masks.mkdir()
    fake = np.zeros_like(objs[0])
    fake[20:60, 30:90] = 1  # deliberately unlike GrabCut's answer
    cv2.imwrite(str(masks / "img_0.png"), fake * 255)  # 0/255, named like the frame
    cv2.imwrite(str(masks / "000001.png"), fake)  # 0/1, named by index; frame 2 has no file -> GrabCut
    report = detect_clip(
        tmp_path / "frames", tmp_path / "clip", box_from_mask(objs[0]) + PAD,
        DetectSettings(detect_hands=False, overlays=False), object_mask_dir=masks,
    )
    clip = Clip.load(report.clip_dir)
    np.testing.assert_array_equal(clip.object.masks.mask[0], fake)
    np.testing.assert_array_equal(clip.object.masks.mask[1], fake)
    np.testing.assert_allclose(clip.object.boxes[0], [30, 20, 90, 60])
    assert clip.meta["segmenter"] == ["file", "grabcut"]
    assert not (tmp_path / "clip" / "overlays").exists()


def test_external_mask_encodings_and_errors(tmp_path):
    m = np.zeros((8, 10), np.uint8)
    m[2:4, 3:6] = 255
    m[5, 5] = 128
    cv2.imwrite(str(tmp_path / "a.png"), m)
    mask, unknown = read_external_mask(tmp_path / "a.png")
    assert mask.sum() == 6 and unknown.sum() == 1
    soft = (np.arange(80).reshape(8, 10) * 3).astype(np.uint8)  # a soft mask: >= 128 is foreground
    cv2.imwrite(str(tmp_path / "b.png"), soft)
    assert read_external_mask(tmp_path / "b.png")[0].sum() == int((soft >= 128).sum())
    files = FileMasks(tmp_path, ["a", "c"], (8, 10))
    assert files.has(0) and not files.has(1) and files.read(1) is None
    with pytest.raises(HoFitError, match="differs from the frames"):
        FileMasks(tmp_path, ["a"], (9, 10)).read(0)
    with pytest.raises(HoFitError, match="no PNG matching"):
        FileMasks(tmp_path, ["zzz", "yyy"] * 3, (8, 10))


def test_bad_input_messages(tmp_path):
    frames, objs, _, _ = _sequence(num=1)
    _write_frames(tmp_path / "frames", frames)
    with pytest.raises(HoFitError, match="outside the 320x240"):
        detect_clip(tmp_path / "frames", tmp_path / "c1", np.array([400.0, 10, 500, 50]), DetectSettings(detect_hands=False))
    video = tmp_path / "broken.mp4"
    video.write_bytes(b"\x00" * 2000)
    with pytest.raises(HoFitError, match="video"):
        detect_clip(video, tmp_path / "c2", np.array([0.0, 0, 50, 50]), DetectSettings(detect_hands=False))
    with pytest.raises(HoFitError, match="frames not found"):
        detect_clip(tmp_path / "nope", tmp_path / "c3", np.array([0.0, 0, 50, 50]))
    assert not (tmp_path / "c1").exists() and not (tmp_path / "c2").exists()


def test_interruption_saves_the_frames_already_processed(tmp_path):
    frames, objs, _, kps = _sequence(num=4)
    _write_frames(tmp_path / "frames", frames)

    def detector(image, _calls=[0]):
        _calls[0] += 1
        if _calls[0] == 3:
            raise KeyboardInterrupt
        return []

    with pytest.raises(KeyboardInterrupt):
        detect_clip(tmp_path / "frames", tmp_path / "clip", box_from_mask(objs[0]) + PAD, hand_detector=detector,
                    template="procedural:mug")
    clip = Clip.load(tmp_path / "clip")
    assert clip.num_frames == 2 and "stopped after 2 frames" in clip.meta["incomplete"]
    assert clip.hands == [] and clip.object.present.all()
