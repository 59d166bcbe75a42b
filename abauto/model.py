"""The final model: saved with skops, its model card, safe loading, and predictions.

Only skops files load (a zip holding ``schema.json``); a pickle or joblib file, renamed or not,
is refused because loading it runs code. Before skops constructs anything, :func:`load_model`
reads ``schema.json`` itself and checks every node of it, however deeply nested (pipeline steps,
ColumnTransformer branches, ensemble members, dict keys' types, nodes skops would skip), against
an allow-list of skops loaders and, per loader, of the types that loader may build:

- objects (``ObjectNode``): classes of abauto, ``abauto_plugins`` and the installed plugins'
  packages (each plugin's own module and the package of the estimators it builds, e.g.
  ``lightgbm``); from scikit-learn only estimators (``BaseEstimator`` subclasses) and the parts
  its fitted estimators hold (:data:`SKLEARN_PARTS`); none from NumPy or SciPy, whose values have
  loaders of their own (some SciPy classes run code from their state when unpickled);
- containers and values: exactly ``dict``, ``list``, ``tuple``, ``set``, ``str``, ``int``,
  ``float``, ``bool``, ``slice``, ``bytes``, ``bytearray``, ``collections.OrderedDict`` and
  ``defaultdict`` (:data:`SAFE_TYPES`), dicts and named tuples of the object classes above,
  NumPy arrays, scalar types, dtypes and random generators, SciPy sparse matrices,
  scikit-learn's ``Tree`` and loss objects;
- functions (``FunctionNode``): NumPy/SciPy ufuncs and :data:`SKLEARN_FUNCTIONS` only;
- types stored as values (``TypeNode``): the value types above and NumPy scalar types.

Every other loader is refused, in particular those that call what the file names with arguments
from the file (``ConstructorFromReduceNode``, ``PartialNode``, ``MethodNode``,
``OperatorFuncNode``). A module is imported for a check only when its top-level package is
trusted, so ``eval``, ``exec``, ``open``, ``getattr``, ``__import__``, ``os``, ``subprocess``,
``functools.partial`` or ``operator`` are never even looked up. Then skops loads the file
trusting exactly the types checked.

What this does not check is the contents of allowed types: crafted node indices in a
scikit-learn tree, for example, can still crash the process when it predicts (out-of-bounds reads;
see ``skops.io.exceptions.UNTRUSTED_TYPE_REASONS``). Load models from sources you trust.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import io
import json
import platform
import sys
import warnings
import zipfile
from collections import OrderedDict, defaultdict
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from abauto.data import Dataset
from abauto.errors import DataError, ModelError
from abauto.files import atomic_path, write_json
from abauto.runfolder import RunFolder

MODEL_FILE = RunFolder.MODEL
CARD_FILE = RunFolder.CARD
TRUSTED_ROOTS = {"sklearn", "numpy", "scipy", "abauto", "abauto_plugins"}
SAFE_TYPES: dict[str, type] = {
    **{f"builtins.{t.__name__}": t for t in (dict, list, tuple, set, str, int, float, bool, slice, bytes, bytearray)},
    "collections.OrderedDict": OrderedDict,
    "collections.defaultdict": defaultdict,
}
# scikit-learn classes that are not estimators but are held by fitted ones (k-NN trees and
# metrics, calibrators, hist-GB predictors, MLP optimizers, losses, GP kernels, Bunch).
SKLEARN_PARTS = (
    ("sklearn.metrics", "DistanceMetric"), ("sklearn.neighbors", "KDTree"), ("sklearn.neighbors", "BallTree"),
    ("sklearn.calibration", "_CalibratedClassifier"),
    ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor"),
    ("sklearn.neural_network._stochastic_optimizers", "BaseOptimizer"),
    ("sklearn._loss.link", "BaseLink"), ("sklearn._loss.link", "Interval"), ("sklearn._loss.loss", "BaseLoss"),
    ("sklearn.gaussian_process.kernels", "Kernel"), ("sklearn.utils", "Bunch"),
)
# Functions a pipeline may hold besides ufuncs: SelectKBest's / SelectPercentile's scores.
SKLEARN_FUNCTIONS = tuple(("sklearn.feature_selection", n) for n in ("f_classif", "chi2", "mutual_info_classif"))
# Module names never imported for a check, even inside a trusted package (they run code).
_NEVER_IMPORT = {"__main__", "tests", "conftest"}


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
        # A winning ensemble (abauto.ensemble) is saved as a soft VotingClassifier over these members
        **({"ensemble": {"voting": "soft", "members": board["final"]["members"]}}
           if board.get("final") and "members" in board["final"] else {}),
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


class _Refused(Exception):
    """A node of schema.json that must not be built: the type it names and why."""

    def __init__(self, name: str, why: str):
        super().__init__(f"{name}: {why}")
        self.name, self.why = name, why


def trusted_roots() -> set[str]:
    """Top-level packages whose classes a model may hold: :data:`TRUSTED_ROOTS`, each installed
    plugin's own package and the packages of the estimators it builds (never the standard library)."""
    from abauto.registry import load_registry, loaded_modules

    registry = load_registry()
    plugins = loaded_modules(registry) | _estimator_roots(registry)
    return TRUSTED_ROOTS | (plugins - set(sys.stdlib_module_names))


def _estimator_roots(registry) -> set[str]:
    """Top-level packages of what third-party plugins build (``lightgbm`` for a LightGBM plugin),
    found by building each plugin's estimator once with sampled parameters."""
    import optuna

    from abauto.plugin import Context, Kind

    members = {name: e.plugin for name, e in registry.entries.items()
               if e.plugin.kind == Kind.CLASSIFIER and not e.plugin.ensemble}
    ctx = Context(n_rows=100, n_features=10, n_classes=3, classifiers=members)
    roots = set()
    for entry in registry.entries.values():
        if entry.package == "abauto":
            continue  # built-ins build scikit-learn and abauto_plugins estimators
        try:
            trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
            estimator = entry.plugin.make(trial, ctx)
            params = estimator.get_params(deep=True) if hasattr(estimator, "get_params") else {}
        except Exception:  # a third-party plugin may raise anything; its types then stay untrusted
            continue
        roots |= {type(p).__module__.split(".")[0] for p in [estimator, *params.values()] if hasattr(p, "fit")}
    return roots


def _resolve(module: str, name: str, roots: set[str]):
    """The object ``module.name``, importing ``module`` only inside a trusted package."""
    full = f"{module}.{name}"
    if full in SAFE_TYPES:
        return SAFE_TYPES[full]
    parts = module.split(".")
    if parts[0] == "builtins":
        raise _Refused(full, "not a builtin type abauto allows")
    if parts[0] not in roots:
        raise _Refused(full, "not from a package abauto trusts")
    if not all(p.isidentifier() for p in [*parts, name]) or _NEVER_IMPORT & set(parts):
        raise _Refused(full, "not a name abauto looks up")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(importlib.import_module(module), name)
    except Exception as exc:  # ImportError, AttributeError, or whatever an import raises
        raise _Refused(full, f"cannot be found: {type(exc).__name__}") from None


@functools.cache
def _lookup_all(names: tuple[tuple[str, str], ...]) -> tuple:
    """The objects named, leaving out those this scikit-learn version does not have."""
    found = []
    for module, name in names:
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            pass
    return tuple(found)


def _is_object_class(obj, roots: set[str]) -> bool:
    """A class skops may create bare and fill from the file (``__new__``, then ``__setstate__``)."""
    if not inspect.isclass(obj):
        return False
    root = obj.__module__.split(".")[0]  # where it is defined, not where the file says it is
    if root not in roots or root in ("numpy", "scipy"):
        return False
    if root == "sklearn":
        from sklearn.base import BaseEstimator

        return issubclass(obj, (BaseEstimator, *_lookup_all(SKLEARN_PARTS)))
    return True


def _is_function(obj, roots: set[str]) -> bool:
    return isinstance(obj, np.ufunc) or any(obj is f for f in _lookup_all(SKLEARN_FUNCTIONS))


def _is_value_type(obj, roots: set[str]) -> bool:
    return any(obj is t for t in SAFE_TYPES.values()) or _is_numpy_scalar(obj)


def _is_numpy_scalar(obj) -> bool:
    return inspect.isclass(obj) and issubclass(obj, np.generic)


def _is_sparse(obj, roots: set[str]) -> bool:
    import scipy.sparse

    kinds = tuple(k for k in (scipy.sparse.spmatrix, getattr(scipy.sparse, "sparray", None)) if k is not None)
    return inspect.isclass(obj) and issubclass(obj, kinds)


def _is_tree(obj, roots: set[str]) -> bool:
    from sklearn.tree._tree import Tree

    return obj is Tree


# skops loader -> (what the node's type must be, the check). No other loader is allowed.
_LOADERS: dict[str, tuple[str, Callable[[object, set[str]], bool]]] = {
    "ObjectNode": ("a class of an estimator or of its parts", _is_object_class),
    "DictNode": ("a dict type",
                 lambda o, r: o is dict or o is OrderedDict or (_is_object_class(o, r) and issubclass(o, dict))),
    "DefaultDictNode": ("collections.defaultdict", lambda o, r: o is defaultdict),
    "ListNode": ("list", lambda o, r: o is list),
    "SetNode": ("set", lambda o, r: o is set),
    "TupleNode": ("a tuple type", lambda o, r: o is tuple or (_is_object_class(o, r) and issubclass(o, tuple))),
    "SliceNode": ("slice", lambda o, r: o is slice),
    "BytesNode": ("bytes", lambda o, r: o is bytes),
    "BytearrayNode": ("bytearray", lambda o, r: o is bytearray),
    "JsonNode": ("a JSON value type", lambda o, r: any(o is t for t in (str, int, float, bool))),
    "TypeNode": ("a value type", _is_value_type),
    "NdArrayNode": ("a NumPy array or scalar type", lambda o, r: o is np.ndarray or _is_numpy_scalar(o)),
    "MaskedArrayNode": ("a NumPy masked array",
                        lambda o, r: inspect.isclass(o) and issubclass(o, np.ma.MaskedArray)),
    "DTypeNode": ("numpy.dtype", lambda o, r: o is np.dtype),
    "RandomStateNode": ("numpy.random.RandomState", lambda o, r: o is np.random.RandomState),
    "RandomGeneratorNode": ("numpy.random.Generator", lambda o, r: o is np.random.Generator),
    "SparseMatrixNode": ("a SciPy sparse matrix", _is_sparse),
    "FunctionNode": ("a ufunc or a scikit-learn feature score", _is_function),
    "TreeNode": ("sklearn.tree._tree.Tree", _is_tree),
    "LossNode": ("a scikit-learn loss",
                 lambda o, r: inspect.isclass(o) and o.__module__ == "sklearn._loss._loss"),
}


def _bit_generator(node: dict) -> str:
    """The NumPy bit generator a RandomGeneratorNode will call, as skops finds it."""
    state = node.get("content", {}).get("bit_generator") if isinstance(node.get("content"), dict) else None
    try:
        if isinstance(state, dict) and "__loader__" in state:  # skops protocol >= 1: a dict node
            name = json.loads(state["content"]["bit_generator"]["content"])
        else:  # protocol 0: the plain state dict
            name = state["bit_generator"]
    except (KeyError, TypeError, ValueError):
        name = None
    found = getattr(np.random, name, None) if isinstance(name, str) and name.isidentifier() else None
    if not inspect.isclass(found) or not issubclass(found, np.random.BitGenerator) or found is np.random.BitGenerator:
        raise _Refused(f"numpy.random.{name}", "not a NumPy bit generator")
    return f"numpy.random.{name}"


def _check_node(node: dict, roots: set[str]) -> set[str]:
    """Check one node; return the ``module.name`` strings it may make skops build."""
    loader, module, name = node.get("__loader__"), node.get("__module__"), node.get("__class__")
    if not all(isinstance(v, str) for v in (loader, module, name)):
        raise ValueError("schema.json holds a node without a loader, module or class name")
    full = f"{module}.{name}"
    if loader not in _LOADERS:
        raise _Refused(full, f"skops {loader} is not allowed")
    what, allowed = _LOADERS[loader]
    if not allowed(_resolve(module, name, roots), roots):
        raise _Refused(full, f"a {loader} must be {what}")
    names = {full}
    if loader == "FunctionNode" and "content" in node:  # skops protocol 0 imports the function named here
        content = node["content"]
        if not (isinstance(content, dict) and isinstance(content.get("module_path"), str)
                and isinstance(content.get("function"), str)):
            raise ValueError("schema.json holds a malformed function node")
        inner = f"{content['module_path']}.{content['function']}"
        if not _is_function(_resolve(content["module_path"], content["function"], roots), roots):
            raise _Refused(inner, f"a {loader} must be {what}")
        names.add(inner)
    if loader == "RandomGeneratorNode":
        names.add(_bit_generator(node))
    return names


def check_schema(schema, roots: set[str]) -> set[str]:
    """Check every node of a parsed ``schema.json`` (all of them, in document order, including
    any that skops itself would skip); return the ``module.name`` of each, or raise."""
    if not (isinstance(schema, dict) and "__loader__" in schema):
        raise ValueError("schema.json holds no skops object")
    checked: set[str] = set()
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                checked |= _check_node(item, roots)
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return checked


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def load_model(path: str | Path):
    """Load a skops model after checking every node it holds; return (pipeline, card or None).

    Raises :class:`ModelError` naming the file (and the refused type) for a pickle or joblib
    file, a broken skops file, or one holding anything outside the allow-list in this module's
    docstring; nothing from the file is constructed before every node has passed.
    """
    import skops.io as sio

    path = Path(path)
    if path.is_dir():
        path = RunFolder(path).model_skops
    if not path.exists():
        raise ModelError(f"{path}: no such model file")
    data = path.read_bytes()  # one read: the bytes checked are the bytes loaded
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ModelError(f"{path}: not a skops model; pickle/joblib files are refused because loading them runs code")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            text = archive.read("schema.json") if "schema.json" in archive.namelist() else None
        if text is None:
            raise ModelError(f"{path}: not a skops model: the zip holds no schema.json")
        try:
            schema = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ModelError(f"{path}: unreadable skops file: schema.json is not valid JSON "
                             f"({_first_line(exc)})") from None
        checked = check_schema(schema, trusted_roots())
        untrusted = sio.get_untrusted_types(data=data)
    except ModelError:
        raise
    except _Refused as exc:
        raise ModelError(f"{path}: refused: holds untrusted type {exc.name!r} ({exc.why})") from None
    except Exception as exc:  # bad zip, bad JSON, malformed nodes, anything skops rejects
        raise ModelError(f"{path}: unreadable skops file ({_first_line(exc)})") from None
    unchecked = [t for t in untrusted if t not in checked]
    if unchecked:  # skops reads a type where this check saw none: refuse rather than guess
        raise ModelError(f"{path}: refused: holds untrusted type {unchecked[0]!r} (not where abauto checked)")
    try:
        pipeline = sio.loads(data, trusted=untrusted)
    except Exception as exc:
        raise ModelError(f"{path}: cannot load ({_first_line(exc)})") from None
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
