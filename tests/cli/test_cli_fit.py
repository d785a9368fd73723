"""`hofit fit` argument handling: one-line errors with the fix, exit codes, no option wired to nothing."""

from __future__ import annotations

import pytest

from hoFit.cli.main import main


def _error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_missing_clip_directory_is_a_one_line_error(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "nope"), "--no-render"]) == 1
    assert "hofit fit: error:" in _error(capsys)


def test_detection_options_need_detect(tmp_path, capsys):
    assert main(["fit", str(tmp_path), "--template", "procedural:mug", "--no-render"]) == 1
    assert "--template is a detection option: add --detect" in _error(capsys)


def test_unknown_preset_and_bad_override(tmp_path, capsys):
    assert main(["fit", str(tmp_path), "--preset", "fastest"]) == 1
    assert "preset 'fastest' not found" in _error(capsys)
    assert main(["fit", str(tmp_path), "--set", "fit.stages.0.weights.silhouette=1"]) == 1
    assert "unknown loss term 'silhouette'" in _error(capsys)


def test_bad_usage_exits_2():
    with pytest.raises(SystemExit) as info:
        main(["fit"])
    assert info.value.code == 2
