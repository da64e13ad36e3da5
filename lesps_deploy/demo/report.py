"""Figures and the report of `lesps demo`: PNG grids built with OpenCV, report.md and report.html.

Figures (under `<out>/figures/`):
    samples.png    synthetic frames, targets circled (yellow) from the dataset's own records
    evolution.png  per target: frame crop, point label, evolved labels over rounds, full mask (green outline)
    overlays.png   test frames: truth circled (yellow) | detections of the exported model (red mask, green)
    video.png      one frame of the annotated video written by `predict`

The report is one list of blocks rendered twice: Markdown (images linked by relative path) and HTML
(images inline as base64), so both always say the same thing.
"""

from __future__ import annotations

import base64
import html
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lesps_deploy.errors import DataError
from lesps_deploy.io import atomic_write_bytes, atomic_write_text

from .config import DEMO_BAR

__all__ = [
    "Block",
    "evolution_figure",
    "overlay_figure",
    "render_html",
    "render_markdown",
    "samples_figure",
    "video_figure",
    "write_figures",
    "write_report",
]

log = logging.getLogger(__name__)

YELLOW, GREEN, WHITE = (0, 220, 255), (0, 255, 0), (255, 255, 255)
GAP = 4  # pixels between tiles
CROP = 32  # side of the evolution-figure window around a target
ZOOM = 5  # evolution tiles are CROP * ZOOM pixels wide
MAX_ROUND_COLUMNS = 5

# ("h1"|"h2"|"p", text) | ("table", headers, rows) | ("img", path, caption) | ("ul", items)
Block = tuple[Any, ...]


# ---------------------------------------------------------------- drawing helpers
def _png(path: Path, image: np.ndarray) -> Path:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise DataError(f"{path}: PNG encoding failed")
    atomic_write_bytes(path, buf.tobytes())
    return path


def _gray8(image: np.ndarray, stretch: bool = False) -> np.ndarray:
    """BGR uint8 of a gray frame; `stretch` maps the 1st..99.8th percentile to full range (dim crops)."""
    img = np.asarray(image, np.float32)
    if stretch:
        lo, hi = np.percentile(img, [1.0, 99.8])
        img = (img - lo) * (255.0 / max(hi - lo, 1e-6))
    elif img.max(initial=0) > 255:
        img = img * (255.0 / img.max())
    return cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def _caption(tile: np.ndarray, text: str, height: int = 18) -> np.ndarray:
    """`tile` with a black strip above it holding `text`."""
    strip = np.zeros((height, tile.shape[1], 3), np.uint8)
    cv2.putText(strip, text, (3, height - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, WHITE, 1, cv2.LINE_AA)
    return np.vstack([strip, tile])


def _grid(rows: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """Tiles (same height per row, same widths per column) joined with GAP-pixel dark lines."""
    width = max(sum(t.shape[1] for t in row) + GAP * (len(row) - 1) for row in rows)
    lines = []
    for row in rows:
        parts: list[np.ndarray] = []
        for tile in row:
            if parts:
                parts.append(np.full((tile.shape[0], GAP, 3), 40, np.uint8))
            parts.append(tile)
        line = np.hstack(parts)
        pad = width - line.shape[1]
        lines.append(np.pad(line, ((0, GAP), (0, pad), (0, 0)), constant_values=40))
    return np.vstack(lines)


def _circle_targets(
    frame: np.ndarray, targets: Sequence[dict[str, Any]], color: tuple[int, int, int], scale: int = 1
) -> None:
    for t in targets:
        radius = int(scale * np.sqrt(t["area"]) + 6)
        centre = (round(scale * (t["col"] + 0.5) - 0.5), round(scale * (t["row"] + 0.5) - 0.5))
        cv2.circle(frame, centre, radius, color, 1, cv2.LINE_AA)


def _zoom(image: np.ndarray, scale: int) -> np.ndarray:
    return (
        cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST) if scale > 1 else image
    )


def _display_scale(size: int) -> int:
    """Small frames are shown enlarged so that captions fit and targets are visible."""
    return max(1, round(256 / size))


def _records(dataset: Path) -> list[dict[str, Any]]:
    return json.loads((dataset / "synth.json").read_text(encoding="utf-8"))["images"]


def _image(dataset: Path, name: str) -> np.ndarray:
    from lesps_deploy.data import find_image, read_image

    return read_image(find_image(dataset, name))


# ---------------------------------------------------------------- figures
def samples_figure(dataset: Path, out: Path, count: int = 6) -> Path:
    """Synthetic frames of each scene kind, targets circled in yellow."""
    records = _records(dataset)
    scenes = sorted({r["scene"] for r in records})
    picked = [
        r for s in scenes for r in [x for x in records if x["scene"] == s][: max(1, count // len(scenes))]
    ]
    tiles = []
    for r in picked[:count]:
        image = _image(dataset, r["name"])
        scale = _display_scale(min(image.shape))
        tile = _zoom(_gray8(image), scale)
        _circle_targets(tile, r["targets"], YELLOW, scale)
        tiles.append(_caption(tile, f"{r['name']} ({r['scene']}, {len(r['targets'])} targets)"))
    per_row = 3 if len(tiles) > 3 else len(tiles)
    rows = [tiles[i : i + per_row] for i in range(0, len(tiles), per_row)]
    return _png(out, _grid(rows))


def _evolution_targets(dataset: Path, names: Sequence[str], count: int) -> list[tuple[str, dict[str, Any]]]:
    """`count` train targets of spread sizes (larger ones first), at most one per image."""
    train = set(names)
    candidates = [(r["name"], t) for r in _records(dataset) if r["name"] in train for t in r["targets"]]
    candidates.sort(key=lambda c: -c[1]["area"])
    upper = candidates[: max(count, len(candidates) // 2)]  # the larger half: growth is visible there
    picked: list[tuple[str, dict[str, Any]]] = []
    for index in np.linspace(0, len(upper) - 1, num=min(len(upper), 3 * count)).astype(int):
        name, target = upper[index]
        if all(name != p[0] for p in picked):
            picked.append((name, target))
    return picked[:count]


def _window(shape: tuple[int, int], row: float, col: float) -> tuple[slice, slice]:
    side = min(CROP, *shape)
    top = int(np.clip(round(row) - side // 2, 0, shape[0] - side))
    left = int(np.clip(round(col) - side // 2, 0, shape[1] - side))
    return slice(top, top + side), slice(left, left + side)


def _label_tile(label: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """A soft label in [0, 1] as an inferno heat map, zoomed, with the true mask outlined in green."""
    heat = cv2.applyColorMap((np.clip(label, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    tile = cv2.resize(heat, None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)
    big = cv2.resize(outline.astype(np.uint8), None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(tile, contours, -1, GREEN, 1)
    return tile


def _round_files(run_dir: Path, rounds: Sequence[tuple[int, int, float | None]]) -> list[tuple[str, Path]]:
    """Up to MAX_ROUND_COLUMNS rounds spread over the run (first and last kept), with their headers."""
    if not rounds:
        return []
    keep = sorted(set(np.linspace(0, len(rounds) - 1, num=min(len(rounds), MAX_ROUND_COLUMNS)).astype(int)))
    out = []
    for i in keep:
        index, epoch, _ = rounds[i]
        out.append((f"round {index} (ep {epoch})", run_dir / "labels" / f"round_{index:03d}.npz"))
    return out


def evolution_figure(
    dataset: Path,
    run_dir: Path,
    rounds: Sequence[tuple[int, int, float | None]],
    out: Path,
    count: int = 4,
) -> Path:
    """Point -> mask: per target, its frame, the point label, evolved labels over rounds, the full mask.

    Args:
        dataset: the synthetic dataset (for frames, masks, point labels and target records).
        run_dir: the training run (labels/round_NNN.npz of each round).
        rounds: (round, epoch, label IoU) as in `TrainResult.rounds`.
        out: PNG to write.
        count: number of targets (rows).
    """
    from lesps_deploy.data import find_image, read_mask, read_split

    columns = _round_files(run_dir, rounds)
    stores = [(header, np.load(path)) for header, path in columns]
    try:
        rows = []
        for i, (name, target) in enumerate(_evolution_targets(dataset, read_split(dataset, "train"), count)):
            image = _image(dataset, name)
            win = _window(image.shape, target["row"], target["col"])
            mask = read_mask(find_image(dataset, name, "masks"))[win] > 0
            point = read_mask(find_image(dataset, name, "masks_centroid"))[win] / 255.0
            frame = cv2.resize(
                _gray8(image[win], stretch=True), None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST
            )
            tiles = [(f"{name}", frame), ("point label", _label_tile(point, mask))]
            tiles += [(header, _label_tile(store[name][win], mask)) for header, store in stores]
            tiles.append((f"full mask ({int(mask.sum())} px)", _label_tile(mask.astype(np.float32), mask)))
            rows.append([_caption(t, h) if i == 0 else t for h, t in tiles])
    finally:
        for _, store in stores:
            store.close()
    return _png(out, _grid(rows))


def overlay_figure(dataset: Path, weights: Path, out: Path, count: int = 4) -> Path:
    """Test frames with the most targets: truth circled | the exported model's detections."""
    from lesps_deploy.runtime.detector import Detector
    from lesps_deploy.streams.viz import draw_result

    records = [r for r in _records(dataset) if r["split"] == "test"]
    records.sort(key=lambda r: -len(r["targets"]))
    picked = records[:count]
    rows = []
    with Detector(weights, warmup=False) as det:
        results = det.predict([_image(dataset, r["name"]) for r in picked])
    for i, (record, result) in enumerate(zip(picked, results, strict=True)):
        image = _image(dataset, record["name"])
        scale = _display_scale(min(image.shape))
        truth = _zoom(_gray8(image), scale)
        _circle_targets(truth, record["targets"], YELLOW, scale)
        found = _zoom(draw_result(image, result), scale)
        head = ("truth: " if i == 0 else "") + f"{record['name']}, {len(record['targets'])} targets"
        rows.append([_caption(truth, head), _caption(found, f"detected: {len(result.targets)}")])
    return _png(out, _grid(rows))


def video_figure(video: Path, out: Path) -> Path | None:
    """The middle frame of an annotated video (None when it cannot be read)."""
    cap = cv2.VideoCapture(str(video))
    try:
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        cap.set(cv2.CAP_PROP_POS_FRAMES, max(0, frames // 2))
        ok, frame = cap.read()
    finally:
        cap.release()
    if not ok:
        log.warning("%s: could not read a frame for the report", video)
        return None
    return _png(out, frame)


def write_figures(run: Any) -> dict[str, Path]:
    """All figures of a demo run (`demo._Run`) under `<out>/figures/`; returns artifact label -> path."""
    figures = run.out / "figures"
    dataset, s = run.data, run.settings
    train = run.results["train"]
    rounds = tuple((r.index, r.epoch, r.label_iou) for r in train.rounds)
    out = {
        "figure_samples": samples_figure(dataset, figures / "samples.png"),
        "figure_evolution": evolution_figure(
            dataset, train.run_dir, rounds, figures / "evolution.png", s.figure_images
        ),
        "figure_overlays": overlay_figure(
            dataset, run.artifacts["onnx"], figures / "overlays.png", s.overlay_images
        ),
    }
    frame = video_figure(run.artifacts["annotated_video"], figures / "video.png")
    if frame is not None:
        out["figure_video"] = frame
    return out


# ---------------------------------------------------------------- report
def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _blocks(summary: Any) -> list[Block]:
    """The report's content, from a `DemoSummary`."""
    out_dir: Path = summary.out_dir
    rel = {k: _rel(v, out_dir) for k, v in summary.artifacts.items()}
    m = summary.metrics
    bar = "meets" if summary.detects else "does NOT meet"
    blocks: list[Block] = [
        ("h1", "LESPS demo report"),
        ("p", f"{'Quick' if summary.quick else 'Default'} demo in `{out_dir}`, {summary.seconds:.0f} s in all. "
              "A synthetic infrared dataset was made, labelled with one point per target, used to train ACM "
              "with LESPS label evolution on the CPU, evaluated, exported to ONNX, benchmarked, and run on a video."),
        ("h2", "Test split metrics"),
        ("table", ["IoU %", "nIoU %", "Pd %", "Fa (1e-6)", "detected / targets", "images"],
         [[_pct(m["IoU"]), _pct(m["nIoU"]), _pct(m["Pd"]), f"{1e6 * m['Fa']:.2f}",
           f"{m['detected']} / {m['targets']}", str(m["images"])]]),
        ("p", f"The model {bar} the demo's bar ({DEMO_BAR})."
              + (" Quick mode trains for seconds only; its numbers mean nothing." if summary.quick else "")),
        ("h2", "Label evolution"),
        ("p", "IoU of the training labels (thresholded at 0.5) against the full masks, which training never "
              "sees: the points grow into masks as the network's own predictions are folded back in."),
        ("table", ["round", "after epoch", "label IoU %"],
         [["0 (points)", "-", _pct(summary.initial_label_iou)]]
         + [[str(i), str(e), _pct(iou)] for i, e, iou in summary.rounds]),
        ("img", rel["figure_evolution"], "Evolved labels over rounds (heat map 0..1; green: the true mask)."),
        ("h2", "ONNX export"),
        ("p", f"`{rel['onnx']}`: max |probability difference| against PyTorch on the test split "
              f"{summary.parity_max_abs_diff:.2g}, evaluation counts {'identical' if summary.parity_ok else 'DIFFERENT'}."),
        ("h2", "Benchmark (CPU, batch 1)"),
        ("table", ["backend", "precision", "imgsz", "p50 ms", "p90 ms", "img/s", "speed-up", "runs"],
         [[r["backend"], r["precision"], str(r["imgsz"]), f"{r['p50_ms']:.2f}", f"{r['p90_ms']:.2f}",
           f"{r['ips']:.1f}", "-" if r["speedup"] is None else f"{r['speedup']:.2f}x", str(r["runs"])]
          for r in summary.benchmark]),
        ("p", f"Full tables: `{rel['benchmark_md']}`."),
        ("h2", "Detections"),
        ("img", rel["figure_overlays"], "Test frames: truth circled (left), detections of the ONNX model (right)."),
        ("p", f"Video `{rel['video']}`: {summary.video['frames']} frames at {summary.video['fps']:.1f} FPS; "
              f"{summary.video['found']} of {summary.video['truth']} true target positions found (within 3 px), "
              f"{summary.video['extra']} other detections. Annotated: `{rel['annotated_video']}`."),
    ]  # fmt: skip
    if "figure_video" in rel:
        blocks.append(("img", rel["figure_video"], "A frame of the annotated video."))
    blocks += [
        ("h2", "Synthetic data"),
        ("img", rel["figure_samples"], "Synthetic frames (sky, sea, ground), targets circled."),
        ("h2", "Steps"),
        ("table", ["step", "seconds"], [[k, f"{v:.1f}"] for k, v in summary.step_seconds.items()]),
        ("h2", "Artifacts"),
        ("table", ["artifact", "path"], [[k, f"`{v}`"] for k, v in rel.items()]),
    ]
    return blocks


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), "|" + "---|" * len(headers), *(line(row) for row in rows)])


_MARKDOWN: dict[str, Callable[..., str]] = {
    "h1": lambda text: f"# {text}",
    "h2": lambda text: f"## {text}",
    "p": lambda text: text,
    "table": _md_table,
    "img": lambda path, caption: f"![{caption}]({path})\n\n*{caption}*",
    "ul": lambda items: "\n".join(f"- {item}" for item in items),
}


def render_markdown(blocks: Sequence[Block]) -> str:
    """Markdown of the blocks (images by relative path)."""
    return "\n\n".join(_MARKDOWN[kind](*args) for kind, *args in blocks) + "\n"


def _code(text: str) -> str:
    """Escape text, then turn `backticks` into <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _html_table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_code(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_code(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_image(root: Path) -> Callable[[str, str], str]:
    def render(path: str, caption: str) -> str:
        data = base64.b64encode((root / path).read_bytes()).decode("ascii")
        return (
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_code(caption)} (<code>{html.escape(path)}</code>)</figcaption></figure>"
        )

    return render


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "th{background:#f3f3f3}img{max-width:100%;image-rendering:pixelated}figure{margin:1em 0}"
    "figcaption{font-size:90%;color:#555}code{background:#f3f3f3;padding:0 3px}"
)


def render_html(blocks: Sequence[Block], root: Path) -> str:
    """A standalone HTML page of the blocks; images under `root` are inlined as base64 PNG."""
    renderers: dict[str, Callable[..., str]] = {
        "h1": lambda text: f"<h1>{_code(text)}</h1>",
        "h2": lambda text: f"<h2>{_code(text)}</h2>",
        "p": lambda text: f"<p>{_code(text)}</p>",
        "table": _html_table,
        "img": _html_image(root),
        "ul": lambda items: "<ul>" + "".join(f"<li>{_code(i)}</li>" for i in items) + "</ul>",
    }
    body = "\n".join(renderers[kind](*args) for kind, *args in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>LESPS demo report</title>'
        f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def write_report(summary: Any) -> tuple[Path, Path]:
    """Write `summary.report_md` and `summary.report_html` from a `DemoSummary`."""
    blocks = _blocks(summary)
    atomic_write_text(summary.report_md, render_markdown(blocks))
    atomic_write_text(summary.report_html, render_html(blocks, summary.out_dir))
    return summary.report_md, summary.report_html
