"""Data layer: frames, masks, splits, normalization, 8-connected components, synthetic data."""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    .dataset:      IRSTDDataset Sample find_image read_split split_file
    .bit_depth:    FRAME_MAPPINGS FrameMapper check_frame_mapping frame_bits map_frame
    .images:       IMAGE_SUFFIXES STRICT_MASKS_HINT fit_mask fit_mask_checked read_image read_mask read_mask_noted to_gray write_mask_png
    .norm:         NORM_HINT NORM_PRESETS Norm dataset_norm model_norm normalize resolve_norm
    .padding:      crop pad_reference padded_size
    .components:   ComponentStats centroid_points component_stats label_components
    .synth_config: SynthConfig SynthSummary VideoSummary
    .synth:        make_dataset make_video synth_frame
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
