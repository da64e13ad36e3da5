"""Point labels from a labelling tool's file: `lesps labels DATASET --from-points FILE`.

Every image of `<dataset>/images/` gets `masks_<kind>/<name>.png` (0/255, one pixel per point, written
atomically); an image without points gets an empty label (negative frames are legal). Bad input is
reported one line each and the rest goes on: malformed entries, points outside their image, images the
file names but the dataset lacks, and two points in one pixel (kept once).

Coordinates: x is the column, y the row, with (0, 0) the top-left corner of the image and pixel
(col, row) covering [col, col + 1) x [row, row + 1). A point goes to pixel (floor(x), floor(y)). That is
the continuous convention of CVAT and LabelMe (a click inside a pixel gives coordinates between its
integer corners; both let a point sit on the far edge, x = width or y = height, which goes to the last
column or row), and it leaves integer pixel indices (a CSV written by a script) unchanged. Files whose
pixel centres sit on integers with fractional offsets around them (round-to-nearest convention) must be
shifted by +0.5 first.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lesps_deploy.data.dataset import find_image
from lesps_deploy.data.images import IMAGE_SUFFIXES, write_mask_png
from lesps_deploy.data.owned import OwnedFiles
from lesps_deploy.errors import ConfigError, DataError
from lesps_deploy.progress import ProgressSpec, progress_task

from .labels import label_folder
from .point_files import PointFile, PointRecord, image_key, read_point_file

__all__ = ["POINT_FILE_KINDS", "PointImportReport", "labels_from_points", "point_pixel", "point_import_table"]

log = logging.getLogger(__name__)

POINT_FILE_KINDS = ("centroid", "coarse")


@dataclass(frozen=True)
class PointImportReport:
    """Outcome of `labels_from_points`.

    Attributes:
        out_dir: the label folder written.
        images: label files written (one per dataset image).
        points: pixels set over all labels.
        skipped: entries of the point file that set no pixel (malformed, outside, missing image, duplicate).
        empty: images written without any point.
        errors: one line per skipped entry or missing image, duplicates excluded.
        duplicates: one line per point that fell on a pixel already set.
    """

    out_dir: Path
    images: int
    points: int
    skipped: int
    empty: int
    errors: tuple[str, ...]
    duplicates: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(out_dir=str(self.out_dir), errors=list(self.errors), duplicates=list(self.duplicates))
        return out


def point_pixel(x: float, y: float, width: int, height: int) -> tuple[int, int] | None:
    """(row, col) of the pixel holding point (x, y) (see the module docstring), None outside the image."""
    if not (0.0 <= x <= width and 0.0 <= y <= height):
        return None
    return min(math.floor(y), height - 1), min(math.floor(x), width - 1)


def _dataset_images(root: Path) -> list[str]:
    folder = root / "images"
    if not folder.is_dir():
        raise DataError(f"{folder}: image folder not found", hint="expected <dataset>/images/<name>.png")
    names = sorted({p.stem for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES})
    if not names:
        raise DataError(f"{folder}: no images here")
    return names


def _image_size(root: Path, name: str) -> tuple[int, int]:
    path = find_image(root, name)
    try:
        with Image.open(path) as img:  # reads the header only
            return img.size
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError(f"{path}: unreadable image ({err})") from None


def _rasterize(
    name: str, size: tuple[int, int], points: list[PointRecord], errors: list[str], duplicates: list[str]
) -> np.ndarray:
    """One 255 pixel per point; points outside or on a pixel already set are reported."""
    width, height = size
    label = np.zeros((height, width), dtype=np.uint8)
    first: dict[tuple[int, int], str] = {}
    for point in points:
        pixel = point_pixel(point.x, point.y, width, height)
        if pixel is None:
            errors.append(
                f"{point.where}: point ({point.x:g}, {point.y:g}) outside {name} ({width}x{height})"
            )
        elif pixel in first:
            duplicates.append(
                f"{point.where}: second point in pixel (x={pixel[1]}, y={pixel[0]}) of {name}, "
                f"kept once (first: {first[pixel]})"
            )
        else:
            first[pixel] = point.where
            label[pixel] = 255
    return label


def _skipped(count: int) -> str:
    return f"{count} point{'' if count == 1 else 's'} skipped"


def _points_by_image(
    parsed: PointFile, known: set[str], root: Path, errors: list[str]
) -> dict[str, list[PointRecord]]:
    """Points grouped by dataset image name; images the file names but the dataset lacks are reported."""
    by_image: dict[str, list[PointRecord]] = defaultdict(list)
    for point in parsed.points:
        by_image[image_key(point.image)].append(point)
    reported: set[str] = set()
    for named, where in parsed.named.items():
        key = image_key(named)
        if key not in known and key not in reported:
            reported.add(key)
            lost = len(by_image.pop(key, []))
            errors.append(f"{where}: image {named!r} not found in {root / 'images'} ({_skipped(lost)})")
    return by_image


def _check_yields_points(
    points_file: str | Path, parsed: PointFile, by_image: dict[str, list[PointRecord]], root: Path
) -> None:
    """An input that gives no point to any image of the dataset changes nothing: one line saying why."""
    if any(by_image.values()):
        return
    if not parsed.points:
        why = f"{len(parsed.errors)} malformed entries" if parsed.errors else "no point in it (no rows)"
        raise DataError(
            f"{points_file}: {why}; nothing written", hint=parsed.errors[0] if parsed.errors else None
        )
    raise DataError(
        f"{points_file}: none of the {len(parsed.named)} image name(s) it gives is in {root / 'images'} "
        f"(e.g. {next(iter(parsed.named), '?')!r}); nothing written",
        hint="point files name images by file name or stem, as in <dataset>/images/",
    )


def labels_from_points(
    dataset_dir: str | Path,
    points_file: str | Path,
    kind: str = "centroid",
    progress: ProgressSpec = None,
    force: bool = False,
) -> PointImportReport:
    """Write `masks_<kind>/` of a dataset from a CSV, COCO or LabelMe point file.

    Args:
        dataset_dir: dataset folder with `images/`.
        points_file: CSV (`image,x,y`), COCO keypoints JSON, LabelMe JSON, or a folder of LabelMe JSONs.
        kind: "centroid" or "coarse": the label folder the points are written to.
        progress: True for a progress bar, a callback `fn(description, done, total)`, or None.
        force: overwrite label files lesps did not write (`lesps_deploy.data.owned`).

    Returns:
        PointImportReport with counts and one line per problem.

    Raises:
        ConfigError: unknown kind. DataError: no images, a point file that cannot be read at all, one
        that yields no point for any image of the dataset (nothing is written then), or label files
        lesps did not write in the way (without `force`).
    """
    if kind not in POINT_FILE_KINDS:
        raise ConfigError(
            f"--type {kind!r} with --from-points: expected one of {', '.join(POINT_FILE_KINDS)}"
        )
    root = Path(dataset_dir)
    names = _dataset_images(root)
    parsed = read_point_file(points_file)
    errors, duplicates = list(parsed.errors), []
    by_image = _points_by_image(parsed, set(names), root, errors)
    _check_yields_points(points_file, parsed, by_image, root)
    skipped = len(parsed.points) - sum(map(len, by_image.values())) + len(parsed.errors)
    out_dir = root / label_folder(kind)
    written = pixels = empty = 0
    owned = OwnedFiles(out_dir, f"lesps labels --from-points {Path(points_file).name}", force)
    owned.claim(f"{name}.png" for name in names)
    with owned, progress_task(progress, f"{kind} labels from points", len(names)) as advance:
        for name in names:
            points = by_image.get(name, [])
            try:
                size = _image_size(root, name)
            except DataError as err:
                errors.append(f"{err} ({_skipped(len(points))})")
                skipped += len(points)
                advance(1)
                continue
            recorded = parsed.sizes.get(name)
            if recorded is not None and recorded[:2] != size:
                # The points were clicked on another version of the image (resized, cropped): placing them
                # on this one would be a guess, and an empty label would claim "no target".
                errors.append(
                    f"{recorded[2]}: records {name} as {recorded[0]}x{recorded[1]}, but "
                    f"{find_image(root, name)} is {size[0]}x{size[1]}; no label written ({_skipped(len(points))})"
                )
                skipped += len(points)
                advance(1)
                continue
            before = len(errors) + len(duplicates)
            label = _rasterize(name, size, points, errors, duplicates)
            skipped += len(errors) + len(duplicates) - before
            owned.wrote(write_mask_png(out_dir / f"{name}.png", label))
            count = int(np.count_nonzero(label))
            written, pixels, empty = written + 1, pixels + count, empty + (count == 0)
            advance(1)
    log.info("%s: %d labels, %d points, %d entries skipped", out_dir, written, pixels, skipped)
    return PointImportReport(out_dir, written, pixels, skipped, empty, tuple(errors), tuple(duplicates))


def point_import_table(report: PointImportReport):
    """Rich table of the summary: images, points, skipped, empty, duplicates."""
    from rich.table import Table

    table = Table(title=f"Point labels: {report.out_dir}")
    for column in ("images", "points", "skipped", "empty images", "duplicates"):
        table.add_column(column, justify="right")
    table.add_row(
        str(report.images),
        str(report.points),
        str(report.skipped),
        str(report.empty),
        str(len(report.duplicates)),
    )
    return table
