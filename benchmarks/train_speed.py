"""Epoch time of `lesps train` against the authors' training loop, same machine, same run.

Both train ACM on the NUAA-SIRST train split (213 images) at batch 16, patch 256, Adam 5e-4, full masks
as labels (so no evolution round is timed on either side), float32 on the CPU. Each setting runs in a
fresh interpreter for `--epochs` epochs, the first of which (allocations, caches) is not counted; the
settings alternate `--repeats` times so a drifting load hits all of them. Printed: the median epoch
seconds of each setting and its speed-up over the authors' loop (target >= 1.5 for `lesps`).

The baseline is written here the way the authors' `train.py` works (XinyiYing/LESPS; reimplemented,
not copied): a dataset that reads each image and mask from disk with PIL at every access, normalizes
the whole frame, zero-pads and crops a random patch, flips/transposes with Python's `random`; a
shuffling DataLoader (one worker), the CornerNet-style focal loss written term by term, and the
libraries' defaults (PyTorch's thread count, OpenMP's own wait policy, contiguous NCHW tensors).

Settings: `authors`; `authors-1t` (the same at one thread: the loops compared at equal threads, on a
machine where the thread default matters); `lesps` (the defaults of `lesps train`); `lesps-no-cl` (--no-channels-last),
`lesps-no-prefetch` (--no-prefetch), `lesps-1t` (--threads 1): each removes one change;
`lesps-compile` adds --compile (its first epoch, which compiles, is not counted); `lesps-passive` runs
with OpenMP workers that never spin (`OMP_WAIT_POLICY=PASSIVE`, the default before the short spin).

    python benchmarks/train_speed.py [--data DIR] [--epochs 3] [--repeats 2] [--settings authors,lesps]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LESPS_SHARED", ROOT.parent / "shared"))
SETTINGS: dict[str, list[str]] = {
    "authors": [],
    "authors-1t": [],
    "lesps": [],
    "lesps-no-cl": ["--no-channels-last"],
    "lesps-no-prefetch": ["--no-prefetch"],
    "lesps-1t": ["--threads", "1"],
    "lesps-compile": ["--compile"],
    "lesps-passive": [],
}
# Settings that differ from `lesps` in the environment only.
SETTING_ENV: dict[str, dict[str, str]] = {"lesps-passive": {"OMP_WAIT_POLICY": "PASSIVE"}}
# Variables that would change either side's thread policy; the children start without them.
_CONTROLLED = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "MKL_NUM_THREADS")


def _authors_epochs(data: Path, epochs: int, seed: int) -> list[float]:
    """The authors' loop (see the module docstring); returns each epoch's seconds."""
    import numpy as np
    import torch
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset

    from lesps_deploy.models import create_model

    names = (data / "img_idx" / f"train_{data.name}.txt").read_text().split()
    pixels = np.concatenate(
        [np.asarray(Image.open(data / "images" / f"{n}.png").convert("I")).ravel() for n in names]
    )
    mean, std = float(pixels.mean()), float(pixels.std())

    class TrainSet(Dataset):
        def __len__(self) -> int:
            return len(names)

        def __getitem__(self, idx: int):
            img = Image.open(data / "images" / f"{names[idx]}.png").convert("I")
            mask = Image.open(data / "masks" / f"{names[idx]}.png")
            img = (np.array(img, dtype=np.float32) - mean) / std
            mask = np.array(mask, dtype=np.float32) / 255.0
            if mask.ndim == 3:
                mask = mask[:, :, 0]
            h, w = img.shape
            mask = mask[:h, :w]
            size = 256
            if h < size or w < size:
                img = np.pad(img, ((0, max(h, size) - h), (0, max(w, size) - w)), mode="constant")
                mask = np.pad(mask, ((0, max(h, size) - h), (0, max(w, size) - w)), mode="constant")
                h, w = img.shape
            top, left = random.randint(0, h - size), random.randint(0, w - size)
            img, mask = img[top : top + size, left : left + size], mask[top : top + size, left : left + size]
            if random.random() < 0.5:
                img, mask = img[::-1, :], mask[::-1, :]
            if random.random() < 0.5:
                img, mask = img[:, ::-1], mask[:, ::-1]
            if random.random() < 0.5:
                img, mask = img.transpose(1, 0), mask.transpose(1, 0)
            return (
                torch.from_numpy(np.ascontiguousarray(img))[None],
                torch.from_numpy(np.ascontiguousarray(mask))[None],
            )

    def focal(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        pos = gt.eq(1).float()
        neg = gt.lt(1).float()
        neg_weights = torch.pow(1 - gt, 4)
        pred = pred.clamp(1e-12, 1 - 1e-12)
        pos_loss = (torch.log(pred) * torch.pow(1 - pred, 2) * pos).sum()
        neg_loss = (torch.log(1 - pred) * torch.pow(pred, 2) * neg_weights * neg).sum()
        num_pos = pos.sum()
        return -neg_loss if num_pos == 0 else -(pos_loss + neg_loss) / num_pos

    random.seed(seed)
    torch.manual_seed(seed)
    net = create_model("ACM").train()
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-4)
    loader = DataLoader(TrainSet(), batch_size=16, shuffle=True, num_workers=1)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        losses = []
        for img, mask in loader:
            pred = net(img)
            loss = focal(pred, mask)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.detach().cpu())
        float(torch.stack(losses).mean())
        seconds.append(time.perf_counter() - start)
    return seconds


def _lesps_epochs(
    data: Path, epochs: int, seed: int, extra: list[str], work: Path, extra_env: dict[str, str]
) -> list[float]:
    """`lesps train` for `epochs` epochs; each epoch's seconds from its run log."""
    run = Path(tempfile.mkdtemp(dir=work)) / "run"
    cmd = [
        sys.executable, "-m", "lesps_deploy.cli", "train", "--model", "ACM", "--data", str(data),
        "--labels", "full", "--epochs", str(epochs), "--eval-every", "0",
        "--norm", "auto", "--device", "cpu", "--seed", str(seed), "--out", str(run), *extra,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in _CONTROLLED} | extra_env
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"lesps train failed:\n{done.stderr[-3000:]}")
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [e["seconds"] for e in events if e["event"] == "epoch"]


def _prepare(data: Path, work: Path, images: int | None = None) -> Path:
    """The dataset with its train split (its first `images` only, when given) and a two-image test split
    (the final evaluation is not timed, only shortened), linked into `work`."""
    out = work / data.name
    (out / "img_idx").mkdir(parents=True)
    for folder in ("images", "masks"):
        (out / folder).symlink_to((data / folder).resolve())
    split = data / "img_idx"
    train = (split / f"train_{data.name}.txt").read_text().split()[:images]
    (out / "img_idx" / f"train_{data.name}.txt").write_text("\n".join(train) + "\n")
    test = (split / f"test_{data.name}.txt").read_text().split()[:2]
    (out / "img_idx" / f"test_{data.name}.txt").write_text("\n".join(test) + "\n")
    return out


def _child(setting: str, data: Path, epochs: int, seed: int, work: Path) -> list[float]:
    if setting.startswith("authors"):
        env = {k: v for k, v in os.environ.items() if k not in _CONTROLLED}
        if setting == "authors-1t":  # one thread, to compare the loops at equal threads
            env["OMP_NUM_THREADS"] = "1"
        done = subprocess.run(
            [sys.executable, __file__, "--worker", "--data", str(data), "--epochs", str(epochs), "--seed", str(seed)],
            env=env, cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"authors' loop failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    return _lesps_epochs(data, epochs, seed, SETTINGS[setting], work, SETTING_ENV.get(setting, {}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED / "datasets" / "NUAA-SIRST")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per child; the first is not counted")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--images", type=int, default=None, help="first N train images only (a shorter run on a busy machine)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--settings", default="authors,lesps")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(_authors_epochs(args.data, args.epochs, args.seed)))
        return
    names = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = sorted(set(names) - set(SETTINGS))
    if unknown or args.epochs < 2:
        raise SystemExit(
            f"--settings: unknown {unknown}; choose from {', '.join(SETTINGS)} (and --epochs >= 2)"
        )
    times: dict[str, list[float]] = {n: [] for n in names}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="train-speed-") as tmp:
        data = _prepare(args.data, Path(tmp), args.images)
        for rep in range(args.repeats):
            for name in names:
                epochs = _child(name, data, args.epochs, args.seed, Path(tmp))
                times[name] += epochs[1:]
                print(f"  repeat {rep + 1} {name:18s} epochs (s): {' '.join(f'{s:.2f}' for s in epochs)}",
                      file=sys.stderr, flush=True)  # fmt: skip
    load_after = os.getloadavg()
    base = statistics.median(times["authors"]) if "authors" in times else None
    print(
        f"\nACM, {args.data.name} train ({args.images or 'all'} images), batch 16, patch 256, fp32, CPU; "
        f"{args.repeats} x {args.epochs - 1} epochs each"
    )
    print(f"{'setting':20s}{'median epoch s':>16s}{'speed-up':>10s}")
    rows = []
    for name in names:
        med = statistics.median(times[name])
        speed = base / med if base else None
        rows.append({"setting": name, "median_s": med, "epochs_s": times[name], "speedup": speed})
        print(f"{name:20s}{med:16.2f}{'' if speed is None else f'{speed:10.2f}'}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; cores {os.cpu_count()}")
    if args.json:
        args.json.write_text(
            json.dumps({"rows": rows, "load": [load_before, load_after], "epochs": args.epochs}, indent=1)
        )


if __name__ == "__main__":
    main()
