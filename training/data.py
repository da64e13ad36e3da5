"""Training data: the train split in memory, its (evolving) labels, and random augmented crops.

Crops follow the reference `random_crop` + `augumentation`: zero-pad bottom/right up to the patch
size when a side is smaller, a uniform random patch, then vertical flip, horizontal flip and
transpose, each with probability 1/2. Every sample draws from its own generator keyed by
(seed, epoch, index), so crops do not depend on worker count and a resumed run replays the same ones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from lesps_deploy.data import (
    FrameMapper,
    Norm,
    find_image,
    fit_mask_checked,
    frame_bits,
    normalize,
    read_image,
    read_mask,
    read_split,
)
from lesps_deploy.errors import DataError

from .copy_paste import TargetBank, paste_target
from .labels import label_folder

__all__ = [
    "prefetched_batches",
    "TrainData",
    "load_train_data",
    "CropDataset",
    "random_crop",
    "augment",
    "label_iou",
    "carve_validation",
    "VALIDATION_SHARE",
]

VALIDATION_SHARE = 0.2  # share of the train split held out to choose defaults on (never the test split)

log = logging.getLogger(__name__)


@dataclass
class TrainData:
    """The train split in memory.

    Attributes:
        names: image names in split order.
        images: float32 HxW frames, mapped to the model's input depth by `mapper`.
        labels: current float32 HxW labels (points, evolved labels, or full masks / 255).
        masks: full masks as booleans (for label IoU), or None when `masks/` is absent.
        no_masks: why `masks` is None (one line), else None.
        notes: one line per label or mask whose size differed from its image's (fitted as the reference does).
        mapper: how frames were brought to the model's input depth (`mapper.model_bits`, recorded in
            the checkpoints); the test evaluation maps its frames with the same one.
    """

    root: Path
    names: list[str]
    images: list[np.ndarray]
    labels: list[np.ndarray]
    masks: list[np.ndarray] | None
    no_masks: str | None = None
    notes: list[str] = field(default_factory=list)
    mapper: FrameMapper = field(default_factory=FrameMapper)


def make_labels_command(root: Path, kind: str) -> str:
    """The `lesps labels` call that writes labels of `kind` (LCM pseudo-masks are `--type lcm-<method>`)."""
    return f"lesps labels {root} --type {'lcm-' + kind if kind in ('tophat', 'mpcm') else kind}"


def _read_label(
    root: Path, folder: str, name: str, shape: tuple[int, int], kind: str, strict: bool, notes: list[str]
) -> np.ndarray:
    try:
        path = find_image(root, name, folder)
    except DataError:
        raise DataError(
            f"{root / folder / name}.png: {kind} label missing for a train image",
            hint=f"make them with: {make_labels_command(root, kind)}" if kind != "full" else None,
        ) from None
    label = read_mask(path)
    if label.shape[0] < shape[0] or label.shape[1] < shape[1]:
        raise DataError(
            f"{path}: label is {label.shape[1]}x{label.shape[0]} but the image is {shape[1]}x{shape[0]}",
            hint=f"regenerate it with: {make_labels_command(root, kind)}" if kind != "full" else None,
        )
    # A larger label is cropped top-left, as the reference pads both and crops back (NUAA Misc_111).
    # (A smaller one is refused above: the reference's crops would come out smaller than the patch.)
    label, note = fit_mask_checked(label, *shape, path, strict)
    if note:
        notes.append(note)
    return label.astype(np.float32) / np.float32(255.0)


def _read_masks(root: Path, names: list[str], images: list[np.ndarray], notes: list[str]) -> list[np.ndarray]:
    masks = []
    for name, img in zip(names, images, strict=True):
        path = find_image(root, name, "masks")
        mask, note = fit_mask_checked(read_mask(path), *img.shape[:2], path)
        if note:
            notes.append(note)
        masks.append(mask > 0)
    return masks


def input_mapper(images: list[np.ndarray], mapping: str | None) -> FrameMapper:
    """The mapper of a model trained on `images`: 8-bit input, unless `raw` keeps 16-bit frames raw."""
    wide = mapping == "raw" and any(frame_bits(img) == 16 for img in images)
    return FrameMapper(16 if wide else 8, mapping)


def load_train_data(
    root: str | Path,
    kind: str,
    limit: int | None = None,
    strict_masks: bool = False,
    frame_mapping: str | None = None,
) -> TrainData:
    """Read the train split with labels of `kind` (centroid, coarse or full).

    A label larger than its image is cropped top-left (the reference's rule) and noted in
    `TrainData.notes`, or refused with `strict_masks`. Frames are mapped to the model's input depth
    (`input_mapper`: 14/16-bit frames by `frame_mapping`, agc by default, to 8 bits).

    Raises:
        DataError: no dataset, empty split, missing label folder/file (with the `lesps labels` hint),
            a label smaller than its image, or (with `strict_masks`) of any other size.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    folder = label_folder(kind)
    if not (root / folder).is_dir():
        hint = (
            f"make them with: {make_labels_command(root, kind)}"
            if kind != "full"
            else "full masks live in masks/"
        )
        raise DataError(f"{root / folder}: no {kind} labels in this dataset", hint=hint)
    names = read_split(root, "train")[:limit]
    if not names:
        raise DataError(f"{root}: the train split is empty")
    raw = [read_image(find_image(root, n)) for n in names]
    mapper = input_mapper(raw, frame_mapping)
    images = [np.asarray(mapper(img, n), dtype=np.float32) for n, img in zip(names, raw, strict=True)]
    notes: list[str] = []
    labels = [
        _read_label(root, folder, n, img.shape[:2], kind, strict_masks, notes)
        for n, img in zip(names, images, strict=True)
    ]
    masks, no_masks = None, f"{root / 'masks'}: no full masks to compare the labels with"
    if (root / "masks").is_dir() and kind != "full":  # full labels are the masks: noted above
        try:
            masks = _read_masks(root, names, images, notes)
            no_masks = None
        except DataError as err:
            no_masks = str(err)
    elif kind == "full":
        masks, no_masks = [label > 0 for label in labels], None
    log.info("train split: %d images, %s labels from %s", len(names), kind, root / folder)
    return TrainData(root, names, images, labels, masks, no_masks, notes, mapper)


def label_iou(
    labels: list[np.ndarray], masks: list[np.ndarray] | None, threshold: float = 0.5
) -> float | None:
    """Dataset IoU of `label >= threshold` against full masks (the reference's evolution mIoU)."""
    if masks is None:
        return None
    inter = union = 0
    for label, mask in zip(labels, masks, strict=True):
        pred = label >= threshold
        inter += int(np.count_nonzero(pred & mask))
        union += int(np.count_nonzero(pred | mask))
    return inter / union if union else 0.0


def carve_validation(
    names: list[str], share: float = VALIDATION_SHARE, seed: int = 0
) -> tuple[list[int], list[int]]:
    """(train, validation) indices: a seeded `share` of the train split held out, both in split order.

    Keyed by the names (a sorted list shuffled by `seed`), so the same names give the same split
    whatever order the split file lists them in."""
    order = np.random.default_rng(seed).permutation(sorted(names)).tolist()
    held = set(order[: max(1, round(share * len(names)))])
    val = [i for i, n in enumerate(names) if n in held]
    return [i for i, n in enumerate(names) if n not in held], val


def random_crop(
    image: np.ndarray,
    label: np.ndarray,
    size: int,
    rng: np.random.Generator,
    fill: float = 0.0,
    anchor: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A `size` x `size` patch; sides smaller than `size` are padded bottom/right first (the image
    with `fill`, the label with 0). With `anchor` (row, col) the patch is drawn among those holding it."""
    h, w = image.shape
    if h < size or w < size:
        pad = ((0, max(h, size) - h), (0, max(w, size) - w))
        image, label = np.pad(image, pad, constant_values=fill), np.pad(label, pad)
        h, w = image.shape
    r, c = anchor if anchor is not None else (None, None)
    top_lo, top_hi = (0, h - size) if r is None else (max(0, r - size + 1), min(h - size, r))
    left_lo, left_hi = (0, w - size) if c is None else (max(0, c - size + 1), min(w - size, c))
    top = int(rng.integers(top_lo, top_hi + 1))
    left = int(rng.integers(left_lo, left_hi + 1))
    return image[top : top + size, left : left + size], label[top : top + size, left : left + size]


def augment(image: np.ndarray, label: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Vertical flip, horizontal flip, transpose: each with probability 1/2."""
    vflip, hflip, transpose = rng.random(3) < 0.5
    if vflip:
        image, label = image[::-1], label[::-1]
    if hflip:
        image, label = image[:, ::-1], label[:, ::-1]
    if transpose:
        image, label = image.T, label.T
    return image, label


class CropDataset(Dataset):
    """Augmented random crops of normalized images and their current labels.

    Set `epoch` before each epoch; labels are read from `data.labels` at access time, so evolved
    labels are used from the next DataLoader iteration on (workers are not persistent).
    """

    def __init__(
        self,
        data: TrainData,
        norm: Norm,
        patch_size: int,
        seed: int,
        pos_crops: float = 0.0,
        copy_paste: float = 0.0,
    ) -> None:
        self.data = data
        self.norm = norm
        self.patch_size = patch_size
        self.seed = seed
        self.pos_crops = pos_crops  # share of crops drawn to hold a labelled pixel (0: uniform, the paper)
        self.copy_paste = copy_paste  # share of crops given one more target of the split (0: none)
        # The targets of the current labels (the dataset is made anew each epoch, after evolution).
        self.bank = TargetBank(data.images, data.labels) if copy_paste > 0 else None
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.data.names)

    def batch(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """The samples `indices` stacked into (N,1,P,P) images and labels.

        Stacked in numpy, not torch: `prefetched_batches` runs this in a thread of its own, where a torch
        op would start a second OpenMP team beside the training step's and fight it for the cores.
        """
        images, labels = zip(*(self.sample(i) for i in indices), strict=True)
        return torch.from_numpy(np.stack(images)[:, None]), torch.from_numpy(np.stack(labels)[:, None])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, label = self.sample(index)
        return torch.from_numpy(image)[None], torch.from_numpy(label)[None]

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Crop `index` of this epoch as contiguous float32 (P,P) image and label arrays."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        # Crop first, then normalize the patch only: padding with the mean (cast to the frame's float32)
        # normalizes to exactly the 0 the reference pads its normalized image with: the same patch.
        label = self.data.labels[index]
        anchor = None
        if self.pos_crops > 0 and rng.random() < self.pos_crops:  # draws nothing extra at 0
            on = np.flatnonzero(label >= 0.5)
            if on.size:
                anchor = divmod(int(on[rng.integers(on.size)]), label.shape[1])
        image, label = random_crop(
            self.data.images[index], label, self.patch_size, rng, float(self.norm.mean), anchor
        )
        if self.bank is not None and len(self.bank) and rng.random() < self.copy_paste:
            image, label = paste_target(image, label, self.bank.pick(rng), rng)
        image = normalize(image, self.norm)
        image, label = augment(image, label, rng)
        return np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(label, dtype=np.float32)


def prefetched_batches(
    dataset: CropDataset, batches: list[list[int]]
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The batches of `dataset`, each prepared in a background thread while the previous one trains.

    Cropping and normalizing run in numpy, which releases the GIL, so they overlap the model's step
    instead of adding to it; the order and content of the batches are those of the plain loop.
    """
    if not batches:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lesps-batches") as pool:
        pending = pool.submit(dataset.batch, batches[0])
        for nxt in batches[1:]:
            ready = pending.result()
            pending = pool.submit(dataset.batch, nxt)
            yield ready
        yield pending.result()
