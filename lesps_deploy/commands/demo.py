"""`lesps demo`: the whole flow on synthetic data, with its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lesps_deploy.commands.common import (
    DEMO,
    ThreadsOpt,
    make_console,
)
from lesps_deploy.demo.config import DemoConfig

__all__ = ["demo"]


def _demo_step_panel(number: int, total: int, step) -> None:
    """Before each demo step: a panel on stderr with what the step does."""
    from rich.panel import Panel

    title = f"[bold]step {number}/{total}: {step.title}[/]"
    make_console(stderr=True).print(
        Panel(step.explanation, title=title, title_align="left", border_style="cyan")
    )


def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder of the demo.")] = DEMO.out,
    quick: Annotated[bool, typer.Option(help="Tiny sizes: every step in seconds, no accuracy.")] = DEMO.quick,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data and the training.")] = DEMO.seed,
    force: Annotated[bool, typer.Option(help="Replace an earlier demo's output folder.")] = DEMO.force,
    device: Annotated[
        str, typer.Option("--device", help="Training device: cpu, cuda or cuda:N.")
    ] = DEMO.device,
    threads: ThreadsOpt = None,
) -> None:
    """The whole flow on synthetic data: data, point labels, LESPS training, evaluation, ONNX, benchmark, video."""
    from lesps_deploy.demo.config import DEMO_BAR
    from lesps_deploy.demo.run import run_demo
    from lesps_deploy.threads import use_threads

    use_threads(threads)

    summary = run_demo(
        DemoConfig(out=out, quick=quick, seed=seed, force=force, device=device),
        progress=True,
        on_step=_demo_step_panel,
    )
    from lesps_deploy.metrics.segmentation import percent_text

    m = summary.metrics
    bar = "meets" if summary.detects else "is below"
    make_console().print(
        f"test split ({m['images']} images): IoU {100 * m['IoU']:.1f} %  nIoU {100 * m['nIoU']:.1f} %  "
        f"Pd {percent_text(m['Pd'], 1)} % ({m['detected']}/{m['targets']})  Fa {1e6 * m['Fa']:.2f}e-6\n"
        f"the model {bar} the demo bar ({DEMO_BAR})\n"
        f"ONNX parity: max |prob diff| {summary.parity_max_abs_diff:.2g} ({'ok' if summary.parity_ok else 'FAILED'})\n"
        f"demo finished in {summary.seconds:.0f} s; report: {summary.report_md} ({summary.report_html.name} alongside)",
        highlight=False,
        soft_wrap=True,
    )
    if not summary.parity_ok:
        raise typer.Exit(1)
