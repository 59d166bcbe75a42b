"""The ``abauto report`` and ``abauto profile`` commands, added through ``register_commands``
(a built-in entry point of abauto)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from abauto.hookspecs import hookimpl


def report(run_dir: Path = typer.Argument(..., readable=False, help="Run folder written by 'abauto search' (holds leaderboard.json)."),
           output: Optional[Path] = typer.Option(None, "-o", "--output", readable=False, help="HTML file [default: RUN_DIR/report.html]."),
           ) -> None:
    """Write a self-contained HTML report (tables and plots) of a finished search."""
    from abauto.report import write_report

    path = write_report(run_dir, output)
    typer.echo(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


def profile(data: Path = typer.Argument(..., readable=False, help="CSV, TSV or parquet table, or an input a loader plugin reads (see 'abauto plugins')."),
            target: Optional[str] = typer.Option(None, help="Class column (default: 'class' if present, else the last)."),
            drop: Optional[List[str]] = typer.Option(None, help="Columns to leave out (repeat or comma-separate)."),
            id_: Optional[List[str]] = typer.Option(None, "--id", help="Identifier columns, left out of the features."),
            groundtruth: Optional[Path] = typer.Option(None, "--groundtruth", readable=False, help="Loader option (inputs a loader plugin reads, see 'abauto plugins'): file of labels by id."),
            select: Optional[List[str]] = typer.Option(None, "--select", help="Loader option: descriptor patterns to keep."),
            exclude_descriptors: Optional[List[str]] = typer.Option(None, "--exclude-descriptors", help="Loader option: descriptor patterns to leave out."),
            join: Optional[Path] = typer.Option(None, "--join", readable=False, help="Loader option: CSV of per-recording columns by id (never features)."),
            html: Optional[Path] = typer.Option(None, "--html", readable=False, help="Also write a self-contained HTML page here."),
            ) -> None:
    """Per-feature missing values, range, skew and normality, class counts and correlations.

    Reads what 'abauto search' reads, with the same options: tables, and inputs a loader plugin
    reads (low-level JSON with --groundtruth, --select, --exclude-descriptors, --join)."""
    from abauto.data import load_dataset
    from abauto.files import write_text
    from abauto.profile import html_page, print_profile, profile_dataset

    from abauto.extensions import split_values

    dataset = load_dataset(data, target=target, drop=split_values(drop), ids=split_values(id_), groundtruth=groundtruth and str(groundtruth),
                           select=select, exclude_descriptors=exclude_descriptors, join=join and str(join))
    result = profile_dataset(dataset)
    print_profile(result)
    for note in dataset.notes:  # what 'abauto search' would say about the data (dropped ids, leaks, ...)
        typer.echo(f"note: {note}", err=True)
    if html:
        path = write_text(html, html_page(result))
        typer.echo(f"wrote {path}")


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    """Add ``report`` and ``profile`` as top-level commands of ``cli``."""
    cli.command()(report)
    cli.command()(profile)
