"""`BenchmarkConfig`: the options of `lesps benchmark`, one to one, checked on construction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesps_deploy.errors import ConfigError
from lesps_deploy.formats import backend_names
from lesps_deploy.io import cache_dir
from lesps_deploy.metrics.rules import DEFAULT_FA_RULE, FaRule, check_fa_rule, check_threshold

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

    weights: Path
    backends: tuple[str, ...] = ("torch", "onnxruntime")
    precisions: tuple[str, ...] = ("fp32",)
    batches: tuple[int, ...] = (1,)
    imgsz: tuple[int, ...] = (256,)
    device: str = "cpu"
    model: str | None = None
    norm: str | None = None
    threshold: float | None = None
    warmup: int = 20
    max_warmup_seconds: float = 3.0
    runs: int = 200
    min_runs: int = 5
    max_seconds: float = 10.0
    min_seconds: float | None = None
    data: Path | None = None
    split: str = "test"
    fa_rule: FaRule = DEFAULT_FA_RULE
    cache_dir: Path | None = None
    json_out: Path | None = None
    markdown_out: Path | None = None
    plot_out: Path | None = None
    compare: Path | None = None
    threads: int = 0
    seed: int = 0
    trust_pickle: bool = False

    def __post_init__(self) -> None:
        known = backend_names()
        checks = (
            (set(self.backends) - set(known), f"--backends: unknown {sorted(set(self.backends) - set(known))}; choose from {', '.join(known)}"),
            (set(self.precisions) - set(PRECISIONS), f"--precision: unknown {sorted(set(self.precisions) - set(PRECISIONS))}; choose from {', '.join(PRECISIONS)}"),
            (any(b < 1 for b in self.batches), f"--batch {list(self.batches)}: sizes must be >= 1"),
            (any(s < 1 for s in self.imgsz), f"--imgsz {list(self.imgsz)}: sizes must be >= 1"),
            (self.threads < 0, f"--threads {self.threads}: must be >= 0"),
            (self.warmup < 0, f"--warmup {self.warmup}: must be >= 0"),
            (self.runs < 1 or self.min_runs < 1, f"--runs {self.runs}: must be >= 1"),
            (self.max_seconds <= 0, f"--max-seconds {self.max_seconds}: must be > 0"),
            (self.min_seconds is not None and self.min_seconds <= 0, f"--min-seconds {self.min_seconds}: must be > 0"),
            (self.device.split(":")[0] not in ("cpu", "cuda"), f"--device {self.device}: use cpu, cuda or cuda:N"),
        )  # fmt: skip
        for bad, message in checks:
            if bad:
                raise ConfigError(message)
        check_fa_rule(self.fa_rule)
        check_threshold(self.threshold)
        if self.data is not None and not Path(self.data).is_dir():
            raise ConfigError(
                f"{self.data}: dataset folder not found",
                hint="--data takes a folder with images/, masks/, img_idx/",
            )

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
