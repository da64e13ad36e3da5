"""Milliseconds per frame of `make_dataset` (synthetic infrared data), against a bare render-and-save loop.

The baseline renders the same frames with `synth_frame` and writes image and mask with OpenCV, in the
same run, so the ratio shows what the dataset writer adds (centroid labels, split lists, manifest,
atomic writes). Moved here from the tests: a wall-clock bound does not belong in a unit test.

    python benchmarks/synth_speed.py [--images 40] [--size 128]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from lesps_deploy.data.synth import make_dataset, synth_frame
from lesps_deploy.data.synth_config import SynthConfig


def baseline(out: Path, images: int, size: int) -> float:
    """Seconds to render and write `images` frames and masks with no dataset bookkeeping."""
    out.mkdir(parents=True)
    start = time.perf_counter()
    for i in range(images):
        image, mask = synth_frame(np.random.default_rng([0, i]), size)
        cv2.imwrite(str(out / f"{i}.png"), image)
        cv2.imwrite(str(out / f"{i}_mask.png"), mask)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base_s = baseline(Path(tmp) / "baseline", args.images, args.size)
        start = time.perf_counter()
        make_dataset(Path(tmp) / "synth", SynthConfig(images=args.images, size=args.size))
        ours_s = time.perf_counter() - start
    per = 1e3 / args.images
    print(f"{args.images} frames of {args.size}x{args.size}")
    print(f"render + write loop : {base_s * per:7.2f} ms/frame")
    print(f"make_dataset        : {ours_s * per:7.2f} ms/frame  ({ours_s / base_s:.2f}x the loop)")


if __name__ == "__main__":
    main()
