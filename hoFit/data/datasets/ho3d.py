"""HO-3D (v2 and v3): sequences cut into clips, ground truth in hoFit's conventions, challenge output.

On-disk layout (``root`` = the unzipped dataset)::

    root/train.txt, root/evaluation.txt          "SEQ/id" per line
    root/{train,evaluation}/SEQ/rgb/<id>.png      (v2; .jpg in v3), 640x480
    root/{train,evaluation}/SEQ/meta/<id>.pkl     camMat, handJoints3D, objRot, objTrans, objName, ...
    root/train/SEQ/seg/<id>.(png|jpg)             optional segmentation (hand: blue, object: green channel)

HO-3D's annotations are in OpenGL camera coordinates (y up, z backward); hoFit uses OpenCV (y down, z
forward): points are mapped with ``F = diag(1, -1, -1)``, so an object pose ``x = R v + t`` becomes
``(F R, F t)`` with the YCB mesh's own frame kept as the object frame. Joints keep HO-3D's order, which is
hoFit's. The challenge's ``pred.json`` is written back in OpenGL coordinates (:func:`write_challenge_predictions`).

Cues (``cues=``):

- ``"dataset"``: boxes from the ground truth (object: projected mesh; hand: ``handBoundingBox`` on the
  evaluation split, projected joints enlarged by 20 % on train), masks from ``seg/`` where it exists, no
  keypoints (they come from the perception front end or ``--cues``);
- ``"gt"``: "ground-truth cues" for ablations: keypoints projected from ``handJoints3D`` (only the wrist on
  the evaluation split), object masks rendered from the ground-truth pose (object pixels hidden by the hand
  are unknown when hand vertices are available, see ``hand_layer``), optionally corrupted by a
  :class:`hoFit.data.noise.NoiseConfig`.
"""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hoFit.data.clip import Clip, GroundTruth, HandCues, HandGroundTruth, ObjectCues
from hoFit.data.datasets.common import ClipDataset, ClipSpec, check_root, clip_windows
from hoFit.data.frames import ImageFrames, read_image
from hoFit.data.masks import MaskSequence
from hoFit.errors import HoFitError
from hoFit.geometry.cameras import CameraIntrinsics

__all__ = [
    "HO3D",
    "HO3D_TEST_SEQUENCES",
    "HO3D_UNSEEN_OBJECTS",
    "HO3D_LAYOUT",
    "OPENGL_TO_OPENCV",
    "read_meta",
    "opengl_to_opencv_points",
    "object_pose_to_opencv",
    "find_ycb_mesh",
    "read_split_list",
    "write_challenge_predictions",
]

logger = logging.getLogger(__name__)

# Test sequences of the HOMan paper (v2 evaluation split); 019_pitcher_base (AP) is the unseen object.
HO3D_TEST_SEQUENCES: tuple[str, ...] = (
    "AP10", "AP11", "AP12", "AP13", "AP14", "MPM10", "MPM11", "MPM12", "MPM13", "MPM14", "SB11", "SB13", "SM1",
)
HO3D_UNSEEN_OBJECTS: tuple[str, ...] = ("019_pitcher_base",)
OPENGL_TO_OPENCV = np.diag([1.0, -1.0, -1.0])
IMAGE_SIZE = (480, 640)  # (H, W)
HAND_BOX_MARGIN = 0.2  # projected-joint hand boxes are enlarged by this fraction of their size on each side
SEG_HAND_CHANNEL, SEG_OBJECT_CHANNEL = 2, 1  # RGB channel indices of the seg/ maps (blue hand, green object)

HO3D_LAYOUT = """  ROOT/train.txt and ROOT/evaluation.txt   (lists of SEQ/id)
  ROOT/train/<SEQ>/rgb/<id>.png|jpg, ROOT/train/<SEQ>/meta/<id>.pkl, ROOT/train/<SEQ>/seg/ (optional)
  ROOT/evaluation/<SEQ>/rgb/<id>.png|jpg, ROOT/evaluation/<SEQ>/meta/<id>.pkl
(download HO-3D v2 or v3 and unzip it; see docs/datasets.md)"""


def read_meta(path: str | Path) -> dict:
    """Read one HO-3D meta pickle (Python 2 pickles need ``encoding="latin1"``)."""
    path = Path(path)
    if not path.is_file():
        raise HoFitError(f"HO-3D annotation not found: {path}")
    try:
        with open(path, "rb") as handle:
            meta = pickle.load(handle, encoding="latin1")
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means an unusable file
        raise HoFitError(f"cannot read HO-3D annotation {path}: {exc}") from None
    if not isinstance(meta, dict):
        raise HoFitError(f"{path}: expected a dict of annotations, got {type(meta).__name__}")
    return meta


def _meta_array(meta: dict, key: str, shapes: Sequence[tuple], path: Path, optional: bool = False) -> np.ndarray | None:
    value = meta.get(key)
    if value is None:
        if optional:
            return None
        raise HoFitError(f"{path}: the key '{key}' is missing (or None); keys present: {sorted(meta)}")
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape not in [tuple(s) for s in shapes]:
        raise HoFitError(f"{path}: '{key}' has shape {arr.shape}, expected one of {list(shapes)}")
    if not np.isfinite(arr).all():
        raise HoFitError(f"{path}: '{key}' contains NaN or inf")
    return arr


def opengl_to_opencv_points(points: np.ndarray) -> np.ndarray:
    """(..., 3) points from HO-3D's OpenGL camera frame to OpenCV (and back: the map is its own inverse)."""
    points = np.asarray(points, dtype=np.float64)
    return points * np.array([1.0, -1.0, -1.0])


def object_pose_to_opencv(obj_rot: np.ndarray, obj_trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HO-3D ``objRot`` (axis-angle, (3,) or (3, 1)) and ``objTrans`` (3,) -> OpenCV ``(R (3, 3), t (3,))``."""
    import cv2

    rot_gl = cv2.Rodrigues(np.asarray(obj_rot, dtype=np.float64).reshape(3, 1))[0]
    return OPENGL_TO_OPENCV @ rot_gl, OPENGL_TO_OPENCV @ np.asarray(obj_trans, dtype=np.float64).reshape(3)


def find_ycb_mesh(ycb_dir: str | Path, object_name: str) -> Path:
    """The mesh of a YCB object: ``<ycb_dir>/<name>/textured_simple.obj`` (as in HO-3D's models), else
    ``textured_simple_2000.obj``, ``textured.obj`` or the folder's only ``.obj``."""
    folder = Path(ycb_dir) / object_name
    candidates = ["textured_simple.obj", "textured_simple_2000.obj", "textured.obj", "google_16k/textured.obj"]
    for name in candidates:
        if (folder / name).is_file():
            return folder / name
    objs = sorted(folder.glob("*.obj")) if folder.is_dir() else []
    if len(objs) == 1:
        return objs[0]
    raise HoFitError(
        f"YCB mesh of {object_name} not found: looked for {', '.join(candidates)} in {folder}; pass --ycb with "
        "the YCB models folder (one sub-folder per object, e.g. 025_mug/textured_simple.obj)"
    )


def read_split_list(root: str | Path, split: str) -> list[tuple[str, str]]:
    """``(sequence, frame id)`` pairs of ``root/<split>.txt`` in file order."""
    path = Path(root) / f"{split}.txt"
    if not path.is_file():
        raise HoFitError(f"HO-3D split list not found: {path}. Expected:\n{HO3D_LAYOUT}")
    pairs = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        parts = line.split("/")
        if len(parts) != 2 or not all(parts):
            raise HoFitError(f"{path}, line {number}: expected 'SEQ/id', got {line!r}")
        pairs.append((parts[0], parts[1]))
    if not pairs:
        raise HoFitError(f"{path} lists no frame")
    return pairs


def _project(points_cv: np.ndarray, K: np.ndarray) -> np.ndarray:
    z = np.maximum(points_cv[..., 2:3], 1e-6)
    uv = points_cv[..., :2] / z
    return uv * np.array([K[0, 0], K[1, 1]]) + np.array([K[0, 2], K[1, 2]])


def _box(points_2d: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Box (edge coordinates: pixel column c spans [c, c + 1]) of projected points (centre coordinates)."""
    lo, hi = points_2d.min(axis=0), points_2d.max(axis=0)
    pad = (hi - lo) * margin
    return np.concatenate([lo - pad, hi + pad]) + 0.5


class HO3D(ClipDataset):
    """Clips of HO-3D sequences (see the module docstring for layout, conventions and cues).

    Args:
        root: the dataset folder (holding ``train.txt``, ``evaluation.txt``, ``train/``, ``evaluation/``).
        ycb_dir: folder of YCB meshes, one sub-folder per object (``025_mug/textured_simple.obj``).
        split: ``"evaluation"`` or ``"train"``.
        sequences: ``"test"`` (the HOMan test sequences, evaluation split), a list of sequence names, or
            None for every sequence of the split.
        frame_nb, step: clips of ``frame_nb`` frames taken ``step`` frames apart (-1: whole sequences).
        cues: ``"dataset"`` or ``"gt"``.
        noise: optional :class:`hoFit.data.noise.NoiseConfig` applied to ground-truth cues.
        noise_seed: seed of the noise (combined with the clip index).
        hand_layer: optional right-hand `HandLayer` (e.g. MANO, flat hand mean, no PCA) to compute the
            ground-truth hand vertices from ``handPose``/``handBeta``/``handTrans`` (train split only).
    """

    name = "ho3d"

    def __init__(
        self,
        root: str | Path,
        ycb_dir: str | Path,
        split: str = "evaluation",
        sequences: str | Sequence[str] | None = "test",
        frame_nb: int = 10,
        step: int = 4,
        cues: str = "dataset",
        noise=None,
        noise_seed: int = 0,
        hand_layer=None,
    ) -> None:
        super().__init__()
        if split not in ("train", "evaluation"):
            raise HoFitError(f"HO-3D split must be 'train' or 'evaluation', got {split!r}")
        if cues not in ("dataset", "gt"):
            raise HoFitError(f"HO-3D cues must be 'dataset' or 'gt', got {cues!r}")
        self.root = check_root(root, "HO-3D", [f"{split}.txt", split], HO3D_LAYOUT)
        self.ycb_dir = Path(ycb_dir).expanduser()
        if not self.ycb_dir.is_dir():
            raise HoFitError(f"YCB models folder not found: {self.ycb_dir} (pass --ycb DIR)")
        self.split, self.cues, self.noise, self.noise_seed, self.hand_layer = split, cues, noise, noise_seed, hand_layer
        self.frame_nb, self.step = frame_nb, step
        listed: dict[str, list[str]] = {}
        for seq, frame_id in read_split_list(self.root, split):
            listed.setdefault(seq, []).append(frame_id)
        if sequences == "test":
            sequences = HO3D_TEST_SEQUENCES
        elif isinstance(sequences, str):
            sequences = [s for s in sequences.split(",") if s]
        wanted = list(listed) if sequences is None else list(sequences)
        unknown = [s for s in wanted if s not in listed]
        if unknown:
            raise HoFitError(
                f"HO-3D sequences {unknown} are not in {self.root / (split + '.txt')} (it lists {len(listed)} sequences, "
                f"e.g. {sorted(listed)[:8]}); the HOMan test set needs the v2 evaluation split"
            )
        self.sequences: dict[str, list[str]] = {}
        self.extensions: dict[str, str] = {}
        for seq in wanted:
            ids = sorted(listed[seq])
            folder = self.root / split / seq
            rgb = folder / "rgb"
            if not rgb.is_dir():
                raise HoFitError(f"HO-3D sequence folder missing: {rgb} (listed in {split}.txt)")
            ext = ".png" if (rgb / f"{ids[0]}.png").is_file() else ".jpg"
            missing = [str(rgb / f"{i}{ext}") for i in ids if not (rgb / f"{i}{ext}").is_file()]
            missing += [str(folder / "meta" / f"{i}.pkl") for i in ids if not (folder / "meta" / f"{i}.pkl").is_file()]
            if missing:
                raise HoFitError(
                    f"HO-3D sequence {seq}: {len(missing)} file(s) listed in {split}.txt are missing, e.g. {missing[:3]}"
                )
            self.sequences[seq], self.extensions[seq] = ids, ext
            for window in clip_windows(len(ids), frame_nb, step):
                frames = [ids[i] for i in window]
                self.specs.append(
                    ClipSpec(name=f"{seq}_{frames[0]}", sequence=seq, frames=frames, extra={"positions": window})
                )
        self._mesh_cache: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------------------------------------

    def frame_path(self, sequence: str, frame_id: str) -> Path:
        return self.root / self.split / sequence / "rgb" / f"{frame_id}{self.extensions[sequence]}"

    def meta_path(self, sequence: str, frame_id: str) -> Path:
        return self.root / self.split / sequence / "meta" / f"{frame_id}.pkl"

    def _mesh_vertices(self, object_name: str) -> np.ndarray:
        if object_name not in self._mesh_cache:
            import trimesh

            mesh = trimesh.load(str(find_ycb_mesh(self.ycb_dir, object_name)), force="mesh", process=False)
            self._mesh_cache[object_name] = np.asarray(mesh.vertices, dtype=np.float64)
        return self._mesh_cache[object_name]

    def load_clip(self, spec: ClipSpec) -> Clip:
        seq = spec.sequence
        paths = [self.meta_path(seq, f) for f in spec.frames]
        metas = [read_meta(p) for p in paths]
        count = len(metas)
        cam = _meta_array(metas[0], "camMat", [(3, 3)], paths[0])
        for meta, path in zip(metas, paths):
            other = _meta_array(meta, "camMat", [(3, 3)], path)
            if not np.allclose(other, cam, atol=1e-6):
                raise HoFitError(f"{path}: camMat differs from that of {paths[0].name}; a clip needs one camera")
        names = {str(m.get("objName")) for m in metas}
        if len(names) != 1:
            raise HoFitError(f"HO-3D clip {spec.name}: several objects {sorted(names)} in one clip")
        object_name = names.pop()
        template = find_ycb_mesh(self.ycb_dir, object_name)
        spec.category = object_name

        rotations, translations, obj_valid, joints, joints_valid, hand_boxes = _read_ground_truth(metas, paths)
        vertices = None
        if self.hand_layer is not None and all(m.get("handPose") is not None for m in metas):
            vertices = self._hand_vertices(metas, paths)
        hand_gt = None
        if joints_valid.any() or vertices is not None:
            hand_gt = HandGroundTruth(joints if joints_valid.any() else None, joints_valid if joints_valid.any() else None, vertices)
        ground_truth = None
        if obj_valid.any():
            ground_truth = GroundTruth(rotations, translations, obj_valid, [hand_gt] if hand_gt is not None else [])
        elif hand_gt is not None:
            ground_truth = GroundTruth(hands=[hand_gt])

        # boxes
        mesh = self._mesh_vertices(object_name)
        object_boxes = np.full((count, 4), np.nan)
        for t in np.nonzero(obj_valid)[0]:
            object_boxes[t] = _box(_project(mesh @ rotations[t].T + translations[t], cam))
        full_joints = joints_valid.all(axis=1)
        for t in np.nonzero(full_joints & np.isnan(hand_boxes[:, 0]))[0]:
            hand_boxes[t] = _box(_project(joints[t], cam), HAND_BOX_MARGIN)

        frames = ImageFrames([self.frame_path(seq, f) for f in spec.frames])
        height, width = frames.size
        intrinsics = CameraIntrinsics.from_matrix(cam, width, height)
        keypoints = np.zeros((count, 21, 2), dtype=np.float32)
        confidence = np.zeros((count, 21), dtype=np.float32)
        hand_masks = object_masks = None
        if self.cues == "gt":
            keypoints = _project(joints, cam).astype(np.float32)
            confidence = joints_valid.astype(np.float32)
            object_masks, hand_masks = self._render_masks(template, rotations, translations, obj_valid, vertices, cam, (height, width))
        else:
            object_masks, hand_masks = self._seg_masks(seq, spec.frames, (height, width))
        hand_present = ~np.isnan(hand_boxes[:, 0]) | (confidence > 0).any(axis=1)
        if hand_masks is not None:
            hand_present |= hand_masks.mask.any(axis=(1, 2))
            hand_masks = _drop_empty(hand_masks)
        object_present = obj_valid.copy()
        if object_masks is not None:
            object_present |= object_masks.mask.any(axis=(1, 2))
            object_masks = _drop_empty(object_masks)
        hand = HandCues("right", keypoints, confidence, hand_present, np.where(hand_present[:, None], hand_boxes, np.nan), hand_masks)
        obj = ObjectCues(object_present, np.where(object_present[:, None], object_boxes, np.nan), object_masks)
        clip = Clip(
            frames=frames,
            intrinsics=intrinsics,
            hands=[hand],
            object=obj,
            template=str(template.absolute()),
            object_scale=1.0,
            object_category=object_name,
            ground_truth=ground_truth,
            name=spec.name,
            fps=30.0,
            frame_ids=[f"{seq}/{f}" for f in spec.frames],
            meta={"dataset": "ho3d", "split": self.split, "sequence": seq, "cues": self.cues,
                  "positions": [int(p) for p in spec.extra["positions"]]},
        )
        if self.cues == "gt" and self.noise is not None:
            from hoFit.data.noise import apply_noise

            clip = apply_noise(clip, self.noise, seed=self.noise_seed + self.specs.index(spec))
        return clip

    def sequence_ground_truth(self, sequence: str) -> tuple[GroundTruth | None, str]:
        """Ground truth of every frame of ``sequence`` (in ``self.sequences[sequence]`` order) and its object
        name, read from the meta files only (for full-sequence scores)."""
        paths = [self.meta_path(sequence, f) for f in self.sequences[sequence]]
        metas = [read_meta(p) for p in paths]
        rotations, translations, obj_valid, joints, joints_valid, _ = _read_ground_truth(metas, paths)
        hand = HandGroundTruth(joints, joints_valid) if joints_valid.any() else None
        if obj_valid.any():
            gt = GroundTruth(rotations, translations, obj_valid, [hand] if hand is not None else [])
        else:
            gt = GroundTruth(hands=[hand]) if hand is not None else None
        return gt, str(metas[0].get("objName"))

    def _hand_vertices(self, metas: list[dict], paths: list[Path]) -> np.ndarray:
        import torch

        pose = np.stack([_meta_array(m, "handPose", [(48,)], p) for m, p in zip(metas, paths)])
        betas = np.stack([_meta_array(m, "handBeta", [(10,)], p) for m, p in zip(metas, paths)])
        trans = np.stack([_meta_array(m, "handTrans", [(3,)], p) for m, p in zip(metas, paths)])
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
        with torch.no_grad():
            out = self.hand_layer(as_t(pose[:, :3]), as_t(pose[:, 3:]), as_t(betas), as_t(trans))
        return opengl_to_opencv_points(out.vertices.numpy())

    def _render_masks(self, template_path, rotations, translations, obj_valid, hand_vertices, cam, size):
        """Hard masks rendered from the ground truth: the object (hidden pixels unknown) and the hand."""
        import torch

        from hoFit.models.objects.template import load_template
        from hoFit.render import render_scene

        template = load_template(template_path)
        count = rotations.shape[0]
        verts = torch.as_tensor(template.vertices, dtype=torch.float32)
        faces = torch.as_tensor(template.faces, dtype=torch.long)
        obj_v = torch.einsum("tij,vj->tvi", torch.as_tensor(rotations, dtype=torch.float32), verts) + torch.as_tensor(
            translations, dtype=torch.float32)[:, None]
        meshes = [(obj_v, faces)]
        if hand_vertices is not None:
            hand_faces = torch.as_tensor(self.hand_layer.faces, dtype=torch.long)
            meshes.append((torch.as_tensor(hand_vertices, dtype=torch.float32), hand_faces))
        with torch.no_grad():
            scene = render_scene(meshes, torch.as_tensor(cam, dtype=torch.float32), size)
        instance = scene.instance.numpy()
        obj_full = scene.silhouettes[:, 0].numpy() > 0.5
        obj_masks, obj_unknown, hand_masks = [], [], []
        for t in range(count):
            if not obj_valid[t]:
                obj_masks.append(None)
                obj_unknown.append(None)
            else:
                obj_masks.append(instance[t] == 0)
                obj_unknown.append(obj_full[t] & (instance[t] == 1))
            hand_masks.append(instance[t] == 1 if hand_vertices is not None else None)
        objects = MaskSequence.from_frames(obj_masks, obj_unknown, size=size)
        hands = MaskSequence.from_frames(hand_masks, size=size) if hand_vertices is not None else None
        return objects, hands

    def _seg_masks(self, seq: str, frame_ids: list[str], size) -> tuple[MaskSequence | None, MaskSequence | None]:
        folder = self.root / self.split / seq / "seg"
        if not folder.is_dir():
            return None, None
        objects, hands = [], []
        for frame_id in frame_ids:
            path = next((folder / f"{frame_id}{e}" for e in (".png", ".jpg") if (folder / f"{frame_id}{e}").is_file()), None)
            if path is None:
                objects.append(None)
                hands.append(None)
                continue
            seg = read_image(path)
            if seg.shape[:2] != tuple(size):
                import cv2

                seg = cv2.resize(seg, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
            hands.append(seg[:, :, SEG_HAND_CHANNEL] > 127)
            objects.append(seg[:, :, SEG_OBJECT_CHANNEL] > 127)
        return MaskSequence.from_frames(objects, size=size), MaskSequence.from_frames(hands, size=size)


def _read_ground_truth(metas: list[dict], paths: list[Path]):
    """Per-frame object pose, hand joints and hand boxes of HO-3D metas, in the OpenCV camera frame."""
    count = len(metas)
    rotations = np.tile(np.eye(3), (count, 1, 1))
    translations = np.zeros((count, 3))
    obj_valid = np.zeros(count, dtype=bool)
    joints = np.zeros((count, 21, 3))
    joints_valid = np.zeros((count, 21), dtype=bool)
    hand_boxes = np.full((count, 4), np.nan)
    for t, (meta, path) in enumerate(zip(metas, paths)):
        rot = _meta_array(meta, "objRot", [(3,), (3, 1), (1, 3)], path, optional=True)
        if rot is not None:
            trans = _meta_array(meta, "objTrans", [(3,)], path)
            rotations[t], translations[t] = object_pose_to_opencv(rot, trans)
            obj_valid[t] = True
        hj = _meta_array(meta, "handJoints3D", [(21, 3), (3,)], path, optional=True)
        if hj is not None:
            if hj.shape == (3,):
                joints[t, 0] = opengl_to_opencv_points(hj)
                joints_valid[t, 0] = True
            else:
                joints[t] = opengl_to_opencv_points(hj)
                joints_valid[t] = True
        box = _meta_array(meta, "handBoundingBox", [(4,)], path, optional=True)
        if box is not None:
            hand_boxes[t] = box
    return rotations, translations, obj_valid, joints, joints_valid, hand_boxes


def _drop_empty(masks: MaskSequence) -> MaskSequence:
    """Mark as unavailable the frames whose mask has no foreground pixel (the entity is fully hidden or
    unsegmented there: such a mask says nothing reliable about where it is)."""
    keep = masks.available & masks.mask.any(axis=(1, 2))
    frames = [masks.mask[t] if keep[t] else None for t in range(masks.num_frames)]
    unknowns = [masks.unknown[t] if keep[t] else None for t in range(masks.num_frames)]
    return MaskSequence.from_frames(frames, unknowns, size=masks.size)


def write_challenge_predictions(
    path: str | Path,
    frame_list: Sequence[tuple[str, str]],
    joints: dict[str, np.ndarray],
    vertices: dict[str, np.ndarray],
    fill_missing: bool = False,
) -> int:
    """Write a HO-3D challenge submission ``pred.json``: ``[joints per frame, vertices per frame]``.

    Args:
        path: output file.
        frame_list: ``(sequence, id)`` pairs in the order of ``evaluation.txt`` (:func:`read_split_list`).
        joints: ``"SEQ/id" -> (21, 3)`` hand joints in hoFit (= HO-3D) order, OpenCV camera frame, metres.
        vertices: ``"SEQ/id" -> (V, 3)`` hand vertices, OpenCV, metres (778 for MANO topology).
        fill_missing: write zeros for frames without a prediction instead of raising.

    The file is in OpenGL coordinates (``F = diag(1, -1, -1)`` applied), as the challenge expects.

    Returns:
        The number of frames filled with zeros.
    """
    from hoFit.utils.files import atomic_path

    xyz, verts, missing = [], [], []
    num_vertices = next((np.asarray(v).shape[0] for v in vertices.values()), 778)
    for seq, frame_id in frame_list:
        key = f"{seq}/{frame_id}"
        if key in joints and key in vertices:
            j = np.asarray(joints[key], dtype=np.float64)
            v = np.asarray(vertices[key], dtype=np.float64)
            if j.shape != (21, 3) or v.ndim != 2 or v.shape[1] != 3:
                raise HoFitError(f"prediction {key}: expected joints (21, 3) and vertices (V, 3), got {j.shape}, {v.shape}")
            if not (np.isfinite(j).all() and np.isfinite(v).all()):
                raise HoFitError(f"prediction {key}: contains NaN or inf")
            xyz.append(np.round(opengl_to_opencv_points(j), 6).tolist())
            verts.append(np.round(opengl_to_opencv_points(v), 6).tolist())
        else:
            missing.append(key)
            xyz.append(np.zeros((21, 3)).tolist())
            verts.append(np.zeros((num_vertices, 3)).tolist())
    if missing and not fill_missing:
        raise HoFitError(
            f"pred.json needs a prediction for every frame of the list: {len(missing)} missing, e.g. {missing[:3]}; "
            "fit every sequence of the split or allow zero-filling"
        )
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps([xyz, verts], separators=(",", ":")))
    return len(missing)
