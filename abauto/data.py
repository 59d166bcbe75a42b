"""Reading a labelled table (CSV, TSV, parquet) into a validated :class:`Dataset`.

Every problem a user can fix is a :class:`DataError` whose message is one line naming the file
and the column, row or value at fault; the CLI prints it and exits with code 2.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from abauto.errors import DataError
from abauto.extensions import NOT_FEATURES

if TYPE_CHECKING:
    from abauto.registry import Registry

TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet", ".pq"}
DELIMITERS = ",;\t|"
# A text column counts as "numeric with stray text" (an error) when at least this share of its values parse.
NUMERIC_SHARE = 0.5


@dataclass
class Dataset:
    """Features, labels and what the search needs to know about them."""

    name: str
    X: pd.DataFrame
    y: np.ndarray
    target: str
    source: str = ""
    groups: np.ndarray | None = None
    ids: pd.DataFrame | None = None
    categorical: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def numeric(self) -> list[str]:
        return [c for c in self.X.columns if c not in set(self.categorical)]

    @property
    def classes(self) -> dict[str, int]:
        return dict(sorted(Counter(self.y.tolist()).items()))

    @property
    def missing_fraction(self) -> float:
        return float(self.X.isna().to_numpy().mean()) if self.X.size else 0.0

    def summary(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "rows": int(len(self.y)),
            "features": int(self.X.shape[1]),
            "categorical": list(self.categorical),
            "target": self.target,
            "classes": self.classes,
            "missing_fraction": round(self.missing_fraction, 6),
        }


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}: undecodable byte 0x{raw[exc.start]:02x} at line {line} (expected UTF-8)") from None


def _sniff_delimiter(path: Path, header: str) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_table(path: str | Path) -> pd.DataFrame:
    """Read CSV/TSV (delimiter sniffed from the header) or parquet, refusing broken files."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give a CSV, TSV or parquet file (or --groundtruth for low-level JSON)")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    if path.suffix.lower() in {".parquet", ".pq"}:
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:
            raise DataError(f"{path}: not a readable parquet file ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})") from None
        _check_columns(path, [str(c) for c in frame.columns])
        frame.columns = [str(c) for c in frame.columns]
        return frame
    raw = path.read_bytes()
    if b"\x00" in raw[:65536]:
        raise DataError(f"{path}: binary content (NUL bytes); expected a CSV/TSV text table")
    text = _decode(path, raw)
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    header = text.lstrip().splitlines()[0]
    sep = _sniff_delimiter(path, header)
    try:
        columns = next(csv.reader([header], delimiter=sep))
    except csv.Error as exc:
        raise DataError(f"{path}: unreadable header ({exc})") from None
    _check_columns(path, columns)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True, low_memory=False)
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise DataError(f"{path}: malformed table: {str(exc).strip().splitlines()[0][:160]}") from None
    if frame.empty:
        raise DataError(f"{path}: header only, no data rows")
    return frame


def _check_columns(path: Path, columns: Sequence[str]) -> None:
    stripped = [c.strip() for c in columns]
    blank = [i + 1 for i, c in enumerate(stripped) if not c]
    if len(stripped) > 1 and blank:
        raise DataError(f"{path}: column {blank[0]} has no name")
    dup = [c for c, n in Counter(stripped).items() if n > 1]
    if dup:
        raise DataError(f"{path}: duplicate column name {dup[0]!r}")


def _numeric_or_categorical(path: Path, frame: pd.DataFrame) -> list[str]:
    """Convert number-like text columns to numbers; return the truly categorical columns."""
    categorical = []
    for col, dtype in list(frame.dtypes.items()):
        if pd.api.types.is_bool_dtype(dtype):
            frame[col] = frame[col].astype(float)
            continue
        if pd.api.types.is_numeric_dtype(dtype):
            continue
        series = frame[col]
        present = series.dropna()
        present = present[present.astype(str).str.strip() != ""]
        parsed = pd.to_numeric(present, errors="coerce")
        bad = parsed.isna()
        if len(present) and not bad.any():
            frame[col] = pd.to_numeric(series.where(series.astype(str).str.strip() != ""), errors="coerce")
        elif len(present) and (~bad).mean() >= NUMERIC_SHARE:
            row = present.index[bad.to_numpy()][0]
            raise DataError(f"{path}: column {col!r}: non-numeric value {str(present[row])[:40]!r} "
                            f"in a numeric column (data row {row + 1})")
        else:
            frame[col] = series.where(series.notna(), None).astype(object)
            categorical.append(col)
    return categorical


def dataset_from_frame(frame: pd.DataFrame, path: str | Path, target: str | None = None,
                       drop: Sequence[str] = (), ids: Sequence[str] = (), groups: str | None = None,
                       name: str | None = None) -> Dataset:
    """Validate a frame holding features and a label column, and split it into a Dataset."""
    path = Path(path)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if target is None:
        target = "class" if "class" in columns else columns[-1]
    for option, names in (("--target", [target]), ("--drop", drop), ("--id", ids), ("--groups", [groups] if groups else [])):
        for n in names:
            if n not in columns:
                raise DataError(f"{path}: {option} column {n!r} not found (columns: {', '.join(columns[:8])}{', ...' if len(columns) > 8 else ''})")
    labels = frame[target]
    missing = labels.isna() | (labels.astype(str).str.strip() == "")
    notes = []
    if missing.all():
        raise DataError(f"{path}: target column {target!r} is empty")
    if missing.any():
        notes.append(f"dropped {int(missing.sum())} rows with no {target!r} label")
        frame = frame.loc[~missing].reset_index(drop=True)
        labels = frame[target]
    y = labels.astype(str).str.strip().to_numpy(dtype=object)
    counts = Counter(y.tolist())
    if len(counts) < 2:
        raise DataError(f"{path}: target column {target!r} has a single class {next(iter(counts))!r}; need at least two")
    if len(y) < 4:
        raise DataError(f"{path}: only {len(y)} labelled rows; need at least 4")
    excluded = {target, *drop, *ids, *([groups] if groups else [])}
    X = frame[[c for c in columns if c not in excluded]].copy()
    if X.shape[1] == 0:
        raise DataError(f"{path}: no feature columns left besides {target!r}")
    categorical = _numeric_or_categorical(path, X)
    numeric = [c for c in X.columns if c not in set(categorical)]
    if numeric:
        values = X[numeric].to_numpy(dtype=float)
        inf = np.isinf(values)
        if inf.any():
            r, c = np.argwhere(inf)[0]
            raise DataError(f"{path}: column {numeric[c]!r}: infinite value in data row {r + 1}")
    empty = list(X.columns[X.isna().all().to_numpy()])
    if empty:
        raise DataError(f"{path}: column {empty[0]!r} has no values at all; drop it with --drop {empty[0]!r}")
    return Dataset(
        name=name or path.name.split(".")[0],
        X=X.reset_index(drop=True),
        y=y,
        target=target,
        source=str(path),
        groups=frame[groups].astype(str).to_numpy() if groups else None,
        ids=frame[list(ids)].reset_index(drop=True) if ids else None,
        categorical=categorical,
        notes=notes,
    )


def load_dataset(path: str | Path, target: str | None = None, drop: Sequence[str] = (),
                 ids: Sequence[str] = (), groups: str | None = None, registry: Registry | None = None,
                 **options) -> Dataset:
    """Load any supported input as a Dataset: a table, or what a registered loader claims.

    registry: where the input loaders come from (default: :func:`abauto.registry.load_registry`,
        called only here, when needed).
    options: the chosen loader's options (``groundtruth=...``); ``None`` and empty values count
        as not given. A table takes none; a loader only those it lists.
    """
    path = Path(path)
    options = {k: v for k, v in options.items() if v is not None and not (isinstance(v, (list, tuple)) and not v)}
    if registry is None:
        from abauto.registry import load_registry

        registry = load_registry()
    loader = registry.loader_for(path)
    if loader is None:
        if options:
            takers = [p.item.description or p.name for p in registry.loaders.values() if set(options) & set(p.item.options)]
            where = " or ".join(takers) + " input only" if takers else "no input: no installed loader takes them"
            raise DataError(f"{path}: options {', '.join(_flag(k) for k in options)} apply to {where}")
        return dataset_from_frame(read_table(path), path, target=target, drop=drop, ids=ids, groups=groups)
    unknown = [k for k in options if k not in loader.options]
    if unknown:
        takes = ", ".join(_flag(k) for k in loader.options) or "none"
        raise DataError(f"{path}: option {_flag(unknown[0])} does not apply to {loader.description or loader.name} "
                        f"input (it takes: {takes})")
    frame = loader.load(path, **options)
    used = {target, groups, *ids, *drop}
    drop = [*drop, *(c for c in frame.attrs.get(NOT_FEATURES, ()) if c not in used)]
    return dataset_from_frame(frame, path, target=target, drop=drop, ids=ids, groups=groups,
                              name=path.name.split(".")[0] or "dataset")


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def check_folds(dataset: Dataset, folds: int, what: str) -> tuple[int, str | None]:
    """Lower ``folds`` when the rarest class is too small; refuse a class with one member."""
    rarest, count = min(dataset.classes.items(), key=lambda kv: kv[1])
    if count < 2:
        raise DataError(f"{dataset.source}: class {rarest!r} has a single member; every class needs at least 2")
    if count >= folds:
        return folds, None
    return count, f"class {rarest!r} has only {count} members: {what} lowered from {folds} to {count} folds"
