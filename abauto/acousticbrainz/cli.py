"""Command-line pieces for low-level JSON input: the options ``abauto search`` passes through,
``abauto convert``, and ``abauto predict --format acousticbrainz``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Sequence

import typer

from abauto.errors import DataError


def _split(values: Optional[Sequence[str]]) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def lowlevel_options(groundtruth: Optional[Path], select: Optional[List[str]], exclude: Optional[List[str]],
                     join: Optional[Path]) -> dict[str, Any]:
    """The options for ``load_dataset``'s frame loader; empty when none was given.

    ``--exclude-descriptors none`` (or an empty value) keeps everything (the default leaves out
    ``metadata.*``, as gaia's presets do)."""
    options: dict[str, Any] = {}
    if groundtruth is not None:
        options["groundtruth"] = groundtruth
    if select:
        options["select"] = _split(select)
    if exclude is not None and len(exclude):
        values = _split(exclude)
        options["exclude"] = [] if values in ([], ["none"]) else values
    if join is not None:
        options["join"] = join
    return options


def load_input(data: Path, target: str | None, drop: list[str], ids: list[str], groups: str | None,
               groundtruth: Optional[Path] = None, select: Optional[List[str]] = None,
               exclude: Optional[List[str]] = None, join: Optional[Path] = None, progress: bool = True):
    """``load_dataset`` plus low-level options; columns of a ``--join`` file serve as
    ``--groups``/``--id`` only and are never features."""
    from abauto.acousticbrainz.loader import join_columns
    from abauto.data import load_dataset

    options = lowlevel_options(groundtruth, select, exclude, join)
    if join is not None:
        used = {groups, *ids, *drop}
        drop = [*drop, *[c for c in join_columns(join) if c not in used]]
    if options:
        options["progress"] = progress
    return load_dataset(data, target=target, drop=drop, ids=ids, groups=groups, **options)


def grid_override(config: Optional[Path], grid: Optional[List[str]]) -> dict | None:
    """``--grid svm.C=0.5,2 --grid preset=basic``: replace those parameters' values in the
    config's grid (values are YAML scalars: numbers, true/false, null)."""
    import yaml

    from abauto.config import load_config

    if not grid:
        return None
    merged = dict((load_config(config) if config else {}).get("grid") or {})
    for item in grid:
        name, sep, values = item.partition("=")
        if not sep or not name.strip():
            raise DataError(f"--grid {item!r}: expected PARAMETER=V1,V2,...")
        try:
            merged[name.strip()] = [yaml.safe_load(v.strip()) for v in values.split(",") if v.strip()]
        except yaml.YAMLError:
            raise DataError(f"--grid {item!r}: unreadable value") from None
        if not merged[name.strip()]:
            raise DataError(f"--grid {item!r}: no values")
    return merged


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

    from abauto.acousticbrainz.loader import load_frame
    from abauto.files import atomic_path

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
        else:
            frame.to_parquet(tmp, index=False)
    rate = len(frame) / seconds if seconds else float("nan")
    typer.echo(f"wrote {output}: {len(frame)} rows x {frame.shape[1] - 2} features + {frame.columns[-1]!r} "
               f"({rate:.0f} documents/s)")


def predict_highlevel(model: Path, data: Path, output: Optional[Path], fmt: str) -> None:
    """``abauto predict MODEL lowlevel/ --format acousticbrainz -o highlevel/``."""
    from abauto import __version__ as abauto_version
    from abauto.acousticbrainz.highlevel import write_highlevel
    from abauto.acousticbrainz.loader import read_documents
    from abauto.acousticbrainz.patterns import descriptor_of
    from abauto.model import align, load_model, versions

    if fmt != "acousticbrainz":
        raise DataError(f"--format {fmt!r}: expected csv or acousticbrainz")
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
    from abauto.acousticbrainz.gaia_html import write_results_html

    typer.echo(f"wrote {write_results_html(run_dir, output)}")


def extract(audio: Path = typer.Argument(..., help="An audio file or a folder of them (wav, flac, mp3, ogg, ...)."),
            output: Path = typer.Option(..., "-o", "--output", help="Folder for the low-level JSON documents."),
            force: bool = typer.Option(False, "--force", help="Re-analyse files whose document is up to date."),
            ) -> None:
    """Essentia's music extractor over your own audio: one low-level JSON per file (needs abauto[audio])."""
    from abauto.acousticbrainz.extract import audio_files, extract_all

    files = audio_files(audio)
    written = extract_all(files, output, skip_existing=not force)
    typer.echo(f"wrote {len(written)} low-level documents to {output}")


def register(app: typer.Typer) -> None:
    app.command("convert")(convert)
    app.command("gaia-results")(gaia_results)
    app.command("extract")(extract)
