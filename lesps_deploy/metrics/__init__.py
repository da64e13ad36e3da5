"""Metrics: IoU, nIoU, Pd, Fa with the reference semantics, and evaluation of a backend on a split."""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    .rules:        DEFAULT_FA_RULE FA_RULES FaRule MATCH_DISTANCE check_fa_rule
    .segmentation: ImageCounts MetricCounts SegmentationMetrics image_counts
    .dataset_eval: SUMMARY_KEYS EvalReport evaluate_backend summary_arrays
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
