"""lesps-deploy: infrared small target detection from single-point labels to the edge.

One public name per verb, loaded on first use so `import lesps_deploy` stays light (no torch):
`Detector`, `evaluate`, `export`, `predict`, `train`, plus the model registry (`create_model`,
`list_models`) and tracking (`Tracker`, `TrackerConfig`). Type checkers see the real definitions
(the `TYPE_CHECKING` imports below).

Example:
    >>> from lesps_deploy import Detector, evaluate, export, predict, train
    >>> report = evaluate("acm.onnx", "datasets/NUAA-SIRST")
    >>> report.iou, report.pd, report.backend
"""

import importlib
from pathlib import Path as _Path
from typing import TYPE_CHECKING

from lesps_deploy._lazy import lazy_face
from lesps_deploy.metadata import __version__

# `lesps_deploy.training` and `lesps_deploy.export` live in the repository's top-level training/ and
# export/ folders. An install maps them into this package (pyproject.toml, package-dir); a checkout
# run without installing (PYTHONPATH=., `python -m pytest`) finds them through the top level here.
_TOP = _Path(__file__).resolve().parent.parent
if (_TOP / "pyproject.toml").is_file() and (_TOP / "training" / "__init__.py").is_file():
    __path__.append(str(_TOP))  # noqa: F821 - a package's __path__ is defined by the import system

if TYPE_CHECKING:
    from lesps_deploy.apis.evaluation import evaluate as evaluate
    from lesps_deploy.apis.prediction import predict as predict
    from lesps_deploy.export.exporter import export as export
    from lesps_deploy.models import create_model as create_model
    from lesps_deploy.models import list_models as list_models
    from lesps_deploy.runtime.detector import Detector as Detector
    from lesps_deploy.tracking import Tracker as Tracker
    from lesps_deploy.tracking import TrackerConfig as TrackerConfig
    from lesps_deploy.training.trainer import train as train

_LAZY = """
    lesps_deploy.runtime.detector:  Detector
    lesps_deploy.tracking:          Tracker TrackerConfig
    lesps_deploy.models:            create_model list_models
    lesps_deploy.apis.evaluation:   evaluate
    lesps_deploy.apis.prediction:   predict
    lesps_deploy.export.exporter:   export
    lesps_deploy.training.trainer:  train
"""

# The subpackage `lesps_deploy.export` (a light face) binds itself as this package's `export` when it is
# first imported; import it now and unbind the name, so `lesps_deploy.export` is always the verb.
importlib.import_module(f"{__name__}.export")
del globals()["export"]

__getattr__, __dir__, _names = lazy_face(__name__, _LAZY)
__all__ = ["__version__", *_names]
