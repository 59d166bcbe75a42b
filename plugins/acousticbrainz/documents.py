"""Where low-level documents come from: a folder tree, a tar archive read as a stream, or the
bulk API response ``{recording_id: {"0": document}}``; and parsing them.

Every source yields :class:`Raw` items (a name for messages, an id from the file name, and the
bytes or the already-parsed document) in a stable order. Archives are never extracted, and
compressed members (``.json.bz2``/``.json.gz``) are decompressed in memory one at a time.
"""

from __future__ import annotations

import bz2
import gzip
import json
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


@dataclass
class Raw:
    """One document before parsing: ``name`` (file or member path) for messages, ``stem`` its id
    from the file name, and ``data`` (bytes) or ``doc`` (already parsed, bulk JSON)."""

    name: str
    stem: str
    data: bytes | None = None
    doc: Any = None


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


def folder_files(root: Path) -> list[Path]:
    files = [p for p in root.rglob("*") if p.is_file() and is_document_name(p.name) and not p.name.startswith(".")]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def iter_folder(root: Path, files: list[Path] | None = None, keep: Callable[[str], bool] | None = None) -> Iterator[Raw]:
    for path in files if files is not None else folder_files(root):
        stem = strip_suffix(path.name)
        if keep is not None and not keep(stem):
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: unreadable ({exc.strerror})") from None
        yield Raw(str(path), stem, decompress(path.name, data))


def _open_tar(path: Path):
    lower = path.name.lower()
    if lower.endswith((".zst", ".zstd")):
        try:
            import zstandard
        except ImportError:
            raise DataError(f"{path}: reading .tar.zst needs the 'zstandard' package (pip install zstandard)") from None
        raw = open(path, "rb")
        stream = zstandard.ZstdDecompressor().stream_reader(raw)
        return tarfile.open(fileobj=stream, mode="r|"), (stream, raw)
    return tarfile.open(path, mode="r|*"), ()


def iter_tar(path: Path, keep: Callable[[str], bool] | None = None) -> Iterator[Raw]:
    """Members of a tar archive in archive order, read as a stream (never extracted)."""
    try:
        archive, extra = _open_tar(path)
    except (tarfile.TarError, OSError) as exc:
        raise DataError(f"{path}: not a readable tar archive ({exc})") from None
    try:
        while True:
            try:
                member = archive.next()
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise DataError(f"{path}: corrupt tar archive ({exc})") from None
            if member is None:
                break
            if not member.isfile() or not is_document_name(member.name):
                continue
            base = member.name.rsplit("/", 1)[-1]
            if base.startswith("."):
                continue
            stem = strip_suffix(base)
            if keep is not None and not keep(stem):
                continue
            handle = archive.extractfile(member)
            data = handle.read() if handle is not None else b""
            name = f"{path}:{member.name}"
            yield Raw(name, stem, decompress(member.name, data))
    finally:
        archive.close()
        for obj in extra:
            obj.close()


def iter_json_file(path: Path) -> Iterator[Raw]:
    """A single document, or the bulk API form ``{recording_id: {"0": document, ...}}``
    (the lowest submission offset is used)."""
    data = decompress(path.name, path.read_bytes())
    obj = parse(str(path), data)
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a low-level document or a bulk {{recording_id: {{\"0\": document}}}} object")
    if "lowlevel" in obj:
        yield Raw(str(path), strip_suffix(path.name), doc=obj)
        return
    found = False
    for rid, entry in obj.items():
        if rid == "mbid_mapping" or not isinstance(entry, dict):
            continue
        if "lowlevel" in entry:
            doc = entry
        else:
            offsets = sorted((k for k in entry if str(k).isdigit()), key=int)
            if not offsets:
                raise DataError(f"{path}: entry {rid!r} is neither a document nor {{\"0\": document}}")
            doc = entry[offsets[0]]
        found = True
        yield Raw(f"{path}:{rid}", str(rid), doc=doc)
    if not found:
        raise DataError(f"{path}: no low-level documents inside")


def is_source(path: Path) -> bool:
    """Whether ``path`` is low-level JSON input (folder, tar, document or bulk JSON)."""
    path = Path(path)
    if path.is_dir():
        return True
    return path.is_file() and (is_tar_name(path.name) or is_document_name(path.name))


def count_hint(path: Path) -> tuple[list[Path] | None, int | None]:
    """Files of a folder (and their count) up front; archives are counted as they stream."""
    if path.is_dir():
        files = folder_files(path)
        return files, len(files)
    return None, None


def iter_source(path: Path, files: list[Path] | None = None, keep: Callable[[str], bool] | None = None) -> Iterator[Raw]:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        return iter_folder(path, files, keep)
    if is_tar_name(path.name):
        return iter_tar(path, keep)
    if is_document_name(path.name):
        return iter_json_file(path)
    raise DataError(f"{path}: not a low-level source (a folder of *.json, a .tar archive or a bulk .json)")
