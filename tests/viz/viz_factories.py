"""Hand-built fit results for the viz tests: a box as the "hand" and an icosphere as the object.

Imported by the test modules of tests/viz (pytest puts this folder on sys.path).
"""

from __future__ import annotations

import numpy as np
import trimesh

from hoFit.data.clip import Clip, GroundTruth, HandCues, HandGroundTruth, ObjectCues
from hoFit.data.frames import ArrayFrames
from hoFit.fit.result import FitResult, HandTrack, ObjectTrack
from hoFit.geometry.cameras import CameraIntrinsics

WIDTH, HEIGHT = 64, 48
INTRINSICS = {"fx": 200.0, "fy": 200.0, "cx": 31.5, "cy": 23.5, "width": WIDTH, "height": HEIGHT}


def make_result(num_frames: int = 3, with_hand: bool = True) -> FitResult:
    """A FitResult of simple meshes moving slightly to the right frame by frame (camera frame, metres)."""
    box = trimesh.creation.box(extents=(0.04, 0.05, 0.03))
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.025)
    shift = np.array([0.004, 0.0, 0.0])
    hands = []
    if with_hand:
        base = np.asarray(box.vertices) + np.array([-0.035, 0.0, 0.40])
        rng = np.random.default_rng(0)
        kp = rng.uniform(-0.02, 0.02, size=(21, 3)) + np.array([-0.035, 0.0, 0.40])
        hands.append(HandTrack(
            side="right",
            global_orient=np.zeros((num_frames, 3), np.float32),
            articulation=np.zeros((num_frames, 45), np.float32),
            betas=np.zeros(10, np.float32),
            transl=np.stack([shift * t for t in range(num_frames)]).astype(np.float32),
            vertices=np.stack([base + shift * t for t in range(num_frames)]).astype(np.float32),
            keypoints=np.stack([kp + shift * t for t in range(num_frames)]).astype(np.float32),
            faces=np.asarray(box.faces, np.int64),
            missing=np.zeros(num_frames, bool),
        ))
    translation = np.stack([np.array([0.03, 0.0, 0.42]) + shift * t for t in range(num_frames)])
    obj = ObjectTrack(
        rotation=np.repeat(np.eye(3)[None], num_frames, 0).astype(np.float32),
        translation=translation.astype(np.float32),
        scale=1.0,
        vertices=(np.asarray(sphere.vertices)[None] + translation[:, None]).astype(np.float32),
        faces=np.asarray(sphere.faces, np.int64),
        missing=np.array([t == 1 for t in range(num_frames)]),
        template="procedural:sphere",
    )
    losses = {
        "object": {"total": list(np.geomspace(1.0, 0.01, 20)), "silhouette": list(np.geomspace(0.8, 0.008, 20))},
        "joint": {"total": list(np.geomspace(0.5, 0.05, 10)), "penetration": [0.0] * 10},
    }
    return FitResult(
        clip_name="unit_clip",
        frame_indices=np.arange(num_frames),
        intrinsics=dict(INTRINSICS),
        hands=hands,
        object=obj,
        losses=losses,
        timings={"init": 0.5, "object": 1.25, "joint": 2.0},
        config={"fit": {"iterations": 20}, "clip": {"path": ""}},
        log=["frame 1: object pose interpolated"],
    )


def make_frames(num_frames: int = 3) -> np.ndarray:
    """Textured input frames (uint8 (T, H, W, 3)): a colour gradient that differs per frame."""
    v, u = np.mgrid[0:HEIGHT, 0:WIDTH]
    frames = []
    for t in range(num_frames):
        frames.append(np.stack([(u * 4) % 256, (v * 5) % 256, np.full_like(u, 40 + 30 * t)], -1))
    return np.asarray(frames, np.uint8)


def make_clip(result: FitResult, ground_truth: bool = True, hand_shift=(0.0, 0.0, 0.0),
              object_shift=(0.0, 0.0, 0.0)) -> Clip:
    """A clip with the result's frames and intrinsics; its ground truth is the result's own hand keypoints
    and object pose, moved by ``hand_shift`` / ``object_shift`` (metres)."""
    num = result.num_frames
    gt = None
    if ground_truth:
        hands = [HandGroundTruth(joints=np.asarray(h.keypoints) + np.asarray(hand_shift, np.float32))
                 for h in result.hands]
        gt = GroundTruth(object_rotation=np.asarray(result.object.rotation),
                         object_translation=np.asarray(result.object.translation) + np.asarray(object_shift, np.float32),
                         hands=hands)
    return Clip(
        frames=ArrayFrames(make_frames(num)),
        intrinsics=CameraIntrinsics(**INTRINSICS),
        hands=[HandCues(h.side, np.zeros((num, 21, 2), np.float32), np.zeros((num, 21), np.float32))
               for h in result.hands],
        object=ObjectCues.always_present(num),
        template="procedural:sphere",
        ground_truth=gt,
        name="unit_clip",
        fps=7.0,
    )
