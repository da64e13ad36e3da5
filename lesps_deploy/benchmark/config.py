"""`BenchmarkConfig`: the options of `lesps benchmark`, one to one, checked on construction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesps_deploy.errors import ConfigError
from lesps_deploy.formats import backend_names
from lesps_deploy.io import cache_dir
from lesps_deploy.metrics.rules import FaRule, fa_rule_option
from lesps_deploy.options import Role, force_option, json_option, option, threads_option, validate
from lesps_deploy.runtime import options as shared

__all__ = ["BenchmarkConfig", "PRECISIONS", "default_cache_dir", "parse_list"]

PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")


def default_cache_dir() -> Path:
    """Where exported artifacts are kept between runs (`$XDG_CACHE_HOME/lesps-deploy/benchmark`)."""
    return cache_dir("benchmark")


def parse_list(text: str | tuple | list, kind: type = str, option: str = "") -> tuple:
    """'a,b,c' (or an already split sequence) -> tuple of `kind`, order kept, duplicates dropped.

    Raises:
        ConfigError: empty list or an item that is not a `kind`.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list = []
    for item in items:
        raw = item.strip() if isinstance(item, str) else item
        if raw == "":
            continue
        try:
            value = kind(raw)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{option} {text}: '{raw}' is not a valid {kind.__name__}") from err
        if value not in out:
            out.append(value)
    if not out:
        raise ConfigError(f"{option}: give at least one value")
    return tuple(out)


def _check_frame_size(text: str) -> None:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError("expected WIDTHxHEIGHT, e.g. 640x512") from None
    if width < 1 or height < 1:
        raise ValueError("width and height must be >= 1")


@dataclass(frozen=True)
class BenchmarkConfig:
    """What to measure and where to write it.

    Timing stops at whichever comes first: `runs` timed calls, or `max_seconds` of timing for one
    combination (at least `min_runs` calls either way), so a slow combination cannot eat the whole
    budget. `min_seconds` switches to time-based timing: calls repeat until that many seconds have
    passed (`runs` and `max_seconds` are then ignored). Warm-up stops after `warmup` calls or
    `max_warmup_seconds`, whichever comes first.

    Attributes:
        weights: PyTorch checkpoint (.pth/.pth.tar/.pt); other backends get artifacts exported from it.
        backends: backend names (`lesps_deploy.formats`); PyTorch FP32 is always measured as the reference.
        precisions: fp32, fp16, int8.
        batches: batch sizes.
        imgsz: square frame sides; frames are preprocessed like `Detector`/`evaluate` (reference
            padding), so a 256 frame runs as a 288x288 network input.
        device: cpu, cuda or cuda:N.
        model, norm, threshold: overrides passed on like `lesps evaluate`.
        data: dataset folder; when given, IoU/nIoU/Pd/Fa of every artifact on `split`.
        fa_rule: false-alarm rule of the accuracy columns ("current" or "2023", see metrics).
        cache_dir: exported artifacts, keyed by the checkpoint's sha256 and the export options.
        json_out, markdown_out, plot_out: report files (written atomically).
        compare: an earlier JSON report to diff against.
        threads: intra-op threads of PyTorch and ONNX Runtime on CPU (0: `lesps_deploy.threads.current_threads()`).
        seed: seed of the synthetic frames.
        trust_pickle: allow full unpickling of a checkpoint that safe loading refuses.
    """

    weights: Path = shared.weights_option(
        "PyTorch checkpoint; other artifacts are exported from it. With --clients: also an .onnx, a "
        "Triton repository or a served model's http:// / grpc:// URL.",
        flag="--weights", short="-w", role=Role.INPUT, url=True,
    )  # fmt: skip
    backends: tuple[str, ...] = option(
        ("torch", "onnxruntime"), "Comma list: torch, onnxruntime, tensorrt.", choices=tuple(backend_names())
    )
    precisions: tuple[str, ...] = option(
        ("fp32",), "Comma list: fp32, fp16, int8 (unsupported combinations are listed as skipped).",
        flag="--precision", choices=PRECISIONS,
    )  # fmt: skip
    batches: tuple[int, ...] = option((1,), "Comma list of batch sizes.", flag="--batch", ge=1)
    imgsz: tuple[int, ...] = option(
        (256,), "Comma list of square frame sides (reference padding: 256 runs as 288).", ge=1
    )
    device: str = shared.device_option()
    model: str | None = shared.model_option()
    norm: str | None = shared.norm_option()
    threshold: float | None = shared.threshold_option()
    warmup: int = option(20, "Warm-up calls per combination (also capped by --max-warmup-seconds).", ge=0)
    max_warmup_seconds: float = option(3.0, "Warm-up time cap per combination.", ge=0)
    runs: int = option(200, "Timed calls per combination (capped by --max-seconds).", ge=1)
    min_runs: int = option(5, "Timed calls per combination at the least.", ge=1, cli=False)
    max_seconds: float = option(10.0, "Timing cap per combination (at least 5 calls are timed).", gt=0)
    min_seconds: float | None = option(None, "Time each combination for this long instead of --runs.", gt=0)
    data: Path | None = shared.data_option(
        help="Dataset folder: adds IoU/nIoU/Pd/Fa per artifact and the change vs torch fp32."
    )
    split: str = option("test", "Split evaluated with --data.")
    fa_rule: FaRule = fa_rule_option()
    cache_dir: Path | None = option(
        None, "Exported artifacts cache (default ~/.cache/lesps-deploy/benchmark).", role=Role.OUTPUT_DIR
    )
    json_out: Path | None = json_option()
    markdown_out: Path | None = option(
        None, "Write the report as Markdown.", flag="--markdown", role=Role.OUTPUT_FILE
    )
    plot_out: Path | None = option(
        None, "Write a latency vs throughput PNG (needs matplotlib).", flag="--plot", role=Role.OUTPUT_FILE
    )
    compare: Path | None = option(
        None, "An earlier --json report: print the change against it.", role=Role.INPUT_FILE, noun="report"
    )
    force: bool = force_option()
    threads: int | None = threads_option()
    seed: int = option(0, "Seed of the synthetic frames.", cli=False)
    clients: int = option(
        0,
        "Serving benchmark instead: N concurrent clients of the model on a Triton server against "
        "in-process ONNX Runtime, --max-seconds each (needs the serve extra).",
        ge=0,
    )
    frame_size: str = option(
        "640x512", "Serving benchmark frame size WxH.", check=_check_frame_size, invalid="640"
    )
    protocol: str = option("grpc", "Serving benchmark protocol: grpc or http.", choices=("grpc", "http"))
    trust_pickle: bool = shared.trust_pickle_option()

    def __post_init__(self) -> None:
        validate(self)

    @property
    def artifact_cache(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir is not None else default_cache_dir()

    def to_dict(self) -> dict:
        """JSON-ready form (paths as strings) for the report."""
        from dataclasses import asdict

        return {
            k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(self).items()
        }
