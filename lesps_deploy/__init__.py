"""lesps-deploy: infrared small target detection from single-point labels to the edge.

The few names a user needs, loaded on first use so `import lesps_deploy` stays light:

Example:
    >>> from lesps_deploy import Detector, Tracker, create_model, evaluate, export_model, predict, train
    >>> report = evaluate("acm.onnx", "datasets/NUAA-SIRST")
    >>> report.summary["IoU"], report.summary["Pd"]
"""

from lesps_deploy._lazy import lazy_face
from lesps_deploy.metadata import __version__

_LAZY = """
    lesps_deploy.runtime.detector: Detector
    lesps_deploy.tracking:         Tracker TrackerConfig
    lesps_deploy.models:           create_model list_models
    lesps_deploy.apis.evaluation:  evaluate
    lesps_deploy.apis.prediction:  predict
    lesps_deploy.apis.workflows:   export_model train
"""

__getattr__, __dir__, _names = lazy_face(__name__, _LAZY)
__all__ = ["__version__", *_names]
