"""render_all, `hofit render` and `hofit eval` on hand-built results and clips."""

from __future__ import annotations

import argparse
import json
import logging

import imageio.v2 as imageio_v2
import numpy as np
import pytest
from viz_factories import make_clip, make_result

from hoFit.cli import eval as eval_cli
from hoFit.eval.evaluate import evaluate_result
from hoFit.cli import render as render_cli
from hoFit.errors import HoFitError
from hoFit.viz.outputs import render_all


def _count(path) -> int:
    reader = imageio_v2.get_reader(path)
    try:
        return sum(1 for _ in reader.iter_data())
    finally:
        reader.close()


def _args(module, argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("-q", "--quiet", action="store_true")
    module.add_arguments(parser)
    return parser.parse_args(argv)


def test_render_all_with_clip_writes_videos_losses_and_report(tmp_path):
    result = make_result(num_frames=3)
    clip_dir = make_clip(result).save(tmp_path / "clip")
    result.config["clip"] = {"path": str(clip_dir)}
    result_dir = result.save(tmp_path / "res", meshes=False)
    outputs = render_all(result_dir, quiet=True)  # clip found through the stored path
    assert outputs.clip_dir == clip_dir
    assert set(outputs.videos) == {"summary", "overlay", "rotated"}
    for path in outputs.videos.values():
        assert path.suffix == ".mp4" and _count(path) == 3
    reader = imageio_v2.get_reader(outputs.videos["summary"])
    assert reader.get_meta_data()["fps"] == pytest.approx(7.0)  # the clip's frame rate
    reader.close()
    assert outputs.losses.is_file()
    html = outputs.report.read_text()
    assert 'src="videos/summary.mp4"' in html and 'src="videos/overlay.mp4"' in html


def test_render_cli_gif_without_clip_warns_and_uses_grey(tmp_path, caplog):
    result_dir = make_result(num_frames=2).save(tmp_path / "res", meshes=False)
    args = _args(render_cli, [str(result_dir), "--views", "camera", "--format", "gif", "--fps", "4", "--quiet"])
    with caplog.at_level(logging.WARNING):
        assert render_cli.run(args) == 0
    assert "grey" in caplog.text
    import imageio.v3 as iio

    gif = iio.imread(result_dir / "videos" / "overlay.gif", index=None)
    assert gif.shape[0] == 2
    assert np.abs(gif[0, 2, 2].astype(int) - 128).max() <= 2  # grey background
    assert not (result_dir / "videos" / "rotated.gif").exists()
    with pytest.raises(SystemExit):
        _args(render_cli, [str(result_dir), "--views", "side"])
    with pytest.raises(HoFitError, match="not found"):
        render_cli.run(_args(render_cli, [str(tmp_path / "nope")]))
    with pytest.raises(HoFitError, match="clip directory not found"):
        render_cli.run(_args(render_cli, [str(result_dir), "--clip", str(tmp_path / "noclip"), "-q"]))


def test_evaluate_result_against_shifted_ground_truth():
    result = make_result(num_frames=4)
    exact = evaluate_result(result, make_clip(result), plausibility=False)
    assert exact["joint_error"] == pytest.approx(0.0, abs=1e-5)
    assert exact["object_add"] == pytest.approx(0.0, abs=1e-5)
    assert exact["object_rotation_error"] == pytest.approx(0.0, abs=1e-3)
    # hand keypoints off by 1 cm along x: unaligned error 1 cm, Procrustes-aligned 0; object off by 2 cm in z
    shifted = evaluate_result(result, make_clip(result, hand_shift=(0.01, 0, 0), object_shift=(0, 0, 0.02)),
                                       plausibility=False)
    assert shifted["joint_error"] == pytest.approx(1.0, abs=1e-4)
    assert shifted["joint_error_pa"] == pytest.approx(0.0, abs=1e-4)
    assert shifted["object_translation_error"] == pytest.approx(2.0, abs=1e-4)
    assert shifted["object_add"] == pytest.approx(2.0, abs=1e-4)
    assert shifted["object_add_s"] <= shifted["object_add"] + 1e-6
    assert shifted["object_rotation_error"] == pytest.approx(0.0, abs=1e-3)
    # both shifted: the object moves 2 cm in z relative to the hand, which moves 1 cm in x
    assert shifted["object_error_hand_frame"] == pytest.approx(np.hypot(1.0, 2.0), abs=1e-3)
    # the fit moves at constant velocity: no jitter
    assert shifted["hand_jitter"] == pytest.approx(0.0, abs=1e-4)
    assert shifted.get_value("joint_error").unit == "cm"
    no_gt = evaluate_result(result, None, plausibility=False)
    assert "joint_error" not in no_gt and "object_jitter" in no_gt


def test_eval_cli_writes_metrics_json_and_table(tmp_path, capsys):
    result = make_result(num_frames=3)
    clip_dir = make_clip(result, hand_shift=(0.0, 0.02, 0.0)).save(tmp_path / "clip")
    result_dir = result.save(tmp_path / "res", meshes=False)
    assert eval_cli.run(_args(eval_cli, [str(result_dir), "--gt", str(clip_dir)])) == 0
    data = json.loads((result_dir / "metrics.json").read_text())
    assert data["joint_error"]["value"] == pytest.approx(2.0, abs=1e-4) and data["joint_error"]["unit"] == "cm"
    assert set(data["joint_error"]) >= {"value", "unit"}
    assert "penetration_depth" in data  # plausibility on by default
    out = capsys.readouterr().out
    assert "joint_error" in out and "2" in out and str(result_dir / "metrics.json") in out
    assert 'id="metrics"' in (result_dir / "report.html").read_text()
