"""`lesps labels`: single-point labels from full masks or from a file of clicked points."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lesps_deploy.commands.common import (
    JsonOpt,
    ThreadsOpt,
    make_console,
    results_console,
    write_json,
)

__all__ = ["labels"]


def _labels_from_points(
    dataset_dir: Path, points: Path, kind: str, json_out: Path | None, force: bool
) -> None:
    from lesps_deploy.training import labels_from_points, point_import_table

    report = labels_from_points(dataset_dir, points, kind, progress=True, force=force)
    for line in report.errors:
        make_console(stderr=True).print(f"[red]skipped[/] {line}", highlight=False)
    for line in report.duplicates:
        make_console(stderr=True).print(f"[yellow]duplicate[/] {line}", highlight=False)
    results_console(json_out).print(point_import_table(report))
    write_json(json_out, report.to_dict())
    if report.errors:
        raise typer.Exit(1)


def labels(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset folder with masks/ (and images/, img_idx/).")],
    type_: Annotated[
        str,
        typer.Option(
            "--type",
            help="centroid or coarse points, or lcm-tophat / lcm-mpcm pseudo-masks grown from the --points "
            "labels (written to masks_<method>/).",
        ),
    ] = "centroid",
    points: Annotated[
        str, typer.Option(help="With --type lcm-<method>: the point labels to grow (centroid or coarse).")
    ] = "centroid",
    seed: Annotated[int, typer.Option(help="Seed of the coarse point offsets.")] = 0,
    from_points: Annotated[
        Path | None,
        typer.Option(
            "--from-points",
            help="Make the labels from clicked points instead of masks: a CSV (image,x,y), a COCO keypoints "
            "JSON, a LabelMe JSON or a folder of them (x = column, y = row; pixel = floor).",
        ),
    ] = None,
    json_out: JsonOpt = None,
    threads: ThreadsOpt = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Overwrite label files lesps did not write (e.g. a dataset's released labels); without it, "
            "only lesps's own earlier output (listed in the folder's .lesps-written.json) is replaced.",
        ),
    ] = False,
) -> None:
    """Make single-point labels (masks_centroid/ or masks_coarse/) from the full masks or a point file,
    or LCM pseudo-masks (masks_tophat/, masks_mpcm/) from point labels."""
    from lesps_deploy.threads import use_threads
    from lesps_deploy.training.labels import make_point_labels

    use_threads(threads)
    if from_points is not None:
        return _labels_from_points(dataset_dir, from_points, type_, json_out, force)
    if type_.startswith("lcm-"):
        from lesps_deploy.training.pseudo_masks import make_pseudo_masks

        report = make_pseudo_masks(dataset_dir, type_[4:], points=points, progress=True, force=force)
    else:
        report = make_point_labels(dataset_dir, type_, seed=seed, progress=True, force=force)
    # Errors were each said once in the log as they were skipped.
    results_console(json_out).print(
        f"wrote {report.written} {type_} labels ({report.targets} targets) to {report.out_dir}"
    )
    write_json(json_out, report.to_dict())
    if report.errors:
        raise typer.Exit(1)
