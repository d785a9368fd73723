"""EPIC-KITCHENS-100 loader: miniature dataset in the official layout, detections in the official
protobuf-in-pickle format, and the real annotation CSVs and detection record."""

from __future__ import annotations

import csv
import pickle
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from hoFit.data.datasets.epic import (
    EpicKitchens,
    FrameDetections,
    HandDetection,
    ObjectDetection,
    _pick_object,
    decode_frame_detections,
    encode_frame_detections,
    load_detections,
    read_segments,
)
from hoFit.data.masks import write_mask_png
from hoFit.errors import HoFitError

W, H = 456, 256  # size of the official rgb_frames
HEADER = ("narration_id,participant_id,video_id,narration_timestamp,start_timestamp,stop_timestamp,start_frame,"
          "stop_frame,narration,verb,verb_class,noun,noun_class,all_nouns,all_noun_classes")


def write_epic(tmp_path: Path) -> tuple[Path, Path, Path]:
    root = tmp_path / "EPIC-KITCHENS"
    frames = root / "P01" / "rgb_frames" / "P01_09"
    frames.mkdir(parents=True)
    for n in range(100, 121):
        cv2.imwrite(str(frames / f"frame_{n:010d}.jpg"), np.full((H, W, 3), n, np.uint8))
    ann = tmp_path / "annotations"
    ann.mkdir()
    (ann / "EPIC_100_noun_classes.csv").write_text(
        'id,key,instances,category\n2,plate,"[\'plate\']",crockery\n13,cup,"[\'cup\', \'mug\']",crockery\n'
        '4,knife,"[\'knife\']",cutlery\n')
    rows = [
        "P01_09_1,P01,P01_09,00:00:01.0,00:00:01.0,00:00:02.0,100,120,take mug,take,0,mug,13,['mug'],[13]",
        "P01_09_2,P01,P01_09,00:00:03.0,00:00:03.0,00:00:04.0,100,110,cut bread,cut,7,knife,4,['knife'],[4]",
        "P02_01_5,P02,P02_01,00:00:03.0,00:00:03.0,00:00:04.0,5,40,wash plate,wash,2,plate,2,['plate'],[2]",
    ]
    (ann / "EPIC_100_validation.csv").write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    det_dir = tmp_path / "detections"
    det_dir.mkdir()
    blobs = []
    for n in range(1, 130):
        hands = [HandDetection(np.array([0.1, 0.2, 0.3, 0.5]), 0.9, 3, 1, np.array([0.25, 0.0]))]
        if n % 2:
            hands.append(HandDetection(np.array([0.6, 0.6, 0.7, 0.8]), 0.3, 0, 0, np.zeros(2)))  # below threshold
        objects = [ObjectDetection(np.array([0.4, 0.25, 0.5, 0.45]), 0.7),
                   ObjectDetection(np.array([0.8, 0.1, 0.9, 0.3]), 0.95)]
        blobs.append(encode_frame_detections(FrameDetections("P01_09", n, hands, objects if n != 104 else [])))
    with open(det_dir / "P01_09.pkl", "wb") as handle:
        pickle.dump(blobs, handle)
    return root, ann / "EPIC_100_validation.csv", det_dir


def test_protobuf_wire_format():
    # BBox{top_left_x: 0.5}: field 1, wire type 5 (tag 0x0d), little-endian float
    frame = FrameDetections("P01", 300, [HandDetection(np.array([0.5, 0, 0, 0]), 0.0, 0, 0, np.zeros(2))], [])
    data = encode_frame_detections(frame)
    box = b"\x0d" + struct.pack("<f", 0.5)
    hand = b"\x0a" + bytes([len(box)]) + box + b"\x22\x00"  # bbox, then an empty object_offset message
    assert data == b"\x0a\x03P01" + b"\x10\xac\x02" + b"\x1a" + bytes([len(hand)]) + hand
    back = decode_frame_detections(data)
    assert back.video_id == "P01" and back.frame_number == 300 and back.hands[0].box.tolist() == [0.5, 0, 0, 0]
    full = FrameDetections("P22_107", 123456, [HandDetection(np.array([0.1, 0.2, 0.3, 0.4]), 0.75, 4, 1,
                                                             np.array([-0.125, 0.5]))],
                           [ObjectDetection(np.array([0.25, 0.5, 0.75, 1.0]), 0.5)])
    again = decode_frame_detections(encode_frame_detections(full))
    np.testing.assert_allclose(again.hands[0].box, [0.1, 0.2, 0.3, 0.4], rtol=1e-6)
    assert (again.hands[0].state, again.hands[0].side, again.hands[0].score) == (4, 1, 0.75)
    np.testing.assert_array_equal(again.hands[0].offset, [-0.125, 0.5])
    np.testing.assert_array_equal(again.objects[0].box, [0.25, 0.5, 0.75, 1.0])


def test_loader_clips_cues_and_intrinsics(tmp_path):
    root, csv_path, det_dir = write_epic(tmp_path)
    data = EpicKitchens(root, csv_path, detections_dir=det_dir, frame_nb=5, step=4)
    assert data.skipped_videos == ["P02_01"]  # annotated, frames not downloaded: skipped and listed
    # segment 100..120 (21 frames), clips of 5 frames 4 apart: one clip 100..116, one ending on 120
    assert [s.frames for s in data.specs] == [[100, 104, 108, 112, 116], [104, 108, 112, 116, 120]]
    assert [s.category for s in data.specs] == ["cup", "cup"]  # "mug" belongs to the noun class "cup"
    clip = data[0]
    assert clip.name == "P01_09_1_0000000100" and clip.frame_ids[1] == "P01_09/0000000104"
    assert clip.template == "procedural:mug" and clip.image_size == (H, W)
    k = clip.intrinsics
    assert k.fx == pytest.approx(200 * W / 640) and (k.cx, k.cy) == ((W - 1) / 2, (H - 1) / 2)
    assert [h.side for h in clip.hands] == ["right"]  # the left hand is below the score threshold
    np.testing.assert_allclose(clip.hands[0].boxes[0], [0.1 * W, 0.2 * H, 0.3 * W, 0.5 * H], rtol=1e-6)
    # the right hand is in contact and points (centre + offset = (0.45, 0.35)) to the first object,
    # although the second one has the higher score
    np.testing.assert_allclose(clip.object.boxes[0], [0.4 * W, 0.25 * H, 0.5 * W, 0.45 * H], rtol=1e-6)
    assert not clip.object.present[1] and np.isnan(clip.object.boxes[1]).all()  # frame 104: no object
    assert clip.frames[4][0, 0, 0] == 116


def test_masks_from_files(tmp_path):
    root, csv_path, det_dir = write_epic(tmp_path)
    masks = tmp_path / "masks" / "P01_09"
    masks.mkdir(parents=True)
    m = np.zeros((H, W), np.uint8)
    m[60:100, 180:230] = 1
    write_mask_png(masks / "frame_0000000108.png", m)
    clip = EpicKitchens(root, csv_path, detections_dir=det_dir, masks_dir=tmp_path / "masks", frame_nb=5, step=4)[0]
    assert clip.object.masks.available.tolist() == [False, False, True, False, False]
    np.testing.assert_array_equal(clip.object.masks.mask[2], m)


def test_errors(tmp_path):
    root, csv_path, det_dir = write_epic(tmp_path)
    with pytest.raises(HoFitError, match=r"frames of video P02_01 not found: expected .*P02/rgb_frames/P02_01"):
        EpicKitchens(root, csv_path, videos=["P02_01"])
    (root / "P01" / "rgb_frames" / "P01_09" / "frame_0000000108.jpg").unlink()
    with pytest.raises(HoFitError, match=r"P01_09_1 .*1 frame file\(s\) missing, e.g. \['.*frame_0000000108.jpg'\]"):
        EpicKitchens(root, csv_path)
    with pytest.raises(HoFitError, match="no template for the noun 'knife'"):
        EpicKitchens(root, csv_path, nouns=["knife"])
    with pytest.raises(HoFitError, match="EPIC-KITCHENS root not found"):
        EpicKitchens(tmp_path / "nope", csv_path)
    (det_dir / "P01_09.pkl").write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(HoFitError, match=r"cannot read hand-object detections .*P01_09.pkl"):
        load_detections(det_dir / "P01_09.pkl")


def test_real_annotations(shared_data):
    path = shared_data / "epic" / "epic-kitchens-100-annotations" / "EPIC_100_validation.csv"
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = [r for r in rows if r["noun_class"] == "13"]  # class 13 is "cup" (cup, mug, ...)
    segments = read_segments(path, ["cup"])
    assert len(segments) == len(expected) > 100
    assert {s["narration_id"] for s in segments} == {r["narration_id"] for r in expected}
    assert {"mug", "cup"} <= {s["noun"] for s in segments}
    first = next(s for s in segments if s["narration_id"] == expected[0]["narration_id"])
    assert (first["start_frame"], first["stop_frame"]) == (int(expected[0]["start_frame"]), int(expected[0]["stop_frame"]))


def test_real_detection_record(shared_data):
    path = next((shared_data / "epic").glob("hoa_detections_*.json"))
    frames = load_detections(path)
    frame = frames[13404]
    assert frame.video_id == "P01_09" and len(frame.hands) == 2 and len(frame.objects) == 2
    left = next(h for h in frame.hands if h.side == 0)
    np.testing.assert_allclose(left.box, [0.3947368562221527, 0.42578125, 0.4934210479259491, 0.76171875])
    assert left.state == 3 and left.score == pytest.approx(0.9979859590530396)
    # both hands hold a portable object; the best one (left) points to the first (large) object
    picked = _pick_object(frame, 0.5, 0.5)
    np.testing.assert_allclose(picked.box, frame.objects[0].box)
    # the record survives the official binary encoding
    again = decode_frame_detections(encode_frame_detections(frame))
    np.testing.assert_allclose(again.hands[1].offset, frame.hands[1].offset, rtol=1e-6)
