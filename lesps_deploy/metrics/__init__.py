"""Metrics: IoU, nIoU, Pd, Fa with the reference semantics, and evaluation of a backend on a split."""

from lesps_deploy._lazy import exported_names, lazy_exports

_LAZY = {
    ".rules": (
        "DEFAULT_FA_RULE",
        "FA_RULES",
        "FaRule",
        "MATCH_DISTANCE",
        "check_fa_rule",
    ),
    ".segmentation": (
        "ImageCounts",
        "MetricCounts",
        "SegmentationMetrics",
        "image_counts",
    ),
    ".dataset_eval": (
        "SUMMARY_KEYS",
        "EvalReport",
        "evaluate_backend",
        "summary_arrays",
    ),
}

__all__ = exported_names(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
