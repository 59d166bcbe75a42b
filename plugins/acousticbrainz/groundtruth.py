"""Ground truth: gaia's YAML (``className``, ``groundTruth: {id: label}``, or a bare
``{id: label}`` map), AcousticBrainz's dataset CSV export (``recording_id,class``, no header),
or a two-column CSV of file and label (header optional). Ids that are file names or paths
(``blu/blues.00000.wav``) are reduced to their stem, as documents are named."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import yaml

from .documents import strip_suffix
from abauto.errors import DataError

DEFAULT_CLASS_NAME = "class"  # the label column's name when the ground truth names none
HEADER_WORDS = {"id", "recording_id", "mbid", "file", "filename", "path", "track", "recording", "name"}


@dataclass
class GroundTruth:
    class_name: str
    labels: dict[str, str]  # id (stem) -> label
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def named(self) -> bool:
        """Whether the file names its classification (gaia's ``className``, a CSV's label header)
        rather than leaving the default ``class``."""
        return self.class_name != DEFAULT_CLASS_NAME


def _norm(key: object) -> str:
    text = str(key).strip()
    return strip_suffix(text) if ("/" in text or "." in text) else text


def _from_mapping(path: Path, mapping: dict, class_name: str) -> GroundTruth:
    labels: dict[str, str] = {}
    for key, label in mapping.items():
        if label is None or isinstance(label, (dict, list)):
            raise DataError(f"{path}: ground truth entry {key!r} has no single label ({label!r})")
        k = _norm(key)
        if k in labels and labels[k] != str(label):
            raise DataError(f"{path}: id {k!r} has two labels ({labels[k]!r} and {str(label)!r})")
        labels[k] = str(label).strip()
    if not labels:
        raise DataError(f"{path}: the ground truth is empty")
    return GroundTruth(class_name, labels, str(path))


def read_groundtruth(path: str | Path) -> GroundTruth:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such ground-truth file")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    if path.suffix.lower() in {".csv", ".tsv", ".txt"}:
        return _from_csv(path, text)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if isinstance(data, dict) and "groundTruth" in data:
        if not isinstance(data["groundTruth"], dict):
            raise DataError(f"{path}: 'groundTruth' must map ids to labels")
        name = str(data.get("className") or DEFAULT_CLASS_NAME)
        return _from_mapping(path, data["groundTruth"], name)
    if isinstance(data, dict):
        return _from_mapping(path, data, DEFAULT_CLASS_NAME)
    raise DataError(f"{path}: expected gaia ground truth (className, groundTruth: {{id: label}})")


def _from_csv(path: Path, text: str) -> GroundTruth:
    sep = "\t" if path.suffix.lower() == ".tsv" or ("\t" in text.splitlines()[0] if text else False) else ","
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    rows = [(reader.line_num, r) for r in reader if r and any(c.strip() for c in r)]  # (line in the file, row)
    if not rows:
        raise DataError(f"{path}: the ground truth is empty")
    class_name = DEFAULT_CLASS_NAME
    first = [c.strip() for c in rows[0][1]]
    if first[0].lower() in HEADER_WORDS:
        class_name = first[1] if len(first) > 1 and first[1] else DEFAULT_CLASS_NAME
        rows = rows[1:]
    mapping = {}
    for n, row in rows:
        if len(row) < 2 or not row[1].strip():
            raise DataError(f"{path}: line {n}: expected 'id,label'")
        mapping[row[0]] = row[1]
    return _from_mapping(path, mapping, DEFAULT_CLASS_NAME if class_name == "label" else class_name)
