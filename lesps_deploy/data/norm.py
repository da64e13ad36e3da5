"""Input normalization: presets of the paper's code, dataset statistics, or explicit numbers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lesps_deploy.errors import ConfigError
from lesps_deploy.metadata import ModelMeta

if TYPE_CHECKING:
    from lesps_deploy.data.bit_depth import FrameMapper

__all__ = [
    "Norm",
    "NORM_PRESETS",
    "PRESET_BITS",
    "NORM_HINT",
    "resolve_norm",
    "model_norm",
    "normalize",
    "dataset_norm",
]


@dataclass(frozen=True, slots=True)
class Norm:
    """`(x - mean) / std` on raw pixel values."""

    mean: float
    std: float

    def __str__(self) -> str:
        return f"{self.mean:g},{self.std:g}"


# Per-dataset statistics used by the LESPS / BasicIRSTD code (float32 values written out in full).
NORM_PRESETS: dict[str, Norm] = {
    "NUAA-SIRST": Norm(101.06385040283203, 34.619606018066406),
    "NUDT-SIRST": Norm(107.80905151367188, 33.02274703979492),
    "IRSTD-1K": Norm(87.4661865234375, 39.71953201293945),
    "SIRST3": Norm(95.010, 41.511),
    "NUDT-SIRST-Sea": Norm(43.62403869628906, 18.91838264465332),
}

# The presets are statistics of 8-bit frames (values 0..255).
PRESET_BITS = 8

# The one hint every "normalization unknown" error gives.
NORM_HINT = "pass --norm PRESET|auto|MEAN,STD (the released LESPS checkpoints use --norm SIRST3)"


def dataset_norm(dataset_dir: str | Path, progress: bool = False, mapper: FrameMapper | None = None) -> Norm:
    """Mean of per-image means and mean of per-image stds over the train+test lists (reference rule).

    With `mapper`, of the frames as the model will see them (16-bit frames mapped to its depth).
    """
    from lesps_deploy.data.dataset import find_image, read_split
    from lesps_deploy.data.images import read_image

    names = read_split(dataset_dir, "train") + read_split(dataset_dir, "test")
    means, stds = [], []
    for name in names:
        img = read_image(find_image(dataset_dir, name))
        img = img if mapper is None else mapper(img, name)
        means.append(img.mean())
        stds.append(img.std())
    return Norm(float(np.mean(means)), float(np.mean(stds)))


def resolve_norm(
    spec: str | Norm | tuple[float, float] | None,
    dataset_dir: str | Path | None = None,
    mapper: FrameMapper | None = None,
) -> Norm:
    """Turn a preset name, 'auto', 'MEAN,STD', a tuple or a Norm into a `Norm`.

    'auto' computes the statistics of `dataset_dir` (its frames through `mapper`) unless its folder
    name is a preset. A preset for a model of another input depth than the presets' is refused.

    Raises:
        ConfigError: unknown preset, malformed numbers, 'auto' without a dataset, or a preset (8-bit
            statistics) for a model that takes `mapper.model_bits` != 8 input.
    """
    if isinstance(spec, Norm):
        return spec
    if isinstance(spec, tuple | list):
        return Norm(float(spec[0]), float(spec[1]))
    if spec is None:
        raise ConfigError("normalization unknown", hint=NORM_HINT)
    text = spec.strip()
    presets = {k.lower(): v for k, v in NORM_PRESETS.items()}
    wide = mapper is not None and mapper.model_bits != PRESET_BITS
    if text.lower() in presets:
        if wide:
            raise ConfigError(
                f"--norm {spec}: the preset holds {PRESET_BITS}-bit statistics, the model takes "
                f"{mapper.model_bits}-bit input",  # type: ignore[union-attr]
                hint="use --norm auto (statistics of the dataset) or MEAN,STD",
            )
        return presets[text.lower()]
    if text.lower() == "auto":
        if dataset_dir is None:
            raise ConfigError("--norm auto needs a dataset to compute statistics from")
        preset = None if wide else presets.get(Path(dataset_dir).name.lower())
        return preset or dataset_norm(dataset_dir, mapper=mapper)
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        mean, std = float(parts[0]), float(parts[1])
    except ValueError:
        raise ConfigError(
            f"--norm {spec!r}: expected a preset ({', '.join(NORM_PRESETS)}), 'auto' or MEAN,STD"
        ) from None
    if std <= 0:
        raise ConfigError(f"--norm {spec!r}: std must be positive")
    return Norm(mean, std)


def model_norm(
    spec: str | Norm | tuple[float, float] | None,
    meta: ModelMeta,
    dataset_dir: str | Path | None = None,
    source: str | Path | None = None,
    mapper: FrameMapper | None = None,
) -> Norm:
    """The normalization to run a model with: `spec` (a `--norm` value) wins over the artifact's own.

    Every command resolves normalization here, so each says the same thing when none is known.

    Args:
        spec: preset, 'auto', 'MEAN,STD', a tuple or a Norm; None: the artifact's metadata.
        meta: the artifact's metadata (`mean`/`std` may be None, as in the released checkpoints).
        dataset_dir: dataset for 'auto' statistics.
        source: the weights file, named in the error.
        mapper: the frames' mapping to the model's input depth ('auto' statistics, preset check).

    Raises:
        ConfigError: neither `spec` nor `meta` gives one, or `spec` is malformed.
    """
    if spec is not None:
        return resolve_norm(spec, dataset_dir, mapper)
    if meta.mean is not None and meta.std is not None:
        return Norm(float(meta.mean), float(meta.std))
    raise ConfigError(f"{source or meta.model}: the weights carry no normalization", hint=NORM_HINT)


def normalize(img: np.ndarray, norm: Norm) -> np.ndarray:
    """`(img - mean) / std` as float32 (same operation order as the reference)."""
    return (img.astype(np.float32, copy=False) - np.float32(norm.mean)) / np.float32(norm.std)
