"""ONNX -> TensorRT engine with the Python API; the installed TensorRT version picks the path.

TensorRT 10.x (JetPack 6 ships 10.3): weakly typed network, FP16 through `BuilderFlag.FP16`,
INT8 through a min-max (default) or entropy calibrator fed by `CalibrationBatches` (cache keyed by
graph, data and method). TensorRT 11+: precision flags and calibrators are gone; the network is
strongly typed, so FP16 means an FP16 ONNX graph and INT8 means Q/DQ nodes: the very graphs
`lesps export --format onnx --half/--int8` writes (`quantize.py`, ONNX Runtime's converter and
`quantize_static`), so there is one INT8 path. Both paths share the optimization profile,
workspace limit and a timing cache file reused across builds.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import onnx

from lesps_deploy.data import FrameMapper, Norm
from lesps_deploy.errors import ConfigError, ExportError, MissingDependencyError
from lesps_deploy.io import atomic_write_bytes, cache_dir
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.runtime.engine_header import EngineHeader, write_engine

from .calibration import CalibrationBatches, calibration_files
from .config import DEFAULT_INT8_BUDGET

__all__ = [
    "EngineBuildConfig",
    "import_tensorrt",
    "tensorrt_major",
    "profile_shapes",
    "gpu_info",
    "default_timing_cache",
    "build_engine",
]

logger = logging.getLogger(__name__)

# With a dynamic profile, frames up to this size run whole (the runtime tiles only when both sides
# exceed 1024, and reference padding of 1024 gives 1056).
DYNAMIC_MAX_SIDE = 1056


@dataclass(frozen=True)
class EngineBuildConfig:
    """How to build one engine (validated by the exporter against the format table)."""

    imgsz: tuple[int, int] = (512, 512)
    batch: int = 1
    dynamic: bool = True
    precision: str = "fp32"  # fp32 | fp16 | int8
    workspace_gib: float | None = None
    calib_data: Path | None = None
    calib_images: int = 300
    calib_method: str = "minmax"  # minmax | percentile | entropy (TensorRT 10: minmax | entropy)
    calib_percentile: float = 99.999
    calib_split: str = "train"
    int8_budget: float = DEFAULT_INT8_BUDGET
    timing_cache: Path | None = None
    device: str = "cuda"
    input_bits: int = 8  # the model's (ModelMeta.input_bits): calibration frames are mapped to it
    frame_mapping: str | None = None


def import_tensorrt() -> ModuleType:
    """`import tensorrt`, or a MissingDependencyError saying how to get it."""
    try:
        import tensorrt as trt
    except ImportError as err:
        raise MissingDependencyError(
            "tensorrt", "tensorrt", "--format engine",
            hint="on Jetson, TensorRT comes with JetPack (use the system Python or --system-site-packages)",
        ) from err  # fmt: skip
    return trt


def tensorrt_major(trt: ModuleType) -> int:
    return int(trt.__version__.split(".")[0])


def profile_shapes(
    batch: int, imgsz: tuple[int, int], dynamic: bool, pad_multiple: int
) -> dict[str, list[int]]:
    """min/opt/max input shapes: fixed at (batch,1,H,W), or from one pad multiple square (the smallest
    padded frame) up to DYNAMIC_MAX_SIDE with opt at imgsz."""
    opt = [batch, 1, *imgsz]
    if not dynamic:
        return {"min": opt, "opt": opt, "max": opt}
    top = [max(imgsz[0], DYNAMIC_MAX_SIDE), max(imgsz[1], DYNAMIC_MAX_SIDE)]
    return {"min": [1, 1, pad_multiple, pad_multiple], "opt": opt, "max": [batch, 1, *top]}


def gpu_info(device: str) -> tuple[str, str]:
    """(GPU name, "major.minor" compute capability) through torch."""
    import torch

    if not torch.cuda.is_available():
        raise ConfigError("building a TensorRT engine needs a CUDA GPU; none is visible here")
    idx = torch.device(device).index or 0
    major, minor = torch.cuda.get_device_capability(idx)
    return torch.cuda.get_device_name(idx), f"{major}.{minor}"


def _parse(trt: ModuleType, builder: Any, onnx_bytes: bytes, strongly_typed: bool, path: Path) -> Any:
    flags = 0
    strong = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if strongly_typed and strong is not None:  # always on in 11+, where the flag may be gone
        flags |= 1 << int(strong)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, trt.Logger(trt.Logger.WARNING))
    if not parser.parse(onnx_bytes):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"{path}: TensorRT cannot parse the ONNX graph: {errors}")
    return network, parser


def _timing_cache(config: Any, path: Path | None) -> None:
    data = path.read_bytes() if path is not None and path.exists() else b""
    cache = config.create_timing_cache(data)
    config.set_timing_cache(cache, ignore_mismatch=False)


def _calibration_key(onnx_bytes: bytes, batches: CalibrationBatches, method: str) -> str:
    h = hashlib.sha256(onnx_bytes)
    mapping = f"{batches.mapper.model_bits}|{batches.mapper.mapping}"
    h.update(f"{method}|{batches.norm}|{batches.imgsz}|{batches.batch}|{mapping}".encode())
    for f in batches.files:
        h.update(str(f).encode())
    return h.hexdigest()[:12]


def _calibration_batches(cfg: EngineBuildConfig, norm: Norm) -> CalibrationBatches:
    if cfg.calib_data is None:
        raise ConfigError("--int8 needs calibration images", hint="add --calib-data DATASET_DIR")
    files = calibration_files(cfg.calib_data, cfg.calib_images, cfg.calib_split)
    return CalibrationBatches(
        files, norm, cfg.batch, cfg.imgsz, FrameMapper(cfg.input_bits, cfg.frame_mapping)
    )


def _configure_v10(trt: ModuleType, config: Any, cfg: EngineBuildConfig, profile: Any, calib: Any) -> None:
    """TensorRT 10: precision through builder flags, INT8 through the calibrator."""
    if cfg.precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)  # INT8 layers without a fast INT8 kernel fall back to FP16
    if cfg.precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = calib
        config.set_calibration_profile(profile)


def _strongly_typed_onnx(
    proto: onnx.ModelProto, cfg: EngineBuildConfig, norm: Norm, meta: ModelMeta
) -> onnx.ModelProto:
    """TensorRT 11+: the precision lives in the graph: the FP16 or QDQ INT8 graph of the ONNX export."""
    import tempfile

    from .gate import gate_frames
    from .mixed_precision import int8_with_fallback
    from .quantize import CalibrationSpec, FrameReader, quantize_int8, to_fp16

    if cfg.precision == "fp16":
        return to_fp16(proto)
    if cfg.precision != "int8":
        return proto
    if cfg.calib_data is None:
        raise ConfigError("--int8 needs calibration images", hint="add --calib-data DATASET_DIR")
    files = calibration_files(cfg.calib_data, cfg.calib_images, cfg.calib_split)
    reader = FrameReader(
        files, norm, FrameMapper(cfg.input_bits, cfg.frame_mapping), meta.input_name, meta.pad_multiple
    )
    spec = CalibrationSpec(
        cfg.calib_method, cfg.calib_percentile, len(files), cfg.calib_split, cfg.calib_data.name
    )
    with tempfile.TemporaryDirectory(prefix="lesps-qdq-") as tmp:
        src, dst, ranges = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx", Path(tmp) / "ranges.json"
        onnx.save(proto, str(src))

        def quantize(out: Path, float_nodes: list[str]) -> Path:
            return quantize_int8(src, out, reader, spec, cache=ranges, float_nodes=float_nodes)

        # The same float fallback as the ONNX artifact (export.mixed_precision): one INT8 path.
        frames = gate_frames(None, cfg.calib_data, cfg.calib_split, cfg.calib_images, Path(tmp))
        int8_with_fallback(src, dst, quantize, reader, frames, norm, reader.mapper, cfg.int8_budget)
        return onnx.load(str(dst))


def default_timing_cache(trt_version: str, capability: str) -> Path:
    """Per-user timing cache file, one per TensorRT version and compute capability."""
    return cache_dir() / f"tensorrt-{trt_version}-sm{capability.replace('.', '')}.timing"


def _v10_calibrator(
    trt: ModuleType,
    cfg: EngineBuildConfig,
    norm: Norm,
    onnx_path: Path,
    onnx_bytes: bytes,
    cache_dir: Path,
    extra: dict[str, Any],
) -> Any:
    """The TensorRT 10 INT8 calibrator (None unless INT8); its cache is keyed by graph, data and method."""
    if cfg.precision != "int8":
        return None
    from .tensorrt_calibrator import make_calibrator

    method = cfg.calib_method
    if method not in ("minmax", "entropy"):
        logger.info("TensorRT 10 has no %s calibrator; calibrating with its min-max calibrator", method)
        method = "minmax"
    batches = _calibration_batches(cfg, norm)
    key = _calibration_key(onnx_bytes, batches, method)
    cache = cache_dir / f"{onnx_path.stem}.{method}.{key}.calib"
    extra.update(
        calibration_images=len(batches.files), calibration_cache=cache.name, calibration_method=method
    )
    return make_calibrator(trt, method, batches, cache, cfg.device)


def build_engine(
    onnx_path: Path,
    out: Path,
    cfg: EngineBuildConfig,
    meta: ModelMeta,
    norm: Norm,
    cache_dir: Path | None = None,
) -> EngineHeader:
    """Build `out` (.engine: header + plan) from `onnx_path`; returns the header written.

    `cache_dir` holds the INT8 calibration cache (default: beside `out`).

    Raises:
        MissingDependencyError: TensorRT is not installed.
        ConfigError: no GPU, or INT8 without calibration data.
        ExportError: the parser or the builder failed.
    """
    trt = import_tensorrt()
    gpu_name, capability = gpu_info(cfg.device)
    major = tensorrt_major(trt)
    proto = onnx.load(str(onnx_path))
    if major >= 11:
        proto = _strongly_typed_onnx(proto, cfg, norm, meta)
    onnx_bytes = proto.SerializeToString()
    trt_logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(trt_logger)
    network, _parser = _parse(trt, builder, onnx_bytes, major >= 11, onnx_path)
    config = builder.create_builder_config()
    if cfg.workspace_gib:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(cfg.workspace_gib * (1 << 30)))
    shapes = profile_shapes(cfg.batch, cfg.imgsz, cfg.dynamic, meta.pad_multiple)
    profile = builder.create_optimization_profile()
    profile.set_shape(meta.input_name, shapes["min"], shapes["opt"], shapes["max"])
    config.add_optimization_profile(profile)
    extra: dict[str, Any] = {"builder_path": "strongly-typed" if major >= 11 else "builder-flags"}
    if major < 11:
        calib = _v10_calibrator(trt, cfg, norm, onnx_path, onnx_bytes, cache_dir or out.parent, extra)
        _configure_v10(trt, config, cfg, profile, calib)
    timing = cfg.timing_cache or default_timing_cache(trt.__version__, capability)
    _timing_cache(config, timing)
    start = time.perf_counter()
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ExportError(f"{out}: TensorRT failed to build the engine (see the TensorRT log above)")
    atomic_write_bytes(timing, bytes(config.get_timing_cache().serialize()))
    extra["build_seconds"] = round(time.perf_counter() - start, 2)
    header = EngineHeader(
        meta.to_strings(), trt.__version__, gpu_name, capability, cfg.precision, shapes, extra
    )
    write_engine(out, header, bytes(plan))
    logger.info("wrote %s (TensorRT %s, %s, %s)", out, trt.__version__, cfg.precision, gpu_name)
    return header
