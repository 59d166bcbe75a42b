"""The run folder of one search: the names of its files, what defines the search it holds, and
the lock that keeps a second search out while one runs.

A run folder holds one search. ``run.json`` records what defines it (``identity``): a
fingerprint of the loaded data (features, labels, groups, target and column names; not the
file's path), the settings that change what a trial computes (:data:`IDENTITY_SETTINGS`) and
the abauto version. A search into a folder of another search is refused before any work; the
same search continues (finished trials count toward the budget). The budget (``trials`` may
grow, ``timeout``), ``n_jobs``, ``trial_timeout``, ``memory_limit`` and the output options may
change between runs: they decide how many trials run and where, not what a trial computes.

While a search runs it holds an exclusive ``flock`` on :attr:`RunFolder.LOCK` in the folder;
the operating system releases it when the process ends, however it ends (even by SIGKILL).

This module sits low: it imports no engine, leaderboard or report (they import it).
"""

from __future__ import annotations

import errno
import fcntl
import gc
import hashlib
import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from abauto.errors import StorageError
from abauto.files import write_json

# Settings that change what a trial computes; a search continues only with the same values.
IDENTITY_SETTINGS = ("outer", "inner_folds", "metric", "sampler", "grid", "seed", "plugins", "exclude", "fixed",
                     "prune", "study_name", "max_costly_rows", "inner_holdout_rows", "storage")


class RunFolder:
    """The files of one run folder (names only; nothing is read until asked)."""

    STUDY = "study.db"
    RUN = "run.json"
    LEADERBOARD = "leaderboard.json"
    LEADERBOARD_CSV = "leaderboard.csv"
    LEADERBOARD_MD = "leaderboard.md"
    REPORT_TXT = "report.txt"
    REPORT_HTML = "report.html"
    MODEL = "best_pipeline.skops"
    CARD = "model-card.json"
    LOCK = ".abauto.lock"
    # What a search writes (temporaries of these that a killed process left are removed on claim).
    WRITTEN = (RUN, LEADERBOARD, LEADERBOARD_CSV, LEADERBOARD_MD, REPORT_TXT, MODEL, CARD)

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.path)

    def file(self, name: str) -> Path:
        return self.path / name

    study_db = property(lambda self: self.file(self.STUDY))
    run_json = property(lambda self: self.file(self.RUN))
    leaderboard_json = property(lambda self: self.file(self.LEADERBOARD))
    leaderboard_csv = property(lambda self: self.file(self.LEADERBOARD_CSV))
    leaderboard_md = property(lambda self: self.file(self.LEADERBOARD_MD))
    report_txt = property(lambda self: self.file(self.REPORT_TXT))
    report_html = property(lambda self: self.file(self.REPORT_HTML))
    model_skops = property(lambda self: self.file(self.MODEL))
    card_json = property(lambda self: self.file(self.CARD))
    lock_file = property(lambda self: self.file(self.LOCK))

    @property
    def storage_url(self) -> str:
        """The folder's own Optuna storage: ``study.db`` (SQLite)."""
        return f"sqlite:///{self.study_db.resolve()}"

    # ------------------------------------------------------------------ reading

    def read_meta(self) -> dict:
        """``run.json``: the search's inputs, settings and identity."""
        try:
            meta = json.loads(self.run_json.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StorageError(f"{self.run_json}: no such file; is {self.path} an abauto run folder?") from None
        except (OSError, ValueError) as exc:
            raise StorageError(f"{self.run_json}: not a readable run description ({exc}); "
                               f"delete {self.path} to start afresh") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("inputs"), dict) \
                or not isinstance(meta.get("settings"), dict):
            raise StorageError(f"{self.run_json}: not a valid run description (no inputs or settings)")
        return meta

    def read_card(self) -> dict | None:
        return json.loads(self.card_json.read_text(encoding="utf-8")) if self.card_json.exists() else None

    def studies(self) -> list:
        """Optuna studies in ``study.db`` (outer folds in order, then final); [] if absent."""
        import optuna

        if not self.study_db.exists():
            return []
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = optuna.storages.RDBStorage(self.storage_url)
        names = optuna.study.get_all_study_names(storage=storage)

        def key(n):
            m = re.search(r"\.outer(\d+)$", n)
            return (0, int(m.group(1)), n) if m else (1, 0, n)
        return [optuna.load_study(study_name=n, storage=storage) for n in sorted(names, key=key)]

    # ------------------------------------------------------------------ claiming for a search

    def _own(self, name: str) -> bool:
        """Files a search leaves in a folder before ``run.json`` exists: the lock, and the
        temporaries of a process killed while writing."""
        return name == self.LOCK or any(name.startswith(f".{w}.") and name.endswith(".tmp") for w in self.WRITTEN)

    def _check_place(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise StorageError(f"{self.path}: is a file, not a run folder; give a folder with --out")
        if self.path.is_dir() and not self.run_json.exists():
            with guard(self.path):
                foreign = sorted(p.name for p in self.path.iterdir() if not self._own(p.name))
            if foreign:
                raise StorageError(f"{self.path}: not an abauto run folder (holds {foreign[0]!r}"
                                   f"{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''}, no {self.RUN}); "
                                   "give a new or empty folder with --out")

    @contextmanager
    def claim(self, identity: dict, trials: int) -> Iterator["RunFolder"]:
        """Hold the folder for one search: refuse a folder that is a file, holds other files,
        holds another search or is in use by a running search; create it if needed; remove the
        temporaries a killed search left. The lock is released on exit (or by the OS at death)."""
        self._check_place()
        created = not self.path.exists()
        with guard(self.path):
            self.path.mkdir(parents=True, exist_ok=True)
        busy = f"{self.path}: another abauto search (pid {{pid}}) is running in this folder; wait for it or use another --out"
        try:
            with file_lock(self.lock_file, busy):
                if self.run_json.exists():
                    check_same_search(str(self.path), self.read_meta(), identity, trials,
                                      f"use another --out or delete {self.path}")
                for p in self.path.iterdir():
                    if p.name != self.LOCK and self._own(p.name):
                        p.unlink(missing_ok=True)
                try:
                    yield self
                finally:
                    # The search's storages are garbage now: close their database connections
                    # while the lock is held, so SQLite folds study.db-wal back into study.db and
                    # removes it and study.db-shm (it keeps them only when the disk is full).
                    gc.collect()
        except BaseException:
            if not self.run_json.exists():  # refused before it began: leave no trace
                self.lock_file.unlink(missing_ok=True)
                if created and not any(self.path.iterdir()):
                    self.path.rmdir()
            raise

    def write_meta(self, meta: dict) -> None:
        write_json(self.run_json, meta)


# ---------------------------------------------------------------------- identity of a search

def data_fingerprint(dataset) -> dict:
    """SHA-256 of the loaded data (features, labels, groups, target and column names, which
    columns are categorical), plus its source, rows and columns for messages."""
    import pandas as pd

    h = hashlib.sha256()
    h.update(json.dumps({"target": str(dataset.target), "columns": [str(c) for c in dataset.X.columns],
                         "categorical": [str(c) for c in dataset.categorical]}).encode())
    h.update(pd.util.hash_pandas_object(dataset.X, index=False).to_numpy().tobytes())
    h.update(pd.util.hash_pandas_object(pd.Series(dataset.y, dtype=object), index=False).to_numpy().tobytes())
    if dataset.groups is not None:
        h.update(b"groups")
        h.update(pd.util.hash_pandas_object(pd.Series(dataset.groups, dtype=object), index=False).to_numpy().tobytes())
    return {"sha256": h.hexdigest(), "source": str(dataset.source), "rows": int(len(dataset.y)),
            "columns": int(dataset.X.shape[1])}


def search_identity(dataset, settings, storage: str | None) -> dict:
    """What defines a search: data fingerprint, :data:`IDENTITY_SETTINGS` (``storage``: the
    shared storage URL, None for the run folder's own) and the abauto version."""
    import abauto

    values = {k: getattr(settings, k) for k in IDENTITY_SETTINGS if k != "storage"}
    values["storage"] = storage
    return {"abauto_version": abauto.__version__, "data": data_fingerprint(dataset),
            "settings": json.loads(json.dumps(values, default=str))}


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(str(version).split(".")[:2])


def _show(key: str, value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ",".join(map(str, value)) or ("(all)" if key == "plugins" else "(none)")
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":")) if value else "(none)"
    if key == "storage":
        return show_url(value)
    return str(value)


def show_url(url: str | Path) -> str:
    """A storage URL without its password (for messages)."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", str(url))


def differences(old: dict, new: dict) -> list[str]:
    """What differs between two identities, one short phrase each (``seed 0 vs 1``)."""
    out = []
    a, b = old.get("data") or {}, new["data"]
    if a.get("sha256") != b["sha256"]:
        name_a, name_b = Path(a.get("source") or "?").name, Path(b["source"]).name
        if name_a == name_b:
            name_a += f" ({a.get('rows')} rows, {a.get('columns')} columns)"
            name_b += f" ({b['rows']} rows, {b['columns']} columns)" if (a.get("rows"), a.get("columns")) != (
                b["rows"], b["columns"]) else " (changed since)"
        out.append(f"data differs: {name_a} vs {name_b}")
    before = old.get("settings") or {}
    for key in IDENTITY_SETTINGS:
        if before.get(key) != new["settings"].get(key):
            out.append(f"{key} {_show(key, before.get(key))} vs {_show(key, new['settings'].get(key))}")
    return out


def check_same_search(where: str, meta: dict, identity: dict, trials: int, remedy: str) -> None:
    """Refuse (:class:`StorageError`, one line) unless ``meta`` (a ``run.json``) records the
    search ``identity`` describes with a budget of at most ``trials``."""
    old = meta.get("identity")
    if not isinstance(old, dict) or "data" not in old:
        raise StorageError(f"{where}: holds a search of an older abauto that did not record what defines it; {remedy}")
    if _major_minor(old.get("abauto_version")) != _major_minor(identity["abauto_version"]):
        raise StorageError(f"{where}: holds a search of abauto {old.get('abauto_version')}, this is abauto "
                           f"{identity['abauto_version']} (a search continues only within one major.minor version); "
                           f"{remedy}")
    diff = differences(old, identity)
    if diff:
        raise StorageError(f"{where}: holds another search ({'; '.join(diff)}); {remedy}")
    before = (meta.get("settings") or {}).get("trials")
    if isinstance(before, int) and trials < before:
        raise StorageError(f"{where}: holds a search of {before} trials per study, and a smaller --trials {trials} "
                           f"cannot undo finished trials; give --trials {before} or more, or {remedy}")


# ---------------------------------------------------------------------- locks and write errors

_HELD: set[int] = set()  # descriptors of the locks this process holds


def _forget_locks_in_child() -> None:
    """A forked child (a trial under --trial-timeout) closes its copies of the lock descriptors:
    the lock stays its parent's and ends with the parent, not with the last child."""
    for fd in _HELD:
        os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_locks_in_child)


@contextmanager
def file_lock(path: Path, busy: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed) for the life of the block; the
    OS releases it when the process dies. The holder's pid is written in the file; another
    process gets :class:`StorageError` ``busy.format(pid=...)`` at once. Child processes take no
    lock and keep no copy of it (exec'd ``--n-jobs`` workers do not inherit the descriptor, forked
    ones close it), so they never trip over it nor keep it after their parent died."""
    with guard(path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise StorageError(busy.format(pid=pid)) from None
        _HELD.add(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        _HELD.discard(fd)
        os.close(fd)


def _disk_full(path: Path) -> bool:
    """Whether the file system of ``path`` (or of its nearest existing parent) has less than
    1 MiB left: SQLite may report a full disk as a mere "disk I/O error" (when study.db-shm
    cannot grow)."""
    for p in (path, *path.parents):
        if p.exists():
            try:
                return shutil.disk_usage(p).free < 1 << 20
            except OSError:
                return False
    return False


def _what_to_do(error: str, number: int | None, full: bool = False) -> str:
    text = error.lower()
    no_space = "no space left on the device; free some space and run the same command again (finished trials are kept)"
    if number in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in text:
        return no_space
    if number in (errno.EACCES, errno.EPERM, errno.EROFS) or "readonly" in text or "read-only" in text:
        return f"cannot write there ({error}); make it writable or choose another --out"
    if "not a database" in text or "malformed" in text or "no such table" in text:
        return (f"not a readable Optuna database ({error}); move it away to start this search afresh "
                "(its trials are lost), or restore it from a copy")
    if number == errno.ENOTDIR:
        return f"a part of this path is a file ({error}); choose another --out"
    if number == errno.ENOENT:
        return f"cannot be created there ({error}); choose another --out"
    if full:  # an error that names no cause, on a file system that is (nearly) full
        return no_space
    return f"cannot be used ({error}); check the disk, the permissions and the storage"


@contextmanager
def guard(path: str | Path, database: str | Path | None = None) -> Iterator[None]:
    """Turn an error of the user's environment while writing a run folder (unwritable folder,
    full disk, corrupt ``study.db``) into one :class:`StorageError` naming the path and what to
    do. ``database``: the path or URL named for errors of the Optuna database."""
    try:
        yield
        return
    except OSError as exc:
        where = exc.filename if exc.filename else path
        error = StorageError(f"{where}: {_what_to_do(exc.strerror or str(exc), exc.errno, _disk_full(Path(path)))}")
    except Exception as exc:
        cause = _database_error(exc)
        if cause is None:
            raise
        message = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        where = show_url(database) if database else path
        error = StorageError(f"{where}: {_what_to_do(message, getattr(cause, 'errno', None), _disk_full(Path(path)))}")
    raise error


def _database_error(exc: BaseException) -> BaseException | None:
    """The database driver's error behind ``exc`` (SQLAlchemy wraps it, Optuna wraps that in
    its StorageInternalError) when it is about the database itself (unreadable, full, locked,
    unreachable), else None: an integrity error or a bug stays what it is."""
    import sqlite3

    import sqlalchemy.exc

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlalchemy.exc.OperationalError) or type(seen) is sqlalchemy.exc.DatabaseError:
            return seen.orig or seen
        if isinstance(seen, sqlite3.OperationalError) or type(seen) is sqlite3.DatabaseError:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
