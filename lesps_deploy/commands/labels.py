"""`lesps labels`: single-point labels from full masks or from a file of clicked points."""

from __future__ import annotations

import typer

from lesps_deploy.commands.common import make_console, results_console, write_json
from lesps_deploy.options.typer_command import command
from lesps_deploy.training.config import LabelsConfig

__all__ = ["labels"]


def _labels_from_points(cfg: LabelsConfig) -> None:
    from lesps_deploy.training import labels_from_points, point_import_table

    report = labels_from_points(cfg.dataset_dir, cfg.from_points, cfg.type, progress=True, force=cfg.force)
    for line in report.errors:
        make_console(stderr=True).print(f"[red]skipped[/] {line}", highlight=False)
    for line in report.duplicates:
        make_console(stderr=True).print(f"[yellow]duplicate[/] {line}", highlight=False)
    results_console(cfg.json_out).print(point_import_table(report))
    write_json(cfg.json_out, report.to_dict())
    if report.errors:
        raise typer.Exit(1)


def _labels(cfg: LabelsConfig) -> None:
    """Make single-point labels (masks_centroid/ or masks_coarse/) from the full masks or a point file,
    or LCM pseudo-masks (masks_tophat/, masks_mpcm/) from point labels."""
    from lesps_deploy.training.labels import make_point_labels

    if cfg.from_points is not None:
        return _labels_from_points(cfg)
    if cfg.type.startswith("lcm-"):
        from lesps_deploy.training.pseudo_masks import make_pseudo_masks

        report = make_pseudo_masks(
            cfg.dataset_dir, cfg.type[4:], points=cfg.points, progress=True, force=cfg.force
        )
    else:
        report = make_point_labels(cfg.dataset_dir, cfg.type, seed=cfg.seed, progress=True, force=cfg.force)
    # Errors were each said once in the log as they were skipped.
    results_console(cfg.json_out).print(
        f"wrote {report.written} {cfg.type} labels ({report.targets} targets) to {report.out_dir}"
    )
    write_json(cfg.json_out, report.to_dict())
    if report.errors:
        raise typer.Exit(1)


labels = command("labels", LabelsConfig, _labels)
