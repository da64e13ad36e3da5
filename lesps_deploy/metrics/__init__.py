"""Metrics: IoU, nIoU, Pd, Fa with the reference semantics, from probabilities' masks and labels.

Running a model over a split is the runtime's (`lesps_deploy.runtime.dataset_runner.run_dataset`).
"""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    .rules:        DEFAULT_FA_RULE FA_RULES FaRule MATCH_DISTANCE check_fa_rule
    .segmentation: ImageCounts MetricCounts SegmentationMetrics image_counts
    .report:       SUMMARY_KEYS EvalReport summary_arrays
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
