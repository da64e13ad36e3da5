"""LESPS training: point labels, label evolution, the focal loss and the trainer (`lesps train`).

Example:
    >>> from lesps_deploy.training import TrainConfig, train
    >>> result = train(TrainConfig(model="ACM", data="datasets/NUAA-SIRST", labels="centroid"))
"""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    .config:       LABEL_TYPES TrainConfig
    .evolution:    evolve_labels
    .labels:       POINT_LABELERS LabelReport centroid_points coarse_points label_folder make_point_labels
    .loss:         focal_loss_map lesps_loss
    .point_files:  PointFile PointRecord read_point_file
    .point_import: POINT_FILE_KINDS PointImportReport labels_from_points point_import_table
    .records:      EpochRecord EvalRecord EvolutionRound TrainingError TrainResult
    .trainer:      train
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
