"""IRSTD dataset folders in the BasicIRSTD / LESPS layout.

<root>/images/<name>.png|bmp|tif     frames
<root>/masks/<name>.png              full masks (0/255)
<root>/masks_centroid|masks_coarse/  point labels
<root>/img_idx/train_<NAME>.txt      split lists (CRLF or LF)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lesps_deploy.data.images import IMAGE_SUFFIXES, fit_mask_checked, read_image, read_mask_noted
from lesps_deploy.errors import DataError

__all__ = ["Sample", "IRSTDDataset", "read_split", "split_file", "find_image"]

log = logging.getLogger(__name__)


def split_file(root: str | Path, split: str) -> Path:
    """`img_idx/<split>_<NAME>.txt`: NAME is the folder name, else the only `<split>_*.txt` there."""
    root = Path(root)
    idx = root / "img_idx"
    preferred = idx / f"{split}_{root.name}.txt"
    if preferred.is_file():
        return preferred
    candidates = sorted(idx.glob(f"{split}_*.txt")) if idx.is_dir() else []
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise DataError(
            f"{idx}: no split list '{split}_<name>.txt'",
            hint="expected img_idx/train_<name>.txt and test_<name>.txt",
        )
    raise DataError(
        f"{idx}: several '{split}_*.txt' lists ({', '.join(c.name for c in candidates)}); name the folder after one"
    )


def read_split(root: str | Path, split: str) -> list[str]:
    """Image names of a split (blank lines dropped, CRLF handled, file suffixes stripped).

    A name listed twice is kept once, in its first place, and said in one line: counted twice it would
    weigh double in the metrics and in training.
    """
    path = split_file(root, split)
    names = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
    names = [Path(n).stem if Path(n).suffix.lower() in IMAGE_SUFFIXES else n for n in names if n]
    if not names:
        raise DataError(f"{path}: empty split list")
    unique = list(dict.fromkeys(names))
    if len(unique) < len(names):
        _say_duplicates(path, names, unique)
    return unique


_said_duplicates: set[tuple[str, float]] = set()  # (list file, mtime) already said: one line per file


def _say_duplicates(path: Path, names: list[str], unique: list[str]) -> None:
    key = (str(path.resolve()), path.stat().st_mtime)
    if key in _said_duplicates:
        return
    _said_duplicates.add(key)
    seen: set[str] = set()
    twice = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    log.warning("%s: %d duplicate name(s) kept once (first: %s)", path, len(names) - len(unique), twice[0])


def find_image(root: str | Path, name: str, folder: str = "images") -> Path:
    """Path of `<root>/<folder>/<name>.<ext>` for the first existing image suffix."""
    base = Path(root) / folder
    for suffix in IMAGE_SUFFIXES:
        path = base / f"{name}{suffix}"
        if path.is_file():
            return path
    raise DataError(f"{base / name}.png: listed in the split but not found")


@dataclass(frozen=True, slots=True)
class Sample:
    """One frame of a dataset: raw image, uint8 mask fitted to the image (or None), `note`, the
    line saying the mask's size differed from the image's, and `values_note`, the line saying its values
    were not 0/255 (`data.images.read_mask_noted`); None when there is nothing to say."""

    name: str
    image: np.ndarray
    mask: np.ndarray | None
    note: str | None = None
    values_note: str | None = None


class IRSTDDataset:
    """Indexable, iterable view of one split.

    Args:
        root: dataset folder.
        split: "train" or "test" (any `img_idx/<split>_*.txt`).
        mask_folder: folder of masks to pair with images (None: images only).
        strict_masks: a mask whose size differs from its image's is an error (default: cropped or
            zero-padded to the image, as the reference does, and said in `Sample.note`).

    Raises:
        DataError: no dataset folder, no mask folder (when one is asked for), no split list.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "test",
        mask_folder: str | None = "masks",
        strict_masks: bool = False,
    ) -> None:
        self.root = Path(root)
        self.strict_masks = strict_masks
        if not self.root.is_dir():
            raise DataError(f"{self.root}: dataset folder not found")
        if mask_folder is not None and not (self.root / mask_folder).is_dir():
            # Point-only datasets (masks_centroid/ without masks/) train but cannot be scored.
            raise DataError(
                f"{self.root / mask_folder}: mask folder not found, so the '{split}' split cannot be scored",
                hint="metrics compare predictions with full masks; point labels cannot stand in for them",
            )
        self.split = split
        self.mask_folder = mask_folder
        self.names = read_split(self.root, split)

    def __len__(self) -> int:
        return len(self.names)

    def image_path(self, name: str) -> Path:
        return find_image(self.root, name)

    def mask_path(self, name: str) -> Path:
        if self.mask_folder is None:
            raise DataError(f"{self.root}: no mask folder configured")
        return find_image(self.root, name, self.mask_folder)

    def load(self, name: str) -> Sample:
        """Read one sample; raises DataError naming the file when it is missing, unreadable, or (with
        `strict_masks`) a mask of another size than its image."""
        image = read_image(self.image_path(name))
        if self.mask_folder is None:
            return Sample(name, image, None)
        path = self.mask_path(name)
        mask, values_note = read_mask_noted(path)
        mask, note = fit_mask_checked(mask, *image.shape[:2], path, self.strict_masks)
        return Sample(name, image, mask, note, values_note)

    def __getitem__(self, index: int) -> Sample:
        return self.load(self.names[index])

    def __iter__(self) -> Iterator[Sample]:
        for name in self.names:
            yield self.load(name)
