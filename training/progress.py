"""Progress reporting for long library calls: a rich bar behind a flag, or a user callback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["ProgressSpec", "progress_task"]

# True: a rich bar on stderr; a callable: called as fn(description, done, total); None/False: silent.
ProgressSpec = bool | Callable[[str, int, int], None] | None


@contextmanager
def progress_task(progress: ProgressSpec, description: str, total: int) -> Iterator[Callable[[int], None]]:
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
            progress(description, done, total)

        yield advance_callback
        return
    if not progress:
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
