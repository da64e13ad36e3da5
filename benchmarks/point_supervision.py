"""Point supervision on one small dataset: LESPS (paper rule, our default), LCM pseudo-masks, full masks.

Trains ACM on a dataset's train split alone (default: ../shared/datasets/NUAA-SIRST), on the CPU, with
the same schedule and seed for every row, two runs at a time at one thread each, and prints a table of
test IoU / nIoU / Pd / Fa, the final labels' IoU against the full masks, the epoch of the first evolution
round and the training time (epochs and rounds, from the run log); writes the table as JSON and Markdown and an SVG plot of label IoU per round.

Rows (centroid points unless the name ends in -coarse):
    paper          LESPS as published: --start-rule tloss (Tloss 10), points as initial labels, default
                   init, the paper's update (no envelope), running BatchNorm statistics, per-pixel loss
    previous       the defaults before the contrast-prior envelope (hits start rule, tophat initial
                   labels, prior 0.01, the paper's update, running statistics); folder `default/`
    envelope-only  the defaults of stop 28: previous + the envelope (evolution grows labels only inside
                   the top-hat prior's support); folder `default-v2/`
    no-size-balance  the defaults of stop 29: envelope-only + the pixels the envelope cuts left out of the
                   loss (--outside-envelope ignore) + precise BatchNorm statistics for the evaluations and
                   the final checkpoint (--precise-bn 64); folder `default-v3/`
    default        this project's defaults: no-size-balance + each labelled pixel's loss weighed by its
                   target's label mass to the power -0.5 (--size-balance 0.5); folder `size-balance-half/`
    no-envelope    default without the envelope (--envelope 0)
    no-ignore-cut  default with the cut pixels taught as background (--outside-envelope background)
    no-precise-bn  default with the running BatchNorm statistics (--precise-bn 0; the same training)
    decay          default + --decay 0.97 (PAL's shrinking of labels the network stops supporting)
    min-prob       default + --min-prob 0.5
    pos-crops      default + --pos-crops 0.5 (half the crops hold a labelled target)
    copy-paste     default + --copy-paste 0.5 (half the crops get one more target of the split)
    size-balance   default at --size-balance 1 (each labelled target carries the same loss, whatever its size)
    ...-coarse     the same with coarse points (masks_coarse/)
    lcm-tophat     fixed top-hat pseudo-masks grown from the centroid points (no evolution)
    lcm-mpcm       fixed MPCM pseudo-masks grown from the centroid points (no evolution)
    full           full masks (the upper bound), today's loss; folder `full-v2/`
    full-no-size-balance  full masks with the per-pixel loss (--size-balance 0); folder `full/`

A row names what it trains today: a run folder trained otherwise (a default changed since its run, or
another row's run) is refused before anything resumes or is read back, and `--report` marks it STALE.
A row that differs from another only in --precise-bn trains the same network: resuming a finished run
folder with `lesps train --resume RUN --precise-bn N` rewrites its final checkpoint and evaluation only.

`--split val` trains on the train split less a carved validation share (`training.data.carve_validation`;
`--val-fold K` carves another share with seed K)
and tests on that share: the split to choose defaults on. The test split is never used to choose.

Rerunning continues: finished rows are read back from their run folders, unfinished ones resume.
`--report` trains nothing and tables the run folders as they stand (unfinished rows say their epoch).

    python benchmarks/point_supervision.py [--data DIR] [--epochs 400] [--rows paper,default,...] [--report]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Any

from lesps_deploy.io import json_text
from lesps_deploy.options import declared, flag_of
from lesps_deploy.training.config import FIXED_LABELS, RESUME_OVERRIDABLE, TrainConfig

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LESPS_SHARED", ROOT.parent / "shared"))

_PAPER = [
    "--start-rule",
    "tloss",
    "--init-labels",
    "points",
    "--prior",
    "0",
    "--envelope",
    "0",
    "--precise-bn",
    "0",
]
_POINT_ROWS: dict[str, list[str]] = {
    "paper": _PAPER,
    "previous": ["--envelope", "0", "--precise-bn", "0", "--size-balance", "0"],
    "envelope-only": ["--outside-envelope", "background", "--precise-bn", "0", "--size-balance", "0"],
    "no-size-balance": ["--size-balance", "0"],
    "default": [],
    "no-envelope": ["--envelope", "0"],
    "no-ignore-cut": ["--outside-envelope", "background"],
    "no-precise-bn": ["--precise-bn", "0"],
    "decay": ["--decay", "0.97"],
    "min-prob": ["--min-prob", "0.5"],
    "pos-crops": ["--pos-crops", "0.5"],
    "copy-paste": ["--copy-paste", "0.5"],
    "size-balance": ["--size-balance", "1"],
}
ROWS: dict[str, list[str]] = {
    **{name: ["--labels", "centroid", *flags] for name, flags in _POINT_ROWS.items()},
    **{f"{name}-coarse": ["--labels", "coarse", *flags] for name, flags in _POINT_ROWS.items()},
    "lcm-tophat": ["--labels", "tophat"],
    "lcm-mpcm": ["--labels", "mpcm"],
    "full": ["--labels", "full"],
    "full-no-size-balance": ["--labels", "full", "--size-balance", "0"],
}
# Run folders of rows whose name changed after their runs started (they resume where they are).
FOLDERS: dict[str, str] = {
    "previous": "default",
    "envelope-only": "default-v2",
    "no-size-balance": "default-v3",
    "default": "size-balance-half",
    "envelope-only-coarse": "default-coarse",
    "no-size-balance-coarse": "default-v3-coarse",
    "default-coarse": "size-balance-half-coarse",
    "full": "full-v2",
    "full-no-size-balance": "full",
}
# What a run trains is every option but where it reads and writes and how it runs (those a resume may
# change), plus the schedule and the final statistics, which rows set.
_RUNTIME = {"data", "out", "resume", "given", "threads", *RESUME_OVERRIDABLE} - {"epochs", "precise_bn"}
_COMPARED = tuple(f.name for f in fields(TrainConfig) if f.name not in _RUNTIME)


# Options read only by label evolution.
_EVOLUTION = (
    "start_rule", "tloss", "start_hits", "init_labels", "tb", "k", "evolve_every", "envelope", "outside_envelope",
    "decay", "min_prob",
)  # fmt: skip


def row_config(name: str, epochs: int, seed: int) -> TrainConfig:
    """The training config row `name` stands for today (its flags over `lesps train`'s defaults)."""
    by_flag = {flag_of(f): f for f, _ in declared(TrainConfig)}
    flags = [*ROWS[name], "--norm", "auto"]
    given = {
        by_flag[k].name: type(by_flag[k].default)(v) for k, v in zip(flags[::2], flags[1::2], strict=True)
    }
    milestones = (epochs // 2, 3 * epochs // 4)
    return TrainConfig(model="ACM", epochs=epochs, milestones=milestones, seed=seed, **given)


def stale(name: str, run: Path, epochs: int, seed: int) -> list[str]:
    """How the run in folder `run` was trained differently from what row `name` means today (a default
    changed since, or the folder holds another row's run); empty when it matches or has not started."""
    path = run / "config.json"
    if not path.exists():
        return []
    saved, wanted = TrainConfig.from_json(path), row_config(name, epochs, seed)
    return [
        f"{k} {getattr(saved, k)!r} (row: {getattr(wanted, k)!r})"
        for k in _COMPARED
        if getattr(saved, k) != getattr(wanted, k) and k not in _unused(wanted)
    ]


def _unused(cfg: TrainConfig) -> set[str]:
    """Options that change nothing in a run of `cfg` (so a folder may differ in them)."""
    if cfg.labels in FIXED_LABELS:  # no evolution
        return set(_EVOLUTION)
    return {"outside_envelope"} if cfg.envelope is None else set()


def folder_of(name: str) -> str:
    """The run folder of row `name` under --out (rows renamed after their runs started keep theirs)."""
    return FOLDERS.get(name, name)


def _events(run: Path) -> list[dict[str, Any]]:
    path = run / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _summarise(name: str, run: Path, epochs: int) -> dict[str, Any]:
    events = _events(run)
    # Time from the run's own log (epochs and evolution rounds), so a resumed run counts each epoch once.
    seconds = sum(e["seconds"] for e in events if e["event"] in ("epoch", "evolution"))
    evals = [e for e in events if e["event"] == "eval"]
    final = next((e for e in reversed(evals) if e["epoch"] == epochs), evals[-1] if evals else {})
    rounds = [e for e in events if e["event"] == "evolution"]
    start = next((e for e in events if e["event"] == "labels"), {})
    curve = [start.get("label_iou")] + [r["label_iou"] for r in rounds]
    # Label IoU per target size and contrast, growth and misses (runs from before these were logged
    # have none).
    quality = [
        {k: v for k, v in e.items() if k not in ("event", "epoch", "round")}
        for e in events
        if e["event"] == "label_quality"
    ]
    return {
        "row": name,
        "IoU": final.get("IoU"),
        "nIoU": final.get("nIoU"),
        "Pd": final.get("Pd"),
        "Fa": final.get("Fa"),
        "label_iou_start": start.get("label_iou"),
        "label_iou_final": curve[-1],
        "rounds": len(rounds),
        "first_round_epoch": rounds[0]["epoch"] if rounds else None,
        "late_start_warning": any(e["event"] == "late_start" for e in events),
        "seconds": round(seconds, 1),
        "label_iou_per_round": curve,
        "label_quality_start": quality[0] if quality else None,
        "label_quality_final": quality[-1] if quality else None,
        "test_per_eval": [{k: e[k] for k in ("epoch", "IoU", "Pd", "Fa")} for e in evals],
        "run": str(run),
    }


def _run_row(name: str, args: argparse.Namespace, data: Path, out: Path) -> dict[str, Any]:
    run = out / folder_of(name)
    differs = stale(name, run, args.epochs, args.seed)
    if differs:
        raise SystemExit(
            f"{name}: {run} holds a run trained otherwise: {', '.join(differs)}; move it away or use another --out"
        )
    done = run / "result.json"
    if done.exists():  # finished; summarised afresh (a --resume --precise-bn N re-evaluates a run)
        return _summarise(name, run, args.epochs)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    lesps = [sys.executable, "-m", "lesps_deploy.cli"]
    if (run / "checkpoints" / "last.pth.tar").exists():
        cmd = [*lesps, "train", "--resume", str(run)]
    else:
        shutil.rmtree(run, ignore_errors=True)
        cmd = [
            *lesps, "train", "--model", "ACM", "--data", str(data), *ROWS[name], "--epochs", str(args.epochs),
            "--milestones", f"{args.epochs // 2},{3 * args.epochs // 4}", "--eval-every", str(args.eval_every),
            "--norm", "auto", "--device", "cpu", "--seed", str(args.seed), "--out", str(run),
        ]  # fmt: skip
    run.parent.mkdir(parents=True, exist_ok=True)
    with open(out / f"{folder_of(name)}.log", "a", encoding="utf-8") as logf:
        rc = subprocess.call(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT, cwd=ROOT)
    if rc != 0:
        raise SystemExit(f"{name}: lesps train failed (rc {rc}); see {out / (folder_of(name) + '.log')}")
    result = _summarise(name, run, args.epochs)
    done.write_text(json_text(result, indent=2), encoding="utf-8")
    return result


def _report_row(name: str, out: Path, epochs: int, seed: int) -> dict[str, Any]:
    """Row `name` as its run folder stands, without training: finished runs from their result, others
    from their log so far (their metrics are the latest evaluation's, marked with its epoch)."""
    run = out / folder_of(name)
    row = _summarise(name, run, epochs)
    differs = stale(name, run, epochs, seed)
    if differs:
        row["row"] = f"{name} (STALE, trained with {', '.join(differs)})"
    if (run / "result.json").exists():
        return row
    latest = row["test_per_eval"][-1]["epoch"] if row["test_per_eval"] else 0
    trained = max((e["epoch"] for e in _events(run) if e["event"] == "epoch"), default=0)
    return {**row, "row": f"{row['row']} (epoch {trained} of {epochs}; metrics of epoch {latest})"}


def _prepare(src: Path, out: Path, split: str = "test", fold: int = 0) -> Path:
    """A private copy of the dataset with the LCM pseudo-masks (../shared is never written); with
    `split` 'val', its train split is the carved train share and its test split the validation share
    (`fold`: the carving's seed, another held-out share of the same size)."""
    data = out / ("data" if split == "test" else "data-val" if fold == 0 else f"data-val{fold}") / src.name
    if not (data / "masks_mpcm").is_dir():
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(src, data)
        if split == "val":
            sys.path.insert(0, str(ROOT))
            from training.data import carve_validation

            index = data / "img_idx"
            names = (index / f"train_{src.name}.txt").read_text(encoding="utf-8").split()
            train, val = carve_validation(names, seed=fold)
            (index / f"train_{src.name}.txt").write_text("".join(names[i] + "\n" for i in train))
            (index / f"test_{src.name}.txt").write_text("".join(names[i] + "\n" for i in val))
        for method in ("tophat", "mpcm"):
            subprocess.check_call(
                [sys.executable, "-m", "lesps_deploy.cli", "labels", str(data), "--type", f"lcm-{method}"],
                cwd=ROOT,
            )
    return data


def _pct(value: float | None, scale: float = 100.0, digits: int = 2) -> str:
    return "-" if value is None else f"{scale * value:.{digits}f}"


def markdown(rows: list[dict[str, Any]], header: str) -> str:
    lines = [
        header,
        "",
        "| row | IoU | nIoU | Pd | Fa (1e-6) | label IoU start -> final | rounds | first round | train (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['row']} | {_pct(r['IoU'])} | {_pct(r['nIoU'])} | {_pct(r['Pd'])} | {_pct(r['Fa'], 1e6, 1)} "
            f"| {_pct(r['label_iou_start'])} -> {_pct(r['label_iou_final'])} | {r['rounds']} "
            f"| {r['first_round_epoch'] or 'never'} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def svg_plot(rows: list[dict[str, Any]]) -> str:
    """Label IoU (vs full masks) per evolution round, one line per row; round 0 is the initial labels."""
    width, height, pad = 640, 360, 48
    curves = {r["row"]: [v for v in r["label_iou_per_round"] if v is not None] for r in rows}
    longest = max((len(c) for c in curves.values()), default=1)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]

    def xy(i: int, v: float) -> str:
        x = pad + (width - 2 * pad) * i / max(longest - 1, 1)
        return f"{x:.1f},{height - pad - (height - 2 * pad) * v:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif"'
        ' font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
        f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">evolution round (0: initial labels)</text>',
        f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" text-anchor="middle">'
        "label IoU vs full masks</text>",
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = xy(0, tick).split(",")[1]
        parts.append(f'<text x="{pad - 6}" y="{y}" text-anchor="end">{tick:g}</text>')
    for k, (name, curve) in enumerate(curves.items()):
        colour = colours[k % len(colours)]
        if len(curve) > 1:
            points = " ".join(xy(i, v) for i, v in enumerate(curve))
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        elif curve:
            x, y = xy(0, curve[0]).split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="4" fill="{colour}"/>')
        parts.append(f'<text x="{width - pad - 100}" y="{pad + 16 * k}" fill="{colour}">{name}</text>')
    return "\n".join([*parts, "</svg>"]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED / "datasets" / "NUAA-SIRST")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "point_supervision")
    parser.add_argument("--rows", default="paper,previous,default,default-coarse,full")
    parser.add_argument("--split", default="test", choices=("test", "val"), help="val: carved from train")
    parser.add_argument(
        "--val-fold",
        type=int,
        default=0,
        help="with --split val: the carving's seed (another held-out 20 %%)",
    )
    parser.add_argument("--epochs", type=int, default=400, help="default: lesps train's schedule")
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--parallel", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument(
        "--report", action="store_true", help="train nothing: the table of the run folders as they stand"
    )
    parser.add_argument("--json", type=Path, default=None, help="default: OUT/point_supervision.json")
    args = parser.parse_args()
    names = [n.strip() for n in args.rows.split(",") if n.strip()]
    unknown = sorted(set(names) - set(ROWS))
    if unknown:
        raise SystemExit(f"--rows: unknown {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    if not args.data.is_dir():
        raise SystemExit(f"{args.data}: dataset folder not found")
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.data if args.report else _prepare(args.data, args.out, args.split, args.val_fold)
    # One run per folder (two row names may share a run); each row reads its folder's result.
    # Runs start in the order the rows are named.
    first: dict[str, str] = {}
    for n in names:
        first.setdefault(folder_of(n), n)
    if args.report:
        done = {f: _report_row(n, args.out, args.epochs, args.seed) for f, n in first.items()}
    else:
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            done = dict(
                zip(first, pool.map(lambda n: _run_row(n, args, data, args.out), first.values()), strict=True)
            )
    rows = [{**done[folder_of(n)], "row": n if not args.report else done[folder_of(n)]["row"]} for n in names]
    header = (
        f"ACM on {args.data.name} train alone{' less a validation share, tested on it' if args.split == 'val' else ''} ({args.epochs} epochs, milestones {args.epochs // 2}/"
        f"{3 * args.epochs // 4}, seed {args.seed}, CPU, {args.parallel} runs at a time at 1 thread); "
        "test split metrics in %, Fa in 1e-6"
    )
    table = markdown(rows, header)
    print(table)
    (args.out / "point_supervision.md").write_text(table, encoding="utf-8")
    (args.out / "label_iou.svg").write_text(svg_plot(rows), encoding="utf-8")
    json_out = args.json or args.out / "point_supervision.json"
    json_out.write_text(json_text({"header": header, "rows": rows}, indent=2), encoding="utf-8")
    print(f"wrote {json_out}, {args.out / 'point_supervision.md'}, {args.out / 'label_iou.svg'}")


if __name__ == "__main__":
    main()
