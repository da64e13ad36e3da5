"""`lesps demo`: the whole LESPS flow on synthetic data, on the CPU, in a few minutes.

The demo only orchestrates library calls, in the order a user would make them:

1. `data.synth.make_dataset`: a synthetic infrared dataset (and a video) in the standard layout;
2. `training.make_point_labels`: one centroid point per target, from the full masks;
3. `training.train`: ACM trained from those points with LESPS label evolution;
4. `apis.evaluation.evaluate`: IoU, nIoU, Pd, Fa on the test split;
5. `export.exporter.export`: ONNX, with parity against PyTorch on the test split;
6. `benchmark.run_benchmark`: PyTorch vs ONNX Runtime latency;
7. `apis.prediction.predict`: detection on the synthetic video, written as an annotated video;
8. `demo.report.write_report`: report.md and report.html with tables, figures and every artifact.

Output folder layout (relative to `--out`):
    synth-irstd/            the dataset (images/, masks/, masks_centroid/, img_idx/, synth.json, video.mp4)
    train/                  the training run (checkpoint, metrics.csv, labels/round_NNN.npz)
    ACM_LESPS_centroid.onnx the exported model
    eval.json, export.json, benchmark.json, benchmark.md, predict/, figures/, demo.json, report.*
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lesps_deploy.errors import ConfigError, require_optional
from lesps_deploy.io import atomic_write_json
from lesps_deploy.metrics.segmentation import percent_text

from .config import DATASET_DIR, MARKER, TRAIN_SEED, DemoConfig, DemoSettings, DemoSummary

__all__ = ["STEPS", "DemoStep", "run_demo", "video_hits"]

log = logging.getLogger(__name__)


@dataclass
class _Run:
    """State shared by the steps: config, paths, and each step's result."""

    cfg: DemoConfig
    settings: DemoSettings
    progress: bool
    artifacts: dict[str, Path] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return self.cfg.out

    @property
    def data(self) -> Path:
        return self.cfg.out / DATASET_DIR

    def add(self, **paths: Path) -> None:
        self.artifacts.update(paths)


# ---------------------------------------------------------------- steps
def _step_data(run: _Run) -> None:
    from lesps_deploy.data.synth import make_dataset
    from lesps_deploy.data.synth_config import SynthConfig
    from lesps_deploy.progress import progress_task

    s = run.settings
    cfg = SynthConfig(
        images=s.images, size=s.size, seed=run.cfg.seed, train_fraction=s.train_fraction,
        video_frames=s.video_frames, hard_fraction=s.hard_fraction, edge_fraction=s.edge_fraction,
        point_fraction=s.point_fraction, min_area=s.min_area, max_area=s.max_area, contrast=s.contrast,
    )  # fmt: skip
    with progress_task(run.progress, "synthesizing", s.images) as advance:
        summary = make_dataset(run.data, cfg, progress=lambda done, total: advance(1))
    log.info(
        "dataset: %d frames of %dx%d (%d train, %d test) with %d targets in %.1f s",
        summary.images, s.size, s.size, summary.train, summary.test, summary.targets, summary.seconds,
    )  # fmt: skip
    run.results["synth"] = summary
    run.add(
        dataset=run.data, images=summary.folders["images"], masks=summary.folders["masks"],
        train_list=summary.train_list, test_list=summary.test_list, synth_manifest=summary.manifest,
    )  # fmt: skip
    if summary.video is not None:
        run.add(video=summary.video.path, video_truth=summary.video.truth)


def _step_labels(run: _Run) -> None:
    from lesps_deploy.training import make_point_labels
    from lesps_deploy.training.data import label_iou, load_train_data

    report = make_point_labels(run.data, "centroid", progress=run.progress)
    train = load_train_data(run.data, "centroid")
    iou = label_iou(train.labels, train.masks)
    run.results["initial_label_iou"] = iou
    log.info(
        "wrote %d centroid labels (%d targets, one pixel each) to %s; their IoU with the full masks: %.1f %%",
        report.written, report.targets, report.out_dir, 100 * (iou or 0.0),
    )  # fmt: skip
    run.add(point_labels=report.out_dir)


def _round_logger(run: _Run) -> Callable[[Any], None]:
    from lesps_deploy.training import EvolutionRound

    def on_record(record: Any) -> None:
        if isinstance(record, EvolutionRound) and record.label_iou is not None:
            start = run.results.get("initial_label_iou") or 0.0
            log.info(
                "label evolution round %d (epoch %d): label IoU vs full masks %.1f %% (points: %.1f %%)",
                record.index, record.epoch, 100 * record.label_iou, 100 * start,
            )  # fmt: skip

    return on_record


def _step_train(run: _Run) -> None:
    from lesps_deploy.training import TrainConfig, train

    s = run.settings
    cfg = TrainConfig(
        model="ACM", data=run.data, labels="centroid", epochs=s.epochs, batch_size=s.batch_size,
        patch_size=s.patch_size, lr=s.lr, milestones=s.milestones, tloss=s.tloss, tb=s.tb,
        evolve_every=s.evolve_every,
        norm="auto", device=run.cfg.device, seed=TRAIN_SEED + run.cfg.seed, out=run.out / "train", eval_every=0,
    )  # fmt: skip
    result = train(cfg, progress=run.progress, callback=_round_logger(run))
    run.results["train"] = result
    run.add(
        train_run=result.run_dir, checkpoint=result.checkpoint, train_metrics=result.run_dir / "metrics.csv",
        train_log=result.run_dir / "metrics.jsonl", evolved_labels=result.run_dir / "labels",
    )  # fmt: skip


def _step_evaluate(run: _Run) -> None:
    from lesps_deploy.apis.evaluation import EvalConfig, evaluate

    cfg = EvalConfig(
        weights=run.artifacts["checkpoint"], data=run.data, split="test", device=run.cfg.device,
        json_out=run.out / "eval.json", per_image=run.out / "eval_per_image.csv",
    )  # fmt: skip
    report = evaluate(cfg, progress=run.progress)
    log.info(
        "test split: IoU %.1f %%  nIoU %.1f %%  Pd %s %% (%d/%d targets)  Fa %.2f x 1e-6",
        100 * report.iou, 100 * report.niou, percent_text(report.pd, 1), report.detected, report.targets,
        1e6 * report.fa,
    )  # fmt: skip
    run.results["metrics"] = report.to_dict()
    run.add(eval_json=cfg.json_out, eval_per_image=cfg.per_image)


def _step_export(run: _Run) -> None:
    from lesps_deploy.export import ExportConfig, export
    from lesps_deploy.formats import get_export_format, strip_suffix

    ckpt = run.artifacts["checkpoint"]
    onnx = run.out / (strip_suffix(ckpt.name) + get_export_format("onnx").suffix)
    result = export(ExportConfig(weights=ckpt, format="onnx", out=onnx, verify=run.data, force=True))
    atomic_write_json(run.out / "export.json", result.to_dict())
    for _, report in result.parity:
        log.info(
            "ONNX vs PyTorch: max |prob diff| %.2g on %d test images; test-split counts %s",
            report.max_abs_diff, report.images, "identical" if report.counts_equal else "DIFFERENT",
        )  # fmt: skip
    if not result.ok:
        log.warning("%s: ONNX differs from PyTorch beyond tolerance (see export.json)", result.path)
    run.results["export"] = result
    run.add(onnx=result.path, export_json=run.out / "export.json")


def _step_benchmark(run: _Run) -> None:
    from lesps_deploy.benchmark import BenchmarkConfig, run_benchmark

    s = run.settings
    cfg = BenchmarkConfig(
        weights=run.artifacts["checkpoint"], backends=("torch", "onnxruntime"), batches=(1,),
        imgsz=(s.bench_imgsz,), device=run.cfg.device, warmup=s.bench_warmup, max_warmup_seconds=2.0,
        runs=s.bench_runs, max_seconds=5.0, cache_dir=run.out / "benchmark_cache",
        json_out=run.out / "benchmark.json", markdown_out=run.out / "benchmark.md", seed=run.cfg.seed,
    )  # fmt: skip
    report = run_benchmark(cfg, progress=run.progress)
    rows = tuple(
        {
            "backend": r.backend, "precision": r.precision, "batch": r.batch, "imgsz": r.imgsz,
            "p50_ms": r.latency_ms["p50"], "p90_ms": r.latency_ms["p90"], "ips": r.throughput_ips,
            "speedup": r.speedup, "runs": r.runs,
        }
        for r in report.ok_rows
    )  # fmt: skip
    for r in rows:
        log.info("%s %s: p50 %.2f ms, %.1f img/s", r["backend"], r["precision"], r["p50_ms"], r["ips"])
    run.results["benchmark"] = rows
    run.add(benchmark_json=cfg.json_out, benchmark_md=cfg.markdown_out, benchmark_cache=cfg.cache_dir)


def _step_predict(run: _Run) -> None:
    from lesps_deploy.apis.prediction import PredictConfig, predict

    cfg = PredictConfig(
        source=str(run.artifacts["video"]), weights=run.artifacts["onnx"], out=run.out / "predict",
        save_video=True, jsonl=True, show_stats=True,
    )  # fmt: skip
    summary = predict(cfg)
    hits = video_hits(Path(summary.outputs["detections"]), run.artifacts["video_truth"])
    run.results["video"] = {"frames": summary.frames, "fps": summary.fps, **hits}
    log.info(
        "video: %d frames at %.1f FPS; %d/%d true targets found, %d other detections",
        summary.frames, summary.fps, hits["found"], hits["truth"], hits["extra"],
    )  # fmt: skip
    run.add(
        predict=summary.out_dir, annotated_video=Path(summary.outputs["video"]),
        detections=Path(summary.outputs["detections"]), predict_summary=Path(summary.outputs["summary"]),
    )  # fmt: skip


def _step_report(run: _Run) -> None:
    from .report import write_figures, write_report

    figures = write_figures(run)
    run.add(**figures)
    run.add(report_md=run.out / "report.md", report_html=run.out / "report.html", summary=run.out / MARKER)
    write_report(_summary(run, seconds=sum(run.step_seconds.values())))


@dataclass(frozen=True)
class DemoStep:
    """One step: a key, a title, the explanation shown before it runs, and its function."""

    key: str
    title: str
    explanation: str
    run: Callable[[_Run], None]


STEPS: tuple[DemoStep, ...] = (
    DemoStep("data", "Synthetic infrared data",
             "Render sky, sea and ground scenes through a simulated sensor, with 1-4 small targets each "
             "(1-80 px, dim to bright, some on clutter edges); masks are exactly the pixels a target raised.",
             _step_data),
    DemoStep("labels", "Single-point labels",
             "LESPS trains from one point per target: write the centroid of every mask as a one-pixel "
             "label (what an annotator would click).",
             _step_labels),
    DemoStep("train", "Training with label evolution",
             "Train ACM on the CPU from the points. Once the loss is low, every few epochs the network's "
             "own predictions grow each point towards the target's full extent (LESPS label evolution).",
             _step_train),
    DemoStep("evaluate", "Evaluation",
             "Score the trained model on the held-out test split: pixel IoU/nIoU, target detection "
             "probability Pd and false-alarm rate Fa.",
             _step_evaluate),
    DemoStep("export", "ONNX export",
             "Export to ONNX with the normalization and threshold embedded, then check that ONNX Runtime "
             "matches PyTorch on the test split.",
             _step_export),
    DemoStep("benchmark", "Benchmark",
             "Time PyTorch against ONNX Runtime on this CPU (batch 1, one frame size).",
             _step_benchmark),
    DemoStep("predict", "Detection on a video",
             "Run the ONNX model over a synthetic video of moving targets and write an annotated video.",
             _step_predict),
    DemoStep("report", "Report",
             "Write report.md and report.html: metrics, benchmark, evolved labels over rounds, detections, "
             "and the path of every artifact.",
             _step_report),
)  # fmt: skip


# ---------------------------------------------------------------- helpers
def video_hits(detections: Path, truth: Path, radius: float = 3.0) -> dict[str, int]:
    """Match detections.jsonl with a synthetic video's truth centroids (within `radius` pixels).

    Returns:
        {"truth": true targets over all frames, "found": those with a detection within `radius`,
        "extra": detections matching no true target}.
    """
    import json

    with np.load(truth) as npz:
        rows = npz["targets"]
    by_frame: dict[int, np.ndarray] = {}
    for frame in np.unique(rows[:, 0]).astype(int):
        by_frame[frame] = rows[rows[:, 0] == frame][:, 1:]  # (row, col)
    found = extra = 0
    for line in detections.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        truth_rc = by_frame.get(int(record["frame"]), np.zeros((0, 2), np.float32))
        det = np.array([[t["y"], t["x"]] for t in record["targets"]], np.float32).reshape(-1, 2)
        dist = np.linalg.norm(truth_rc[:, None, :] - det[None, :, :], axis=2)
        close = dist <= radius
        found += int(close.any(axis=1).sum())
        extra += int((~close.any(axis=0)).sum())
    return {"truth": int(len(rows)), "found": found, "extra": extra}


def _prepare_out(cfg: DemoConfig) -> None:
    """Create the output folder; replace a previous demo's folder only with `force`."""
    out = cfg.out
    if out.exists() and any(out.iterdir()):
        if not cfg.force:
            raise ConfigError(
                f"{out}: folder is not empty", hint="pass --force to replace an earlier demo, or pick --out"
            )
        if not (out / MARKER).is_file() and not (out / DATASET_DIR).is_dir():
            raise ConfigError(
                f"{out}: not a demo output folder; --force only replaces an earlier demo's folder",
                hint="pick another --out",
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def _summary(run: _Run, seconds: float) -> DemoSummary:
    train = run.results["train"]
    export = run.results["export"]
    parity = max((r.max_abs_diff for _, r in export.parity), default=float("nan"))
    return DemoSummary(
        out_dir=run.out, quick=run.cfg.quick, seconds=round(seconds, 1),
        metrics={k: run.results["metrics"][k] for k in ("IoU", "nIoU", "Pd", "Fa", "detected", "targets", "images")},
        initial_label_iou=run.results.get("initial_label_iou"),
        rounds=tuple((r.index, r.epoch, r.label_iou) for r in train.rounds),
        parity_max_abs_diff=parity, parity_ok=export.ok, benchmark=run.results["benchmark"],
        video=run.results["video"], artifacts=dict(run.artifacts), step_seconds=dict(run.step_seconds),
        report_md=run.out / "report.md", report_html=run.out / "report.html",
    )  # fmt: skip


def run_demo(
    cfg: DemoConfig,
    progress: bool = False,
    on_step: Callable[[int, int, DemoStep], None] | None = None,
) -> DemoSummary:
    """Run every demo step into `cfg.out` and return what it measured and wrote.

    Args:
        cfg: the demo's options.
        progress: rich progress bars on stderr for the long steps.
        on_step: called as on_step(number, total, step) before each step (the CLI shows a panel);
            without it the step's title and explanation are logged.

    Returns:
        DemoSummary (also written to `<out>/demo.json`).

    Raises:
        ConfigError: `cfg.out` is not empty (and not an earlier demo replaced with `force`).
        LespsError: whatever a step's library call raises.
    """
    require_optional("torch")  # the demo trains: say so before its folder is made
    start = time.perf_counter()
    _prepare_out(cfg)
    run = _Run(cfg, cfg.settings, progress)
    for number, step in enumerate(STEPS, start=1):
        if on_step is not None:
            on_step(number, len(STEPS), step)
        else:
            log.info("step %d/%d: %s. %s", number, len(STEPS), step.title, step.explanation)
        t0 = time.perf_counter()
        step.run(run)
        run.step_seconds[step.key] = round(time.perf_counter() - t0, 2)
    summary = _summary(run, time.perf_counter() - start)
    atomic_write_json(run.out / MARKER, summary.to_dict())
    return summary
