"""Hostile model files for ``abauto predict``, built from a real saved pipeline.

Each case copies a real skops file (a small fitted pipeline with a ColumnTransformer and a soft
VotingClassifier) and edits its ``schema.json`` to hide one attack, or replaces the file with a
pickle, a joblib dump or a broken zip. An attack, if it ran, would create ``marker`` or truncate
``victim``; a safe loader refuses every file before constructing anything, with an error naming
the file and the refused type (``Case.names``).

Used by tests/test_model_safety.py and benchmarks/hostile_models.py.
"""

from __future__ import annotations

import json
import pickle
import shlex
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd


@dataclass(frozen=True)
class Target:
    """What an attack would touch: a file it would create and one it would truncate."""

    marker: Path
    victim: Path

    @property
    def command(self) -> str:
        return f"touch {shlex.quote(str(self.marker))}"


@dataclass(frozen=True)
class Case:
    id: str
    names: str  # what the one-line error must name besides the file
    build: Callable[[Path, Path, Target], None]  # build(real_model, crafted_file, target)
    parses: bool = True  # skops itself parses the file and lists ``names`` among its untrusted types


def base_pipeline(X: pd.DataFrame, y):
    """A small real pipeline: nested steps in a ColumnTransformer and a soft-voting ensemble."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import VotingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import StandardScaler

    columns = ColumnTransformer([("numeric", make_pipeline(StandardScaler()), list(X.columns))])
    vote = VotingClassifier([("logreg", LogisticRegression(max_iter=1000)), ("nb", GaussianNB())], voting="soft")
    return Pipeline([("columns", columns), ("classifier", vote)]).fit(X, y)


# ---- schema.json nodes, spelled the way skops writes them --------------------------------------

def node(loader: str, module: str, name: str, **fields) -> dict:
    return {"__class__": name, "__module__": module, "__loader__": loader, **fields}


def value(v) -> dict:
    return node("JsonNode", "builtins", "str", content=json.dumps(v), is_json=True)


def as_node(v) -> dict:
    return v if isinstance(v, dict) else value(v)


def tuple_of(*items) -> dict:
    return node("TupleNode", "builtins", "tuple", content=[as_node(i) for i in items])


def call(module: str, name: str, *args) -> dict:
    """skops' reduce node: ``module.name(*args)`` when constructed."""
    return node("ConstructorFromReduceNode", module, name, content=tuple_of(*args))


def function(module: str, name: str) -> dict:
    return node("FunctionNode", module, name)


def keyed_by(key_type: dict, key: str) -> dict:
    """A dict whose one key is rebuilt as ``key_type(key)``: calls anything callable with a string."""
    return node("DictNode", "builtins", "dict", content={key: value(0)},
                key_types=node("ListNode", "builtins", "list", content=[key_type]))


# ---- editing a real file ------------------------------------------------------------------------

def rewrite(src: Path, dst: Path, edit: Callable[[dict], None]) -> None:
    """Copy the skops zip ``src`` to ``dst`` with ``edit(schema)`` applied to its schema.json."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        schema = json.loads(zin.read("schema.json"))
        edit(schema)
        for item in zin.infolist():
            if item.filename != "schema.json":
                zout.writestr(item, zin.read(item))
        zout.writestr("schema.json", json.dumps(schema))


def find_object(schema: dict, class_name: str) -> dict:
    """The first object node of ``class_name`` in document order: the one skops builds (a later
    node with the same ``__id__`` is a reference that skops resolves to the first)."""
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("__loader__") == "ObjectNode" and item.get("__class__") == class_name:
                return item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    raise LookupError(class_name)


def plant(class_name: str, attribute: str, make: Callable[[Target], dict]):
    """A builder setting ``attribute`` of the first ``class_name`` object to ``make(target)``."""
    def build(src: Path, dst: Path, target: Target) -> None:
        def edit(schema: dict) -> None:
            find_object(schema, class_name)["content"]["content"][attribute] = make(target)
        rewrite(src, dst, edit)
    return build


def edit_schema(change: Callable[[dict, Target], None]):
    def build(src: Path, dst: Path, target: Target) -> None:
        rewrite(src, dst, lambda schema: change(schema, target))
    return build


class RunsCommand:
    """Unpickling this runs a shell command: what a pickle model file can do."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        import os

        return os.system, (self.command,)


def pickled(src: Path, dst: Path, target: Target) -> None:
    dst.write_bytes(pickle.dumps(RunsCommand(target.command)))


def joblib_dumped(src: Path, dst: Path, target: Target) -> None:
    import joblib

    joblib.dump(RunsCommand(target.command), dst)


def without_schema(src: Path, dst: Path, target: Target) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            if item.filename != "schema.json":
                zout.writestr(item, zin.read(item))


def malformed_schema(src: Path, dst: Path, target: Target) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            zout.writestr(item, data[: len(data) // 2] if item.filename == "schema.json" else data)


def _shell(t: Target) -> str:
    return f"__import__('os').system({t.command!r})"


def _old_protocol_function(schema: dict, t: Target) -> None:
    # skops' protocol-0 function node imports content.module_path.function, not __module__.__class__
    schema["protocol"] = 0
    disguised = node("FunctionNode", "numpy", "log1p", content={"module_path": "os", "function": "system"})
    find_object(schema, "Pipeline")["content"]["content"]["memory"] = keyed_by(disguised, t.command)


def _unknown_loader(schema: dict, t: Target) -> None:
    find_object(schema, "Pipeline")["content"]["content"]["memory"] = node("EvalNode", "builtins", "eval")


CASES: list[Case] = [
    Case("eval_called_by_reduce_node", "builtins.eval",
         plant("Pipeline", "verbose", lambda t: call("builtins", "eval", _shell(t)))),
    Case("eval_as_dict_key_type", "builtins.eval",
         plant("Pipeline", "memory", lambda t: keyed_by(node("TypeNode", "builtins", "eval"), _shell(t)))),
    Case("exec_as_dict_key_type", "builtins.exec",
         plant("Pipeline", "memory", lambda t: keyed_by(function("builtins", "exec"), _shell(t)))),
    Case("exec_inside_voting_member", "builtins.exec",
         plant("GaussianNB", "var_smoothing", lambda t: call("builtins", "exec", _shell(t)))),
    Case("eval_inside_column_transformer", "builtins.eval",
         plant("StandardScaler", "with_mean", lambda t: call("builtins", "eval", _shell(t)))),
    Case("open_truncates_a_file", "builtins.open",
         plant("Pipeline", "verbose", lambda t: call("builtins", "open", str(t.victim), "w"))),
    Case("getattr_chain_to_os_system", "builtins.getattr",
         plant("Pipeline", "memory", lambda t: keyed_by(
             call("builtins", "getattr", call("builtins", "__import__", "os"), "system"), t.command))),
    Case("import_builtin", "builtins.__import__",
         plant("LogisticRegression", "C", lambda t: call("builtins", "__import__", "this"))),
    Case("compile_builtin", "builtins.compile",
         plant("Pipeline", "verbose", lambda t: call("builtins", "compile", _shell(t), "<model>", "exec"))),
    Case("setattr_builtin", "builtins.setattr",
         plant("Pipeline", "verbose", lambda t: call("builtins", "setattr", call("builtins", "__import__", "os"),
                                                     "sep", "!"))),
    Case("globals_builtin", "builtins.globals",
         plant("Pipeline", "verbose", lambda t: call("builtins", "globals"))),
    Case("os_system_as_dict_key_type", "os.system",
         plant("Pipeline", "memory", lambda t: keyed_by(function("os", "system"), t.command))),
    Case("subprocess_call", "subprocess.call",
         plant("Pipeline", "verbose", lambda t: call("subprocess", "call", ["touch", str(t.marker)]))),
    Case("subprocess_popen", "subprocess.Popen",
         plant("GaussianNB", "priors", lambda t: call("subprocess", "Popen", ["touch", str(t.marker)]))),
    Case("partial_of_os_system", "functools.partial",
         plant("Pipeline", "memory", lambda t: keyed_by(node(
             "PartialNode", "functools", "partial",
             content={"func": function("os", "system"), "args": tuple_of(), "kwds": value({}),
                      "namespace": value(None)}), t.command))),
    Case("operator_attrgetter", "operator.attrgetter",
         plant("Pipeline", "memory", lambda t: keyed_by(
             node("OperatorFuncNode", "operator", "attrgetter", attrs=tuple_of("system")), t.command))),
    Case("operator_methodcaller", "operator.methodcaller",
         plant("Pipeline", "memory", lambda t: keyed_by(
             node("OperatorFuncNode", "operator", "methodcaller", attrs=tuple_of("format", t.command)), "x"))),
    Case("numpy_memmap_truncates_a_file", "numpy.memmap",
         plant("Pipeline", "verbose", lambda t: call("numpy", "memmap", str(t.victim), "uint8", "w+", 0, 1))),
    Case("scipy_distribution_runs_its_template", "scipy.stats._continuous_distns.norm_gen",
         plant("Pipeline", "verbose", lambda t: node(
             "ObjectNode", "scipy.stats._continuous_distns", "norm_gen",
             content=node("DictNode", "builtins", "dict", content={"_parse_arg_template": value(_shell(t))},
                          key_types=node("ListNode", "builtins", "list",
                                         content=[node("TypeNode", "builtins", "str")]))))),
    Case("class_outside_trusted_packages", "http.server.HTTPServer",
         plant("Pipeline", "verbose", lambda t: node("ObjectNode", "http.server", "HTTPServer"))),
    Case("old_protocol_function_in_disguise", "os.system", edit_schema(_old_protocol_function)),
    Case("unknown_skops_loader", "EvalNode", edit_schema(_unknown_loader), parses=False),
    Case("pickle_renamed_skops", "pickle", pickled, parses=False),
    Case("joblib_renamed_skops", "pickle", joblib_dumped, parses=False),
    Case("zip_without_schema", "schema.json", without_schema, parses=False),
    Case("malformed_schema_json", "schema.json", malformed_schema, parses=False),
]
