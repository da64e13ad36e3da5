"""Every command option comes from exactly one config field, and every declared domain is enforced.

The bad values are generated from the declarations (`lesps_deploy.options.Spec`): one per bound,
choice list, check and path role of every option of every command. Each must end the command with
one line naming the flag, exit code 2, before anything heavy loads (checked in a child process that
runs them all: neither torch nor ONNX Runtime may be imported).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from lesps_deploy.cli import app, main
from lesps_deploy.errors import ConfigError
from lesps_deploy.options import Role, Spec, flag_of
from lesps_deploy.options.typer_command import cli_default, cli_fields

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> Iterator[tuple[list[str], Any, Any]]:
    """(words, generated callback, click command: typer's own click) of every command of the app, `data synth` included."""
    group = typer.main.get_command(app)
    for info in app.registered_commands:
        yield [info.name], info.callback, group.commands[info.name]
    for sub in app.registered_groups:
        subgroup = group.commands[sub.name]
        for info in sub.typer_instance.registered_commands:
            yield [sub.name, info.name], info.callback, subgroup.commands[info.name]


COMMANDS = list(_commands())
IDS = [" ".join(words) for words, _, _ in COMMANDS]


@pytest.mark.parametrize(("words", "callback", "cmd"), COMMANDS, ids=IDS)
def test_each_option_is_one_config_field(words: list[str], callback: Any, cmd: Any) -> None:
    config = callback.lesps_config
    declared = {f.name: (f, spec, kind) for f, spec, kind, _ in cli_fields(config)}
    seen: list[str] = []
    for param in cmd.params:
        if param.name == "help":
            continue
        if "__old" in (param.name or ""):  # a renamed flag: hidden, pointing at its field
            f, spec, _ = declared[param.name.split("__old")[0]]
            assert param.hidden and set(param.opts) <= set(spec.renamed), param.opts
            continue
        f, spec, kind = declared[param.name]
        seen.append(f.name)
        if not spec.argument:
            assert flag_of(f) in param.opts and param.help == spec.help, (words, param.name)
            if f.default is MISSING:
                assert param.required, (words, param.name)
            else:
                assert param.default == cli_default(f, spec, kind), (words, param.name, param.default)
        else:
            assert param.required
    assert sorted(seen) == sorted(declared), words  # each field once, each option a field


def _bad_values(spec: Spec, kind: Any) -> Iterator[tuple[str, Any]]:
    """(what, bad value) for each facet of a declared domain."""
    integer = "int" in str(kind) and "float" not in str(kind)
    step = 1 if integer else 0.5
    if spec.choices is not None:
        yield "choices", "bogus"
    for what, bound, shift in (
        ("ge", spec.ge, -step),
        ("gt", spec.gt, 0),
        ("le", spec.le, step),
        ("lt", spec.lt, 0),
    ):
        if bound is not None:
            yield what, int(bound + shift) if integer else bound + shift
    if spec.multiple_of:
        yield "multiple_of", spec.multiple_of + 1
    if spec.check is not None:
        assert spec.invalid is not None, "a check needs an `invalid` example"
        yield "check", spec.invalid


def _pair(value: Any, kind: Any) -> Any:
    """A bad item as the value of a fixed-length tuple option (a pair)."""
    fixed = "tuple" in str(kind) and "..." not in str(kind)
    return (value, value) if fixed and not isinstance(value, tuple) else value


def _words(value: Any, spec: Spec, kind: Any) -> list[str]:
    """A value as command-line words (M/N, comma lists, two numbers for a pair)."""
    value = _pair(value, kind)
    if spec.text is not None:
        return [spec.text(value)]
    if isinstance(value, tuple):
        return [str(v) for v in value]
    return [str(value)]


def _baseline(config: type, tmp: Path) -> list[str]:
    """Arguments every required option needs (files made on the spot; nothing is ever read)."""
    out: list[str] = []
    for f, spec, _, _ in cli_fields(config):
        if f.default is not MISSING and not spec.argument:
            continue
        if spec.role is Role.INPUT_FILE:
            path = tmp / "weights.pth"
            path.write_bytes(b"never read")
        elif spec.role in (Role.INPUT_DIR, Role.INPUT):
            path = tmp / "folder"
            path.mkdir(exist_ok=True)
        elif spec.role is not None:
            path = tmp / "new_output"
        else:
            out += [] if spec.argument else [flag_of(f)]
            out.append("clip.mp4")
            continue
        out += ([] if spec.argument else [flag_of(f)]) + [str(path)]
    return out


def _path_cases(f: Any, spec: Spec, tmp: Path) -> Iterator[tuple[str, str]]:
    a_file = tmp / "a_file.json"
    a_file.write_text("{}")
    if spec.role in (Role.INPUT_FILE, Role.INPUT_DIR, Role.INPUT):
        yield "missing input", str(tmp / "missing" / "x")
    if spec.role is Role.OUTPUT_DIR:
        yield "output folder is a file", str(a_file)
    if spec.role in (Role.OUTPUT_FILE, Role.OUTPUT):
        yield "existing output without --force", str(a_file)
        yield "output under a file", str(a_file / "x.json")


def cases(tmp: Path) -> list[tuple[str, list[str], str]]:
    """(case id, argv, the name the error must show) for every domain facet of every option."""
    out = []
    for words, callback, _ in COMMANDS:
        config = callback.lesps_config
        base = _baseline(config, tmp)
        for f, spec, kind, _ in cli_fields(config):
            bad = [(what, _words(v, spec, kind)) for what, v in _bad_values(spec, kind)]
            bad += [(what, [v]) for what, v in _path_cases(f, spec, tmp)] if spec.role else []
            for what, value in bad:
                if spec.argument:  # replaces the baseline's value of this argument
                    args = [*value, *_without_argument(base, config)]
                    name = value[0]
                else:
                    args, name = [*base, flag_of(f), *value], flag_of(f)
                out.append((f"{' '.join(words)} {flag_of(f)} {what}", [*words, *args], name))
    return out


def _without_argument(base: list[str], config: type) -> list[str]:
    """The baseline without its positional argument (a command has at most one)."""
    flags = {flag_of(f) for f, spec, _, _ in cli_fields(config) if not spec.argument}
    out, skip = [], False
    for i, word in enumerate(base):
        if skip:
            skip = False
            continue
        if word in flags:
            out += [word, base[i + 1]]
            skip = True
    return out


def _run_main(argv: list[str], capsys: pytest.CaptureFixture, stream: str = "err") -> tuple[int, str]:
    old = sys.argv
    sys.argv = ["lesps", *argv]
    try:
        main()
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    finally:
        sys.argv = old
    return code, getattr(capsys.readouterr(), stream)


def test_every_declared_domain_is_enforced_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    all_cases = cases(tmp_path)
    assert len(all_cases) > 80  # every command's options, not a sample
    for case, argv, name in all_cases:
        code, err = _run_main(argv, capsys)
        lines = [line for line in err.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error:")]
        assert code == 2 and len(errors) == 1, (case, code, err)
        assert name in errors[0], (case, errors[0])
        assert all(line.startswith(("error:", "hint:")) for line in lines), (case, err)


def test_bad_values_load_nothing(tmp_path: Path) -> None:
    """The same cases in one fresh process: each refused before torch or ONNX Runtime is imported."""
    script = f"""
import sys, json
sys.path.insert(0, {str(ROOT / "tests")!r})
import test_options as t
from pathlib import Path
codes = []
for case, argv, name in t.cases(Path({str(tmp_path)!r})):
    sys.argv = ["lesps", *argv]
    try:
        t.main()
    except SystemExit as done:
        codes.append(done.code)
print(json.dumps({{"codes": sorted(set(codes)), "loaded": [m for m in ("torch", "onnxruntime") if m in sys.modules]}}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"codes": [2], "loaded": []}


@pytest.mark.parametrize(
    "config",
    sorted({c.lesps_config for _, c, _ in COMMANDS}, key=lambda c: c.__name__),
    ids=lambda c: c.__name__,
)
def test_python_callers_read_their_keyword(config: type, tmp_path: Path) -> None:
    """The same domains from Python: the error names the keyword, not a flag."""
    required = {
        f.name: tmp_path / "x" for f in fields(config) if f.default is MISSING and not is_dataclass(f.default)
    }
    for f, spec, kind, path in cli_fields(config):
        if path:  # a nested config checks its own fields (its keywords)
            continue
        for _, value in _bad_values(spec, kind):
            value = _pair(value, kind)
            with pytest.raises(ConfigError, match=rf"^{f.name}="):
                config(**{**required, f.name: value})


def test_renamed_flags_still_work_hidden_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"x")
    code, err = _run_main(["evaluate", str(weights), "--data", str(tmp_path), "--patch-size", "0"], capsys)
    assert code == 2 and "--tile-size 0: must be >= 1" in err  # the old spelling sets the new option
    assert "--patch-size is deprecated" in " ".join(err.split())
    code, err = _run_main(["evaluate", str(weights), "--data", str(tmp_path), "--batch-size", "0"], capsys)
    assert code == 2 and "--batch 0: must be >= 1" in err
    help_text = " ".join(_run_main(["evaluate", "--help"], capsys, "out")[1].split())
    assert "--batch-size" not in help_text and "--patch-size" not in help_text


def test_no_symlink_in_git_and_commands_stay_thin() -> None:
    listed = subprocess.run(["git", "ls-files", "-s"], capture_output=True, text=True, cwd=ROOT)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    assert [line for line in listed.stdout.splitlines() if line.startswith("120000")] == []
    lines = sum(
        len(p.read_text(encoding="utf-8").splitlines())
        for p in (ROOT / "lesps_deploy" / "commands").glob("*.py")
    )
    assert lines <= 550, lines
