"""Grasp synthesis: place a hand model on an object so that it holds it plausibly.

A grasp is found by optimization with hoFit's own interaction terms (`hoFit.fit.losses`), in the object
frame (metres):

1. approach: a direction ``n`` from the object's centre (for power grasps perpendicular to the object's
   long axis), redrawn while the surface point ``p`` that a ray along ``-n`` hits (sphere tracing on the
   SDF grid) lies in a concavity (deeper than 5 mm inside the convex hull, e.g. a mug's opening); the
   hand's radial axis follows the long axis (power) or a random roll (precision, pinch);
2. pre-grasp: the palm faces ``-n`` at ``standoff`` metres from ``p`` with the fingers at a fraction of the
   grasp type's posture (a table of anatomical angles), then moves back along ``n`` until no vertex is
   inside the object;
3. Adam on the global rotation, translation and the 15x3 anatomical joint angles of several hypotheses at
   once: `contact_loss` on each attracted contact region's vertex nearest to the surface (pulled onto it
   when closer than ``attraction_distance``), `collision_loss` (hand vertices inside the object's SDF) plus
   a cheap object-in-hand term (object vertices behind the nearest hand vertex's tangent plane),
   `joint_limit_loss` and a pull towards the posture; a second hand (``avoid``) is kept 1 cm away;
4. verification with exact geometry (winding numbers and point-to-triangle distances): the deepest hand
   vertex inside the object and the deepest object vertex inside the closed hand mesh are at most
   ``max_penetration`` and enough contact regions, the thumb's included, have a vertex within
   ``contact_threshold`` of the surface. The best hypothesis that fails is refined with a stronger collision
   weight; failing that, new approach directions are drawn.

All randomness comes from the numpy generator passed in: same generator state, same grasp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.spatial import ConvexHull

from hoFit.errors import HoFitError
from hoFit.fit.losses import collision_loss, contact_loss, joint_limit_loss, object_in_hand_penetration
from hoFit.eval.plausibility import penetration_depths
from hoFit.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hoFit.models.hand import anatomy
from hoFit.models.hand.layer import HandLayer
from hoFit.models.objects.sdf import SDFGrid
from hoFit.models.objects.template import ObjectTemplate
from hoFit.render.shading import vertex_normals

__all__ = [
    "GRASP_TYPES",
    "GraspSettings",
    "Grasp",
    "grasp_posture",
    "synthesize_grasp",
    "hand_object_report",
    "surface_point",
    "long_axis",
]

GRASP_TYPES: tuple[str, ...] = ("power", "precision", "pinch")

# Anatomical angles in degrees (flexion, abduction, twist) per joint level; see hoFit.models.hand.anatomy.
_FINGERS_MANO = ("index", "middle", "pinky", "ring")  # MANO joints 1-12, three per finger
_POSTURES: dict[str, dict[str, tuple[tuple[float, float, float], ...]]] = {
    "power": {
        "index": ((40, 6, 0), (50, 0, 0), (30, 0, 0)),
        "middle": ((42, 0, 0), (52, 0, 0), (30, 0, 0)),
        "ring": ((44, -4, 0), (52, 0, 0), (30, 0, 0)),
        "pinky": ((46, -8, 0), (50, 0, 0), (30, 0, 0)),
        "thumb": ((25, 35, 0), (20, 0, 0), (20, 0, 0)),
    },
    "precision": {
        "index": ((45, 6, 0), (25, 0, 0), (12, 0, 0)),
        "middle": ((45, 0, 0), (25, 0, 0), (12, 0, 0)),
        "ring": ((45, -4, 0), (25, 0, 0), (12, 0, 0)),
        "pinky": ((45, -8, 0), (25, 0, 0), (12, 0, 0)),
        "thumb": ((35, 40, 0), (10, 0, 0), (10, 0, 0)),
    },
    "pinch": {
        "index": ((40, 3, 0), (35, 0, 0), (15, 0, 0)),
        "middle": ((42, 0, 0), (35, 0, 0), (15, 0, 0)),
        "ring": ((70, -4, 0), (90, 0, 0), (55, 0, 0)),
        "pinky": ((70, -8, 0), (90, 0, 0), (55, 0, 0)),
        "thumb": ((40, 35, 0), (15, 0, 0), (15, 0, 0)),
    },
}
# Contact regions attracted to the surface, and the regions that count as "in contact" for verification.
_ATTRACTED: dict[str, tuple[str, ...]] = {
    "power": (
        "thumb_pad", "index_pad", "middle_pad", "ring_pad", "pinky_pad", "thumb_phalanges", "index_phalanges",
        "middle_phalanges", "ring_phalanges", "pinky_phalanges", "palm",
    ),
    "precision": ("thumb_pad", "index_pad", "middle_pad", "ring_pad", "pinky_pad"),
    "pinch": ("thumb_pad", "index_pad", "middle_pad"),
}
_MIN_REGIONS = {"power": 3, "precision": 3, "pinch": 2}


@dataclass
class GraspSettings:
    """Settings of `synthesize_grasp`.

    Attributes:
        grasp_type: "power" (fingers and palm around the object), "precision" (five finger pads) or
            "pinch" (thumb, index and middle pads).
        hypotheses: approach directions optimized together per attempt.
        iterations: Adam steps of the main optimization.
        refine_iterations: extra steps for the best hypothesis when it fails verification.
        max_attempts: rounds of fresh hypotheses before giving up.
        standoff: initial distance of the palm centre from the surface, metres.
        pregrasp_fraction: initial posture as this fraction of the grasp type's joint angles.
        attraction_distance: a contact region whose nearest vertex is closer than this to the surface is
            attracted (its nearest vertex is pulled onto the surface), metres.
        max_penetration: accepted depth of hand in object and object in hand, metres (exact check).
        contact_threshold: a region touches the object when a vertex is within this distance, metres.
        min_contact_regions: regions in contact required (None: 3 for power/precision, 2 for pinch); the
            thumb pad must be one of them (for power grasps the thumb's pad or phalanges).
        sdf_resolution: samples per axis of the object's SDF grid used by the losses.
        lr_translation, lr_rotation, lr_angles: Adam step sizes (metres, radians, radians).
        weights: loss weights keyed by term: contact, collision, joint_limits, posture.
    """

    grasp_type: str = "power"
    hypotheses: int = 4
    iterations: int = 120
    refine_iterations: int = 60
    max_attempts: int = 4
    standoff: float = 0.02
    pregrasp_fraction: float = 0.3
    attraction_distance: float = 0.06
    max_penetration: float = 0.001
    contact_threshold: float = 0.002
    min_contact_regions: int | None = None
    sdf_resolution: int = 64
    lr_translation: float = 0.002
    lr_rotation: float = 0.02
    lr_angles: float = 0.03
    weights: dict[str, float] = field(
        default_factory=lambda: {"contact": 10.0, "collision": 200.0, "joint_limits": 100.0, "posture": 0.5}
    )

    def __post_init__(self) -> None:
        if self.grasp_type not in GRASP_TYPES:
            raise ValueError(f"GraspSettings.grasp_type: expected one of {GRASP_TYPES}, got {self.grasp_type!r}")
        for name in ("hypotheses", "iterations", "max_attempts"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"GraspSettings.{name}: expected an integer >= 1, got {getattr(self, name)}")
        if not self.max_penetration > 0 or not self.contact_threshold > 0:
            raise ValueError(
                f"GraspSettings: max_penetration and contact_threshold must be positive metres, got "
                f"{self.max_penetration}, {self.contact_threshold}"
            )
        unknown = set(self.weights) - {"contact", "collision", "joint_limits", "posture"}
        if unknown:
            raise ValueError(
                f"GraspSettings.weights: unknown terms {sorted(unknown)}; expected contact, collision, joint_limits, posture"
            )

    @property
    def required_regions(self) -> int:
        return _MIN_REGIONS[self.grasp_type] if self.min_contact_regions is None else int(self.min_contact_regions)


@dataclass
class Grasp:
    """A verified grasp in the object frame (metres).

    Hand parameters follow `HandLayer.forward` with a full axis-angle articulation (flat hand mean: the
    articulation is the complete finger pose).

    Attributes:
        side: "right" or "left".
        grasp_type: the posture family used.
        global_orient: (3,) axis-angle of the wrist, radians, object frame.
        articulation: (45,) finger pose, axis-angle, radians.
        betas: (S,) shape coefficients.
        transl: (3,) metres.
        vertices: (V, 3) posed hand vertices, object frame.
        keypoints: (21, 3) keypoints in hoFit order, object frame.
        penetration: deepest hand vertex inside the object, metres (exact).
        object_penetration: deepest object vertex inside the closed hand mesh, metres (exact).
        contact_regions: names of the regions within ``contact_threshold`` of the surface.
        contact_distance: smallest distance of a contact-region vertex to the surface, metres.
        approach: (3,) unit direction from the object towards the palm at the start.
        attempts: optimization rounds used.
    """

    side: str
    grasp_type: str
    global_orient: np.ndarray
    articulation: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    vertices: np.ndarray
    keypoints: np.ndarray
    penetration: float
    object_penetration: float
    contact_regions: list[str]
    contact_distance: float
    approach: np.ndarray
    attempts: int


def grasp_posture(grasp_type: str) -> np.ndarray:
    """Anatomical joint angles (15, 3) in radians (flexion, abduction, twist) of a grasp type, MANO joint order."""
    if grasp_type not in _POSTURES:
        raise ValueError(f"grasp_type: expected one of {GRASP_TYPES}, got {grasp_type!r}")
    table = _POSTURES[grasp_type]
    rows = [level for finger in _FINGERS_MANO + ("thumb",) for level in table[finger]]
    return np.radians(np.asarray(rows, dtype=np.float64))


def long_axis(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (3,) and unit principal axis of largest extent (3,) of a point set (N, 3)."""
    centre = (vertices.min(0) + vertices.max(0)) / 2
    centred = vertices - vertices.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centre, vt[0] / np.linalg.norm(vt[0])


def surface_point(sdf: SDFGrid, centre: np.ndarray, direction: np.ndarray, steps: int = 64) -> np.ndarray:
    """First surface point met by a ray from far outside along ``-direction`` towards ``centre``.

    Sphere tracing on the SDF grid (object frame, metres); returns the point where |sdf| < 0.1 mm, or the
    closest approach if the ray misses (then the support point of the bounding box).
    """
    d = torch.as_tensor(direction, dtype=torch.float32)
    bounds = sdf.bounds
    reach = float((bounds[1] - bounds[0]).norm())
    point = torch.as_tensor(centre, dtype=torch.float32) + d * reach
    best, best_value = point.clone(), math.inf
    for _ in range(steps):
        value = float(sdf.query(point[None])[0])
        if abs(value) < best_value:
            best, best_value = point.clone(), abs(value)
        if abs(value) < 1e-4:
            break
        point = point - d * value
    return best.numpy().astype(np.float64)


def _orthonormal(frame: dict[str, np.ndarray]) -> np.ndarray:
    return np.stack([frame["distal"], frame["radial"], frame["palmar"]], axis=1)  # columns


def _push_out(problem: "_Problem", rotation: torch.Tensor, transl: torch.Tensor, angles: torch.Tensor, betas: torch.Tensor,
              directions: torch.Tensor, clearance: float = 0.003, steps: int = 8) -> torch.Tensor:
    """Translate each hypothesis along its approach direction until every vertex is ``clearance`` outside."""
    transl = transl.clone()
    with torch.no_grad():
        for _ in range(steps):
            out = problem.forward(rotation, transl, angles, betas)
            lowest = problem.sdf.query(out.vertices).min(dim=1).values  # (B,)
            move = (clearance - lowest).clamp(min=0.0)
            if not bool((move > 1e-4).any()):
                break
            transl = transl + directions * move[:, None]
    return transl


def _hull_depth(planes: np.ndarray, point: np.ndarray) -> float:
    """Depth of ``point`` inside the convex hull given by its facet planes (K, 4) ``n . x + d <= 0``."""
    return float(-(planes[:, :3] @ point + planes[:, 3]).max())


def _initial_pose(
    rng: np.random.Generator,
    grasp_type: str,
    sdf: SDFGrid,
    vertices: np.ndarray,
    hull_planes: np.ndarray,
    frame_model: np.ndarray,
    palm_centre_model: np.ndarray,
    root_model: np.ndarray,
    standoff: float,
    approach: np.ndarray | None,
    avoid: np.ndarray | None = None,
    max_concavity: float = 0.005,
    tries: int = 50,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global rotation (3, 3), translation (3,) and approach direction (3,) of one pre-grasp hypothesis.

    The approach direction is redrawn while the surface point it reaches lies deeper than ``max_concavity``
    inside the object's convex hull (e.g. inside a mug's opening): grasps rest on the outer surface. With
    ``avoid`` (another hand's vertices) the ray aims at the half of the object away from that hand.
    """
    centre, axis = long_axis(vertices)
    if avoid is not None:  # aim at the half of the long axis away from the other hand
        along = (vertices - centre) @ axis
        side = np.sign((avoid.mean(0) - centre) @ axis) or 1.0
        centre = centre - side * 0.3 * (along.max() - along.min()) * axis
    for _ in range(tries):
        if approach is None:
            n = rng.normal(size=3)
            if grasp_type == "power":  # palm on a side: perpendicular to the long axis, which the radial axis follows
                n = n - (n @ axis) * axis
        else:
            n = np.asarray(approach, dtype=np.float64) + rng.normal(scale=0.35, size=3)
        n /= np.linalg.norm(n)
        p = surface_point(sdf, centre, n)
        if _hull_depth(hull_planes, p) <= max_concavity:
            break
    # radial axis of the hand along the long axis projected on the tangent plane, with jitter about n
    radial = axis - (axis @ n) * n
    if np.linalg.norm(radial) < 1e-3:
        radial = np.cross(n, rng.normal(size=3))
    radial /= np.linalg.norm(radial)
    if rng.random() < 0.5:
        radial = -radial
    jitter = rng.uniform(-0.5, 0.5) if grasp_type == "power" else rng.uniform(-math.pi, math.pi)
    radial = math.cos(jitter) * radial + math.sin(jitter) * np.cross(n, radial)
    palmar = -n
    distal = np.cross(radial, palmar)
    target = np.stack([distal, radial, palmar], axis=1)
    if np.linalg.det(target) * np.linalg.det(frame_model) < 0:
        target[:, 0] = -target[:, 0]
    rotation = target @ frame_model.T
    # x = R (v - j0) + j0 + transl; put the palm centre at p + standoff * n
    transl = p + standoff * n - rotation @ (palm_centre_model - root_model) - root_model
    return rotation, transl, n


class _Problem:
    """Tensors shared by the optimization and verification of one object and hand."""

    def __init__(self, template: ObjectTemplate, sdf: SDFGrid, layer: HandLayer, grasp_type: str) -> None:
        self.layer = layer
        self.dtype = layer.v_template.dtype
        self.sdf = sdf
        self.obj_vertices = torch.as_tensor(template.vertices, dtype=self.dtype)
        self.obj_faces = torch.as_tensor(template.faces, dtype=torch.long)
        self.axes = layer.joint_axes.to(self.dtype)  # (15, 3, 3)
        self.limits = layer.joint_limits.to(self.dtype)
        regions = layer.contact_vertex_ids
        missing = [r for r in _ATTRACTED[grasp_type] if r not in regions]
        if missing:
            raise HoFitError(f"hand model '{layer.name}' lacks contact regions {missing} needed for a {grasp_type} grasp")
        self.region_names = sorted(regions)
        self.regions = {name: regions[name] for name in self.region_names}
        self.attracted = [regions[r] for r in _ATTRACTED[grasp_type]]
        self.avoid: torch.Tensor | None = None
        self.avoid_margin = 0.01
        self.eye = torch.eye(3, dtype=self.dtype)[None]
        self.zero = torch.zeros(1, 3, dtype=self.dtype)

    def articulation(self, angles: torch.Tensor) -> torch.Tensor:
        """(B, 15, 3) anatomical angles -> (B, 45) axis-angle."""
        return torch.einsum("jkc,bjk->bjc", self.axes, angles).reshape(angles.shape[0], 45)

    def forward(self, rotation: torch.Tensor, transl: torch.Tensor, angles: torch.Tensor, betas: torch.Tensor):
        return self.layer(rotation, self.articulation(angles), betas.expand(rotation.shape[0], -1), transl)

    def losses(self, out, angles, posture, weights, attraction) -> torch.Tensor:
        batch = angles.shape[0]
        eye, zero = self.eye.expand(batch, 3, 3), self.zero.expand(batch, 3)
        verts = out.vertices
        # each attracted region pulls its vertex nearest to the surface (chosen without gradient)
        with torch.no_grad():
            distance = self.sdf.query(verts)
            nearest = torch.stack([ids[distance[:, ids].argmin(dim=1)] for ids in self.attracted], dim=1)  # (B, R)
        touching = torch.gather(verts, 1, nearest[..., None].expand(-1, -1, 3))
        contact = contact_loss(touching, self.sdf.query, eye, zero, 1.0, attraction_distance=attraction)
        collision = collision_loss(verts, self.sdf.query, eye, zero, 1.0) + self._object_in_hand(verts)
        if self.avoid is not None:
            gap = torch.cdist(verts, self.avoid[None].expand(batch, -1, -1)).amin(dim=-1)  # (B, V)
            collision = collision + (torch.relu(self.avoid_margin - gap) * 100.0).pow(2).sum(dim=-1).mean()
        limits = joint_limit_loss(angles, self.limits)
        prior = (angles - posture).pow(2).sum(dim=(-1, -2)).mean()
        return (
            weights.get("contact", 10.0) * contact
            + weights.get("collision", 200.0) * collision
            + weights.get("joint_limits", 100.0) * limits
            + weights.get("posture", 0.5) * prior
        )

    def _object_in_hand(self, hand_vertices: torch.Tensor) -> torch.Tensor:
        """Cheap object-in-hand penetration, squared cm summed over object vertices, mean over hypotheses.

        An object vertex near the hand counts as inside by ``max(0, -(o - h) . n_h)`` where ``h`` is its
        nearest hand vertex and ``n_h`` that vertex's outward normal (the test of contact-aware grasp
        refinement methods); the exact winding-number check comes in the verification.
        """
        lo = hand_vertices.detach().amin(dim=(0, 1)) - 0.005
        hi = hand_vertices.detach().amax(dim=(0, 1)) + 0.005
        keep = ((self.obj_vertices >= lo) & (self.obj_vertices <= hi)).all(dim=-1)
        if not bool(keep.any()):
            return hand_vertices.new_zeros(())
        points = self.obj_vertices[keep]  # (N, 3)
        normals = vertex_normals(hand_vertices, self.layer.closed_faces)  # (B, V, 3)
        with torch.no_grad():
            nearest = torch.cdist(points[None].expand(hand_vertices.shape[0], -1, -1), hand_vertices).argmin(dim=-1)
        index = nearest[..., None].expand(-1, -1, 3)
        h = torch.gather(hand_vertices, 1, index)
        n = torch.gather(normals, 1, index)
        depth = torch.relu(-((points[None] - h) * n).sum(-1))
        return (depth * 100.0).pow(2).sum(dim=-1).mean()

    def verify(self, vertices: torch.Tensor, threshold: float) -> dict[str, np.ndarray]:
        """Exact penetration both ways and per-region contact of hands (B, V, 3), object frame."""
        report = hand_object_report(vertices, self.obj_vertices, self.obj_faces, self.sdf, self.layer.closed_faces)
        signed = report.pop("signed_distance")
        in_contact = np.stack(
            [(signed[:, ids].abs() <= threshold).any(dim=1).numpy() for ids in self.regions.values()], axis=1
        )  # (B, R)
        report["in_contact"] = in_contact
        report["contact_distance"] = signed[:, self.layer.contact_vertices].abs().min(dim=1).values.numpy()
        return report


def _possibly_inside_hand(points: torch.Tensor, hand_vertices: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
    """Indices of points (N, 3) that may lie inside the hand: near a hand vertex and not clearly in front of it."""
    lo, hi = hand_vertices.amin(0) - 0.02, hand_vertices.amax(0) + 0.02
    box = torch.nonzero(((points >= lo) & (points <= hi)).all(-1)).squeeze(1)
    if not box.numel():
        return box
    distance, nearest = torch.cdist(points[box], hand_vertices).min(dim=-1)
    front = ((points[box] - hand_vertices[nearest]) * normals[nearest]).sum(-1)
    return box[(distance < 0.02) & (front < 0.003)]


def hand_object_report(
    hand_vertices: torch.Tensor,
    obj_vertices: torch.Tensor,
    obj_faces: torch.Tensor,
    sdf: SDFGrid,
    hand_closed_faces: torch.Tensor,
) -> dict:
    """Exact penetration of hands (B, V, 3) and an object, both in the object frame (metres).

    Only points that the SDF grid places within two voxels (plus 2 mm) of the surface get the exact test
    (winding number and point-to-triangle distance, as `hoFit.eval.plausibility.penetration_depths`); the
    others keep the grid's value, which is then far from the surface. Object vertices get the exact test
    against the closed hand mesh when they lie within 2 cm of a hand vertex and less than 3 mm in front of
    that vertex's tangent plane (points farther in front cannot be inside the hand).

    Returns:
        ``penetration`` (B,) deepest hand vertex inside the object, ``object_penetration`` (B,) deepest object
        vertex inside the hand (numpy, metres), and ``signed_distance`` (B, V) torch: exact signed distance
        (negative inside) near the surface, the grid's value elsewhere.
    """
    vertices = hand_vertices.detach().to(obj_vertices.dtype)
    margin = 2.0 * sdf.voxel_size + 0.002
    with torch.no_grad():
        signed = sdf.query(vertices).clone()
        normals = vertex_normals(vertices, hand_closed_faces)
        penetration = np.zeros(vertices.shape[0])
        object_penetration = np.zeros(vertices.shape[0])
        for b in range(vertices.shape[0]):
            near = torch.nonzero(signed[b] < margin).squeeze(1)
            if near.numel():
                depth, dist = penetration_depths(vertices[b, near][None], obj_vertices, obj_faces)
                signed[b, near] = torch.where(depth[0] > 0, -depth[0], dist[0])
                penetration[b] = float(depth.max())
            candidates = _possibly_inside_hand(obj_vertices, vertices[b], normals[b])
            if candidates.numel():
                depth_obj = object_in_hand_penetration(obj_vertices[candidates][None], vertices[b][None], hand_closed_faces)
                object_penetration[b] = float(depth_obj.max())
    return {"penetration": penetration, "object_penetration": object_penetration, "signed_distance": signed}


def _optimize(problem, rot0, transl0, angles0, betas, posture, settings, iterations, attraction, weights):
    """Adam on a rotation offset (axis-angle, applied on the left), the translation and the joint angles."""
    delta = torch.zeros(rot0.shape[0], 3, dtype=problem.dtype, requires_grad=True)
    transl = transl0.clone().requires_grad_(True)
    angles = angles0.clone().requires_grad_(True)
    optimizer = torch.optim.Adam(
        [
            {"params": [delta], "lr": settings.lr_rotation},
            {"params": [transl], "lr": settings.lr_translation},
            {"params": [angles], "lr": settings.lr_angles},
        ]
    )
    for _ in range(iterations):
        optimizer.zero_grad()
        rotation = axis_angle_to_matrix(delta) @ rot0
        out = problem.forward(rotation, transl, angles, betas)
        loss = problem.losses(out, angles, posture, weights, attraction)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        rotation = axis_angle_to_matrix(delta) @ rot0
    return rotation.detach(), transl.detach(), angles.detach()


def _accepted(report: dict, b: int, settings: GraspSettings, names: list[str]) -> bool:
    regions = [n for n, c in zip(names, report["in_contact"][b]) if c]
    return (
        report["penetration"][b] <= settings.max_penetration
        and report["object_penetration"][b] <= settings.max_penetration
        and len(regions) >= settings.required_regions
        and ("thumb_pad" in regions or (settings.grasp_type == "power" and "thumb_phalanges" in regions))
    )


def _score(report: dict, b: int, settings: GraspSettings, names: list[str]) -> float:
    """Lower is better: accepted hypotheses first, then less penetration, then more regions in contact."""
    excess = max(report["penetration"][b], report["object_penetration"][b]) - settings.max_penetration
    rejected = 0.0 if _accepted(report, b, settings, names) else 1000.0
    return rejected + 1000.0 * max(excess, 0.0) - float(report["in_contact"][b].sum())


def synthesize_grasp(
    template: ObjectTemplate,
    layer: HandLayer,
    rng: np.random.Generator,
    settings: GraspSettings | None = None,
    betas: np.ndarray | None = None,
    sdf: SDFGrid | None = None,
    approach: np.ndarray | None = None,
    avoid: np.ndarray | None = None,
) -> Grasp:
    """Find a plausible grasp of ``template`` by ``layer`` (see the module docstring).

    Args:
        template: the object (object frame, metres).
        layer: a hand layer built with ``use_pca=False`` and ``flat_hand_mean=True`` (articulation =
            complete axis-angle finger pose); right or left.
        rng: numpy generator (approach directions, rolls).
        settings: `GraspSettings`.
        betas: (S,) hand shape; zeros if None.
        sdf: the object's SDF grid; computed (and cached on disk) at ``settings.sdf_resolution`` if None.
        approach: optional preferred approach direction (3,) in the object frame (the palm starts on that
            side, with some randomness), e.g. opposite to another hand's.
        avoid: optional (N, 3) vertices of another hand already holding the object (object frame): the
            pre-grasp aims at the other half of the object and the optimization keeps 1 cm away from them.

    Returns:
        A verified `Grasp`.

    Raises:
        HoFitError: no hypothesis passed verification after ``settings.max_attempts`` rounds.
    """
    from hoFit.models.objects.sdf import sdf_grid

    settings = settings or GraspSettings()
    if layer.use_pca or not layer.flat_hand_mean:
        raise ValueError("synthesize_grasp: expected a hand layer with use_pca=False and flat_hand_mean=True")
    if sdf is None:
        sdf = sdf_grid(template, resolution=settings.sdf_resolution)
    problem = _Problem(template, sdf, layer, settings.grasp_type)
    if avoid is not None:
        problem.avoid = torch.as_tensor(np.asarray(avoid), dtype=problem.dtype)
    dtype = problem.dtype
    betas_t = torch.zeros(1, layer.num_betas, dtype=dtype) if betas is None else torch.as_tensor(
        np.asarray(betas)[None], dtype=dtype
    )
    posture_np = grasp_posture(settings.grasp_type)
    posture = torch.as_tensor(posture_np, dtype=dtype)[None]
    pre_angles = torch.as_tensor(posture_np * settings.pregrasp_fraction, dtype=dtype)[None]
    with torch.no_grad():
        rest = layer(torch.zeros(1, 3, dtype=dtype), problem.articulation(pre_angles), betas_t)
        rest_flat = layer(None, torch.zeros(1, 45, dtype=dtype), betas_t)
    joints_rest = rest_flat.joints[0].double().numpy()
    frame_model = _orthonormal(anatomy.palm_frame(joints_rest, layer.side))
    palm_ids = layer.contact_vertex_ids["palm"]
    palm_centre = rest.vertices[0, palm_ids].mean(0).double().numpy()
    root = rest.joints[0, 0].double().numpy()
    vertices_np = np.asarray(template.vertices, dtype=np.float64)

    hull_planes = ConvexHull(vertices_np).equations

    best: tuple[float, dict] | None = None
    for attempt in range(1, settings.max_attempts + 1):
        poses = [
            _initial_pose(
                rng, settings.grasp_type, sdf, vertices_np, hull_planes, frame_model, palm_centre, root,
                settings.standoff, approach, None if avoid is None else np.asarray(avoid, dtype=np.float64),
            )
            for _ in range(settings.hypotheses)
        ]
        rot0 = torch.as_tensor(np.stack([p[0] for p in poses]), dtype=dtype)
        directions = np.stack([p[2] for p in poses])
        angles0 = pre_angles.expand(settings.hypotheses, -1, -1).clone()
        transl0 = _push_out(
            problem, rot0, torch.as_tensor(np.stack([p[1] for p in poses]), dtype=dtype), angles0, betas_t,
            torch.as_tensor(directions, dtype=dtype),
        )
        rot, transl, angles = _optimize(
            problem, rot0, transl0, angles0, betas_t, posture, settings, settings.iterations,
            settings.attraction_distance, settings.weights,
        )
        with torch.no_grad():
            out = problem.forward(rot, transl, angles, betas_t)
        report = problem.verify(out.vertices, settings.contact_threshold)
        b = min(range(settings.hypotheses), key=lambda i: _score(report, i, settings, problem.region_names))
        direction = directions[b]
        if not _accepted(report, b, settings, problem.region_names) and settings.refine_iterations > 0:
            # the best hypothesis goes on, pushed harder against penetration
            refine_weights = dict(settings.weights)
            refine_weights["collision"] = 5.0 * refine_weights.get("collision", 200.0)
            rot, transl, angles = _optimize(
                problem, rot[b : b + 1], transl[b : b + 1], angles[b : b + 1], betas_t, posture, settings,
                settings.refine_iterations, settings.attraction_distance, refine_weights,
            )
            with torch.no_grad():
                out = problem.forward(rot, transl, angles, betas_t)
            report = problem.verify(out.vertices, settings.contact_threshold)
            b = 0
        picked = {key: value[b] for key, value in report.items()}
        score = _score(report, b, settings, problem.region_names)
        if best is None or score < best[0]:
            best = (score, picked)
        if _accepted(report, b, settings, problem.region_names):
            regions = [name for name, c in zip(problem.region_names, picked["in_contact"]) if c]
            return Grasp(
                side=layer.side,
                grasp_type=settings.grasp_type,
                global_orient=matrix_to_axis_angle(rot[b].double()).numpy(),
                articulation=problem.articulation(angles[b : b + 1])[0].double().numpy(),
                betas=betas_t[0].double().numpy(),
                transl=transl[b].double().numpy(),
                vertices=out.vertices[b].double().numpy(),
                keypoints=out.keypoints[b].double().numpy(),
                penetration=float(picked["penetration"]),
                object_penetration=float(picked["object_penetration"]),
                contact_regions=regions,
                contact_distance=float(picked["contact_distance"]),
                approach=np.asarray(direction, dtype=np.float64),
                attempts=attempt,
            )
    rep = best[1]
    raise HoFitError(
        f"no plausible {settings.grasp_type} grasp of '{template.name}' found in {settings.max_attempts} attempts "
        f"(best: penetration {1000 * float(rep['penetration']):.2f} mm, object in hand "
        f"{1000 * float(rep['object_penetration']):.2f} mm, {int(rep['in_contact'].sum())} regions in contact); "
        "try another seed, grasp type or more iterations"
    )
