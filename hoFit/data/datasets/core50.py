"""CORe50: 50 hand-held objects (10 categories x 5 instances) filmed in 11 sessions, no 3D ground truth.

On-disk layout (``root``)::

    root/core50_350x350/s<k>/o<n>/C_<kk>_<nn>_<fff>.png     350x350 frames (official core50_350x350.zip)
    root/bbox/s<k>/CropC_o<n>.txt                           official boxes (bbox.zip), or root/bbox.zip itself

A box file has one line per frame, ``ColorNNN: x1 y1 x2 y2``, with inclusive pixel coordinates of the
350x350 frame (the boxes are 128 px squares and may start at -1); hoFit's boxes are pixel edges, so the
loader returns ``x1, y1, x2 + 1, y2 + 1``.

Objects ``o1``-``o50`` come in blocks of five per category (:data:`CORE50_CATEGORIES`). Each category has a
procedural template of hoFit (:data:`CORE50_TEMPLATES`, metric size built in); plug adapters have none and
need ``templates={"plug_adapter": path}``. The hand holding the object depends on the session
(:data:`CORE50_HAND_SIDES`). Intrinsics: focal length 480 px (default), principal point at the centre.
Hand keypoints are not part of the dataset: clips come with empty hand cues (confidence 0) until cues from
the perception front end are attached (:func:`hoFit.data.datasets.common.attach_cues`).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hoFit.data.clip import Clip, HandCues, ObjectCues
from hoFit.data.datasets.common import ClipDataset, ClipSpec, attach_cues, check_root, clip_windows
from hoFit.data.frames import ImageFrames
from hoFit.errors import HoFitError
from hoFit.geometry.cameras import CameraIntrinsics

__all__ = [
    "Core50",
    "CORE50_CATEGORIES",
    "CORE50_TEMPLATES",
    "CORE50_HAND_SIDES",
    "CORE50_LAYOUT",
    "core50_object_category",
    "parse_box_file",
]

# Category of objects o1-o50, five consecutive ids each (official class names: plug_adapter1..5, ...).
CORE50_CATEGORIES: tuple[str, ...] = (
    "plug_adapter", "mobile_phone", "scissor", "light_bulb", "can",
    "glass", "ball", "marker", "cup", "remote_control",
)
# Procedural template of each category (hoFit.models.objects.procedural_template names).
CORE50_TEMPLATES: dict[str, str | None] = {
    "plug_adapter": None,
    "mobile_phone": "mobile_phone",
    "scissor": "scissors",
    "light_bulb": "light_bulb",
    "can": "can",
    "glass": "glass",
    "ball": "ball",
    "marker": "marker",
    "cup": "mug",
    "remote_control": "remote_control",
}
# Hand holding the object in each session.
CORE50_HAND_SIDES: dict[str, str] = {
    "s1": "right", "s2": "left", "s3": "left", "s4": "right", "s5": "right", "s6": "right",
    "s7": "left", "s8": "right", "s9": "left", "s10": "right", "s11": "left",
}
DEFAULT_FOCAL = 480.0

CORE50_LAYOUT = """  ROOT/core50_350x350/s1/o1/C_01_01_000.png ...   (unzipped core50_350x350.zip)
  ROOT/bbox/s1/CropC_o1.txt ...                      (unzipped bbox.zip, or ROOT/bbox.zip itself)
(see docs/datasets.md for the download links)"""

_FRAME_NAME = re.compile(r"^C_(\d{2})_(\d{2})_(\d{3})\.png$")
_BOX_LINE = re.compile(r"^Color(\d+):\s*(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s*$")


def core50_object_category(object_id: int) -> str:
    """Category of object ``o<object_id>`` (1-50)."""
    if not 1 <= int(object_id) <= 50:
        raise HoFitError(f"CORe50 object ids are 1..50, got {object_id}")
    return CORE50_CATEGORIES[(int(object_id) - 1) // 5]


def parse_box_file(text: str, source: str) -> dict[int, np.ndarray]:
    """Parse a ``CropC_o<n>.txt`` file: frame number -> box ``x1, y1, x2, y2`` (pixel edges, float32)."""
    boxes: dict[int, np.ndarray] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _BOX_LINE.match(line.strip())
        if match is None:
            raise HoFitError(f"{source}, line {number}: expected 'ColorNNN: x1 y1 x2 y2', got {line.strip()!r}")
        frame, x1, y1, x2, y2 = (int(g) for g in match.groups())
        if x2 < x1 or y2 < y1:
            raise HoFitError(f"{source}, line {number}: box {x1} {y1} {x2} {y2} has x2 < x1 or y2 < y1")
        boxes[frame] = np.array([x1, y1, x2 + 1, y2 + 1], dtype=np.float32)
    return boxes


class _BoxSource:
    """Reads box files from ``root/bbox/`` or from ``root/bbox.zip``."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "bbox"
        self.zip_path = root / "bbox.zip"
        self._zip = None
        if not self.folder.is_dir() and self.zip_path.is_file():
            try:
                self._zip = zipfile.ZipFile(self.zip_path)
            except zipfile.BadZipFile as exc:
                raise HoFitError(f"cannot read {self.zip_path}: {exc}") from None
            self._names = set(self._zip.namelist())

    def read(self, session: str, obj: str) -> dict[int, np.ndarray] | None:
        relative = f"bbox/{session}/CropC_{obj}.txt"
        if self._zip is not None:
            if relative not in self._names:
                return None
            return parse_box_file(self._zip.read(relative).decode("utf-8"), f"{self.zip_path}:{relative}")
        path = self.folder / session / f"CropC_{obj}.txt"
        if not path.is_file():
            return None
        return parse_box_file(path.read_text(), str(path))


class Core50(ClipDataset):
    """Clips of CORe50 sequences (one per session and object).

    Args:
        root: folder holding ``core50_350x350/`` and ``bbox/`` (or ``bbox.zip``).
        objects: object ids (1-50), category names, or None for every object with a template.
        sessions: session numbers (1-11) or None for all present.
        frame_nb, step: clips of ``frame_nb`` frames taken ``step`` apart (-1: whole sequences).
        focal: focal length in pixels.
        templates: ``{category: mesh path}`` overriding the procedural templates.
        cues_dir: optional folder of clip-format cue directories, one per clip name, attached on load.
    """

    name = "core50"

    def __init__(
        self,
        root: str | Path,
        objects: Sequence[int | str] | None = None,
        sessions: Sequence[int] | None = None,
        frame_nb: int = 10,
        step: int = 4,
        focal: float = DEFAULT_FOCAL,
        templates: dict[str, str] | None = None,
        cues_dir: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.root = check_root(root, "CORe50", ["core50_350x350"], CORE50_LAYOUT)
        if not (self.root / "bbox").is_dir() and not (self.root / "bbox.zip").is_file():
            raise HoFitError(f"{self.root}: neither bbox/ nor bbox.zip found. Expected:\n{CORE50_LAYOUT}")
        self.boxes = _BoxSource(self.root)
        self.focal = float(focal)
        self.templates = dict(templates or {})
        unknown = sorted(set(self.templates) - set(CORE50_CATEGORIES))
        if unknown:
            raise HoFitError(f"templates: unknown CORe50 categories {unknown}; expected among {CORE50_CATEGORIES}")
        self.cues_dir = None if cues_dir is None else Path(cues_dir)
        object_ids = self._object_ids(objects)
        image_root = self.root / "core50_350x350"
        session_names = [f"s{k}" for k in (range(1, 12) if sessions is None else sessions)]
        bad = [s for s in session_names if s not in CORE50_HAND_SIDES]
        if bad:
            raise HoFitError(f"CORe50 sessions are 1..11, got {bad}")
        for session in session_names:
            if not (image_root / session).is_dir():
                if sessions is not None:
                    raise HoFitError(f"CORe50 session folder not found: {image_root / session}")
                continue
            for object_id in object_ids:
                folder = image_root / session / f"o{object_id}"
                if not folder.is_dir():
                    if objects is not None and sessions is not None:
                        raise HoFitError(f"CORe50 object folder not found: {folder}")
                    continue
                numbers = self._frame_numbers(folder, session, object_id)
                for window in clip_windows(len(numbers), frame_nb, step):
                    frames = [numbers[i] for i in window]
                    self.specs.append(ClipSpec(
                        name=f"{session}_o{object_id}_{frames[0]:03d}", sequence=f"{session}/o{object_id}",
                        frames=frames, category=core50_object_category(object_id),
                        extra={"session": session, "object": object_id},
                    ))
        if not self.specs:
            raise HoFitError(f"no CORe50 sequence found under {image_root} for the chosen objects and sessions")

    def _object_ids(self, objects) -> list[int]:
        if objects is None:
            ids = [i for i in range(1, 51) if self._template_for(core50_object_category(i), strict=False) is not None]
            return ids
        ids = []
        for item in objects:
            if isinstance(item, str) and not item.isdigit():
                if item not in CORE50_CATEGORIES:
                    raise HoFitError(f"unknown CORe50 category {item!r}; expected one of {CORE50_CATEGORIES}")
                start = CORE50_CATEGORIES.index(item) * 5 + 1
                ids.extend(range(start, start + 5))
            else:
                ids.append(int(item))
        for i in ids:
            self._template_for(core50_object_category(i), strict=True)
        return ids

    def _template_for(self, category: str, strict: bool) -> str | None:
        if category in self.templates:
            path = Path(self.templates[category]).expanduser()
            if not path.is_file():
                raise HoFitError(f"template for {category} not found: {path}")
            return str(path.absolute())
        procedural = CORE50_TEMPLATES[category]
        if procedural is None:
            if strict:
                raise HoFitError(
                    f"CORe50 category {category} has no built-in template; pass templates={{'{category}': 'mesh.obj'}}"
                )
            return None
        return f"procedural:{procedural}"

    @staticmethod
    def _frame_numbers(folder: Path, session: str, object_id: int) -> list[int]:
        numbers = []
        for path in folder.iterdir():
            match = _FRAME_NAME.match(path.name)
            if match is None:
                continue
            s, o, f = (int(g) for g in match.groups())
            if (f"s{s}", o) != (session, object_id):
                raise HoFitError(f"{path}: file name says session {s}, object {o}, but it is in {session}/o{object_id}")
            numbers.append(f)
        if not numbers:
            raise HoFitError(f"no frame C_<ss>_<oo>_<fff>.png in {folder}")
        return sorted(numbers)

    def frame_path(self, session: str, object_id: int, number: int) -> Path:
        return self.root / "core50_350x350" / session / f"o{object_id}" / f"C_{int(session[1:]):02d}_{object_id:02d}_{number:03d}.png"

    def load_clip(self, spec: ClipSpec) -> Clip:
        session, object_id = spec.extra["session"], spec.extra["object"]
        frames = ImageFrames([self.frame_path(session, object_id, n) for n in spec.frames])
        height, width = frames.size
        count = len(spec.frames)
        box_table = self.boxes.read(session, f"o{object_id}")
        boxes = np.full((count, 4), np.nan, dtype=np.float32)
        if box_table is not None:
            for t, number in enumerate(spec.frames):
                if number in box_table:
                    boxes[t] = box_table[number]
        present = np.ones(count, dtype=bool)  # the object is in every CORe50 frame; a missing box is only NaN
        side = CORE50_HAND_SIDES[session]
        hand = HandCues(side, np.zeros((count, 21, 2), np.float32), np.zeros((count, 21), np.float32))
        clip = Clip(
            frames=frames,
            intrinsics=CameraIntrinsics.from_fov(width, height, self.focal),
            hands=[hand],
            object=ObjectCues(present, boxes if box_table is not None else None),
            template=self._template_for(spec.category, strict=True),  # type: ignore[arg-type]
            object_scale=1.0,
            object_category=spec.category,
            name=spec.name,
            fps=20.0,
            frame_ids=[f"{spec.sequence}/{n:03d}" for n in spec.frames],
            meta={"dataset": "core50", "session": session, "object": f"o{object_id}", "category": spec.category},
        )
        if self.cues_dir is not None:
            clip = attach_cues(clip, self.cues_dir)
        return clip
