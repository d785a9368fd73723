"""A non-editable install (a wheel, ``pip install git+URL``) carries the presets and the hand model."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_the_wheel_holds_the_presets_and_the_hand_model(tmp_path):
    pytest.importorskip("setuptools", reason="building the wheel offline needs setuptools in this environment")
    # a copy of what the build reads (the links included), so that the build leaves the checkout alone
    source = tmp_path / "src"
    for name in ("pyproject.toml", "README.md", "configs", "assets", "hoFit"):
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(path, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("hofit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    presets = sorted(p.relative_to(REPO / "configs").as_posix() for p in (REPO / "configs").rglob("*.yaml"))
    assert presets and {f"hoFit/presets/{p}" for p in presets} <= names, sorted(names)
    assert "hoFit/assets/hands/openhand_right.npz" in names
    # the packaged files are the repository's, byte for byte
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("hoFit/presets/default.yaml") == (REPO / "configs" / "default.yaml").read_bytes()
        assert archive.read("hoFit/assets/hands/openhand_right.npz") == (REPO / "assets" / "hands" / "openhand_right.npz").read_bytes()


def test_the_presets_and_hand_model_are_found_through_the_package():
    from hoFit.config.schema import PRESET_DIR, list_presets
    from hoFit.models.hand.openhand import default_asset_path

    assert (PRESET_DIR / "default.yaml").read_bytes() == (REPO / "configs" / "default.yaml").read_bytes()
    assert {"default", "homan"} <= set(list_presets())
    assert default_asset_path().read_bytes() == (REPO / "assets" / "hands" / "openhand_right.npz").read_bytes()
