"""MANO-format hand model data: the arrays, and reading them from official MANO pickles or ``.npz`` files.

A MANO-format model is a dictionary of arrays with the keys of the official ``MANO_RIGHT.pkl``:

==================  ===================  ==============================================================
key                 shape                meaning
==================  ===================  ==============================================================
``v_template``      (V, 3)               rest-pose vertices, metres
``shapedirs``       (V, 3, S)            shape displacements per unit beta (S = 10 for MANO)
``posedirs``        (V, 3, (J-1)*9)      pose correctives driven by ``R_j - I`` of the J-1 finger joints
``J_regressor``     (J, V)               joints from vertices, dense or scipy sparse
``weights``         (V, J)               skinning weights
``kintree_table``   (2, J)               row 0: parent of each joint (root: -1 or 2**32-1), row 1: ids
``f``               (F, 3)               faces; MANO's mesh is open at the wrist
``hands_components`` (C, 45)             PCA basis of the finger articulation (rows = components)
``hands_mean``      (45,)                mean articulation, axis-angle, radians
==================  ===================  ==============================================================

J = 16 joints in MANO's order (wrist; index 1-3; middle 1-3; pinky 1-3; ring 1-3; thumb 1-3).

The official pickles store some arrays as ``chumpy`` objects. chumpy does not install on Python 3.11 /
numpy 2, so `load_hand_data` reads them with a custom unpickler that maps every ``chumpy`` class to a
small stand-in and keeps its array; chumpy is never imported.

Optional keys written by hoFit for its own OpenHand model (and computed on load for MANO):
``fingertip_vertex_ids`` (5,) in the order thumb, index, middle, ring, pinky; ``closed_faces`` (F', 3);
``joint_axes`` (15, 3, 3) anatomical axes (rows: flexion, abduction, twist) of the finger joints in
rest-pose model coordinates; ``joint_limits`` (15, 3, 2) radians; ``region_<name>`` vertex ids of
palmar contact regions; ``side``; ``name``.
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hoFit.errors import HoFitError

__all__ = [
    "HandModelData",
    "load_hand_data",
    "save_hand_data",
    "mirror_hand_data",
    "MANO_FINGERTIP_VERTEX_IDS",
    "MANO_HELP",
    "NUM_JOINTS",
    "REQUIRED_KEYS",
]

NUM_JOINTS = 16
REQUIRED_KEYS: tuple[str, ...] = (
    "v_template",
    "shapedirs",
    "posedirs",
    "J_regressor",
    "weights",
    "kintree_table",
    "f",
    "hands_components",
    "hands_mean",
)
# Fingertip vertices of MANO's 778-vertex topology, in HO-3D tip order (thumb, index, middle, ring, pinky).
MANO_FINGERTIP_VERTEX_IDS: tuple[int, ...] = (744, 320, 443, 554, 671)

MANO_HELP = (
    "MANO is licensed and not shipped with hoFit: register and download 'Models & Code' from "
    "https://mano.is.tue.mpg.de, unpack it, and point hoFit at the folder holding MANO_RIGHT.pkl and "
    "MANO_LEFT.pkl (usually mano_v1_2/models) with the config key hand.mano_dir, the environment variable "
    "HOFIT_MANO_DIR, or mano_dir=... in create_hand_layer. Without MANO, use the bundled model "
    "(hand.model: openhand)."
)


@dataclass
class HandModelData:
    """The arrays of a MANO-format hand model (numpy, float64 / int64), plus hoFit's optional extras.

    See the module docstring for keys and shapes. ``regions`` maps a contact region name to vertex ids.
    """

    v_template: np.ndarray
    shapedirs: np.ndarray
    posedirs: np.ndarray
    J_regressor: np.ndarray
    weights: np.ndarray
    kintree_table: np.ndarray
    f: np.ndarray
    hands_components: np.ndarray
    hands_mean: np.ndarray
    side: str = "right"
    name: str = "mano"
    fingertip_vertex_ids: np.ndarray | None = None
    closed_faces: np.ndarray | None = None
    joint_axes: np.ndarray | None = None
    joint_limits: np.ndarray | None = None
    regions: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""

    @property
    def parents(self) -> np.ndarray:
        """(J,) parent index of each joint, -1 for the root."""
        parents = self.kintree_table[0].astype(np.int64).copy()
        parents[0] = -1
        return parents

    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """All fields as a flat dict of arrays (the ``.npz`` layout written by `save_hand_data`)."""
        arrays: dict[str, np.ndarray] = {key: np.asarray(getattr(self, key)) for key in REQUIRED_KEYS}
        arrays["side"] = np.array(self.side)
        arrays["name"] = np.array(self.name)
        for key in ("fingertip_vertex_ids", "closed_faces", "joint_axes", "joint_limits"):
            value = getattr(self, key)
            if value is not None:
                arrays[key] = np.asarray(value)
        for region, ids in self.regions.items():
            arrays[f"region_{region}"] = np.asarray(ids, dtype=np.int64)
        return arrays


# --------------------------------------------------------------------------------------------------
# Reading official pickles without chumpy.


class _ChumpyStandIn:
    """Replaces any chumpy class while unpickling; keeps the state so that its array can be recovered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._state: Any = None

    def __setstate__(self, state: Any) -> None:
        self._state = state

    def to_array(self) -> np.ndarray:
        state = self._state
        if isinstance(state, dict):
            for key in ("x", "r", "a"):
                if key in state:
                    value = state[key]
                    return value.to_array() if isinstance(value, _ChumpyStandIn) else np.asarray(value)
        if isinstance(state, np.ndarray):
            return state
        raise HoFitError(
            f"a chumpy object in the MANO pickle holds no array (state keys: "
            f"{sorted(state) if isinstance(state, dict) else type(state).__name__}); the file looks damaged. "
            + MANO_HELP
        )


class _ManoUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyStandIn
        if module.startswith("scipy.sparse"):
            import scipy.sparse

            if hasattr(scipy.sparse, name):
                return getattr(scipy.sparse, name)
        return super().find_class(module, name)


def _plain(value: Any) -> Any:
    if isinstance(value, _ChumpyStandIn):
        return value.to_array()
    return value


def _read_pickle(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    try:
        obj = _ManoUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a malformed file
        raise HoFitError(f"{path}: cannot read this MANO pickle ({type(exc).__name__}: {exc}). " + MANO_HELP) from exc
    if not isinstance(obj, dict):
        raise HoFitError(f"{path}: expected a pickled dict of MANO arrays, found {type(obj).__name__}. " + MANO_HELP)
    return {str(key): _plain(value) for key, value in obj.items()}


def _read_npz(path: Path) -> dict[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except Exception as exc:  # noqa: BLE001
        raise HoFitError(f"{path}: cannot read this .npz hand model ({type(exc).__name__}: {exc})") from exc


def _dense(value: Any) -> np.ndarray:
    if hasattr(value, "toarray"):
        return np.asarray(value.toarray())
    return np.asarray(value)


def _side_from_name(path: Path) -> str | None:
    stem = path.stem.lower()
    if "left" in stem:
        return "left"
    if "right" in stem:
        return "right"
    return None


def load_hand_data(path: str | os.PathLike, side: str | None = None) -> HandModelData:
    """Read a MANO-format model from an official ``.pkl`` or an ``.npz`` with the same keys.

    Args:
        path: the file.
        side: "right" or "left"; by default taken from the file (an ``side`` entry, else "left"/"right" in
            its name), else "right".

    Raises:
        HoFitError: the file is missing, unreadable, lacks a key or has inconsistent shapes; the message
            says where to get MANO and how to point hoFit at it.
    """
    path = Path(path)
    if not path.is_file():
        raise HoFitError(f"hand model file not found: {path}. " + MANO_HELP)
    if path.suffix == ".npz":
        raw = _read_npz(path)
    elif path.suffix in (".pkl", ".pickle"):
        raw = _read_pickle(path)
    else:
        raise HoFitError(f"{path}: expected a MANO-format .pkl or .npz file, got suffix '{path.suffix}'. " + MANO_HELP)
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:
        raise HoFitError(f"{path}: not a MANO-format model, missing key(s) {missing}. " + MANO_HELP)

    def get(key: str, dtype: Any) -> np.ndarray:
        return _dense(raw[key]).astype(dtype)

    if side is None:
        side = str(raw["side"]) if "side" in raw else (_side_from_name(path) or "right")
    if side not in ("right", "left"):
        raise HoFitError(f"{path}: side must be 'right' or 'left', got '{side}'")
    regions = {
        key[len("region_"):]: np.asarray(value, dtype=np.int64) for key, value in raw.items() if key.startswith("region_")
    }
    optional = {}
    for key in ("fingertip_vertex_ids", "closed_faces"):
        if key in raw:
            optional[key] = np.asarray(raw[key], dtype=np.int64)
    for key in ("joint_axes", "joint_limits"):
        if key in raw:
            optional[key] = np.asarray(raw[key], dtype=np.float64)
    hands_components = get("hands_components", np.float64)
    data = HandModelData(
        v_template=get("v_template", np.float64),
        shapedirs=get("shapedirs", np.float64),
        posedirs=get("posedirs", np.float64),
        J_regressor=get("J_regressor", np.float64),
        weights=get("weights", np.float64),
        kintree_table=get("kintree_table", np.int64),
        f=get("f", np.int64),
        hands_components=hands_components.reshape(-1, 45) if hands_components.size % 45 == 0 else hands_components,
        hands_mean=get("hands_mean", np.float64).reshape(-1),
        side=side,
        name=str(raw["name"]) if "name" in raw else ("mano" if path.suffix != ".npz" else path.stem),
        regions=regions,
        source=str(path),
        **optional,
    )
    _validate(data, path)
    return data


def _validate(data: HandModelData, path: Path) -> None:
    num_v = data.v_template.shape[0]
    expect = {
        "v_template": (num_v, 3),
        "J_regressor": (NUM_JOINTS, num_v),
        "weights": (num_v, NUM_JOINTS),
        "kintree_table": (2, NUM_JOINTS),
        "hands_mean": (45,),
    }
    problems = [
        f"{key} has shape {tuple(getattr(data, key).shape)}, expected {shape}"
        for key, shape in expect.items()
        if tuple(getattr(data, key).shape) != shape
    ]
    if data.shapedirs.ndim != 3 or data.shapedirs.shape[:2] != (num_v, 3):
        problems.append(f"shapedirs has shape {tuple(data.shapedirs.shape)}, expected ({num_v}, 3, S)")
    posedirs_size = num_v * 3 * (NUM_JOINTS - 1) * 9
    if data.posedirs.size != posedirs_size:
        problems.append(f"posedirs has {data.posedirs.size} values, expected ({num_v}, 3, {(NUM_JOINTS - 1) * 9})")
    if data.hands_components.ndim != 2 or data.hands_components.shape[1] != 45:
        problems.append(f"hands_components has shape {tuple(data.hands_components.shape)}, expected (C, 45)")
    if data.f.ndim != 2 or data.f.shape[1] != 3 or (data.f.size and (data.f.min() < 0 or data.f.max() >= num_v)):
        problems.append(f"f must be (F, 3) vertex ids in [0, {num_v}), got shape {tuple(data.f.shape)}")
    if not problems:
        parents = data.parents
        if any(not (0 <= parents[j] < j) for j in range(1, NUM_JOINTS)):
            problems.append(f"kintree_table parents {parents.tolist()} are not a tree with parents before children")
    if problems:
        raise HoFitError(f"{path}: malformed MANO-format model: " + "; ".join(problems) + ". " + MANO_HELP)
    data.posedirs = data.posedirs.reshape(num_v, 3, -1)


def save_hand_data(data: HandModelData, path: str | os.PathLike) -> Path:
    """Write ``data`` as a compressed ``.npz`` (MANO keys plus hoFit's extras), atomically."""
    from hoFit.utils.files import save_npz

    path = Path(path)
    save_npz(path, **data.to_arrays())
    return path


def mirror_hand_data(data: HandModelData) -> HandModelData:
    """The mirror image of a hand model through the plane x = 0 (right <-> left), as MANO's two hands relate.

    Positions and displacements flip x; faces flip their winding so that normals stay outward; rotations
    are conjugated by M = diag(-1, 1, 1), so axis-angle vectors map r -> (r_x, -r_y, -r_z) (PCA basis and
    mean) and pose correctives of feature ``R_ab - I_ab`` acting on coordinate c are scaled by m_a m_b m_c.
    Anatomical joint axes mirror as axial vectors, so the anatomical angles and limits are unchanged.
    """
    mirror = np.array([-1.0, 1.0, 1.0])
    num_v = data.v_template.shape[0]
    pose_sign = (mirror[:, None] * mirror[None, :]).reshape(-1)  # (9,) over the flattened 3x3 feature
    posedirs = data.posedirs.reshape(num_v, 3, NUM_JOINTS - 1, 9)
    posedirs = posedirs * mirror[None, :, None, None] * pose_sign[None, None, None, :]
    axial = np.tile(np.array([1.0, -1.0, -1.0]), 15)
    joint_axes = None
    if data.joint_axes is not None:
        joint_axes = -data.joint_axes * mirror  # axial vectors: a -> -M a
    other = "left" if data.side == "right" else "right"
    return replace(
        data,
        v_template=data.v_template * mirror,
        shapedirs=data.shapedirs * mirror[None, :, None],
        posedirs=posedirs.reshape(num_v, 3, -1),
        f=data.f[:, ::-1].copy(),
        closed_faces=None if data.closed_faces is None else data.closed_faces[:, ::-1].copy(),
        hands_components=data.hands_components * axial,
        hands_mean=data.hands_mean * axial,
        joint_axes=joint_axes,
        side=other,
        name=data.name.replace(data.side, other),
        regions={key: value.copy() for key, value in data.regions.items()},
        source=f"mirror of {data.source}" if data.source else "",
    )
