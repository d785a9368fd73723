"""Loading, validation, repair and decimation of object templates."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from hoFit.errors import HoFitError
from hoFit.models.objects import ObjectTemplate, load_template, procedural_template, template_from_arrays

YCB_NAMES = ["003_cracker_box", "004_sugar_box", "006_mustard_bottle", "010_potted_meat_can",
             "021_bleach_cleanser", "025_mug"]

TETRA_V = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]], dtype=np.float64)
TETRA_F = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], dtype=np.int64)


@pytest.mark.parametrize("name", YCB_NAMES)
def test_load_ycb_meshes(ycb_dir: Path, name: str) -> None:
    path = ycb_dir / name / "textured_simple_2000.obj"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    template = load_template(path)
    reference = trimesh.load(path, force="mesh", process=False)
    assert template.name == name and template.source == str(path)
    assert template.vertices.dtype == np.float32 and template.faces.dtype == np.int64
    assert template.num_faces == len(reference.faces) == 2000 and template.num_removed_faces == 0
    assert template.is_watertight, "YCB meshes are closed once texture-seam vertices are merged"
    np.testing.assert_allclose(template.bounds, reference.bounds, atol=1e-6)  # file frame kept, metres
    assert 0.03 < template.extents.max() < 0.3
    assert abs(template.to_trimesh().volume) == pytest.approx(abs(reference.volume), rel=1e-4)
    verts, faces = template.to_torch(dtype=torch.float64)
    assert verts.shape == (template.num_vertices, 3) and verts.dtype == torch.float64 and faces.dtype == torch.long
    assert load_template(path).content_hash() == template.content_hash()


def test_scale_and_content_hash(ycb_dir: Path) -> None:
    path = ycb_dir / "025_mug" / "textured_simple_2000.obj"
    base = load_template(path)
    scaled = load_template(path, scale=2.0)
    np.testing.assert_allclose(scaled.extents, 2 * base.extents, rtol=1e-5)
    assert scaled.scale == 2.0 and scaled.content_hash() != base.content_hash()


def test_missing_file() -> None:
    with pytest.raises(HoFitError, match=r"not found: .*nothing_here\.obj"):
        load_template("/nonexistent/dir/nothing_here.obj")


def test_directory_and_unsupported_extension(tmp_path: Path) -> None:
    with pytest.raises(HoFitError, match="not a file"):
        load_template(tmp_path)
    bad = tmp_path / "mesh.xyz"
    bad.write_text("1 2 3\n")
    with pytest.raises(HoFitError, match=r"unsupported object mesh format '\.xyz'.*mesh\.xyz"):
        load_template(bad)


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".stl", ".glb"])
def test_garbage_file_names_the_file(tmp_path: Path, suffix: str) -> None:
    bad = tmp_path / f"garbage{suffix}"
    bad.write_bytes(b"\x00\xffthis is not a mesh\n\x13\x37" * 7)
    with pytest.raises(HoFitError, match=rf"garbage\{suffix}"):
        load_template(bad)


def test_empty_obj(tmp_path: Path) -> None:
    empty = tmp_path / "empty.obj"
    empty.write_text("# nothing\n")
    with pytest.raises(HoFitError, match=r"empty\.obj"):
        load_template(empty)


def test_nan_vertices_in_file(tmp_path: Path) -> None:
    path = tmp_path / "nan.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 nan 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n")
    with pytest.raises(HoFitError, match=r"nan\.obj.*1 of 4 vertices contain NaN or inf \(first at vertex 2\)"):
        load_template(path)


def test_obj_with_quads_is_triangulated(tmp_path: Path) -> None:
    path = tmp_path / "cube.obj"
    box = trimesh.creation.box(extents=(0.1, 0.2, 0.3))
    v = "".join(f"v {x} {y} {z}\n" for x, y, z in box.vertices)
    # 6 quads of the unit-cube vertex order used by trimesh.creation.box (outward, counter-clockwise)
    quads = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4)]
    path.write_text(v + "".join(f"f {a} {b} {c} {d}\n" for a, b, c, d in quads))
    template = load_template(path)
    assert template.num_faces == 12 and template.is_watertight
    assert template.to_trimesh().volume == pytest.approx(0.1 * 0.2 * 0.3, rel=1e-6)


def test_array_shape_errors() -> None:
    with pytest.raises(HoFitError, match=r"expected triangle faces of shape \(F, 3\), got \(1, 4\).*quads"):
        template_from_arrays(TETRA_V, np.array([[0, 1, 2, 3]]), name="quad")
    with pytest.raises(HoFitError, match=r"expected vertices of shape \(V, 3\), got \(4, 2\)"):
        template_from_arrays(TETRA_V[:, :2], TETRA_F, name="flat")
    with pytest.raises(HoFitError, match="integer face indices"):
        template_from_arrays(TETRA_V, TETRA_F.astype(np.float32), name="float faces")
    with pytest.raises(HoFitError, match=r"indices range over \[0, 7\] but there are 4 vertices"):
        template_from_arrays(TETRA_V, TETRA_F + np.array([0, 0, 4]), name="range")
    with pytest.raises(HoFitError, match=r"'empty'.*empty \(0 vertices, 0 faces\)"):
        template_from_arrays(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), name="empty")
    with pytest.raises(HoFitError, match="inf"):
        template_from_arrays(np.vstack([TETRA_V[:3], [np.inf, 0, 0]]), TETRA_F, name="inf")
    with pytest.raises(HoFitError, match="scale must be a finite number > 0"):
        template_from_arrays(TETRA_V, TETRA_F, name="tetra", scale=-1.0)
    with pytest.raises(HoFitError, match="max_faces must be None or an integer >= 4"):
        template_from_arrays(TETRA_V, TETRA_F, name="tetra", max_faces=2)


def test_degenerate_and_duplicate_faces_are_counted() -> None:
    v = np.vstack([TETRA_V, [[0.05, 0, 0]]])  # vertex 4 lies on edge 0-1
    faces = np.vstack([TETRA_F, [[0, 0, 2], [0, 4, 1], [1, 2, 3]]])  # repeated index, collinear, duplicate
    with pytest.warns(UserWarning, match="removed 3 degenerate or duplicate faces of 7"):
        template = template_from_arrays(v, faces, name="tetra")
    assert template.num_removed_faces == 3 and template.num_faces == 4 and template.num_vertices == 4
    assert template.is_watertight


def test_all_faces_degenerate() -> None:
    with pytest.raises(HoFitError, match="all 1 faces are degenerate"):
        template_from_arrays(TETRA_V, np.array([[0, 1, 1]]), name="line")


def test_texture_seam_vertices_are_merged() -> None:
    v = np.vstack([TETRA_V, TETRA_V[3:]])  # vertex 4 duplicates vertex 3
    faces = TETRA_F.copy()
    faces[1, 2] = 4
    template = template_from_arrays(v, faces, name="seam")
    assert template.num_vertices == 4 and template.is_watertight and template.num_removed_faces == 0


def test_hole_is_filled_and_normals_fixed() -> None:
    box = trimesh.creation.box(extents=(0.1, 0.1, 0.1))
    faces = box.faces[2:].copy()
    faces[0] = faces[0][::-1]  # inconsistent winding too
    with pytest.warns(UserWarning, match="filled its holes"):
        template = template_from_arrays(box.vertices, faces, name="open box")
    mesh = template.to_trimesh()
    assert template.is_watertight and mesh.is_winding_consistent
    assert mesh.volume == pytest.approx(1e-3, rel=1e-6)


def test_unfillable_mesh_is_marked_not_watertight() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.05)
    keep = sphere.triangles_center[:, 2] < 0.035  # cut a large cap off the top
    with pytest.warns(UserWarning, match="not watertight"):
        template = template_from_arrays(sphere.vertices, sphere.faces[keep], name="open sphere")
    assert not template.is_watertight


def test_decimation_hits_target(ycb_dir: Path) -> None:
    path = ycb_dir / "006_mustard_bottle" / "textured_simple_2000.obj"
    template = load_template(path, max_faces=500)
    assert 450 <= template.num_faces <= 500 and template.is_watertight
    full = load_template(path)
    np.testing.assert_allclose(template.extents, full.extents, atol=0.004)  # shape kept within 4 mm
    assert abs(template.to_trimesh().volume) == pytest.approx(abs(full.to_trimesh().volume), rel=0.03)
    # The thin-walled mug folds when decimated: the faces that leaves degenerate are removed and counted.
    with pytest.warns(UserWarning, match="decimation to 500 faces left"):
        mug = load_template(ycb_dir / "025_mug" / "textured_simple_2000.obj", max_faces=500)
    assert 450 <= mug.num_faces <= 500 and mug.num_removed_faces > 0
    ball = procedural_template("ball")
    small = template_from_arrays(ball.vertices, ball.faces, name="ball", max_faces=300)
    assert 270 <= small.num_faces <= 300 and small.is_watertight


def test_decimated_copy_keeps_the_frame_and_caps_the_faces() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.05)  # 1280 faces
    template = template_from_arrays(sphere.vertices + [0.1, 0.0, 0.4], sphere.faces, name="ball")
    coarse = template.decimated(300)
    assert 270 <= coarse.num_faces <= 300 and coarse.name == "ball" and coarse.scale == template.scale
    # same frame and units: the coarse vertices stay on the 5 cm sphere about (0.1, 0, 0.4), within 2 mm
    radii = np.linalg.norm(coarse.vertices - np.array([0.1, 0.0, 0.4], dtype=np.float32), axis=1)
    assert np.abs(radii - 0.05).max() < 0.002
    np.testing.assert_allclose(coarse.bounds, template.bounds, atol=0.004)
    assert template.decimated(1280) is template and template.num_faces == 1280  # nothing to remove, untouched
    with pytest.raises(HoFitError, match="max_faces must be an integer >= 4"):
        template.decimated(3)


def test_centered_and_dataclass_checks() -> None:
    shifted = template_from_arrays(TETRA_V + 1.0, TETRA_F, name="tetra")
    centered = shifted.centered("bbox")
    np.testing.assert_allclose(centered.bounds.mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(shifted.centered("centroid").center("centroid"), 0.0, atol=1e-6)
    tetra_centroid = TETRA_V.mean(0)  # volume centroid of a tetrahedron = mean of its 4 vertices
    np.testing.assert_allclose(shifted.center("centroid"), tetra_centroid + 1.0, atol=1e-6)
    with pytest.raises(HoFitError, match="unknown centre mode"):
        shifted.center("middle")
    with pytest.raises(ValueError, match=r"expected integer faces \(F, 3\)"):
        ObjectTemplate(TETRA_V, np.zeros((2, 4), dtype=np.int64), name="bad")


def test_large_mesh_warns_about_units() -> None:
    with pytest.warns(UserWarning, match="scale=0.001 for millimetres"):
        template_from_arrays(TETRA_V * 1000, TETRA_F, name="mm")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        template_from_arrays(TETRA_V * 1000, TETRA_F, name="mm", scale=0.001)
