"""Clip cutting and interpolation of per-frame predictions between fitted frames."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hoFit.data.datasets.common import clip_windows, interpolate_positions, interpolate_rotations
from hoFit.errors import HoFitError


def test_clip_windows_cover_the_sequence_on_the_step_grid():
    windows = clip_windows(100, 10, 4)
    assert windows[0] == list(range(0, 40, 4)) and windows[1] == list(range(40, 80, 4))
    assert windows[-1][-1] == 99 and windows[-1] == list(range(63, 100, 4))
    assert len(windows) == 3 and set(range(0, 80, 4)) <= {i for w in windows for i in w}
    assert clip_windows(39, 10, 4) == [list(range(0, 37, 4)), list(range(2, 39, 4))]
    assert clip_windows(37, 10, 4) == [list(range(0, 37, 4))]  # exactly one clip
    assert clip_windows(5, 10, 4) == [[0, 4]]  # shorter than a clip
    assert clip_windows(9, -1, 2) == [[0, 2, 4, 6, 8]]
    assert clip_windows(10, 3, 1, spacing=2) == [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6, 7, 8], [7, 8, 9]]
    with pytest.raises(HoFitError, match="step must be >= 1"):
        clip_windows(10, 3, 0)


def test_interpolate_positions_linear_and_clamped():
    known = [2, 6, 10]
    values = np.array([[0.0, 0.0], [4.0, 8.0], [4.0, 0.0]])
    out = interpolate_positions(known, values, [0, 2, 3, 6, 8, 12])
    np.testing.assert_allclose(out, [[0, 0], [0, 0], [1, 2], [4, 8], [4, 4], [4, 0]])
    with pytest.raises(ValueError, match="strictly increasing"):
        interpolate_positions([3, 3], values[:2], [1])


def test_interpolate_rotations_is_slerp():
    axis = np.array([0.0, 0.0, 1.0])
    r0 = Rotation.from_rotvec(0.2 * axis).as_matrix()
    r1 = Rotation.from_rotvec(1.2 * axis).as_matrix()
    out = interpolate_rotations([0, 4], np.stack([r0, r1]), [0, 1, 2, 4, 7])
    angles = Rotation.from_matrix(out).as_rotvec()[:, 2]
    np.testing.assert_allclose(angles, [0.2, 0.45, 0.7, 1.2, 1.2], atol=1e-9)
    # a general pair: the midpoint is equally far (geodesically) from both ends
    a, b = Rotation.from_rotvec([0.3, -1.0, 0.4]), Rotation.from_rotvec([-0.5, 0.2, 1.1])
    mid = Rotation.from_matrix(interpolate_rotations([0, 2], np.stack([a.as_matrix(), b.as_matrix()]), [1])[0])
    assert np.isclose((a.inv() * mid).magnitude(), (mid.inv() * b).magnitude())
    assert np.isclose((a.inv() * mid).magnitude() * 2, (a.inv() * b).magnitude())


def test_dataset_templates_are_known_procedural_categories():
    from hoFit.data.datasets.core50 import CORE50_TEMPLATES
    from hoFit.data.datasets.epic import EPIC_TEMPLATES
    from hoFit.models.objects import PROCEDURAL_CATEGORIES, procedural_template

    names = [n for n in CORE50_TEMPLATES.values() if n is not None] + list(EPIC_TEMPLATES.values())
    assert set(names) <= set(PROCEDURAL_CATEGORIES)
    mug = procedural_template("mug")
    assert 0.05 < float(mug.extents.max()) < 0.2  # metric size, metres
