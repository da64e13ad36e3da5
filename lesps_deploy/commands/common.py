"""What every `lesps` command shares: where results go (stdout, or stderr beside `--json -`).

Options are not declared here: each command's config dataclass declares them, and
`lesps_deploy.options.typer_command` turns them into flags.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["make_console", "json_to_stdout", "results_console", "write_json"]


def json_to_stdout(json_out: Path | None) -> bool:
    """`--json -`: the JSON is stdout's only content (tables and messages go to stderr)."""
    return json_out is not None and str(json_out) == "-"


def results_console(json_out: Path | None):  # noqa: ANN201 - rich is imported in make_console
    """Where tables go: stdout, or stderr when stdout carries the JSON (`--json -`)."""
    return make_console(stderr=json_to_stdout(json_out))


def write_json(json_out: Path | None, data: Any) -> None:
    """Write `data` as `--json` asks: nothing (None), one JSON document on stdout ('-'), or a file."""
    if json_out is None:
        return
    if json_to_stdout(json_out):
        from lesps_deploy.io import json_text

        sys.stdout.write(json_text(data, default=str) + "\n")
        sys.stdout.flush()
        return
    from lesps_deploy.io import atomic_write_json

    atomic_write_json(json_out, data)


def make_console(stderr: bool = False):  # noqa: ANN201 - rich is imported here, not at module level
    """The results console (stdout), or stderr's for logs and progress."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped or captured output (CI logs, `| tee`) gets wide tables instead of rich's 80-column default.
    return Console(stderr=stderr, width=None if stream.isatty() or os.environ.get("COLUMNS") else 200)
