"""Flattening low-level documents as gaia names things, fast.

The layout (every descriptor's path, kind and shape) is inferred once, from the first document
(or built from a model's column names, :func:`leaves_from_columns`); then a function generated
for that layout packs every value of a document straight into a preallocated float32 row with
one ``struct.pack_into(row, 0, d["a"], *d["v"], *chain(*d["m"]))`` call (the precomputed column
index is the argument order), and checks the vector and matrix lengths. No schema walk, no
per-document pandas. A per-descriptor walk runs only when that fails, to name the descriptor and
the file at fault.

Names: dotted paths (``lowlevel.mfcc.mean``); a vector's values are columns ``name.i`` and a
matrix's ``name.i.j`` (``lowlevel.mfcc.cov.3.7``). Dropped, as gaia's ``removevl`` does:
variable-length descriptors (``rhythm.beats_position`` and the other per-beat/per-onset lists,
lists of strings, empty lists). Strings outside ``metadata`` (``tonal.key_key``,
``tonal.key_scale``, ``tonal.chords_key``, ``tonal.chords_scale``; ``tonal.key_edma.key`` etc.
in extractor "music 2.0") are kept as categorical columns; strings under ``metadata`` are not.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Sequence

import numpy as np

from . import patterns
from abauto.errors import DataError

# Descriptors whose length follows the audio (beats, onsets, chord sequences): gaia's removevl.
VARIABLE_LENGTH = ("rhythm.beats_position", "rhythm.onset_times", "rhythm.bpm_intervals",
                   "tonal.chords_progression", "metadata.tags.*")
DEFAULT_EXCLUDE = ("metadata.*",)
ALWAYS_EXCLUDE = ("metadata.tags*",)  # gaia's excludedDescriptors when merging

SCALAR, VECTOR, MATRIX, STRING = "scalar", "vector", "matrix", "string"


@dataclass(frozen=True)
class Leaf:
    path: tuple[str, ...]
    kind: str
    shape: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def size(self) -> int:
        return math.prod(self.shape) if self.shape else 1

    def columns(self) -> list[str]:
        if self.kind == VECTOR:
            return [f"{self.name}.{i}" for i in range(self.shape[0])]
        if self.kind == MATRIX:
            return [f"{self.name}.{i}.{j}" for i in range(self.shape[0]) for j in range(self.shape[1])]
        return [self.name]


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and x is not None


def _leaf(path: tuple[str, ...], value: Any) -> Leaf | None:
    if isinstance(value, bool) or _is_number(value):
        return Leaf(path, SCALAR)
    if isinstance(value, str):
        return None if path[0] == "metadata" else Leaf(path, STRING)
    if isinstance(value, list):
        if not value:
            return None
        if all(_is_number(v) for v in value):
            return Leaf(path, VECTOR, (len(value),))
        if all(isinstance(r, list) and r and all(_is_number(v) for v in r) for r in value):
            widths = {len(r) for r in value}
            if len(widths) == 1:
                return Leaf(path, MATRIX, (len(value), widths.pop()))
    return None  # lists of strings, ragged or nested deeper: variable length for gaia


def _walk(node: dict, path: tuple[str, ...], out: list[Leaf]) -> None:
    for key, value in node.items():
        p = (*path, str(key))
        if isinstance(value, dict):
            _walk(value, p, out)
        else:
            leaf = _leaf(p, value)
            if leaf is not None:
                out.append(leaf)


@dataclass
class Layout:
    """Which descriptors a table holds, in document order, and how to pull them out."""

    numeric: list[Leaf]
    strings: list[Leaf]
    first: str = ""
    needed_by: dict[str, str] = field(default_factory=dict)  # descriptor -> who needs it, for messages
    columns: list[str] = field(init=False)
    categorical: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.columns = [c for leaf in self.numeric for c in leaf.columns()]
        self.categorical = [leaf.name for leaf in self.strings]
        self._extract_numeric = _compile(self.numeric, numeric=True, width=len(self.columns))
        self._extract_strings = _compile(self.strings, numeric=False)
        self._lengths = tuple(_expected_lengths(self.numeric))

    @property
    def width(self) -> int:
        return len(self.columns)

    @classmethod
    def infer(cls, doc: dict, name: str, select: Sequence[str] = ("*",),
              exclude: Sequence[str] | None = None) -> "Layout":
        check_document(doc, name)
        leaves: list[Leaf] = []
        _walk(doc, (), leaves)
        excluded = [*(DEFAULT_EXCLUDE if exclude is None else exclude), *ALWAYS_EXCLUDE, *VARIABLE_LENGTH]
        keep = set(patterns.select([lf.name for lf in leaves], list(select) or ["*"], excluded))
        kept = [lf for lf in leaves if lf.name in keep]
        numeric = [lf for lf in kept if lf.kind != STRING]
        strings = [lf for lf in kept if lf.kind == STRING]
        if not numeric and not strings:
            raise DataError(f"{name}: no descriptor left after --select {list(select)} / --exclude-descriptors {excluded[:-len(VARIABLE_LENGTH)]}")
        return cls(numeric, strings, name)

    def extract(self, doc: Any, name: str, row: np.ndarray) -> tuple:
        """Write the numeric values of ``doc`` into ``row``; return its string values."""
        try:
            if self._extract_numeric(doc, row) != self._lengths:  # row is float32, C-contiguous
                raise ValueError
            return self._extract_strings(doc)[0] if self.strings else ()
        except (KeyError, TypeError, ValueError, IndexError, OverflowError, struct.error):
            check_document(doc, name)
            return self._extract_slow(doc, name, row)

    def where(self, leaf: Leaf) -> str:
        """Where the expected form of ``leaf`` comes from, for messages."""
        return self.needed_by.get(leaf.name) or f"the first document ({self.first})"

    def _extract_slow(self, doc: dict, name: str, row: np.ndarray) -> tuple:
        """Descriptor by descriptor, to name what differs from the first document."""
        pos = 0
        for leaf in self.numeric:
            value = _lookup(doc, leaf.path)
            if value is _MISSING:
                if leaf.path[0] != "metadata":
                    raise DataError(f"{name}: descriptor {leaf.name!r} is missing ({self.where(leaf)} has it)")
                row[pos:pos + leaf.size] = np.nan
            else:
                row[pos:pos + leaf.size] = _values(leaf, value, name, self.where(leaf))
            pos += leaf.size
        out = []
        for leaf in self.strings:
            value = _lookup(doc, leaf.path)
            if value is _MISSING:
                raise DataError(f"{name}: descriptor {leaf.name!r} is missing ({self.where(leaf)} has it)")
            if not isinstance(value, str):
                raise DataError(f"{name}: descriptor {leaf.name!r} is {type(value).__name__}, a string in {self.where(leaf)}")
            out.append(value)
        return tuple(out)


_MISSING = object()


def leaves_from_columns(columns: Sequence[str]) -> list[Leaf]:
    """Descriptors (path, kind, shape) rebuilt from column names such as a model's features:
    ``a.b`` a scalar, ``a.b.3`` a vector, ``a.b.3.7`` a matrix (shape from the largest index);
    in order of first appearance."""
    indices: dict[str, list[tuple[int, ...]]] = {}
    for column in columns:
        desc = patterns.descriptor_of(column)
        suffix = column[len(desc) + 1:]
        indices.setdefault(desc, []).append(tuple(int(i) for i in suffix.split(".")) if suffix else ())
    leaves = []
    for desc, idx in indices.items():
        dims = {len(i) for i in idx}
        if len(dims) != 1 or max(dims) > 2:
            raise DataError(f"column names of descriptor {desc!r} mix {sorted(dims)} indices: not gaia's names")
        dim = dims.pop()
        path = tuple(desc.split("."))
        if dim == 0:
            leaves.append(Leaf(path, SCALAR))
        elif dim == 1:
            leaves.append(Leaf(path, VECTOR, (max(i[0] for i in idx) + 1,)))
        else:
            leaves.append(Leaf(path, MATRIX, (max(i[0] for i in idx) + 1, max(i[1] for i in idx) + 1)))
    return leaves


def check_document(doc: Any, name: str) -> None:
    if not isinstance(doc, dict):
        raise DataError(f"{name}: not a low-level document (a JSON {type(doc).__name__}, not an object)")
    if "lowlevel" not in doc:
        raise DataError(f"{name}: not a low-level document: no 'lowlevel' section (keys: {', '.join(list(doc)[:6])})")


def _lookup(doc: dict, path: tuple[str, ...]) -> Any:
    node: Any = doc
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _shape(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, bool) or _is_number(value):
        return ()
    if isinstance(value, list):
        if value and all(isinstance(r, list) for r in value):
            widths = {len(r) for r in value}
            return (len(value), widths.pop()) if len(widths) == 1 else (len(value), -1)
        return (len(value),)
    return None


def _values(leaf: Leaf, value: Any, name: str, where: str) -> np.ndarray:
    shape = _shape(value)
    if shape != leaf.shape:
        what = "a string" if isinstance(value, str) else f"shape {shape}" if shape is not None else type(value).__name__
        if shape is not None and len(shape) == 1 and len(leaf.shape) == 1:
            raise DataError(f"{name}: descriptor {leaf.name!r} has {shape[0]} values where {where} "
                            f"has {leaf.shape[0]}")
        raise DataError(f"{name}: descriptor {leaf.name!r} has {what} where {where} has "
                        f"{'a number' if not leaf.shape else f'shape {leaf.shape}'}")
    try:
        arr = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise DataError(f"{name}: descriptor {leaf.name!r} holds a non-numeric value") from None
    return arr


def _expected_lengths(leaves: Sequence[Leaf]) -> list[int]:
    out = []
    for leaf in leaves:
        if leaf.kind == VECTOR:
            out.append(leaf.shape[0])
        elif leaf.kind == MATRIX:
            out += [leaf.shape[0], leaf.shape[1]]
    return out


def _compile(leaves: Sequence[Leaf], numeric: bool, width: int = 0):
    """Generate, for these leaves (plain Python, no loops), ``f(doc, row) -> lengths`` that packs
    the numeric values into the float32 ``row``, or ``f(doc) -> (strings, lengths)``."""
    lines = ["def extract(doc, row=None):"]
    names: dict[tuple[str, ...], str] = {(): "doc"}

    def node(path: tuple[str, ...]) -> str:
        if path not in names:
            parent = node(path[:-1])
            var = f"n{len(names)}"
            lines.append(f"    {var} = {parent}[{path[-1]!r}]")
            names[path] = var
        return names[path]

    items, lengths = [], []
    for leaf in leaves:
        ref = f"{node(leaf.path[:-1])}[{leaf.path[-1]!r}]"
        if leaf.kind == VECTOR:
            var = f"v{len(items)}"
            lines.append(f"    {var} = {ref}")
            items.append(f"*{var}")
            lengths.append(f"len({var})")
        elif leaf.kind == MATRIX:
            var = f"v{len(items)}"
            lines.append(f"    {var} = {ref}")
            items.append(f"*_chain(*{var})")
            lengths += [f"len({var})", f"len({var}[0])"]
        else:
            items.append(ref)
    lens = f"({', '.join(lengths)}{',' if lengths else ''})"
    if numeric:
        lines.append(f"    _pack(row, 0, {', '.join(items)})" if items else "    pass")
        lines.append(f"    return {lens}")
    else:
        lines.append(f"    return ({', '.join(items)}{',' if items else ''}), {lens}")
    namespace: dict[str, Any] = {"_chain": chain, "_pack": struct.Struct(f"={width}f").pack_into}
    exec(compile("\n".join(lines), "<abauto_plugins.acousticbrainz layout>", "exec"), namespace)  # noqa: S102
    return namespace["extract"]
