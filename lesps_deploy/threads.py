"""CPU threads of every library we run on (PyTorch, ONNX Runtime, OpenCV), set in one place.

The default is `OMP_NUM_THREADS` when the user set it, else the cores this process may actually use:
its CPU affinity, capped by its cgroup CPU quota (a container limited to 2 CPUs on a 64-core host gets
2, not 64). Thread *counts* are not enough on a busy machine: a spinning worker waiting at a barrier
burns the core its straggling sibling needs. Measured on 2 cores (already loaded by other jobs) with
one more core kept busy by a spinning process, ACM: ONNX Runtime with 2 intra-op threads took 27.6 ms
per 288x288 frame when its workers spin and 13.2 ms when they sleep (7.6 / 7.7 ms without the spinner),
so sessions with several threads do not spin. PyTorch's OpenMP workers spin only briefly before they
sleep (`GOMP_SPINCOUNT`, read by libgomp when torch loads, so the CLI sets it before any torch import):
libgomp's default spin (300k rounds) took a contended training step (batch 8, 128x128) to 706 ms
against 409 ms with no spin at all (`OMP_WAIT_POLICY=PASSIVE`), but sleeping at once makes every one of
a step's thousands of parallel regions pay a wake-up: on the quiet machine an ACM step (batch 16,
256x256, 2 threads) took 333 ms passive, 290 ms at the default spin and 295 ms at 10k rounds, which
the short spin keeps while costing a busy neighbour only microseconds per region.
`benchmarks/contention.py` compares the settings.

Cores another process is keeping busy (measured over a short window, `busy_neighbours`) are not
offered to PyTorch and ONNX Runtime either (OpenCV keeps them, see `use_threads`): two synchronised
threads on two cores, one of them taken, wait on each other at every barrier, so on this machine a
training step with a spinning neighbour took 2.07x its quiet time at 2 threads (see the README's
contention table for the figure with this rule).

Example:
    >>> n = use_threads(None)   # the default: cores this process may use
    >>> n >= 1
    True
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from lesps_deploy.errors import ConfigError

__all__ = [
    "cgroup_cpu_limit", "available_cores", "busy_neighbours", "cpu_times", "own_ticks", "neighbours_between",
    "default_threads", "resolve_threads",
    "use_threads", "current_threads", "requested_threads",
    "process_env", "ort_thread_options", "quiet_onnxruntime",
]  # fmt: skip

logger = logging.getLogger(__name__)

_CGROUP_ROOT = Path("/sys/fs/cgroup")
# libgomp's spin before an idle worker sleeps (its default is 300000): long enough to bridge the gaps
# between a training step's back-to-back parallel regions, short enough not to take a busy core's time.
SPIN_ROUNDS = "10000"
# What `use_threads` last applied; None until a command (or the user) chose. Thread pools of torch,
# ONNX Runtime and OpenCV are process-wide, so this mirrors state the libraries already hold.
_applied: int | None = None
_said: tuple[int, int] | None = None  # the (cores, taken) `default_threads` last logged
_requested: int | None = None  # the user's choice when `use_threads` ran (--threads or OMP_NUM_THREADS)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cgroup_cpu_limit(root: Path = _CGROUP_ROOT) -> float | None:
    """CPUs the cgroup quota allows (quota / period), or None when there is no quota.

    Reads cgroup v2 `cpu.max` ("max 100000" or "200000 100000"), else v1 `cpu/cpu.cfs_quota_us` and
    `cpu.cfs_period_us` (quota -1: no limit).
    """
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        quota, _, period = v2.partition(" ")
        if quota == "max" or not period:
            return None
        return int(quota) / int(period)
    for folder in (root / "cpu", root / "cpu,cpuacct", root):
        quota_s, period_s = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
        if quota_s is not None and period_s is not None:
            quota, period = int(quota_s), int(period_s)
            return None if quota <= 0 or period <= 0 else quota / period
    return None


def available_cores(affinity: set[int] | None = None, cgroup_root: Path = _CGROUP_ROOT) -> int:
    """Cores this process may use: its CPU affinity, capped by the cgroup quota (rounded up), >= 1.

    Under torchrun the cores are shared out between the local processes (`LOCAL_WORLD_SIZE`).
    """
    if affinity is None:
        affinity = (
            os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
        )
    cores = max(1, len(affinity))
    limit = cgroup_cpu_limit(cgroup_root)
    if limit is not None:
        cores = min(cores, max(1, math.ceil(limit)))
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    return max(1, cores // max(1, local))


def _env_threads() -> int | None:
    """`OMP_NUM_THREADS` when set to a positive number: the user's (or a test suite's) explicit choice."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


# /proc/stat per-CPU columns: user nice system idle iowait irq softirq steal; busy is all but idle and
# iowait. Niced time counts too: with the scheduler's autogroups (the default on desktop and server
# kernels alike) a niced task of another session still gets its session's full share of a core.
_BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)
SAMPLE_SECONDS = 0.15  # window over which the neighbours' CPU use is measured
TAKEN_SHARE = 0.7  # share of a core neighbours must keep busy for it to count as taken


def cpu_times(stat: Path = Path("/proc/stat")) -> dict[int, tuple[int, int]]:
    """Per-CPU (busy, total) clock ticks since boot from /proc/stat; {} when unreadable."""
    text = _read(stat) or ""
    out: dict[int, tuple[int, int]] = {}
    for line in text.splitlines():
        name, *values = line.split()
        if not name.startswith("cpu") or name == "cpu" or not name[3:].isdigit():
            continue
        try:
            ticks = [int(v) for v in values[:8]]
        except ValueError:
            return {}
        out[int(name[3:])] = (sum(ticks[i] for i in _BUSY_COLUMNS if i < len(ticks)), sum(ticks))
    return out


def own_ticks(self_stat: Path = Path("/proc/self/stat")) -> int:
    """CPU clock ticks (user + system) this process used so far, all its threads; 0 when unknown."""
    text = _read(self_stat) or ""
    try:  # the command name (field 2) may hold spaces: count fields after its closing parenthesis
        fields = text[text.rindex(")") + 2 :].split()
        return int(fields[11]) + int(fields[12])
    except (ValueError, IndexError):
        return 0


def neighbours_between(
    before: dict[int, tuple[int, int]],
    after: dict[int, tuple[int, int]],
    own: int,
    cpus: set[int] | None = None,
) -> float:
    """Cores other processes kept busy between two `cpu_times` samples, less our own `own` ticks."""
    shared = [c for c in after if c in before and (cpus is None or c in cpus)]
    busy = sum(after[c][0] - before[c][0] for c in shared)
    total = sum(after[c][1] - before[c][1] for c in shared)
    if total <= 0 or not shared:
        return 0.0
    # Ticks are per CPU: `total` spans len(shared) CPUs over the window.
    return max(0.0, busy - own) / total * len(shared)


def busy_neighbours(
    stat: Path = Path("/proc/stat"),
    self_stat: Path = Path("/proc/self/stat"),
    seconds: float = SAMPLE_SECONDS,
) -> float:
    """Cores of ours other processes are keeping busy right now: 0.0 when unknown.

    Measured, not guessed from a snapshot: the CPUs this process may run on are sampled twice
    `seconds` apart (/proc/stat), our own process's time over the window is taken out
    (/proc/self/stat), and the result is scaled to our share of those CPUs (a 2-CPU cgroup quota on a
    64-core host). The count of runnable tasks (/proc/loadavg) is not used: at any instant it includes
    passing tasks and this process's own threads, and on a quiet 2-core machine (load average 0.8) it
    left one of the two cores unused, which made training epochs 1.5x slower (issue 26).
    """
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    before, own_before = cpu_times(stat), own_ticks(self_stat)
    if not before:
        return 0.0
    time.sleep(seconds)
    after, own_after = cpu_times(stat), own_ticks(self_stat)
    busy = neighbours_between(before, after, own_after - own_before, cpus)
    ours = len([c for c in after if cpus is None or c in cpus]) or 1
    return busy * min(1.0, available_cores() / ours)


def default_threads() -> int:
    """The default thread count: the cores this process may use, less those a neighbour is busy on."""
    cores = available_cores()
    # A core counts as taken when neighbours keep it at least 70 % busy (passing tasks do not).
    taken = min(cores - 1, int(busy_neighbours() + 1 - TAKEN_SHARE))
    global _said
    if taken > 0 and _said != (cores, taken):  # once per situation, not at every call
        logger.info("threads: %d of %d cores (another process is running on %d)", cores - taken, cores, taken)
        _said = (cores, taken)
    return cores - taken


def resolve_threads(threads: int | None) -> int:
    """`threads` as asked; for None/0 (the one meaning of 'default') `OMP_NUM_THREADS` when it is set,
    else `default_threads()`."""
    if threads is not None and threads < 0:
        raise ConfigError(f"--threads {threads}: must be >= 1 (0 or omitted: the cores this process may use)")
    return threads or _env_threads() or default_threads()


def process_env(environ: MutableMapping[str, str] = os.environ) -> None:
    """Environment the native libraries read once, when loaded: call before torch and cv2 are imported.

    OpenMP workers spin briefly, then sleep, when idle (see the module docstring); OpenCV and FFmpeg
    stay quiet unless `LESPS_DEBUG=1` (our own one-line errors say what went wrong). Values the user
    set are kept.
    """
    if "OMP_WAIT_POLICY" not in environ:  # a policy the user chose decides the spin itself
        environ.setdefault("GOMP_SPINCOUNT", SPIN_ROUNDS)
    environ.setdefault("KMP_BLOCKTIME", "0")  # the same for Intel's OpenMP (MKL builds)
    if environ.get("LESPS_DEBUG") != "1":
        environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
        environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET


def _apply_torch(threads: int) -> None:
    torch = sys.modules.get("torch")
    if torch is None:
        # Not imported yet (torch loads lazily): its OpenMP pool reads this when it starts.
        os.environ["OMP_NUM_THREADS"] = str(threads)
        return
    torch.set_num_threads(threads)
    # Allowed once, before any inter-op work; later calls keep the first value.
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)


def _apply_cv2(threads: int) -> None:
    import cv2

    cv2.setNumThreads(threads)
    if os.environ.get("LESPS_DEBUG") != "1":
        with contextlib.suppress(AttributeError):  # builds without the logging module
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def use_threads(threads: int | None) -> int:
    """Apply `threads` (None/0: `available_cores()`) to PyTorch, ONNX Runtime and OpenCV; return it.

    PyTorch gets `threads` intra-op threads and one inter-op thread; ONNX Runtime sessions opened
    afterwards get `ort_thread_options(current_threads())`; OpenCV gets `threads` too.
    """
    global _applied, _requested
    n = resolve_threads(threads)
    # Read before _apply_torch, which sets OMP_NUM_THREADS to n when torch is not loaded yet.
    _requested = threads or _env_threads()
    _apply_torch(n)
    # OpenCV keeps every core: in predict it decodes and draws in threads of its own beside inference,
    # so a neighbour's core is not its bottleneck the way it is for synchronised intra-op threads.
    _apply_cv2(_requested or available_cores())
    _applied = n
    logger.debug("threads: %d (PyTorch, ONNX Runtime, OpenCV)", n)
    return n


def requested_threads() -> int | None:
    """The user's own choice (`--threads N`, else `OMP_NUM_THREADS`), None for the default."""
    return _requested if _applied is not None else _env_threads()


def current_threads() -> int:
    """The threads `use_threads` applied, else the default (`resolve_threads(None)`)."""
    return _applied if _applied is not None else resolve_threads(None)


def quiet_onnxruntime() -> None:
    """ONNX Runtime's own log lines (`[E:onnxruntime:...]`, also from sessions the quantizer opens)
    stay off unless `LESPS_DEBUG=1`: its failures reach the user as our one-line errors."""
    if os.environ.get("LESPS_DEBUG") == "1":
        return
    import onnxruntime as ort

    ort.set_default_logger_severity(4)  # fatal only


def ort_thread_options(so: Any, threads: int) -> None:
    """Set an ONNX Runtime `SessionOptions`: `threads` intra-op, one inter-op, no spinning when > 1;
    ONNX Runtime's log lines off unless `LESPS_DEBUG=1` (`quiet_onnxruntime`)."""
    if os.environ.get("LESPS_DEBUG") != "1":
        so.log_severity_level = 4
        quiet_onnxruntime()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    if threads > 1:
        # Spinning workers measured 2x slower with a busy neighbour, and no faster on a quiet machine.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
