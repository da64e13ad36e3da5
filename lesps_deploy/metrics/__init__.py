"""Metrics: IoU, nIoU, Pd, Fa with the reference semantics; 8-connected component tools."""

from lesps_deploy.metrics.components import ComponentStats, component_stats, label_components
from lesps_deploy.metrics.segmentation import (
    DEFAULT_FA_RULE,
    FA_RULES,
    MATCH_DISTANCE,
    FaRule,
    ImageCounts,
    MetricCounts,
    SegmentationMetrics,
    check_fa_rule,
    image_counts,
)

__all__ = [
    "DEFAULT_FA_RULE",
    "FA_RULES",
    "FaRule",
    "MATCH_DISTANCE",
    "ComponentStats",
    "ImageCounts",
    "MetricCounts",
    "SegmentationMetrics",
    "check_fa_rule",
    "component_stats",
    "image_counts",
    "label_components",
]
