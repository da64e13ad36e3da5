"""The one place progress bars are made: rich bars on stderr, a user callback, or nothing (default).

When stderr is not a terminal (a log file, a pipe, CI), transient bars are not drawn at all and kept
bars print their final line only, so logs get no blank or redrawn lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["ProgressSpec", "progress_task", "track"]

T = TypeVar("T")

# True: a rich bar on stderr; a callable: called as fn(description, done, total); None/False: silent.
ProgressSpec = bool | Callable[[str, int, int], None] | None


@contextmanager
def progress_task(
    progress: ProgressSpec, description: str, total: int | None, transient: bool = True
) -> Iterator[Callable[[int], None]]:
    """Yield `advance(n=1)` that reports `n` more finished items of `total`.

    Example:
        >>> with progress_task(True, "labels", 10) as advance:
        ...     for _ in range(10):
        ...         advance(1)
    """
    if callable(progress):
        done = 0

        def advance_callback(n: int = 1) -> None:
            nonlocal done
            done += n
            progress(description, done, total or 0)

        yield advance_callback
        return
    if not progress:
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    if transient and not console.is_terminal:
        # A transient bar leaves nothing on a terminal; in a log file or pipe rich would leave a blank line.
        yield lambda n=1: None
        return
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()
    )  # fmt: skip
    with Progress(*columns, console=console, transient=transient) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def track(
    iterable: Iterable[T], total: int | None = None, description: str = "", enabled: bool = True
) -> Iterator[T]:
    """Iterate with a progress bar on stderr when `enabled` (stdout stays free for results)."""
    with progress_task(enabled, description, total, transient=False) as advance:
        for item in iterable:
            yield item
            advance(1)
