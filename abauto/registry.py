"""Loading plugins: entry points in group ``abauto`` -> pluggy hooks -> a validated registry.

Built-in plugins (``abauto_plugins``, and abauto's own command groups) come in through the same
entry-point group as third-party ones. A plugin that fails to import, registers a duplicate name
or has a space that raises is recorded in ``Registry.errors`` with its package name and skipped;
loading never raises. Besides pipeline steps the registry holds input loaders, predict formats
and the ``register_commands`` implementations, which :meth:`Registry.add_commands` calls on the
command line's app.

``ABAUTO_LOAD_PLUGINS`` (comma-separated distribution names) restricts which third-party
distributions load: unset = all, empty = none. abauto's own built-ins always load.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterable

import optuna
import pluggy

from abauto import hookspecs
from abauto.extensions import Loader, PredictFormat, split_values
from abauto.plugin import Context, Kind, Plugin

ENV_VAR = "ABAUTO_LOAD_PLUGINS"
HOOKS = ("register_classifiers", "register_preprocessors")  # hooks that register pipeline steps
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


@dataclass(frozen=True)
class Provided:
    """A loader, predict format or command, with the distribution that provided it."""

    name: str
    item: Any  # Loader, PredictFormat, or the command's name for commands
    package: str
    version: str


@dataclass
class Registry:
    """Every loaded plugin by name, with the distribution that provided it."""

    entries: dict[str, Registered] = field(default_factory=dict)
    errors: list[PluginError] = field(default_factory=list)
    loaders: dict[str, Provided] = field(default_factory=dict)
    predict_formats: dict[str, Provided] = field(default_factory=dict)
    commands: dict[str, Provided] = field(default_factory=dict)
    command_hooks: list[tuple[str, str, Callable[..., Any]]] = field(default_factory=list)  # (package, version, impl)

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

    def add_loader(self, loader: object, package: str, version: str = "") -> None:
        """Validate and add one input loader; problems become ``errors``."""
        self._add_provided(self.loaders, Loader, "an abauto.extensions.Loader", loader, package, version)

    def add_predict_format(self, fmt: object, package: str, version: str = "") -> None:
        """Validate and add one ``abauto predict --format``; problems become ``errors``."""
        self._add_provided(self.predict_formats, PredictFormat, "an abauto.extensions.PredictFormat", fmt, package, version)

    def _add_provided(self, table: dict, cls: type, what: str, item: object, package: str, version: str) -> None:
        if not isinstance(item, cls):
            self.errors.append(PluginError(package, f"registered {item!r}, not {what}"))
            return
        problem = item.problem()
        if problem:
            self.errors.append(PluginError(package, problem))
            return
        if item.name in table:
            first = table[item.name].package
            self.errors.append(PluginError(package, f"duplicate name {item.name!r} (already registered by {first!r}); skipped"))
            return
        table[item.name] = Provided(item.name, item, package, version)

    def loader_for(self, path) -> Loader | None:
        """The first registered loader that claims ``path`` (a loader that raises claims nothing)."""
        for provided in self.loaders.values():
            try:
                if provided.item.claims(path):
                    return provided.item
            except Exception:  # a third-party predicate may raise anything; it then claims nothing
                continue
        return None

    def add_commands(self, cli) -> None:
        """Call every ``register_commands`` implementation with the typer app ``cli``.

        Records which package added which command; a hook that raises, or a command whose name
        is taken, is reported in ``errors`` and what it added is removed again."""
        for package, version, impl in self.command_hooks:
            commands, groups = list(cli.registered_commands), list(cli.registered_groups)
            taken = set(_command_names(commands, groups))
            try:
                impl(cli=cli)
            except Exception as exc:
                cli.registered_commands[:], cli.registered_groups[:] = commands, groups
                self.errors.append(PluginError(package, f"register_commands raised {type(exc).__name__}: {exc}"))
                continue
            added = [(cli.registered_commands, info, _command_names([info], []))
                     for info in cli.registered_commands[len(commands):]]
            added += [(cli.registered_groups, info, _command_names([], [info]))
                      for info in cli.registered_groups[len(groups):]]
            for where, info, names in added:
                clash = next((n for n in names if n in taken), None)
                if clash is not None:
                    where.remove(info)
                    first = self.commands[clash].package if clash in self.commands else "abauto"
                    self.errors.append(PluginError(package, f"command {clash!r} already exists (added by {first!r}); skipped"))
                    continue
                for name in names:
                    taken.add(name)
                    self.commands[name] = Provided(name, name, package, version)


def _space_problem(plugin: Plugin, registry: Registry) -> str | None:
    """Sample the space once with a real trial; return the error text if it fails."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    ctx = Context(100, 10, 3, classifiers={n: e.plugin for n, e in registry.entries.items()
                                           if e.plugin.ensemble_member})
    try:
        params = plugin.sample(study.ask(), ctx)
    except Exception as exc:  # a third-party space may raise anything
        return f"{type(exc).__name__}: {exc}"
    if not isinstance(params, dict):
        return "space() must return a dict"
    return plugin.defaults_problem(ctx)


def _command_names(commands: list, groups: list) -> list[str]:
    """The names typer gives these command and group infos on the command line."""
    names = []
    for info in commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        names.append(name if info.name else name.lower().replace("_", "-"))
    for info in groups:
        name = info.name or (info.typer_instance.info.name if info.typer_instance else None)
        if isinstance(name, str):
            names.append(name)
        elif info.typer_instance is not None:  # an unnamed group's commands join the parent
            names += _command_names(info.typer_instance.registered_commands, info.typer_instance.registered_groups)
    return names


def _wanted(dist_name: str) -> bool:
    if dist_name == "abauto":
        return True
    wanted = os.environ.get(ENV_VAR)
    if wanted is None:
        return True
    return dist_name in split_values(wanted)


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
    for hook, add in (("register_loaders", registry.add_loader), ("register_predict_formats", registry.add_predict_format)):
        for impl in getattr(pm.hook, hook).get_hookimpls():  # registration order: built-ins first
            package, version = sources[impl.plugin_name]
            try:
                impl.function(register=lambda item, _p=package, _v=version: add(item, _p, _v))
            except Exception as exc:
                registry.errors.append(PluginError(package, f"{hook} raised {type(exc).__name__}: {exc}"))
    registry.command_hooks = [(*sources[impl.plugin_name], impl.function)
                              for impl in pm.hook.register_commands.get_hookimpls()]
    return registry


def loaded_modules(registry: Registry) -> set[str]:
    """Top-level module names of every registered plugin's estimator code (for safe loading)."""
    return {e.plugin.build.__module__.split(".")[0] for e in registry.entries.values()}

