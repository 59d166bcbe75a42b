"""Where low-level documents come from: a folder tree, a tar archive read as a stream, or the
bulk API response ``{recording_id: {"0": document}}``; and parsing them.

Every source yields :class:`Raw` items (a name for messages, an id from the file name, and the
bytes or the already-parsed document) in a stable order, one at a time: memory does not grow
with the number of documents (folders are walked one directory at a time, tar archives read as
a stream, bulk JSON files larger than ``BULK_STREAM_BYTES`` split into entries without being
parsed whole). Archives are never extracted; compressed documents (``.json.bz2``/``.json.gz``)
are decompressed in memory one at a time, when parsed (:meth:`Raw.document`), so a corrupt one
is an error of that document, not of the source.
"""

from __future__ import annotations

import bz2
import gzip
import json
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from abauto.errors import DataError

try:  # orjson is ~7x faster than the standard library on these ~80 KB documents
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover
    orjson = None
    _loads = json.loads

DOC_SUFFIXES = (".json", ".json.bz2", ".json.gz")
TAR_SUFFIXES = (".tar", ".tar.bz2", ".tbz2", ".tar.gz", ".tgz", ".tar.xz", ".tar.zst", ".tar.zstd")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SUBMISSION = re.compile(r"^(.*)-(\d+)$")
BULK_STREAM_BYTES = 64 << 20  # bulk JSON files larger than this are split into entries as they are read
TAR_BUFSIZE = 1 << 16


@dataclass
class Raw:
    """One document before parsing: ``name`` (file or member path) for messages, ``stem`` its id
    from the file name, and ``data`` (bytes, compressed if the name says so) or ``doc`` (already
    parsed, bulk JSON), or ``error`` (why it could not be read)."""

    name: str
    stem: str
    data: bytes | None = None
    doc: Any = None
    error: str | None = None

    def document(self) -> Any:
        """The parsed document; :class:`DataError` naming the document when it cannot be read."""
        if self.doc is not None:
            return self.doc
        if self.error is not None:
            raise DataError(f"{self.name}: {self.error}")
        data = self.data
        if self.name.endswith((".bz2", ".gz")):
            data = decompress(self.name, data)
        try:
            return _loads(data)
        except ValueError:
            return parse(self.name, data)


def strip_suffix(name: str) -> str:
    """``a/b/0dad...-0.json.bz2`` -> ``0dad...-0``."""
    base = name.rsplit("/", 1)[-1]
    for suffix in (".bz2", ".gz", ".zst"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    for suffix in (".json", ".yaml", ".sig", ".wav", ".mp3", ".ogg", ".flac"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def candidate_ids(stem: str) -> tuple[str, ...]:
    """Ids a file name may stand for: the stem, and for AcousticBrainz dump names
    (``<mbid>-<n>``, the n-th submission of a recording) the MBID."""
    m = SUBMISSION.match(stem)
    if m and UUID.match(m.group(1).lower()):
        return stem, m.group(1).lower()
    return (stem,)


def names_an_mbid(stem: str) -> bool:
    """The file name alone identifies the recording (no need to parse to find its MBID)."""
    return any(UUID.match(c.lower()) for c in candidate_ids(stem))


def is_document_name(name: str) -> bool:
    return name.lower().endswith(DOC_SUFFIXES)


def is_tar_name(name: str) -> bool:
    return name.lower().endswith(TAR_SUFFIXES)


def decompress(name: str, data: bytes) -> bytes:
    lower = name.lower()
    try:
        if lower.endswith(".bz2"):
            return bz2.decompress(data)
        if lower.endswith(".gz"):
            return gzip.decompress(data)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{name}: corrupt compressed file ({exc})") from None
    return data


def parse(name: str, data: bytes) -> Any:
    """Parse one JSON document; NaN/Infinity literals (some extractor versions write them) are
    accepted through the standard library when orjson refuses them."""
    try:
        return _loads(data)
    except ValueError:
        pass
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: not valid JSON ({str(exc).splitlines()[0][:120]})") from None


def folder_files(root: Path) -> Iterator[str]:
    """Document files under ``root`` (paths as strings), one directory at a time, in name order."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise DataError(f"{root}: unreadable folder ({exc.strerror})") from None
    subdirs = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            subdirs.append(entry.path)
        elif is_document_name(entry.name) and entry.is_file():
            yield entry.path
    for sub in subdirs:
        yield from folder_files(Path(sub))


def count_folder(root: Path) -> int:
    """How many documents :func:`folder_files` yields (a walk without reading)."""
    return sum(1 for _ in folder_files(root))


def iter_folder(root: Path, keep: Callable[[str], bool] | None = None) -> Iterator[Raw]:
    for path in folder_files(root):
        base = path.rsplit(os.sep, 1)[-1]
        stem = strip_suffix(base)
        if keep is not None and not keep(stem):
            continue
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            yield Raw(path, stem, error=f"unreadable ({exc.strerror})")
            continue
        yield Raw(path, stem, data)


class _Position:
    """Bytes read so far from an archive file, for progress bars."""

    def __init__(self, handle):
        self.handle = handle
        self.last = 0

    def __call__(self) -> int:
        try:
            self.last = self.handle.tell()
        except (OSError, ValueError):  # closed: the last position read
            pass
        return self.last


def _open_tar(path: Path):
    lower = path.name.lower()
    raw = open(path, "rb")
    try:
        if lower.endswith((".zst", ".zstd")):
            try:
                import zstandard
            except ImportError:
                raise DataError(f"{path}: reading .tar.zst needs the 'zstandard' package (pip install 'abauto[zstd]')") from None
            stream = zstandard.ZstdDecompressor().stream_reader(raw)
            return tarfile.open(fileobj=stream, mode="r|", bufsize=TAR_BUFSIZE), (stream, raw), raw, False
        # Seekable mode on a file (plain, or decompressed forward by gzip/bz2/lzma): member data is
        # read straight from the file object, ~2x faster than through tarfile's stream layer.
        return tarfile.open(fileobj=raw, mode="r:*"), (raw,), raw, True
    except BaseException:
        raw.close()
        raise


def iter_tar(path: Path, keep: Callable[[str], bool] | None = None,
             position: list | None = None) -> Iterator[Raw]:
    """Members of a tar archive in archive order, read as a stream (never extracted); the
    archive's member list is not kept, so memory stays flat however many members it has.
    ``position``, if given, receives a callable returning the bytes read so far."""
    try:
        archive, extra, raw, direct = _open_tar(path)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable tar archive ({str(exc).splitlines()[0].rstrip(':')})") from None
    where = _Position(raw)
    if position is not None:
        position.append(where)
    prefix = f"{path}:"
    try:
        while True:
            try:
                member = archive.next()
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise DataError(f"{path}: corrupt tar archive ({exc})") from None
            if member is None:
                break
            archive.members.clear()  # TarFile keeps every header it read: not here
            name = member.name
            if not member.isfile() or not is_document_name(name):
                continue
            base = name.rsplit("/", 1)[-1]
            if base.startswith("."):
                continue
            stem = strip_suffix(base)
            if keep is not None and not keep(stem):
                continue
            try:
                if direct and not member.issparse():
                    archive.fileobj.seek(member.offset_data)
                    data = archive.fileobj.read(member.size)
                else:
                    handle = archive.extractfile(member)
                    data = handle.read() if handle is not None else b""
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise DataError(f"{path}: corrupt tar archive at {name} ({exc})") from None
            yield Raw(prefix + name, stem, data)
    finally:
        where()
        archive.close()
        for obj in extra:
            obj.close()


def _bulk_entry(path: Path, rid: str, entry: Any) -> Raw:
    if isinstance(entry, dict) and "lowlevel" not in entry:
        offsets = sorted((k for k in entry if str(k).isdigit()), key=int)
        if not offsets:
            return Raw(f"{path}:{rid}", str(rid), error="neither a document nor {\"0\": document}")
        entry = entry[offsets[0]]
    return Raw(f"{path}:{rid}", str(rid), doc=entry)


def iter_json_file(path: Path, position: list | None = None) -> Iterator[Raw]:
    """A single document, or the bulk API form ``{recording_id: {"0": document, ...}}``
    (the lowest submission offset is used). Files over ``BULK_STREAM_BYTES`` (uncompressed)
    are split into entries as they are read, never parsed whole."""
    if not path.name.lower().endswith((".bz2", ".gz")) and path.stat().st_size > BULK_STREAM_BYTES:
        yield from _iter_bulk_stream(path, position)
        return
    data = decompress(path.name, path.read_bytes())
    obj = parse(str(path), data)
    del data
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a low-level document or a bulk {{recording_id: {{\"0\": document}}}} object")
    if "lowlevel" in obj:
        yield Raw(str(path), strip_suffix(path.name), doc=obj)
        return
    found = False
    for rid, entry in obj.items():
        if rid == "mbid_mapping" or not isinstance(entry, dict):
            continue
        found = True
        yield _bulk_entry(path, rid, entry)
    if not found:
        raise DataError(f"{path}: no low-level documents inside")


_STRUCTURE = re.compile(rb'[{}"\\]')


def _iter_bulk_stream(path: Path, position: list | None = None, chunk: int = 1 << 22) -> Iterator[Raw]:
    """Split ``{"id": {...}, ...}`` into its top-level entries while reading ``chunk`` bytes at
    a time: only the braces and quotes outside numbers are looked at (a regular expression finds
    them), and each entry is parsed on its own."""
    with open(path, "rb") as handle:
        where = _Position(handle)
        if position is not None:
            position.append(where)
        buf = b""
        base = 0               # file offset of buf[0]
        depth, in_string, skip = 0, False, -1
        key_start = key = value_start = None
        found = False
        pos = 0                # where to resume scanning in buf
        while True:
            more = handle.read(chunk)
            if not more:
                break
            buf += more
            for m in _STRUCTURE.finditer(buf, pos):
                i = m.start()
                if i < skip:
                    continue
                c = buf[i]
                if in_string:
                    if c == 0x5C:        # backslash: the next byte is escaped
                        skip = i + 2
                    elif c == 0x22:
                        in_string = False
                        if depth == 1 and key_start is not None and value_start is None:
                            key = json.loads(buf[key_start:i + 1])
                    continue
                if c == 0x22:
                    in_string = True
                    if depth == 1 and value_start is None:
                        key_start = i
                elif c == 0x7B:
                    depth += 1
                    if depth == 2:
                        value_start = i
                elif c == 0x7D:
                    depth -= 1
                    if depth == 1 and value_start is not None:
                        text = buf[value_start:i + 1]
                        rid, value_start, key_start = key, None, None
                        if rid == "mbid_mapping":
                            continue
                        try:
                            entry = _loads(text)
                        except ValueError:
                            try:
                                entry = json.loads(text)
                            except ValueError as exc:
                                found = True
                                yield Raw(f"{path}:{rid}", str(rid), error=f"not valid JSON ({str(exc)[:120]})")
                                continue
                        found = True
                        yield _bulk_entry(path, rid, entry)
                    elif depth < 0:
                        raise DataError(f"{path}: not valid JSON (unbalanced braces at byte {base + i})")
            # keep only what an unfinished entry (or key) still needs
            keep_from = value_start if value_start is not None else key_start if key_start is not None else len(buf)
            keep_from = min(keep_from, len(buf))
            pos = len(buf) - keep_from
            skip = skip - keep_from if skip >= keep_from else -1
            if value_start is not None:
                value_start -= keep_from
            if key_start is not None:
                key_start -= keep_from
            base += keep_from
            buf = buf[keep_from:]
        where()
        if depth != 0 or in_string:
            raise DataError(f"{path}: not valid JSON (the file ends inside an entry)")
        if not found:
            raise DataError(f"{path}: no low-level documents inside")


def is_source(path: Path) -> bool:
    """Whether ``path`` is low-level JSON input (folder, tar, document or bulk JSON)."""
    path = Path(path)
    if path.is_dir():
        return True
    return path.is_file() and (is_tar_name(path.name) or is_document_name(path.name))


@dataclass
class Source:
    """An opened low-level source: its documents one at a time, and how far along it is.

    ``total`` and ``done()`` count documents for a folder (counted up front) and bytes of the
    file for archives and bulk JSON; ``unit`` says which (``total`` is None when unknown)."""

    path: Path
    items: Iterator[Raw]
    total: int | None
    unit: str
    _position: list

    def done(self) -> int | None:
        return self._position[0]() if self._position else None


def open_source(path: str | Path, keep: Callable[[str], bool] | None = None, count: bool = True) -> Source:
    """The documents of a folder, tar archive or (bulk) JSON file, streamed."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    position: list = []
    if path.is_dir():
        return Source(path, iter_folder(path, keep), count_folder(path) if count else None, "documents", position)
    if is_tar_name(path.name):
        return Source(path, iter_tar(path, keep, position), path.stat().st_size, "bytes", position)
    if is_document_name(path.name):
        return Source(path, iter_json_file(path, position), path.stat().st_size, "bytes", position)
    raise DataError(f"{path}: not a low-level source (a folder of *.json, a .tar archive or a bulk .json)")
