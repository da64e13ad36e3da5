"""The CLI's one error boundary: every exception a command lets out becomes one line and an exit code.

* The project's own errors (`LespsError`): their message (and hint), exit 2.
* Operating-system errors (an `OSError` with an errno: disk full, read-only file system, permission
  denied, not a directory, exists, no such file, ...): the path and the cause in words, exit 1.
* Anything else is a bug: one line saying so and how to see the traceback (`LESPS_DEBUG=1`), exit 70
  (`EX_SOFTWARE` of sysexits.h).

Errors arrive wrapped: a library re-raises an `OSError` as its own `RuntimeError` (`raise ... from err`)
or raises while handling one. The chain (`__cause__`, `__context__`) is walked, so a full disk is
named as such wherever it surfaced. With `LESPS_DEBUG=1` nothing is translated: the traceback shows.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass

from lesps_deploy.errors import LespsError

__all__ = ["EXIT_USER", "EXIT_OS", "EXIT_INTERNAL", "Outcome", "debug_enabled", "describe", "os_cause"]

EXIT_OS = 1
EXIT_USER = 2
EXIT_INTERNAL = 70

# errno -> (the cause in words, what to do). Other errnos use os.strerror's words.
_CAUSES: dict[int, tuple[str, str | None]] = {
    errno.ENOSPC: ("no space left on the device (disk full)", "free some space or write to another disk"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or write to another disk"),
    errno.EROFS: ("read-only file system", "write to a folder on a writable file system"),
    errno.EACCES: ("permission denied", "check the path's owner and permissions, or write elsewhere"),
    errno.EPERM: ("operation not permitted", "check the path's owner and permissions, or write elsewhere"),
    errno.ENOTDIR: (
        "not a directory (a part of the path is a file)",
        "choose a path whose folders are folders",
    ),
    errno.EEXIST: ("already exists", "choose another path or remove the existing one"),
    errno.ENOENT: ("no such file or directory", None),
    errno.EISDIR: ("is a directory, not a file", "name a file"),
    errno.ENAMETOOLONG: ("file name too long", None),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n) or use fewer workers"),
    errno.EIO: ("input/output error (the disk or the network share failed)", None),
}


def debug_enabled() -> bool:
    """`LESPS_DEBUG=1`: show tracebacks and third-party logs."""
    return os.environ.get("LESPS_DEBUG", "").strip() == "1"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the CLI prints and returns for an exception."""

    exit_code: int
    message: str
    hint: str | None = None


def _chain(err: BaseException) -> Iterator[BaseException]:
    """`err`, then its causes and contexts, outermost first (each once)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def os_cause(err: BaseException) -> OSError | None:
    """The operating-system error in `err`'s chain (an `OSError` carrying an errno), if any."""
    for item in _chain(err):
        if isinstance(item, OSError) and item.errno is not None:
            return item
    return None


def _os_line(err: OSError) -> Outcome:
    cause, hint = _CAUSES.get(err.errno or 0, (os.strerror(err.errno or 0).lower(), None))
    if err.errno == errno.EEXIST and err.filename is not None and os.path.isfile(err.filename):
        # What mkdir(exist_ok=True) says when a file stands where a folder must go.
        cause, hint = "a file is there, where a folder is needed", "choose another path"
    paths = [str(p) for p in (err.filename, err.filename2) if p is not None]
    where = " -> ".join(paths) if paths else "(the operating system named no file)"
    return Outcome(EXIT_OS, f"{where}: {cause}", hint)


def describe(err: BaseException) -> Outcome:
    """The exit code and one line for an exception a command let out.

    The outermost `LespsError` wins (it was raised on purpose, with a message for the user); else the
    first operating-system error in the chain; else the exception is an internal error.
    """
    for item in _chain(err):
        if isinstance(item, LespsError):
            return Outcome(EXIT_USER, str(item), item.hint)
    found = os_cause(err)
    if found is not None:
        return _os_line(found)
    for item in _chain(err):  # an OSError without errno: a library's own words about a file or device
        if isinstance(item, OSError) and str(item):
            return Outcome(EXIT_OS, str(item))
    detail = str(err).strip().splitlines()
    text = f"{type(err).__name__}: {detail[0]}" if detail else type(err).__name__
    return Outcome(
        EXIT_INTERNAL,
        f"internal error ({text})",
        "this is a bug in lesps-deploy; run again with LESPS_DEBUG=1 to see the traceback, and report it",
    )
