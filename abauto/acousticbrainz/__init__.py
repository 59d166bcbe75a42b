"""AcousticBrainz / Essentia low-level documents as abauto tables.

- :mod:`.documents`: sources (folder tree, tar stream, bulk API JSON) and parsing;
- :mod:`.flatten`: layout inference and fast extraction, gaia's names;
- :mod:`.patterns`: gaia's descriptor-name patterns (``select``/``exclude``);
- :mod:`.groundtruth`: gaia YAML and CSV ground truth;
- :mod:`.loader`: documents + ground truth (+ a join CSV) -> one table;
- :mod:`.highlevel`: predictions in AcousticBrainz's high-level JSON.

Only light imports here: :mod:`abauto.data` registers :data:`FRAME_LOADER` at import time.
"""

from __future__ import annotations

from pathlib import Path


def is_source(path) -> bool:
    from abauto.acousticbrainz.documents import is_source as _is_source

    return _is_source(Path(path))


def load_frame(path, **options):
    from abauto.acousticbrainz.loader import load_frame as _load_frame

    return _load_frame(path, **options)


FRAME_LOADER = (is_source, load_frame)
