"""Reading a labelled table (CSV, TSV, parquet) into a validated :class:`Dataset`.

Every problem a user can fix is a :class:`DataError` whose message is one line naming the file
and the column, row or value at fault; the CLI prints it and exits with code 2.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
from pandas.io.parsers.readers import STR_NA_VALUES  # read_csv's default na_values

from abauto.errors import DataError
from abauto.extensions import NOT_FEATURES, TASK
from abauto.leakage import inspect_columns

if TYPE_CHECKING:
    from abauto.registry import Registry

TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet", ".pq"}
# Delimiters tried on the header; on a tie the earlier wins: a comma is the likeliest character
# inside the names or values of a tab- or ';'-separated file (decimal commas), not the reverse.
DELIMITERS = "\t;|,"
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
    task: str | None = None  # what the labels mean, when a loader says (abauto.extensions.TASK)

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
            **({"task": self.task} if self.task else {}),
        }


# File signatures of formats that are not text tables, with what to do instead.
SIGNATURES = {
    b"\x1f\x8b": "gzip-compressed data; decompress it first (gunzip)",
    b"BZh": "bzip2-compressed data; decompress it first (bunzip2)",
    b"\xfd7zXZ\x00": "xz-compressed data; decompress it first (unxz)",
    b"\x28\xb5\x2f\xfd": "zstd-compressed data; decompress it first (unzstd)",
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx workbook?); export the sheet as CSV or unzip it",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an Excel .xls workbook; export the sheet as CSV",
    b"PAR1": "a parquet file; name it .parquet",
}
# Cells read as missing besides pandas' defaults ('', NA, NaN, null, ...): '?' is the missing-value
# mark of UCI and Weka files. Surrounding spaces never count, so ' NA ' is missing too.
MISSING_TOKENS = frozenset(STR_NA_VALUES) | {"?"}
# A number as a header field would be written, with either decimal mark ('5.1', '-3', '1,5', '2e3').
NUMBER_LIKE = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
# Numbers with a decimal comma and optional '.' thousands groups ('1,5', '-0,25', '1.234,5', '1.234').
DECIMAL_COMMA = r"[+-]?(?:[1-9]\d{0,2}(?:\.\d{3})+|\d+)(?:,\d+)?(?:[eE][+-]?\d+)?"
# Numbers with a decimal point and ',' thousands groups ('1,234', '1,234,567.5').
THOUSANDS_COMMA = r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?(?:[eE][+-]?\d+)?"


def _open(path: Path) -> bytes | None:
    """The file's bytes (``None`` for parquet, read by pandas), refusing what is no table file."""
    try:
        if not path.exists():
            raise DataError(f"{path}: no such file")
        if path.is_dir():
            raise DataError(f"{path}: is a folder; give a CSV, TSV or parquet file, or an input a loader plugin reads (see 'abauto plugins')")
        if path.stat().st_size == 0:
            raise DataError(f"{path}: file is empty")
        if path.suffix.lower() in {".parquet", ".pq"}:
            with path.open("rb"):  # unreadable files fail here with their reason
                return None
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    for magic, what in SIGNATURES.items():
        if raw.startswith(magic):
            raise DataError(f"{path}: is {what}")
    return raw


def _decode(path: Path, raw: bytes) -> str:
    """UTF-8 (a BOM is dropped), or UTF-16 when the file starts with its BOM (Excel's "Unicode text")."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError(f"{path}: starts with a UTF-16 byte order mark but is not valid UTF-16") from None
    if b"\x00" in raw[:65536]:
        raise DataError(f"{path}: binary content (NUL bytes); expected a CSV/TSV text table")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}: undecodable byte 0x{raw[exc.start]:02x} at line {line} (expected UTF-8)") from None


def _sniff_delimiter(path: Path, header: str) -> str:
    """Tab for .tsv, else the delimiter the header line holds most of (see :data:`DELIMITERS`)."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


@dataclass
class _Layout:
    """What the ``csv`` module makes of a text table's records (see :func:`_check_rows`)."""

    header: list[str]
    width: int  # number of columns: the header's fields, less a line-ending delimiter
    repeats: list[int] = field(default_factory=list)  # data rows (0-based) that repeat the header

    @property
    def columns(self) -> list[str]:
        """The column names, without surrounding spaces ('class ' is 'class')."""
        return [c.strip() for c in self.header[: self.width]]


def _blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())  # pandas skips these lines too


def _malformed(start: int, end: int, row: list[str], width: int, hint: str) -> str:
    if end > start:  # a quoted value ran over lines: most likely a quote that is never closed
        hint = f"its quoted value runs from line {start} to line {end}: a quote that is never closed?"
    fields = f"{len(row)} field{'s' if len(row) != 1 else ''}"
    return f"malformed row at line {start}: {fields} where the header has {width} ({hint})"


def _check_rows(path: Path, data: bytes, sep: str) -> _Layout:
    """Split the text into records with ``csv`` (same delimiter and quoting as the pandas read) and
    refuse any record whose number of fields differs from the header's.

    pandas would take the extra fields of long rows as an index (shifting every column) and fill
    short rows with missing values, both silently; a short row cannot be told apart from missing
    values, and a missing value still has its delimiter (``1,,x``), so both are refused with the
    line number. A delimiter at the end of every line is fine: empty extra fields are ignored, and
    a header ending in a delimiter has no extra column when no row has a value there. Lines that
    repeat the header (concatenated files) are noted so the caller drops them."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(data) + 1))  # a quoted field may be long; pandas reads it
    try:  # decoded chunk by chunk: a StringIO of the whole text would hold 4 bytes per character
        lines = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
        reader = csv.reader(lines, delimiter=sep, skipinitialspace=True)
        header: list[str] | None = None
        width, names, repeats, row_index, line = 0, [], [], 0, 1
        for row in reader:
            start, line = line, reader.line_num + 1  # a quoted field may span several lines
            if _blank(row):
                continue
            if header is None:
                header = row
                width = len(row) - 1 if len(row) > 1 and not row[-1].strip() else len(row)
                names = [c.strip() for c in row[:width]]
                continue
            if len(row) < width:
                other = [d for d in DELIMITERS if d != sep and len(row) == 1 and d in row[0]]
                hint = (f"the header is separated by {sep!r}, this line by {other[0]!r}" if other else
                        f"a missing value still needs its delimiter, e.g. 1{sep}{sep}x")
                raise DataError(f"{path}: {_malformed(start, line - 1, row, width, hint)}")
            if any(f.strip() for f in row[width:]):
                if width < len(header) and len(row) == len(header):
                    raise DataError(f"{path}: column {len(header)} has no name (line {start} has a value in it)")
                hint = f"quote values that contain {sep!r}"
                raise DataError(f"{path}: {_malformed(start, line - 1, row, width, hint)}")
            if row[0].strip() == names[0] and [f.strip() for f in row[:width]] == names:
                repeats.append(row_index)
            row_index += 1
    except csv.Error as exc:
        raise DataError(f"{path}: malformed table at line {reader.line_num}: {exc}") from None
    finally:
        csv.field_size_limit(limit)
    if header is None:
        raise DataError(f"{path}: file is empty")
    return _Layout(header=header, width=width, repeats=repeats)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read CSV/TSV (delimiter sniffed from the header) or parquet, refusing broken files.

    Text tables are checked record by record (:func:`_check_rows`), their first line must be a
    header (:func:`_check_header`), header lines repeated inside the file are dropped, and text
    cells are cleaned up and read as numbers where they are numbers (:func:`_clean_text_columns`:
    surrounding spaces, '?' as missing, decimal commas, thousands separators). What was changed
    is listed in ``frame.attrs["notes"]``; :func:`dataset_from_frame` passes it on."""
    path = Path(path)
    raw = _open(path)
    if raw is None:
        return _read_parquet(path)
    text = _decode(path, raw)
    del raw
    if not text or text.isspace():
        raise DataError(f"{path}: file is empty")
    header = re.match(r"\s*([^\r\n]*)", text).group(1)
    sep = _sniff_delimiter(path, header)
    if re.fullmatch(r"sep=.", header):  # Excel's "sep=;" first line names the delimiter
        sep = header[4]
        text = text[text.index(header) + len(header):]  # its line stays, blank, so line numbers hold
    # the checked text is held once, as UTF-8 bytes (1 byte per character of most tables) that
    # csv and pandas read as streams
    data = text.encode("utf-8")
    del text
    layout = _check_rows(path, data, sep)
    frame = _frame(path, data, sep, layout)
    _check_header(path, layout.columns, frame)
    _check_columns(path, layout.columns)
    notes = [f"dropped {len(layout.repeats)} line(s) repeating the header (concatenated files?)"] * bool(layout.repeats)
    frame = _clean_text_columns(path, data, sep, layout, frame, notes)
    frame.attrs["notes"] = notes
    return frame


def _frame(path: Path, data: bytes, sep: str, layout: _Layout, **options) -> pd.DataFrame:
    """The pandas read of a checked text table: the header's columns, without repeated headers."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(io.BytesIO(data), encoding="utf-8", sep=sep, skipinitialspace=True,
                                index_col=False, low_memory=False, **options)
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise DataError(f"{path}: malformed table: {str(exc).strip().splitlines()[0][:160]}") from None
    frame = frame.iloc[:, : layout.width]
    if layout.repeats:
        frame = frame.drop(index=layout.repeats).reset_index(drop=True)
    if frame.empty:
        raise DataError(f"{path}: header only, no data rows")
    return frame.set_axis(layout.columns, axis=1)


PARQUET_ROLES = b"abauto.roles"
"""Key of a parquet file's schema metadata: JSON ``{"id": [...], "join": [...]}`` naming columns that
are no features (identifiers, columns joined from a side file); see :func:`write_parquet`."""


def write_parquet(frame: pd.DataFrame, path: str | Path, roles: dict[str, Sequence[str]] | None = None) -> None:
    """Write ``frame`` (without its index) as parquet, recording the columns' ``roles`` (e.g.
    ``{"id": ["id"], "join": ["track"]}``) in the schema metadata under :data:`PARQUET_ROLES`:
    :func:`read_table` lists them in ``attrs[NOT_FEATURES]`` so they never become features by accident."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if roles:
        metadata = {**(table.schema.metadata or {}),
                    PARQUET_ROLES: json.dumps({k: [str(c) for c in v] for k, v in roles.items()}).encode()}
        table = table.replace_schema_metadata(metadata)
    pq.write_table(table, path)


def _parquet_roles(path: Path, columns: Sequence[str]) -> list[str]:
    """The columns a parquet file's :data:`PARQUET_ROLES` metadata names (unreadable metadata: none)."""
    import json

    import pyarrow.parquet as pq

    try:
        roles = json.loads((pq.read_schema(path).metadata or {}).get(PARQUET_ROLES, b"{}"))
        named = [str(c) for v in roles.values() for c in v]
    except (ValueError, TypeError, AttributeError, OSError):
        return []
    return [c for c in dict.fromkeys(named) if c in columns]


def _read_parquet(path: Path) -> pd.DataFrame:
    """A parquet table; column names must be flat (numbers become text), values scalars. Columns
    its :data:`PARQUET_ROLES` metadata names are listed in ``attrs[NOT_FEATURES]``."""
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise DataError(f"{path}: not a readable parquet file ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})") from None
    if isinstance(frame.columns, pd.MultiIndex):
        raise DataError(f"{path}: column {frame.columns[0]!r} has a name of several levels; flatten the column names")
    _check_columns(path, [str(c) for c in frame.columns])
    frame.columns = [str(c) for c in frame.columns]
    for col in frame.columns[frame.dtypes.to_numpy() == object]:
        nested = frame[col].map(lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray)))
        if nested.any():
            row = int(np.argmax(nested.to_numpy()))
            raise DataError(f"{path}: column {col!r} holds {type(frame[col].iloc[row]).__name__} values "
                            f"(data row {row + 1}); give one scalar per cell (flatten nested columns)")
    frame.attrs[NOT_FEATURES] = _parquet_roles(path, list(frame.columns))
    return frame


def _check_columns(path: Path, columns: Sequence[str]) -> None:
    stripped = [c.strip() for c in columns]
    blank = [i + 1 for i, c in enumerate(stripped) if not c]
    if len(stripped) > 1 and blank:
        raise DataError(f"{path}: column {blank[0]} has no name")
    dup = [c for c, n in Counter(stripped).items() if n > 1]
    if dup:
        raise DataError(f"{path}: duplicate column name {dup[0]!r}")


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series.dtype) or series.dtype == object


def _missing_as_nan(series: pd.Series) -> pd.Series:
    """Text cells without surrounding spaces; :data:`MISSING_TOKENS` become missing. Cells pandas
    already parsed in a mixed column (``True`` beside missing cells) are read as their text."""
    stripped = series.where(series.isna(), series.astype(str)).str.strip()
    return stripped.where(~stripped.isin(MISSING_TOKENS))


def _share(series: pd.Series, pattern: str) -> float:
    """The share of the present (non-missing) values that match ``pattern`` (0 if none)."""
    present = series.dropna()
    return float(present.astype(str).str.fullmatch(pattern).mean()) if len(present) else 0.0


def _all_match(series: pd.Series, pattern: str) -> bool:
    return _share(series, pattern) == 1.0


def _to_number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.astype(object).where(series.notna(), None))


def _names(columns: Sequence[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:5])
    return f"column{'s' if len(columns) > 1 else ''} {shown}{', ...' if len(columns) > 5 else ''}"


def _check_header(path: Path, header: Sequence[str], frame: pd.DataFrame) -> None:
    """Refuse a first line that is data, not a header (a headerless file loses its first row and
    gets numbers for column names).

    A header field looks like data when it is a number ('5.1', '1,5') or a value that occurs in its
    own column below; the line is data when every field looks like data, except column numbers
    (0..n-1 or 1..n, as tools write for unnamed columns). One real name ('class') makes it a header."""
    names = [c.strip() for c in header]

    def data_like(i: int, name: str) -> bool:
        if NUMBER_LIKE.fullmatch(name):
            return True
        column = frame.iloc[:, i]
        return not pd.api.types.is_numeric_dtype(column.dtype) and bool((column.astype(str).str.strip() == name).any())

    if not all(names) or not all(data_like(i, n) for i, n in enumerate(names)):
        return
    numbers = [int(n) for n in names if n.isdigit()]
    if numbers in (list(range(len(names))), list(range(1, len(names) + 1))):
        return
    raise DataError(f"{path}: the first line looks like data, not a header (every field is a number or a value "
                    f"of its column, e.g. {names[0]!r}); add a header line naming the columns")


def _clean_text_columns(path: Path, data: bytes, sep: str, layout: _Layout, frame: pd.DataFrame,
                        notes: list[str]) -> pd.DataFrame:
    """Strip the spaces around text cells, read :data:`MISSING_TOKENS` as missing, and read text
    columns of numbers as numbers.

    Numbers are read by the file's decimal mark: a file separated by ';', tab or '|' in which a
    column holds decimal commas ('1,5') uses the decimal comma, with '.' as thousands separator
    (Excel's convention where ',' is the decimal mark); the file is then read again as text so
    that '1.234' becomes 1234, not 1.234. Otherwise the decimal mark is '.', and a column whose
    numbers have ',' thousands groups ('1,234,567') is read without them. In a comma-separated
    file, quoted decimal commas ('"1,5"') could as well be lists, so they are refused."""
    text_cols = [c for c in frame.columns if _is_text(frame[c])]
    cleaned = {c: _missing_as_nan(frame[c]) for c in text_cols}
    decimal_comma = sep != "," and any(_share(s, DECIMAL_COMMA) >= NUMERIC_SHARE
                                       and s.str.contains(",", regex=False).any() for s in cleaned.values())
    if decimal_comma:
        frame = _frame(path, data, sep, layout, dtype=str)
        text_cols = list(frame.columns)
        cleaned = {c: _missing_as_nan(frame[c]) for c in text_cols}
    question = sum(int((frame[c].astype(str).str.strip() == "?").sum()) for c in text_cols)
    if question:
        notes.append(f"read {question} '?' cell(s) as missing")
    comma_cols, thousands_cols = [], []
    for col, s in cleaned.items():
        present = s.dropna()
        if decimal_comma and _all_match(present, DECIMAL_COMMA):
            frame[col] = _to_number(s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
            if present.str.contains("[.,]").any():
                comma_cols.append(col)
            continue
        numbers = pd.to_numeric(present, errors="coerce")
        if len(present) and numbers.notna().all():
            frame[col] = _to_number(s)
        elif _all_match(present, f"(?:{THOUSANDS_COMMA}|[+-]?\\d+(?:\\.\\d+)?)"):
            frame[col] = _to_number(s.str.replace(",", "", regex=False))
            thousands_cols.append(col)
        elif sep == "," and _all_match(present, DECIMAL_COMMA):
            value = present[present.str.contains(",", regex=False)].iloc[0]
            raise DataError(f"{path}: column {col!r}: number with a decimal comma ({value!r}) in a comma-separated "
                            f"file; write decimal points, or separate the fields with ';'")
        else:
            frame[col] = s
    if decimal_comma:
        frame.attrs["decimal"] = ","  # dataset_from_frame counts decimal commas as numbers too
    if comma_cols:
        notes.append(f"read decimal commas (and '.' thousands separators) in {_names(comma_cols)}")
    if thousands_cols:
        notes.append(f"read ',' as thousands separator in {_names(thousands_cols)}")
    return frame


def _numeric_or_categorical(path: Path, frame: pd.DataFrame, decimal: str = ".") -> list[str]:
    """Convert number-like text columns to numbers; return the truly categorical columns.

    A text column of which at least :data:`NUMERIC_SHARE` are numbers (with ``decimal`` as the
    decimal mark) but not all is refused, naming the first value that is not a number."""
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
            continue
        if decimal == ",":
            bad &= ~present.astype(str).str.strip().str.fullmatch(DECIMAL_COMMA).to_numpy(dtype=bool)
        if len(present) and bad.any() and (~bad).mean() >= NUMERIC_SHARE:
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
    """Validate a frame holding features and a label column, and split it into a Dataset.

    The columns named by ``drop``, ``ids`` and ``groups`` must exist and differ from the target;
    ``groups`` needs a group for every row and at least two groups. Notes that :func:`read_table`
    left in ``frame.attrs["notes"]`` come first in the Dataset's notes."""
    path = Path(path)
    notes, decimal = list(frame.attrs.get("notes", [])), frame.attrs.get("decimal", ".")
    not_features = [str(c) for c in frame.attrs.get(NOT_FEATURES, ())]
    frame = frame.reset_index(drop=True)  # row i is data row i + 1 (a parquet may bring its own index)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if target is None:
        target = "class" if "class" in columns else columns[-1]
    for option, names in (("--target", [target]), ("--drop", drop), ("--id", ids), ("--groups", [groups] if groups else [])):
        for n in names:
            if n not in columns:
                raise DataError(f"{path}: {option} column {n!r} not found (columns: {', '.join(columns[:8])}{', ...' if len(columns) > 8 else ''})")
            if option != "--target" and n == target:
                raise DataError(f"{path}: {option} column {n!r} is the target column; choose another --target or leave it out")
    labels = frame[target]
    missing = labels.isna() | (labels.astype(str).str.strip() == "")
    if missing.all():
        raise DataError(f"{path}: target column {target!r} is empty")
    if missing.any():
        notes.append(f"dropped {int(missing.sum())} rows with no {target!r} label")
        frame = frame.loc[~missing]  # keeps the index: messages name rows as numbered in the table
        labels = frame[target]
    y = labels.astype(str).str.strip().to_numpy(dtype=object)
    counts = Counter(y.tolist())
    if len(counts) < 2:
        raise DataError(f"{path}: target column {target!r} has a single class {next(iter(counts))!r}; need at least two")
    if len(y) < 4:
        raise DataError(f"{path}: only {len(y)} labelled rows; need at least 4")
    if groups:
        unset = frame[groups].isna() | (frame[groups].astype(str).str.strip() == "")
        if unset.any():
            raise DataError(f"{path}: --groups column {groups!r} has no value in data row {unset.idxmax() + 1}; "
                            f"every row needs a group")
        if frame[groups].nunique() < 2:
            raise DataError(f"{path}: --groups column {groups!r} holds a single group {frame[groups].iloc[0]!r}; "
                            f"train and test need different groups, so give at least two")
    used = {target, *drop, *ids, *([groups] if groups else [])}
    roles = [c for c in not_features if c in columns and c not in used]
    if roles:  # a loader's joined columns, or a parquet file's id/join columns (see read_table)
        notes.append(f"left out of the features: {_names(roles)} (id or joined columns; name one with --groups or --id to use it)")
    excluded = used | set(roles)
    X = frame[[c for c in columns if c not in excluded]].copy()
    if X.shape[1] == 0:
        raise DataError(f"{path}: no feature columns left besides {target!r}")
    categorical = _numeric_or_categorical(path, X, decimal)
    numeric = [c for c in X.columns if c not in set(categorical)]
    if numeric:
        values = X[numeric].to_numpy(dtype=float)
        inf = np.isinf(values)
        if inf.any():
            r, c = np.argwhere(inf)[0]
            raise DataError(f"{path}: column {numeric[c]!r}: infinite value in data row {X.index[r] + 1}")
    empty = list(X.columns[X.isna().all().to_numpy()])
    if empty:
        raise DataError(f"{path}: column {empty[0]!r} has no values at all; drop it with --drop {empty[0]!r}")
    found = inspect_columns(X, y, categorical)
    if found.drop:
        X, categorical = X.drop(columns=found.drop), [c for c in categorical if c not in found.drop]
    notes += found.notes()
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
    dataset = dataset_from_frame(frame, path, target=target, drop=drop, ids=ids, groups=groups,
                                 name=path.name.split(".")[0] or "dataset")
    dataset.task = frame.attrs.get(TASK)
    return dataset


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
