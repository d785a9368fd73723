"""`hofit models` (model store) and `hofit detect` argument handling, without network."""

from __future__ import annotations

import argparse
import hashlib
import zipfile

import numpy as np
import pytest

from _synthetic import background, draw_object
from hoFit.cli import detect as detect_cli
from hoFit.cli import models as models_cli
from hoFit.data.clip import Clip
from hoFit.data.frames import write_image
from hoFit.errors import HoFitError
from hoFit.perception import model_store
from hoFit.perception.boxes import box_from_mask


def _fake_wheel(path, payloads):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for source, data in payloads.items():
            z.writestr(source, data)
        z.writestr("mediapipe/__init__.py", "")
    return path


@pytest.fixture
def fake_members(monkeypatch):
    """Point the recorded hashes at small fake model files."""
    data = {"hand_detector.tflite": b"palm" * 100, "hand_landmarks_detector.tflite": b"landmark" * 100}
    members = {
        name: (source, hashlib.sha256(data[name]).hexdigest())
        for name, (source, _) in model_store.HAND_LANDMARKER_MEMBERS.items()
    }
    monkeypatch.setattr(model_store, "HAND_LANDMARKER_MEMBERS", members)
    return {members[n][0]: d for n, d in data.items()}


def test_recorded_hashes_are_sha256():
    for source, digest in model_store.HAND_LANDMARKER_MEMBERS.values():
        assert source.startswith("mediapipe/modules/") and len(digest) == 64 and int(digest, 16) >= 0


def test_build_is_deterministic_and_verified(tmp_path, fake_members):
    wheel = _fake_wheel(tmp_path / "mediapipe-0.10.21-x.whl", fake_members)
    a = model_store.build_hand_landmarker_task(wheel, tmp_path / "a" / "hand_landmarker.task")
    b = model_store.build_hand_landmarker_task(wheel, tmp_path / "b" / "hand_landmarker.task")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as z:
        assert sorted(z.namelist()) == ["hand_detector.tflite", "hand_landmarks_detector.tflite"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
    check = model_store.verify_hand_landmarker(a, try_load=False)
    assert check.ok and all("ok" in d for d in check.details)


def test_wrong_or_incomplete_wheel_is_rejected(tmp_path, fake_members):
    corrupted = {k: v + b"x" for k, v in fake_members.items()}
    with pytest.raises(HoFitError, match="SHA-256"):
        model_store.build_hand_landmarker_task(_fake_wheel(tmp_path / "bad.whl", corrupted), tmp_path / "t.task")
    first = dict(list(fake_members.items())[:1])
    with pytest.raises(HoFitError, match="later mediapipe wheels ship no model"):
        model_store.build_hand_landmarker_task(_fake_wheel(tmp_path / "new.whl", first), tmp_path / "t.task")
    assert not (tmp_path / "t.task").exists()


def test_models_command_offline_wheel_and_check(tmp_path, fake_members, monkeypatch, capsys):
    monkeypatch.setenv("HOFIT_CACHE_DIR", str(tmp_path / "cache"))
    parser = argparse.ArgumentParser()
    models_cli.add_arguments(parser)
    with pytest.raises(HoFitError, match="hofit models"):
        models_cli.run(parser.parse_args(["--check"]))
    wheel = _fake_wheel(tmp_path / "w.whl", fake_members)
    monkeypatch.setattr(model_store, "verify_hand_landmarker",
                        lambda p, try_load=True, _v=model_store.verify_hand_landmarker: _v(p, try_load=False))
    assert models_cli.run(parser.parse_args(["--wheel", str(wheel)])) == 0
    assert (tmp_path / "cache" / "models" / "hand_landmarker.task").is_file()
    assert "verified" in capsys.readouterr().out
    assert models_cli.run(parser.parse_args(["--offline-help"])) == 0
    assert "pip download --no-deps mediapipe==0.10.21" in capsys.readouterr().out


def test_download_failure_explains_offline_use(tmp_path):
    empty = tmp_path / "index"
    empty.mkdir()
    with pytest.raises(HoFitError, match="On a machine with network access"):
        model_store.download_model_wheel(tmp_path / "dl", ("--no-index", "--find-links", str(empty)))


def test_detect_command_object_only(tmp_path, capsys):
    rng = np.random.default_rng(0)
    (tmp_path / "frames").mkdir()
    truth = None
    for t in range(2):
        img = background(rng)
        m = draw_object(img, rng, centre=(150 + 5 * t, 120))
        truth = truth if truth is not None else m
        write_image(tmp_path / "frames" / f"{t:04d}.jpg", img)
    x1, y1, x2, y2 = (box_from_mask(truth) + np.array([-6, -6, 6, 6])).astype(int)
    parser = argparse.ArgumentParser()
    detect_cli.add_arguments(parser)
    args = parser.parse_args([str(tmp_path / "frames"), "--out", str(tmp_path / "clip"), "--no-hands",
                              "--object-box", f"{x1},{y1},{x2},{y2}", "--template", "procedural:mug", "--focal", "300"])
    assert detect_cli.run(args) == 0
    assert "clip written to" in capsys.readouterr().out
    clip = Clip.load(tmp_path / "clip")
    assert clip.intrinsics.fx == 300 and clip.object.masks.available.all()
    with pytest.raises(HoFitError, match="--object-box x1,y1,x2,y2"):
        detect_cli.run(parser.parse_args([str(tmp_path / "frames"), "--out", str(tmp_path / "c2")]))
    with pytest.raises(HoFitError, match="four numbers"):
        detect_cli.run(parser.parse_args([str(tmp_path / "frames"), "--out", str(tmp_path / "c2"), "--object-box", "1,2"]))


def test_detections_file(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('[null, [1, 2, 3, 4], [[1, 2, 3, 4], [5, 6, 7, 8]]]')
    dets = detect_cli.load_object_detections(path)
    assert dets[0] is None and dets[1].shape == (1, 4) and dets[2].shape == (2, 4)
    path.write_text('[[1, 2, 3]]')
    with pytest.raises(HoFitError, match="frame 0"):
        detect_cli.load_object_detections(path)
