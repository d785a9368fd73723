"""Camera-view overlay, rotated views, side-by-side composition, progress recorder."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from viz_factories import HEIGHT, INTRINSICS, WIDTH, make_frames, make_result

from hoFit.geometry.cameras import CameraIntrinsics, project_points
from hoFit.render import RenderSettings, render_shaded
from hoFit.viz.progress import ProgressRecorder
from hoFit.viz.views import (
    ViewSettings,
    compose_side_by_side,
    display_intrinsics,
    iter_views,
    orbit_yaws,
    render_overlay,
    render_rotated,
    scene_meshes,
    to_uint8,
    turn_vertices,
)


def _footprint(result, t: int) -> np.ndarray:
    """Reference coverage mask (H, W) bool: the convex hull of each convex mesh's projected vertices."""
    K = CameraIntrinsics(**INTRINSICS).matrix(torch.float64)
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    parts = [h.vertices[t] for h in result.hands] + [result.object.vertices[t]]
    for verts in parts:
        uv = project_points(torch.as_tensor(verts, dtype=torch.float64), K).numpy()
        hull = cv2.convexHull((uv * 16).round().astype(np.int32))  # 4 fractional bits
        cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


def test_overlay_changes_pixels_where_the_mesh_projects_and_nowhere_else():
    result = make_result()
    frames = make_frames()
    settings = ViewSettings(alpha=0.75, max_panel_size=WIDTH)
    overlay = render_overlay(result, [0, 1, 2], frames, settings)
    assert overlay.shape == frames.shape and overlay.dtype == np.uint8
    kernel = np.ones((5, 5), np.uint8)
    for t in range(3):
        mask = _footprint(result, t).astype(np.uint8)
        inside = cv2.erode(mask, kernel).astype(bool)
        outside = ~cv2.dilate(mask, kernel).astype(bool)
        assert inside.sum() > 100 and outside.sum() > 1500
        diff = np.abs(overlay[t].astype(int) - frames[t].astype(int)).max(-1)
        np.testing.assert_array_equal(overlay[t][outside], frames[t][outside])  # untouched, bit for bit
        assert (diff[inside] > 10).all()
        # the input shows through (alpha < 1): the overlay is not the opaque render
        opaque = render_overlay(result, [t], frames[t:t + 1], ViewSettings(alpha=1.0, max_panel_size=WIDTH))[0]
        expected = 0.75 * opaque[inside].astype(float) + 0.25 * frames[t][inside].astype(float)
        assert np.abs(overlay[t][inside].astype(float) - expected).max() <= 2.0


def test_rotated_view_at_zero_degrees_equals_the_camera_view_render():
    result = make_result()
    settings = ViewSettings(alpha=1.0, no_frame_background=(1.0, 1.0, 1.0), background=(1.0, 1.0, 1.0))
    camera = render_overlay(result, [0, 2], None, settings)
    rotated = render_rotated(result, [0, 2], 0.0, settings)
    np.testing.assert_array_equal(rotated, camera)
    # and both equal the renderer's own output for the same meshes and intrinsics
    meshes, colors = scene_meshes(result, [0, 2], settings)
    K = CameraIntrinsics(**INTRINSICS).matrix()
    direct = to_uint8(render_shaded(meshes, colors, K, (HEIGHT, WIDTH), settings=RenderSettings()))
    np.testing.assert_array_equal(rotated, direct)
    # a full turn gives the same picture again (up to rounding); a half turn does not
    full = render_rotated(result, [0, 2], 360.0, settings)
    assert np.abs(full.astype(int) - camera.astype(int)).mean() < 0.5
    half = render_rotated(result, [0, 2], 180.0, settings)
    assert np.abs(half.astype(int) - camera.astype(int)).mean() > 2


def test_turn_vertices_closed_form():
    centre = np.array([0.1, -0.05, 0.5])
    d = 0.2
    verts = torch.tensor([[[0.1, -0.05, 0.5 + d], [0.1 + d, -0.05, 0.5], [0.1, 0.3, 0.5]]], dtype=torch.float64)
    verts = verts.expand(3, -1, -1)
    out = turn_vertices(verts, [90.0, 0.0, 180.0], centre)
    # +90 degrees about +y maps +z to +x and +x to -z; y is unchanged
    np.testing.assert_allclose(out[0].numpy(), [[0.1 + d, -0.05, 0.5], [0.1, -0.05, 0.5 - d], [0.1, 0.3, 0.5]],
                               atol=1e-12)
    assert torch.equal(out[1], verts[1])
    np.testing.assert_allclose(out[2].numpy(), [[0.1, -0.05, 0.5 - d], [0.1 - d, -0.05, 0.5], [0.1, 0.3, 0.5]],
                               atol=1e-12)
    with pytest.raises(ValueError, match="yaws"):
        turn_vertices(verts, [1.0, 2.0], centre)


def test_display_intrinsics_scale_with_pixel_corner_convention():
    big = CameraIntrinsics(500.0, 500.0, 479.5, 359.5, 960, 720)
    small = display_intrinsics(big, 480)
    assert (small.width, small.height) == (480, 360)
    point = torch.tensor([[0.1, -0.07, 0.8]], dtype=torch.float64)
    uv_big = project_points(point, big.matrix(torch.float64))
    uv_small = project_points(point, small.matrix(torch.float64))
    np.testing.assert_allclose(uv_small.numpy(), ((uv_big + 0.5) / 2 - 0.5).numpy(), atol=1e-9)
    assert display_intrinsics(big, 2000) is big


def test_compose_side_by_side_labels_only_their_corner():
    a = np.full((2, 40, 50, 3), 100, np.uint8)
    b = np.full((2, 40, 30, 3), 30, np.uint8)
    out = compose_side_by_side([a, b], ["input", ""])
    assert out.shape == (2, 40, 80, 3)
    assert (a == 100).all()  # inputs untouched
    assert (out[:, 20:, :50] == 100).all() and (out[:, :, 50:] == 30).all()  # label only at the top of panel 0
    assert (out[:, :20, :50] != 100).any()
    with pytest.raises(ValueError, match="height"):
        compose_side_by_side([a, np.zeros((2, 41, 5, 3), np.uint8)])


def test_iter_views_panels_and_orbit():
    result = make_result(num_frames=3)
    frames = make_frames(3)
    outs = list(iter_views(result, frames, settings=ViewSettings(yaws=(90.0, 180.0, 270.0))))
    assert len(outs) == 3
    assert set(outs[0]) == {"input", "overlay", "rotated", "summary"}
    assert outs[0]["rotated"].shape == (HEIGHT, 3 * WIDTH, 3)
    assert outs[0]["summary"].shape == (HEIGHT, 5 * WIDTH, 3)
    # the overlay panel of the summary is the overlay (between the label and the frame stamp)
    np.testing.assert_array_equal(outs[1]["summary"][20:28, WIDTH:2 * WIDTH], outs[1]["overlay"][20:28])
    # without frames: no input panel; orbit: one rotated panel sweeping 0..90 degrees
    settings = ViewSettings(orbit=90.0, labels=False)
    outs = list(iter_views(result, None, ("rotated",), settings))
    assert set(outs[0]) == {"rotated", "summary"} and outs[0]["summary"].shape == (HEIGHT, WIDTH, 3)
    np.testing.assert_array_equal(outs[0]["rotated"], render_rotated(result, [0], 0.0, settings)[0])
    np.testing.assert_array_equal(outs[2]["rotated"], render_rotated(result, [2], 90.0, settings)[0])
    np.testing.assert_allclose(orbit_yaws(5, 360.0), [0, 90, 180, 270, 360])
    with pytest.raises(ValueError, match="views"):
        list(iter_views(result, None, ("side",)))
    with pytest.raises(ValueError, match="input frames"):
        list(iter_views(result, frames[:2]))


def test_progress_recorder_renders_every_n_iterations(tmp_path):
    import imageio.v2 as imageio_v2

    result = make_result()
    frames = make_frames()
    settings = ViewSettings(labels=False)
    recorder = ProgressRecorder(5, INTRINSICS, [h.faces for h in result.hands], result.object.faces,
                                frame=frames[1], frame_index=1, settings=settings)
    hands = [torch.tensor(h.vertices, requires_grad=True) for h in result.hands]
    obj = torch.as_tensor(result.object.vertices)
    recorded = [recorder(stage, it, hands, obj) for stage in ("object", "joint") for it in range(12)]
    assert sum(recorded) == 6 and recorder.labels[:3] == [("object", 0), ("object", 5), ("object", 10)]
    np.testing.assert_array_equal(recorder.frames[0], render_overlay(result, [1], frames[1:2], settings)[0])
    path = recorder.write(tmp_path / "progress.mp4", fps=4)
    reader = imageio_v2.get_reader(path)
    assert sum(1 for _ in reader.iter_data()) == 6
    reader.close()
    assert ProgressRecorder(3, INTRINSICS, [], result.object.faces).write(tmp_path / "none.mp4") is None
