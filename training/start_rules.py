"""When label evolution starts: the paper's Tloss rule, and a readiness rule that holds at any dataset size.

* ``tloss`` (the paper, `train.py` of XinyiYing/LESPS): start after the first epoch whose mean loss is
  below Tloss. The loss is a sum over each batch divided by the number of labelled points, so its size
  depends on the dataset and the number of steps run: with Tloss 10, tuned on SIRST3 (~105 steps an
  epoch), training on NUAA-SIRST alone (14 steps) never starts evolution in 400 epochs.
* ``hits`` (our default): start after the first epoch in which the network, on its own training crops,
  predicts at least `start_hits` of the labelled pixels (value 1: the points, or the initial
  pseudo-masks) above the threshold while marking at most `MAX_BACKGROUND` of the unlabelled pixels.
  Both are shares, so they mean the same on any dataset and schedule; the background bound keeps an
  untrained network that outputs ~0.5 everywhere from counting as ready. Tloss is not consulted: the
  loss's size also moves with the initial labels (a pseudo-mask has more labelled pixels to divide by)
  and the output prior (`--prior` starts the loss near 5), so no loss threshold transfers. Where the
  paper's rule does start (e.g. the demo), this one was measured to start no later (README, "When
  evolution starts").

The counts come from the forward passes the epoch runs anyway (no extra inference).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import START_RULES

__all__ = ["START_RULES", "MAX_BACKGROUND", "HitCounts", "StartDecision", "decide_start"]

MAX_BACKGROUND = 1e-3  # share of unlabelled crop pixels allowed above the threshold when "ready"


@dataclass
class HitCounts:
    """Labelled pixels hit and background pixels marked over an epoch's training crops."""

    hits: float = 0.0
    labelled: float = 0.0
    marked: float = 0.0
    background: float = 0.0

    @torch.no_grad()
    def add(self, pred: torch.Tensor, label: torch.Tensor, threshold: float) -> None:
        """Count one batch (probabilities and labels of the same shape)."""
        sure, above = label >= 1, pred.detach() > threshold
        unlabelled = label <= 0
        self.hits += float((above & sure).sum())
        self.labelled += float(sure.sum())
        self.marked += float((above & unlabelled).sum())
        self.background += float(unlabelled.sum())

    @property
    def hit_rate(self) -> float:
        return self.hits / self.labelled if self.labelled else 0.0

    @property
    def background_rate(self) -> float:
        return self.marked / self.background if self.background else 0.0

    def as_tuple(self) -> tuple[float, float, float, float]:
        return self.hits, self.labelled, self.marked, self.background


@dataclass(frozen=True)
class StartDecision:
    """The rule's state after one epoch (logged every epoch until evolution starts)."""

    start: bool
    rule: str
    loss: float
    tloss: float
    hit_rate: float | None = None
    background_rate: float | None = None
    start_hits: float | None = None

    def describe(self) -> str:
        text = f"loss {self.loss:.4g} vs Tloss {self.tloss:g}"
        if self.rule == "hits" and self.hit_rate is not None:
            text = (
                f"labelled pixels hit {100 * self.hit_rate:.1f} % (needs {100 * (self.start_hits or 0):g} %), "
                f"background marked {100 * (self.background_rate or 0):.3f} % "
                f"(at most {100 * MAX_BACKGROUND:g} %); {text}"
            )
        return text

    def to_dict(self) -> dict[str, float | str | bool | None]:
        return {
            "start": self.start,
            "rule": self.rule,
            "loss": self.loss,
            "tloss": self.tloss,
            "hit_rate": self.hit_rate,
            "background_rate": self.background_rate,
            "start_hits": self.start_hits,
        }


def decide_start(
    rule: str, loss: float, tloss: float, counts: HitCounts | None = None, start_hits: float = 0.5
) -> StartDecision:
    """Whether evolution starts after an epoch with this mean loss and these hit counts."""
    if rule == "tloss":
        return StartDecision(loss < tloss, rule, loss, tloss)
    counts = counts or HitCounts()
    ready = counts.hit_rate >= start_hits and counts.background_rate <= MAX_BACKGROUND
    return StartDecision(ready, rule, loss, tloss, counts.hit_rate, counts.background_rate, start_hits)
