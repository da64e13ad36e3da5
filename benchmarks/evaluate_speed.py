"""Images/s of `lesps evaluate` vs a straightforward reference-style loop, measured in the same run.

In process: `evaluate` is timed end to end (checkpoint load, CPU fast path, evaluation).
As processes: whole `lesps evaluate` runs of the same checkpoint, the first with an empty ONNX cache
(it exports) and the second from the cache, against the baseline loop run as a process the same way.
Start-up is process start to the first image evaluated (`lesps -v` logs that moment; the baseline
prints it). Baseline: batch 1, one image at a time (decode, normalize, pad, forward, crop), metrics with
skimage-regionprops-style Python loops over each component's pixel coordinates. All must give
identical counts.

    python benchmarks/evaluate_speed.py [--weights W] [--data DIR] [--norm SIRST3] [--no-processes]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from lesps_deploy.apis.evaluation import EvalConfig, evaluate
from lesps_deploy.data import IRSTDDataset, fit_mask, pad_reference, read_image, read_mask, resolve_norm
from lesps_deploy.io import json_text
from lesps_deploy.runtime import load_runtime

SHARED = Path(__file__).resolve().parents[2] / "shared"


def regions(binary: np.ndarray) -> list[tuple[int, float, float]]:
    labels, n = ndimage.label(binary, structure=np.ones((3, 3)))
    out = []
    for k in range(1, n + 1):
        coords = np.argwhere(labels == k)  # one full-image pass per component, like regionprops' coords
        out.append((len(coords), float(coords[:, 0].mean()), float(coords[:, 1].mean())))
    return out


def baseline(
    weights: Path, data: Path, norm_name: str, on_first: Callable[[], None] = lambda: None
) -> tuple[dict[str, int], float]:
    start = time.perf_counter()  # model loading included, as for `lesps evaluate`
    backend = load_runtime(weights)
    norm = resolve_norm(norm_name)
    ds = IRSTDDataset(data, "test")
    totals = dict.fromkeys(
        ("intersection", "union", "targets", "detected", "false_alarm_pixels", "pixels"), 0
    )
    for name in ds.names:
        img = read_image(ds.image_path(name))
        mask = fit_mask(read_mask(ds.mask_path(name)), *img.shape).astype(np.float32) / 255.0
        padded = pad_reference((img - norm.mean) / norm.std, backend.meta.pad_multiple)
        x = torch.from_numpy(padded[None, None].astype(np.float32))
        with torch.no_grad():
            pred = backend.module(x)[0, 0, : img.shape[0], : img.shape[1]].numpy() > 0.5
        inter = int((pred & (mask == 1.0)).sum())
        totals["intersection"] += inter
        totals["union"] += int(pred.sum()) + int(((mask >= 0.5) & (mask <= 1.5)).sum()) - inter
        gts, preds = regions(mask.astype(np.int64) > 0), regions(pred)
        areas, matched = [a for a, _, _ in preds], []
        for _, gr, gc in gts:
            for m, (area, pr, pc) in enumerate(preds):
                if np.hypot(pr - gr, pc - gc) < 3:
                    matched.append(area)
                    del preds[m]
                    break
        totals["targets"] += len(gts)
        totals["detected"] += len(matched)
        totals["false_alarm_pixels"] += int(sum(a for a in areas if a not in matched))
        totals["pixels"] += pred.size
        if name == ds.names[0]:
            on_first()
    return totals, time.perf_counter() - start


_FIRST = re.compile(r"first image evaluated at ([0-9.]+)")


def _timed_process(cmd: list[str], env: dict[str, str]) -> dict[str, float | str]:
    """Wall time of a process and the moment (epoch s) it reported its first evaluated image."""
    start = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    wall = time.time() - start
    found = _FIRST.search(done.stdout + done.stderr)
    if found is None:
        raise RuntimeError(f"no first-image stamp from {cmd[:4]}...: {done.stderr[-500:]}")
    return {"wall_s": wall, "startup_s": float(found.group(1)) - start, "output": done.stdout}


def processes(args: argparse.Namespace, n: int, cache: str) -> None:
    """Whole processes: the baseline loop, then `lesps evaluate` twice on an emptied ONNX cache."""
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "XDG_CACHE_HOME": cache, "COLUMNS": "200"}
    common = ["--weights", str(args.weights), "--data", str(args.data), "--norm", args.norm]
    base = _timed_process([sys.executable, __file__, "--baseline-process", *common], env)
    base_counts = json.loads(str(base["output"]).strip().splitlines()[-1])
    runs, same = {}, True
    for label in ("first (export)", "second (cached)"):
        out = Path(cache) / f"{label.split()[0]}.json"
        cmd = [sys.executable, "-m", "lesps_deploy.cli", "-v", "evaluate", str(args.weights)]
        runs[label] = _timed_process([*cmd, *common[2:], "--json", str(out)], env)
        summary = json.loads(out.read_text())
        same = same and all(summary[k] == v for k, v in base_counts.items())
    print(f"as processes ({n} images; start-up = process start to first image evaluated):")
    print(f"  baseline loop                  : {base['wall_s']:6.2f} s  start-up {base['startup_s']:5.2f} s")
    for label, run in runs.items():
        print(
            f"  lesps evaluate, {label:<15}: {run['wall_s']:6.2f} s  start-up {run['startup_s']:5.2f} s  "
            f"speed-up {base['wall_s'] / run['wall_s']:.2f}x"
        )
    second = runs["second (cached)"]["startup_s"]
    print(f"  second-run start-up {second:.2f} s (target <= 1 s): {'ok' if second <= 1.0 else 'MISSED'}")
    print(f"  identical counts: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--weights", type=Path, default=SHARED / "weights/lesps-official/ACM_LESPS_centroid.pth.tar"
    )
    parser.add_argument("--data", type=Path, default=SHARED / "datasets/NUAA-SIRST")
    parser.add_argument("--norm", default="SIRST3")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--no-processes", action="store_true", help="Skip the whole-process timings.")
    parser.add_argument("--baseline-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_process:  # one timed process of `processes`: run the loop, report its first image
        stamp = lambda: print(f"first image evaluated at {time.time():.6f}", flush=True)  # noqa: E731
        counts, _ = baseline(args.weights, args.data, args.norm, on_first=stamp)
        print(json_text(counts))
        return

    # A private, empty ONNX cache: the in-process run includes the export, as a first `lesps evaluate` does.
    cache = tempfile.mkdtemp(prefix="lesps-bench-cache-")
    os.environ["XDG_CACHE_HOME"] = cache
    base_counts, base_s = baseline(args.weights, args.data, args.norm)
    start = (
        time.perf_counter()
    )  # end to end, as `lesps evaluate` runs: load, (CPU fast path) export, evaluate
    report = evaluate(EvalConfig(args.weights, args.data, norm=args.norm, batch_size=args.batch_size))
    ours_s = time.perf_counter() - start
    eager_start = time.perf_counter()
    eager = evaluate(EvalConfig(args.weights, args.data, norm=args.norm, backend="torch"))
    eager_s = time.perf_counter() - eager_start
    ours = {k: report.to_dict()[k] for k in base_counts}
    n = report.images
    print(f"images: {n}  torch threads: {torch.get_num_threads()}")
    print(f"baseline loop    : {base_s:7.2f} s  {n / base_s:7.1f} images/s")
    print(
        f"lesps evaluate   : {ours_s:7.2f} s  {n / ours_s:7.1f} images/s  (default: ONNX Runtime fast path)"
    )
    print(
        f"  --backend torch: {eager_s:7.2f} s  {n / eager_s:7.1f} images/s  (eager PyTorch, overlapped decode)"
    )
    print(f"speed-up         : {base_s / ours_s:7.2f}x   (target >= 2x); eager path {base_s / eager_s:.2f}x")
    same = ours == base_counts == {k: eager.to_dict()[k] for k in base_counts}
    print(f"identical counts : {same}  {ours}")
    if not args.no_processes:
        processes(args, n, cache)
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
