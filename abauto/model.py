"""The final model: saved with skops (a format that runs no code on load), its model card,
safe loading, and predictions.

Only skops files load, and only when every type they hold is trusted: scikit-learn, NumPy,
SciPy, abauto and the modules of installed abauto plugins. A pickle or joblib file, or a skops
file naming any other type, is refused before any of its code runs.
"""

from __future__ import annotations

import platform
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from abauto.data import Dataset
from abauto.errors import DataError, ModelError
from abauto.files import atomic_path, write_json
from abauto.runfolder import RunFolder

MODEL_FILE = RunFolder.MODEL
CARD_FILE = RunFolder.CARD
TRUSTED_ROOTS = {"sklearn", "numpy", "scipy", "builtins", "collections", "abauto", "abauto_plugins"}


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("abauto", "scikit-learn", "optuna", "numpy", "pandas", "skops", "pluggy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def model_card(dataset: Dataset, board: dict, pipeline) -> dict:
    return {
        "target": dataset.target,
        "features": [{"name": c, "kind": "categorical" if c in set(dataset.categorical) else "numeric"}
                     for c in dataset.X.columns],
        "classes": [str(c) for c in pipeline.classes_],
        "pipeline": board["final"]["pipeline"] if board.get("final") else [],
        "estimate": {"metric": board["protocol"]["metric"], "outer_mean": board["best"]["outer_mean"],
                     "outer_std": board["best"]["outer_std"], "protocol": board["protocol"]},
        "dataset": board["dataset"],
        "versions": versions(),
    }


def save_model(pipeline, run_dir: Path, dataset: Dataset, board: dict) -> Path:
    import skops.io as sio

    folder = RunFolder(run_dir)
    path = folder.model_skops
    with atomic_path(path) as tmp:
        sio.dump(pipeline, tmp)
    write_json(folder.card_json, model_card(dataset, board, pipeline))
    return path


def trusted_roots() -> set[str]:
    from abauto.registry import load_registry, loaded_modules

    return TRUSTED_ROOTS | loaded_modules(load_registry())


def load_model(path: str | Path):
    """Load a skops model after checking every type it holds; return (pipeline, card or None)."""
    import skops.io as sio

    path = Path(path)
    if path.is_dir():
        path = RunFolder(path).model_skops
    if not path.exists():
        raise ModelError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a skops model; pickle/joblib files are refused because loading them runs code")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise ModelError(f"{path}: unreadable skops file ({type(exc).__name__}: {exc})") from None
    roots = trusted_roots()
    refused = [t for t in untrusted if t.split(".")[0] not in roots]
    if refused:
        raise ModelError(f"{path}: refused: holds untrusted type {refused[0]!r}")
    try:
        pipeline = sio.load(path, trusted=untrusted)
    except Exception as exc:
        raise ModelError(f"{path}: cannot load ({type(exc).__name__}: {exc})") from None
    return pipeline, RunFolder(path.parent).read_card()  # the card beside the model file


def align(frame: pd.DataFrame, card: dict | None, source: str) -> pd.DataFrame | np.ndarray:
    """Pick and order the model's feature columns from ``frame``; refuse missing ones."""
    if card is None:
        return frame
    names = [f["name"] for f in card["features"]]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataError(f"{source}: column {missing[0]!r} that the model needs is missing "
                        f"({len(missing)} of {len(names)} model columns missing)")
    X = frame[names].copy()
    cats = [f["name"] for f in card["features"] if f["kind"] == "categorical"]
    for f in card["features"]:
        if f["kind"] == "numeric":
            values = pd.to_numeric(X[f["name"]], errors="coerce")
            bad = values.isna() & X[f["name"]].notna()
            if bad.any():
                raise DataError(f"{source}: column {f['name']!r}: non-numeric value {str(X[f['name']][bad].iloc[0])[:40]!r}")
            X[f["name"]] = values
        else:
            X[f["name"]] = X[f["name"]].where(X[f["name"]].notna(), None).astype(object)
    return X if cats else X.to_numpy(dtype=np.float64)


def predict_frame(pipeline, X) -> pd.DataFrame:
    """Predicted class and one probability column per class (one-hot if the model has none)."""
    classes = [str(c) for c in pipeline.classes_]
    try:
        proba = pipeline.predict_proba(X)
        pred = np.asarray(pipeline.classes_)[np.argmax(proba, axis=1)]
    except AttributeError:
        pred = pipeline.predict(X)
        proba = (np.asarray(pred)[:, None] == np.asarray(pipeline.classes_)[None, :]).astype(float)
    out = pd.DataFrame({"predicted": [str(p) for p in pred]})
    for i, c in enumerate(classes):
        out[f"p_{c}"] = proba[:, i]
    return out
