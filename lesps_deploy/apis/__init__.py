"""Library calls behind the commands: evaluate weights on a split, predict on any source.

Example:
    >>> from lesps_deploy.apis import EvalConfig, evaluate
    >>> report = evaluate(EvalConfig(Path("acm.onnx"), Path("datasets/NUAA-SIRST")))
"""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    .evaluation: EvalConfig evaluate results_table
    .prediction: PredictConfig PredictSummary predict summary_table
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
