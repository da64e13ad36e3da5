"""`TrainConfig`: the options of `lesps train`, one to one. Defaults are the paper's (LESPS train.py)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from lesps_deploy.errors import ConfigError
from lesps_deploy.metrics.rules import FaRule, fa_rule_option, strict_masks_option
from lesps_deploy.options import (
    Role,
    force_option,
    json_option,
    name_of,
    option,
    say,
    threads_option,
    validate,
)
from lesps_deploy.runtime import options as shared

__all__ = [
    "TrainConfig",
    "LabelType",
    "LABEL_TYPES",
    "FIXED_LABELS",
    "INIT_LABELS",
    "PAPER_MODE",
    "RESUME_OVERRIDABLE",
    "LabelsConfig",
    "LEGACY",
]

LabelType = Literal["centroid", "coarse", "full", "tophat", "mpcm"]
LABEL_TYPES: tuple[str, ...] = ("centroid", "coarse", "full", "tophat", "mpcm")
# Supervision with fixed masks (no evolution): full masks, or the LCM pseudo-masks of `lesps labels`.
FIXED_LABELS: tuple[str, ...] = ("full", "tophat", "mpcm")
INIT_LABELS: tuple[str, ...] = ("points", "tophat", "mpcm")
START_RULES: tuple[str, ...] = ("hits", "tloss")  # see training.start_rules
OUTSIDE_ENVELOPE: tuple[str, ...] = ("background", "ignore")  # see training.evolution (unknown_cut)
# The paper's own settings (LESPS train.py), for reproducing it on SIRST3: `TrainConfig(**PAPER_MODE)`,
# or on the command line `--start-rule tloss --init-labels points --prior 0 --envelope 0 --precise-bn 0
# --size-balance 0`.
PAPER_MODE: dict[str, Any] = {
    "start_rule": "tloss", "init_labels": "points", "prior": None, "envelope": None, "precise_bn": 0,
    "size_balance": 0.0,
}  # fmt: skip
# Options added after runs were first written: a run's config.json without them continues with the
# behaviour it started with (these values), not with today's defaults.
LEGACY: dict[str, Any] = {
    "envelope": None, "amp": False, "channels_last": False, "outside_envelope": "background", "precise_bn": 0,
    "size_balance": 0.0,
}  # fmt: skip
# Options a resumed run takes from the new call whenever they are given (`TrainConfig.given`); everything
# else comes from the run's own config.json so the run continues as it started.
RESUME_OVERRIDABLE = (
    "epochs", "device", "num_workers", "eval_every", "eval_batch_size", "amp", "channels_last", "prefetch", "compile",
    "precise_bn",
)  # fmt: skip


def _check_envelope(envelope: float | None) -> None:
    if envelope is not None and envelope != 0 and not 0 < envelope < 1:
        raise ValueError("expected a share in (0, 1), or 0 for none")


def _check_prior(prior: float) -> None:
    if prior != 0 and not 0 < prior < 1:
        raise ValueError("expected a probability in (0, 1), or 0 for none")


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
        outside_envelope: 'ignore' (the pixels the envelope cuts from a round's candidates become
            `evolution.UNKNOWN`, left out of the loss: the prior and the network disagree on them) or
            'background' (they stay label 0, as before). Chosen on the validation split (README).
        decay: each round, label pixels that are not candidates are multiplied by this (1: the paper,
            labels only grow; PAL uses 0.97). min_prob: a candidate pixel needs a probability of at
            least this (0: the paper's relative threshold only).
        norm: preset name, 'auto' (dataset statistics) or 'MEAN,STD'.
        device: 'auto', 'cpu', 'cuda' or 'cuda:N'. amp: mixed precision (float16 on CUDA, bfloat16 on
            CPU); None: on for CUDA, off on the CPU. channels_last: NHWC memory layout (None: on).
        precise_bn: the final checkpoint (and its evaluation) uses BatchNorm statistics recomputed over
            this many batches of train crops, evaluations during training over at most one epoch's
            (`training.precise_bn`; weights unchanged, training unchanged);
            0: the running statistics, which for ACM/ALCNet (MXNet momentum quirk) are about the last
            batch's, as in the paper.
        prefetch: prepare the next batch in a background thread while the current one trains.
        compile: `torch.compile` the network for the training steps (evolution and evaluation stay
            eager). Off by default: measured 1.38x per CPU step (ACM, batch 4, 1 thread) but the first
            compile took 18 min on 2 busy cores (inductor caches it for later runs).
        pos_crops: share of crops drawn to hold a labelled pixel (balanced positive crops; 0: uniform
            crops, the paper). copy_paste: share of crops given one more labelled target of the split
            (its contrast added at a random place, `training.copy_paste`; 0: none, the paper).
        size_balance: exponent P of the loss's size weights (`training.loss.size_weights`): a labelled
            pixel's positive term is weighed by the label mass in the 15x15 box around it to the -P
            (1: every target counts the same, small dim ones included; 0: every pixel, the paper). Default
            0.5, chosen on two validation folds carved from NUAA-SIRST train (README).
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

    model: str = option("DNANet", "ACM, ALCNet or DNANet.")
    data: Path | None = shared.data_option(help="Dataset folder (images/, masks*/, img_idx/).")
    labels: str = option(
        "centroid",
        "Supervision: centroid, coarse (LESPS), full masks, or tophat / mpcm LCM pseudo-masks "
        "(fixed; make them with lesps labels --type lcm-<method>).",
        choices=LABEL_TYPES,
    )
    epochs: int = option(400, "Training epochs.", ge=1)
    batch_size: int = shared.batch_option(
        16, "Batch size (split over torchrun processes).", renamed=("--batch-size",)
    )
    patch_size: int = option(256, "Random crop size.", ge=1)
    lr: float = option(5e-4, "Adam learning rate.", gt=0)
    milestones: tuple[int, ...] = option((200, 300), "MultiStepLR epochs, comma separated.", ge=1)
    gamma: float = option(0.1, "MultiStepLR factor.", gt=0)
    start_rule: str = option(
        "hits",
        "When evolution starts: hits (the network ranks --start-hits of the labelled pixels above the "
        "background's top 0.1 %, works at any dataset size; or loss < --tloss) or tloss (the paper: loss only).",
        choices=START_RULES,
    )
    tloss: float = option(
        10.0, "The paper's rule: evolution starts after an epoch with mean loss below this."
    )
    start_hits: float = option(0.5, "hits rule: share of labelled pixels the network must hit.", gt=0, le=1)
    init_labels: str = option(
        "tophat",
        "What evolution starts from: points (the paper), or the tophat / mpcm LCM pseudo-mask "
        "grown around each point.",
        choices=INIT_LABELS,
    )
    tb: float = option(0.5, "Evolution threshold Tb.", gt=0, le=1)
    k: float = option(0.5, "Evolution threshold k.", ge=0)
    evolve_every: int = option(5, "Evolution period in epochs.", ge=1)
    envelope: float | None = option(
        0.35,
        "Evolution grows labels only where the contrast prior is above this share of its peak near the "
        "point (0: anywhere, the paper).",
        check=_check_envelope, invalid=1.5,
    )  # fmt: skip
    outside_envelope: str = option(
        "ignore",
        "What the pixels the envelope cuts from a round's candidates become: background (0), or ignore "
        "(left out of the loss until a later round decides them).",
        choices=OUTSIDE_ENVELOPE,
    )
    decay: float = option(
        1.0, "Each round, label pixels that are not candidates are multiplied by this (1: the paper).",
        gt=0, le=1,
    )  # fmt: skip
    min_prob: float = option(
        0.0, "Evolution candidates need at least this probability (0: the paper).", ge=0, lt=1
    )
    norm: str = shared.norm_option("auto")
    device: str = shared.device_option("auto", "auto, cpu, cuda or cuda:N.", auto=True)
    amp: bool | None = option(None, "Mixed precision (default: on for CUDA, off on the CPU).")
    channels_last: bool | None = option(None, "NHWC memory layout (default: on).")
    prefetch: bool = option(True, "Prepare the next batch while the current one trains.")
    pos_crops: float = option(
        0.0, "Share of crops drawn to hold a labelled target (0: uniform, the paper).", ge=0, le=1
    )
    copy_paste: float = option(
        0.0, "Share of crops given one more labelled target of the split (0: none).", ge=0, le=1
    )
    size_balance: float = option(
        0.5,
        "Weigh each labelled pixel's loss by its target's label mass to the power -P (0.5: a target counts "
        "with the square root of its size; 1: every target the same; 0: every pixel, the paper).",
        ge=0, le=1,
    )  # fmt: skip
    compile: bool = option(False, "torch.compile the network (minutes to compile, then cached).")
    seed: int = option(42, "Seed of initialisation, shuffling and crops.")
    out: Path | None = option(
        None, "Run folder (default runs/<model>_<labels>_<time>).", role=Role.OUTPUT_DIR
    )
    resume: Path | None = option(
        None, "Continue the run in this folder.", role=Role.INPUT_DIR, noun="run folder"
    )
    eval_every: int = option(10, "Test metrics every N epochs (0: at the end only).", ge=0)
    precise_bn: int = option(
        64,
        "Test metrics and the final checkpoint use BatchNorm statistics recomputed over N batches of "
        "train crops (0: the running statistics, as the paper).",
        ge=0,
    )
    eval_limit: int | None = option(None, "Test metrics on the first N test images only.", ge=1, cli=False)
    eval_batch_size: int = option(8, "Images per forward pass of the test metrics.", ge=1, cli=False)
    num_workers: int = option(0, "DataLoader workers.", ge=0)
    limit: int | None = option(None, "Train on the first N train images only.", ge=1)
    threshold: float = shared.threshold_option(
        0.5, "Probability threshold of the test metrics and label IoU (kept in checkpoints)."
    )
    save_every: int = option(1, "Write the resumable checkpoint every N epochs.", ge=1, cli=False)
    prior: float | None = option(
        0.01, "Init output biases to logit(P) (not in the paper: 0 for its init; faster starts).",
        check=_check_prior, invalid=1.5,
    )  # fmt: skip
    fa_rule: FaRule = fa_rule_option()
    strict_masks: bool = strict_masks_option()
    frame_mapping: str | None = shared.frame_mapping_option()
    threads: int | None = threads_option()
    # Not an option: the names of the options the caller gave (the CLI's flags on its command line,
    # `train(**options)`'s keywords). On resume these win over the run's own even when they equal the
    # default; None: the options that differ from their defaults. Never saved with the run.
    given: frozenset[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        validate(self)
        if self.prior == 0:  # the paper's init
            object.__setattr__(self, "prior", None)
        if self.envelope == 0:  # the paper: growth anywhere in the window
            object.__setattr__(self, "envelope", None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (paths as strings)."""
        out = asdict(self)
        del out["given"]
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

    def given_names(self) -> frozenset[str]:
        """The options this config was given: `given`, or those that differ from their defaults."""
        if self.given is not None:
            return self.given
        return frozenset(
            f.name for f in fields(self) if f.name != "given" and getattr(self, f.name) != f.default
        )

    def resumed_from(self, saved: TrainConfig) -> TrainConfig:
        """The config of a resumed run: `saved`, with the overridable options `self` was given applied
        (`given_names`: even an option given at its default value wins over the run's own)."""
        given = self.given_names()
        _check_fixed_on_resume(self, saved, given)
        changes = {
            name: getattr(self, name)
            for name in RESUME_OVERRIDABLE
            if name in given and getattr(self, name) != getattr(saved, name)
        }
        return replace(saved, resume=self.resume, given=None, **changes)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Path) and isinstance(b, Path):
        return a.resolve() == b.resolve()
    return a == b


# The overridable options a user can type (some are Python-only keywords).
_RESUME_FLAGS = frozenset(
    f.name for f in fields(TrainConfig) if f.name in RESUME_OVERRIDABLE and f.metadata["option"].cli
)


def _check_fixed_on_resume(new: TrainConfig, saved: TrainConfig, given: frozenset[str]) -> None:
    """Refuse an option given to a resume that would change what the run trains (it keeps its own)."""
    runtime_only = {"resume", "threads", *RESUME_OVERRIDABLE}
    for name in sorted(given - runtime_only):
        if not _same(getattr(new, name), getattr(saved, name)):
            raise ConfigError(
                f"{say(name, getattr(new, name))}: a resumed run keeps the value it started with "
                f"({say(name, getattr(saved, name))})",
                hint="on resume only these can change: "
                + ", ".join(name_of(f.name) for f in fields(TrainConfig) if f.name in _RESUME_FLAGS)
                + "; start a new run (--out) to change the others",
            )


POINT_KINDS: tuple[str, ...] = ("centroid", "coarse")


@dataclass(frozen=True)
class LabelsConfig:
    """Options of `lesps labels`: each field declares its flag, help and domain (`lesps_deploy.options`)."""

    dataset_dir: Path = option(
        help="Dataset folder with masks/ (and images/, img_idx/).", argument=True, role=Role.INPUT_DIR,
        noun="dataset folder",
    )  # fmt: skip
    type: str = option(
        "centroid",
        "centroid or coarse points, or lcm-tophat / lcm-mpcm pseudo-masks grown from the --points "
        "labels (written to masks_<method>/).",
        choices=(*POINT_KINDS, "lcm-tophat", "lcm-mpcm"),
    )
    points: str = option(
        "centroid",
        "With --type lcm-<method>: the point labels to grow (centroid or coarse).",
        choices=POINT_KINDS,
    )
    seed: int = option(0, "Seed of the coarse point offsets.")
    from_points: Path | None = option(
        None,
        "Make the labels from clicked points instead of masks: a CSV (image,x,y), a COCO keypoints "
        "JSON, a LabelMe JSON or a folder of them (x = column, y = row; pixel = floor).",
        role=Role.INPUT, noun="point file or folder",
    )  # fmt: skip
    json_out: Path | None = json_option()
    force: bool = force_option(
        "Replace an existing --json file, and label files lesps did not write (e.g. a dataset's released "
        "labels); without it only lesps's own earlier output (in the folder's .lesps-written.json) is replaced."
    )
    threads: int | None = threads_option()
    # Not an option: the names of the options the caller gave (the CLI's flags on its command line,
    # `train(**options)`'s keywords). On resume these win over the run's own even when they equal the
    # default; None: the options that differ from their defaults. Never saved with the run.
    given: frozenset[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        validate(self)
        if self.from_points is not None and self.type not in POINT_KINDS:
            raise ConfigError(
                f"{name_of('from_points')} makes point labels: {name_of('type')} centroid or coarse"
            )
