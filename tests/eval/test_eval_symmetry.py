"""Template symmetries and the rotation error that ignores them, on shapes whose symmetry groups are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh
from scipy.spatial.transform import Rotation

from hoFit.eval.symmetry import symmetric_rotation_error_deg, template_symmetries

# A generic orientation, so that nothing relies on the template being aligned with its own axes.
TILT = Rotation.from_rotvec([0.3, -0.5, 0.8]).as_matrix()


def _tilted(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(mesh.vertices) @ TILT.T + np.array([0.01, -0.02, 0.03]), np.asarray(mesh.faces)


def _maps_vertices_onto_themselves(rotation: np.ndarray, vertices: np.ndarray, centre: np.ndarray) -> bool:
    moved = (vertices - centre) @ rotation.T + centre
    nearest = np.linalg.norm(moved[:, None] - vertices[None], axis=-1).min(axis=1)
    return bool(nearest.max() < 1e-6)


def _angles_deg(rotations: np.ndarray) -> np.ndarray:
    # atan2 of the sine (antisymmetric part) and cosine (trace): arccos of the trace alone loses half the
    # digits near 0 and 180 degrees (a half turn read 179.9999981 from an exact one on some BLAS builds)
    r = rotations
    antisymmetric = np.stack([r[:, 2, 1] - r[:, 1, 2], r[:, 0, 2] - r[:, 2, 0], r[:, 1, 0] - r[:, 0, 1]], axis=-1)
    sine = 0.5 * np.linalg.norm(antisymmetric, axis=-1)
    cosine = 0.5 * (np.trace(r, axis1=1, axis2=2) - 1)
    return np.degrees(np.arctan2(sine, cosine))


def test_a_box_with_three_different_sides_has_its_three_half_turns():
    vertices, faces = _tilted(trimesh.creation.box(extents=(0.04, 0.10, 0.16)))
    symmetries = template_symmetries(vertices, faces)
    assert len(symmetries) == 4
    np.testing.assert_allclose(symmetries[0], np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.sort(_angles_deg(symmetries)), [0, 180, 180, 180], atol=1e-6)
    centre = vertices.mean(axis=0)  # the box's 8 corners: their mean is its centre
    assert all(_maps_vertices_onto_themselves(s, vertices, centre) for s in symmetries)


def test_a_square_prism_has_the_eight_symmetries_of_a_square():
    vertices, faces = _tilted(trimesh.creation.box(extents=(0.05, 0.05, 0.12)))
    symmetries = template_symmetries(vertices, faces)
    assert len(symmetries) == 8  # quarter turns about its axis, and half turns about four perpendicular axes
    assert all(_maps_vertices_onto_themselves(s, vertices, vertices.mean(axis=0)) for s in symmetries)
    np.testing.assert_allclose(np.sort(_angles_deg(symmetries)), [0, 90, 90, 180, 180, 180, 180, 180], atol=1e-6)


@pytest.mark.parametrize("turn_deg", [10.0, 38.0, 60.0, 83.0])
def test_a_square_prism_turned_about_its_axis_keeps_its_eight_symmetries(turn_deg):
    # Equal second moments across the axis leave the eigen solver's in-plane axes arbitrary (they differed
    # between OpenBLAS builds); the symmetries must not depend on them.
    box = trimesh.creation.box(extents=(0.05, 0.05, 0.12))
    box.apply_transform(trimesh.transformations.rotation_matrix(np.radians(turn_deg), [0.0, 0.0, 1.0]))
    vertices, faces = _tilted(box)
    symmetries = template_symmetries(vertices, faces)
    assert len(symmetries) == 8
    assert all(_maps_vertices_onto_themselves(s, vertices, vertices.mean(axis=0)) for s in symmetries)


def test_a_cylinder_is_round_about_its_axis_and_can_be_turned_over():
    vertices, faces = _tilted(trimesh.creation.cylinder(radius=0.03, height=0.1, sections=48))
    symmetries = template_symmetries(vertices, faces)
    assert len(symmetries) == 72  # 36 turns about the axis (every 10 degrees), 36 half turns across it
    axis = TILT[:, 2]
    about_axis = [s for s in symmetries if np.allclose(s @ axis, axis, atol=1e-6)]
    assert len(about_axis) == 36


def test_a_box_with_a_handle_has_no_symmetry():
    body = trimesh.creation.box(extents=(0.06, 0.06, 0.10))
    handle = trimesh.creation.box(extents=(0.02, 0.01, 0.05))
    handle.apply_translation([0.04, 0.0, 0.0])
    vertices, faces = _tilted(trimesh.util.concatenate([body, handle]))
    symmetries = template_symmetries(vertices, faces)
    assert len(symmetries) == 2  # only the half turn that keeps the handle where it is
    assert _angles_deg(symmetries)[1] == pytest.approx(180.0, abs=1e-6)


def test_symmetric_rotation_error_is_the_angle_to_the_nearest_equivalent():
    truth = Rotation.from_rotvec([[0.2, 0.1, -0.4], [1.0, 0.0, 0.3]]).as_matrix()
    half_turn = Rotation.from_rotvec([0.0, 0.0, np.pi]).as_matrix()
    symmetries = np.stack([np.eye(3), half_turn])
    small = Rotation.from_rotvec([np.radians(3.0), 0.0, 0.0]).as_matrix()
    predicted = truth @ half_turn @ small  # the equivalent pose, 3 degrees off
    error = symmetric_rotation_error_deg(torch.as_tensor(predicted), torch.as_tensor(truth), symmetries)
    np.testing.assert_allclose(error.numpy(), [3.0, 3.0], atol=1e-6)
    plain = symmetric_rotation_error_deg(torch.as_tensor(predicted), torch.as_tensor(truth), np.eye(3)[None])
    assert (plain.numpy() > 170).all()


def test_bad_meshes_are_refused_with_their_shapes():
    with pytest.raises(ValueError, match=r"\(V, 3\) vertices"):
        template_symmetries(np.zeros((4, 2)), np.zeros((1, 3), dtype=int))
    with pytest.raises(ValueError, match="no area"):
        template_symmetries(np.zeros((3, 3)), np.array([[0, 1, 2]]))


@pytest.mark.parametrize("name, count", [("003_cracker_box", 4), ("025_mug", 1)])
def test_a_scanned_box_keeps_its_half_turns_and_a_mug_has_none(ycb_dir, name, count):
    from hoFit.models.objects import load_template

    template = load_template(next((ycb_dir / name).glob("*.obj")))
    assert len(template_symmetries(template.vertices, template.faces)) == count
