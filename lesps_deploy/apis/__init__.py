"""Library calls behind the commands: evaluate weights on a split, predict on any source.

Example:
    >>> from lesps_deploy.apis import EvalConfig, evaluate_weights
    >>> report = evaluate_weights(EvalConfig(Path("acm.onnx"), Path("datasets/NUAA-SIRST")))
"""

from lesps_deploy._lazy import exported_names, lazy_exports

_LAZY = {
    ".evaluation": (
        "EvalConfig",
        "evaluate_weights",
        "results_table",
    ),
    ".prediction": (
        "PredictConfig",
        "PredictSummary",
        "run_predict",
        "summary_table",
    ),
}

__all__ = exported_names(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
