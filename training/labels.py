"""Point labels from full masks: the centroid and coarse single-point supervision of LESPS.

Both kinds put exactly one pixel per 8-connected target of `mask > 0`.

* centroid: the pixel at (floor(centroid row), floor(centroid col)), as the released
  `masks_centroid/` of NUAA-SIRST (426 of 427 images agree; `Misc_111`, whose mask is larger than its
  image, differs because the released file was made from a resized mask, while we use the mask
  cropped to the image the way evaluation reads it, so the point lies on the target that is scored).
* coarse: the centroid shifted by offsets drawn from N(0, (1/4)^2) times half the target's bounding
  box height/width, floored and clipped to the image, redrawn until the point falls inside the target.
  The released `masks_coarse/` offsets have a standard deviation of 0.24-0.26 half-boxes, which is
  what fixes the 1/4 as a standard deviation.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image
from scipy import ndimage

from lesps_deploy.data.components import centroid_points, label_components
from lesps_deploy.data.dataset import find_image, read_split
from lesps_deploy.data.images import fit_mask_checked, read_mask, write_mask_png
from lesps_deploy.data.owned import OwnedFiles
from lesps_deploy.errors import ConfigError, DataError, LespsError
from lesps_deploy.progress import ProgressSpec, progress_task

__all__ = [
    "PointKind",
    "POINT_LABELERS",
    "LabelReport",
    "centroid_points",
    "coarse_points",
    "make_point_labels",
    "label_folder",
]

log = logging.getLogger(__name__)

PointKind = Literal["centroid", "coarse"]
COARSE_SIGMA = 0.25  # std of the offset, in half bounding-box sizes
_MAX_DRAWS = 10_000  # a target the Gaussian cannot hit in this many draws gets its nearest pixel


def label_folder(kind: str) -> str:
    """Folder name of a label kind inside a dataset (`full` -> masks, else masks_<kind>)."""
    return "masks" if kind == "full" else f"masks_{kind}"


def _targets(mask: np.ndarray) -> tuple[np.ndarray, int]:
    return label_components(np.asarray(mask) > 0)


def coarse_points(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One 255 pixel per target near its centroid, inside the target (uint8 HxW, 0/255)."""
    regions, count = _targets(mask)
    out = np.zeros(regions.shape, dtype=np.uint8)
    for index, box in enumerate(ndimage.find_objects(regions), start=1):
        inside = regions[box] == index
        out[box][_draw_inside(inside, rng)] = 255
    return out


def _draw_inside(inside: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """A pixel of the boolean target crop `inside`, drawn around its centroid."""
    pixels = np.argwhere(inside)
    centre = pixels.mean(axis=0)
    half = np.array(inside.shape, dtype=np.float64) / 2
    shape = np.array(inside.shape)
    for _ in range(0, _MAX_DRAWS, 64):
        # Draws in blocks of 64 to keep the loop short; the first draw inside wins.
        points = np.floor(centre + rng.normal(0.0, COARSE_SIGMA, size=(64, 2)) * half).astype(np.int64)
        points = np.clip(points, 0, shape - 1)
        hit = inside[points[:, 0], points[:, 1]]
        if hit.any():
            r, c = points[int(np.argmax(hit))]
            return int(r), int(c)
    nearest = pixels[np.argmin(((pixels - centre) ** 2).sum(axis=1))]
    return int(nearest[0]), int(nearest[1])


POINT_LABELERS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "centroid": centroid_points,
    "coarse": coarse_points,
}


@dataclass(frozen=True, slots=True)
class LabelReport:
    """Outcome of `make_point_labels`."""

    out_dir: Path
    written: int
    targets: int
    errors: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "written": self.written, "targets": self.targets,
                "errors": list(self.errors)}  # fmt: skip


def _dataset_names(root: Path) -> list[str]:
    """Names of the train and test lists (in that order), else every mask file."""
    names: list[str] = []
    for split in ("train", "test"):
        try:
            names += [n for n in read_split(root, split) if n not in names]
        except DataError:
            continue
    if not names:
        names = sorted(p.stem for p in (root / "masks").glob("*") if p.is_file())
    if not names:
        raise DataError(
            f"{root}: no split lists in img_idx/ and no files in masks/",
            hint="expected images/, masks/, img_idx/",
        )
    return names


def _point_label(root: Path, name: str, kind: str, seed: int) -> np.ndarray:
    path = find_image(root, name, "masks")
    mask = read_mask(path)
    try:
        with Image.open(find_image(root, name)) as img:
            width, height = img.size
        mask, note = fit_mask_checked(mask, height, width, path)
        if note:
            log.warning("%s", note)
    except (DataError, OSError):
        log.warning("%s: image not found or unreadable; labels keep the mask's size", root / "images" / name)
    # One generator per image, keyed by its name: a label does not change when others are added.
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    return POINT_LABELERS[kind](mask, rng)


def make_point_labels(
    dataset_dir: str | Path, kind: str, seed: int = 0, progress: ProgressSpec = None, force: bool = False
) -> LabelReport:
    """Write point labels of every image of a dataset to `masks_<kind>/` (PNG 0/255, atomic per file).

    `masks/` is only read. Unreadable or missing masks are reported one line each and skipped. Files
    lesps did not write there are not replaced without `force` (`lesps_deploy.data.owned`).

    Args:
        dataset_dir: dataset folder with `masks/` (and `images/`, `img_idx/`).
        kind: "centroid" or "coarse".
        seed: seed of the coarse offsets (each image uses its own stream derived from it).
        progress: True for a progress bar, a callback `fn(description, done, total)`, or None.
        force: overwrite label files lesps did not write (e.g. a dataset's released labels).

    Returns:
        LabelReport with the output folder, counts and one line per skipped file.

    Raises:
        ConfigError: unknown kind. DataError: no dataset there, or labels lesps did not write in the way.
    """
    if kind not in POINT_LABELERS:
        raise ConfigError(f"unknown point label type {kind!r}; expected one of {', '.join(POINT_LABELERS)}")
    root = Path(dataset_dir)
    if not (root / "masks").is_dir():
        raise DataError(
            f"{root / 'masks'}: mask folder not found", hint="point labels are made from full masks"
        )

    def make(name: str) -> tuple[np.ndarray, int]:
        points = _point_label(root, name, kind, seed)
        return points, int((points > 0).sum())

    return write_labels(
        _dataset_names(root), root / label_folder(kind), make, f"{kind} labels", progress, force=force
    )


def write_labels(
    names: list[str],
    out_dir: Path,
    make: Callable[[str], tuple[np.ndarray, int]],
    description: str,
    progress: ProgressSpec = None,
    force: bool = False,
) -> LabelReport:
    """Write `make(name)`'s label (uint8 0/255) as `out_dir/<name>.png`, atomically, for every name.

    `make` returns the label and its number of targets; a LespsError it raises skips that file, said once
    in the log (the command does not repeat it) and listed in the report. Nothing is written when a file
    lesps did not write would be replaced, unless `force` (`lesps_deploy.data.owned`).

    Raises:
        DataError: files lesps did not write are in the way (without `force`).
    """
    written = targets = 0
    errors: list[str] = []
    owned = OwnedFiles(out_dir, f"lesps {description}", force)
    owned.claim(f"{name}.png" for name in names)
    with owned, progress_task(progress, description, len(names)) as advance:
        for name in names:
            try:
                label, count = make(name)
                owned.wrote(write_mask_png(out_dir / f"{name}.png", label))
                written, targets = written + 1, targets + count
            except LespsError as err:
                errors.append(str(err))
                log.error("skipped %s", err)
            advance(1)
    return LabelReport(out_dir, written, targets, tuple(errors))
