"""The outcome of a fit: per-frame parameters and meshes, loss history, timings and the config used.

A `FitResult` is plain numpy data so that it saves, loads and evaluates without the optimizer. On disk a
result directory holds (see the README's "Result directory" section):

    config.yaml           the full config used (re-run with --config)
    params.npz            every array below, keyed ``hand{i}_<field>`` / ``object_<field>``
    params.json           the same parameters as readable JSON (no vertices)
    losses.json           per-stage, per-term loss history and per-stage wall time
    meshes/               per-frame meshes: hand{i}_<frame>.ply, object_<frame>.ply, scene_<frame>.ply
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hoFit.errors import HoFitError
from hoFit.utils.files import atomic_path, save_npz, write_json

__all__ = ["HandTrack", "ObjectTrack", "FitResult"]

_HAND_ARRAYS = ("global_orient", "articulation", "betas", "transl", "vertices", "keypoints", "faces", "missing")
_OBJECT_ARRAYS = ("rotation", "translation", "vertices", "faces", "missing")


@dataclass
class HandTrack:
    """One hand over a clip of T frames (camera frame, metres).

    Attributes:
        side: "right" or "left".
        global_orient: (T, 3) axis-angle of the wrist, radians.
        articulation: (T, 45) full axis-angle articulation of the 15 finger joints, radians (PCA mean added).
        betas: (S,) shape coefficients, one per clip.
        transl: (T, 3) model translation, metres (before ``scale``).
        vertices: (T, V, 3) posed vertices, metres: ``scale`` times the model posed by the parameters above.
        keypoints: (T, 21, 3) keypoints in hoFit order, metres.
        faces: (F, 3) int64 triangle indices of the hand mesh.
        missing: (T,) bool, frames without a 2D hand cue (their pose is interpolated).
        scale: the hand's size factor over the clip, applied about the camera centre (keeps the keypoints'
            projections): the hand's size and depth are only known together from 2D cues.
    """

    side: str
    global_orient: np.ndarray
    articulation: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    vertices: np.ndarray
    keypoints: np.ndarray
    faces: np.ndarray
    missing: np.ndarray
    scale: float = 1.0


@dataclass
class ObjectTrack:
    """The object over a clip: ``x_cam = rotation @ (scale * x_template) + translation``.

    Attributes:
        rotation: (T, 3, 3) object-to-camera rotations.
        translation: (T, 3) metres.
        scale: metric scale applied to the template.
        vertices: (T, V, 3) posed template vertices, metres.
        faces: (F, 3) int64.
        missing: (T,) bool, frames without an object cue (pose interpolated).
        template: path or ``procedural:<category>`` of the template.
    """

    rotation: np.ndarray
    translation: np.ndarray
    scale: float
    vertices: np.ndarray
    faces: np.ndarray
    missing: np.ndarray
    template: str = ""


@dataclass
class FitResult:
    """A fitted clip.

    Attributes:
        clip_name: name of the clip.
        frame_indices: (T,) indices of the fitted frames in the clip.
        intrinsics: ``{fx, fy, cx, cy, width, height}`` of the camera.
        hands: one `HandTrack` per hand.
        object: the `ObjectTrack`.
        losses: ``{stage: {term: [value per logged iteration]}}`` (weighted values, "total" included).
        timings: ``{step: seconds}`` wall time of initialization and each stage.
        config: the full config used, as plain data.
        log: notable events (rejected steps, interpolated frames), human readable.
    """

    clip_name: str
    frame_indices: np.ndarray
    intrinsics: dict
    hands: list[HandTrack]
    object: ObjectTrack
    losses: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return int(len(self.frame_indices))

    def save(self, directory: str | Path, meshes: bool = True) -> Path:
        """Write the result directory (atomic per file); returns its path."""
        from hoFit.config import write_yaml

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"frame_indices": np.asarray(self.frame_indices)}
        for i, hand in enumerate(self.hands):
            for name in _HAND_ARRAYS:
                arrays[f"hand{i}_{name}"] = np.asarray(getattr(hand, name))
        for name in _OBJECT_ARRAYS:
            arrays[f"object_{name}"] = np.asarray(getattr(self.object, name))
        save_npz(directory / "params.npz", **arrays)
        readable = {
            "clip_name": self.clip_name,
            "frame_indices": np.asarray(self.frame_indices).tolist(),
            "intrinsics": self.intrinsics,
            "hands": [
                {
                    "side": hand.side,
                    "scale": float(hand.scale),
                    "betas": np.round(hand.betas, 6).tolist(),
                    "global_orient": np.round(hand.global_orient, 6).tolist(),
                    "articulation": np.round(hand.articulation, 6).tolist(),
                    "transl": np.round(hand.transl, 6).tolist(),
                    "keypoints": np.round(hand.keypoints, 6).tolist(),
                    "missing": np.asarray(hand.missing).astype(bool).tolist(),
                }
                for hand in self.hands
            ],
            "object": {
                "template": self.object.template,
                "scale": float(self.object.scale),
                "rotation": np.round(self.object.rotation, 6).tolist(),
                "translation": np.round(self.object.translation, 6).tolist(),
                "missing": np.asarray(self.object.missing).astype(bool).tolist(),
            },
            "log": self.log,
        }
        write_json(directory / "params.json", readable)
        write_json(directory / "losses.json", {"losses": self.losses, "timings": self.timings})
        write_yaml(self.config, directory / "config.yaml")
        if meshes:
            self.save_meshes(directory / "meshes")
        return directory

    def save_meshes(self, directory: str | Path) -> None:
        """Per-frame PLY meshes: each hand, the object, and the combined scene (hands coloured apart)."""
        import trimesh

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        colours = [(230, 180, 150, 255), (150, 180, 230, 255)]
        for t, frame in enumerate(np.asarray(self.frame_indices).tolist()):
            parts = []
            for i, hand in enumerate(self.hands):
                mesh = trimesh.Trimesh(hand.vertices[t], hand.faces, process=False)
                mesh.visual.vertex_colors = colours[i % 2]
                parts.append(mesh)
                _export(mesh, directory / f"hand{i}_{frame:06d}.ply")
            obj = trimesh.Trimesh(self.object.vertices[t], self.object.faces, process=False)
            obj.visual.vertex_colors = (120, 200, 120, 255)
            parts.append(obj)
            _export(obj, directory / f"object_{frame:06d}.ply")
            _export(trimesh.util.concatenate(parts), directory / f"scene_{frame:06d}.ply")

    @classmethod
    def load(cls, directory: str | Path) -> "FitResult":
        """Read a result directory written by `save`."""
        from hoFit.config import read_yaml

        directory = Path(directory)
        if not directory.is_dir():
            raise HoFitError(f"result directory not found: {directory}")
        params = directory / "params.npz"
        if not params.is_file():
            raise HoFitError(f"{directory} is not a hoFit result directory: {params.name} is missing")
        meta_path = directory / "params.json"
        try:
            arrays = dict(np.load(params, allow_pickle=False))
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as error:
            raise HoFitError(f"cannot read the result in {directory}: {error}") from error
        hands = []
        for i, hand_meta in enumerate(meta["hands"]):
            values = {name: arrays[f"hand{i}_{name}"] for name in _HAND_ARRAYS}
            hands.append(HandTrack(side=hand_meta["side"], scale=float(hand_meta.get("scale", 1.0)), **values))
        obj_values = {name: arrays[f"object_{name}"] for name in _OBJECT_ARRAYS}
        obj = ObjectTrack(scale=meta["object"]["scale"], template=meta["object"]["template"], **obj_values)
        losses_path = directory / "losses.json"
        losses = json.loads(losses_path.read_text()) if losses_path.is_file() else {"losses": {}, "timings": {}}
        config_path = directory / "config.yaml"
        return cls(
            clip_name=meta["clip_name"],
            frame_indices=arrays["frame_indices"],
            intrinsics=meta["intrinsics"],
            hands=hands,
            object=obj,
            losses=losses["losses"],
            timings=losses["timings"],
            config=read_yaml(config_path) if config_path.is_file() else {},
            log=list(meta.get("log", [])),
        )


def _export(mesh, path: Path) -> None:
    with atomic_path(path) as tmp:
        mesh.export(tmp)
