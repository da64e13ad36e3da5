"""INT8 calibration frames on the CPU: which files, and fixed-shape batches for the TensorRT 10 calibrator.

`calibration_files` picks the frames of every INT8 path. `CalibrationBatches` feeds the TensorRT 10
calibrator (tensorrt.py wraps it), which needs the one shape of its optimization profile; the QDQ
graphs of ONNX Runtime and TensorRT 11 are calibrated frame by frame at their inference size
(quantize.FrameReader). Frames are normalized and zero padded
bottom/right like inference; frames larger than the calibration size are cropped top-left so
every batch has the one shape of the optimization profile. Frames of another bit depth than the
model's are mapped as in inference (`lesps_deploy.data.bit_depth`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lesps_deploy.data import IMAGE_SUFFIXES, FrameMapper, Norm, find_image, normalize, read_image, read_split
from lesps_deploy.errors import ConfigError, DataError

__all__ = ["MIN_RELIABLE_IMAGES", "CalibrationBatches", "calibration_files"]

logger = logging.getLogger(__name__)

MIN_RELIABLE_IMAGES = 300


def calibration_files(dataset_dir: str | Path, limit: int, split: str = "train") -> list[Path]:
    """Up to `limit` frames: the `split` list when the folder has one, else every image in images/."""
    root = Path(dataset_dir)
    if not (root / "images").is_dir():
        raise ConfigError(f"{root}: --calib-data needs a dataset folder with images/")
    try:
        files = [find_image(root, name) for name in read_split(root, split)]
    except DataError:
        files = sorted(p for p in (root / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(f"{root}/images: no calibration images found")
    files = files[:limit]
    if len(files) < MIN_RELIABLE_IMAGES:
        logger.warning(
            "INT8 calibration on %d images (< %d) is unreliable; add images or check accuracy with --verify",
            len(files), MIN_RELIABLE_IMAGES,
        )  # fmt: skip
    return files


class CalibrationBatches:
    """Fixed-shape float32 batches `(batch, 1, H, W)` of normalized, padded calibration frames.

    Args:
        files: image files (see `calibration_files`).
        norm: the model's normalization.
        batch: frames per batch; a last partial batch is filled with frames from the start.
        imgsz: (H, W) of every batch (multiples of the pad multiple).
        mapper: the model's frame mapping (default: an 8-bit model, agc for 16-bit frames).
    """

    def __init__(
        self,
        files: list[Path],
        norm: Norm,
        batch: int,
        imgsz: tuple[int, int],
        mapper: FrameMapper | None = None,
    ) -> None:
        if batch < 1:
            raise ConfigError(f"calibration batch must be >= 1, got {batch}")
        self.files = list(files)
        self.norm = norm
        self.batch = batch
        self.imgsz = imgsz
        self.mapper = mapper or FrameMapper()

    def __len__(self) -> int:
        return -(-len(self.files) // self.batch)

    def frame(self, path: Path) -> np.ndarray:
        """One (1, H, W) input: normalize, then zero pad bottom/right (or crop) to `imgsz`."""
        img = normalize(self.mapper(read_image(path), path.name), self.norm)
        h, w = self.imgsz
        out = np.zeros((1, h, w), np.float32)  # zeros after normalization == inference padding
        ch, cw = min(h, img.shape[0]), min(w, img.shape[1])
        out[0, :ch, :cw] = img[:ch, :cw]
        return out

    def __iter__(self) -> Iterator[np.ndarray]:
        n = len(self.files)
        for start in range(0, n, self.batch):
            idx = [(start + k) % n for k in range(self.batch)]
            yield np.stack([self.frame(self.files[i]) for i in idx])
