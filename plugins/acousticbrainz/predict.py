"""``abauto predict RUN_DIR... DATA --format acousticbrainz -o OUTPUT``: several models, one
high-level document per recording, over any number of low-level documents.

Documents stream from the source (:func:`.documents.open_source`) in batches of ``BATCH``; each
batch is parsed, flattened straight into a preallocated float32 matrix along the descriptors the
models need (their model cards name them), predicted by every model and written out, so memory
does not grow with the number of documents. ``n_jobs > 1`` hands whole batches (raw bytes) to a
process pool, at most ``2 * n_jobs`` in flight, and writes the results in source order.

A document some model cannot read (corrupt JSON, a missing descriptor, another extractor's
schema) is listed in ``<OUTPUT>.errors.tsv`` (document, reason) and skipped; the run goes on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import orjson
import pandas as pd

from . import documents as docs
from .flatten import STRING, Layout, check_document, leaves_from_columns
from .highlevel import highlevel_document
from abauto.errors import DataError, SettingsError
from abauto.extensions import task_of

BATCH = 1000
LOG_EVERY = 30.0  # seconds between progress lines when stderr is not a terminal
JSONL_SUFFIXES = (".jsonl", ".ndjson")
ERRORS_SUFFIX = ".errors.tsv"
_UNSAFE = re.compile(r"[/\\\x00]|^\.+$")  # ids that cannot be file names as they are


@dataclass
class HighlevelModel:
    """One model of a high-level document: its ``name`` (the task / ground truth's className),
    the fitted pipeline and the columns it takes, in order (``kinds``: numeric or categorical)."""

    name: str
    path: Path
    pipeline: Any
    columns: list[str]
    categorical: list[str]
    info: dict


def _model_file(path: Path) -> Path:
    from abauto.model import MODEL_FILE

    return path / MODEL_FILE if path.is_dir() else path


def load_models(paths: Sequence[Path]) -> list[HighlevelModel]:
    """Load each model with :func:`abauto.model.load_model`; refuse two models of one task."""
    from abauto.model import load_model

    models: list[HighlevelModel] = []
    seen: dict[str, Path] = {}
    for given in paths:
        given = Path(given)
        pipeline, card = load_model(given)
        if card is None:
            raise DataError(f"{given}: the model card (model-card.json) is needed to read low-level documents")
        name = task_of(card)
        if name in seen:
            raise SettingsError(f"{given}: predicts {name!r} as {seen[name]} does; give one model per task")
        seen[name] = given
        file = _model_file(given)
        run_dir = file.parent
        info = {"run": run_dir.name, "model": str(file),
                "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
                "classes": card.get("classes", []),
                "trained_with": {k: v for k, v in (card.get("versions") or {}).items() if k in ("abauto", "scikit-learn")}}
        estimate = card.get("estimate") or {}
        if estimate:
            info["estimate"] = {"metric": estimate.get("metric"), "outer_mean": estimate.get("outer_mean"),
                                "outer_std": estimate.get("outer_std")}
        try:
            info["created"] = json.loads((run_dir / "leaderboard.json").read_text()).get("created")
        except (OSError, ValueError, AttributeError):
            pass
        features = card["features"]
        models.append(HighlevelModel(name, given, pipeline, [f["name"] for f in features],
                                     [f["name"] for f in features if f["kind"] == "categorical"], info))
    return models


def model_layout(models: Sequence[HighlevelModel]) -> Layout:
    """One layout holding every descriptor some model needs (built from the model cards, not
    from a document, so the first document has no say in what is expected)."""
    numeric: list[str] = []
    strings: list[str] = []
    needed_by: dict[str, list[str]] = {}
    for m in models:
        cats = set(m.categorical)
        for c in m.columns:
            (strings if c in cats else numeric).append(c)
    numeric = list(dict.fromkeys(numeric))
    strings = list(dict.fromkeys(strings))
    leaves = leaves_from_columns(numeric)
    string_leaves = [leaf.__class__(leaf.path, STRING) for leaf in leaves_from_columns(strings)]
    for m in models:
        for leaf in leaves_from_columns(m.columns):
            needed_by.setdefault(leaf.name, []).append(m.name)
    owners = {d: f"model {', '.join(repr(n) for n in names)}" for d, names in needed_by.items()}
    return Layout(leaves, string_leaves, "", owners)


class Predictor:
    """Batches of :class:`.documents.Raw` -> high-level documents (JSON bytes) and errors."""

    def __init__(self, models: Sequence[HighlevelModel], batch: int = BATCH):
        from abauto import __version__
        from abauto.model import versions

        self.models = list(models)
        self.layout = model_layout(self.models)
        position = {c: i for i, c in enumerate(self.layout.columns)}
        string_position = {c: i for i, c in enumerate(self.layout.categorical)}
        self.plans = []
        for m in self.models:
            cats = set(m.categorical)
            numeric = [c for c in m.columns if c not in cats]
            self.plans.append((np.array([position[c] for c in numeric], dtype=np.intp), numeric,
                               [(c, string_position[c]) for c in m.categorical]))
        self.matrix = np.empty((batch, self.layout.width), dtype=np.float32)
        self.versions = {"abauto": __version__, "scikit-learn": versions().get("scikit-learn", ""),
                         "models": {m.name: m.info for m in self.models}}

    def _features(self, plan, M: np.ndarray, strings: list[tuple], m: HighlevelModel):
        idx, numeric, cats = plan
        X = M[:, idx].astype(np.float64)
        if not cats:
            return X
        frame = pd.DataFrame(X, columns=numeric)
        for name, pos in cats:
            frame[name] = pd.Series([s[pos] for s in strings], dtype=object)
        return frame[m.columns]

    def predict(self, raws: Sequence[docs.Raw]) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
        """``([(id, high-level JSON), ...], [(document, reason), ...])`` for one batch."""
        if len(raws) > len(self.matrix):
            self.matrix = np.empty((len(raws), self.layout.width), dtype=np.float32)
        M = self.matrix
        extract = self.layout.extract
        ok: list[tuple[str, dict]] = []
        strings: list[tuple] = []
        errors: list[tuple[str, str]] = []
        names: list[str] = []
        for raw in raws:
            doc = None
            try:
                doc = raw.document()
                check_document(doc, raw.name)
                strings.append(extract(doc, raw.name, M[len(ok)]))
            except DataError as exc:
                errors.append((raw.name, _reason(raw.name, exc, doc)))
                continue
            meta = doc.get("metadata")
            ok.append((raw.stem, meta if isinstance(meta, dict) else {}))
            names.append(raw.name)
        if not ok:
            return [], errors
        rows = M[:len(ok)]
        entries: list[dict] = [{} for _ in ok]
        bad: dict[int, str] = {}
        for m, plan in zip(self.models, self.plans):
            try:
                classes, proba = self._proba(m, plan, rows, strings)
            except (ValueError, TypeError):  # some row the model refuses (NaN, ...): find which
                classes, proba = None, np.full((len(ok), len(m.info.get("classes") or [1])), np.nan)
                for i in range(len(ok)):
                    if i in bad:
                        continue
                    try:
                        classes, proba[i:i + 1] = self._proba(m, plan, rows[i:i + 1], strings[i:i + 1])
                    except (ValueError, TypeError) as exc:
                        bad[i] = f"model {m.name!r} refused it: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            for i, entry in enumerate(entries):
                if i not in bad:
                    entry[m.name] = (classes, proba[i])
        out = []
        for i, (rid, meta) in enumerate(ok):
            if i in bad:
                errors.append((names[i], bad[i]))
            else:
                out.append((rid, orjson.dumps(highlevel_document(entries[i], meta, self.versions))))
        return out, errors

    def _proba(self, m: HighlevelModel, plan, rows: np.ndarray, strings: list[tuple]):
        from abauto.model import predict_frame

        result = predict_frame(m.pipeline, self._features(plan, rows, strings, m))
        pcols = [c for c in result.columns if c.startswith("p_")]
        return [c[2:] for c in pcols], result[pcols].to_numpy(dtype=np.float64)


def _reason(name: str, exc: Exception, doc: Any) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if text.startswith(name + ": "):
        text = text[len(name) + 2:]
    try:
        extractor = doc["metadata"]["version"]["extractor"]
        if "descriptor" in text:
            text += f" (document from extractor {extractor!r})"
    except (KeyError, TypeError):
        pass
    return text


# -- process pool: each worker loads the models once ------------------------------------------
_WORKER: Predictor | None = None


def _init_worker(paths: list[str], batch: int) -> None:
    global _WORKER
    _WORKER = Predictor(load_models([Path(p) for p in paths]), batch)


def _predict_in_worker(raws: list[docs.Raw]):
    return _WORKER.predict(raws)


# -- outputs ------------------------------------------------------------------------------------
def output_kind(output: Path) -> str:
    name = output.name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if docs.is_tar_name(name):
        return "tar"
    return "folder"


def errors_path(output: Path) -> Path:
    return output.with_name(output.name + ERRORS_SUFFIX)


class _Writer:
    """Writes high-level documents to a folder, a tar archive or a JSON-lines file; an archive or
    JSON-lines file appears (renamed from ``*.part``) only when complete."""

    def __init__(self, output: Path):
        self.output = output
        self.kind = output_kind(output)
        self.count = 0
        self.tmp = output.with_name(output.name + ".part")
        self.handles: list = []
        output.parent.mkdir(parents=True, exist_ok=True)
        if self.kind == "folder":
            if output.exists() and not output.is_dir():
                raise SettingsError(f"-o {output}: exists and is not a folder; give a folder, a .tar or a .jsonl file")
            output.mkdir(exist_ok=True)
        elif self.kind == "jsonl":
            self.handles = [open(self.tmp, "wb")]
        else:
            self.tar = self._open_tar()
            self.now = time.time()

    def _open_tar(self) -> tarfile.TarFile:
        name = self.output.name.lower()
        if name.endswith((".zst", ".zstd")):
            try:
                import zstandard
            except ImportError:
                raise SettingsError(f"-o {self.output}: writing .tar.zst needs the 'zstandard' package "
                                    f"(pip install 'abauto[zstd]')") from None
            raw = open(self.tmp, "wb")
            stream = zstandard.ZstdCompressor().stream_writer(raw)
            self.handles = [stream, raw]
            return tarfile.open(fileobj=stream, mode="w|")
        mode = {".gz": "w:gz", ".tgz": "w:gz", ".bz2": "w:bz2", ".tbz2": "w:bz2", ".xz": "w:xz"}
        return tarfile.open(self.tmp, next((m for s, m in mode.items() if name.endswith(s)), "w"))

    def write(self, rid: str, data: bytes) -> None:
        if self.kind != "jsonl":
            rid = _UNSAFE.sub("_", rid) or "_"
        if self.kind == "folder":
            target = self.output / f"{rid}.json"
            part = self.output / f".{rid}.json.part"
            with open(part, "wb") as handle:
                handle.write(data)
            os.replace(part, target)
        elif self.kind == "jsonl":
            self.handles[0].write(b'{"id":' + orjson.dumps(rid) + b"," + data[1:] + b"\n")
        else:
            info = tarfile.TarInfo(f"highlevel/{rid}.json")
            info.size, info.mtime, info.mode = len(data), self.now, 0o644
            self.tar.addfile(info, io.BytesIO(data))
        self.count += 1

    def _close(self) -> None:
        if self.kind == "tar":
            self.tar.close()
        for handle in self.handles:
            handle.close()

    def finish(self) -> None:
        self._close()
        if self.kind != "folder":
            os.replace(self.tmp, self.output)

    def abort(self) -> None:
        try:
            self._close()
        finally:
            if self.kind != "folder":
                self.tmp.unlink(missing_ok=True)


def write_errors(path: Path, errors: list[tuple[str, str]]) -> None:
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, delimiter="\t", lineterminator="\n")
        out.writerow(["document", "reason"])
        for name, reason in errors:
            out.writerow([name, " ".join(reason.split())])
    os.replace(tmp, path)


# -- progress -----------------------------------------------------------------------------------
@dataclass
class _Progress:
    """A rich bar on a terminal (stderr); a line every ``LOG_EVERY`` seconds otherwise."""

    source: docs.Source
    enabled: bool = True
    docs_done: int = 0
    started: float = field(default_factory=time.perf_counter)
    last_line: float = field(default_factory=time.perf_counter)
    bar: Any = None

    def __post_init__(self) -> None:
        if self.enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("[bold]predict"), BarColumn(), TextColumn("{task.fields[docs]} documents"),
                                TextColumn("{task.fields[rate]} docs/s"), TimeRemainingColumn(),
                                console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task("", total=self.source.total, docs=0, rate="-")
            self.bar.start()

    def _done(self) -> int | None:
        return self.docs_done if self.source.unit == "documents" else self.source.done()

    def advance(self, n: int) -> None:
        self.docs_done += n
        now = time.perf_counter()
        rate = self.docs_done / max(now - self.started, 1e-9)
        if self.bar is not None:
            self.bar.update(self.task, completed=self._done(), docs=self.docs_done, rate=f"{rate:.0f}")
        elif self.enabled and now - self.last_line >= LOG_EVERY:
            self.last_line = now
            line = f"abauto predict: {self.docs_done} documents, {rate:.0f}/s"
            done, total = self._done(), self.source.total
            if total and done:
                left = (now - self.started) * (total - done) / done
                line += f", {100 * done / total:.0f} % (about {left:.0f} s left)"
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _batches(source: docs.Source, size: int, archive_errors: list):
    batch = []
    try:
        for raw in source.items:
            batch.append(raw)
            if len(batch) >= size:
                yield batch
                batch = []
    except DataError as exc:  # the archive itself broke: keep what was read, say where it stopped
        archive_errors.append((str(source.path), f"{str(exc).splitlines()[0]}; documents after this point were not read"))
    if batch:
        yield batch


def predict_stream(model_paths: Sequence[Path], data: Path, output: Path | None, n_jobs: int = 1,
                   batch: int = BATCH, progress: bool = True) -> dict:
    """Predict every document of ``data`` with every model; return counts and paths.

    Raises :class:`DataError`/:class:`SettingsError` for bad models, sources or outputs before
    anything is written."""
    if output is None:
        raise SettingsError("--format acousticbrainz writes high-level documents: give -o FOLDER, -o FILE.tar "
                            "or -o FILE.jsonl")
    output = Path(output)
    models = load_models(model_paths)
    predictor = Predictor(models, batch)
    source = docs.open_source(data)
    t0 = time.perf_counter()
    writer = _Writer(output)
    errors: list[tuple[str, str]] = []
    archive_errors: list[tuple[str, str]] = []
    bar = _Progress(source, progress)
    seen = 0

    def take(result, n: int) -> None:
        nonlocal seen
        written, failed = result
        for rid, data_ in written:
            writer.write(rid, data_)
        errors.extend(failed)
        seen += n
        bar.advance(n)

    try:
        if n_jobs <= 1:
            for raws in _batches(source, batch, archive_errors):
                take(predictor.predict(raws), len(raws))
        else:
            from concurrent.futures import ProcessPoolExecutor

            paths = [str(p) for p in model_paths]
            with ProcessPoolExecutor(max_workers=n_jobs, initializer=_init_worker, initargs=(paths, batch)) as pool:
                pending: deque = deque()
                for raws in _batches(source, batch, archive_errors):
                    pending.append((pool.submit(_predict_in_worker, raws), len(raws)))
                    while len(pending) >= 2 * n_jobs:
                        future, n = pending.popleft()
                        take(future.result(), n)
                while pending:
                    future, n = pending.popleft()
                    take(future.result(), n)
    except BaseException:
        bar.close()
        writer.abort()
        raise
    bar.close()
    errors.extend(archive_errors)
    err_path = errors_path(output)
    if errors:
        write_errors(err_path, errors)
    else:
        err_path.unlink(missing_ok=True)  # a stale list from an earlier run would mislead
    if seen == 0 and not errors:
        writer.abort()
        raise DataError(f"{data}: no low-level documents found")
    if writer.count == 0:
        writer.abort()
    else:
        writer.finish()
    seconds = time.perf_counter() - t0
    return {"written": writer.count, "failed": len(errors), "documents": seen, "seconds": seconds,
            "output": output, "errors": err_path if errors else None, "models": [m.name for m in models],
            "kind": writer.kind}
