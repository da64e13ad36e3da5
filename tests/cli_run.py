"""Run `lesps` through its console entry point (`main()`, the error boundary included) in-process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lesps_deploy.cli import main


def run_main(monkeypatch, capsys, *args: object) -> tuple[int, list[str]]:
    """`lesps ARGS`: (exit code, non-blank stderr lines); a traceback on stderr fails the test."""
    monkeypatch.delenv("LESPS_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["lesps", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exited:
        code = int(exited.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return code, [line for line in err.splitlines() if line.strip()]


def strict_json(path: Path) -> dict:
    """A JSON file parsed strictly: NaN or Infinity fail the test."""

    def refuse(token: str):
        raise AssertionError(f"{path} holds {token}: not JSON")

    return json.loads(Path(path).read_text(), parse_constant=refuse)
