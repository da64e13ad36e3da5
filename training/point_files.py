"""Readers of point annotations from labelling tools: CSV rows, COCO keypoints, LabelMe point shapes.

Each reader turns a file into `PointRecord`s (image name as written, x = column, y = row, where it came
from) plus one line per malformed entry; the rest of the file is still read. Mapping names to dataset
images and coordinates to pixels is `point_import`'s job.

* CSV: rows `image,x,y` (comma separated, UTF-8; an optional header naming the columns `image`, `x`,
  `y` in any order; extra columns are ignored).
* COCO: `images` + `annotations`; every keypoint triple `(x, y, v)` with visibility v > 0 is a point.
  This covers person-style skeletons and the one-keypoint categories CVAT writes for point shapes.
* LabelMe: one JSON per image (`shapes` of `shape_type` "point"), or a folder of them.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lesps_deploy.data.images import IMAGE_SUFFIXES
from lesps_deploy.errors import DataError

__all__ = [
    "PointRecord",
    "PointFile",
    "POINT_READERS",
    "image_key",
    "detect_point_format",
    "read_point_file",
    "read_csv_points",
    "read_coco_points",
    "read_labelme_points",
]

log = logging.getLogger(__name__)

_NAME_COLUMNS = ("image", "file", "filename", "file_name", "name", "image_name")


@dataclass(frozen=True, slots=True)
class PointRecord:
    """One annotated point: `x` is the column, `y` the row, in the tool's pixel coordinates."""

    image: str
    x: float
    y: float
    where: str


@dataclass
class PointFile:
    """What a reader found: points, every image the file names (with where), malformed entries, and
    the image sizes the file records (LabelMe's imageWidth/imageHeight: (width, height, where))."""

    points: list[PointRecord] = field(default_factory=list)
    named: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    sizes: dict[str, tuple[int, int, str]] = field(default_factory=dict)

    def add(self, image: str, x: Any, y: Any, where: str) -> None:
        """Record a point, or one error line when a coordinate is not a finite number."""
        try:
            fx, fy = float(x), float(y)
        except (TypeError, ValueError):
            fx = fy = math.nan
        if isinstance(x, bool) or isinstance(y, bool) or not (math.isfinite(fx) and math.isfinite(fy)):
            self.errors.append(f"{where}: malformed point ({x!r}, {y!r}): x and y must be numbers")
            return
        self.name(image, where)
        self.points.append(PointRecord(image, fx, fy, where))

    def name(self, image: str, where: str) -> None:
        self.named.setdefault(image, where)


def image_key(name: str) -> str:
    """Dataset image name of a name as tools write it: folders and a known image suffix dropped."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    stem, dot, suffix = base.rpartition(".")
    return stem if dot and f".{suffix.lower()}" in IMAGE_SUFFIXES else base


def _header_columns(row: list[str], path: Path) -> tuple[int, int, int] | None:
    """(image, x, y) column indices when `row` is a header (it names x and y), else None."""
    names = [cell.strip().lower() for cell in row]
    if "x" not in names or "y" not in names:
        return None
    image = next((names.index(n) for n in _NAME_COLUMNS if n in names), None)
    if image is None:
        raise DataError(
            f"{path}: header {','.join(row)!r} names no image column",
            hint="name the columns image, x, y (or write no header: then they are image, x, y in that order)",
        )
    return image, names.index("x"), names.index("y")


def read_csv_points(path: Path) -> PointFile:
    """`image,x,y` rows; a first row naming the columns x and y is a header (any column order)."""
    out = PointFile()
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [(n, row) for n, row in enumerate(csv.reader(f), start=1) if any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{path}: unreadable CSV ({err})") from None
    columns = _header_columns(rows[0][1], path) if rows else None
    if columns is None:
        columns = (0, 1, 2)
    else:
        rows = rows[1:]
    for number, row in rows:
        where = f"{path.name}:{number}"
        if len(row) <= max(columns) or not row[columns[0]].strip():
            out.errors.append(f"{where}: malformed row {','.join(row)!r}: expected image,x,y")
            continue
        out.add(row[columns[0]].strip(), row[columns[1]].strip(), row[columns[2]].strip(), where)
    return out


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: unreadable JSON ({err})") from None


def _coco_images(doc: dict[str, Any], path: Path, out: PointFile) -> dict[Any, str]:
    images: dict[Any, str] = {}
    for index, entry in enumerate(doc["images"]):
        name = entry.get("file_name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or "id" not in entry:
            out.errors.append(f"{path.name}: images[{index}]: malformed entry (needs id and file_name)")
            continue
        images[entry["id"]] = name
        out.name(name, f"{path.name}: images[{index}]")
    return images


def read_coco_points(path: Path, doc: Any = None) -> PointFile:
    """Keypoints with visibility > 0 of every annotation; annotations without keypoints are ignored."""
    doc = _load_json(path) if doc is None else doc
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        raise DataError(f"{path}: not a COCO file (no 'images' list)")
    if not isinstance(doc.get("annotations"), list):
        raise DataError(f"{path}: not a COCO file (no 'annotations' list)")
    out = PointFile()
    images = _coco_images(doc, path, out)
    without = 0
    for index, ann in enumerate(doc["annotations"]):
        where = f"{path.name}: annotations[{index}]"
        if not isinstance(ann, dict) or ann.get("image_id") not in images:
            image_id = ann.get("image_id") if isinstance(ann, dict) else None
            out.errors.append(f"{where}: image_id {image_id!r} is not in 'images'")
            continue
        keypoints = ann.get("keypoints")
        if keypoints is None:
            without += 1
            continue
        if not isinstance(keypoints, list) or len(keypoints) % 3:
            out.errors.append(f"{where}: malformed keypoints (expected a list of x, y, v triples)")
            continue
        for k in range(0, len(keypoints), 3):
            x, y, v = keypoints[k : k + 3]
            if not isinstance(v, int | float) or isinstance(v, bool):
                out.errors.append(f"{where}: keypoint {k // 3}: malformed visibility {v!r}")
            elif v > 0:  # COCO: v = 0 means not labelled (x = y = 0)
                out.add(images[ann["image_id"]], x, y, f"{where} keypoint {k // 3}")
    if without:
        log.warning("%s: %d annotations without keypoints ignored", path, without)
    return out


def _labelme_one(path: Path, doc: Any, out: PointFile) -> None:
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        out.errors.append(f"{path.name}: not a LabelMe file (no 'shapes' list); skipped")
        return
    image = doc.get("imagePath") if isinstance(doc.get("imagePath"), str) and doc["imagePath"] else path.stem
    out.name(image, path.name)
    width, height = doc.get("imageWidth"), doc.get("imageHeight")
    if isinstance(width, int) and isinstance(height, int) and not isinstance(width, bool):
        out.sizes[image_key(image)] = (width, height, path.name)
    for index, shape in enumerate(doc["shapes"]):
        where = f"{path.name}: shapes[{index}]"
        if not isinstance(shape, dict) or shape.get("shape_type", "polygon") != "point":
            continue  # polygons, boxes, ... are not point annotations
        points = shape.get("points")
        if not isinstance(points, list) or len(points) != 1 or not isinstance(points[0], list | tuple):
            out.errors.append(f"{where}: malformed point shape (expected points [[x, y]])")
        elif len(points[0]) != 2:
            out.errors.append(f"{where}: malformed point {points[0]!r} (expected [x, y])")
        else:
            out.add(image, points[0][0], points[0][1], where)


def read_labelme_points(path: Path, doc: Any = None) -> PointFile:
    """Point shapes of one LabelMe JSON, or of every `*.json` in a folder (image from `imagePath`)."""
    out = PointFile()
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise DataError(f"{path}: no LabelMe .json files in this folder")
        for file in files:
            try:
                _labelme_one(file, _load_json(file), out)
            except DataError as err:
                out.errors.append(str(err))
        return out
    _labelme_one(path, _load_json(path) if doc is None else doc, out)
    if out.errors and not out.named:
        raise DataError(out.errors[0])
    return out


POINT_READERS: dict[str, Callable[..., PointFile]] = {
    "csv": read_csv_points,
    "coco": read_coco_points,
    "labelme": read_labelme_points,
}


def detect_point_format(path: Path, doc: Any = None) -> str:
    """`csv` for .csv/.txt, `labelme` for a folder or a JSON with `shapes`, `coco` for one with `images`."""
    if path.is_dir():
        return "labelme"
    if path.suffix.lower() in (".csv", ".txt"):
        return "csv"
    if path.suffix.lower() == ".json" and isinstance(doc, dict):
        if "shapes" in doc:
            return "labelme"
        if "images" in doc or "annotations" in doc:
            return "coco"
    raise DataError(
        f"{path}: not a point file this reads",
        hint="give a CSV (image,x,y), a COCO keypoints JSON, a LabelMe JSON or a folder of LabelMe JSONs",
    )


def read_point_file(path: str | Path) -> PointFile:
    """Read any supported point file; the format comes from the suffix and, for JSON, its keys.

    Raises:
        DataError: missing or unreadable file, or a file none of the readers understands.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: point file not found")
    doc = _load_json(path) if path.is_file() and path.suffix.lower() == ".json" else None
    fmt = detect_point_format(path, doc)
    log.debug("%s: reading %s points", path, fmt)
    return POINT_READERS[fmt](path) if doc is None else POINT_READERS[fmt](path, doc)
