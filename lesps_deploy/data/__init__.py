"""Data layer: frames, masks, splits, normalization."""

from lesps_deploy.data.dataset import IRSTDDataset, Sample, find_image, read_split, split_file
from lesps_deploy.data.images import IMAGE_SUFFIXES, fit_mask, read_image, read_mask, to_gray, write_mask_png
from lesps_deploy.data.norm import NORM_PRESETS, Norm, dataset_norm, normalize, resolve_norm
from lesps_deploy.data.padding import crop, pad_reference, padded_size

__all__ = [
    "IMAGE_SUFFIXES",
    "IRSTDDataset",
    "NORM_PRESETS",
    "Norm",
    "Sample",
    "crop",
    "dataset_norm",
    "find_image",
    "fit_mask",
    "normalize",
    "pad_reference",
    "padded_size",
    "read_image",
    "read_mask",
    "read_split",
    "resolve_norm",
    "split_file",
    "to_gray",
    "write_mask_png",
]
