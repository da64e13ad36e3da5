"""LESPS training: point labels, label evolution, the focal loss and the trainer (`lesps train`).

Example:
    >>> from lesps_deploy.training import TrainConfig, train
    >>> result = train(TrainConfig(model="ACM", data="datasets/NUAA-SIRST", labels="centroid"))
"""

from .config import LABEL_TYPES, TrainConfig
from .evolution import evolve_labels
from .labels import (
    POINT_LABELERS,
    LabelReport,
    centroid_points,
    coarse_points,
    label_folder,
    make_point_labels,
)
from .loss import focal_loss_map, lesps_loss
from .point_files import PointFile, PointRecord, read_point_file
from .point_import import POINT_FILE_KINDS, PointImportReport, labels_from_points, point_import_table
from .trainer import EpochRecord, EvalRecord, EvolutionRound, TrainingError, TrainResult, train

__all__ = [
    "LABEL_TYPES",
    "POINT_FILE_KINDS",
    "POINT_LABELERS",
    "EpochRecord",
    "EvalRecord",
    "EvolutionRound",
    "LabelReport",
    "PointFile",
    "PointImportReport",
    "PointRecord",
    "TrainConfig",
    "TrainResult",
    "TrainingError",
    "centroid_points",
    "coarse_points",
    "evolve_labels",
    "focal_loss_map",
    "label_folder",
    "labels_from_points",
    "lesps_loss",
    "make_point_labels",
    "point_import_table",
    "read_point_file",
    "train",
]
