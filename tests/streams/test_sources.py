"""Frame sources: files, folders, globs, lists, videos, and a real MJPEG server with cuts and reconnects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lesps_deploy.data import read_image
from lesps_deploy.errors import SourceError
from lesps_deploy.sources.sources import source_kind
from lesps_deploy.streams import CaptureSource, ReconnectPolicy, open_source

# Bounded by attempts, not by time, so a loaded machine makes the same number of attempts. The time
# bound is far away: it only ends a test that would otherwise hang.
FAST_RECONNECT = ReconnectPolicy(timeout_s=60.0, initial_delay_s=0.02, max_delay_s=0.05, max_attempts=3)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8), "RGB").save(tmp_path / "a_rgb.png")
    Image.fromarray(rng.integers(0, 60000, (30, 20), dtype=np.uint16)).save(tmp_path / "b_16bit.png")
    (tmp_path / "c_broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_folder_reads_like_evaluator_and_skips_broken(image_folder: Path) -> None:
    src = open_source(image_folder)
    frames = list(src)
    assert [f.name for f in frames] == ["a_rgb", "b_16bit"]
    np.testing.assert_array_equal(frames[0].image, read_image(image_folder / "a_rgb.png"))
    assert frames[1].image.max() > 255  # 16-bit range kept
    assert src.stats.skipped == 1 and "c_broken.png" in src.stats.errors[0]


def test_glob_list_and_single_image(image_folder: Path) -> None:
    assert [f.name for f in open_source(str(image_folder / "a_*.png"))] == ["a_rgb"]
    listing = image_folder / "list.txt"
    listing.write_text("b_16bit.png\n# comment\n\n" + str(image_folder / "a_rgb.png") + "\n")
    assert [f.name for f in open_source(listing)] == ["b_16bit", "a_rgb"]
    assert [f.index for f in open_source(image_folder / "a_rgb.png")] == [0]


def test_video_file_count_fps_and_stride(small_video: Path) -> None:
    src = open_source(small_video)
    assert (src.frame_count, src.fps, src.live) == (12, 10.0, False)
    frames = list(src)
    assert len(frames) == 12 and frames[0].image.shape == (64, 80, 3)
    assert [f.index for f in open_source(small_video, stride=5)] == [0, 5, 10]


@pytest.mark.parametrize(
    ("spec", "kind"),
    [("0", "camera"), ("rtsp://cam/stream", "rtsp"), ("http://x/a.mjpg", "http"), ("x/*.png", "glob")],
)
def test_source_kinds(spec: str, kind: str) -> None:
    assert source_kind(spec).name == kind


def test_missing_source_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="file not found") as err:
        open_source(tmp_path / "nope.mp4")
    assert "camera index" in err.value.hint


@pytest.mark.parametrize("content_length", [True, False])
def test_mjpeg_cut_reconnect_then_give_up(content_length: bool, mjpeg_server, jpeg_frames) -> None:
    """Two connections cut mid-part: one reconnect, then failing attempts until the bounded timeout."""
    server = mjpeg_server(jpeg_frames, plan=[5, 4], fps=200, content_length=content_length)
    src = open_source(server.url, reconnect=FAST_RECONNECT)
    frames = list(src)  # ends: the policy gives up after 3 failed attempts in a row
    st = src.stats
    assert src.live
    assert len(frames) == 7 and st.skipped == 2  # frame 3 of each connection is corrupt
    assert [f.index for f in frames] == [0, 1, 2, 4, 5, 6, 7]  # indices run on across reconnects
    assert (st.disconnects, st.reconnects, st.gave_up) == (2, 1, True)
    assert st.reconnect_attempts == 1 + 3 and server.refused == 3  # one success, then 3 refused attempts


def test_mjpeg_first_connection_failure_is_an_error(mjpeg_server, jpeg_frames) -> None:
    server = mjpeg_server(jpeg_frames, plan=[])
    with pytest.raises(SourceError, match="cannot connect"):
        list(open_source(server.url, reconnect=FAST_RECONNECT))


def test_opencv_capture_reconnects(mjpeg_server, jpeg_frames) -> None:
    """The camera/RTSP code path (cv2.VideoCapture + FFmpeg), fed by the local HTTP stream."""
    clean = [f for i, f in enumerate(jpeg_frames) if i != 3]
    server = mjpeg_server(clean, plan=[8, 6], fps=50)
    src = CaptureSource(server.url, reconnect=FAST_RECONNECT, open_timeout_s=2.0, read_timeout_s=2.0)
    frames = list(src)
    assert 2 <= len(frames) <= 14  # FFmpeg's stream probing may swallow a few first frames
    assert frames[-1].index == len(frames) - 1
    assert (src.stats.disconnects, src.stats.reconnects, src.stats.gave_up) == (2, 1, True)
    assert src.stats.reconnect_attempts == 1 + 3  # one success, then 3 failed attempts
