"""Synthetic clips with exact ground truth: a hand (or two) holding an object, moving in front of a camera.

`generate_clip(config)` builds, deterministically from ``config.seed``:

1. the object template (a YCB mesh, any mesh file, or a procedural template);
2. one grasp per hand, synthesized in the object frame with hoFit's contact and collision terms and
   verified exactly (`hoFit.data.synth.grasp`); a second (left) hand approaches from the other side;
3. a smooth 6-DoF motion of the rigid hand+object group (`hoFit.data.synth.motion`), with an optional slow
   opening and closing of the fingers, kept inside an HO-3D-like camera's view at 0.4-0.8 m;
4. shaded RGB frames over a random background, the instance map (front-most of object / hands per
   pixel: exact masks with the hand-over-object occlusion), the amodal object mask, the depth map;
5. 2D keypoints (projection of the 3D keypoints), hand and object boxes.

The result is a `SyntheticClip`: a `hoFit.data.clip.Clip` (frames, exact cues, ground truth) plus what the
clip format does not hold (hand parameters, depth, instance map, amodal mask, grasp reports). Saving writes
the clip directory and, beside the clip files, ``object.ply`` (the template, referenced by clip.yaml),
``synth.npz`` and ``synth.json``.

Streams of randomness are separate (grasp, motion, appearance), each derived from ``config.seed`` with
`numpy.random.SeedSequence`, so that e.g. switching finger motion on does not change the grasp.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from hoFit.config.core import from_dict, to_dict
from hoFit.data.clip import PROCEDURAL_PREFIX, Clip, GroundTruth, HandCues, HandGroundTruth, ObjectCues
from hoFit.data.frames import ArrayFrames
from hoFit.data.masks import MaskSequence
from hoFit.data.synth.background import random_background
from hoFit.data.synth.camera import HO3D_FOCAL, ho3d_like_intrinsics
from hoFit.data.synth.grasp import Grasp, GraspSettings, synthesize_grasp
from hoFit.data.synth.motion import MotionSettings, place_in_view, sample_trajectory, viewing_rotation
from hoFit.errors import HoFitError
from hoFit.geometry.cameras import project_points
from hoFit.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hoFit.utils.files import save_npz, write_json

__all__ = [
    "SynthConfig",
    "HandParameters",
    "SyntheticClip",
    "generate_clip",
    "resolve_object",
    "default_ycb_dir",
    "YCB_DIR_ENV",
    "SKIN_COLOURS",
    "OBJECT_COLOURS",
]

YCB_DIR_ENV = "HOFIT_YCB_DIR"
YCB_PREFIX = "ycb:"
SYNTH_NPZ = "synth.npz"
SYNTH_JSON = "synth.json"
OBJECT_FILE = "object.ply"
DEPTH_UNIT = 1e-4  # metres per unit of the stored uint16 depth

SKIN_COLOURS: tuple[tuple[float, float, float], ...] = (
    (0.94, 0.78, 0.67), (0.87, 0.68, 0.55), (0.76, 0.57, 0.44), (0.62, 0.44, 0.31), (0.45, 0.30, 0.20),
)
OBJECT_COLOURS: tuple[tuple[float, float, float], ...] = (
    (0.85, 0.15, 0.12), (0.15, 0.45, 0.85), (0.95, 0.75, 0.10), (0.20, 0.65, 0.30), (0.60, 0.25, 0.70),
    (0.95, 0.50, 0.10), (0.10, 0.70, 0.75), (0.90, 0.90, 0.88), (0.25, 0.25, 0.28),
)


@dataclass
class SynthConfig:
    """What to generate (plain types with defaults, YAML round-trip through `hoFit.config`).

    Attributes:
        object: ``"ycb:<name>"`` (a folder of `ycb_dir`, e.g. ``ycb:025_mug``), ``"procedural:<category>"``
            or a mesh file path (metres).
        ycb_dir: folder of YCB models (``<name>/textured_simple_2000.obj``); None uses $HOFIT_YCB_DIR, then
            the repository's ``../shared/data/ycb``.
        grasp: `GraspSettings` (grasp type and optimization).
        hand_model: "openhand" or "mano".
        mano_dir: MANO folder when ``hand_model`` is "mano".
        two_hands: a left hand also holds the object, from the opposite side.
        num_frames: T.
        image_size: (height, width) pixels; intrinsics scale with the width (HO-3D's 640x480 by default).
        focal: focal length in pixels at 640x480 (HO-3D: 617.343).
        motion: `MotionSettings` (amplitudes, distance range, view margin).
        finger_motion: peak opening of the fingers during the clip as a fraction of the grasp posture
            (0 keeps the grasp fixed; e.g. 0.3 opens and closes the hand a little).
        betas_std: standard deviation of the random hand shape coefficients (clipped at +-2.5 std).
        pixel_noise: standard deviation of the Gaussian noise added to the RGB values (0-1 scale).
        supersample: anti-aliasing factor of the shaded rendering.
        seed: the only source of randomness.
        name: clip name (default ``synth_<seed>``).
        fps: frames per second recorded in the clip.
    """

    object: str = "procedural:mug"
    ycb_dir: str | None = None
    grasp: GraspSettings = field(default_factory=GraspSettings)
    hand_model: str = "openhand"
    mano_dir: str | None = None
    two_hands: bool = False
    num_frames: int = 30
    image_size: tuple[int, int] = (480, 640)
    focal: float = HO3D_FOCAL
    motion: MotionSettings = field(default_factory=MotionSettings)
    finger_motion: float = 0.0
    betas_std: float = 0.5
    pixel_noise: float = 0.01
    supersample: int = 2
    seed: int = 0
    name: str = ""
    fps: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.grasp, dict):
            self.grasp = from_dict(GraspSettings, self.grasp, "grasp")
        if isinstance(self.motion, dict):
            self.motion = from_dict(MotionSettings, self.motion, "motion")
        if int(self.num_frames) < 1:
            raise HoFitError(f"SynthConfig.num_frames: expected >= 1 frames, got {self.num_frames}")
        if len(tuple(self.image_size)) != 2 or min(self.image_size) < 16:
            raise HoFitError(f"SynthConfig.image_size: expected (height, width) of at least 16 pixels, got {self.image_size}")
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        if not 0.0 <= self.finger_motion <= 1.0:
            raise HoFitError(f"SynthConfig.finger_motion: expected a fraction in [0, 1], got {self.finger_motion}")
        if self.hand_model not in ("openhand", "mano"):
            raise HoFitError(f"SynthConfig.hand_model: expected 'openhand' or 'mano', got {self.hand_model!r}")
        if not self.name:
            self.name = f"synth_{self.seed}"


@dataclass
class HandParameters:
    """Ground-truth parameters of one hand over T frames, camera frame (OpenCV, metres).

    ``HandLayer(global_orient, articulation, betas, transl)`` with ``use_pca=False, flat_hand_mean=True``
    reproduces the clip's ground-truth vertices and keypoints.

    Attributes:
        side: "right" or "left".
        model: "openhand" or "mano".
        global_orient: (T, 3) axis-angle, radians.
        articulation: (T, 45) full finger pose, axis-angle, radians.
        betas: (S,) shape coefficients.
        transl: (T, 3) metres.
        grasp_type: posture family of the grasp.
    """

    side: str
    model: str
    global_orient: np.ndarray
    articulation: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    grasp_type: str = ""


@dataclass
class SyntheticClip:
    """A generated clip and its complete ground truth.

    Attributes:
        clip: the `Clip` (frames in memory until saved, exact 2D cues, ground truth).
        config: the `SynthConfig` that made it.
        hands: `HandParameters` per hand, in the clip's hand order.
        template: the object template (object frame, metres).
        depth: float32 (T, H, W) metres, +inf on background.
        instance: int8 (T, H, W): -1 background, 0 object, 1 + i hand i (front-most surface).
        object_amodal: bool (T, H, W) the whole object silhouette, occluded parts included.
        penetration: float32 (T,) per frame, the deepest hand vertex inside the object or object vertex inside
            a hand, metres (exact).
        grasps: one report per hand (plain data: penetration, contact regions, attempts, ...).
        timings: seconds per generation step.
    """

    clip: Clip
    config: SynthConfig
    hands: list[HandParameters]
    template: object
    depth: np.ndarray
    instance: np.ndarray
    object_amodal: np.ndarray
    penetration: np.ndarray
    grasps: list[dict]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return self.clip.num_frames

    def save(self, directory: str | Path, overwrite: bool = False) -> Path:
        """Write the clip directory, then ``object.ply``, ``synth.npz`` and (last) ``synth.json``.

        A directory with ``synth.json`` is complete; `SyntheticClip.load` reads it back. This object is not
        changed (its clip keeps its frames in memory and its template reference).
        """
        directory = Path(directory).absolute()
        clip = copy.copy(self.clip)  # the saved clip references the mesh written beside it
        clip.template = str(directory / OBJECT_FILE)
        clip.save(directory, overwrite=overwrite)
        mesh = self.template.to_trimesh()
        tmp = directory / f".{OBJECT_FILE}.tmp.ply"
        mesh.export(tmp)
        os.replace(tmp, directory / OBJECT_FILE)
        arrays: dict[str, np.ndarray] = {
            "depth": _encode_depth(self.depth),
            "instance": self.instance.astype(np.int8),
            "object_amodal": self.object_amodal.astype(bool),
            "penetration": self.penetration.astype(np.float32),
        }
        for i, hand in enumerate(self.hands):
            for key in ("global_orient", "articulation", "betas", "transl"):
                arrays[f"hand{i}_{key}"] = np.asarray(getattr(hand, key), dtype=np.float64)
        save_npz(directory / SYNTH_NPZ, **arrays)
        write_json(
            directory / SYNTH_JSON,
            {
                "config": to_dict(self.config),
                "hands": [{"side": h.side, "model": h.model, "grasp_type": h.grasp_type} for h in self.hands],
                "grasps": self.grasps,
                "timings": self.timings,
                "depth_unit_m": DEPTH_UNIT,
            },
        )
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "SyntheticClip":
        """Read a directory written by `save`."""
        from hoFit.models.objects import load_template

        directory = Path(directory)
        meta_path = directory / SYNTH_JSON
        if not meta_path.is_file():
            raise HoFitError(f"{directory}: not a complete synthetic clip ({SYNTH_JSON} is missing; regenerate it)")
        meta = json.loads(meta_path.read_text())
        clip = Clip.load(directory)
        config = from_dict(SynthConfig, meta["config"], "synth.json config")
        with np.load(directory / SYNTH_NPZ, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        hands = [
            HandParameters(
                side=info["side"], model=info["model"], grasp_type=info.get("grasp_type", ""),
                **{key: arrays[f"hand{i}_{key}"] for key in ("global_orient", "articulation", "betas", "transl")},
            )
            for i, info in enumerate(meta["hands"])
        ]
        return cls(
            clip=clip,
            config=config,
            hands=hands,
            template=load_template(directory / OBJECT_FILE),
            depth=_decode_depth(arrays["depth"]),
            instance=arrays["instance"],
            object_amodal=arrays["object_amodal"],
            penetration=arrays["penetration"],
            grasps=meta["grasps"],
            timings=meta.get("timings", {}),
        )


def _encode_depth(depth: np.ndarray) -> np.ndarray:
    finite = np.isfinite(depth)
    units = np.where(finite, np.round(np.where(finite, depth, 0) / DEPTH_UNIT), 0)
    return np.clip(units, 0, 65535).astype(np.uint16)


def _decode_depth(units: np.ndarray) -> np.ndarray:
    depth = units.astype(np.float32) * np.float32(DEPTH_UNIT)
    depth[units == 0] = np.inf
    return depth


# ------------------------------------------------------------------------------------------------ objects


def default_ycb_dir() -> Path | None:
    """$HOFIT_YCB_DIR, else ``<repository>/../shared/data/ycb`` when it exists, else None."""
    env = os.environ.get(YCB_DIR_ENV)
    if env:
        return Path(env).expanduser()
    candidate = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ycb"
    return candidate if candidate.is_dir() else None


def _ycb_mesh(name: str, ycb_dir: str | Path | None) -> Path:
    folder = Path(ycb_dir).expanduser() if ycb_dir else default_ycb_dir()
    if folder is None or not folder.is_dir():
        raise HoFitError(
            f"object 'ycb:{name}': no YCB folder found (set ycb_dir, ${YCB_DIR_ENV}, or put the meshes in "
            "../shared/data/ycb); or use a procedural object such as 'procedural:mug'"
        )
    model = folder / name
    for candidate in ("textured_simple_2000.obj", "textured_simple.obj", "textured.obj", "google_16k/textured.obj"):
        if (model / candidate).is_file():
            return model / candidate
    available = sorted(p.name for p in folder.iterdir() if p.is_dir())
    raise HoFitError(f"object 'ycb:{name}': no mesh in {model}; YCB objects in {folder}: {available}")


def resolve_object(spec: str, ycb_dir: str | Path | None = None):
    """The `ObjectTemplate` and its clip reference (mesh path or ``procedural:<category>``) of an object spec."""
    from hoFit.models import objects

    if spec.startswith(PROCEDURAL_PREFIX):
        category = spec[len(PROCEDURAL_PREFIX):]
        return objects.procedural_template(category), spec, category
    if spec.startswith(YCB_PREFIX):
        name = spec[len(YCB_PREFIX):]
        path = _ycb_mesh(name, ycb_dir)
        return objects.load_template(path), str(path), name
    path = Path(spec).expanduser()
    if not path.is_file():
        raise HoFitError(
            f"object {spec!r}: expected 'ycb:<name>', 'procedural:<category>' or an existing mesh file"
        )
    return objects.load_template(path), str(path.absolute()), path.stem


@functools.lru_cache(maxsize=8)
def _hand_layer(model: str, side: str, mano_dir: str | None):
    from hoFit.models.hand import create_hand_layer

    return create_hand_layer(model=model, side=side, mano_dir=mano_dir, use_pca=False, flat_hand_mean=True)


# ------------------------------------------------------------------------------------------------ generation


def _streams(seed: int) -> dict[str, np.random.Generator]:
    names = ("grasp", "motion", "appearance", "fingers", "shape")
    children = np.random.SeedSequence(int(seed)).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children)}


def _finger_schedule(num_frames: int, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """(T,) opening fraction in [0, amplitude]: starts closed, opens and closes smoothly."""
    cycles = rng.uniform(0.6, 1.5)
    s = np.linspace(0.0, 1.0, num_frames)
    return amplitude * 0.5 * (1.0 - np.cos(2 * math.pi * cycles * s))


def _pose_hands(layer, grasp: Grasp, rotations: np.ndarray, obj_t: np.ndarray, opening: np.ndarray):
    """Hand parameters and outputs in the camera for the rigid motion ``x_cam = R_t x_obj + t_t``."""
    dtype = torch.float64
    T = rotations.shape[0]
    betas = torch.as_tensor(grasp.betas[None], dtype=dtype).expand(T, -1)
    with torch.no_grad():
        root = layer(None, torch.zeros(1, 45, dtype=layer.v_template.dtype), betas[:1].to(layer.v_template.dtype)).joints[0, 0]
    j0 = root.double().numpy()
    r_grasp = axis_angle_to_matrix(torch.as_tensor(grasp.global_orient, dtype=dtype)).numpy()
    r_cam = np.einsum("tij,jk->tik", rotations, r_grasp)
    transl = np.einsum("tij,j->ti", rotations, j0 + grasp.transl) + obj_t - j0
    articulation = grasp.articulation[None] * (1.0 - opening[:, None])
    global_orient = matrix_to_axis_angle(torch.as_tensor(r_cam, dtype=dtype)).numpy()
    with torch.no_grad():
        out = layer(
            torch.as_tensor(r_cam, dtype=layer.v_template.dtype),
            torch.as_tensor(articulation, dtype=layer.v_template.dtype),
            betas.to(layer.v_template.dtype),
            torch.as_tensor(transl, dtype=layer.v_template.dtype),
        )
    return global_orient, articulation, transl, out.vertices.double().numpy(), out.keypoints.double().numpy()


def _frame_penetration(layer, hand_vertices: np.ndarray, rotations: np.ndarray, obj_t: np.ndarray, template, sdf) -> np.ndarray:
    """(T,) exact penetration per frame (deepest hand vertex in the object or object vertex in the hand), metres."""
    from hoFit.data.synth.grasp import hand_object_report

    local = np.einsum("tji,tnj->tni", rotations, hand_vertices - obj_t[:, None])  # object frame
    obj_v, obj_f = template.to_torch(dtype=torch.float32)
    report = hand_object_report(torch.as_tensor(local, dtype=torch.float32), obj_v, obj_f, sdf, layer.closed_faces)
    return np.maximum(report["penetration"], report["object_penetration"])


def _render(meshes, colours, K: torch.Tensor, image_size, background: np.ndarray, supersample: int, chunk: int = 4):
    """Shaded RGB (T, H, W, 3) float, instance (T, H, W), depth (T, H, W) and amodal masks (T, M, H, W)."""
    from hoFit.render import RenderSettings, SilhouetteSettings, render_scene, render_shaded

    T = meshes[0][0].shape[0]
    sil_settings = SilhouetteSettings(sigma_px=0.05)
    shade_settings = RenderSettings(supersample=supersample)
    bg = torch.as_tensor(background, dtype=torch.float32)
    rgb, instance, depth, amodal = [], [], [], []
    for start in range(0, T, chunk):
        part = [(v[start : start + chunk], f) for v, f in meshes]
        n = part[0][0].shape[0]
        with torch.no_grad():
            scene = render_scene(part, K, image_size, sil_settings)
            shaded = render_shaded(part, colours, K, image_size, background=bg.expand(n, -1, -1, -1), settings=shade_settings)
        rgb.append(shaded.numpy())
        instance.append(scene.instance.numpy().astype(np.int8))
        depth.append(scene.depth.numpy().astype(np.float32))
        amodal.append(np.isfinite(scene.mesh_depth.numpy()))
    return np.concatenate(rgb), np.concatenate(instance), np.concatenate(depth), np.concatenate(amodal)


def _box_union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.stack([np.fmin(a[:, 0], b[:, 0]), np.fmin(a[:, 1], b[:, 1]), np.fmax(a[:, 2], b[:, 2]), np.fmax(a[:, 3], b[:, 3])], 1)
    return out.astype(np.float32)


def _masks(visible: np.ndarray, amodal: np.ndarray) -> MaskSequence:
    """Exact visible masks (T, H, W); a frame where the entity is fully hidden gets its amodal area as
    unknown (or, if not even that is in the image, no mask)."""
    mask = visible.astype(np.uint8)
    unknown = np.zeros_like(visible, dtype=bool)
    available = np.ones(visible.shape[0], dtype=bool)
    hidden = ~visible.any(axis=(1, 2))
    unknown[hidden] = amodal[hidden]
    lost = hidden & ~amodal.any(axis=(1, 2))
    unknown[lost] = True
    available[lost] = False
    return MaskSequence(mask, unknown, available)


def generate_clip(config: SynthConfig | None = None, **overrides) -> SyntheticClip:
    """Generate one synthetic clip (see the module docstring). Keyword overrides replace config fields."""
    config = config or SynthConfig()
    if overrides:
        config = from_dict(SynthConfig, {**to_dict(config), **to_dict(overrides)}, "synth")
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    rng = _streams(config.seed)
    template, reference, category = resolve_object(config.object, config.ycb_dir)
    timings["object"] = time.perf_counter() - tick

    # grasps (object frame)
    tick = time.perf_counter()
    from hoFit.models.objects import sdf_grid

    sdf = sdf_grid(template, resolution=config.grasp.sdf_resolution)
    sides = ["right", "left"] if config.two_hands else ["right"]
    layers = [_hand_layer(config.hand_model, side, config.mano_dir) for side in sides]
    grasps: list[Grasp] = []
    for side, layer in zip(sides, layers):
        betas = np.clip(rng["shape"].normal(size=layer.num_betas), -2.5, 2.5) * config.betas_std
        approach = None if not grasps else -grasps[0].approach
        for attempt in range(3):
            grasp = synthesize_grasp(
                template, layer, rng["grasp"], config.grasp, betas=betas, sdf=sdf, approach=approach,
                avoid=grasps[0].vertices if grasps else None,
            )
            if not grasps or _hands_overlap(grasps[0], layers[0], grasp, layer) <= config.grasp.max_penetration:
                break
        else:
            raise HoFitError(
                f"clip {config.name}: the second hand's grasps of {config.object} all interpenetrate the first hand; "
                "use another seed for this two-hand clip"
            )
        grasps.append(grasp)
    timings["grasp"] = time.perf_counter() - tick

    # motion of the rigid group
    tick = time.perf_counter()
    intrinsics = ho3d_like_intrinsics(config.image_size, config.focal)
    pivot = template.bounds.mean(0).astype(np.float64)
    points = np.concatenate([template.vertices.astype(np.float64)] + [g.vertices for g in grasps]) - pivot
    hand_dir = grasps[0].vertices.mean(0) - pivot
    base = viewing_rotation(rng["motion"], hand_dir, config.motion.hand_view_angle)
    rot_off, trans_off = sample_trajectory(config.num_frames, rng["motion"], config.motion)
    trajectory = place_in_view(points, base, rot_off, trans_off, intrinsics, rng["motion"], config.motion)
    rotations = trajectory.rotations
    obj_t = trajectory.centers - np.einsum("tij,j->ti", rotations, pivot)
    obj_vertices = np.einsum("tij,nj->tni", rotations, template.vertices.astype(np.float64)) + obj_t[:, None]

    hands: list[HandParameters] = []
    hand_vertices, hand_keypoints = [], []
    penetration = np.zeros(config.num_frames)
    for layer, grasp in zip(layers, grasps):
        amplitude = config.finger_motion
        opening = _finger_schedule(config.num_frames, amplitude, rng["fingers"])
        for _ in range(4):
            go, art, tr, verts, kps = _pose_hands(layer, grasp, rotations, obj_t, opening)
            depth_t = _frame_penetration(layer, verts, rotations, obj_t, template, sdf)
            if depth_t.max() <= config.grasp.max_penetration + 1e-6 or amplitude == 0:
                break
            amplitude *= 0.5  # opening the fingers pushed a finger into the object: open less
            opening = opening * 0.5
        else:
            opening = np.zeros(config.num_frames)
            go, art, tr, verts, kps = _pose_hands(layer, grasp, rotations, obj_t, opening)
            depth_t = _frame_penetration(layer, verts, rotations, obj_t, template, sdf)
        penetration = np.maximum(penetration, depth_t)
        hands.append(HandParameters(layer.side, config.hand_model, go, art, grasp.betas.copy(), tr, grasp.grasp_type))
        hand_vertices.append(verts)
        hand_keypoints.append(kps)
    timings["motion"] = time.perf_counter() - tick

    # rendering
    tick = time.perf_counter()
    height, width = config.image_size
    K = intrinsics.matrix(torch.float32)
    meshes = [(torch.as_tensor(obj_vertices, dtype=torch.float32), torch.as_tensor(template.faces, dtype=torch.long))]
    for layer, verts in zip(layers, hand_vertices):
        meshes.append((torch.as_tensor(verts, dtype=torch.float32), layer.closed_faces))
    app = rng["appearance"]
    skin = SKIN_COLOURS[int(app.integers(len(SKIN_COLOURS)))]
    colour = OBJECT_COLOURS[int(app.integers(len(OBJECT_COLOURS)))]
    colours = [colour] + [skin] * len(layers)
    background = random_background((height, width), app)
    rgb, instance, depth, amodal = _render(meshes, colours, K, (height, width), background, config.supersample)
    noise = app.normal(0.0, config.pixel_noise, size=rgb.shape).astype(np.float32) if config.pixel_noise > 0 else 0.0
    frames = np.clip(np.round((rgb + noise) * 255.0), 0, 255).astype(np.uint8)
    timings["render"] = time.perf_counter() - tick

    # cues and ground truth
    hand_cues, hand_gt = [], []
    object_masks = _masks(instance == 0, amodal[:, 0])
    for i, (layer, verts, kps) in enumerate(zip(layers, hand_vertices, hand_keypoints)):
        uv = project_points(torch.as_tensor(kps), K.double()).numpy().astype(np.float32)
        masks = _masks(instance == i + 1, amodal[:, i + 1])
        kp_box = np.stack([uv[..., 0].min(1), uv[..., 1].min(1), uv[..., 0].max(1), uv[..., 1].max(1)], 1)
        boxes = _box_union(masks.boxes(), kp_box)
        hand_cues.append(HandCues(layer.side, uv, np.ones(uv.shape[:2], np.float32), None, boxes, masks))
        hand_gt.append(HandGroundTruth(joints=kps.astype(np.float32), vertices=verts.astype(np.float32)))
    object_boxes = object_masks.boxes()
    hidden = np.isnan(object_boxes).any(axis=1)
    if hidden.any():  # fully occluded object: box of its projection
        uv = project_points(torch.as_tensor(obj_vertices[hidden]), K.double()).numpy()
        object_boxes[hidden] = np.stack([uv[..., 0].min(1), uv[..., 1].min(1), uv[..., 0].max(1), uv[..., 1].max(1)], 1)
    ground_truth = GroundTruth(rotations.astype(np.float32), obj_t.astype(np.float32), None, hand_gt)
    clip = Clip(
        frames=ArrayFrames(frames),
        intrinsics=intrinsics,
        hands=hand_cues,
        object=ObjectCues.always_present(config.num_frames, object_boxes, object_masks),
        template=reference,
        object_scale=1.0,
        object_category=category,
        ground_truth=ground_truth,
        name=config.name,
        fps=config.fps,
        meta={
            "dataset": "synth",
            "seed": int(config.seed),
            "object": config.object,
            "grasp_type": config.grasp.grasp_type,
            "hand_model": config.hand_model,
            "two_hands": bool(config.two_hands),
        },
    )
    reports = [
        {
            "side": g.side,
            "grasp_type": g.grasp_type,
            "penetration_m": g.penetration,
            "object_penetration_m": g.object_penetration,
            "contact_regions": list(g.contact_regions),
            "contact_distance_m": g.contact_distance,
            "attempts": g.attempts,
        }
        for g in grasps
    ]
    return SyntheticClip(
        clip=clip,
        config=config,
        hands=hands,
        template=template,
        depth=depth,
        instance=instance,
        object_amodal=amodal[:, 0],
        penetration=penetration.astype(np.float32),
        grasps=reports,
        timings={k: round(v, 3) for k, v in timings.items()},
    )


def _hands_overlap(first: Grasp, layer_a, second: Grasp, layer_b) -> float:
    """Deepest vertex of either hand inside the other's closed mesh, metres (exact winding test)."""
    from hoFit.fit.losses import object_in_hand_penetration

    dtype = layer_a.v_template.dtype
    a = torch.as_tensor(first.vertices[None], dtype=dtype)
    b = torch.as_tensor(second.vertices[None], dtype=dtype)
    depth_ab = object_in_hand_penetration(b, a, layer_a.closed_faces)
    depth_ba = object_in_hand_penetration(a, b, layer_b.closed_faces)
    return float(max(depth_ab.max(), depth_ba.max()))
