"""Synthetic hand-object clips with exact ground truth, and the named benchmark sets built from them.

`generate_clip` (a `SynthConfig` -> `SyntheticClip`), `generate_set` (``synth-v1``, ``synth-quick``),
`synthesize_grasp` (grasps from hoFit's contact and collision terms), `write_ho3d_replica` (HO-3D layout).
"""

from hoFit.data.synth.camera import ho3d_like_intrinsics
from hoFit.data.synth.generator import HandParameters, SynthConfig, SyntheticClip, generate_clip, resolve_object
from hoFit.data.synth.grasp import GRASP_TYPES, Grasp, GraspSettings, synthesize_grasp
from hoFit.data.synth.ho3d import write_ho3d_replica
from hoFit.data.synth.motion import MotionSettings
from hoFit.data.synth.sets import SET_NAMES, generate_set, load_set_manifest, set_configs

__all__ = [
    "SynthConfig",
    "SyntheticClip",
    "HandParameters",
    "generate_clip",
    "resolve_object",
    "GraspSettings",
    "Grasp",
    "GRASP_TYPES",
    "synthesize_grasp",
    "MotionSettings",
    "ho3d_like_intrinsics",
    "write_ho3d_replica",
    "SET_NAMES",
    "set_configs",
    "generate_set",
    "load_set_manifest",
]
