"""The CLI's one error boundary: every command, every class of error, one line and its exit code.

The errors are raised inside the command's invocation (the root callback every command runs); the
real faults (a full disk, a read-only file system) are caused in tests/test_faults.py.
"""

from __future__ import annotations

import errno
import os
import sys

import pytest

import lesps_deploy.threads
from lesps_deploy.cli import main
from lesps_deploy.errors import DataError

COMMANDS = {
    "predict": ["predict", "frames/", "--weights", "w.onnx"],
    "evaluate": ["evaluate", "w.onnx", "--data", "DS"],
    "export": ["export", "w.pth", "--out", "w.onnx"],
    "train": ["train", "--data", "DS"],
    "labels": ["labels", "DS"],
    "benchmark": ["benchmark", "-w", "w.pth"],
    "demo": ["demo", "--quick"],
    "data synth": ["data", "synth", "DS"],
}
OS_ERRORS = {
    errno.ENOSPC: "no space left",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "not permitted",
    errno.ENOTDIR: "not a directory",
    errno.EEXIST: "already exists",
    errno.ENOENT: "no such file",
}


def _run(monkeypatch, capsys, args: list[str], error: BaseException) -> tuple[int, list[str]]:
    """Run `lesps <args>` through `main()` with `error` raised inside the command's invocation."""

    def fail(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(lesps_deploy.threads, "process_env", fail)
    monkeypatch.setattr(sys, "argv", ["lesps", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return exited.value.code, [line for line in captured.err.splitlines() if line.strip()]


@pytest.mark.parametrize("code", OS_ERRORS, ids=errno.errorcode.get)
@pytest.mark.parametrize("command", COMMANDS)
def test_os_error_is_one_line_naming_path_and_cause(monkeypatch, capsys, command: str, code: int) -> None:
    monkeypatch.delenv("LESPS_DEBUG", raising=False)
    error = OSError(code, os.strerror(code), "/data/out/summary.json")
    exit_code, lines = _run(monkeypatch, capsys, COMMANDS[command], error)
    assert exit_code == 1
    assert len(lines) == 1, lines
    assert "/data/out/summary.json" in lines[0] and OS_ERRORS[code] in lines[0]


@pytest.mark.parametrize("chain", ["cause", "context"], ids=["raise-from", "raised-while-handling"])
def test_wrapped_os_error_is_found_in_the_chain(monkeypatch, capsys, chain: str) -> None:
    """torch.save on a full disk says `RuntimeError: unexpected pos ...`; the chain holds the truth."""
    monkeypatch.delenv("LESPS_DEBUG", raising=False)
    disk_full = OSError(errno.ENOSPC, "No space left on device", "/runs/train-1/last.pth")
    wrapped = RuntimeError("[enforce fail at inline_container.cc:778] . unexpected pos 1216 vs 1114")
    if chain == "cause":
        wrapped.__cause__ = disk_full
    else:
        wrapped.__context__ = disk_full
    exit_code, lines = _run(monkeypatch, capsys, COMMANDS["train"], wrapped)
    assert exit_code == 1 and len(lines) == 1
    assert "/runs/train-1/last.pth: no space left on the device" in lines[0]


def test_project_error_exits_2_with_its_hint(monkeypatch, capsys) -> None:
    monkeypatch.delenv("LESPS_DEBUG", raising=False)
    exit_code, lines = _run(
        monkeypatch, capsys, COMMANDS["evaluate"], DataError("DS/masks: not found", "hint x")
    )
    assert exit_code == 2
    assert lines == ["error: DS/masks: not found", "hint: hint x"]


@pytest.mark.parametrize("command", COMMANDS)
def test_internal_error_is_one_line_without_traceback(monkeypatch, capsys, command: str) -> None:
    monkeypatch.delenv("LESPS_DEBUG", raising=False)
    exit_code, lines = _run(monkeypatch, capsys, COMMANDS[command], ZeroDivisionError("division by zero"))
    assert exit_code == 70
    assert len(lines) == 1, lines
    assert "internal error (ZeroDivisionError: division by zero)" in lines[0]
    assert "LESPS_DEBUG=1" in lines[0]


def test_lesps_debug_shows_the_traceback(monkeypatch) -> None:
    monkeypatch.setenv("LESPS_DEBUG", "1")
    monkeypatch.setattr(lesps_deploy.threads, "process_env", lambda *a: 1 / 0)
    monkeypatch.setattr(sys, "argv", ["lesps", *COMMANDS["evaluate"]])
    with pytest.raises(ZeroDivisionError):
        main()
