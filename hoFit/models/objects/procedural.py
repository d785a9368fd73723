"""Procedural object templates with realistic metric sizes (for Core50 / Epic-Kitchens categories).

Every template is a closed (watertight) triangle mesh in metres, centred at its bounding-box centre.
Frames: objects of revolution (ball, can, mug, bottle, glass, marker, light bulb, plate, jug) have their
axis along z (opening / top towards +z) and handles on +x; flat objects (mobile phone, remote control,
scissors) lie in the xy-plane with their length along y and their thickness along z.

Mugs, jugs and scissors are unions of overlapping closed parts (body + handle): every part is closed, so
the mesh is watertight and its winding number is >= 1 inside; unsigned distances inside the overlap use
the buried part surfaces too (slightly smaller |SDF| there, exact outside).

Sizes are keyword arguments of each builder (metres) and can be overridden:
``procedural_template("mug", diameter=0.09)``. Defaults (diameter x height or width x length x
thickness): ball 7 cm; can 6.6 x 12.2 cm; mug 8 x 9.5 cm (+ handle); bottle 7 x 22 cm; glass 7 x 12 cm;
mobile phone 7.1 x 14.7 x 0.8 cm; remote control 4.5 x 17 x 2 cm; marker 1.5 x 13 cm; light bulb 6 cm
bulb, 11 cm tall; scissors 17 cm long; plate 26 x 2 cm; jug 12 x 20 cm (+ handle).
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable

import numpy as np
import trimesh

from hoFit.errors import HoFitError

from .template import ObjectTemplate, template_from_arrays

__all__ = ["PROCEDURAL_CATEGORIES", "CATEGORY_SYNONYMS", "resolve_category", "procedural_template"]

Mesh = tuple[np.ndarray, np.ndarray]  # (V, 3) float64 vertices, (F, 3) int64 faces


# ----------------------------------------------------------------------------------------------- parts
def _revolve(profile: list[tuple[float, float]] | np.ndarray, sections: int) -> Mesh:
    """Surface of revolution about z of an (r, z) polyline that starts and ends on the axis (r = 0).

    The polyline must not touch the axis in between; the result is closed and oriented outward.
    """
    prof = np.asarray(profile, dtype=np.float64)
    if prof[0, 0] != 0 or prof[-1, 0] != 0 or (prof[1:-1, 0] <= 0).any():
        raise ValueError("revolve profile must start and end on the axis and stay off it in between")
    ring = prof[1:-1]
    m = len(ring)
    theta = np.arange(sections) * (2 * math.pi / sections)
    rings = np.stack([
        np.outer(ring[:, 0], np.cos(theta)), np.outer(ring[:, 0], np.sin(theta)), np.repeat(ring[:, 1:], sections, 1)
    ], -1).reshape(-1, 3)
    bottom, top = m * sections, m * sections + 1
    vertices = np.concatenate([rings, [[0, 0, prof[0, 1]], [0, 0, prof[-1, 1]]]])
    s = np.arange(sections)
    s1 = (s + 1) % sections
    faces = [np.stack([np.full(sections, bottom), s1, s], 1)]
    for i in range(m - 1):
        a, b = i * sections + s, i * sections + s1
        c, d = (i + 1) * sections + s, (i + 1) * sections + s1
        faces += [np.stack([a, b, d], 1), np.stack([a, d, c], 1)]
    last = (m - 1) * sections
    faces.append(np.stack([np.full(sections, top), last + s, last + s1], 1))
    return _outward(vertices, np.concatenate(faces).astype(np.int64))


def _tube(path: np.ndarray, radius: float, sides: int, closed: bool = False) -> Mesh:
    """A tube of circular cross-section along a planar polyline (N, 3); capped at both ends unless closed."""
    path = np.asarray(path, dtype=np.float64)
    n = len(path)
    tangents = np.gradient(path, axis=0) if not closed else np.roll(path, -1, 0) - np.roll(path, 1, 0)
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
    plane_normal = np.cross(path[1] - path[0], path[2] - path[1])
    plane_normal /= np.linalg.norm(plane_normal)
    side = np.cross(tangents, plane_normal)
    phi = np.arange(sides) * (2 * math.pi / sides)
    circle = np.cos(phi)[None, :, None] * side[:, None] + np.sin(phi)[None, :, None] * plane_normal[None, None]
    vertices = (path[:, None] + radius * circle).reshape(-1, 3)
    k = np.arange(sides)
    k1 = (k + 1) % sides
    faces = []
    for i in range(n if closed else n - 1):
        j = (i + 1) % n
        faces += [np.stack([i * sides + k, i * sides + k1, j * sides + k1], 1),
                  np.stack([i * sides + k, j * sides + k1, j * sides + k], 1)]
    if not closed:
        start, end = len(vertices), len(vertices) + 1
        vertices = np.concatenate([vertices, path[:1], path[-1:]])
        faces += [np.stack([np.full(sides, start), k1, k], 1),
                  np.stack([np.full(sides, end), (n - 1) * sides + k, (n - 1) * sides + k1], 1)]
    return _outward(vertices, np.concatenate(faces).astype(np.int64))


def _hull(points: np.ndarray) -> Mesh:
    hull = trimesh.convex.convex_hull(np.asarray(points, dtype=np.float64))
    return np.asarray(hull.vertices), np.asarray(hull.faces, dtype=np.int64)


def _rounded_box(width: float, length: float, thickness: float, corner: float, edge: float, n: int = 9) -> Mesh:
    """Convex box (x width, y length, z thickness) with in-plane corner radius and edge radius."""
    edge = min(edge, thickness / 2, corner)
    pts = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            cx, cy = sx * (width / 2 - corner), sy * (length / 2 - corner)
            theta = np.linspace(0, math.pi / 2, n)
            for phi in np.linspace(-math.pi / 2, math.pi / 2, n):
                r = corner - edge + edge * math.cos(phi)
                z = math.copysign(thickness / 2 - edge, phi) + edge * math.sin(phi)
                pts.append(np.stack([cx + sx * r * np.cos(theta), cy + sy * r * np.sin(theta), np.full(n, z)], 1))
    return _hull(np.concatenate(pts))


def _prism(polygon: list[tuple[float, float]], z0: float, z1: float) -> Mesh:
    poly = np.asarray(polygon, dtype=np.float64)
    return _hull(np.concatenate([np.c_[poly, np.full(len(poly), z0)], np.c_[poly, np.full(len(poly), z1)]]))


def _outward(vertices: np.ndarray, faces: np.ndarray) -> Mesh:
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    return (vertices, faces[:, ::-1].copy()) if mesh.volume < 0 else (vertices, faces)


def _union(*parts: Mesh) -> Mesh:
    vertices, faces, offset = [], [], 0
    for v, f in parts:
        vertices.append(v)
        faces.append(f + offset)
        offset += len(v)
    return np.concatenate(vertices), np.concatenate(faces)


def _arc(center: tuple[float, float], half_height: float, reach: float, degrees: float = 90.0, n: int = 24) -> np.ndarray:
    """Half-ellipse handle path in the xz-plane from bottom to top, bulging towards +x."""
    t = np.radians(np.linspace(-degrees, degrees, n))
    return np.stack([center[0] + reach * np.cos(t), np.zeros(n), center[1] + half_height * np.sin(t)], 1)


def _fillet(r: float, z: float, radius: float, start_deg: float, end_deg: float, n: int = 5) -> list[tuple[float, float]]:
    t = np.radians(np.linspace(start_deg, end_deg, n))
    return [(r + radius * math.cos(a), z + radius * math.sin(a)) for a in t]


def _hollow_cup(radius_bottom: float, radius_top: float, height: float, wall: float, bottom: float,
                sections: int) -> Mesh:
    """Open-top container (closed surface: outer wall, rim, inner wall, inner floor)."""
    f = min(0.006, radius_bottom / 4)
    prof = [(0.0, 0.0)] + _fillet(radius_bottom - f, f, f, -90, 0)
    prof += [(radius_top, height), (radius_top - wall, height)]
    prof += [(radius_bottom - wall, bottom), (0.0, bottom)]
    return _revolve(prof, sections)


# -------------------------------------------------------------------------------------------- builders
def _ball(diameter: float = 0.07) -> Mesh:
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=diameter / 2)
    return np.asarray(sphere.vertices), np.asarray(sphere.faces, dtype=np.int64)


def _can(diameter: float = 0.066, height: float = 0.122) -> Mesh:
    r, e = diameter / 2, min(0.004, diameter / 8)
    prof = [(0.0, 0.0)] + _fillet(r - e, e, e, -90, 0) + _fillet(r - e, height - e, e, 0, 90) + [(0.0, height)]
    return _revolve(prof, 64)


def _mug(diameter: float = 0.08, height: float = 0.095, wall: float = 0.004, handle_reach: float = 0.03,
         handle_thickness: float = 0.011) -> Mesh:
    r = diameter / 2
    body = _hollow_cup(r, r, height, wall, 0.008, 64)
    path = _arc((r - wall / 2, height / 2), height * 0.32, handle_reach + wall / 2)
    return _union(body, _tube(path, handle_thickness / 2, 12))


def _jug(diameter: float = 0.12, height: float = 0.20, wall: float = 0.004, handle_reach: float = 0.045,
         handle_thickness: float = 0.016) -> Mesh:
    r = diameter / 2
    body = _hollow_cup(r, r, height, wall, 0.01, 72)
    path = _arc((r - wall / 2, height * 0.55), height * 0.3, handle_reach + wall / 2)
    return _union(body, _tube(path, handle_thickness / 2, 12))


def _glass(diameter: float = 0.07, height: float = 0.12, bottom_diameter: float = 0.06, wall: float = 0.003) -> Mesh:
    return _hollow_cup(bottom_diameter / 2, diameter / 2, height, wall, 0.012, 64)


def _bottle(diameter: float = 0.07, height: float = 0.22, neck_diameter: float = 0.026) -> Mesh:
    r, rn = diameter / 2, neck_diameter / 2
    shoulder = 0.62 * height
    prof = [(0.0, 0.0)] + _fillet(r - 0.006, 0.006, 0.006, -90, 0)
    # shoulder: quarter-ellipse from the body radius to the neck radius
    for a in np.radians(np.linspace(0, 90, 8)):
        prof.append((rn + (r - rn) * math.cos(a), shoulder + 0.2 * height * math.sin(a)))
    cap_r = rn + 0.002
    prof += [(rn, 0.92 * height), (cap_r, 0.92 * height), (cap_r, height - 0.002), (cap_r - 0.002, height), (0.0, height)]
    return _revolve(prof, 64)


def _marker(diameter: float = 0.015, length: float = 0.13) -> Mesh:
    r = diameter / 2
    prof = [(0.0, 0.0)] + _fillet(r - 0.002, 0.002, 0.002, -90, 0)
    prof += [(r, 0.88 * length), (0.45 * r, 0.96 * length), (0.2 * r, length), (0.0, length)]
    return _revolve(prof, 32)


def _light_bulb(diameter: float = 0.06, height: float = 0.11, base_diameter: float = 0.027) -> Mesh:
    rb, rs = base_diameter / 2, diameter / 2
    center = height - rs
    base_top = 0.25 * height
    prof = [(0.0, 0.0), (0.4 * rb, 0.0), (0.5 * rb, 0.03 * height), (rb, 0.04 * height), (rb, base_top)]
    start = math.asin(max(-1.0, min(1.0, -0.8)))
    for a in np.linspace(start, math.pi / 2, 16)[:-1]:
        prof.append((rs * math.cos(a), center + rs * math.sin(a)))
    prof.append((0.0, height))
    return _revolve(prof, 48)


def _plate(diameter: float = 0.26, height: float = 0.02) -> Mesh:
    r = diameter / 2
    prof = [(0.0, 0.15 * height), (0.46 * r, 0.15 * height), (0.48 * r, 0.0), (0.54 * r, 0.0),
            (0.555 * r, 0.2 * height), (r, 0.85 * height), (r, height), (0.96 * r, height),
            (0.54 * r, 0.38 * height), (0.0, 0.38 * height)]
    return _revolve(prof, 96)


def _mobile_phone(width: float = 0.071, length: float = 0.147, thickness: float = 0.008) -> Mesh:
    return _rounded_box(width, length, thickness, corner=0.009, edge=0.003)


def _remote_control(width: float = 0.045, length: float = 0.17, thickness: float = 0.02) -> Mesh:
    return _rounded_box(width, length, thickness, corner=0.012, edge=0.007)


def _scissors(length: float = 0.17, ring_diameter: float = 0.034, thickness: float = 0.008) -> Mesh:
    """Two crossed blades on top of each other, two finger rings and the shanks joining them (flat, in xy)."""
    ring_r = ring_diameter / 2
    tube_r = thickness / 2
    y_ring = -length / 2 + ring_r + tube_r  # ring centres (y); blades reach y = +length/2
    x_ring = ring_r + 0.004
    y_pivot = y_ring + ring_r + 0.02
    blade_t = thickness * 0.35
    parts = []
    for side in (-1, 1):
        tip = (side * 0.004, length / 2)
        parts.append(_prism([(-side * 0.006, y_pivot - 0.008), (side * 0.007, y_pivot - 0.004),
                             (tip[0] + side * 0.0015, tip[1] - 0.006), tip], side * blade_t, 0.0))
        parts.append(_prism([(0.001 * side, y_pivot - 0.004), (0.004 * side, y_pivot),
                             (side * (x_ring - 0.002), y_ring + ring_r + 0.002),
                             (side * (x_ring - 0.008), y_ring + ring_r - 0.002)], side * blade_t, -side * blade_t))
        t = np.linspace(0, 2 * math.pi, 32, endpoint=False)
        loop = np.stack([side * x_ring + ring_r * np.cos(t), y_ring + ring_r * np.sin(t), np.zeros_like(t)], 1)
        parts.append(_tube(loop, tube_r, 12, closed=True))
    return _union(*parts)


_BUILDERS: dict[str, Callable[..., Mesh]] = {
    "ball": _ball, "can": _can, "mug": _mug, "bottle": _bottle, "glass": _glass, "mobile_phone": _mobile_phone,
    "remote_control": _remote_control, "marker": _marker, "light_bulb": _light_bulb, "scissors": _scissors,
    "plate": _plate, "jug": _jug,
}

PROCEDURAL_CATEGORIES: tuple[str, ...] = tuple(_BUILDERS)

CATEGORY_SYNONYMS: dict[str, str] = {
    "sports_ball": "ball", "tennis_ball": "ball", "tin": "can", "soda_can": "can", "cup": "mug",
    "coffee_mug": "mug", "tea_cup": "mug", "water_bottle": "bottle", "drinking_glass": "glass",
    "tumbler": "glass", "wine_glass": "glass", "phone": "mobile_phone", "mobile": "mobile_phone",
    "cellphone": "mobile_phone", "cell_phone": "mobile_phone", "smartphone": "mobile_phone",
    "remote": "remote_control", "tv_remote": "remote_control", "pen": "marker", "felt_pen": "marker",
    "bulb": "light_bulb", "lightbulb": "light_bulb", "lamp": "light_bulb", "scissor": "scissors",
    "dish": "plate", "saucer": "plate", "pitcher": "jug", "carafe": "jug",
}


def resolve_category(name: str) -> str:
    """Canonical category for a dataset label: case, spaces, hyphens, trailing instance numbers
    ("cup3", Core50) and Epic-Kitchens sub-nouns ("bottle:oil") are ignored; synonyms map to canonical names.

    Raises:
        HoFitError: unknown category (the message lists the valid names).
    """
    if not isinstance(name, str):
        raise HoFitError(f"object category must be a string, got {type(name).__name__}")
    key = name.strip().lower().split(":")[0]
    key = re.sub(r"[\s\-]+", "_", key)
    key = re.sub(r"_?\d+$", "", key)
    key = CATEGORY_SYNONYMS.get(key, key)
    if key not in _BUILDERS:
        raise HoFitError(
            f"unknown object category {name!r}; expected one of {', '.join(PROCEDURAL_CATEGORIES)} "
            f"(or a synonym: {', '.join(sorted(CATEGORY_SYNONYMS))})"
        )
    return key


def procedural_template(category: str, scale: float = 1.0, **sizes: float) -> ObjectTemplate:
    """A watertight template of a category, centred at its bounding-box centre, in metres.

    Args:
        category: a canonical name in `PROCEDURAL_CATEGORIES` or a synonym (see `resolve_category`).
        scale: uniform factor applied after building (1.0 keeps the realistic default size).
        **sizes: builder-specific sizes in metres (e.g. ``diameter``, ``height``, ``width``, ``length``).

    Raises:
        HoFitError: unknown category or size name, or a non-positive size.
    """
    key = resolve_category(category)
    builder = _BUILDERS[key]
    params = inspect.signature(builder).parameters
    for size_name, value in sizes.items():
        if size_name not in params:
            raise HoFitError(
                f"unknown size {size_name!r} for procedural {key!r}; expected some of {', '.join(params)} (metres)"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise HoFitError(f"size {size_name}={value!r} for procedural {key!r} must be a positive number of metres")
    vertices, faces = builder(**sizes)
    vertices = vertices - (vertices.min(0) + vertices.max(0)) / 2
    return template_from_arrays(vertices, faces, name=key, scale=scale, source=f"procedural:{key}")
