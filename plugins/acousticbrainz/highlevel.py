"""Predictions in AcousticBrainz's high-level JSON, one document per recording, one entry per
model (AcousticBrainz's held ~18: genre_rosamerica, mood_happy, danceability, ...)::

    {"highlevel": {"<className>": {"value": "cla", "probability": 0.66, "all": {"cla": 0.66, ...}},
                   "<className 2>": {...}},
     "metadata": {"audio_properties": {...}, "tags": {...},
                  "version": {"highlevel": {"abauto": ..., "scikit-learn": ...,
                                            "models": {"<className>": {"run": ..., "sha256": ...}}},
                              "lowlevel": {...}}}}

``value`` is the most probable class and ``probability`` its probability (``all[value]``), as
AcousticBrainz served them; ``metadata`` copies the low-level document's ``audio_properties``,
``tags`` and ``version`` (as ``version.lowlevel``) as AcousticBrainz did.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np



def highlevel_entry(classes: Sequence[str], proba: np.ndarray) -> dict:
    """``{"all": {class: p}, "value": argmax class, "probability": all[value]}``."""
    proba = np.asarray(proba, dtype=float)
    best = int(np.argmax(proba))
    all_ = {str(c): float(p) for c, p in zip(classes, proba)}
    return {"all": all_, "value": str(classes[best]), "probability": all_[str(classes[best])]}


def highlevel_document(predictions: dict[str, tuple[Sequence[str], np.ndarray]], metadata: dict | None,
                       versions: dict) -> dict:
    """One recording's document: ``predictions`` maps each model's name (className) to its
    classes and probabilities; ``versions`` becomes ``metadata.version.highlevel``."""
    meta = metadata or {}
    out_meta = {k: meta[k] for k in ("audio_properties", "tags") if k in meta}
    out_meta["version"] = {"highlevel": versions, "lowlevel": meta.get("version", {})}
    return {"highlevel": {name: highlevel_entry(classes, proba) for name, (classes, proba) in predictions.items()},
            "metadata": out_meta}


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
