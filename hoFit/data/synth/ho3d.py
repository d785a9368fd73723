"""Write a synthetic clip as an HO-3D sequence (same folder layout, meta keys and coordinates).

Layout under ``root`` (HO-3D v2 style; see ../shared/notes/ho3d_format.md)::

    train.txt                      "SEQ/id" lines (merged with any existing lines, sorted)
    train/<SEQ>/rgb/<id>.png       RGB frames
    train/<SEQ>/depth/<id>.png     depth: metres = (R + 256 G) * 0.00012498664727900177 (cv2 channels 2, 1)
    train/<SEQ>/seg/<id>.png       masks: hand in cv2 channel 0 (blue), object in channel 1 (green), 255 = on
    train/<SEQ>/meta/<id>.pkl      annotations (Python pickle, protocol 2)
    models/<objName>/textured_simple.obj   the object mesh (YCB-Video "models" layout)

Meta keys: ``camMat`` (3, 3); ``handPose`` (48,) axis-angle, global rotation then the 15 finger joints
(flat hand mean: the complete pose); ``handTrans`` (3,); ``handBeta`` (10,); ``handJoints3D`` (21, 3) in HO-3D
joint order (= hoFit order); ``objRot`` (3, 1) axis-angle; ``objTrans`` (3,); ``objName``;
``objCorners3DRest`` (8, 3) bounding-box corners in the object frame; ``objCorners3D`` (8, 3) in the camera;
``handModel``: the hand model whose parameters ``handPose``/``handBeta`` are ("openhand" parameters are not
MANO parameters: only ``handJoints3D`` and the object pose compare across models) — this key is not in HO-3D.

Coordinates are OpenGL (x right, y up, z towards the viewer): a camera-frame point ``x`` of hoFit (OpenCV) is
``diag(1, -1, -1) x`` here, the object rotation becomes ``F R`` and the hand's global rotation ``F R_g``;
``handTrans`` is re-derived so that the hand model, rotating about its rest-pose root joint ``j0``, lands
on the same vertices: ``handTrans_gl = F (j0 + transl) - j0``.

HO-3D has one (right) hand per frame: for a two-hand clip only the right hand is written (and its mask).
"""

from __future__ import annotations

import itertools
import pickle
from pathlib import Path

import cv2
import numpy as np
import torch

from hoFit.errors import HoFitError
from hoFit.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

__all__ = ["HO3D_DEPTH_SCALE", "OPENGL_FROM_OPENCV", "write_ho3d_replica", "encode_ho3d_depth", "decode_ho3d_depth"]

HO3D_DEPTH_SCALE = 0.00012498664727900177
OPENGL_FROM_OPENCV = np.diag([1.0, -1.0, -1.0])


def encode_ho3d_depth(depth: np.ndarray) -> np.ndarray:
    """(H, W) metres (inf or 0 = none) -> (H, W, 3) uint8 BGR image in HO-3D's depth encoding."""
    finite = np.isfinite(depth) & (depth > 0)
    units = np.where(finite, np.round(np.where(finite, depth, 0.0) / HO3D_DEPTH_SCALE), 0)
    units = np.clip(units, 0, 65535).astype(np.uint32)
    image = np.zeros(depth.shape + (3,), np.uint8)
    image[..., 2] = units % 256
    image[..., 1] = units // 256
    return image


def decode_ho3d_depth(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR depth image -> (H, W) metres (0 where there is no depth)."""
    return (image[..., 2].astype(np.float64) + 256.0 * image[..., 1].astype(np.float64)) * HO3D_DEPTH_SCALE


def _box_corners(vertices: np.ndarray) -> np.ndarray:
    lo, hi = vertices.min(0), vertices.max(0)
    return np.array([[(lo, hi)[a][0], (lo, hi)[b][1], (lo, hi)[c][2]] for a, b, c in itertools.product((0, 1), repeat=3)])


def write_ho3d_replica(synthetic, root: str | Path, sequence: str | None = None, split: str = "train") -> Path:
    """Write ``synthetic`` (a `SyntheticClip`) as sequence ``sequence`` (default: the clip name) of split
    ``split`` ("train" or "evaluation") under ``root``; returns the sequence folder.

    The evaluation split keeps only the root joint in ``handJoints3D`` (as HO-3D does) and adds
    ``handBoundingBox``.
    """
    from hoFit.data.synth.generator import _hand_layer

    if split not in ("train", "evaluation"):
        raise HoFitError(f"HO-3D split must be 'train' or 'evaluation', got {split!r}")
    clip = synthetic.clip
    if clip.ground_truth is None:
        raise HoFitError(f"clip {clip.name}: no ground truth to write as HO-3D annotations")
    root = Path(root)
    sequence = sequence or clip.name
    seq_dir = root / split / sequence
    for sub in ("rgb", "depth", "seg", "meta"):
        (seq_dir / sub).mkdir(parents=True, exist_ok=True)
    right = next((i for i, h in enumerate(synthetic.hands) if h.side == "right"), None)
    if right is None:
        raise HoFitError(f"clip {clip.name}: HO-3D sequences need a right hand, the clip has {[h.side for h in synthetic.hands]}")
    params = synthetic.hands[right]
    layer = _hand_layer(params.model, "right", synthetic.config.mano_dir)
    betas = torch.as_tensor(params.betas[None], dtype=layer.v_template.dtype)
    with torch.no_grad():
        j0 = layer(None, torch.zeros(1, 45, dtype=betas.dtype), betas).joints[0, 0].double().numpy()
    F = OPENGL_FROM_OPENCV
    spec = synthetic.config.object
    if spec.startswith("procedural:"):
        obj_name = "procedural_" + spec.split(":", 1)[1]
    else:
        obj_name = clip.object_category or Path(spec).stem
    model_dir = root / "models" / obj_name
    model_dir.mkdir(parents=True, exist_ok=True)
    synthetic.template.to_trimesh().export(model_dir / "textured_simple.obj")
    corners_rest = _box_corners(synthetic.template.vertices.astype(np.float64))
    gt = clip.ground_truth
    joints = gt.hands[right].joints.astype(np.float64)
    K = clip.intrinsics.matrix(torch.float64).numpy()
    ids = []
    for t in range(clip.num_frames):
        fid = f"{t:04d}"
        ids.append(f"{sequence}/{fid}")
        rgb = clip.frames[t]
        cv2.imwrite(str(seq_dir / "rgb" / f"{fid}.png"), np.ascontiguousarray(rgb[..., ::-1]))
        cv2.imwrite(str(seq_dir / "depth" / f"{fid}.png"), encode_ho3d_depth(synthetic.depth[t]))
        seg = np.zeros(rgb.shape, np.uint8)
        seg[..., 0] = 255 * (synthetic.instance[t] == right + 1)
        seg[..., 1] = 255 * (synthetic.instance[t] == 0)
        cv2.imwrite(str(seq_dir / "seg" / f"{fid}.png"), seg)
        R = gt.object_rotation[t].astype(np.float64)
        tr = gt.object_translation[t].astype(np.float64)
        r_hand = axis_angle_to_matrix(torch.as_tensor(params.global_orient[t], dtype=torch.float64)).numpy()
        hand_pose = np.concatenate(
            [matrix_to_axis_angle(torch.as_tensor(F @ r_hand)).numpy(), params.articulation[t]]
        ).astype(np.float32)
        joints_gl = (joints[t] @ F.T).astype(np.float32)
        meta = {
            "camMat": K,
            "handPose": hand_pose,
            "handTrans": (F @ (j0 + params.transl[t]) - j0).astype(np.float32),
            "handBeta": np.asarray(params.betas, dtype=np.float32),
            "handJoints3D": joints_gl if split == "train" else joints_gl[0],
            "objRot": matrix_to_axis_angle(torch.as_tensor(F @ R)).numpy().reshape(3, 1).astype(np.float32),
            "objTrans": (F @ tr).astype(np.float32),
            "objName": obj_name,
            "objCorners3DRest": corners_rest.astype(np.float32),
            "objCorners3D": ((corners_rest @ R.T + tr) @ F.T).astype(np.float32),
            "handModel": params.model,
        }
        if split == "evaluation":
            box = clip.hands[right].boxes[t]
            meta["handBoundingBox"] = [float(v) for v in box]
        with open(seq_dir / "meta" / f"{fid}.pkl", "wb") as handle:
            pickle.dump(meta, handle, protocol=2)
    listing = root / f"{split}.txt"
    lines = set(listing.read_text().split()) if listing.is_file() else set()
    listing.write_text("\n".join(sorted(lines | set(ids))) + "\n")
    return seq_dir
