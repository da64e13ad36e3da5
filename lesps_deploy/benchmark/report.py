"""Rendering a benchmark: rich tables, Markdown, a latency/throughput plot, and the diff with an old run.

Tables are driven by column lists of (header, cell function) over row dicts, so the terminal and
Markdown show the same columns, and reports read back from JSON render like fresh ones.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lesps_deploy.io import atomic_path

from .results import ACCURACY_KEYS, DEFAULT_REFERENCE, BenchmarkReport, Row, load_report, row_key

__all__ = [
    "ACCURACY_KEYS", "BenchmarkReport", "Row", "load_report", "speed_rows", "accuracy_rows", "skipped_rows",
    "compare_reports", "benchmark_tables", "compare_table", "markdown_report", "write_plot", "reference_label",
]  # fmt: skip

logger = logging.getLogger(__name__)

Column = tuple[str, Callable[[dict[str, Any]], str]]
# display scale of each accuracy metric (the paper's units): IoU/nIoU/Pd in %, Fa in 1e-6
_SCALE = {"IoU": (100.0, "IoU %"), "nIoU": (100.0, "nIoU %"), "Pd": (100.0, "Pd %"), "Fa": (1e6, "Fa 1e-6")}


def _num(value: float | None, digits: int = 2, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _lat(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda r: _num(r["latency_ms"][key])


def _split(r: dict[str, Any]) -> str:
    s = r["split_ms"]
    return f"{s['preprocess']:.2f} / {s['inference']:.2f} / {s['postprocess']:.2f}"


def _cuda_mb(r: dict[str, Any]) -> str:
    m = r["memory"]
    return f"{_num(m['cuda_max_allocated_mb'], 0)} / {_num(m['cuda_max_reserved_mb'], 0)}"


SPEED_COLUMNS: tuple[Column, ...] = (
    ("backend", lambda r: r["backend"]),
    ("precision", lambda r: r["precision"]),
    ("batch", lambda r: str(r["batch"])),
    ("imgsz", lambda r: str(r["imgsz"])),
    ("mean ± std ms", lambda r: f"{r['latency_ms']['mean']:.2f} ± {r['latency_ms']['std']:.2f}"),
    ("p50 ms", _lat("p50")),
    ("p90 ms", _lat("p90")),
    ("p99 ms", _lat("p99")),
    ("ms/img", lambda r: _num(r["latency_per_image_ms"]["mean"])),
    ("img/s", lambda r: _num(r["throughput_ips"], 1)),
    ("pre / inf / post ms", _split),
    ("e2e img/s", lambda r: _num(r["e2e_throughput_ips"], 1)),
    ("RSS MB", lambda r: _num(r["memory"]["rss_peak_mb"], 0)),
    ("runs", lambda r: str(r["runs"])),
    ("speed-up", lambda r: "-" if r["speedup"] is None else f"{r['speedup']:.2f}x"),
    ("gate", lambda r: "BEYOND" if r.get("beyond_gate") else ""),
)
CUDA_COLUMN: Column = ("CUDA alloc / reserved MB", _cuda_mb)
# left out of the terminal table to keep it narrow (they stay in Markdown and JSON)
_MARKDOWN_ONLY = frozenset({"e2e img/s", "runs"})
_LEFT = frozenset({"backend", "precision", "reason", "status"})


def _metric(key: str, delta: bool) -> Column:
    scale, header = _SCALE[key]
    field = "accuracy_delta" if delta else "accuracy"

    def cell(r: dict[str, Any]) -> str:
        block = r[field]
        if block is None:
            return "-"
        return "n/a" if block[key] is None else _num(scale * block[key], 2, sign=delta)

    return ("Δ" + header if delta else header, cell)


ACCURACY_COLUMNS: tuple[Column, ...] = (
    ("backend", lambda r: r["backend"]),
    ("precision", lambda r: r["precision"]),
    ("artifact MB", lambda r: _num(r["artifact_mb"], 2)),
    ("build s", lambda r: _num(r["build_s"], 1) + (" (cached)" if r["cached"] else "")),
    (
        "parity max Δp",
        lambda r: "-" if r["parity_max_abs_diff"] is None else f"{r['parity_max_abs_diff']:.2g}",
    ),
    *(_metric(k, False) for k in ACCURACY_KEYS),
    *(_metric(k, True) for k in ACCURACY_KEYS),
    ("gate", lambda r: {None: "-", False: "ok", True: "BEYOND"}[r.get("beyond_gate")]),
)
SKIP_COLUMNS: tuple[Column, ...] = (
    ("backend", lambda r: r["backend"]),
    ("precision", lambda r: r["precision"]),
    ("status", lambda r: r["status"]),
    ("combinations", lambda r: str(r["count"])),
    ("reason", lambda r: r["reason"] or ""),
)


def _dicts(report: BenchmarkReport | dict[str, Any]) -> list[dict[str, Any]]:
    return report["rows"] if isinstance(report, dict) else [r.to_dict() for r in report.rows]


def speed_rows(report: BenchmarkReport | dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in _dicts(report) if r["status"] == "ok"]


def accuracy_rows(report: BenchmarkReport | dict[str, Any]) -> list[dict[str, Any]]:
    """One row per measured artifact (backend, precision): accuracy is measured once per artifact."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in speed_rows(report):
        seen.setdefault((r["backend"], r["precision"]), r)
    return list(seen.values())


def skipped_rows(report: BenchmarkReport | dict[str, Any]) -> list[dict[str, Any]]:
    """Skipped/failed combinations grouped by artifact and reason."""
    groups: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in _dicts(report):
        if r["status"] != "ok":
            key = (r["backend"], r["precision"], r["status"], r["reason"] or "")
            groups.setdefault(key, {**r, "count": 0})["count"] += 1
    return list(groups.values())


def _speed_columns(rows: Sequence[dict[str, Any]], terminal: bool = False) -> tuple[Column, ...]:
    on_cuda = any(r["memory"] and r["memory"].get("cuda_max_reserved_mb") is not None for r in rows)
    columns = (*SPEED_COLUMNS[:-1], CUDA_COLUMN, SPEED_COLUMNS[-1]) if on_cuda else SPEED_COLUMNS
    return tuple(c for c in columns if not (terminal and c[0] in _MARKDOWN_ONLY))


def _accuracy_columns(rows: Sequence[dict[str, Any]]) -> tuple[Column, ...]:
    """Artifact columns, plus the metric columns when some artifact was evaluated (--data)."""
    if any(r["accuracy"] is not None for r in rows):
        return ACCURACY_COLUMNS
    return ACCURACY_COLUMNS[: len(ACCURACY_COLUMNS) - 2 * len(ACCURACY_KEYS) - 1]


def _rich(title: str, columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title)
    for header, _ in columns:
        table.add_column(header, justify="left" if header in _LEFT else "right")
    for r in rows:
        table.add_row(*(Text(cell(r)) for _, cell in columns))  # Text: no markup parsing of '[extra]'
    return table


def reference_label(report: BenchmarkReport | dict[str, Any]) -> str:
    """What speed-up and Δ are relative to: 'torch fp32', or e.g. 'onnxruntime fp16 (the given artifact)'."""
    ref = report.get("reference") if isinstance(report, dict) else report.reference
    ref = ref or DEFAULT_REFERENCE  # reports written before the key existed: always PyTorch FP32
    return f"{ref['backend']} {ref['precision']}" + (" (the given artifact)" if ref.get("given") else "")


def benchmark_tables(report: BenchmarkReport | dict[str, Any]) -> list[Any]:
    """Rich tables: speed per combination, accuracy per artifact (with --data), skipped combinations."""
    speed = speed_rows(report)
    ref = reference_label(report)
    title = f"Benchmark (ms per batch call; speed-up: {ref} p50 / p50)"
    tables = [_rich(title, _speed_columns(speed, terminal=True), speed)]
    acc = accuracy_rows(report)
    if acc:
        tables.append(
            _rich(f"Artifacts (accuracy once per artifact; Δ vs {ref})", _accuracy_columns(acc), acc)
        )
    skipped = skipped_rows(report)
    if skipped:
        tables.append(_rich("Not measured", SKIP_COLUMNS, skipped))
    return tables


def _markdown_table(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(h for h, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r).replace("|", "\\|") for _, cell in columns) + " |" for r in rows]
    return "\n".join(lines)


def _env_lines(env: dict[str, Any]) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items() if v)
    gpu = env.get("gpu")
    lines = [
        f"- CPU: {env.get('cpu')} ({env.get('cpu_count')} cores, torch threads {env.get('torch_threads')})",
        f"- GPU: {gpu} (driver {env.get('driver')}, CUDA {env.get('cuda')})" if gpu else "- GPU: none",
        f"- versions: {versions}",
    ]
    if env.get("load_average"):
        lines.append(f"- load average at start: {', '.join(map(str, env['load_average']))}")
    if env.get("power_mode"):
        lines.append(f"- Jetson power mode: {env['power_mode']}")
    return lines


def markdown_report(report: BenchmarkReport | dict[str, Any]) -> str:
    """The whole report as Markdown (environment, speed, accuracy, skipped, comparison)."""
    data = report if isinstance(report, dict) else report.to_dict()
    cfg = data["config"]
    parts = [
        f"# lesps benchmark: {Path(str(cfg['weights'])).name} on {cfg['device']}",
        f"{data['created']}, {data['seconds']:.0f} s. Latency is one backend call per batch; frames are "
        "synthetic, preprocessed with reference padding (input_shape in the JSON). Speed-up and Δ are "
        f"relative to {reference_label(data)}.",
        "## Environment", "\n".join(_env_lines(data["environment"])),
        "## Speed", _markdown_table(_speed_columns(speed_rows(data)), speed_rows(data)),
    ]  # fmt: skip
    if accuracy_rows(data):
        parts += [
            "## Artifacts",
            _markdown_table(_accuracy_columns(accuracy_rows(data)), accuracy_rows(data)),
        ]
    if skipped_rows(data):
        parts += ["## Not measured", _markdown_table(SKIP_COLUMNS, skipped_rows(data))]
    comparison = report.comparison if isinstance(report, BenchmarkReport) else ()
    if comparison:
        parts += ["## Change against the earlier run", _markdown_table(COMPARE_COLUMNS, comparison)]
    return "\n\n".join(parts) + "\n"


# ------------------------------------------------------------------ compare
def _pct(old: float | None, new: float | None) -> float | None:
    return None if old in (None, 0) or new is None else round(100.0 * (new - old) / old, 2)


def _compare_row(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    ref = new or old
    assert ref is not None  # called with at least one side (internal)
    out: dict[str, Any] = {k: ref[k] for k in ("backend", "precision", "device", "batch", "imgsz")}
    old_ok, new_ok = old is not None and old["status"] == "ok", new is not None and new["status"] == "ok"
    out["change"] = (
        "both" if old_ok and new_ok else "new only" if new_ok else "old only" if old_ok else "neither"
    )
    o_lat = old["latency_ms"]["mean"] if old_ok else None
    n_lat = new["latency_ms"]["mean"] if new_ok else None
    o_thr = old["throughput_ips"] if old_ok else None
    n_thr = new["throughput_ips"] if new_ok else None
    out.update(old_mean_ms=o_lat, new_mean_ms=n_lat, latency_change_pct=_pct(o_lat, n_lat))
    out.update(old_ips=o_thr, new_ips=n_thr, throughput_change_pct=_pct(o_thr, n_thr))
    o_acc = old.get("accuracy") if old_ok else None
    n_acc = new.get("accuracy") if new_ok else None
    out["accuracy_change"] = {k: n_acc[k] - o_acc[k] for k in ACCURACY_KEYS} if o_acc and n_acc else None
    return out


def compare_reports(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Change of every combination measured in either report (matched by backend/precision/device/batch/imgsz).

    `change` is 'both', 'new only' or 'old only'; latency and throughput changes are in percent of the
    old value, accuracy changes are new minus old.
    """
    old_rows = {row_key(r): r for r in old["rows"]}
    new_rows = {row_key(r): r for r in new["rows"]}
    keys = list(new_rows) + [k for k in old_rows if k not in new_rows]
    diffs = [_compare_row(old_rows.get(k), new_rows.get(k)) for k in keys]
    return [d for d in diffs if d["change"] != "neither"]  # measured in neither run: nothing to say


def _acc_change(key: str) -> Column:
    scale, header = _SCALE[key]
    return (
        "Δ" + header,
        lambda r: "-" if r["accuracy_change"] is None else _num(scale * r["accuracy_change"][key], 2, True),
    )


COMPARE_COLUMNS: tuple[Column, ...] = (
    ("backend", lambda r: r["backend"]),
    ("precision", lambda r: r["precision"]),
    ("batch", lambda r: str(r["batch"])),
    ("imgsz", lambda r: str(r["imgsz"])),
    ("old ms", lambda r: _num(r["old_mean_ms"])),
    ("new ms", lambda r: _num(r["new_mean_ms"])),
    ("latency Δ%", lambda r: _num(r["latency_change_pct"], 1, True)),
    ("old img/s", lambda r: _num(r["old_ips"], 1)),
    ("new img/s", lambda r: _num(r["new_ips"], 1)),
    ("throughput Δ%", lambda r: _num(r["throughput_change_pct"], 1, True)),
    *(_acc_change(k) for k in ("IoU", "Pd", "Fa")),
    ("status", lambda r: r["change"]),
)


def compare_table(comparison: Sequence[dict[str, Any]], title: str = "Change against the earlier run") -> Any:
    return _rich(title, COMPARE_COLUMNS, comparison)


# ------------------------------------------------------------------ plot
def write_plot(report: BenchmarkReport | dict[str, Any], path: str | Path) -> Path | None:
    """PNG of per-image latency (p50) vs throughput, one line per artifact; None without matplotlib."""
    if importlib.util.find_spec("matplotlib") is None:
        logger.warning(
            "matplotlib is not installed; skipping the plot %s (pip install 'lesps-deploy[plot]')", path
        )
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    by_artifact: dict[str, list[dict[str, Any]]] = {}
    for r in speed_rows(report):
        by_artifact.setdefault(f"{r['backend']} {r['precision']}", []).append(r)
    for label, rows in by_artifact.items():
        rows = sorted(rows, key=lambda r: r["latency_per_image_ms"]["p50"])
        xs = [r["latency_per_image_ms"]["p50"] for r in rows]
        ys = [r["throughput_ips"] for r in rows]
        ax.plot(xs, ys, marker="o", label=label)
        for r, x, y in zip(rows, xs, ys, strict=True):
            ax.annotate(
                f"b{r['batch']}/{r['imgsz']}", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
    ax.set_xlabel("latency per image, p50 (ms)")
    ax.set_ylabel("throughput (images/s)")
    ax.set_title("lesps benchmark: latency vs throughput")
    ax.grid(True, alpha=0.3)
    ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)
    logger.info("wrote %s", path)
    return Path(path)
