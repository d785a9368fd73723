"""Video writers: MP4 (H.264, browser settings), GIF and PNG sequences, atomic writes."""

from __future__ import annotations


import imageio.v2 as imageio_v2
import imageio.v3 as iio
import numpy as np
import pytest

from hoFit.errors import HoFitError
from hoFit.viz.video import VideoWriter, pad_to_even, write_gif, write_mp4, write_png_sequence, write_video


def _frames(count=6, height=33, width=45):
    """Frames with large flat blocks whose colour changes per frame (survives lossy coding)."""
    frames = np.zeros((count, height, width, 3), np.uint8)
    for t in range(count):
        frames[t, :, : width // 2] = (40 * t, 200, 30)
        frames[t, :, width // 2:] = (220, 20 * t, 120)
    return frames


def test_mp4_frame_count_size_codec_and_content(tmp_path):
    frames = _frames()
    path = tmp_path / "out" / "video.mp4"
    assert write_mp4(path, frames, fps=5) == 6
    reader = imageio_v2.get_reader(path)
    meta = reader.get_meta_data()
    decoded = np.stack(list(reader.iter_data()))
    reader.close()
    assert decoded.shape == (6, 34, 46, 3)  # odd 33 x 45 padded to even
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["fps"] == pytest.approx(5.0)
    # content: left block colour of each frame survives (lossy, within a few levels away from the edges)
    for t in range(6):
        assert np.abs(decoded[t, 5:28, 3:18].astype(int) - frames[t, 5, 3].astype(int)).mean() < 6
    # padding is black and at the bottom / right
    assert decoded[:, -1].mean() < 60 and decoded[:, :, -1].mean() < 60
    # no file left behind but the video
    assert sorted(p.name for p in path.parent.iterdir()) == ["video.mp4"]


def test_mp4_has_faststart_moov_before_mdat(tmp_path):
    path = tmp_path / "v.mp4"
    write_mp4(path, _frames(4, 32, 32))
    data = path.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


def test_gif_and_png_sequence_frame_counts(tmp_path):
    frames = _frames(5)
    assert write_gif(tmp_path / "a.gif", frames, fps=4) == 5
    gif = iio.imread(tmp_path / "a.gif", index=None)
    assert gif.shape == (5, 33, 45, 3)
    assert np.abs(gif[3, 10, 5].astype(int) - frames[3, 10, 5].astype(int)).max() <= 8
    assert write_png_sequence(tmp_path / "seq", frames) == 5
    names = sorted(p.name for p in (tmp_path / "seq").iterdir())
    assert names == [f"frame_{i:06d}.png" for i in range(5)]
    np.testing.assert_array_equal(iio.imread(tmp_path / "seq" / "frame_000002.png"), frames[2])
    # rewriting replaces the folder (no stale frames from the longer sequence)
    write_png_sequence(tmp_path / "seq", frames[:2])
    assert len(list((tmp_path / "seq").iterdir())) == 2


def test_write_video_picks_format_and_streams_iterables(tmp_path):
    frames = _frames(3, 16, 16)
    assert write_video(tmp_path / "x.gif", iter(frames)).name == "x.gif"
    assert write_video(tmp_path / "x", frames, fmt="png").is_dir()
    assert write_video(tmp_path / "y.mp4", (f for f in frames), fps=2).is_file()
    with pytest.raises(HoFitError, match="not supported"):
        write_video(tmp_path / "z.avi", frames)


def test_failed_write_leaves_no_file_and_keeps_old_one(tmp_path):
    path = tmp_path / "keep.mp4"
    write_mp4(path, _frames(2, 16, 16))
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with VideoWriter(path) as writer:
            writer.append(_frames(1, 16, 16)[0])
            raise RuntimeError("crash while rendering")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]


def test_bad_frames_are_rejected_with_a_message(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_mp4(tmp_path / "a.mp4", np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="same size"):
        write_gif(tmp_path / "b.gif", [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8)])
    with pytest.raises(ValueError, match="no frames"):
        write_mp4(tmp_path / "c.mp4", [])
    with pytest.raises(ValueError, match="fps"):
        write_mp4(tmp_path / "d.mp4", _frames(1), fps=0)
    assert list(tmp_path.iterdir()) == []


def test_pad_to_even():
    assert pad_to_even(np.ones((3, 5, 3), np.uint8)).shape == (4, 6, 3)
    even = np.ones((4, 6, 3), np.uint8)
    assert pad_to_even(even) is even
