"""Reading infrared frames and masks the way the reference code does.

Images: PIL `convert('I')` semantics (8-bit luma for RGB/RGBA/P, full range for 16-bit PNG/TIFF).
Masks: the raw 8-bit value v (first channel when the file has several), with one rule for masks
that are not 0/255 (`read_mask`, `mask_values_note`):

- a mask whose values are all 0 or 1 (some public datasets ship them so) is a 0/1 mask: read as 0/255.
  The reference code divides by 255 and would see no target at all in it.
- other grey values (IRSTD-1K: 85 of its 1,001 masks) keep the reference's reading: a pixel is
  labelled from 128 on, and a target pixel only at 255 (`lesps_deploy.metrics.segmentation`).

Either case is said: one line per mask (`read_mask_noted`), summed up in one line per evaluation.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from lesps_deploy.errors import DataError
from lesps_deploy.io import atomic_path

__all__ = [
    "IMAGE_SUFFIXES",
    "STRICT_MASKS_HINT",
    "read_image",
    "read_mask",
    "read_mask_noted",
    "write_mask_png",
    "fit_mask",
    "fit_mask_checked",
    "to_gray",
    "check_finite",
]

IMAGE_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg")
STRICT_MASKS_HINT = "fix the mask, or drop --strict-masks to crop / zero-pad it as the reference does"


def _open(path: str | os.PathLike[str]) -> Image.Image:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        img = Image.open(path)
        img.load()  # decode now so a truncated file fails here, naming the file
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DataError(f"{path}: unreadable image ({err})") from err
    return img


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a frame as HxW with PIL `convert('I')` semantics: float32, or uint16 for 16-bit files.

    8-bit RGB/RGBA/P frames become ITU-R 601 luma (PIL's integer rounding); 16-bit PNG/TIFF frames keep
    their full range, as uint16 so their bit depth is known downstream (`data.bit_depth`); float
    TIFFs keep their values.
    """
    img = _open(path)
    if img.mode == "F":
        frame = np.asarray(img, dtype=np.float32)
        check_finite(frame, str(path))  # NaN/Infinity: refused here, so a batch skips this file only
        return frame
    if img.mode.startswith("I;16"):
        return np.asarray(img).astype(np.uint16)  # native byte order, whatever the file's
    return np.asarray(img.convert("I"), dtype=np.float32)


def check_finite(frame: np.ndarray, name: str = "") -> None:
    """Raises DataError when a float frame holds NaN or Infinity, or values beyond float32's range
    (computed in float32, they would become Infinity); integer frames always pass."""
    frame = np.asarray(frame)
    if frame.dtype.kind not in "fc":
        return
    finite = np.isfinite(frame)
    if frame.dtype.itemsize > 4:
        finite &= np.abs(np.where(finite, frame, 0)) <= np.finfo(np.float32).max
    bad = frame.size - int(np.count_nonzero(finite))
    if bad:
        raise DataError(
            f"{name or 'frame'}: {bad} of {frame.size} values are not finite (NaN, Infinity, or beyond "
            "float32's range); frame refused",
            hint="replace them (e.g. by the frame's median) before detection",
        )


def read_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a mask as uint8 HxW: the stored value v, first channel when there are several.

    Like the reference (`np.array(Image.open(p))`), palette images give their indices. A 0/1 mask
    (every value 0 or 1, of any type) reads as 0/255 (see the module docstring).
    """
    return read_mask_noted(path)[0]


def read_mask_noted(path: str | os.PathLike[str]) -> tuple[np.ndarray, str | None]:
    """`read_mask`, plus one line when the file is not 0/255 (a 0/1 mask, or other grey values)."""
    arr = np.asarray(_open(path))
    if arr.ndim > 2:
        arr = arr[..., 0]
    if arr.size and arr.max() == 1 and arr.min() >= 0:
        return np.where(arr > 0, 255, 0).astype(np.uint8), f"{path}: a 0/1 mask, read as 0/255"
    odd = (arr != 0) & (arr != 255)  # cheaper than np.unique over every pixel of every mask
    grey = np.unique(arr[odd]) if odd.any() else arr[:0]
    note = None
    if grey.size:
        shown = ", ".join(str(v) for v in grey[:4].tolist()) + (", ..." if grey.size > 4 else "")
        note = f"{path}: grey values ({shown}) besides 0 and 255: labelled from 128, a target only at 255"
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255)  # 16-bit masks
    return np.ascontiguousarray(arr, dtype=np.uint8), note


def fit_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop (top-left) or zero-pad a mask to the image size.

    Reference quirk kept on purpose: a mask larger than its image (NUAA-SIRST `Misc_111`: 592x400 mask,
    325x220 image) is padded with the image and cropped back `[:h, :w]`, i.e. cropped top-left.
    """
    out = mask[:height, :width]
    if out.shape != (height, width):
        out = np.pad(out, ((0, height - out.shape[0]), (0, width - out.shape[1])))
    return out


def fit_mask_checked(
    mask: np.ndarray, height: int, width: int, path: str | os.PathLike[str], strict: bool = False
) -> tuple[np.ndarray, str | None]:
    """`fit_mask`, plus one line naming the file and both sizes when they differ.

    Every reader of masks and labels goes through here, so a mask of the wrong size is never fitted
    without a word (evaluation counts the lines in its summary).

    Args:
        mask: the mask as read.
        height, width: its image's size.
        path: the mask file, named in the line.
        strict: a size difference is an error instead (`--strict-masks`).

    Returns:
        The fitted mask and the line (None when the sizes agree).

    Raises:
        DataError: `strict` and the sizes differ.
    """
    mh, mw = mask.shape[:2]
    if (mh, mw) == (height, width):
        return mask, None
    sizes = f"{path}: mask is {mw}x{mh} but its image is {width}x{height}"
    if strict:
        raise DataError(sizes, hint=STRICT_MASKS_HINT)
    larger, smaller = mh > height or mw > width, mh < height or mw < width
    how = " and ".join(
        word for word, used in (("cropped top-left", larger), ("zero-padded bottom/right", smaller)) if used
    )
    return fit_mask(mask, height, width), f"{sizes}; {how} to the image (the reference's rule)"


def write_mask_png(path: str | os.PathLike[str], mask: np.ndarray) -> Path:
    """Write a uint8 mask (0/255, or any 8-bit values) as PNG atomically."""
    arr = np.asarray(mask)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(arr, mode="L").save(tmp, format="PNG")
    return Path(path)


def to_gray(frame: np.ndarray) -> np.ndarray:
    """OpenCV frame (HxW, HxWx3 BGR or HxWx4 BGRA; uint8/uint16/float) to float32 HxW.

    Colour frames use PIL's fixed-point luma (L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16) so a video
    frame and the same picture read by `read_image` give identical inputs.
    """
    if frame.ndim == 2:
        return frame.astype(np.float32, copy=False)
    if frame.ndim == 3 and frame.shape[2] == 1:
        return frame[..., 0].astype(np.float32, copy=False)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise DataError(f"unsupported frame shape {frame.shape}")
    # Any dtype: channels as integers (float channels rounded, not truncated), then PIL's luma, so a
    # frame and the same frame in another dtype (uint8 -> float32 -> float64) give the same gray.
    if frame.dtype.kind in "iub":
        b, g, r = (frame[..., i].astype(np.int64) for i in range(3))
        return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.float32)
    # The same formula in float64 (exact for integer values below 2**37, and no int64 overflow).
    b, g, r = (np.rint(frame[..., i].astype(np.float64)) for i in range(3))
    return np.floor((r * 19595 + g * 38470 + b * 7471 + 0x8000) / 65536).astype(np.float32)
