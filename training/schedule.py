"""When label evolution runs: the start rule's decision per epoch and the rounds due after an epoch."""

from __future__ import annotations

import logging

from .config import FIXED_LABELS, TrainConfig
from .start_rules import HitCounts, StartDecision, decide_start
from .state import ScheduleState

__all__ = ["evolution_rounds_due", "start_state", "LATE_START"]

log = logging.getLogger(__name__)

LATE_START = 0.4  # share of the schedule after which a run whose evolution has not started is warned about


def evolution_rounds_due(
    started: bool, loss: float, epoch: int, cfg: TrainConfig, counts: HitCounts | None = None
) -> tuple[bool, int]:
    """(started, rounds to run after `epoch`) under the LESPS schedule and `cfg.start_rule`.

    Quirk kept from the reference: the first round and the periodic check are two separate tests, so
    when the first round falls on a multiple of `evolve_every` two rounds run after that epoch.
    """
    if cfg.labels in FIXED_LABELS:
        return False, 0
    due = 0
    if not started and decide_start(cfg.start_rule, loss, cfg.tloss, counts, cfg.start_hits).start:
        started, due = True, 1
    if started and epoch % cfg.evolve_every == 0:
        due += 1
    return started, due


def start_state(
    cfg: TrainConfig, state: ScheduleState, epoch: int, loss: float, counts: HitCounts
) -> tuple[StartDecision | None, bool]:
    """(the start rule's decision after `epoch`, whether the start just became late).

    The decision is None once evolution has started, or with fixed labels. A late start (past
    `LATE_START` of the schedule) is warned about once; `state.start_warned` remembers it.
    """
    if cfg.labels in FIXED_LABELS or state.started:
        return None, False
    decision = decide_start(cfg.start_rule, loss, cfg.tloss, counts, cfg.start_hits)
    if decision.start or state.start_warned or epoch <= LATE_START * cfg.epochs:
        return decision, False
    state.start_warned = True
    log.warning(
        "label evolution has not started after epoch %d of %d (start rule %s: %s)%s",
        epoch, cfg.epochs, cfg.start_rule, decision.describe(),
        "; on a small dataset try --start-rule hits" if cfg.start_rule == "tloss" else "",
    )  # fmt: skip
    return decision, True
