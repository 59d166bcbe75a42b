"""``abauto extract``: Essentia's music extractor over your own audio, writing the same low-level
JSON documents AcousticBrainz published (extractor "music 2.0" with today's Essentia), one
``<stem>.json`` per audio file, so they go straight into ``abauto search DIR --groundtruth``.

Needs the optional extra ``abauto[audio]`` (Essentia from PyPI)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from abauto.errors import DataError

AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".oga", ".m4a", ".aac", ".aiff", ".aif", ".wma", ".opus"}


def audio_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DataError(f"{root}: no such audio file or folder")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise DataError(f"{root}: no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
    return files


def _essentia():
    try:
        import essentia
        import essentia.standard as es
    except ImportError:
        raise DataError("abauto extract needs Essentia: pip install 'abauto[audio]' (or pip install essentia)") from None
    essentia.log.infoActive = False
    essentia.log.warningActive = False
    return es


def extract_one(audio: Path, out_dir: Path, es=None) -> Path:
    """Run the extractor on one file and write ``out_dir/<stem>.json`` atomically."""
    from abauto.files import atomic_path

    es = es or _essentia()
    try:
        pool, _frames = es.MusicExtractor()(str(audio))
    except Exception as exc:  # Essentia raises RuntimeError for undecodable audio
        raise DataError(f"{audio}: Essentia could not analyse it ({str(exc).splitlines()[0][:160]})") from None
    pool.set("metadata.tags.file_name", audio.name)
    target = out_dir / f"{audio.stem}.json"
    with atomic_path(target) as tmp:
        es.YamlOutput(filename=str(tmp), format="json")(pool)
    return target


def extract_all(files: Iterable[Path], out_dir: Path, skip_existing: bool = True) -> list[Path]:
    es = _essentia()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for audio in files:
        target = out_dir / f"{audio.stem}.json"
        if skip_existing and target.exists() and os.path.getmtime(target) >= os.path.getmtime(audio):
            written.append(target)
            continue
        written.append(extract_one(audio, out_dir, es))
    return written
