"""One pipeline per export format, looked up by name in `PIPELINES` (no if/elif over formats).

Each pipeline takes a prepared `Job` and a scratch folder, writes its artifact there, checks
parity, and only then moves the result onto the user's path.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lesps_deploy.data.bit_depth import FrameMapper
from lesps_deploy.data.norm import Norm, model_norm
from lesps_deploy.formats import CHECKPOINT, ArtifactFormat, format_for_path
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.runtime.base import Backend, load_runtime

from .config import TOLERANCES, ExportConfig, source_kind
from .gate import DetectionParity, detection_parity, enforce_gate, gate_frames
from .parity import ParityReport, check_parity

if TYPE_CHECKING:
    from .quantize import CalibrationSpec

__all__ = ["Job", "PIPELINES", "resolve_meta", "run_parity"]

logger = logging.getLogger(__name__)

Outcome = tuple[Path, list[tuple[str, ParityReport]], dict[str, Any]]


@dataclass
class Job:
    """Resolved options plus what `prepare` loads (the source model, its meta and norm)."""

    cfg: ExportConfig
    fmt: ArtifactFormat
    out: Path
    device: str
    imgsz: tuple[int, int]
    batch: int
    dynamic: bool
    meta: ModelMeta | None = None
    norm: Norm | None = None
    module: Any = None  # torch.nn.Module of a checkpoint source (torch is imported only for those)
    reference: Backend | None = None  # TorchBackend over `module`, None when the source is not a checkpoint
    gate: DetectionParity | None = None  # FP16/INT8: the detection-level check against the FP32 graph

    @property
    def source(self) -> str:
        return source_kind(self.cfg.weights)

    @property
    def precision(self) -> str:
        return self.cfg.precision

    @property
    def mapper(self) -> FrameMapper:
        return FrameMapper(self.meta.input_bits if self.meta else 8, self.cfg.frame_mapping)


def resolve_meta(
    meta: ModelMeta, norm_spec: str | None, dataset: Path | None, source: Path
) -> tuple[ModelMeta, Norm]:
    """Meta carrying the normalization the artifact will embed: `--norm` wins over the checkpoint's own.

    Raises:
        ConfigError: neither gives one.
    """
    norm = model_norm(norm_spec, meta, dataset, source)
    return dataclasses.replace(meta, mean=norm.mean, std=norm.std), norm


def run_parity(
    label: str,
    reference: Backend,
    artifact_path: Path,
    job: Job,
    precision: str = "fp32",
    backend: str | None = None,
) -> tuple[str, ParityReport]:
    """Parity of one artifact file against the PyTorch reference module."""
    runs_on = backend or format_for_path(artifact_path).backend
    device = "cpu" if runs_on == "onnxruntime" else job.device
    with load_runtime(artifact_path, device=device, backend=backend) as artifact:
        report = check_parity(
            reference, artifact, job.norm, dataset_dir=job.cfg.verify, counts=job.cfg.verify is not None,
            tolerance=TOLERANCES[precision], strict_counts=precision == "fp32",
            frame_mapping=job.cfg.frame_mapping,
        )  # fmt: skip
    if not report.ok:
        logger.warning("%s parity check failed: %s", label, "; ".join(report.lines()))
    return label, report


def move_into_place(src: Path, dst: Path) -> Path:
    """Rename a finished file onto its final path (same filesystem: atomic)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)
    return dst


def prepare(job: Job) -> None:
    """Load the source (checkpoint or ONNX file) and settle meta and normalization."""
    if job.source == CHECKPOINT:
        from lesps_deploy.models import load_checkpoint
        from lesps_deploy.runtime.torch_backend import TorchBackend

        ckpt = load_checkpoint(job.cfg.weights, model=job.cfg.model, trust_pickle=job.cfg.trust_pickle)
        meta = dataclasses.replace(ckpt.meta, source_sha256=ckpt.sha256)
        job.meta, job.norm = resolve_meta(meta, job.cfg.norm, job.cfg.verify, job.cfg.weights)
        job.module = ckpt.model.eval()
        job.reference = TorchBackend.from_module(job.module, job.meta, "cpu")
    elif job.source == "onnx":
        from .onnx import read_onnx_meta

        job.meta, job.norm = resolve_meta(
            read_onnx_meta(job.cfg.weights), job.cfg.norm, job.cfg.verify, job.cfg.weights
        )
        logger.warning("%s: no PyTorch checkpoint given, so parity is not checked", job.cfg.weights)
    else:
        from lesps_deploy.runtime.engine_header import read_header

        job.meta = read_header(job.cfg.weights).model_meta
    if job.cfg.threshold is not None:  # recorded in the artifact: evaluate/predict/Detector default to it
        job.meta = dataclasses.replace(job.meta, threshold=job.cfg.threshold)


def _onnx_file(job: Job, tmp: Path) -> tuple[Path, list[tuple[str, ParityReport]]]:
    """The ONNX file to build from: exported (with parity, simplified if asked) or the source itself."""
    from .onnx import export_onnx, read_onnx_meta, simplify_onnx

    if job.source == "onnx":
        return job.cfg.weights, []
    path = export_onnx(
        job.module, job.meta, tmp / "model.onnx", job.imgsz, job.batch, job.dynamic, job.cfg.opset
    )
    job.meta = read_onnx_meta(path)  # as written: with versions stamped
    parity = [run_parity("onnx", job.reference, path, job)]
    if job.cfg.simplify:
        simplify_onnx(path)
        parity.append(run_parity("onnx (simplified)", job.reference, path, job))
    return path, parity


def calibration_spec(job: Job) -> tuple[list[Path], CalibrationSpec]:
    """The INT8 calibration frames and what the metadata records of them."""
    from .calibration import calibration_files
    from .quantize import CalibrationSpec

    cfg = job.cfg
    assert cfg.calib_data is not None  # validate_config: --int8 needs --calib-data
    files = calibration_files(cfg.calib_data, cfg.calib_images, cfg.calib_split)
    name = Path(cfg.calib_data).resolve().name
    return files, CalibrationSpec(cfg.calib_method, cfg.calib_percentile, len(files), cfg.calib_split, name)


def reduced_precision_onnx(job: Job, fp32: Path, tmp: Path) -> Path:
    """FP16 or QDQ INT8 ONNX from the FP32 graph `fp32`, with its metadata (precision, calibration)."""
    import onnx

    from .mixed_precision import int8_with_fallback
    from .onnx import write_onnx_meta
    from .quantize import FrameReader, quantize_int8, to_fp16

    out = tmp / f"model.{job.precision}.onnx"
    meta = dataclasses.replace(job.meta, precision=job.precision)
    if job.precision == "fp16":
        proto = to_fp16(onnx.load(str(fp32)))
    else:
        files, spec = calibration_spec(job)
        reader = FrameReader(files, job.norm, job.mapper, meta.input_name, meta.pad_multiple)
        ranges = tmp / "int8-ranges.json"  # calibrated once; the float-fallback search re-quantizes from it

        def quantize(dst: Path, float_nodes: list[str]) -> Path:
            return quantize_int8(fp32, dst, reader, spec, cache=ranges, float_nodes=float_nodes)

        cfg = job.cfg
        frames = gate_frames(None, cfg.calib_data, cfg.calib_split, cfg.calib_images, tmp)
        fallback = int8_with_fallback(
            fp32, out, quantize, reader, frames, job.norm, job.mapper, cfg.int8_budget
        )
        proto = onnx.load(str(out))
        meta.calibration = {**spec.to_dict(), "float_fallback": fallback.to_dict()}
    write_onnx_meta(proto, meta)
    onnx.save(proto, str(out))
    job.meta = meta
    return out


def run_gate(job: Job, fp32: Path, artifact: Path, tmp: Path, device: str = "cpu") -> DetectionParity:
    """The detection-level gate; refuses (ExportError) a degraded artifact unless --keep-degraded."""
    cfg = job.cfg
    frames = gate_frames(
        cfg.verify, cfg.calib_data if cfg.int8 else None, cfg.calib_split, cfg.calib_images, tmp
    )
    report = detection_parity(
        fp32, artifact, job.precision, frames, job.norm, cfg.max_drop, device, cfg.frame_mapping
    )
    enforce_gate(report, job.out, cfg.keep_degraded, cfg.int8)
    job.gate = report
    return report


def export_onnx_format(job: Job, tmp: Path) -> Outcome:
    prepare(job)
    path, parity = _onnx_file(job, tmp)
    if job.precision == "fp32":
        return move_into_place(path, job.out), parity, {}
    from .onnx import update_onnx_meta

    artifact = reduced_precision_onnx(job, path, tmp)
    report = run_gate(job, path, artifact, tmp)
    job.meta = dataclasses.replace(job.meta, parity=report.summary())
    update_onnx_meta(artifact, job.meta)
    details = {"kept_degraded": not report.passed}
    return move_into_place(artifact, job.out), parity, details


def export_engine_format(job: Job, tmp: Path) -> Outcome:
    from .tensorrt import EngineBuildConfig, build_engine

    prepare(job)
    onnx_path, parity = _onnx_file(job, tmp)
    cfg = job.cfg
    build = EngineBuildConfig(
        imgsz=job.imgsz, batch=job.batch, dynamic=job.dynamic, precision=job.precision,
        workspace_gib=cfg.workspace, calib_data=cfg.calib_data, calib_images=cfg.calib_images,
        calib_method=cfg.calib_method, calib_percentile=cfg.calib_percentile, calib_split=cfg.calib_split,
        int8_budget=cfg.int8_budget, device=job.device, input_bits=job.meta.input_bits, frame_mapping=cfg.frame_mapping,
    )  # fmt: skip
    engine = tmp / "model.engine"
    header = build_engine(onnx_path, engine, build, job.meta, job.norm, cache_dir=job.out.parent)
    if job.reference is not None:
        parity.append(run_parity("engine", job.reference, engine, job, job.precision))
        if job.precision != "fp32":  # the FP32 graph on the CPU is the reference of the gate
            from lesps_deploy.runtime.engine_header import update_engine_meta

            report = run_gate(job, onnx_path, engine, tmp, device=job.device)
            header = update_engine_meta(
                engine, dataclasses.replace(header.model_meta, parity=report.summary())
            )
    details = {"tensorrt": header.tensorrt_version, "gpu": header.gpu_name, "precision": header.precision}
    return move_into_place(engine, job.out), parity, details


def _network(job: Job, platform: str, shape: list[Any], params: dict[str, str]) -> Any:
    """The bare network's Triton model: dims from the ONNX graph or engine profile."""
    from .triton import network_model, network_name

    dynamic_batch = isinstance(shape[0], str) or platform == "tensorrt_plan" and shape[0] == -1
    dims = tuple(d if isinstance(d, int) else -1 for d in (shape[1:] if dynamic_batch else shape))
    kind = "KIND_GPU" if platform == "tensorrt_plan" or job.device.startswith("cuda") else "KIND_CPU"
    name = network_name(model_name_of(job))
    batch = job.batch if dynamic_batch else 0
    return network_model(name, platform, job.meta, dims, batch, job.cfg.instances, kind, params)


def model_name_of(job: Job) -> str:
    from .triton import model_name

    return model_name(job.cfg.weights)


def _engine_shape(header: Any) -> list[int]:
    """Input shape from an engine profile, -1 where min and max differ."""
    return [
        lo if lo == hi else -1 for lo, hi in zip(header.profile["min"], header.profile["max"], strict=True)
    ]


def export_triton_format(job: Job, tmp: Path) -> Outcome:
    """`<name>` (Python backend + ONNX Runtime), `<name>_net` (the bare network) and `<name>_pipeline`
    (frames in, the network called on `<name>_net`); an engine source gives the last two."""
    from lesps_deploy.runtime.engine_header import read_engine
    from lesps_deploy.runtime.processing import DEFAULT_PATCH_SIZE
    from lesps_deploy.runtime.triton_protocol import ServeParams

    from .onnx import onnx_io_shapes
    from .triton import (
        MODEL_PY,
        PLATFORM_FILES,
        frames_model,
        meta_parameters,
        pipeline_name,
        write_model_repository,
    )

    prepare(job)
    onnx_bytes = None
    if job.source == "engine":
        header, payload = read_engine(job.cfg.weights)
        shape, parity, platform = _engine_shape(header), [], "tensorrt_plan"
        job.batch = header.profile["max"][0]
        params = meta_parameters(
            job.meta, tensorrt_version=header.tensorrt_version, precision=header.precision
        )
    else:
        onnx_path, parity = _onnx_file(job, tmp)
        shape, platform = onnx_io_shapes(onnx_path)[job.meta.input_name], "onnxruntime_onnx"
        payload = onnx_bytes = onnx_path.read_bytes()
        params = meta_parameters(job.meta)
    net = _network(job, platform, shape, params)
    serve = ServeParams(
        patch_size=DEFAULT_PATCH_SIZE, frame_mapping=job.mapper.mapping, batch_size=max(net.max_batch_size, 1)
    )
    batch = max(net.max_batch_size, 1)
    code = MODEL_PY.encode()
    models = [(net, {f"1/{PLATFORM_FILES[platform]}": payload})]
    pipeline_params = {**params, **dataclasses.replace(serve, network=net.name).to_parameters()}
    models.append(
        (frames_model(pipeline_name(model_name_of(job)), batch, 1, pipeline_params), {"1/model.py": code})
    )
    if onnx_bytes is not None:
        own = frames_model(model_name_of(job), batch, job.cfg.instances, {**params, **serve.to_parameters()})
        models.insert(0, (own, {"1/model.py": code, "1/model.onnx": onnx_bytes}))
    folders = write_model_repository(job.out, models, force=job.cfg.force)
    details = {
        "platform": platform,
        "max_batch_size": net.max_batch_size,
        "models": [f.name for f in folders],
    }
    return folders[0] if onnx_bytes is not None else folders[-1], parity, details


PIPELINES: dict[str, Callable[[Job, Path], Outcome]] = {
    "onnx": export_onnx_format,
    "engine": export_engine_format,
    "triton": export_triton_format,
}
