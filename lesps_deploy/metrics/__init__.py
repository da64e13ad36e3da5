"""Metrics: IoU, nIoU, Pd, Fa with the reference semantics; 8-connected component tools."""

from lesps_deploy.metrics.components import ComponentStats, component_stats, label_components
from lesps_deploy.metrics.segmentation import (
    MATCH_DISTANCE,
    ImageCounts,
    MetricCounts,
    SegmentationMetrics,
    image_counts,
)

__all__ = [
    "MATCH_DISTANCE",
    "ComponentStats",
    "ImageCounts",
    "MetricCounts",
    "SegmentationMetrics",
    "component_stats",
    "image_counts",
    "label_components",
]
