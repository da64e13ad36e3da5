"""`lesps` command line: parses options, calls one library function per command, prints results.

No logic lives here: each command is a module of `lesps_deploy.commands`, registered on the app below;
its options are generated from its config dataclass (`lesps_deploy.options.typer_command`).
Heavy imports happen inside each command so `lesps --help` stays fast.
Results go to stdout (tables, JSON); logs and progress go to stderr.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from lesps_deploy.commands.benchmark import benchmark
from lesps_deploy.commands.common import make_console
from lesps_deploy.commands.data import data_synth
from lesps_deploy.commands.demo import demo
from lesps_deploy.commands.doctor import doctor
from lesps_deploy.commands.evaluate import evaluate
from lesps_deploy.commands.export import export_cmd
from lesps_deploy.commands.labels import labels
from lesps_deploy.commands.predict import predict
from lesps_deploy.commands.serve import serve
from lesps_deploy.commands.train import train

__all__ = ["app", "main"]

app = typer.Typer(
    name="lesps",
    help="LESPS infrared small target detection: point labels -> training -> export -> real-time detection.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Dataset tools (synthetic infrared data).", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _setup_logging(verbose: bool = False) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=make_console(stderr=True), show_path=False, show_time=False)],
        force=True,
    )
    # --verbose is about this library: third-party debug logs (PIL logs every PNG chunk) stay off.
    logging.getLogger("lesps_deploy").setLevel(logging.DEBUG if verbose else logging.NOTSET)


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    from lesps_deploy.threads import process_env

    # Before any command imports torch or cv2: both read these once, when loaded.
    process_env()
    _setup_logging(verbose)


for command in (evaluate, labels, train, export_cmd, predict, benchmark, serve, demo, doctor):
    app.command(command.__name__)(command)
data_app.command("synth")(data_synth)


def _run_app() -> None:
    """The app, with an optional dependency that a command reached but is not installed named by its extra."""
    from lesps_deploy.errors import missing_extra

    try:
        app(standalone_mode=True)
    except ModuleNotFoundError as err:
        missing = missing_extra(err)
        if missing is None:
            raise
        raise missing from err


def main() -> None:
    """Console entry point, the one error boundary: each failure is one line and an exit code.

    The project's errors exit 2 (with their hint), operating-system errors (disk full, read-only,
    permission denied, ...) exit 1 naming the path, anything else exits 70 as an internal error
    (`lesps_deploy.error_boundary`). `LESPS_DEBUG=1` shows the traceback instead.
    """
    from lesps_deploy.error_boundary import EXIT_USER, debug_enabled, describe

    try:
        _run_app()
    except Exception as err:
        if debug_enabled():
            raise
        outcome = describe(err)
        _print_error(outcome.message, outcome.hint, hint_line=outcome.exit_code == EXIT_USER)
        sys.exit(outcome.exit_code)


def _print_error(message: str, hint: str | None, hint_line: bool) -> None:
    """A red error line; the hint on a line of its own (the project's errors) or after a semicolon."""
    from rich.markup import escape

    console = make_console(stderr=True)
    # Messages are plain text: escape them so "lesps-deploy[tensorrt]" is not read as rich markup.
    if hint and not hint_line:
        message, hint = f"{message}; {hint}", None
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if hint:
        console.print(f"[yellow]hint:[/] {escape(hint)}", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
