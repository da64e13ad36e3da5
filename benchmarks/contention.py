"""Speed on a busy machine: a training step, an evaluate pass and a predict run, quiet vs contended.

Each workload runs in a fresh interpreter (thread pools and OpenMP's wait policy are fixed when
torch loads), once on the machine as it is ("quiet") and once while a competing process keeps one core
busy with a pure-Python loop ("busy"), under two settings in the same run:

- `old`: the libraries' own defaults, as before `--threads` existed (PyTorch: one thread per core,
  OpenMP workers spin; ONNX Runtime sessions with their default spinning);
- `new`: what every `lesps` command does now (`lesps_deploy.threads`: the cores this process may use,
  OpenMP's workers spinning only briefly (`GOMP_SPINCOUNT`), ONNX Runtime without spinning when it
  has several threads);
- `passive`: `new` with OpenMP workers that never spin (`OMP_WAIT_POLICY=PASSIVE`, the earlier default);
- `1` (optional): `--threads 1`.

Workloads (synthetic data made once per run, so no dataset is needed): `train` = median of a few ACM
training steps (batch 8, 128x128 crops, LESPS loss, Adam); `evaluate` = `evaluate` of an ACM
ONNX export over the test split (32 frames, 256x256); `predict` = `predict` over a 60-frame video.
Prints a table with busy/quiet ratios (target <= 1.5) and writes every figure with `--json PATH`.

Usage:
    python benchmarks/contention.py [--configs old,new] [--repeats 1] [--json contention.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lesps_deploy.io import json_text

WORKLOADS = ("train", "evaluate", "predict")
# Variables the settings control; removed from the child's environment so the caller's (the test
# suite pins OMP_NUM_THREADS=1) do not leak into either setting.
_CONTROLLED = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "MKL_NUM_THREADS")


def _prepare(work: Path) -> None:
    """Synthetic dataset + video and an ACM checkpoint with its ONNX export, in `work`."""
    import torch

    from lesps_deploy.data.synth import make_dataset
    from lesps_deploy.data.synth_config import SynthConfig
    from lesps_deploy.export.onnx_cache import cached_onnx
    from lesps_deploy.metadata import ModelMeta
    from lesps_deploy.models import create_model, save_checkpoint

    summary = make_dataset(work / "Synth", SynthConfig(images=64, size=256, seed=0, video_frames=60))
    torch.manual_seed(0)
    ckpt = save_checkpoint(work / "acm.pth", create_model("ACM"), ModelMeta(model="ACM", mean=90.0, std=30.0))
    onnx_path = cached_onnx(ckpt, root=work / "onnx")
    (work / "paths.json").write_text(
        json_text({"data": str(summary.root), "video": str(summary.video.path), "onnx": str(onnx_path)})
    )


def _train_step_seconds(paths: dict[str, str], steps: int = 4) -> float:
    import numpy as np
    import torch

    from lesps_deploy.data import find_image, read_image, read_split
    from lesps_deploy.models import create_model
    from lesps_deploy.training.loss import lesps_loss

    names = read_split(paths["data"], "train")[:8]
    crops = np.stack([read_image(find_image(paths["data"], n))[:128, :128] for n in names]).astype(np.float32)
    x = torch.from_numpy((crops[:, None] - 90.0) / 30.0)
    y = (torch.rand_like(x) > 0.995).float()
    torch.manual_seed(0)
    net = create_model("ACM")
    opt = torch.optim.Adam(net.parameters(), lr=5e-4)
    times = []
    for i in range(steps + 1):
        start = time.perf_counter()
        opt.zero_grad()
        lesps_loss(net(x), y).backward()
        opt.step()
        if i:  # the first step allocates and is not timed
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _evaluate_seconds(paths: dict[str, str]) -> float:
    from lesps_deploy.apis.evaluation import EvalConfig, evaluate

    start = time.perf_counter()
    evaluate(EvalConfig(weights=Path(paths["onnx"]), data=Path(paths["data"])))
    return time.perf_counter() - start


def _predict_seconds(paths: dict[str, str], out: Path) -> float:
    from lesps_deploy.apis.prediction import PredictConfig, predict

    start = time.perf_counter()
    predict(PredictConfig(source=paths["video"], weights=Path(paths["onnx"]), out=out))
    return time.perf_counter() - start


def _worker(workload: str, setting: str, work: Path) -> None:
    """In the child: apply `setting`, run `workload`, print its seconds as JSON."""
    if setting != "old":
        from lesps_deploy.threads import process_env, use_threads

        if setting == "passive":  # the earlier default: no spin at all
            os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        process_env()
        use_threads(None if setting in ("new", "passive") else int(setting))
    else:
        # The libraries' defaults: PyTorch one thread per core, ONNX Runtime spinning its own pool.
        import lesps_deploy.threads as threads

        threads.ort_thread_options = lambda so, n: setattr(so, "intra_op_num_threads", n)  # no spin policy
    paths = json.loads((work / "paths.json").read_text())
    if workload == "train":
        seconds = _train_step_seconds(paths)
    elif workload == "evaluate":
        seconds = _evaluate_seconds(paths)
    else:
        seconds = _predict_seconds(paths, Path(tempfile.mkdtemp(dir=work)) / "predict")
    print(json_text({"seconds": seconds}))


def _run_child(workload: str, setting: str, work: Path, busy: bool) -> float:
    env = {k: v for k, v in os.environ.items() if k not in _CONTROLLED}
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", workload, "--setting", setting, "--work", str(work)],
            capture_output=True, text=True, env=env, timeout=300, check=False,
        )  # fmt: skip
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    if done.returncode != 0:
        raise SystemExit(f"{workload}/{setting}: worker failed:\n{done.stderr[-2000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        default="old,new",
        help="comma list of settings: old, new, passive (new without any spin), or a thread count",
    )
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=1, help="quiet/busy pairs per cell (median)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--setting", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _worker(args.worker, args.setting, args.work)

    from lesps_deploy.threads import available_cores

    begin = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="contention-") as tmp:
        work = Path(tmp)
        _prepare(work)
        for workload in args.workloads.split(","):
            for setting in args.configs.split(","):
                quiet, busy = [], []
                for _ in range(args.repeats):  # alternate so drifting load hits both
                    quiet.append(_run_child(workload, setting, work, busy=False))
                    busy.append(_run_child(workload, setting, work, busy=True))
                q, b = statistics.median(quiet), statistics.median(busy)
                rows.append({"workload": workload, "setting": setting, "quiet_s": q, "busy_s": b,
                             "ratio": b / q, "quiet_runs": quiet, "busy_runs": busy})  # fmt: skip
                print(f"  {workload:9s} {setting:4s} quiet {q:7.3f} s  busy {b:7.3f} s  busy/quiet {b / q:5.2f}",
                      file=sys.stderr, flush=True)  # fmt: skip
    load = os.getloadavg()
    print(f"\n{'workload':10s}{'setting':>8s}{'quiet s':>10s}{'busy s':>10s}{'busy/quiet':>12s}{'<=1.5':>7s}")
    for r in rows:
        ok = "yes" if r["ratio"] <= 1.5 else "no"
        print(
            f"{r['workload']:10s}{r['setting']:>8s}{r['quiet_s']:10.3f}{r['busy_s']:10.3f}{r['ratio']:12.2f}{ok:>7s}"
        )
    print(f"\ncores this process may use: {available_cores()}; load average at the end: {load[0]:.2f}; "
          f"total {time.perf_counter() - begin:.0f} s")  # fmt: skip
    if args.json:
        from lesps_deploy.io import atomic_write_json

        atomic_write_json(args.json, {"rows": rows, "cores": available_cores(), "load_average": list(load)})


if __name__ == "__main__":
    main()
