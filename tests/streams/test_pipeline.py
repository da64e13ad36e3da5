"""Pipeline, sinks and drawing with a tiny real PyTorch model: ordering, no drops on files, drops on live
sources, bad frames skipped, Ctrl-C leaving complete files."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from lesps_deploy.streams import (
    Frame,
    FrameSource,
    JsonlSink,
    MaskSink,
    OverlaySink,
    PipelineOptions,
    ReconnectPolicy,
    VideoSink,
    open_source,
    run_pipeline,
)
from lesps_deploy.streams.viz import draw_result, to_display


class ArraySource(FrameSource):
    """Frames from memory (a real FrameSource, for feeding odd frames); `exhausted` is set after the last."""

    def __init__(self, images: list[np.ndarray], live: bool = False) -> None:
        super().__init__("arrays")
        self.images, self.live = images, live
        self.exhausted = threading.Event()

    def _frames(self) -> Iterator[Frame]:
        for i, img in enumerate(self.images):
            yield Frame(img, i, time.time(), f"f{i:03d}")
        self.exhausted.set()


class SlowSink:
    """Records what it receives; with `hold`, its first write waits until that event is set (a stalled disk).

    The wait is bounded so a broken pipeline fails the test's assertions instead of hanging it.
    """

    needs_overlay = False

    def __init__(self, hold: threading.Event | None = None) -> None:
        self.hold, self.indices = hold, []

    def write(self, frame, result, overlay) -> None:
        if self.hold is not None and not self.indices:
            self.hold.wait(timeout=60)
        self.indices.append(frame.index)

    def close(self) -> None:
        pass


class MaskCollector:
    needs_overlay = False

    def __init__(self) -> None:
        self.items = []

    def write(self, frame, result, overlay) -> None:
        self.items.append((frame.index, result.mask))

    def close(self) -> None:
        pass


def _count_video_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def test_video_to_all_sinks(tiny_detector, small_video: Path, tmp_path: Path) -> None:
    sinks = [MaskSink(tmp_path / "masks"), OverlaySink(tmp_path / "ov"), VideoSink(tmp_path / "a.mp4", 10.0)]
    sinks.append(JsonlSink(tmp_path / "d.jsonl"))
    stats = run_pipeline(
        tiny_detector, open_source(small_video), sinks, PipelineOptions(batch=3, queue_size=2)
    )
    assert (stats.frames, stats.dropped, stats.skipped, stats.interrupted) == (12, 0, 0, False)
    assert _count_video_frames(tmp_path / "a.mp4") == 12
    assert cv2.VideoCapture(str(tmp_path / "a.mp4")).get(cv2.CAP_PROP_FPS) == 10.0
    lines = [json.loads(x) for x in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert [x["frame"] for x in lines] == list(range(12))
    assert sum(x["num_targets"] for x in lines) > 0
    assert len(list((tmp_path / "masks").glob("*.png"))) == 12 == len(list((tmp_path / "ov").glob("*.png")))
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind
    pct = stats.percentiles()
    assert set(pct) >= {"preprocess", "inference", "postprocess", "latency"} and pct["inference"]["p50"] > 0


def test_batching_does_not_change_results(tiny_detector, small_frames) -> None:
    one = list(tiny_detector.stream(ArraySource(small_frames), batch=1))
    five = list(tiny_detector.stream(ArraySource(small_frames), batch=5))
    assert [r.frame_index for r in five] == list(range(len(small_frames)))
    for a, b in zip(one, five, strict=True):
        np.testing.assert_array_equal(a.mask, b.mask)


def test_workers_keep_source_order(tiny_detector, small_frames) -> None:
    ref = [r.mask for r in tiny_detector.stream(ArraySource(small_frames * 3))]
    sink = MaskCollector()
    stats = run_pipeline(
        tiny_detector, ArraySource(small_frames * 3), [sink], PipelineOptions(workers=3, batch=2)
    )
    assert stats.frames == 36 and [i for i, _ in sink.items] == list(range(36))
    for (_, mask), expected in zip(sink.items, ref, strict=True):
        np.testing.assert_array_equal(mask, expected)


def test_file_sources_never_drop_live_sources_do(tiny_detector, small_frames) -> None:
    """A file source blocks on its full queue, so it never drops. A live one keeps reading: with the sink
    stalled until the source has read its last frame, only what the bounded queues hold survives."""
    files = SlowSink()
    stats = run_pipeline(tiny_detector, ArraySource(small_frames * 2), [files], PipelineOptions(queue_size=4))
    assert stats.dropped == 0 and files.indices == list(range(24))
    live_src = ArraySource(small_frames * 2, live=True)
    live = SlowSink(hold=live_src.exhausted)
    stats = run_pipeline(tiny_detector, live_src, [live], PipelineOptions(queue_size=4))
    # Held at once: one frame in the stalled sink, 4 in the write queue, one in inference, one queued.
    assert stats.frames <= 7 and stats.frames + stats.dropped == 24
    assert live.indices == sorted(live.indices)  # dropping keeps order


def test_bad_frame_is_skipped_rest_go_on(tiny_detector, small_frames) -> None:
    images = [small_frames[0], np.zeros((10, 10, 2), np.uint8), small_frames[1]]
    sink = SlowSink()
    stats = run_pipeline(tiny_detector, ArraySource(images), [sink], PipelineOptions(batch=3))
    assert sink.indices == [0, 2] and stats.skipped == 1 and "f001" in stats.errors[0]


def test_max_frames_and_stride(tiny_detector, small_video: Path) -> None:
    sink = SlowSink()
    stats = run_pipeline(
        tiny_detector, open_source(small_video, stride=2), [sink], PipelineOptions(max_frames=4)
    )
    assert sink.indices == [0, 2, 4, 6]
    assert (stats.decoded, stats.dropped) == (4, 0)  # frames read ahead past the limit do not count


def test_ctrl_c_finishes_files(tiny_detector, small_frames, tmp_path: Path) -> None:
    """KeyboardInterrupt in the inference thread: the video plays, the JSONL has whole lines."""
    video, jsonl = VideoSink(tmp_path / "v.avi", 10.0), JsonlSink(tmp_path / "d.jsonl")

    def interrupt(status) -> None:
        if status.frames >= 3:
            raise KeyboardInterrupt

    opts = PipelineOptions(status_interval_s=0.0)
    stats = run_pipeline(tiny_detector, ArraySource(small_frames * 4), [video, jsonl], opts, status=interrupt)
    assert stats.interrupted and 3 <= stats.frames < 48
    assert stats.frames + stats.dropped + stats.rejected == stats.decoded
    assert stats.dropped == stats.in_flight_dropped > 0  # the batch in the interrupted worker's hands
    assert _count_video_frames(tmp_path / "v.avi") == stats.frames
    lines = (tmp_path / "d.jsonl").read_text().splitlines()
    assert len(lines) == stats.frames and all(json.loads(x)["frame"] >= 0 for x in lines)


def test_snapshots_see_live_stats(tiny_detector, small_frames) -> None:
    seen: list[tuple[int, int]] = []
    release = threading.Event()

    def snapshot(stats) -> None:
        seen.append((stats.frames, stats.decoded))
        release.set()

    opts = PipelineOptions(snapshot_interval_s=0.01)
    stats = run_pipeline(
        tiny_detector, ArraySource(small_frames), [SlowSink(release)], opts, snapshot=snapshot
    )
    assert seen and all(frames <= decoded for frames, decoded in seen)
    assert stats.frames == stats.decoded == len(small_frames)


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_video_segments_close_as_they_fill(suffix: str, tiny_detector, small_frames, tmp_path: Path) -> None:
    """25 frames at 10 fps in 1 s segments: 10 + 10 + 5 frames, each file complete; MP4 via a rename."""
    sink = VideoSink(tmp_path / f"v{suffix}", fps=10.0, segment_seconds=1.0)
    opened: list[list[str]] = []

    class Watch(SlowSink):
        def write(self, frame, result, overlay) -> None:
            opened.append(sorted(p.name for p in tmp_path.iterdir()))

    run_pipeline(tiny_detector, ArraySource((small_frames * 3)[:25]), [sink, Watch()])
    names = [f"v_{i:03d}{suffix}" for i in range(3)]
    assert sink.files == [tmp_path / n for n in names]
    assert [_count_video_frames(tmp_path / n) for n in names] == [10, 10, 5]
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # no temporary file left
    if suffix == ".mp4":  # while frame 15 was written, segment 1 was still a temporary file
        assert "v_001.mp4" not in opened[14] and any(n.startswith(".v_001.mp4.") for n in opened[14])


def test_jsonl_is_written_in_place_line_by_line(tiny_detector, small_frames, tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    sink = JsonlSink(path)
    lines_seen: list[int] = []

    class Watch(SlowSink):
        def write(self, frame, result, overlay) -> None:
            lines_seen.append(len(path.read_bytes().splitlines()))

    run_pipeline(tiny_detector, ArraySource(small_frames), [sink, Watch()])
    assert lines_seen == list(range(1, len(small_frames) + 1))  # on disk as soon as written


def test_live_mjpeg_through_pipeline(tiny_detector, mjpeg_server, jpeg_frames) -> None:
    server = mjpeg_server(jpeg_frames, plan=[6, 6], fps=100)
    src = open_source(
        server.url, reconnect=ReconnectPolicy(timeout_s=60.0, initial_delay_s=0.02, max_attempts=2)
    )
    sink = SlowSink()
    stats = run_pipeline(tiny_detector, src, [sink])
    assert src.stats.reconnects == 1 and src.stats.gave_up
    assert stats.frames + stats.dropped == 10 and stats.skipped == 2


def test_to_display_and_draw(tiny_detector, small_frames) -> None:
    thermal = (np.arange(64 * 80).reshape(64, 80) * 10).astype(np.uint16)
    disp = to_display(thermal)
    assert disp.shape == (64, 80, 3) and disp.dtype == np.uint8 and disp.max() == 255
    res = tiny_detector.predict([small_frames[0]])[0]
    out = draw_result(small_frames[0], res, text="stats")
    assert out.shape == small_frames[0].shape and not np.array_equal(out, small_frames[0])


def test_video_sink_unsupported_container(tmp_path: Path) -> None:
    from lesps_deploy.errors import ConfigError

    with pytest.raises(ConfigError):
        VideoSink(tmp_path / "x.gif")
