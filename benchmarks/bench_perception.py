"""Quality and speed of the 2D perception front end; prints one JSON line per measurement.

1. Hand keypoints: PCK@0.2 (threshold = 0.2 x the longer side of the annotated hand box) of MediaPipe's
   hand landmarker against the FreiHAND and Panoptic samples in ../shared/data/hands. A hand that is not
   detected counts as all keypoints wrong (``pck``); ``pck_detected`` is over detected hands only.
2. Masks: IoU of GrabCut object masks (hand pixels excluded) and hand masks against exact masks on
   synthetic frames: a YCB mesh (../shared/data/ycb), flat-shaded with a procedural colour texture by a
   small painter's-algorithm renderer in this script, moving over a random background, partly covered by
   a skin-coloured stick hand whose 21 keypoints are given to the extractor. Measured per frame from the
   box alone and over sequences (tracker + previous-mask initialization).

3. Masks on the synthetic benchmark's frames (``--synth DIR``: a set written by ``hofit synth``, e.g.
   ``hofit synth --set synth-v1 --out DIR``): GrabCut object masks seeded by the exact visible-object box
   (slightly enlarged) and the exact 2D hand keypoints, against the exact visible masks (pixels the hand
   covers are background in both).

Usage: ``OMP_NUM_THREADS=1 python benchmarks/bench_perception.py [--frames 6] [--skip-keypoints] [--synth DIR]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

from hoFit.models.hand.keypoints import HOFIT_FROM_OPENPOSE  # noqa: E402
from hoFit.perception.boxes import box_from_mask, box_from_points, box_iou  # noqa: E402
from hoFit.perception.grabcut import grabcut_object_mask, hand_skeleton_mask, mask_iou  # noqa: E402
from hoFit.perception.hand_landmarks import HandDetection  # noqa: E402
from hoFit.perception.pipeline import CueExtractor, DetectSettings  # noqa: E402


def emit(**record) -> None:
    print(json.dumps(record), flush=True)


# ---------------------------------------------------------------------------------------------- keypoints


def bench_keypoints() -> None:
    from hoFit.perception.hand_landmarks import HandLandmarkerSettings, MediaPipeHandDetector, mediapipe_unavailable_reason
    from hoFit.perception.model_store import hand_landmarker_cache_path

    reason = mediapipe_unavailable_reason()
    if reason is None and not hand_landmarker_cache_path().is_file():
        reason = "hand landmarker not cached: run `hofit models`"
    if reason is not None:
        emit(bench="keypoints", skipped=reason)
        return
    with MediaPipeHandDetector(HandLandmarkerSettings(num_hands=2)) as detector:
        for name in ("freihand", "panoptic"):
            folder = SHARED / "hands" / name
            if not folder.is_dir():
                emit(bench="keypoints", dataset=name, skipped=f"{folder} not found")
                continue
            data = json.loads((folder / f"test_{name}.json").read_text())
            images = {im["id"]: im for im in data["images"]}
            correct = correct_det = total_det = detected = 0
            times = []
            for ann in data["annotations"]:
                gt = np.asarray(ann["keypoints"], dtype=np.float64).reshape(21, 3)[list(HOFIT_FROM_OPENPOSE), :2]
                x, y, w, h = ann["bbox"]
                gt_box = np.array([x, y, x + w, y + h])
                bgr = cv2.imread(str(folder / images[ann["image_id"]]["file_name"]))
                start = time.perf_counter()
                hands = detector.detect(np.ascontiguousarray(bgr[:, :, ::-1]))
                times.append(time.perf_counter() - start)
                if not hands:
                    continue
                iou = box_iou(gt_box[None], np.stack([d.box for d in hands]))[0]
                if iou.max() <= 0:
                    continue
                hand = hands[int(np.argmax(iou))]
                hit = int((np.linalg.norm(hand.keypoints_2d - gt, axis=1) < 0.2 * max(w, h)).sum())
                detected += 1
                correct += hit
                correct_det += hit
                total_det += 21
            n = len(data["annotations"])
            emit(bench="keypoints", dataset=name, hands=n, detected=detected, pck=round(correct / (21 * n), 4),
                 pck_detected=round(correct_det / max(total_det, 1), 4),
                 ms_per_image=round(1000 * float(np.median(times)), 1), device="2-core CPU, shared")


# ---------------------------------------------------------------------------------------------- masks


def _rotation(rng) -> np.ndarray:
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def render_mesh(image, vertices, faces, colors, K, R, t):
    """Painter's-algorithm flat shading into ``image`` (in place); returns the exact (H, W) uint8 mask."""
    cam = vertices @ R.T + t
    uv = cam[:, :2] / cam[:, 2:] * np.array([K[0, 0], K[1, 1]]) + K[:2, 2]
    tri = cam[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    centres = tri.mean(1)
    shade = np.abs((normals * (-centres / np.linalg.norm(centres, axis=1, keepdims=True))).sum(1))
    mask = np.zeros(image.shape[:2], np.uint8)
    order = np.argsort(-centres[:, 2])
    shift = 4
    pts = np.round(uv * (1 << shift)).astype(np.int32)
    for f in order:
        poly = pts[faces[f]]
        colour = (colors[faces[f]].mean(0) * (0.35 + 0.65 * shade[f])).clip(0, 255)
        cv2.fillConvexPoly(image, poly, tuple(float(c) for c in colour), cv2.LINE_8, shift)
        cv2.fillConvexPoly(mask, poly, 1, cv2.LINE_8, shift)
    return mask


def _background(size, rng):
    try:
        from hoFit.data.synth.background import random_background

        return (random_background(size, rng) * 255).clip(0, 255).astype(np.uint8)
    except ImportError:
        return (rng.normal(0, 20, (*size, 3)) + rng.uniform(60, 180, 3)).clip(0, 255).astype(np.uint8)


def _stick_hand(wrist, angle, scale):
    openpose = [np.asarray(wrist, dtype=np.float64)]
    for a, length in zip((-60, -25, -8, 8, 25), (60, 95, 100, 95, 80)):
        a = np.deg2rad(a + angle)
        direction = np.array([np.sin(a), -np.cos(a)])
        for frac in np.linspace(0.35 if length != 60 else 0.15, 1.0, 4):
            openpose.append(openpose[0] + direction * length * frac * scale)
    return np.asarray(openpose)[list(HOFIT_FROM_OPENPOSE)]


def synthetic_sequence(mesh_path, rng, frames, size=(240, 320)):
    import trimesh

    mesh = trimesh.load(mesh_path, force="mesh", process=False)
    v = np.asarray(mesh.vertices, dtype=np.float64)
    v = v - v.mean(0)
    f = np.asarray(mesh.faces, dtype=np.int64)
    base = rng.uniform(40, 230, 3)
    freq = rng.uniform(20, 60)
    colors = base + 60 * np.sin(freq * v[:, [0, 1, 2]] + rng.uniform(0, 6, 3))
    h, w = size
    K = np.array([[300.0, 0, w / 2], [0, 300.0, h / 2], [0, 0, 1]])
    R0, axis = _rotation(rng), rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    extent = np.linalg.norm(v, axis=1).max()
    depth = extent * 300.0 / (0.28 * min(h, w))  # object spans ~ half the image height
    for t in range(frames):
        angle = 0.08 * t
        Kx = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
        Rt = (np.eye(3) + np.sin(angle) * Kx + (1 - np.cos(angle)) * Kx @ Kx) @ R0
        trans = np.array([(-0.15 + 0.05 * t) * depth * w / 600, 0.02 * depth * np.sin(t), depth])
        image = _background(size, rng)
        obj = render_mesh(image, v, f, colors, K, Rt, trans)
        box = box_from_mask(obj)
        centre = (box[:2] + box[2:]) / 2
        kp = _stick_hand((centre[0] - 10, box[3] + 15), angle=10 * np.sin(t), scale=(box[3] - box[1]) / 140)
        hand = hand_skeleton_mask(kp, size, 0.1).astype(np.uint8)
        skin = (rng.normal(0, 10, image.shape) + np.array([225, 180, 150])).clip(0, 255).astype(np.uint8)
        image[hand > 0] = skin[hand > 0]
        yield image, obj & (1 - hand), hand, kp


def bench_masks(num_frames: int, seed: int) -> None:
    meshes = sorted((SHARED / "ycb").glob("*/textured_simple_2000.obj"))
    if not meshes:
        emit(bench="masks", skipped=f"no YCB meshes under {SHARED / 'ycb'}")
        return
    rng = np.random.default_rng(seed)
    single, temporal, hand_iou, times = [], [], [], []
    for mesh_path in meshes:
        seq = list(synthetic_sequence(mesh_path, rng, num_frames))
        pad = np.array([-6.0, -6.0, 6.0, 6.0])
        for image, obj, _, kp in seq:  # from the exact box (slightly enlarged) alone
            start = time.perf_counter()
            result = grabcut_object_mask(image, box_from_mask(obj) + pad, hand_keypoints=kp)
            times.append(time.perf_counter() - start)
            single.append(mask_iou(result.mask, obj))
        kps = [s[3] for s in seq]
        counter = {"t": 0}

        def hands(image):
            k = kps[counter["t"]]
            counter["t"] += 1
            return [HandDetection(k, np.zeros((21, 3)), "right", 1.0, box_from_points(k, 0.1))]

        extractor = CueExtractor(seq[0][0].shape[:2], box_from_mask(seq[0][1]) + pad, DetectSettings(), hands)
        for image, obj, hand, _ in seq:  # whole sequence: only the first box is given
            cues = extractor.process(image)
            temporal.append(0.0 if cues.object_mask is None else mask_iou(cues.object_mask, obj))
            hand_iou.append(0.0 if cues.hand_mask is None else mask_iou(cues.hand_mask, hand))
        emit(bench="masks", object=mesh_path.parent.name, frames=num_frames,
             iou_single=round(float(np.mean(single[-num_frames:])), 4),
             iou_sequence=round(float(np.mean(temporal[-num_frames:])), 4),
             hand_iou=round(float(np.mean(hand_iou[-num_frames:])), 4))
    emit(bench="masks", object="all", frames=len(single), iou_single_mean=round(float(np.mean(single)), 4),
         iou_single_median=round(float(np.median(single)), 4), iou_sequence_mean=round(float(np.mean(temporal)), 4),
         hand_iou_mean=round(float(np.mean(hand_iou)), 4), grabcut_ms=round(1000 * float(np.median(times)), 1),
         frames_source="own painter's-algorithm renders of YCB meshes (issue 6 generator not used)",
         device="2-core CPU, shared")


def bench_synth_masks(root: Path, max_frames: int) -> None:
    """GrabCut IoU on the frames of every clip of a synthetic set written by `hofit synth`."""
    from hoFit.data.clip import Clip

    clip_dirs = sorted(p.parent for p in Path(root).glob("*/clip.yaml"))
    if not clip_dirs:
        emit(bench="synth_masks", skipped=f"no clip directories (*/clip.yaml) under {root}")
        return
    ious, times = [], []
    pad = np.array([-6.0, -6.0, 6.0, 6.0])
    for clip_dir in clip_dirs:
        clip = Clip.load(clip_dir)
        per_clip = []
        for t in range(min(clip.num_frames, max_frames)):
            truth = clip.object.masks.mask[t].astype(bool)
            if not truth.any():
                continue
            keypoints = clip.hands[0].keypoints[t] if clip.hands else None
            start = time.perf_counter()
            result = grabcut_object_mask(clip.frames[t], box_from_mask(truth) + pad, hand_keypoints=keypoints)
            times.append(time.perf_counter() - start)
            per_clip.append(mask_iou(result.mask, truth))
        ious += per_clip
        emit(bench="synth_masks", clip=clip.name, frames=len(per_clip), iou_mean=round(float(np.mean(per_clip)), 4))
    emit(bench="synth_masks", clip="all", frames=len(ious), iou_mean=round(float(np.mean(ious)), 4),
         iou_median=round(float(np.median(ious)), 4), grabcut_ms=round(1000 * float(np.median(times)), 1),
         frames_source=f"hofit synth set in {root}", device="2-core CPU, shared")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6, help="frames per synthetic sequence")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-keypoints", action="store_true")
    parser.add_argument("--skip-masks", action="store_true")
    parser.add_argument("--synth", metavar="DIR", help="also measure GrabCut on a synthetic set written by hofit synth")
    parser.add_argument("--synth-frames", type=int, default=10, help="frames per synthetic clip (default 10)")
    args = parser.parse_args()
    if not args.skip_keypoints:
        bench_keypoints()
    if not args.skip_masks:
        bench_masks(args.frames, args.seed)
    if args.synth:
        bench_synth_masks(Path(args.synth), args.synth_frames)


if __name__ == "__main__":
    main()
