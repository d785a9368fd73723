"""Named benchmark sets of synthetic clips, reproducible by one command.

``synth-v1``: 12 clips of 30 frames at 640x480 over the six YCB objects of ../shared/data/ycb (or, without
them, procedural objects), power / precision / pinch grasps, three clips with two hands, half of them with
slow finger motion. ``synth-quick``: 3 clips of 8 frames at 160x120 with procedural objects (no shared data
needed), for tests and demos.

`generate_set` writes ``<root>/<clip name>/`` per clip (see `SyntheticClip.save`) and ``<root>/set.json``
(the set's name and every clip's config). A clip whose directory already holds a ``synth.json`` with the
same config is kept, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from hoFit.config.core import from_dict, to_dict
from hoFit.data.synth.generator import SYNTH_JSON, SynthConfig, default_ycb_dir, generate_clip
from hoFit.data.synth.grasp import GraspSettings
from hoFit.data.synth.motion import MotionSettings
from hoFit.errors import HoFitError
from hoFit.utils.files import write_json

__all__ = ["SET_NAMES", "YCB_OBJECTS", "SET_FILE", "SetClip", "set_configs", "generate_set", "load_set_manifest"]

logger = logging.getLogger(__name__)

SET_NAMES: tuple[str, ...] = ("synth-v1", "synth-quick")
SET_FILE = "set.json"
YCB_OBJECTS: tuple[str, ...] = (
    "003_cracker_box",
    "004_sugar_box",
    "006_mustard_bottle",
    "010_potted_meat_can",
    "021_bleach_cleanser",
    "025_mug",
)
# Procedural stand-ins, in the order of YCB_OBJECTS (used when the YCB meshes are absent).
_PROCEDURAL_FALLBACK: tuple[str, ...] = ("remote_control", "glass", "bottle", "can", "jug", "mug")
_GRASPS = ("power", "precision", "pinch")


@dataclass
class SetClip:
    """One clip of a named set: its directory name and config."""

    name: str
    config: SynthConfig


def _procedural(category: str) -> str:
    from hoFit.models.objects import PROCEDURAL_CATEGORIES

    if category in PROCEDURAL_CATEGORIES:
        return f"procedural:{category}"
    return f"procedural:{sorted(PROCEDURAL_CATEGORIES)[0]}"


def set_configs(name: str, ycb_dir: str | Path | None = None) -> list[SetClip]:
    """The clips of set ``name`` (one of `SET_NAMES`).

    Args:
        ycb_dir: YCB folder for ``synth-v1``; None looks in the default places (`default_ycb_dir`), and when
            the meshes are not there the set uses procedural objects instead (its clip names say which).
    """
    if name == "synth-v1":
        folder = Path(ycb_dir).expanduser() if ycb_dir else default_ycb_dir()
        have_ycb = folder is not None and all((folder / obj).is_dir() for obj in YCB_OBJECTS)
        if not have_ycb:
            logger.warning(
                "synth-v1: the YCB meshes (%s) are not in %s; the set uses procedural stand-ins instead (their "
                "names are in the clip names); pass --ycb-dir or set $HOFIT_YCB_DIR to use YCB",
                ", ".join(YCB_OBJECTS), folder if folder is not None else "../shared/data/ycb",
            )
        clips = []
        for i in range(12):
            k = i % len(YCB_OBJECTS)
            if have_ycb:
                obj, short = f"ycb:{YCB_OBJECTS[k]}", YCB_OBJECTS[k]
            else:
                obj = _procedural(_PROCEDURAL_FALLBACK[k])
                short = obj.split(":", 1)[1]
            grasp = _GRASPS[(i + i // len(YCB_OBJECTS)) % len(_GRASPS)]
            two = i in (2, 7, 11)
            config = SynthConfig(
                object=obj,
                ycb_dir=str(folder) if have_ycb else None,
                grasp=GraspSettings(grasp_type=grasp),
                two_hands=two,
                num_frames=30,
                image_size=(480, 640),
                finger_motion=0.25 if i % 2 else 0.0,
                seed=1000 + i,
                name=f"v1_{i:02d}_{short}_{grasp}" + ("_2h" if two else ""),
            )
            clips.append(SetClip(config.name, config))
        return clips
    if name == "synth-quick":
        clips = []
        for i, (category, grasp) in enumerate((("mug", "power"), ("can", "precision"), ("bottle", "pinch"))):
            obj = _procedural(category)
            config = SynthConfig(
                object=obj,
                grasp=GraspSettings(grasp_type=grasp, hypotheses=3, iterations=80),
                num_frames=8,
                image_size=(120, 160),
                motion=MotionSettings(rotation_amplitude=0.3, translation_amplitude=0.03),
                supersample=2,
                seed=2000 + i,
                name=f"quick_{i}_{obj.split(':', 1)[1]}_{grasp}",
            )
            clips.append(SetClip(config.name, config))
        return clips
    raise HoFitError(f"unknown synthetic set {name!r}; available: {', '.join(SET_NAMES)}")


def _complete(directory: Path, config: SynthConfig) -> bool:
    meta = directory / SYNTH_JSON
    if not meta.is_file():
        return False
    try:
        stored = json.loads(meta.read_text()).get("config")
    except (OSError, ValueError):
        return False
    return stored == to_dict(config)


def generate_set(
    name: str,
    root: str | Path,
    ycb_dir: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
    only: list[str] | None = None,
    ho3d_root: str | Path | None = None,
) -> list[Path]:
    """Generate (or complete) the named set under ``root``; returns the clip directories in set order.

    Args:
        name: one of `SET_NAMES`.
        root: output folder; gets one sub-folder per clip and ``set.json``.
        ycb_dir: see `set_configs`.
        overwrite: regenerate clips that are already complete.
        progress: show a progress bar.
        only: names of the clips to generate (default all).
        ho3d_root: also write an HO-3D-format replica of every clip there (`write_ho3d_replica`).
    """
    from tqdm import tqdm

    from hoFit.data.synth.ho3d import write_ho3d_replica
    from hoFit.data.synth.generator import SyntheticClip

    clips = set_configs(name, ycb_dir)
    if only:
        unknown = sorted(set(only) - {c.name for c in clips})
        if unknown:
            raise HoFitError(f"set {name}: no clips named {unknown}; clips are {[c.name for c in clips]}")
        clips = [c for c in clips if c.name in only]
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    write_json(root / SET_FILE, {"set": name, "clips": [{"name": c.name, "config": to_dict(c.config)} for c in clips]})
    paths = []
    bar = tqdm(clips, desc=f"synth {name}", unit="clip", disable=not progress)
    for item in bar:
        bar.set_postfix_str(item.name)
        directory = root / item.name
        if not overwrite and _complete(directory, item.config):
            logger.debug("%s: complete, kept", directory)
            synthetic = None
        else:
            start = time.perf_counter()
            synthetic = generate_clip(item.config)
            synthetic.save(directory, overwrite=True)
            logger.info("%s: generated in %.1f s %s", item.name, time.perf_counter() - start, synthetic.timings)
        if ho3d_root is not None:
            write_ho3d_replica(synthetic or SyntheticClip.load(directory), ho3d_root)
        paths.append(directory)
    return paths


def load_set_manifest(root: str | Path) -> list[SetClip]:
    """The clips listed in ``<root>/set.json``."""
    path = Path(root) / SET_FILE
    if not path.is_file():
        raise HoFitError(f"{root}: no {SET_FILE}; generate the set with `hofit synth --set NAME --out {root}`")
    data = json.loads(path.read_text())
    return [SetClip(c["name"], from_dict(SynthConfig, c["config"], c["name"])) for c in data["clips"]]

