"""Export: checkpoints -> ONNX (metadata embedded), TensorRT engines, Triton model repositories.

Example:
    >>> from lesps_deploy.export import ExportConfig, export
    >>> result = export(ExportConfig(Path("ACM_full.pth.tar"), "onnx", norm="SIRST3"))
    >>> result.path, result.parity[0][1].max_abs_diff
"""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    lesps_deploy.runtime.engine_header: EngineHeader read_engine read_header write_engine
    lesps_deploy.formats:               EXPORT_FORMATS ArtifactFormat export_format_names get_export_format
    .config:                            ExportConfig ExportResult validate_config
    .exporter:                          export
    .onnx:                              read_onnx_meta
    .onnx_cache:                        cached_onnx
    .parity:                            ParityReport check_parity
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
