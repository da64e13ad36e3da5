"""Threaded decode -> infer -> write pipeline with bounded queues.

Three stages overlap: a decode thread reads the source, the calling thread runs the detector (so
Ctrl-C lands there), a writer thread draws overlays and feeds the sinks. Queues are bounded so memory
stays flat. For live sources the decode queue keeps only the newest frames: when inference falls
behind, the oldest waiting frame is dropped (counted) so latency stays bounded. File sources block
instead and never drop. Decoding (OpenCV/FFmpeg), inference (ONNX Runtime / PyTorch) and encoding
release the GIL, which is what makes the overlap pay off on a CPU.

Stopping: Ctrl-C (SIGINT), and SIGTERM or SIGHUP (what `kill`, systemd, Docker and a closed SSH
session send) all end a run the same way: reading stops, what is queued is written, every file is
closed. Only SIGKILL, which no process can catch, leaves files unfinished (see `streams.sinks`).

Every frame the source delivered is accounted for: written, skipped (the detector refused it), or
dropped (stale on a live source, or still in flight when Ctrl-C stopped the run), so
`decoded == frames + rejected + dropped` after any run. A snapshot callback, if given, sees the live
stats every few seconds from its own thread (predict writes `summary.json` with it).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lesps_deploy.errors import LespsError
from lesps_deploy.runtime.detector import Detector
from lesps_deploy.runtime.results import Result, ResultStep
from lesps_deploy.sources.base import Frame, FrameSource
from lesps_deploy.streams.signals import Stopped, finish_despite_ctrl_c, signals_as_ctrl_c
from lesps_deploy.streams.sinks import Sink
from lesps_deploy.streams.stats import KEEP_SAMPLES, STAGES, PipelineStats, PipelineStatus
from lesps_deploy.streams.viz import draw_result
from lesps_deploy.timing import Stopwatch

__all__ = ["PipelineOptions", "PipelineStatus", "PipelineStats", "STAGES", "Stopped", "run_pipeline"]

log = logging.getLogger(__name__)

_END = object()  # sentinel closing a queue


@dataclass(frozen=True)
class PipelineOptions:
    """How the pipeline runs.

    Attributes:
        batch: most frames per detector call (live sources take what is waiting, up to this).
        drop_frames: drop stale frames when inference falls behind; None: only for live sources.
        queue_size: bound of the decode and write queues (live sources with dropping use `batch`).
        max_frames: stop after this many processed frames (None: until the source ends).
        status_interval_s: how often the status callback is called.
        snapshot_interval_s: how often the snapshot callback is called (from its own thread).
        draw_stats: write frame index, target count and latency on overlays and video frames.
        workers: inference threads sharing the detector (ONNX Runtime and PyTorch run concurrently
            and release the GIL); on a CPU, several single-threaded workers often beat one worker
            with several intra-op threads. Results are still written in source order.
    """

    batch: int = 1
    drop_frames: bool | None = None
    queue_size: int = 8
    max_frames: int | None = None
    status_interval_s: float = 0.5
    snapshot_interval_s: float = 2.0
    draw_stats: bool = False
    workers: int = 1


class _Run:
    """State shared by the stages of one run (decode thread, inference workers, writer thread)."""

    def __init__(
        self,
        detector: Detector,
        source: FrameSource,
        sinks: Sequence[Sink],
        opts: PipelineOptions,
        track: ResultStep | None = None,
    ):
        self.detector, self.source, self.sinks, self.opts, self.track = detector, source, sinks, opts, track
        self.drop = source.live if opts.drop_frames is None else opts.drop_frames
        size = max(1, opts.batch) if self.drop else max(opts.queue_size, opts.batch)
        self.in_q: queue.Queue = queue.Queue(maxsize=size)
        self.out_q: queue.Queue = queue.Queue(maxsize=max(2, opts.queue_size))
        self.stats = PipelineStats()
        if track is not None:
            self.stats.times["track"] = deque(maxlen=KEEP_SAMPLES)
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        self.sinks_open = list(sinks)  # closed (and removed) one by one at shutdown
        self.accounted = False
        self.needs_overlay = any(getattr(s, "needs_overlay", False) for s in sinks)
        self._take_lock = threading.Lock()
        self._taken = 0
        self._seq = 0

    # ---------------------------------------------------------------- decode thread
    def decode(self) -> None:
        try:
            for frame in self.source:
                self.stats.decoded += 1  # counted even if the stop below discards it: it is then dropped
                if self.stop.is_set():
                    break
                self._put_frame(frame)
        except BaseException as err:  # surfaced in the calling thread after a clean shutdown
            self.failure = err
        finally:
            self._put_end(self.in_q)

    def _put_frame(self, frame: Frame) -> None:
        if not self.drop:
            while not self.stop.is_set():
                try:
                    self.in_q.put(frame, timeout=0.1)
                    return
                except queue.Full:
                    continue
            return
        while True:
            try:
                self.in_q.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self.in_q.get_nowait()  # the oldest waiting frame is stale: drop it
                    self.stats.dropped += 1
                except queue.Empty:
                    pass

    def _put_end(self, q: queue.Queue) -> None:
        while True:
            try:
                q.put(_END, timeout=0.1)
                return
            except queue.Full:
                if self.stop.is_set():
                    with contextlib.suppress(queue.Empty):
                        q.get_nowait()  # shutting down: make room for the sentinel

    # ---------------------------------------------------------------- writer thread
    def write(self) -> None:
        """Write batches in source order; workers may finish them out of order."""
        pending: dict[int, list[tuple[Frame, Result]]] = {}
        next_seq = 0
        try:
            while True:
                item = self.out_q.get()
                if item is _END:
                    break
                seq, pairs = item
                pending[seq] = pairs
                while next_seq in pending:
                    for pair in pending.pop(next_seq):
                        self._write_one(*pair)
                    next_seq += 1
            for seq in sorted(pending):  # a batch lost to Ctrl-C leaves a gap: write what exists
                for pair in pending[seq]:
                    self._write_one(*pair)
        except BaseException as err:
            self.failure = self.failure or err
            self.stop.set()
            self.source.stop()

    def _write_one(self, frame: Frame, result: Result) -> None:
        times = self.stats.times
        if self.track is not None:  # here, in the writer, frames arrive in source order
            with Stopwatch() as sw:
                result = self.track.update(result, frame.image)
            times["track"].append(sw.ms)
        with Stopwatch() as sw:
            overlay = None
            if self.needs_overlay:
                text = None
                if self.opts.draw_stats:
                    text = f"#{frame.index} {len(result.targets)} tgt {result.timings.total:.1f} ms"
                overlay = draw_result(frame.image, result, text=text)
            for sink in self.sinks:
                sink.write(frame, result, overlay)
        times["write"].append(sw.ms)
        times["latency"].append((time.time() - frame.timestamp) * 1e3)
        for stage in ("preprocess", "inference", "postprocess"):
            times[stage].append(getattr(result.timings, stage))
        times["total"].append(result.timings.total)
        self.stats.frames += 1

    # ---------------------------------------------------------------- inference workers
    def take(self) -> tuple[int, list[Frame]] | None:
        """The next batch and its sequence number; None at the end (or at `max_frames`)."""
        with self._take_lock:  # one worker at a time takes frames, so sequence = source order
            limit = self.opts.max_frames
            if self.stop.is_set() or (limit is not None and self._taken >= limit):
                return None
            frames = self._next_batch()
            if frames is None:
                return None
            if limit is not None:
                frames = frames[: limit - self._taken]
            self._taken += len(frames)
            self._seq += 1
            return self._seq - 1, frames

    def _next_batch(self) -> list[Frame] | None:
        """Up to `batch` frames; live sources never wait for a batch to fill."""
        first = self._get()
        if first is _END:
            self._put_back_end()
            return None
        frames = [first]
        while len(frames) < self.opts.batch:
            try:
                item = self.in_q.get_nowait() if self.drop else self._get()
            except queue.Empty:
                break
            if item is _END:
                self._put_back_end()
                break
            frames.append(item)
        return frames

    def _put_back_end(self) -> None:
        # Every worker must see the end. The queue has room: the end is the last item ever put.
        with contextlib.suppress(queue.Full):
            self.in_q.put_nowait(_END)

    def _get(self) -> object:
        while True:  # wake up now and then: a stop must not wait on a stalled source
            try:
                return self.in_q.get(timeout=0.1)
            except queue.Empty:
                if self.stop.is_set():
                    return _END

    def infer(self, frames: list[Frame]) -> list[tuple[Frame, Result]]:
        """Results for a batch; a frame the detector rejects is reported and skipped, the rest go on."""
        infos = [(f.index, f.timestamp, f.name) for f in frames]
        try:
            return list(zip(frames, self.detector.predict([f.image for f in frames], infos), strict=True))
        except LespsError as err:
            if len(frames) == 1:
                self.stats.rejected += 1
                self.stats.errors.append(f"{frames[0].name}: {err}")
                log.warning("skipped %s: %s", frames[0].name, err)
                return []
        return [pair for frame in frames for pair in self.infer([frame])]  # isolate the bad frame(s)

    def work(self, status: Callable[[PipelineStatus], None] | None = None) -> None:
        """One inference worker: take a batch, infer, hand it to the writer, until the end."""
        meter = _StatusMeter(self, status)
        while (item := self.take()) is not None:
            seq, frames = item
            self._put_out((seq, self.infer(frames) if frames else []))
            meter.tick()

    def work_in_thread(self) -> None:
        try:
            self.work()
        except BaseException as err:
            self.failure = self.failure or err
            self.stop.set()
            self.source.stop()

    def _put_out(self, item: object) -> None:
        while True:
            try:
                self.out_q.put(item, timeout=0.1)
                return
            except queue.Full:
                if self.failure is not None:  # the writer is gone: nobody will read it
                    return


class _StatusMeter:
    """Calls the status callback every `status_interval_s` with the FPS since the last call."""

    def __init__(self, run: _Run, status: Callable[[PipelineStatus], None] | None) -> None:
        self.run, self.status = run, status
        self.start = self.last_t = time.perf_counter()
        self.last_n = 0

    def tick(self) -> None:
        now = time.perf_counter()
        if self.status is None or now - self.last_t < self.run.opts.status_interval_s:
            return
        stats = self.run.stats
        recent = list(stats.times["total"])[-32:]
        fps = (stats.frames - self.last_n) / max(now - self.last_t, 1e-9)
        skipped = stats.rejected + self.run.source.stats.skipped
        latency = float(np.mean(recent)) if recent else 0.0
        self.status(PipelineStatus(stats.frames, stats.dropped, skipped, fps, latency, now - self.start))
        self.last_t, self.last_n = now, stats.frames


def run_pipeline(
    detector: Detector,
    source: FrameSource,
    sinks: Sequence[Sink] = (),
    options: PipelineOptions | None = None,
    status: Callable[[PipelineStatus], None] | None = None,
    track: ResultStep | None = None,
    snapshot: Callable[[PipelineStats], None] | None = None,
) -> PipelineStats:
    """Run `source` through `detector` into `sinks` with decode, inference and writing overlapped.

    `track`, when given, gets every result in source order, with its frame, before drawing and the
    sinks, and returns the result they get (e.g. a `lesps_deploy.tracking.Tracker` adding track IDs);
    its time per frame is the "track" stage.

    Ctrl-C (KeyboardInterrupt) stops reading, lets the writer finish what is queued, closes the sinks
    (a playable video, a complete JSONL) and returns the stats with `interrupted=True`; the frames it
    caught in flight are counted as dropped.

    Args:
        snapshot: called with the live stats every `snapshot_interval_s` from a thread of its own (so
            it runs even while the source stalls); it must only read them.

    Raises:
        Whatever the source or a sink raised (after the sinks were closed).
    """
    run = _Run(detector, source, sinks, options or PipelineOptions(), track)
    threads = [
        threading.Thread(target=run.decode, name="lesps-decode", daemon=True),
        threading.Thread(target=run.write, name="lesps-write", daemon=True),
    ]
    threads += [
        threading.Thread(target=run.work_in_thread, name=f"lesps-infer-{i}", daemon=True)
        for i in range(1, max(1, run.opts.workers))
    ]
    snapper = _Snapshots(run, snapshot) if snapshot is not None else None
    if snapper is not None:
        snapper.take()  # the first one at once: the caller then holds the run's live stats
    start = run.stats.started = time.perf_counter()
    for t in threads:
        t.start()
    if snapper is not None:
        snapper.start()
    # The handlers stay while the files are closed: a second SIGTERM then is noted, not obeyed.
    with signals_as_ctrl_c():
        try:
            run.work(status)  # worker 0 runs here, where Ctrl-C lands
        except KeyboardInterrupt as err:
            run.stats.interrupted = True
            run.stats.stopped_by = err.signal_name if isinstance(err, Stopped) else "SIGINT"
            log.warning("interrupted (%s): finishing the files being written", run.stats.stopped_by)
        except BaseException as err:
            run.failure = run.failure or err
            raise
        finally:
            finish_despite_ctrl_c(lambda: _shutdown(run, threads, start, snapper))
    if run.failure is not None and not isinstance(run.failure, KeyboardInterrupt):
        raise run.failure
    return run.stats


class _Snapshots(threading.Thread):
    """Calls `snapshot(stats)` every `snapshot_interval_s` until the run stops."""

    def __init__(self, run: _Run, snapshot: Callable[[PipelineStats], None]) -> None:
        super().__init__(name="lesps-snapshot", daemon=True)
        self.pipeline, self.snapshot = run, snapshot
        self.done = threading.Event()

    def run(self) -> None:  # noqa: D102 - threading.Thread API
        while not self.done.wait(self.pipeline.opts.snapshot_interval_s):
            self.take()

    def take(self) -> None:
        """One snapshot; a failure is logged, not raised."""
        try:
            self.snapshot(self.pipeline.stats)
        except Exception as err:  # a full disk must not stop detection; the next try may work
            log.warning("snapshot failed: %s", err)


def _shutdown(run: _Run, threads: list[threading.Thread], start: float, snapper: _Snapshots | None) -> None:
    """Stop reading, let workers and writer finish what they hold, close every sink (even after errors).

    Idempotent, so a second Ctrl-C that interrupts it can simply run it again.
    """
    run.stop.set()
    run.source.stop()
    if snapper is not None:
        snapper.done.set()
    for worker in threads[2:]:
        worker.join()
    writer = threads[1]
    while writer.is_alive():  # the writer drains what is queued, then sees the sentinel
        try:
            run.out_q.put(_END, timeout=0.1)
            break
        except queue.Full:
            continue
    writer.join()
    threads[0].join(timeout=5.0)  # a blocked network read ends at its own timeout; don't wait for it
    if snapper is not None:
        snapper.join()
    while run.sinks_open:  # a sink leaves the list once closed: a Ctrl-C mid-close closes it again
        sink = run.sinks_open[0]
        try:
            sink.close()
        except Exception as err:  # one broken sink must not stop the others from finishing
            run.failure = run.failure or err
            log.error("closing %s failed: %s", type(sink).__name__, err)
        run.sinks_open.pop(0)
    if not run.accounted:
        run.accounted = True
        _account(run)
        run.stats.wall_s = time.perf_counter() - start


def _account(run: _Run) -> None:
    """Settle the counts: every decoded frame is written, skipped or dropped (see `PipelineStats`)."""
    stats = run.stats
    unwritten = stats.decoded - stats.frames - stats.rejected - stats.dropped
    if stats.interrupted or run.failure is not None:
        # Frames in the queues, the batch Ctrl-C interrupted, the frame the decoder was handing over.
        stats.in_flight_dropped = unwritten
        stats.dropped += unwritten
        if unwritten:
            log.warning("%d decoded frame(s) in flight when the run stopped: counted as dropped", unwritten)
    else:
        stats.decoded -= unwritten  # read ahead past --max-frames: never wanted, so never decoded
    stats.skipped = stats.rejected + run.source.stats.skipped
