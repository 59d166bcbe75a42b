"""Predictions in AcousticBrainz's high-level JSON, one file per recording::

    {"highlevel": {"<className>": {"value": "cla", "probability": 0.66, "all": {"cla": 0.66, ...}}},
     "metadata": {"audio_properties": {...}, "tags": {...},
                  "version": {"highlevel": {...}, "lowlevel": {...}}}}

``value`` is the most probable class and ``probability`` its probability (``all[value]``), as
AcousticBrainz served them; ``metadata`` copies the low-level document's ``audio_properties``,
``tags`` and ``version`` (as ``version.lowlevel``) as AcousticBrainz did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from abauto.files import write_json


def highlevel_document(class_name: str, classes: Sequence[str], proba: np.ndarray, metadata: dict | None,
                       versions: dict) -> dict:
    proba = np.asarray(proba, dtype=float)
    best = int(np.argmax(proba))
    all_ = {str(c): float(p) for c, p in zip(classes, proba)}
    meta = metadata or {}
    out_meta = {k: meta[k] for k in ("audio_properties", "tags") if k in meta}
    out_meta["version"] = {"highlevel": versions, "lowlevel": meta.get("version", {})}
    return {"highlevel": {class_name: {"all": all_, "value": str(classes[best]), "probability": float(proba[best])}},
            "metadata": out_meta}


def write_highlevel(out_dir: str | Path, ids: Sequence[str], class_name: str, classes: Sequence[str],
                    proba: np.ndarray, metadata: Sequence[dict], versions: dict) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, rid in enumerate(ids):
        doc = highlevel_document(class_name, classes, proba[i], metadata[i] if i < len(metadata) else None, versions)
        written.append(write_json(out_dir / f"{rid}.json", doc))
    return written


def check_highlevel(doc: dict) -> list[str]:
    """Problems with a high-level document (empty when it is in AcousticBrainz's format)."""
    problems = []
    if set(doc) != {"highlevel", "metadata"}:
        problems.append(f"top-level keys {sorted(doc)}")
    for name, entry in doc.get("highlevel", {}).items():
        if set(entry) != {"all", "value", "probability"}:
            problems.append(f"{name}: keys {sorted(entry)}")
            continue
        probs = entry["all"]
        if not probs or not all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in probs.values()):
            problems.append(f"{name}: 'all' must map classes to probabilities")
        elif abs(sum(probs.values()) - 1.0) > 1e-6:
            problems.append(f"{name}: probabilities sum to {sum(probs.values())}")
        elif entry["value"] not in probs or probs[entry["value"]] != max(probs.values()):
            problems.append(f"{name}: value {entry['value']!r} is not the most probable class")
        elif entry["probability"] != probs[entry["value"]]:
            problems.append(f"{name}: probability != all[value]")
    if "version" not in doc.get("metadata", {}):
        problems.append("metadata.version missing")
    return problems
