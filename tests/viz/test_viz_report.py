"""The report page: self-contained HTML with videos, metric table, loss curves, timings and config.

One test loads the page in a real headless browser (Debian's chromium) and is skipped when chromium is
not installed (``apt-get install chromium``).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from viz_factories import make_result

from hoFit.errors import HoFitError
from hoFit.viz.plots import plot_losses
from hoFit.viz.report import read_metrics_json, write_report
from hoFit.viz.video import write_gif, write_mp4


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("td", "th"):
            self._in_cell = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.cells[-1] += data


METRICS = {
    "joint_error": {"value": 1.23456, "unit": "cm", "higher_is_better": False, "description": "mean 3D keypoint error"},
    "joint_auc": {"value": 0.75, "unit": "", "higher_is_better": True},
    "object_add_s": {"value": None, "unit": "cm"},
}


@pytest.fixture
def result_dir(tmp_path):
    result = make_result()
    directory = result.save(tmp_path / "res", meshes=False)
    (directory / "metrics.json").write_text(json.dumps(METRICS))
    frames = np.zeros((3, 16, 24, 3), np.uint8)
    frames[:, :, :12] = 200
    write_mp4(directory / "videos" / "summary.mp4", frames)
    write_mp4(directory / "videos" / "overlay.mp4", frames)
    write_gif(directory / "videos" / "rotated.gif", frames)
    plot_losses(result.losses, directory / "losses.png")
    return directory


def test_report_references_existing_files_and_has_metric_table(result_dir):
    page = write_report(result_dir)
    assert page == result_dir / "report.html"
    text = page.read_text()
    parser = _Collector()
    parser.feed(text)
    # every relative reference resolves to a file next to the page; nothing is fetched from elsewhere
    refs = [a.get("src") or a.get("href") for tag, a in parser.tags if tag in ("video", "img", "a", "link", "script")]
    refs = [r for r in refs if r]
    assert refs
    for ref in refs:
        assert not re.match(r"^(https?:)?//", ref), f"external reference {ref}"
        if not ref.startswith("data:"):
            assert (result_dir / ref).exists(), f"{ref} does not exist"
    assert not any(tag == "script" for tag, _ in parser.tags)
    videos = [a["src"] for tag, a in parser.tags if tag == "video"]
    assert videos == ["videos/summary.mp4", "videos/overlay.mp4"]  # summary first, then overlay
    assert all("controls" in a for tag, a in parser.tags if tag == "video")
    assert any(tag == "img" and a.get("src") == "videos/rotated.gif" for tag, a in parser.tags)
    # metric table: name, value with 4 significant digits, unit; null -> n/a
    cells = [c.strip() for c in parser.cells]
    i = cells.index(next(c for c in cells if c.startswith("joint_error")))
    assert cells[i + 1: i + 3] == ["1.235", "cm"]
    j = cells.index(next(c for c in cells if c.startswith("object_add_s")))
    assert cells[j + 1] == "n/a"
    # loss curves embedded as the exact PNG bytes
    match = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert base64.b64decode(match.group(1)) == (result_dir / "losses.png").read_bytes()
    # timings and config
    assert "object" in cells and "1.25" in cells and "3.75" in cells  # total of 0.5 + 1.25 + 2.0
    assert "iterations: 20" in text
    assert "frame 1: object pose interpolated" in text


def test_report_without_optional_files(tmp_path):
    directory = make_result().save(tmp_path / "bare", meshes=False)
    text = write_report(directory).read_text()
    assert "<video" not in text and "hofit render" in text and "hofit eval" in text
    with pytest.raises(HoFitError, match="not found"):
        write_report(tmp_path / "missing")


def test_read_metrics_json_formats(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"a": 1.5, "b": {"value": None, "unit": "mm"}}))
    records = read_metrics_json(path)
    assert [r["name"] for r in records] == ["a", "b"]
    assert records[0]["value"] == 1.5 and np.isnan(records[1]["value"]) and records[1]["unit"] == "mm"
    path.write_text("{broken")
    with pytest.raises(HoFitError, match="hofit eval"):
        read_metrics_json(path)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="chromium not installed (Debian: apt-get install chromium)")
def test_report_loads_in_headless_chromium(result_dir, tmp_path):
    page = write_report(result_dir)
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.resolve().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    parser = _Collector()
    parser.feed(dom)
    tags = [tag for tag, _ in parser.tags]
    assert "table" in tags and tags.count("video") == 2
    assert any(tag == "table" and a.get("id") == "metrics" for tag, a in parser.tags)
    assert "joint_error" in dom and "1.235" in dom
