"""The plugin's commands: ``abauto convert``, ``extract``, ``gaia-results``, and the writer of
``abauto predict --format acousticbrainz``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from abauto.errors import DataError


def convert(data: Path = typer.Argument(..., help="Folder of low-level *.json, a .tar(.bz2/.zst) dump or bulk JSON."),
            groundtruth: Path = typer.Option(..., "--groundtruth", help="gaia YAML, or CSV of id,label."),
            output: Path = typer.Option(..., "-o", "--output", help="Output table: .parquet or .csv."),
            select: Optional[List[str]] = typer.Option(None, "--select", help="gaia descriptor patterns to keep."),
            exclude_descriptors: Optional[List[str]] = typer.Option(None, "--exclude-descriptors",
                                                                    help="gaia patterns to leave out [default: metadata.*]."),
            join: Optional[Path] = typer.Option(None, "--join", help="CSV of per-recording columns by id (e.g. tracks.csv)."),
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


def predict_highlevel(model: Path, data: Path, output: Optional[Path]) -> None:
    """``abauto predict MODEL lowlevel/ --format acousticbrainz -o highlevel/``."""
    from abauto import __version__ as abauto_version
    from abauto.model import align, load_model, versions

    from .highlevel import write_highlevel
    from .loader import read_documents
    from .patterns import descriptor_of

    if output is None:
        raise DataError("--format acousticbrainz writes one JSON per recording: give -o FOLDER")
    pipeline, card = load_model(model)
    if card is None:
        raise DataError(f"{model}: the model card (model-card.json) is needed to read low-level documents")
    names = [f["name"] for f in card["features"]]
    wanted = list(dict.fromkeys("." + descriptor_of(n) for n in names))  # exact (dot-anchored) patterns
    found = read_documents(data, select=wanted, exclude=[], keep_metadata=True, progress=True)
    X = align(found.frame().reset_index(drop=True), card, str(data))
    proba = pipeline.predict_proba(X)
    classes = [str(c) for c in pipeline.classes_]
    info = {"abauto": abauto_version, "scikit-learn": versions().get("scikit-learn", ""),
            "model": Path(model).name, "estimate": card.get("estimate", {}).get("outer_mean")}
    written = write_highlevel(output, found.stems, card["target"], classes, proba, found.metadata, info)
    typer.echo(f"wrote {len(written)} high-level documents to {output}")


def gaia_results(run_dir: Path = typer.Argument(..., help="Run folder written by 'abauto search'."),
                 output: Optional[Path] = typer.Option(None, "-o", "--output",
                                                       help="HTML file [default: RUN_DIR/<className>.results.html]."),
                 ) -> None:
    """gaia's results page: accuracy, normalized accuracy, their stds and the confusion matrix."""
    from .gaia_html import write_results_html

    typer.echo(f"wrote {write_results_html(run_dir, output)}")


def extract(audio: Path = typer.Argument(..., help="An audio file or a folder of them (wav, flac, mp3, ogg, ...)."),
            output: Path = typer.Option(..., "-o", "--output", help="Folder for the low-level JSON documents."),
            force: bool = typer.Option(False, "--force", help="Re-analyse files whose document is up to date."),
            ) -> None:
    """Essentia's music extractor over your own audio: one low-level JSON per file (needs abauto[audio])."""
    from .extract import audio_files, extract_all

    files = audio_files(audio)
    written = extract_all(files, output, skip_existing=not force)
    typer.echo(f"wrote {len(written)} low-level documents to {output}")
