"""`TrainConfig`: the options of `lesps train`, one to one. Defaults are the paper's (LESPS train.py)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from lesps_deploy.data.bit_depth import check_frame_mapping
from lesps_deploy.errors import ConfigError
from lesps_deploy.metrics.rules import DEFAULT_FA_RULE, FaRule, check_fa_rule, check_threshold

__all__ = [
    "TrainConfig",
    "LabelType",
    "LABEL_TYPES",
    "FIXED_LABELS",
    "INIT_LABELS",
    "PAPER_MODE",
    "RESUME_OVERRIDABLE",
    "LEGACY",
]

LabelType = Literal["centroid", "coarse", "full", "tophat", "mpcm"]
LABEL_TYPES: tuple[str, ...] = ("centroid", "coarse", "full", "tophat", "mpcm")
# Supervision with fixed masks (no evolution): full masks, or the LCM pseudo-masks of `lesps labels`.
FIXED_LABELS: tuple[str, ...] = ("full", "tophat", "mpcm")
INIT_LABELS: tuple[str, ...] = ("points", "tophat", "mpcm")
START_RULES: tuple[str, ...] = ("hits", "tloss")  # see training.start_rules
# Options a resumed run takes from the new call when they differ from the defaults; everything
# else comes from the run's own config.json so the run continues as it started.
# The paper's own settings (LESPS train.py), for reproducing it on SIRST3: `TrainConfig(**PAPER_MODE)`,
# or on the command line `--start-rule tloss --init-labels points --prior 0`.
PAPER_MODE: dict[str, Any] = {"start_rule": "tloss", "init_labels": "points", "prior": None, "envelope": None}
# Options added after runs were first written: a run's config.json without them continues with the
# behaviour it started with (these values), not with today's defaults.
LEGACY: dict[str, Any] = {"envelope": None, "amp": False, "channels_last": False}
RESUME_OVERRIDABLE = (
    "epochs", "device", "num_workers", "eval_every", "eval_batch_size", "amp", "channels_last", "prefetch", "compile",
)  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """Everything `train()` needs.

    Attributes:
        model: ACM, ALCNet or DNANet (DNANet trains with its four deep-supervision heads).
        data: dataset folder (images/, masks*/, img_idx/train_*.txt and test_*.txt).
        labels: supervision: centroid or coarse points (LESPS); full masks, or the tophat/mpcm LCM
            pseudo-masks of `lesps labels --type lcm-<method>` (baselines: fixed masks, no evolution).
        epochs, batch_size, patch_size, lr, milestones, gamma: optimisation (Adam + MultiStepLR).
        start_rule: when evolution starts (`training.start_rules`): 'hits' (default: the network ranks
            `start_hits` of the labelled pixels above the background's top 0.1 %, or loss < tloss) or
            'tloss' (the paper: loss < tloss only, which depends on dataset size).
        tloss: the paper's threshold on an epoch's mean loss. start_hits: share of labelled pixels hit.
        init_labels: what evolution starts from: 'points' (the paper) or the 'tophat' (default) or
            'mpcm' pseudo-mask grown around each point (`training.pseudo_masks`).
        tb, k: evolution threshold parameters. evolve_every: evolution period in epochs.
        envelope: evolution grows a label only where the contrast prior (the `init_labels` method's
            map, top-hat when it is 'points') is above this share of its peak near the point
            (`pseudo_masks.prior_envelopes`, no dilation); None or 0: anywhere (the paper). Measured
            with `benchmarks/label_quality.py`: the paper's update grows labels past the targets' edges
            (the network's blobs are wider than small targets), this keeps them to the targets.
        decay: each round, label pixels that are not candidates are multiplied by this (1: the paper,
            labels only grow; PAL uses 0.97). min_prob: a candidate pixel needs a probability of at
            least this (0: the paper's relative threshold only).
        norm: preset name, 'auto' (dataset statistics) or 'MEAN,STD'.
        device: 'auto', 'cpu', 'cuda' or 'cuda:N'. amp: mixed precision (float16 on CUDA, bfloat16 on
            CPU); None: on for CUDA, off on the CPU. channels_last: NHWC memory layout (None: on).
        prefetch: prepare the next batch in a background thread while the current one trains.
        compile: `torch.compile` the network for the training steps (evolution and evaluation stay
            eager). Off by default: measured 1.38x per CPU step (ACM, batch 4, 1 thread) but the first
            compile took 18 min on 2 busy cores (inductor caches it for later runs).
        pos_crops: share of crops drawn to hold a labelled pixel (balanced positive crops; 0: uniform
            crops, the paper). copy_paste: share of crops given one more labelled target of the split
            (its contrast added at a random place, `training.copy_paste`; 0: none, the paper).
        seed: seed of initialisation, shuffling and crops.
        out: run folder (default runs/<model>_<labels>_<time>). resume: run folder to continue.
        eval_every: test-split metrics every N epochs (0: only at the end); eval_limit: first N test images.
        num_workers: DataLoader workers. limit: train on the first N train images only.
        threshold: probability threshold stored in checkpoints and used for metrics and label IoU.
        save_every: write the resumable checkpoint every N epochs (it is always written at evolution rounds).
        prior: initialise the output convolutions' bias to logit(prior) (focal-loss prior init, as in
            RetinaNet/CenterNet; default 0.01). Not in the paper's code (None or 0 keeps its default init);
            it makes short runs start learning targets in a few epochs instead of ~60.
        fa_rule: false-alarm rule of the test metrics ("current", the authors' code today, or "2023").
        strict_masks: a label or mask whose size differs from its image's is an error (default: fitted
            as the reference does, and said once per file).
        frame_mapping: 14/16-bit train frames are mapped to 8 bits by 'agc' (None: the default) or
            'scale', or kept 'raw' to train a 16-bit model (then `norm` must be 'auto' or numbers); the
            checkpoint records the depth (`ModelMeta.input_bits`). See `lesps_deploy.data.bit_depth`.
    """

    model: str = "DNANet"
    data: Path | None = None
    labels: str = "centroid"
    epochs: int = 400
    batch_size: int = 16
    patch_size: int = 256
    lr: float = 5e-4
    milestones: tuple[int, ...] = (200, 300)
    gamma: float = 0.1
    start_rule: str = "hits"
    tloss: float = 10.0
    start_hits: float = 0.5
    init_labels: str = "tophat"
    tb: float = 0.5
    k: float = 0.5
    evolve_every: int = 5
    envelope: float | None = 0.35
    decay: float = 1.0
    min_prob: float = 0.0
    norm: str = "auto"
    device: str = "auto"
    amp: bool | None = None
    channels_last: bool | None = None
    prefetch: bool = True
    pos_crops: float = 0.0
    copy_paste: float = 0.0
    compile: bool = False
    seed: int = 42
    out: Path | None = None
    resume: Path | None = None
    eval_every: int = 10
    eval_limit: int | None = None
    eval_batch_size: int = 8
    num_workers: int = 0
    limit: int | None = None
    threshold: float = 0.5
    save_every: int = 1
    prior: float | None = 0.01
    fa_rule: FaRule = DEFAULT_FA_RULE
    strict_masks: bool = False
    frame_mapping: str | None = None

    def __post_init__(self) -> None:
        check_fa_rule(self.fa_rule)
        check_frame_mapping(self.frame_mapping)
        if self.prior == 0:
            object.__setattr__(self, "prior", None)
        if self.envelope == 0:
            object.__setattr__(self, "envelope", None)
        if self.envelope is not None and not 0 < self.envelope < 1:
            raise ConfigError(f"--envelope {self.envelope}: expected a share in (0, 1), or 0 for none")
        if not 0 < self.decay <= 1:
            raise ConfigError(f"--decay {self.decay}: expected a factor in (0, 1]")
        for flag, share in (("--pos-crops", self.pos_crops), ("--copy-paste", self.copy_paste)):
            if not 0 <= share <= 1:
                raise ConfigError(f"{flag} {share}: expected a share in [0, 1]")
        if not 0 <= self.min_prob < 1:
            raise ConfigError(f"--min-prob {self.min_prob}: expected a probability in [0, 1)")
        if self.start_rule not in START_RULES:
            raise ConfigError(f"--start-rule {self.start_rule!r}: expected one of {', '.join(START_RULES)}")
        if self.init_labels not in INIT_LABELS:
            raise ConfigError(f"--init-labels {self.init_labels!r}: expected one of {', '.join(INIT_LABELS)}")
        if not 0 < self.start_hits <= 1:
            raise ConfigError(f"--start-hits {self.start_hits}: expected a share in (0, 1]")
        if self.prior is not None and not 0 < self.prior < 1:
            raise ConfigError(f"--prior {self.prior}: expected a probability in (0, 1), or 0 for none")
        check_threshold(self.threshold)
        if self.labels not in LABEL_TYPES:
            raise ConfigError(f"--labels {self.labels!r}: expected one of {', '.join(LABEL_TYPES)}")
        positive = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "patch_size": self.patch_size,
            "evolve_every": self.evolve_every,
            "save_every": self.save_every,
        }
        for name, value in positive.items():
            if value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if self.lr <= 0 or not 0 < self.tb <= 1 or self.k < 0:
            raise ConfigError(f"out of range: lr={self.lr}, tb={self.tb} (0..1], k={self.k} (>= 0)")
        object.__setattr__(self, "milestones", tuple(int(m) for m in self.milestones))
        for name in ("data", "out", "resume"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (paths as strings)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, Path):
                out[key] = str(value)
            elif isinstance(value, tuple):
                out[key] = list(value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a dict (e.g. a run's config.json); unknown keys are rejected."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown training options: {', '.join(unknown)}", hint=f"valid: {', '.join(sorted(known))}"
            )
        kwargs = {**LEGACY, **data}
        if "milestones" in kwargs:
            kwargs["milestones"] = tuple(kwargs["milestones"])
        return cls(**kwargs)

    @classmethod
    def from_json(cls, path: str | Path) -> TrainConfig:
        """Read a config saved by a run (`<run>/config.json`)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError(f"{path}: unreadable training config ({err})") from err
        return cls.from_dict(data)

    def resumed_from(self, saved: TrainConfig) -> TrainConfig:
        """The config of a resumed run: `saved`, with overridable options changed in `self` applied."""
        default = TrainConfig()
        changes = {
            name: getattr(self, name)
            for name in RESUME_OVERRIDABLE
            if getattr(self, name) != getattr(default, name) and getattr(self, name) != getattr(saved, name)
        }
        return replace(saved, resume=self.resume, **changes)
