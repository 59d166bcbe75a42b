"""What plugins add besides pipeline steps: input loaders and prediction output formats.

Plugins register them through the ``register_loaders`` and ``register_predict_formats`` hooks
(:mod:`abauto.hookspecs`); :class:`abauto.registry.Registry` validates and records them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

NAME = re.compile(r"[a-z][a-z0-9_-]*")

NOT_FEATURES = "abauto_not_features"
"""Key of ``DataFrame.attrs`` where a loader lists columns that may serve as ``--target``,
``--groups`` or ``--id`` but are never features (e.g. columns joined from a side file). A parquet
table lists there the columns its ``abauto.roles`` metadata names (:func:`abauto.data.write_parquet`)."""

TASK = "abauto_task"
"""Key of ``DataFrame.attrs`` where a loader names the task its labels define (e.g. the
``className`` of a ground-truth file, ``"genre_rosamerica"``), when the label column's name may
not say it. abauto records it as ``dataset.task`` in leaderboard.json and model-card.json, where
prediction formats find it (:func:`task_of`)."""


def split_values(values: str | Iterable[Any] | None) -> list[str]:
    """The values of a comma-separated option, given once as a string or repeated as a list of
    strings: ``["a,b", " c", ""]`` -> ``["a", "b", "c"]`` (blanks dropped, each value stripped)."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else values
    return [v.strip() for item in items for v in str(item).split(",") if v.strip()]


def task_of(card: dict) -> str:
    """The task a model predicts, from its model card: the loader's recorded ``dataset.task``,
    else the name of the label column it was trained on."""
    return str((card.get("dataset") or {}).get("task") or card["target"])


@dataclass(frozen=True)
class Loader:
    """An input format that is not a plain CSV/TSV/parquet table.

    ``load_dataset`` (and so ``abauto search``/``profile``/``worker``) reads a path with the first
    registered loader whose ``claims(path)`` is true, else as a table.

    name: unique, ``[a-z][a-z0-9_-]*``; shown by ``abauto plugins``.
    claims: ``claims(path) -> bool``: is this input mine? Cheap (look at the name, not the
        content), never raises; the path may not exist.
    load: ``load(path, **options) -> pandas.DataFrame``: features, any extra columns and the
        label column (the default ``--target`` is ``class`` if present, else the last column).
        Raise :class:`abauto.errors.DataError` with a one-line message for bad input. List in
        ``frame.attrs[NOT_FEATURES]`` the columns that are never features unless the user names
        them with ``--target``, ``--groups`` or ``--id``.
    options: the keyword options ``load`` takes (``abauto search`` passes ``--groundtruth``,
        ``--select``, ``--exclude-descriptors``, ``--join`` as ``groundtruth``, ``select``,
        ``exclude_descriptors``, ``join``; values as given: paths as strings, repeatable
        options as lists of the raw values). Only options the user gave are passed; an option
        the loader does not list is refused before ``load`` runs.
    description: a noun phrase for the input it reads, used in messages and listings
        (``"low-level JSON"`` gives "options --groundtruth apply to low-level JSON input only").
    """

    name: str
    claims: Callable[[Path], bool]
    load: Callable[..., Any]
    options: tuple[str, ...] = ()
    description: str = ""

    def problem(self) -> str | None:
        """What is wrong with this description, or None."""
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name):
            return f"loader name {self.name!r} must match [a-z][a-z0-9_-]*"
        if not callable(self.claims) or not callable(self.load):
            return f"loader {self.name!r}: claims and load must be callables"
        if isinstance(self.options, str) or not all(isinstance(o, str) and o.isidentifier() for o in self.options):
            return f"loader {self.name!r}: options must be a tuple of keyword names, not {self.options!r}"
        return None


@dataclass(frozen=True)
class PredictFormat:
    """An output format of ``abauto predict MODEL... DATA --format NAME [-o OUTPUT] [--n-jobs N]``.

    name: unique, ``[a-z][a-z0-9_-]*``, not ``csv`` (abauto's own format).
    write: ``write(models, data, output, n_jobs)`` with ``models`` the list of ``MODEL`` paths
        (each a ``best_pipeline.skops`` or its run folder; one or more, in command-line order),
        the ``DATA`` path, the ``-o`` path (None when not given) and ``n_jobs`` (>= 1, the
        processes it may use). It reads the data, loads each model with
        :func:`abauto.model.load_model`, writes the predictions and prints one line saying what
        it wrote; bad input raises :class:`abauto.errors.AbautoError` (exit 2). A format that
        takes a single model refuses a longer list with a :class:`abauto.errors.SettingsError`.
    description: one line for ``abauto predict --help`` and ``abauto plugins``.
    """

    name: str
    write: Callable[[list[Path], Path, "Path | None", int], None]
    description: str = ""

    def problem(self) -> str | None:
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name) or self.name == "csv":
            return f"predict format name {self.name!r} must match [a-z][a-z0-9_-]* and not be 'csv'"
        if not callable(self.write):
            return f"predict format {self.name!r}: write must be a callable"
        return None
