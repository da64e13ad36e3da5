"""lesps-deploy: infrared small target detection from single-point labels to the edge.

The few names a user needs, loaded on first use so `import lesps_deploy` stays light:

Example:
    >>> from lesps_deploy import Detector, Tracker, create_model, evaluate, export_model, predict, train
    >>> report = evaluate("acm.onnx", "datasets/NUAA-SIRST")
    >>> report.summary["IoU"], report.summary["Pd"]
"""

from pathlib import Path as _Path

from lesps_deploy._lazy import lazy_face
from lesps_deploy.metadata import __version__

# `lesps_deploy.training` and `lesps_deploy.export` live in the repository's top-level training/ and
# export/ folders. An install maps them into this package (pyproject.toml, package-dir); a checkout
# run without installing (PYTHONPATH=., `python -m pytest`) finds them through the top level here.
_TOP = _Path(__file__).resolve().parent.parent
if (_TOP / "pyproject.toml").is_file() and (_TOP / "training" / "__init__.py").is_file():
    __path__.append(str(_TOP))  # noqa: F821 - a package's __path__ is defined by the import system

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
