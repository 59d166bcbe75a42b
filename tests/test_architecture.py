"""The layers of docs/architecture.md: no import cycle among abauto's and its built-in plugins'
modules, and no module of abauto/ importing a higher layer (deferred imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"abauto": ROOT / "abauto", "abauto_plugins": ROOT / "plugins"}
LAYERS = [  # docs/architecture.md, bottom up
    {"errors", "files", "plugin", "extensions", "hookspecs", "registry", "labels", "leaderboard_view", "schemas"},
    {"data", "leakage"},
    {"settings", "config", "scoring", "isolation", "folds", "space", "runfolder", "studies", "ensemble", "schedule"},
    {"objective"},
    {"leaderboard", "model"},
    {"search_engine", "estimator"},
    {"leaderboard_compare", "stats", "html", "cli_render", "progress", "profile", "report", "testing"},
    {"cli", "leaderboard_cli", "report_cli"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, module: str, known: dict[str, Path]) -> set[str]:
    """The project modules ``module`` imports, anywhere in its code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names += [base, *(f"{base}.{a.name}" for a in node.names)]
    out = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module and not module.startswith(name + "."):
            out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(p, m, known) for m, p in known.items()}


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path[path.index(n):], n]))
            if n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])


def test_every_core_module_has_a_layer_and_imports_only_downward():
    edges = graph()
    core = [m for m in edges if m.startswith("abauto.") and m.count(".") == 1]
    unplaced = [m for m in core if m.split(".")[1] not in LAYER]
    assert not unplaced, f"place these modules in a layer (here and in docs/architecture.md): {unplaced}"
    upward = [f"{m} -> {n}" for m in core for n in edges[m]
              if n.startswith("abauto.") and n.count(".") == 1 and LAYER[n.split(".")[1]] > LAYER[m.split(".")[1]]]
    assert not upward, f"imports of a higher layer: {upward}"


def test_the_core_imports_no_built_in_plugin():
    edges = graph()
    assert not [f"{m} -> {n}" for m in edges if m.startswith("abauto") and not m.startswith("abauto_plugins")
                for n in edges[m] if n.startswith("abauto_plugins")]
