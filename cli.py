"""`lesps` command line: parses options, calls one library function per command, prints results.

No logic lives here. Heavy imports happen inside each command so `lesps --help` stays fast.
Results go to stdout (tables, JSON); logs and progress go to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="lesps",
    help="LESPS infrared small target detection: point labels -> training -> export -> real-time detection.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Dataset tools (synthetic infrared data).", no_args_is_help=True)
app.add_typer(data_app, name="data")

# Options shared by several commands, defined once.
WeightsArg = Annotated[Path, typer.Argument(help="Weights: .pth/.pth.tar/.pt checkpoint, .onnx or .engine file.")]
DataOpt = Annotated[Path, typer.Option("--data", help="Dataset folder (images/, masks/, img_idx/).")]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Model name (ACM, ALCNet, DNANet); detected from the weights when omitted.")
]
NormOpt = Annotated[
    str | None,
    typer.Option("--norm", help="Normalization: a preset (NUAA-SIRST, NUDT-SIRST, IRSTD-1K, SIRST3, NUDT-SIRST-Sea), 'auto', or MEAN,STD."),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")]
ThresholdOpt = Annotated[float | None, typer.Option("--threshold", help="Probability threshold (default: from the artifact, else 0.5).")]


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr)


def _setup_logging(verbose: bool = False) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=_console(stderr=True), show_path=False, show_time=False)],
        force=True,
    )


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    _setup_logging(verbose)


# ---------------------------------------------------------------- evaluate
@app.command()
def evaluate(
    weights: WeightsArg,
    data: DataOpt,
    split: Annotated[str, typer.Option(help="Split list img_idx/<split>_<name>.txt.")] = "test",
    model: ModelOpt = None,
    norm: NormOpt = None,
    threshold: ThresholdOpt = None,
    patch_size: Annotated[int, typer.Option(help="Tile frames whose both sides exceed this.")] = 1024,
    mask_threshold: Annotated[
        int | None, typer.Option(help="Use one rule 'mask value > N' for IoU and Pd/Fa (default: the reference's mixed rule).")
    ] = None,
    device: DeviceOpt = "cpu",
    batch_size: Annotated[int, typer.Option(help="Images per forward pass (grouped by padded size).")] = 8,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    per_image: Annotated[Path | None, typer.Option(help="Write per-image counts as CSV here.")] = None,
    skip_bad: Annotated[bool, typer.Option(help="Exit 0 even when some images could not be read.")] = False,
) -> None:
    """Evaluate weights on a dataset split: IoU, nIoU, Pd, Fa with the reference semantics."""
    from lesps_deploy.evaluate import EvalConfig, evaluate_weights, results_table

    cfg = EvalConfig(
        weights=weights, data=data, split=split, model=model, norm=norm, threshold=threshold,
        patch_size=patch_size, mask_threshold=mask_threshold, device=device, batch_size=batch_size,
        json_out=json_out, per_image=per_image,
    )
    report = evaluate_weights(cfg, progress=True)
    _console().print(results_table([report.summary]))
    for bad in report.bad:
        _console(stderr=True).print(f"[red]skipped[/] {bad}")
    if report.bad and not skip_bad:
        raise typer.Exit(1)


# ---------------------------------------------------------------- labels (issue 3)
# ---------------------------------------------------------------- train (issue 3)
# ---------------------------------------------------------------- export (issue 4)
# ---------------------------------------------------------------- predict (issue 5)
# ---------------------------------------------------------------- benchmark (issue 6)
# ---------------------------------------------------------------- data synth / demo (issue 7)


def main() -> None:
    """Console entry point: maps library errors to one red line plus a hint."""
    from lesps_deploy.errors import LespsError

    try:
        app(standalone_mode=True)
    except LespsError as err:
        if os.environ.get("LESPS_DEBUG") == "1":
            raise
        console = _console(stderr=True)
        console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        if err.hint:
            console.print(f"[yellow]hint:[/] {err.hint}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
