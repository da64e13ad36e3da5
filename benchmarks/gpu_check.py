"""One prepared check of everything that needs a GPU, writing one JSON (`python benchmarks/gpu_check.py`).

On a CUDA machine (within about 8 minutes): the `gpu`/`tensorrt`-marked tests that can run there,
PyTorch CUDA FP32 / FP16 / CUDA-graph latency measured with CUDA events, FP16 detection deltas on
NUAA-SIRST test (PyTorch FP16 against FP32), ONNX Runtime CUDA and a TensorRT FP16 engine when
installed, and a 2-epoch AMP training smoke run. A part whose dependency is missing (TensorRT,
onnxruntime-gpu, the dataset) is skipped with its reason; a part that fails records its error and
the others still run. `--device cpu` runs the same parts on the CPU at quick sizes (CI runs it so
the script cannot rot): FP16 deltas then come from the FP16 ONNX graph on ONNX Runtime.

    python benchmarks/gpu_check.py --out gpu_check.json              # CUDA machine
    python benchmarks/gpu_check.py --device cpu --out /tmp/check.json
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lesps_deploy.io import json_text
from lesps_deploy.timing import latency_stats

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LESPS_SHARED", ROOT.parent / "shared"))
WEIGHTS = SHARED / "weights" / "lesps-official" / "ACM_LESPS_centroid.pth.tar"
DATA = SHARED / "datasets" / "NUAA-SIRST"


class Skip(Exception):
    """A part that does not apply here; the message is the reason."""


def _quick(args: argparse.Namespace) -> bool:
    return args.device == "cpu"


def part_tests(args: argparse.Namespace) -> dict[str, Any]:
    """The gpu/tensorrt-marked tests (pytest), on a CUDA machine only."""
    if _quick(args):
        raise Skip("--device cpu: the gpu/tensorrt-marked tests would only skip")
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "gpu or tensorrt", "-p", "no:cacheprovider", "-rs"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    tail = proc.stdout.strip().splitlines()[-15:]
    return {"returncode": proc.returncode, "summary": tail[-1] if tail else "", "tail": tail}


def _model(device: str) -> Any:
    from lesps_deploy.models import create_model, load_checkpoint

    if WEIGHTS.exists():
        return load_checkpoint(WEIGHTS).model.eval().to(device)
    return create_model("ACM").eval().to(device)  # latency does not depend on the weights


def _time_cuda(fn: Callable[[], Any], runs: int) -> list[float]:
    import torch

    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return times


def _time_cpu(fn: Callable[[], Any], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - t0))
    return times


def _stats(times: list[float]) -> dict[str, float]:
    return latency_stats(times, ("p50", "p90", "p99", "mean")) | {"runs": len(times)}


def _graph_call(model: Any, x: Any) -> Callable[[], Any]:
    """A CUDA graph replaying one forward on a static input (capture after a warm-up on a side stream)."""
    import torch

    static = x.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream), torch.no_grad():
        for _ in range(3):
            model(static)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.no_grad():
        model(static)
    return graph.replay


def part_latency(args: argparse.Namespace) -> dict[str, Any]:
    """PyTorch latency per batch: FP32, FP16 and FP32 CUDA graphs (CUDA events) or FP32 on the CPU."""
    import torch

    torch.set_num_threads(1) if _quick(args) else None
    device, runs = args.device, (5 if _quick(args) else 100)
    side = 64 if _quick(args) else 288  # 256 frames after reference padding
    model = _model(device)
    out: dict[str, Any] = {"input_side": side}
    for batch in (1, 4):
        x = torch.randn(batch, 1, side, side, device=device)
        variants: dict[str, Callable[[], Any]] = {"fp32": lambda m=model, x=x: m(x)}
        if not _quick(args):
            half = _model(device).half()
            xh = x.half()
            variants["fp16"] = lambda m=half, x=xh: m(x)
            variants["fp32_cuda_graph"] = _graph_call(model, x)
        for name, fn in variants.items():
            with torch.no_grad():
                for _ in range(3):
                    fn()
                times = _time_cpu(fn, runs) if _quick(args) else _time_cuda(fn, runs)
            out[f"{name}_b{batch}_ms"] = _stats(times)
    if _quick(args):
        out["skipped"] = "fp16 and CUDA graphs need CUDA"
    return out


def _deltas(ref: dict, art: dict) -> dict[str, float]:
    return {
        "IoU": round(100 * (art["IoU"] - ref["IoU"]), 4),
        "nIoU": round(100 * (art["nIoU"] - ref["nIoU"]), 4),
        "Pd": round(100 * ((art["Pd"] or 0.0) - (ref["Pd"] or 0.0)), 4),
        "Fa_1e-6": round(1e6 * (art["Fa"] - ref["Fa"]), 4),
    }


def _summary(report: Any) -> dict[str, Any]:
    s = report.to_dict()
    return {k: s[k] for k in ("images", "IoU", "nIoU", "Pd", "Fa", "intersection", "detected", "seconds")}


def part_fp16_deltas(args: argparse.Namespace) -> dict[str, Any]:
    """FP16 against FP32 on NUAA-SIRST test: PyTorch on CUDA; the FP16 ONNX graph on the CPU (quick)."""
    if not (WEIGHTS.exists() and DATA.exists()):
        raise Skip(f"{SHARED}: released weights or NUAA-SIRST not found (set LESPS_SHARED)")
    from lesps_deploy.runtime.dataset_runner import run_dataset

    limit = 24 if _quick(args) else None
    if _quick(args):
        import onnx

        from lesps_deploy.export import ExportConfig, export
        from lesps_deploy.export.quantize import to_fp16
        from lesps_deploy.runtime.onnx_backend import OnnxRuntimeBackend

        with tempfile.TemporaryDirectory() as tmp:
            fp32 = export(ExportConfig(WEIGHTS, out=Path(tmp) / "a.onnx")).path
            onnx.save(to_fp16(onnx.load(str(fp32))), str(Path(tmp) / "h.onnx"))
            with (
                OnnxRuntimeBackend(fp32, threads=1) as a,
                OnnxRuntimeBackend(Path(tmp) / "h.onnx", threads=1) as b,
            ):
                ref = _summary(run_dataset(a, DATA, "test", limit=limit, log_notes=False))
                art = _summary(run_dataset(b, DATA, "test", limit=limit, log_notes=False))
        return {"backend": "onnxruntime cpu", "fp32": ref, "fp16": art, "deltas": _deltas(ref, art)}
    from lesps_deploy.runtime.torch_backend import TorchBackend

    with (
        TorchBackend(WEIGHTS, device=args.device) as a,
        TorchBackend(WEIGHTS, device=args.device, half=True) as b,
    ):
        ref = _summary(run_dataset(a, DATA, "test", log_notes=False))
        art = _summary(run_dataset(b, DATA, "test", log_notes=False))
    return {"backend": f"torch {args.device}", "fp32": ref, "fp16": art, "deltas": _deltas(ref, art)}


def part_onnxruntime_gpu(args: argparse.Namespace) -> dict[str, Any]:
    """FP32 and FP16 ONNX on ONNX Runtime's CUDA provider (onnxruntime-gpu)."""
    if _quick(args):
        raise Skip("--device cpu: no CUDA provider to check")
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise Skip(f"onnxruntime has no CUDAExecutionProvider ({', '.join(ort.get_available_providers())})")
    if not (WEIGHTS.exists() and DATA.exists()):
        raise Skip(f"{SHARED}: released weights or NUAA-SIRST not found")
    from lesps_deploy.export import ExportConfig, export
    from lesps_deploy.runtime.dataset_runner import run_dataset
    from lesps_deploy.runtime.onnx_backend import OnnxRuntimeBackend

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision, half in (("fp32", False), ("fp16", True)):
            path = export(ExportConfig(WEIGHTS, out=Path(tmp) / f"{precision}.onnx", half=half)).path
            with OnnxRuntimeBackend(path, device="cuda") as backend:
                out[precision] = _summary(run_dataset(backend, DATA, "test", log_notes=False))
    out["deltas"] = _deltas(out["fp32"], out["fp16"])
    return out


def part_tensorrt(args: argparse.Namespace) -> dict[str, Any]:
    """A TensorRT FP16 engine of the released ACM, with its export gate (needs TensorRT)."""
    if _quick(args):
        raise Skip("--device cpu: TensorRT needs CUDA")
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        raise Skip("tensorrt is not installed (pip install 'lesps-deploy[tensorrt]')") from None
    if not WEIGHTS.exists():
        raise Skip(f"{WEIGHTS} not found")
    from lesps_deploy.export import ExportConfig, export

    with tempfile.TemporaryDirectory() as tmp:
        result = export(ExportConfig(WEIGHTS, "engine", out=Path(tmp) / "a.engine", half=True))
        return result.to_dict()


def part_amp_training(args: argparse.Namespace) -> dict[str, Any]:
    """`lesps train ... --amp --epochs 2 --limit N` (bfloat16 autocast on the CPU, on a small synthetic
    dataset: the run ends with an evaluation of the whole test split)."""
    limit = 4 if _quick(args) else 64
    with tempfile.TemporaryDirectory() as tmp:
        data = DATA
        if _quick(args) or not DATA.exists():
            from lesps_deploy.data.synth import SynthConfig, make_dataset

            data = Path(tmp) / "synth"
            make_dataset(data, SynthConfig(images=12, size=64, seed=0))
        cmd = [
            sys.executable, "-m", "lesps_deploy.cli", "train", "--model", "ACM", "--data", str(data),
            "--labels", "centroid", "--amp", "--epochs", "2", "--limit", str(limit), "--device", args.device,
            "--out", str(Path(tmp) / "run"), "--num-workers", "0", "--eval-every", "0",
            "--batch-size", "2" if _quick(args) else "8", "--patch-size", "64" if _quick(args) else "256",
        ]  # fmt: skip
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(
                f"lesps train exited {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}"
            )
        files = sorted(p.name for p in (Path(tmp) / "run").iterdir())
    return {"dataset": str(data.name), "limit": limit, "epochs": 2, "files": files}


PARTS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "tests": part_tests,
    "latency": part_latency,
    "fp16_deltas": part_fp16_deltas,
    "onnxruntime_gpu": part_onnxruntime_gpu,
    "tensorrt": part_tensorrt,
    "amp_training": part_amp_training,
}


def _environment(device: str) -> dict[str, Any]:
    import torch

    env: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__, "device": device}
    if torch.cuda.is_available():
        env.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (quick sizes)")
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated subset of: " + ", ".join(PARTS)
    )
    args = parser.parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device visible; run with --device cpu", file=sys.stderr)
        return 2
    report: dict[str, Any] = {"environment": _environment(args.device), "parts": {}}
    start = time.perf_counter()
    for name in args.parts.split(","):
        t0 = time.perf_counter()
        try:
            entry = {"status": "ok", **PARTS[name](args)}
        except Skip as why:
            entry = {"status": "skipped", "reason": str(why)}
        except Exception as err:  # one part failing must not hide the others' figures
            entry = {
                "status": "failed",
                "error": f"{type(err).__name__}: {err}",
                "trace": traceback.format_exc()[-2000:],
            }
        entry["seconds"] = round(time.perf_counter() - t0, 2)
        report["parts"][name] = entry
        print(f"{name}: {entry['status']} ({entry['seconds']} s)", file=sys.stderr)
    report["seconds"] = round(time.perf_counter() - start, 2)
    from lesps_deploy.io import atomic_write_json

    atomic_write_json(args.out, report)
    print(json_text({k: v["status"] for k, v in report["parts"].items()}))
    return 1 if any(v["status"] == "failed" for v in report["parts"].values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
