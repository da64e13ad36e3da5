"""`lesps export`: ONNX, TensorRT engines, Triton repositories, with parity against PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lesps_deploy.commands.common import (
    EXPORT,
    FrameMappingOpt,
    JsonOpt,
    ModelOpt,
    NormOpt,
    ThreadsOpt,
    TrustPickleOpt,
    WeightsArg,
    make_console,
    results_console,
    write_json,
)
from lesps_deploy.export.config import ExportConfig

__all__ = ["export_cmd"]


def _export_formats_help() -> str:
    from lesps_deploy.formats import formats_help

    return formats_help()


def export_cmd(
    weights: WeightsArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help=_export_formats_help())] = EXPORT.format,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output file (Triton: repository folder).")
    ] = EXPORT.out,
    model: ModelOpt = EXPORT.model,
    norm: NormOpt = EXPORT.norm,
    imgsz: Annotated[
        tuple[int, int] | None, typer.Option(help="H W, multiples of 32 (trace / profile opt size).")
    ] = EXPORT.imgsz,
    batch: Annotated[
        int | None, typer.Option(help="Batch (engine profile max; Triton max_batch_size).")
    ] = EXPORT.batch,
    dynamic: Annotated[
        bool | None, typer.Option("--dynamic/--static", help="Dynamic batch/H/W (default).")
    ] = EXPORT.dynamic,
    half: Annotated[
        bool, typer.Option(help="FP16 (ONNX: FP16 graph, float32 input/output; engine: GPU).")
    ] = EXPORT.half,
    int8: Annotated[
        bool, typer.Option(help="INT8 (ONNX: QDQ graph; engine), calibrated on --calib-data.")
    ] = EXPORT.int8,
    calib_data: Annotated[
        Path | None, typer.Option(help="Dataset folder of INT8 calibration images.")
    ] = EXPORT.calib_data,
    calib_images: Annotated[
        int, typer.Option(help="Calibration images (>= 300 recommended).")
    ] = EXPORT.calib_images,
    calib_method: Annotated[
        str, typer.Option(help="minmax, percentile or entropy (entropy clips small targets).")
    ] = EXPORT.calib_method,
    calib_percentile: Annotated[
        float, typer.Option(help="Percentile of |activation| kept by --calib-method percentile.")
    ] = EXPORT.calib_percentile,
    calib_split: Annotated[
        str, typer.Option(help="Split of --calib-data to calibrate on (never the evaluated one).")
    ] = EXPORT.calib_split,
    int8_budget: Annotated[
        float,
        typer.Option(
            help="INT8: keep the most sensitive Convs in float until IoU and Pd on the calibration frames "
            "are within this many points of FP32 (0: all INT8)."
        ),
    ] = EXPORT.int8_budget,
    max_drop: Annotated[
        float, typer.Option(help="FP16/INT8: refuse the artifact when IoU or Pd drops more (points).")
    ] = EXPORT.max_drop,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Probability threshold recorded in the artifact (default: the source's, else 0.5)."
        ),
    ] = EXPORT.threshold,
    keep_degraded: Annotated[
        bool, typer.Option(help="Write an FP16/INT8 artifact even beyond --max-drop.")
    ] = EXPORT.keep_degraded,
    opset: Annotated[int, typer.Option(help="ONNX opset (>= 17).")] = EXPORT.opset,
    simplify: Annotated[
        bool, typer.Option(help="Simplify with onnxslim (extra 'simplify'), parity re-checked.")
    ] = EXPORT.simplify,
    workspace: Annotated[
        float | None, typer.Option(help="TensorRT workspace limit in GiB.")
    ] = EXPORT.workspace,
    verify: Annotated[
        Path | None, typer.Option(help="Dataset: parity on real images and split counts.")
    ] = EXPORT.verify,
    instances: Annotated[int, typer.Option(help="Triton instances per device.")] = EXPORT.instances,
    device: Annotated[
        str | None, typer.Option("--device", help="cpu or cuda[:N] (default: per format).")
    ] = EXPORT.device,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output.")] = EXPORT.force,
    json_out: JsonOpt = None,
    trust_pickle: TrustPickleOpt = EXPORT.trust_pickle,
    frame_mapping: FrameMappingOpt = EXPORT.frame_mapping,
    threads: ThreadsOpt = None,
) -> None:
    """Export weights to ONNX, a TensorRT engine or a Triton repository, and check parity with PyTorch."""
    from lesps_deploy.export.exporter import export
    from lesps_deploy.threads import use_threads

    use_threads(threads)

    cfg = ExportConfig(
        weights=weights, format=fmt, out=out, model=model, norm=norm, imgsz=imgsz, batch=batch,
        dynamic=dynamic, half=half, int8=int8, calib_data=calib_data, calib_images=calib_images,
        calib_method=calib_method, calib_percentile=calib_percentile, calib_split=calib_split,
        int8_budget=int8_budget, threshold=threshold, max_drop=max_drop, keep_degraded=keep_degraded, opset=opset, simplify=simplify, workspace=workspace, verify=verify,
        instances=instances, device=device, force=force, trust_pickle=trust_pickle,
        frame_mapping=frame_mapping,
    )  # fmt: skip
    result = export(cfg)
    console = results_console(json_out)
    console.print(
        f"[green]wrote[/] {result.path} ({result.format} {result.meta.precision}, {result.seconds:.1f} s)",
        highlight=False,
    )
    for label, report in result.parity:
        for line in report.lines():
            console.print(f"  parity {label}: {line}", highlight=False)
    for line in result.gate.lines() if result.gate else []:
        console.print(f"  detections {line}", highlight=False)
    write_json(json_out, result.to_dict())
    if not result.ok:
        make_console(stderr=True).print("[red]parity check failed[/]: the artifact differs from PyTorch")
        raise typer.Exit(1)
