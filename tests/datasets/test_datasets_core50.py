"""CORe50 loader: a miniature dataset in the official layout, and the real bbox.zip and sample frame."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from hoFit.data.datasets.core50 import (
    CORE50_CATEGORIES,
    CORE50_HAND_SIDES,
    Core50,
    core50_object_category,
    parse_box_file,
)
from hoFit.errors import HoFitError


def write_core50(root: Path, session: int = 1, objects=(41, 33), count: int = 12, boxes: bool = True) -> None:
    for obj in objects:
        folder = root / "core50_350x350" / f"s{session}" / f"o{obj}"
        folder.mkdir(parents=True, exist_ok=True)
        for f in range(count):
            cv2.imwrite(str(folder / f"C_{session:02d}_{obj:02d}_{f:03d}.png"), np.full((350, 350, 3), f, np.uint8))
        if boxes:
            box_dir = root / "bbox" / f"s{session}"
            box_dir.mkdir(parents=True, exist_ok=True)
            lines = [f"Color{f:03d}: {100 + f} {-1 + f} {227 + f} {126 + f}" for f in range(count) if f != 5]
            (box_dir / f"CropC_o{obj}.txt").write_text("\n".join(lines) + "\n")


def test_loads_clips_boxes_and_metadata(tmp_path):
    write_core50(tmp_path)
    data = Core50(tmp_path, frame_nb=4, step=3)
    # 12 frames, clips of 4 frames 3 apart: starts 0 and (11 - 9) = 2
    assert [s.name for s in data.specs] == ["s1_o33_000", "s1_o33_002", "s1_o41_000", "s1_o41_002"]
    clip = data[3]
    assert clip.frame_ids == ["s1/o41/002", "s1/o41/005", "s1/o41/008", "s1/o41/011"]
    np.testing.assert_array_equal(clip.object.boxes[0], [102, 1, 230, 129])  # inclusive -> pixel edges
    assert np.isnan(clip.object.boxes[1]).all() and clip.object.present.all()  # frame 5 has no box line
    assert clip.template == "procedural:mug" and clip.object_category == "cup"
    assert data[0].template == "procedural:ball" and data[0].object_category == "ball"
    assert clip.hands[0].side == "right" and not (clip.hands[0].confidence > 0).any()
    k = clip.intrinsics
    assert (k.fx, k.fy, k.cx, k.cy, k.width, k.height) == (480.0, 480.0, 174.5, 174.5, 350, 350)
    assert clip.frames[2][0, 0, 0] == 8


def test_object_selection_and_errors(tmp_path):
    write_core50(tmp_path, session=2, objects=(41,))
    data = Core50(tmp_path, objects=["cup"], frame_nb=-1, step=1)
    assert len(data) == 1 and data[0].hands[0].side == "left" and data[0].num_frames == 12
    with pytest.raises(HoFitError, match="plug_adapter has no built-in template"):
        Core50(tmp_path, objects=[3])
    with pytest.raises(HoFitError, match="unknown CORe50 category 'mugs'"):
        Core50(tmp_path, objects=["mugs"])
    with pytest.raises(HoFitError, match=r"(?s)does not look like a CORe50 root: missing \['core50_350x350'\].*bbox.zip"):
        Core50(tmp_path / "core50_350x350")
    shutil.rmtree(tmp_path / "bbox")
    with pytest.raises(HoFitError, match="neither bbox/ nor bbox.zip"):
        Core50(tmp_path)


def test_box_file_errors():
    assert parse_box_file("Color007: -1 3 126 130\n", "x")[7].tolist() == [-1, 3, 127, 131]
    with pytest.raises(HoFitError, match=r"f.txt, line 2: expected 'ColorNNN: x1 y1 x2 y2'"):
        parse_box_file("Color000: 1 2 3 4\nColor001: 1 2 3\n", "f.txt")


def test_attached_cues_replace_the_hands(tmp_path):
    from hoFit.data.clip import HandCues

    write_core50(tmp_path, objects=(41,))
    clip = Core50(tmp_path, frame_nb=4, step=3)[0]
    kp = np.random.default_rng(0).uniform(0, 350, (4, 21, 2)).astype(np.float32)
    cues = tmp_path / "cues"
    clip.hands = [HandCues("right", kp, np.ones((4, 21), np.float32))]
    clip.save(cues / clip.name, copy_frames=False)
    attached = Core50(tmp_path, frame_nb=4, step=3, cues_dir=cues)[0]
    np.testing.assert_array_equal(attached.hands[0].keypoints, kp)
    np.testing.assert_array_equal(attached.object.boxes, clip.object.boxes)
    with pytest.raises(HoFitError, match=r"no cues for clip s1_o41_002: expected a clip directory"):
        Core50(tmp_path, frame_nb=4, step=3, cues_dir=cues)[1]


def test_categories_match_the_official_class_names(shared_data):
    names = (shared_data / "core50" / "core50_class_names.txt").read_text().split()
    assert len(names) == 50
    for object_id, name in enumerate(names, 1):
        assert name == f"{core50_object_category(object_id)}{(object_id - 1) % 5 + 1}"
    assert set(CORE50_HAND_SIDES) == {f"s{k}" for k in range(1, 12)}
    assert len(CORE50_CATEGORIES) == 10


def test_real_bbox_zip_and_sample_frame(shared_data, tmp_path):
    (tmp_path / "bbox.zip").symlink_to(shared_data / "core50" / "bbox.zip")
    folder = tmp_path / "core50_350x350" / "s5" / "o33"
    folder.mkdir(parents=True)
    shutil.copy(shared_data / "core50" / "C_05_33_179.png", folder / "C_05_33_179.png")
    write_core50(tmp_path, session=4, objects=(32,), count=3, boxes=False)
    data = Core50(tmp_path, objects=[32, 33], frame_nb=1, step=1)
    assert [s.name for s in data.specs] == ["s4_o32_000", "s4_o32_001", "s4_o32_002", "s5_o33_179"]
    # bbox/s4/CropC_o32.txt starts with "Color000: 168 191 295 318"
    np.testing.assert_array_equal(data[0].object.boxes[0], [168, 191, 296, 319])
    real = data[3]
    assert real.image_size == (350, 350) and real.hands[0].side == "right" and real.object_category == "ball"
    assert not np.isnan(real.object.boxes).any() and (real.object.boxes[0, 2:] - real.object.boxes[0, :2] == 128).all()
    assert real.frames[0].std() > 10  # a real photograph
