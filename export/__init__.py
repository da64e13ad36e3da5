"""Export: checkpoints -> ONNX (metadata embedded), TensorRT engines, Triton model repositories.

Example:
    >>> from lesps_deploy.export import ExportConfig, export_weights
    >>> result = export_weights(ExportConfig(Path("ACM_full.pth.tar"), "onnx", norm="SIRST3"))
    >>> result.path, result.parity[0][1].max_abs_diff
"""

from lesps_deploy.runtime.engine_header import EngineHeader, read_engine, read_header, write_engine

from .exporter import ExportConfig, ExportResult, export_weights, validate_config
from .formats import EXPORT_FORMATS, ExportFormat, format_names, get_format
from .onnx import export_onnx, read_onnx_meta
from .parity import ParityReport, check_parity

__all__ = [
    "EXPORT_FORMATS",
    "EngineHeader",
    "ExportConfig",
    "ExportFormat",
    "ExportResult",
    "ParityReport",
    "check_parity",
    "export_onnx",
    "export_weights",
    "format_names",
    "get_format",
    "read_engine",
    "read_header",
    "read_onnx_meta",
    "validate_config",
    "write_engine",
]
