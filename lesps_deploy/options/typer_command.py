"""Typer commands generated from config dataclasses: one flag per declared field, nothing retyped.

`command(Config, render)` reads `Config`'s declared fields (`lesps_deploy.options`), nested configs
flattened to their own flags, and returns a function Typer registers: it builds `Config` from the
flags (so every domain is checked as in Python, errors naming the flags), checks the paths, applies
`--threads`, then calls `render(config)`, the only code particular to a command.
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Callable
from dataclasses import MISSING, Field, fields, is_dataclass, replace
from types import NoneType, UnionType
from typing import Annotated, Any, Literal

import typer

from lesps_deploy.options import Spec, check_paths, flag_of, naming, refuse

__all__ = ["command", "cli_fields", "cli_default"]

log = logging.getLogger(__name__)


def cli_fields(config: type) -> list[tuple[Field, Spec, Any, tuple[str, ...]]]:
    """(field, spec, resolved type, path of nested config fields) of every CLI option of `config`."""
    hints = typing.get_type_hints(config)
    out: list[tuple[Field, Spec, Any, tuple[str, ...]]] = []
    for f in fields(config):
        if "option" in f.metadata and f.metadata["option"].cli:
            out.append((f, f.metadata["option"], hints[f.name], ()))
        elif "option" not in f.metadata and is_dataclass(f.default):
            out += [(g, s, t, (f.name, *p)) for g, s, t, p in cli_fields(type(f.default))]
    return out


def _strip_none(kind: Any) -> tuple[Any, bool]:
    args = typing.get_args(kind)
    if (typing.get_origin(kind) in (UnionType, typing.Union)) and NoneType in args:
        rest = [a for a in args if a is not NoneType]
        return rest[0], True
    return kind, False


def _is_list(kind: Any) -> bool:
    """tuple[T, ...]: a comma list on the command line."""
    args = typing.get_args(kind)
    return typing.get_origin(kind) is tuple and len(args) == 2 and args[1] is Ellipsis


def _cli_type(kind: Any, spec: Spec) -> Any:
    base, optional = _strip_none(kind)
    if spec.parse is not None or _is_list(base) or typing.get_origin(base) is Literal:
        base = str
    return base | None if optional else base


def cli_default(f: Field, spec: Spec, kind: Any) -> Any:
    """The field's default as the command line shows and takes it (comma lists, M/N)."""
    if f.default is MISSING or spec.argument:  # arguments are required on the command line
        return ...
    base, _ = _strip_none(kind)
    if f.default is not None and spec.text is not None:
        return spec.text(f.default)
    if f.default is not None and _is_list(base):
        return ",".join(str(v) for v in f.default)
    return f.default


def _parse(f: Field, spec: Spec, kind: Any, value: Any) -> Any:
    """CLI text -> the field's value; a bad word is one line naming the flag."""
    if value is None or not isinstance(value, str):
        return value
    base, _ = _strip_none(kind)
    try:
        if spec.parse is not None:
            return spec.parse(value)
        if _is_list(base):
            item = typing.get_args(base)[0]
            items = tuple(item(v.strip()) for v in value.split(",") if v.strip())
            if not items:
                raise ValueError("give at least one value")
            return tuple(dict.fromkeys(items))  # order kept, duplicates dropped
    except (TypeError, ValueError) as err:
        raise refuse(f.name, value, str(err) or f"not a valid {base}") from None
    return value


def _typer_info(f: Field, spec: Spec, kind: Any) -> Any:
    if spec.argument:
        return typer.Argument(help=spec.help, show_default=f.default is not MISSING)
    flag = flag_of(f)
    if _strip_none(kind)[0] is bool:
        flag = f"{flag}/{spec.negative or '--no-' + flag[2:]}"
    names = [flag] + ([spec.short] if spec.short else [])
    return typer.Option(*names, help=spec.help)


def _parameters(config: type) -> tuple[list[inspect.Parameter], dict[str, tuple]]:
    """The command's parameters, and for each: (field, spec, type, nested path, old flag or None)."""
    params: list[inspect.Parameter] = []
    table: dict[str, tuple] = {}
    for f, spec, kind, path in cli_fields(config):
        cli_kind = _cli_type(kind, spec)
        default = cli_default(f, spec, kind)
        param_kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        info = _typer_info(f, spec, kind)
        params.append(
            inspect.Parameter(f.name, param_kind, annotation=Annotated[cli_kind, info], default=default)
        )
        table[f.name] = (f, spec, kind, path, None)
        for i, old in enumerate(spec.renamed):
            name = f"{f.name}__old{i}"
            old_kind = cli_kind if cli_kind is bool else cli_kind | None
            hidden = typer.Option(old, hidden=True, help=f"Deprecated: use {flag_of(f)}.")
            params.append(
                inspect.Parameter(name, param_kind, annotation=Annotated[old_kind, hidden], default=None)
            )
            table[name] = (f, spec, kind, path, old)
    # Arguments first, as Python needs parameters without defaults before those with them.
    params.sort(key=lambda p: p.default is not inspect.Parameter.empty and p.default is not ...)
    return params, table


def _config_values(config: type, table: dict[str, tuple], values: dict[str, Any]) -> dict[str, Any]:
    """The config's keyword arguments from the parsed CLI values (old spellings applied, nested built)."""
    flat: dict[tuple[str, ...], dict[str, Any]] = {(): {}}
    for name, value in values.items():
        f, spec, kind, path, old = table[name]
        if old is not None:
            if value is None or value is False:
                continue
            log.warning("%s is deprecated and will be removed in the next release: use %s", old, flag_of(f))
        flat.setdefault(path, {})[f.name] = _parse(f, spec, kind, value)
    kwargs = flat.pop(())
    for path, nested in flat.items():  # one level of nesting (predict's `tracking`)
        default: Any = next(g.default for g in fields(config) if g.name == path[0])
        kwargs[path[0]] = replace(default, **nested)
    return kwargs


_CONTEXT = "lesps_context"


def _on_command_line(ctx: Any, name: str) -> bool:
    """Whether parameter `name` was given (command line or environment), not left at its default."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name != "DEFAULT"


def command(
    name: str, config: type, render: Callable[[Any], None], doc: str | None = None
) -> Callable[..., None]:
    """A Typer command whose options are `config`'s declared fields; it calls `render(config_instance)`.

    Args:
        name: the command's name (`lesps NAME`).
        config: a config dataclass whose fields are declared with `lesps_deploy.options.option`.
        render: runs the library call and prints the results (the command's own code).
        doc: the command's help (default: `render`'s docstring).
    """
    params, table = _parameters(config)

    takes_given = any(f.name == "given" for f in fields(config))

    if takes_given:  # Typer passes its context to a parameter annotated typer.Context
        params.append(inspect.Parameter(_CONTEXT, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))

    def run(**values: Any) -> None:
        ctx = values.pop(_CONTEXT, None)
        with naming(config):
            kwargs = _config_values(config, table, values)
            if ctx is not None:  # the options on the command line, told apart from defaults
                kwargs["given"] = frozenset(table[n][0].name for n in values if _on_command_line(ctx, n))
            cfg = config(**kwargs)
            check_paths(cfg)
            if hasattr(cfg, "threads"):
                from lesps_deploy.threads import use_threads

                use_threads(cfg.threads)
            render(cfg)

    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    run.__doc__ = doc or render.__doc__
    run.__name__ = name
    run.lesps_config = config  # type: ignore[attr-defined]
    return run
