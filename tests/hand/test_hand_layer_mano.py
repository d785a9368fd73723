"""The MANO-format hand layer against smplx's MANO layer, MANO pickle reading, hole closing, gradients."""

from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import torch
import trimesh

from hoFit.errors import HoFitError
from hoFit.models.hand import HandConfig, HandLayer, create_hand_layer, hand_layer_from_config, load_hand_data
from hoFit.models.hand.data import MANO_FINGERTIP_VERTEX_IDS
from hoFit.models.hand.mesh import boundary_loops, close_holes, mesh_volume

PARENTS = [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14]


def _tube_mesh(rings: int = 37, per_ring: int = 21) -> tuple[np.ndarray, np.ndarray]:
    """778 vertices like MANO: a tapered tube closed by an apex at one end and open at the other."""
    vertices = []
    for r in range(rings):
        x = 0.005 * r
        radius = 0.02 * (1.0 - 0.5 * r / rings)
        for k in range(per_ring):
            a = 2 * np.pi * k / per_ring
            vertices.append((x, radius * np.cos(a), radius * np.sin(a)))
    vertices.append((0.005 * rings, 0.0, 0.0))
    faces = []
    for r in range(rings - 1):
        for k in range(per_ring):
            a, b = r * per_ring + k, r * per_ring + (k + 1) % per_ring
            c, d = a + per_ring, b + per_ring
            faces += [(a, b, d), (a, d, c)]
    apex = rings * per_ring
    last = (rings - 1) * per_ring
    for k in range(per_ring):
        faces.append((last + k, last + (k + 1) % per_ring, apex))
    return np.array(vertices), np.array(faces, dtype=np.int64)


def _mano_like(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    vertices, faces = _tube_mesh()
    num_v = len(vertices)
    assert num_v == 778
    regressor = rng.uniform(0, 1, size=(16, num_v)) * (rng.uniform(size=(16, num_v)) < 0.05)
    regressor /= regressor.sum(axis=1, keepdims=True)
    weights = rng.dirichlet(np.full(16, 0.3), size=num_v)
    components = np.linalg.qr(rng.normal(size=(45, 45)))[0].T
    return {
        "v_template": vertices,
        "shapedirs": rng.normal(0, 0.002, size=(num_v, 3, 10)),
        "posedirs": rng.normal(0, 0.002, size=(num_v, 3, 135)),
        "J_regressor": scipy.sparse.csc_matrix(regressor),
        "weights": weights,
        "kintree_table": np.array([[4294967295] + PARENTS[1:], list(range(16))], dtype=np.int64),
        "f": faces.astype(np.uint32),
        "hands_components": components,
        "hands_mean": rng.normal(0, 0.2, size=45),
        "hands_coeffs": rng.normal(size=(10, 45)),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


@pytest.fixture(scope="module")
def mano_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mano")
    model = _mano_like()
    for side in ("RIGHT", "LEFT"):
        with open(folder / f"MANO_{side}.pkl", "wb") as handle:
            pickle.dump(model, handle, protocol=2)
    return folder


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("use_pca,flat", [(True, False), (False, True), (True, True)])
def test_layer_equals_smplx_mano(mano_dir: Path, side: str, use_pca: bool, flat: bool) -> None:
    smplx = pytest.importorskip("smplx")
    ncomps = 12
    reference = smplx.MANO(
        str(mano_dir), is_rhand=side == "right", use_pca=use_pca, num_pca_comps=ncomps, flat_hand_mean=flat,
        dtype=torch.float64,
    )
    layer = create_hand_layer("mano", side=side, mano_dir=mano_dir, num_pca_comps=ncomps, flat_hand_mean=flat,
                              use_pca=use_pca, dtype=torch.float64)
    gen = torch.Generator().manual_seed(1)
    batch = 4
    orient = 0.8 * torch.randn(batch, 3, generator=gen, dtype=torch.float64)
    articulation = 0.7 * torch.randn(batch, ncomps if use_pca else 45, generator=gen, dtype=torch.float64)
    betas = torch.randn(batch, 10, generator=gen, dtype=torch.float64)
    transl = 0.1 * torch.randn(batch, 3, generator=gen, dtype=torch.float64)
    expected = reference(global_orient=orient, hand_pose=articulation, betas=betas, transl=transl)
    ours = layer(orient, articulation, betas, transl)
    assert torch.allclose(ours.vertices, expected.vertices, atol=1e-6)
    assert torch.allclose(ours.joints, expected.joints, atol=1e-6)
    assert torch.allclose(ours.keypoints[:, 16:], ours.vertices[:, list(MANO_FINGERTIP_VERTEX_IDS)])
    # The same rotation given as a matrix or 6D gives the same result.
    from hoFit.geometry.rotations import axis_angle_to_matrix, matrix_to_rotation_6d

    matrix = axis_angle_to_matrix(orient)
    assert torch.allclose(layer(matrix, articulation, betas, transl).vertices, ours.vertices, atol=1e-10)
    assert torch.allclose(layer(matrix_to_rotation_6d(matrix), articulation, betas, transl).vertices, ours.vertices, atol=1e-10)


def test_joint_transforms_move_rest_points(mano_dir: Path) -> None:
    layer = create_hand_layer("mano", mano_dir=mano_dir, use_pca=False, dtype=torch.float64)
    gen = torch.Generator().manual_seed(3)
    out = layer(torch.randn(2, 3, generator=gen, dtype=torch.float64), 0.5 * torch.randn(2, 45, generator=gen, dtype=torch.float64),
                transl=torch.randn(2, 3, generator=gen, dtype=torch.float64))
    rest = layer.J_regressor @ layer.v_template  # (16, 3) rest joints (zero betas)
    moved = torch.einsum("bjrc,jc->bjr", out.joint_transforms[..., :3, :3], rest) + out.joint_transforms[..., :3, 3]
    assert torch.allclose(moved, out.joints, atol=1e-10)


def test_fake_chumpy_pickle_loads(tmp_path: Path) -> None:
    model = _mano_like(seed=2)
    fake_ch = types.ModuleType("chumpy.ch")
    fake_root = types.ModuleType("chumpy")

    class Ch:  # stands for chumpy.ch.Ch: a pickled object whose state holds the array under 'x'
        def __init__(self, x):
            self.x = x
            self._dirty_vars = set()

        def __getstate__(self):
            return {"x": self.x, "_dirty_vars": self._dirty_vars}

    Ch.__module__ = "chumpy.ch"
    Ch.__qualname__ = "Ch"
    fake_ch.Ch = Ch
    fake_root.ch = fake_ch
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = fake_root, fake_ch
    try:
        chumpy_model = dict(model)
        for key in ("shapedirs", "v_template", "hands_mean", "weights"):
            chumpy_model[key] = Ch(model[key])
        data = pickle.dumps(chumpy_model, protocol=2)
    finally:
        del sys.modules["chumpy"], sys.modules["chumpy.ch"]
    assert b"chumpy" in data
    path = tmp_path / "MANO_RIGHT.pkl"
    path.write_bytes(data)
    loaded = load_hand_data(path)
    assert "chumpy" not in sys.modules
    for key in ("shapedirs", "v_template", "hands_mean", "weights"):
        np.testing.assert_array_equal(getattr(loaded, key), model[key])
    np.testing.assert_array_equal(loaded.J_regressor, model["J_regressor"].toarray())
    assert loaded.parents.tolist() == PARENTS
    assert loaded.side == "right"


def test_closed_faces_are_watertight_and_outward(mano_dir: Path) -> None:
    data = load_hand_data(mano_dir / "MANO_RIGHT.pkl")
    assert len(boundary_loops(data.f)) == 1  # the wrist-like opening
    closed = close_holes(data.v_template, data.f)
    assert len(closed) == len(data.f) + 21 - 2  # a 21-gon needs 19 triangles
    mesh = trimesh.Trimesh(data.v_template, closed, process=False)
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh_volume(data.v_template, closed) > 0
    layer = HandLayer(data)
    assert torch.equal(layer.closed_faces, torch.as_tensor(closed))


def test_gradients_finite_at_zero_pose(mano_dir: Path) -> None:
    layer = create_hand_layer("mano", mano_dir=mano_dir, use_pca=False, flat_hand_mean=True, dtype=torch.float64)
    orient = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    articulation = torch.zeros(2, 45, dtype=torch.float64, requires_grad=True)
    betas = torch.zeros(2, 10, dtype=torch.float64, requires_grad=True)
    out = layer(orient, articulation, betas)
    (out.vertices.square().sum() + out.keypoints.sum()).backward()
    for tensor in (orient, articulation, betas):
        assert torch.isfinite(tensor.grad).all()
        assert tensor.grad.abs().sum() > 0
    small = create_hand_layer("mano", mano_dir=mano_dir, num_pca_comps=3, dtype=torch.float64)
    inputs = (torch.zeros(1, 3, dtype=torch.float64, requires_grad=True),
              0.1 * torch.ones(1, 3, dtype=torch.float64).requires_grad_())
    assert torch.autograd.gradcheck(lambda o, a: small(o, a).keypoints, inputs)


def test_missing_and_malformed_mano_files_say_what_to_do(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HOFIT_MANO_DIR", raising=False)
    with pytest.raises(HoFitError, match="mano.is.tue.mpg.de"):
        create_hand_layer("mano")
    with pytest.raises(HoFitError, match="HOFIT_MANO_DIR"):
        create_hand_layer("mano", mano_dir=tmp_path)
    (tmp_path / "MANO_RIGHT.pkl").write_bytes(b"not a pickle")
    with pytest.raises(HoFitError, match="mano.is.tue.mpg.de"):
        create_hand_layer("mano", mano_dir=tmp_path)
    broken = _mano_like()
    del broken["posedirs"]
    with open(tmp_path / "MANO_RIGHT.pkl", "wb") as handle:
        pickle.dump(broken, handle)
    with pytest.raises(HoFitError, match="posedirs"):
        create_hand_layer("mano", mano_dir=tmp_path)
    with pytest.raises(HoFitError, match="openhand"):
        create_hand_layer("manox")


def test_mano_dir_from_environment_and_config(mano_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOFIT_MANO_DIR", str(mano_dir))
    layer = create_hand_layer("mano", side="left")
    assert layer.side == "left" and layer.num_vertices == 778
    layer = hand_layer_from_config(HandConfig(model="mano", num_pca_comps=6), side="right")
    assert layer.hands_components.shape == (6, 45)
    assert layer.joint_limits.shape == (15, 3, 2) and layer.joint_axes.shape == (15, 3, 3)


def test_npz_round_trip_equals_pickle(mano_dir: Path, tmp_path: Path) -> None:
    from hoFit.models.hand import save_hand_data

    data = load_hand_data(mano_dir / "MANO_RIGHT.pkl")
    path = save_hand_data(data, tmp_path / "model.npz")
    again = load_hand_data(path)
    a, b = HandLayer(data, dtype=torch.float64), HandLayer(again, dtype=torch.float64)
    pose = torch.full((1, 15), 0.3, dtype=torch.float64)
    assert torch.allclose(a(None, pose).vertices, b(None, pose).vertices, atol=1e-12)


def test_bad_inputs_raise_clear_errors(mano_dir: Path) -> None:
    layer = create_hand_layer("mano", mano_dir=mano_dir, num_pca_comps=6)
    with pytest.raises(ValueError, match="PCA"):
        layer(torch.zeros(1, 3), torch.zeros(1, 7))
    with pytest.raises(ValueError, match="global_orient"):
        layer(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="batch"):
        layer(torch.zeros(2, 3), torch.zeros(1, 6))
