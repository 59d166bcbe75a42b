"""Low-level documents + ground truth -> one table (float32 features, categorical key strings,
the label column last), the form every other part of abauto takes."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import documents as docs
from .flatten import Layout
from .groundtruth import GroundTruth, read_groundtruth
from abauto.data import read_table
from abauto.errors import DataError
from abauto.extensions import NOT_FEATURES, TASK, split_values

ID_COLUMNS = ("id", "recording_id", "mbid", "file", "filename")


@dataclass
class Documents:
    """What a source held: one row per document, in source order."""

    layout: Layout
    matrix: np.ndarray              # float32, rows x layout.width
    strings: list[tuple]            # per row, layout.categorical values
    names: list[str]                # file or member name, for messages
    stems: list[str]                # id from the file name
    ids: list[str]                  # the id each row matched (ground truth id, else the stem)
    metadata: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def frame(self) -> pd.DataFrame:
        X = pd.DataFrame(self.matrix, columns=self.layout.columns, copy=False)
        if self.layout.categorical:
            cats = pd.DataFrame(self.strings, columns=self.layout.categorical, dtype=object)
            X = pd.concat([X, cats], axis=1)
        X.index = pd.Index(self.stems, name="document")
        return X


def _mbid_tag(doc: Any) -> str | None:
    try:
        value = doc["metadata"]["tags"]["musicbrainz_recordingid"]
    except (KeyError, TypeError):
        return None
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value).strip().lower() if value else None


class _Bar:
    """A transient rich progress bar of the documents read, on a terminal (stderr) only: in a log
    it prints nothing (``abauto search`` says what it read, and how long it took, in its first
    line). A folder counts documents; an archive or bulk JSON file, bytes."""

    def __init__(self, enabled: bool, source: docs.Source):
        from rich.console import Console

        self.bar = None
        self.source = source
        console = Console(stderr=True)
        if enabled and console.is_terminal:
            from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeRemainingColumn)

            documents = source.unit == "documents"
            self.bar = Progress(TextColumn(f"reading low-level documents in {source.path.name}"), BarColumn(),
                                MofNCompleteColumn() if documents else DownloadColumn(),
                                *([] if documents else [TextColumn("{task.fields[docs]} documents")]),
                                TimeRemainingColumn(), console=console, transient=True)
            self.task = self.bar.add_task("", total=source.total, docs=0)
            self.bar.start()

    def step(self, n: int) -> None:
        """``n`` documents read so far."""
        done = n if self.source.unit == "documents" else self.source.done()
        self.bar.update(self.task, completed=done, docs=n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def read_documents(path: str | Path, groundtruth: GroundTruth | None = None, select: Sequence[str] = ("*",),
                   exclude: Sequence[str] | None = None, keep_metadata: bool = False,
                   progress: bool = False) -> Documents:
    """Read every document of a source along the layout of the first one.

    With ``groundtruth``, only documents it names are kept: by file name (``<id>.json``, or an
    AcousticBrainz dump name ``<mbid>-<n>.json``), else by ``metadata.tags.musicbrainz_recordingid``.
    """
    path = Path(path)
    t0 = time.perf_counter()
    labels = groundtruth.labels if groundtruth else None

    def keep(stem: str) -> bool:  # skip unparsed files whose name already says "not wanted"
        if labels is None or not docs.names_an_mbid(stem):
            return True
        return any(c in labels for c in docs.candidate_ids(stem))

    source = docs.open_source(path, keep if labels is not None else None)
    layout: Layout | None = None
    capacity = max(source.total if source.unit == "documents" and source.total else 1024, 1)
    matrix: np.ndarray | None = None
    strings, names, stems, ids, metadata = [], [], [], [], []
    bar = _Bar(progress, source)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # parsed documents hold no cycles; collections over their ~10k objects each cost ~15 %
    n = seen = 0
    try:
        for raw in source.items:
            seen += 1
            if bar.bar is not None:
                bar.step(seen)
            doc = raw.document()
            matched = raw.stem
            if labels is not None:
                matched = next((c for c in docs.candidate_ids(raw.stem) if c in labels), None)
                if matched is None:
                    tag = _mbid_tag(doc)
                    matched = tag if tag in labels else None
                if matched is None:
                    continue
            if layout is None:
                layout = Layout.infer(doc, raw.name, select, exclude)
                matrix = np.empty((capacity, layout.width), dtype=np.float32)
                extract = layout.extract
            if n == capacity:
                capacity *= 2
                grown = np.empty((capacity, layout.width), dtype=np.float32)
                grown[:n] = matrix[:n]
                matrix = grown
            strings.append(extract(doc, raw.name, matrix[n]))
            names.append(raw.name)
            stems.append(raw.stem)
            ids.append(matched)
            if keep_metadata:
                meta = doc.get("metadata") if isinstance(doc, dict) else None
                metadata.append(meta if isinstance(meta, dict) else {})
            n += 1
    finally:
        if gc_was_enabled:
            gc.enable()
        bar.close()
    if layout is None:
        what = f" named by {groundtruth.source}" if groundtruth else ""
        raise DataError(f"{path}: no low-level documents{what} found")
    matrix = matrix[:n]
    return Documents(layout, matrix, strings, names, stems, ids, metadata, time.perf_counter() - t0)


def _check_coverage(gt: GroundTruth, found: Documents, path: Path) -> None:
    missing = sorted(set(gt.labels) - set(found.ids))
    if missing:
        shown = ", ".join(missing[:5])
        raise DataError(f"{gt.source}: {len(missing)} of {len(gt.labels)} ground-truth ids have no low-level "
                        f"document in {path}: {shown}{', ...' if len(missing) > 5 else ''}")


def read_join(path: str | Path, ids: Sequence[str]) -> pd.DataFrame:
    """Per-recording columns from a CSV keyed by id (first column named id/recording_id/mbid/file,
    else the first column), in the order of ``ids``; every id must be present."""
    path = Path(path)
    table = read_table(path)
    key = next((c for c in table.columns if c.strip().lower() in ID_COLUMNS), table.columns[0])
    keys = table[key].astype(str).map(lambda s: docs.strip_suffix(s.strip()) if "/" in s or s.endswith(".json") else s.strip())
    if keys.duplicated().any():
        raise DataError(f"{path}: id {keys[keys.duplicated()].iloc[0]!r} appears twice in column {key!r}")
    table = table.drop(columns=[key])
    table.index = keys.to_numpy()
    absent = [i for i in dict.fromkeys(ids) if i not in table.index]
    if absent:
        raise DataError(f"{path}: {len(absent)} recording id(s) missing from column {key!r}: "
                        f"{', '.join(absent[:5])}{', ...' if len(absent) > 5 else ''}")
    return table.loc[list(ids)].reset_index(drop=True)


def load_frame(path: str | Path, groundtruth: str | Path | None = None, select: Sequence[str] | None = None,
               exclude: Sequence[str] | None = None, join: str | Path | None = None,
               progress: bool = False, with_ids: bool = False) -> pd.DataFrame:
    """Features, joined columns, then the label column (named by the ground truth's
    ``className``), one row per matched document; ``with_ids`` puts an ``id`` column (the
    ground-truth id each document matched) first. The joined columns are listed in
    ``attrs[NOT_FEATURES]``: they serve as ``--groups``/``--id`` only, never as features."""
    path = Path(path)
    if groundtruth is None:
        raise DataError(f"{path}: low-level JSON needs --groundtruth (gaia YAML, or a CSV of id,label)")
    gt = read_groundtruth(groundtruth)
    found = read_documents(path, gt, select or ("*",), exclude, progress=progress)
    _check_coverage(gt, found, path)
    frame = found.frame().reset_index(drop=True)
    label = gt.class_name if gt.class_name not in frame.columns else f"{gt.class_name}_label"
    parts = [pd.DataFrame({"id": found.ids}), frame] if with_ids else [frame]
    if join is not None:
        extra = read_join(join, found.ids)
        clash = [c for c in extra.columns if c in frame.columns or c in (label, "id")]
        if clash:
            raise DataError(f"{join}: column {clash[0]!r} clashes with a descriptor or the label column")
        parts.append(extra)
    parts.append(pd.DataFrame({label: [gt.labels[i] for i in found.ids]}))
    out = pd.concat(parts, axis=1)
    out.attrs["documents_seconds"] = found.seconds
    out.attrs[NOT_FEATURES] = list(extra.columns) if join is not None else []
    if gt.named:  # recorded as dataset.task: names the model in high-level output and the run folder
        out.attrs[TASK] = gt.class_name
    return out


def lowlevel_options(groundtruth: str | Path | None = None, select: Sequence[str] | None = None,
                     exclude_descriptors: Sequence[str] | None = None,
                     join: str | Path | None = None) -> dict[str, Any]:
    """The command-line options (as given: repeatable, comma-separated) as :func:`load_frame`'s
    keywords; empty when none was given.

    ``--exclude-descriptors none`` (or an empty value) keeps everything (the default leaves out
    ``metadata.*``, as gaia's presets do)."""
    options: dict[str, Any] = {}
    if groundtruth is not None:
        options["groundtruth"] = groundtruth
    if select:
        options["select"] = split_values(select)
    if exclude_descriptors is not None and len(exclude_descriptors):
        values = split_values(exclude_descriptors)
        options["exclude"] = [] if values in ([], ["none"]) else values
    if join is not None:
        options["join"] = join
    return options


def load_input(path: str | Path, groundtruth: str | Path | None = None, select: Sequence[str] | None = None,
               exclude_descriptors: Sequence[str] | None = None, join: str | Path | None = None) -> pd.DataFrame:
    """The plugin's registered loader: :func:`load_frame` with the command-line options, and a
    progress bar on a terminal."""
    return load_frame(path, progress=True, **lowlevel_options(groundtruth, select, exclude_descriptors, join))
