"""`run_benchmark(cfg)`: export, load, warm up and time every applicable combination; report it.

Per combination, synthetic infrared frames of `imgsz` go through exactly the Detector/evaluate path:
`preprocess` (normalize + reference padding) -> backend -> crop, `prob > threshold`, 8-connected
targets. The backend call alone is timed repeatedly (the latency and throughput columns); pre- and
postprocessing are timed separately on the same frames (the split columns). Accuracy is measured once
per artifact with `run_dataset`, and speed-up and accuracy change are relative to PyTorch eager
FP32 measured in the same run. An .onnx or .engine given instead of a checkpoint is measured as it is
(`given`): its own backend and precision, itself the reference, and no torch import on the way.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from typing import Any

import numpy as np

from lesps_deploy.data.norm import Norm, model_norm
from lesps_deploy.errors import BackendError, ConfigError
from lesps_deploy.export.config import DEFAULT_MAX_DROP
from lesps_deploy.formats import CHECKPOINT_SUFFIXES
from lesps_deploy.io import atomic_write_json, atomic_write_text
from lesps_deploy.options import check_paths
from lesps_deploy.progress import track
from lesps_deploy.runtime.base import Backend, load_runtime

from .artifacts import PreparedArtifact, prepare_artifact
from .config import BenchmarkConfig
from .env import busy_warning, environment
from .given import given_plan, is_given_artifact, open_given
from .matrix import REFERENCE, Artifact, Combo, Context, plan
from .measure import Measurement, SyntheticFrames, measure_combo
from .memory import read_peaks, reset_peaks
from .report import compare_reports, markdown_report, write_plot
from .results import ACCURACY_KEYS, BenchmarkReport, Row, load_report

__all__ = ["run_benchmark"]

logger = logging.getLogger(__name__)

_MAX_EVAL_BATCH = 8


@dataclasses.dataclass
class _Session:
    """What every combination shares: the loaded checkpoint (None for a given artifact), normalization,
    frames, and the reference of speed-up and accuracy change."""

    cfg: BenchmarkConfig
    module: Any
    meta: Any
    norm: Norm
    sha256: str
    frames: SyntheticFrames
    given: Artifact | None = None

    @property
    def reference(self) -> tuple[str, str]:
        return self.given.key if self.given is not None else REFERENCE

    @property
    def probe_device(self) -> str:
        """Device of the timer and memory probes: a given artifact is timed with the host clock and host
        memory (its backend returns host arrays, so the call is complete), as CUDA events need torch."""
        return "cpu" if self.given is not None else self.cfg.device


def _open_given(cfg: BenchmarkConfig) -> _Session:
    art, meta = open_given(cfg)
    norm = model_norm(cfg.norm, meta, cfg.data, cfg.weights)
    meta = dataclasses.replace(meta, mean=norm.mean, std=norm.std)
    return _Session(cfg, None, meta, norm, "", SyntheticFrames(cfg.seed, max(cfg.batches)), given=art)


def _open_session(cfg: BenchmarkConfig) -> _Session:
    if is_given_artifact(cfg.weights):
        return _open_given(cfg)
    if not str(cfg.weights).lower().endswith(CHECKPOINT_SUFFIXES):
        raise ConfigError(
            f"{cfg.weights}: benchmark takes a PyTorch checkpoint ({', '.join(CHECKPOINT_SUFFIXES)}), "
            "an .onnx or an .engine",
            hint="artifacts are exported from a checkpoint (and cached) so they can be compared with PyTorch",
        )
    from lesps_deploy.models import load_checkpoint

    if cfg.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise BackendError(f"--device {cfg.device}: CUDA is not available here", hint="use --device cpu")
    ckpt = load_checkpoint(cfg.weights, model=cfg.model, trust_pickle=cfg.trust_pickle)
    norm = model_norm(cfg.norm, ckpt.meta, cfg.data, cfg.weights)
    meta = dataclasses.replace(ckpt.meta, mean=norm.mean, std=norm.std, source_sha256=ckpt.sha256)
    frames = SyntheticFrames(cfg.seed, max(cfg.batches))
    return _Session(cfg, ckpt.model.eval(), meta, norm, ckpt.sha256, frames)


def _load_backend(art: Artifact, prepared: PreparedArtifact, session: _Session) -> Backend:
    """PyTorch rows wrap the checkpoint's module (a copy for FP16, which converts it in place)."""
    device = session.cfg.device
    if art.fmt is None:
        from lesps_deploy.runtime.torch_backend import TorchBackend

        half = art.precision == "fp16"
        module = copy.deepcopy(session.module) if half else session.module
        return TorchBackend.from_module(module, session.meta, device, half=half)
    cfg = session.cfg
    return load_runtime(
        prepared.path, device=device, backend=art.backend, threads=cfg.threads, model=cfg.model
    )


def _accuracy(backend: Backend, session: _Session) -> dict[str, Any]:
    from lesps_deploy.runtime.dataset_runner import run_dataset

    cfg = session.cfg
    report = run_dataset(
        backend, cfg.data, cfg.split, norm=session.norm, threshold=cfg.threshold,  # type: ignore[arg-type]
        batch_size=min(_MAX_EVAL_BATCH, max(cfg.batches)), fa_rule=cfg.fa_rule,  # type: ignore[arg-type]
    )  # fmt: skip
    keys = (*ACCURACY_KEYS, "images", "targets", "detected", "seconds")
    summary = report.to_dict()
    return {k: summary[k] for k in keys}


def _row(combo: Combo, cfg: BenchmarkConfig, status: str, reason: str | None = None, **fields: Any) -> Row:
    art = combo.artifact
    return Row(art.backend, art.precision, cfg.device, combo.batch, combo.imgsz, status, reason, **fields)


def _measure_artifact(art: Artifact, combos: list[Combo], session: _Session) -> Iterator[Row]:
    """Rows of one artifact: prepare (export/cache), load, time every batch/size, evaluate once."""
    cfg = session.cfg
    prepared = prepare_artifact(art, cfg, session.norm, session.sha256, session.meta.pad_multiple)
    reset_peaks(session.probe_device)
    with _load_backend(art, prepared, session) as backend:
        load_memory = read_peaks(session.probe_device)
        accuracy = _accuracy(backend, session) if cfg.data is not None else None
        for combo in combos:
            m: Measurement = measure_combo(
                backend, combo, session.frames, session.norm, session.meta, cfg, session.probe_device
            )
            logger.info(
                "%s %s batch %d imgsz %d: p50 %.2f ms over %d runs",
                art.backend, art.precision, combo.batch, combo.imgsz, float(np.median(m.run.timings_ms)),
                len(m.run.timings_ms),
            )  # fmt: skip
            yield _row(
                combo, cfg, "ok", artifact=str(prepared.path), artifact_mb=prepared.size_mb,
                build_s=prepared.build_s, cached=prepared.cached, parity_max_abs_diff=prepared.parity_max_abs_diff,
                load_memory=load_memory, accuracy=accuracy, **m.fields(),
            )  # fmt: skip


def _groups(combos: list[Combo]) -> dict[tuple[str, str], list[Combo]]:
    groups: dict[tuple[str, str], list[Combo]] = {}
    for combo in combos:
        groups.setdefault(combo.artifact.key, []).append(combo)
    return groups


def _artifact_rows(art: Artifact, combos: list[Combo], session: _Session) -> list[Row]:
    """Rows of one artifact; a failure marks its remaining combinations failed and the run goes on."""
    if art.skip:
        return [_row(c, session.cfg, "skipped", art.skip) for c in combos]
    rows: list[Row] = []
    try:
        for row in _measure_artifact(art, combos, session):  # rows measured before a failure are kept
            rows.append(row)
    except Exception as err:  # one broken artifact must not lose the others' numbers
        reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        logger.error("%s %s failed: %s", art.backend, art.precision, reason)
        logger.debug("traceback", exc_info=True)
        done = {(r.batch, r.imgsz) for r in rows}
        rows.extend(_row(c, session.cfg, "failed", reason) for c in combos if (c.batch, c.imgsz) not in done)
    return rows


def _relate(rows: list[Row], reference: tuple[str, str] = REFERENCE) -> list[Row]:
    """Fill speed-up (ratio of p50 latencies) and accuracy change against `reference`, same batch and size."""
    ref = {(r.batch, r.imgsz): r for r in rows if (r.backend, r.precision) == reference and r.status == "ok"}
    out = []
    for row in rows:
        base = ref.get((row.batch, row.imgsz))
        if row.status != "ok" or base is None:
            out.append(row)
            continue
        # medians: one load spike on a shared machine should not swing the ratio
        speedup = round(base.latency_ms["p50"] / row.latency_ms["p50"], 3)
        delta, beyond = None, None
        if row.accuracy is not None and base.accuracy is not None:
            # Pd is None on frames without targets: no change there.
            delta = {k: (row.accuracy[k] or 0.0) - (base.accuracy[k] or 0.0) for k in ACCURACY_KEYS}
            # the export gate's bar: an IoU or Pd drop of more than DEFAULT_MAX_DROP points
            beyond = -100 * min(delta["IoU"], delta["Pd"]) > DEFAULT_MAX_DROP
        out.append(dataclasses.replace(row, speedup=speedup, accuracy_delta=delta, beyond_gate=beyond))
    return out


def _reference(session: _Session) -> dict[str, Any]:
    """What speed-up and accuracy change are relative to, for the report."""
    backend, precision = session.reference
    what = (
        "the given artifact on its own backend" if session.given else "PyTorch eager FP32 on the checkpoint"
    )
    return {
        "backend": backend, "precision": precision, "given": session.given is not None,
        "artifact": str(session.cfg.weights), "what": what,
    }  # fmt: skip


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Set PyTorch's intra-op threads for the run and restore them after (None, 0: leave as is)."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _write_outputs(report: BenchmarkReport, cfg: BenchmarkConfig) -> None:
    if cfg.json_out:
        atomic_write_json(cfg.json_out, report.to_dict())
        logger.info("wrote %s", cfg.json_out)
    if cfg.markdown_out:
        atomic_write_text(cfg.markdown_out, markdown_report(report))
        logger.info("wrote %s", cfg.markdown_out)
    if cfg.plot_out:
        write_plot(report, cfg.plot_out)


def run_benchmark(cfg: BenchmarkConfig, progress: bool = False) -> BenchmarkReport:
    """Measure every applicable combination of `cfg`; write the JSON/Markdown/plot it asks for.

    Args:
        cfg: what to measure (see `BenchmarkConfig`).
        progress: show a rich progress bar on stderr (one step per artifact).

    Returns:
        The report: one row per combination (status ok, skipped or failed), environment, config,
        and the comparison with `cfg.compare` when given.

    Raises:
        ConfigError: neither a checkpoint nor an .onnx/.engine, an option an artifact does not take,
            no normalization, unreadable `--compare` file.
        BackendError: `--device cuda` without CUDA.
        CheckpointError: the weights cannot be loaded.
    """
    check_paths(cfg)  # files first: a report that cannot be written fails now, not after the timing
    start = time.perf_counter()
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    old = load_report(cfg.compare) if cfg.compare else None  # fail before the long part
    session = _open_session(cfg)
    combos = given_plan(cfg, session.given) if session.given else plan(cfg, Context.detect(cfg))
    groups = _groups(combos)
    rows: list[Row] = []
    steps = track(list(groups.items()), len(groups), "benchmark", enabled=progress)
    with _torch_threads(cfg.threads) if session.given is None else nullcontext():
        env = environment(cfg.device, use_torch=session.given is None)
        if warning := busy_warning(env):
            logger.warning("%s", warning)
        for _, group in steps:
            rows.extend(_artifact_rows(group[0].artifact, group, session))
    rows = _relate(rows, session.reference)
    report = BenchmarkReport(
        rows=tuple(rows), environment=env, config=cfg.to_dict(), created=created,
        seconds=round(time.perf_counter() - start, 2), reference=_reference(session),
    )  # fmt: skip
    if old is not None:
        report = dataclasses.replace(report, comparison=tuple(compare_reports(old, report.to_dict())))
    _write_outputs(report, cfg)
    return report
