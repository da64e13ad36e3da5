"""Options declared once: a config field carries its help, its domain and, for paths, its role.

A field declared with `option(...)` is the only place an option of a command exists: the CLI builds
its flag from it (`lesps_deploy.options.typer_command`), `validate` checks its domain when the config is
built (CLI and Python alike), and `check_paths` checks its files before any model loads. Errors name
the option as the caller wrote it: the keyword in Python (`patch_size=0`), the flag under the CLI
(`--tile-size 0`), through `naming`, a mapping derived from the declarations.

Example:
    >>> @dataclass(frozen=True)
    ... class Config:
    ...     batch: int = option(1, "Frames per call.", ge=1)
    ...     def __post_init__(self) -> None:
    ...         validate(self)
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from lesps_deploy.errors import ConfigError, DataError
from lesps_deploy.urls import is_server_url

__all__ = [
    "Role", "Spec", "option", "declared", "flag_of", "name_of", "say", "refuse", "validate", "problem",
    "check_paths", "check_multiple", "naming", "threads_option", "json_option", "force_option",
]  # fmt: skip


class Role(Enum):
    """What a path option is: decides its checks before the work starts."""

    INPUT_FILE = "file"
    INPUT_DIR = "folder"
    INPUT = "file or folder"
    OUTPUT_FILE = "output file"
    OUTPUT_DIR = "output folder"
    OUTPUT = "output file or folder"


@dataclass(frozen=True)
class Spec:
    """One option's declaration (everything but name, type and default, which the field holds).

    Attributes:
        help: the option's help text (the CLI's, word for word).
        flag, short: the CLI spelling (default `--field-name`) and a short alias.
        argument: a positional CLI argument instead of a flag.
        ge, gt, le, lt, multiple_of, choices: the domain of a value (of each item, for a tuple).
        role, noun: for a path: its role and what it holds ("dataset folder") for messages.
        check: raises ValueError (or a LespsError) with the problem, for domains beyond the above.
        invalid: a value `check` refuses (what the domain test feeds it).
        parse, text: the CLI's text -> value and value -> text, for values typed as one word (M/N).
        negative: the flag that sets a bool False ("--static"); default `--no-<flag>`.
        renamed: earlier spellings, accepted hidden with a deprecation line.
        cli: False for options only the Python API takes.
        url: an input that may also be a served model's http:// or grpc:// URL (not checked as a path).
    """

    help: str
    flag: str | None = None
    short: str | None = None
    argument: bool = False
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    multiple_of: int | None = None
    choices: tuple[Any, ...] | None = None
    role: Role | None = None
    noun: str | None = None
    check: Callable[[Any], object] | None = None
    invalid: Any = None
    parse: Callable[[str], Any] | None = None
    text: Callable[[Any], str] | None = None
    negative: str | None = None
    renamed: tuple[str, ...] = ()
    cli: bool = True
    url: bool = False


def option(default: Any = MISSING, help: str = "", **spec: Any) -> Any:
    """A dataclass field declaring an option: `batch: int = option(1, "Frames per call.", ge=1)`."""
    return field(default=default, metadata={"option": Spec(help=help, **spec)})


def declared(config: Any) -> Iterator[tuple[dataclasses.Field, Spec]]:
    """The declared fields of a config class or instance, in order."""
    for f in fields(config):
        if "option" in f.metadata:
            yield f, f.metadata["option"]


def flag_of(f: dataclasses.Field) -> str:
    """The CLI flag of a declared field (`--field-name` unless declared otherwise)."""
    spec: Spec = f.metadata["option"]
    return spec.flag or "--" + f.name.replace("_", "-")


# The config class the CLI is running: names are its flags; None (Python): keywords.
_CLI_CONFIG: ContextVar[type | None] = ContextVar("lesps_cli_config", default=None)


@contextlib.contextmanager
def naming(config: type) -> Iterator[None]:
    """Within: options are named by `config`'s flags (and its nested configs'), as typed on the CLI."""
    token = _CLI_CONFIG.set(config)
    try:
        yield
    finally:
        _CLI_CONFIG.reset(token)


def _specs(config: type) -> dict[str, tuple[dataclasses.Field, Spec]]:
    """Declared fields by keyword, nested configs' included (the outer declaration wins)."""
    out: dict[str, tuple[dataclasses.Field, Spec]] = {}
    for f in fields(config):
        if "option" in f.metadata:
            out.setdefault(f.name, (f, f.metadata["option"]))
        elif is_dataclass(f.default):
            out.update({k: v for k, v in _specs(type(f.default)).items() if k not in out})
    return out


def _flag(keyword: str) -> tuple[str, Spec | None]:
    """(name as the caller wrote it, its declaration): a flag ('' for an argument) under the CLI."""
    config = _CLI_CONFIG.get()
    if config is None:
        return keyword, None
    found = _specs(config).get(keyword)
    if found is None:
        return keyword, None
    f, spec = found
    return ("" if spec.argument else flag_of(f)), spec


def name_of(keyword: str) -> str:
    """An option as the caller wrote it: its flag under the CLI (`--tile-size`), else its keyword."""
    return _flag(keyword)[0]


def _word(value: Any) -> str:
    """A value as typed on the command line (no quotes; a pair as two words)."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return " ".join(_word(v) for v in value)
    return str(value)


def say(keyword: str, value: Any) -> str:
    """`--flag value` under the CLI (a bool flag set: the flag alone), `keyword=value` in Python;
    a positional argument is its value."""
    name, spec = _flag(keyword)
    if spec is None:
        return f"{name}={str(value)!r}" if isinstance(value, Path) else f"{name}={value!r}"
    if name == "":
        return str(value)
    if value is True:
        return name
    return f"{name} {spec.text(value) if spec.text and value is not None else _word(value)}"


def refuse(keyword: str, value: Any, problem: str, hint: str | None = None) -> ConfigError:
    """The one-line error of a bad option value (raise it)."""
    return ConfigError(f"{say(keyword, value)}: {problem}", hint=hint)


def _number_problem(spec: Spec, v: Any) -> str | None:
    bounds = (
        (spec.ge, lambda b: v >= b, ">="),
        (spec.gt, lambda b: v > b, ">"),
        (spec.le, lambda b: v <= b, "<="),
        (spec.lt, lambda b: v < b, "<"),
    )
    for bound, ok, sign in bounds:
        if bound is not None and not ok(bound):
            return f"must be {sign} {bound:g}"
    if spec.multiple_of and v % spec.multiple_of:
        return f"must be a multiple of {spec.multiple_of}"
    return None


def problem(spec: Spec, value: Any) -> str | None:
    """What is wrong with `value` under `spec`'s domain (None: nothing; None values are 'automatic')."""
    if value is None:
        return None
    for v in value if isinstance(value, tuple) else (value,):
        if spec.choices is not None and v not in spec.choices:
            return f"unknown {v!r}; expected one of " + ", ".join(str(c) for c in spec.choices)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            bad = _number_problem(spec, v)
            if bad:
                return bad
    if spec.check is not None:
        try:
            spec.check(value)
        except (ValueError, ConfigError) as err:
            return str(err)
    return None


def validate(config: Any) -> None:
    """Check every declared field of a config instance; call it from `__post_init__`.

    Path fields given as strings become `Path`s, list values of tuple fields become tuples.

    Raises:
        ConfigError: the first value outside its declared domain, named as the caller wrote it.
    """
    for f, spec in declared(config):
        value = getattr(config, f.name)
        if spec.role is not None and isinstance(value, str) and value != "-":
            object.__setattr__(config, f.name, Path(value))
        elif isinstance(value, list) and isinstance(f.default, tuple):
            object.__setattr__(config, f.name, tuple(value))
        bad = problem(spec, getattr(config, f.name))
        if bad:
            raise refuse(f.name, getattr(config, f.name), bad)


def _writable_ancestor(path: Path) -> tuple[Path, str | None]:
    """The nearest existing ancestor of `path`, and why files cannot be made under it (None: they can)."""
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return parent, f"{parent} is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=parent):  # a real write: catches read-only mounts, even as root
            pass
    except OSError as err:
        return parent, f"cannot write in {parent} ({err.strerror or err})"
    return parent, None


def _path_problem(role: Role, path: Path, force: bool, noun: str) -> str | None:
    if role is Role.INPUT_FILE and not path.is_file():
        return "is a folder, not a file" if path.is_dir() else f"no such {noun}"
    if role is Role.INPUT_DIR and not path.is_dir():
        return "is a file, not a folder" if path.exists() else f"no such {noun}"
    if role is Role.INPUT and not path.exists():
        return f"no such {noun}"
    if role in (Role.OUTPUT_FILE, Role.OUTPUT_DIR, Role.OUTPUT):
        if role is Role.OUTPUT_FILE and path.is_dir():
            return "is a folder; expected a file"
        if role is Role.OUTPUT_DIR and path.exists() and not path.is_dir():
            return "is a file; expected a folder"
        if role is not Role.OUTPUT_DIR and path.is_file() and not force:
            return (
                "already exists (add --force to replace it)"
                if _CLI_CONFIG.get()
                else "already exists (force=True replaces it)"
            )
        return _writable_ancestor(path / "x" if path.is_dir() else path)[1]
    return None


def check_paths(config: Any) -> None:
    """Check every declared path of a config before the work starts: inputs exist, outputs can be written.

    An output file that exists is refused unless the config's `force` is set; existing folders follow
    their command's own rules (a run folder may be resumed, a Triton repository takes more models).

    Raises:
        DataError: an input file or folder is missing. ConfigError: an output cannot be written.
    """
    force = bool(getattr(config, "force", False))
    for f, spec in declared(config):
        value = getattr(config, f.name)
        if spec.role is None or value is None or str(value) == "-" or (spec.url and is_server_url(value)):
            continue
        bad = _path_problem(spec.role, Path(value), force, spec.noun or spec.role.value)
        if bad:
            error = DataError if spec.role.name.startswith("INPUT") else ConfigError
            raise error(f"{say(f.name, value)}: {bad}")


def check_multiple(keyword: str, value: int | None, multiple: int, what: str) -> None:
    """After the model loads: `value` (a size) must be a multiple of the model's input multiple."""
    if value and value % multiple:
        raise refuse(keyword, value, f"must be a multiple of {multiple}, the input multiple of {what}")


def threads_option() -> Any:
    """`--threads`, the same in every command."""
    return option(
        None,
        "CPU threads of PyTorch, ONNX Runtime and OpenCV (default: $OMP_NUM_THREADS when set, else the "
        "cores this process may use, from its CPU affinity and cgroup quota; 0: the same).",
        ge=0,
    )


def json_option() -> Any:
    """`--json`, the same in every command."""
    return option(
        None, "Write the results as JSON to this file ('-': to stdout, alone).", flag="--json",
        role=Role.OUTPUT_FILE,
    )  # fmt: skip


def force_option(help: str = "Replace existing outputs.") -> Any:
    """`--force`: existing outputs are replaced (else refused before the work starts)."""
    return option(False, help)
