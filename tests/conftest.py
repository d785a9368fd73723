"""Shared fixtures: the location of ../shared/data, skipped cleanly when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data (real sample files); skips the test when it is not there."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"sample data not found at {SHARED_DATA} (the repository's ../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def ycb_dir(shared_data: Path) -> Path:
    """Path to the YCB meshes in ../shared/data/ycb."""
    path = shared_data / "ycb"
    if not path.is_dir():
        pytest.skip(f"YCB meshes not found at {path}")
    return path
