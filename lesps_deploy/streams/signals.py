"""Stopping a run the way Ctrl-C does: SIGTERM and SIGHUP (what `kill`, systemd, Docker and a closed
SSH session send) become a `KeyboardInterrupt` in the main thread, and closing files is not cut short
by a second one."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator

__all__ = ["Stopped", "signals_as_ctrl_c", "finish_despite_ctrl_c"]

log = logging.getLogger(__name__)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C would be, so the run ends as it does for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.signal_name = signal.Signals(signum).name


_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def signals_as_ctrl_c() -> Iterator[None]:
    """While the run's main loop runs, SIGTERM/SIGHUP raise `Stopped` (a KeyboardInterrupt) there.

    Handlers can only be set from the main thread; elsewhere (a caller's worker thread) the run keeps
    the process's handlers. The previous handlers are restored afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def finish_despite_ctrl_c(finish: Callable[[], None]) -> None:
    """Run `finish`; a second Ctrl-C while it runs is noted, not obeyed (files are being closed)."""
    while True:
        try:
            finish()
            return
        except KeyboardInterrupt:
            log.warning("still closing the output files; they would be left incomplete otherwise")
