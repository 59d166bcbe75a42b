"""The plugin's commands: ``abauto convert``, ``extract``, ``gaia-results``, and the writer of
``abauto predict --format acousticbrainz``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from abauto.errors import DataError


def convert(data: Path = typer.Argument(..., readable=False, help="Folder of low-level *.json, a .tar(.bz2/.zst) dump or bulk JSON."),
            groundtruth: Path = typer.Option(..., "--groundtruth", readable=False, help="gaia YAML, or CSV of id,label."),
            output: Path = typer.Option(..., "-o", "--output", readable=False, help="Output table: .parquet or .csv."),
            select: Optional[List[str]] = typer.Option(None, "--select", help="gaia descriptor patterns to keep."),
            exclude_descriptors: Optional[List[str]] = typer.Option(None, "--exclude-descriptors",
                                                                    help="gaia patterns to leave out [default: metadata.*]."),
            join: Optional[Path] = typer.Option(None, "--join", readable=False, help="CSV of per-recording columns by id (e.g. tracks.csv)."),
            ) -> None:
    """Convert low-level documents + ground truth into one table (id column first, label last)."""
    import time

    from abauto.data import write_parquet
    from abauto.extensions import NOT_FEATURES
    from abauto.files import atomic_path

    from .loader import load_frame, lowlevel_options

    t0 = time.perf_counter()
    options = lowlevel_options(groundtruth, select, exclude_descriptors, join)
    frame = load_frame(data, progress=True, with_ids=True, **options)
    seconds = frame.attrs.get("documents_seconds", time.perf_counter() - t0)
    suffix = output.suffix.lower()
    if suffix not in {".parquet", ".pq", ".csv"}:
        raise DataError(f"{output}: give a .parquet or .csv output file")
    with atomic_path(output) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:  # the id and joined columns are recorded as such: 'abauto search' keeps them out of the features
            write_parquet(frame, tmp, roles={"id": ["id"], "join": frame.attrs.get(NOT_FEATURES, [])})
    rate = len(frame) / seconds if seconds else float("nan")
    typer.echo(f"wrote {output}: {len(frame)} rows x {frame.shape[1] - 2} features + {frame.columns[-1]!r} "
               f"({rate:.0f} documents/s)")


def predict_highlevel(models: List[Path], data: Path, output: Optional[Path], n_jobs: int = 1) -> None:
    """``abauto predict RUN_DIR... lowlevel/ --format acousticbrainz -o highlevel/`` (or
    ``-o out.tar``, ``-o out.jsonl``): every model's prediction in one high-level document per
    recording; unreadable documents go to ``<output>.errors.tsv``. Exit 1 if none could be predicted."""
    from .predict import predict_stream

    result = predict_stream(models, data, output, n_jobs=n_jobs)
    skipped = f"; {result['failed']} skipped, listed in {result['errors']}" if result["errors"] else ""
    if result["written"] == 0:
        typer.echo(f"abauto: error: none of the {result['documents']} documents of {data} could be predicted"
                   f"{skipped}", err=True)
        raise typer.Exit(1)
    rate = result["documents"] / result["seconds"] if result["seconds"] else float("nan")
    typer.echo(f"wrote {result['written']} high-level documents ({len(result['models'])} model{'s' if len(result['models']) != 1 else ''}: "
               f"{', '.join(result['models'])}) to {result['output']} ({rate:.0f} documents/s){skipped}")


def gaia_results(run_dir: Path = typer.Argument(..., readable=False, help="Run folder written by 'abauto search'."),
                 output: Optional[Path] = typer.Option(None, "-o", "--output",
                                                       help="HTML file [default: RUN_DIR/<className>.results.html]."),
                 ) -> None:
    """gaia's results page: accuracy, normalized accuracy, their stds and the confusion matrix."""
    from .gaia_html import write_results_html

    typer.echo(f"wrote {write_results_html(run_dir, output)}")


def extract(audio: Path = typer.Argument(..., readable=False, help="An audio file or a folder of them (wav, flac, mp3, ogg, ...)."),
            output: Path = typer.Option(..., "-o", "--output", readable=False, help="Folder for the low-level JSON documents."),
            force: bool = typer.Option(False, "--force", help="Re-analyse files whose document is up to date."),
            ) -> None:
    """Essentia's music extractor over your own audio: one low-level JSON per file (needs abauto[audio])."""
    from .extract import audio_files, extract_all

    files = audio_files(audio)
    written = extract_all(files, output, skip_existing=not force)
    typer.echo(f"wrote {len(written)} low-level documents to {output}")
