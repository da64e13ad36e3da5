"""`lesps demo`: the whole flow on synthetic data, with its report."""

from __future__ import annotations

import typer

from lesps_deploy.commands.common import make_console
from lesps_deploy.demo.config import DemoConfig
from lesps_deploy.options.typer_command import command

__all__ = ["demo"]


def _demo_step_panel(number: int, total: int, step) -> None:
    """Before each demo step: a panel on stderr with what the step does."""
    from rich.panel import Panel

    title = f"[bold]step {number}/{total}: {step.title}[/]"
    make_console(stderr=True).print(
        Panel(step.explanation, title=title, title_align="left", border_style="cyan")
    )


def _demo(cfg: DemoConfig) -> None:
    """The whole flow on synthetic data: data, point labels, LESPS training, evaluation, ONNX, benchmark, video."""
    from lesps_deploy.demo.config import DEMO_BAR
    from lesps_deploy.demo.run import run_demo
    from lesps_deploy.metrics.segmentation import percent_text

    summary = run_demo(cfg, progress=True, on_step=_demo_step_panel)
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


demo = command("demo", DemoConfig, _demo)
