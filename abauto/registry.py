"""Loading plugins: entry points in group ``abauto`` -> pluggy hooks -> a validated registry.

Built-in plugins (``abauto_plugins``) come in through the same entry-point group as third-party
ones. A plugin that fails to import, registers a duplicate name or has a space that raises is
recorded in ``Registry.errors`` with its package name and skipped; loading never raises.

``ABAUTO_LOAD_PLUGINS`` (comma-separated distribution names) restricts which third-party
distributions load: unset = all, empty = none. abauto's own built-ins always load.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Iterable

import optuna
import pluggy

from abauto import hookspecs
from abauto.plugin import Context, Kind, Plugin

ENV_VAR = "ABAUTO_LOAD_PLUGINS"
HOOKS = ("register_classifiers", "register_preprocessors")
_HOOK_KINDS = {
    "register_classifiers": {Kind.CLASSIFIER},
    "register_preprocessors": set(Kind) - {Kind.CLASSIFIER},
}


@dataclass(frozen=True)
class Registered:
    plugin: Plugin
    package: str
    version: str


@dataclass(frozen=True)
class PluginError:
    package: str
    message: str

    def __str__(self) -> str:
        return f"plugin package {self.package!r}: {self.message}"


@dataclass
class Registry:
    """Every loaded plugin by name, with the distribution that provided it."""

    entries: dict[str, Registered] = field(default_factory=dict)
    errors: list[PluginError] = field(default_factory=list)

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def __getitem__(self, name: str) -> Plugin:
        return self.entries[name].plugin

    def of_kind(self, kind: Kind) -> list[Plugin]:
        return [e.plugin for e in self.entries.values() if e.plugin.kind == kind]

    def names(self) -> list[str]:
        return list(self.entries)

    def add(self, plugin: object, package: str, version: str = "", hook: str | None = None) -> None:
        """Validate and add one plugin; problems become ``errors``, never exceptions."""
        if not isinstance(plugin, Plugin):
            self.errors.append(PluginError(package, f"registered {plugin!r}, not an abauto.Plugin"))
            return
        if hook and plugin.kind not in _HOOK_KINDS[hook]:
            self.errors.append(PluginError(package, f"{plugin.name!r} of kind {plugin.kind.value} registered through {hook}"))
            return
        if plugin.name in self.entries:
            first = self.entries[plugin.name].package
            self.errors.append(PluginError(package, f"duplicate plugin name {plugin.name!r} (already registered by {first!r}); skipped"))
            return
        problem = _space_problem(plugin, self)
        if problem:
            self.errors.append(PluginError(package, f"{plugin.name!r}: invalid search space: {problem}"))
            return
        self.entries[plugin.name] = Registered(plugin, package, version)


_PROBE_CTX = Context(n_rows=100, n_features=10, n_classes=3)


def _space_problem(plugin: Plugin, registry: Registry) -> str | None:
    """Sample the space once with a real trial; return the error text if it fails."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    ctx = Context(100, 10, 3, classifiers={n: e.plugin for n, e in registry.entries.items()
                                           if e.plugin.kind == Kind.CLASSIFIER and not e.plugin.ensemble})
    try:
        params = plugin.sample(study.ask(), ctx)
    except Exception as exc:  # a third-party space may raise anything
        return f"{type(exc).__name__}: {exc}"
    if not isinstance(params, dict):
        return "space() must return a dict"
    return plugin.defaults_problem(ctx)


def _wanted(dist_name: str) -> bool:
    if dist_name == "abauto":
        return True
    wanted = os.environ.get(ENV_VAR)
    if wanted is None:
        return True
    return dist_name in {w.strip() for w in wanted.split(",") if w.strip()}


def load_registry(extra: Iterable[object] = (), entry_points: bool = True) -> Registry:
    """Load every plugin and return a fresh :class:`Registry`.

    extra: further plugin modules or objects with hook implementations (tests, notebooks);
        they are reported under the package name ``<extra>``.
    entry_points: load the ``abauto`` entry-point group (built-ins and installed packages).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pm = pluggy.PluginManager("abauto")
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    sources: dict[str, tuple[str, str]] = {}  # pluggy plugin name -> (package, version)

    def add_source(obj: object, name: str, package: str, version: str) -> None:
        try:
            pm.register(obj, name=name)
            pm.check_pending()
        except Exception as exc:
            if pm.is_registered(obj):
                pm.unregister(obj)
            registry.errors.append(PluginError(package, f"{type(exc).__name__}: {exc}"))
            return
        sources[name] = (package, version)

    if entry_points:
        for ep in sorted(metadata.entry_points(group="abauto"), key=lambda e: (e.dist.name != "abauto", e.name)):
            package = ep.dist.name if ep.dist else ep.value
            if not _wanted(package):
                continue
            version = ep.dist.version if ep.dist else ""
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    module = ep.load()
            except Exception as exc:  # ImportError, SyntaxError, anything a package may raise
                registry.errors.append(PluginError(package, f"cannot load entry point {ep.name!r}: {type(exc).__name__}: {exc}"))
                continue
            add_source(module, f"{package}:{ep.name}", package, version)
    for i, obj in enumerate(extra):
        name = getattr(obj, "__name__", f"extra{i}")
        add_source(obj, f"<extra>:{name}:{i}", "<extra>", "")

    for hook in HOOKS:  # preprocessors first would not matter; classifiers first lets ensembles validate
        for impl in getattr(pm.hook, hook).get_hookimpls():
            package, version = sources[impl.plugin_name]

            def register(plugin: object, _p=package, _v=version, _h=hook) -> None:
                registry.add(plugin, _p, _v, _h)

            try:
                impl.function(register=register)
            except Exception as exc:
                registry.errors.append(PluginError(package, f"{hook} raised {type(exc).__name__}: {exc}"))
    return registry


def loaded_modules(registry: Registry) -> set[str]:
    """Top-level module names of every registered plugin's estimator code (for safe loading)."""
    return {e.plugin.build.__module__.split(".")[0] for e in registry.entries.values()}

