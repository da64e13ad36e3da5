"""Data layer: frames, masks, splits, normalization."""

from lesps_deploy.data.dataset import IRSTDDataset, Sample, find_image, read_split, split_file
from lesps_deploy.data.images import IMAGE_SUFFIXES, fit_mask, read_image, read_mask, to_gray, write_mask_png
from lesps_deploy.data.norm import NORM_PRESETS, Norm, dataset_norm, normalize, resolve_norm
from lesps_deploy.data.padding import crop, pad_reference, padded_size
from lesps_deploy.data.synth import (
    SynthConfig,
    SynthSummary,
    VideoSummary,
    make_dataset,
    make_video,
    synth_frame,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "IRSTDDataset",
    "NORM_PRESETS",
    "Norm",
    "Sample",
    "SynthConfig",
    "SynthSummary",
    "VideoSummary",
    "crop",
    "dataset_norm",
    "find_image",
    "fit_mask",
    "make_dataset",
    "make_video",
    "normalize",
    "pad_reference",
    "padded_size",
    "read_image",
    "read_mask",
    "read_split",
    "resolve_norm",
    "split_file",
    "synth_frame",
    "to_gray",
    "write_mask_png",
]
