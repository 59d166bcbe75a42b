"""The hooks through which plugins give abauto its classifiers and preprocessing steps, the
input formats it reads, the prediction formats it writes and its commands.

A plugin module (built-in or third-party) is listed under the entry-point group ``abauto``
and implements any of the hooks below with ``@abauto.hookimpl``::

    import abauto
    from abauto import Plugin, Kind

    @abauto.hookimpl
    def register_classifiers(register):
        register(Plugin(name="ridge", kind=Kind.CLASSIFIER, space=space, build=build))

The host owns ``register``: it validates each description, rejects duplicate names and records
which distribution registered what, so a broken plugin is reported by name and skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:
    import typer

    from abauto.extensions import Loader, PredictFormat
    from abauto.plugin import Plugin

hookspec = pluggy.HookspecMarker("abauto")
hookimpl = pluggy.HookimplMarker("abauto")


@hookspec
def register_classifiers(register: Callable[["Plugin"], None]) -> None:
    """Register classifier plugins.

    Called once when abauto loads its plugins (``abauto.registry.load_registry``), before any
    search. Call ``register(plugin)`` once per classifier, with a :class:`abauto.Plugin` whose
    ``kind`` is ``Kind.CLASSIFIER``. ``build`` must return an unfitted scikit-learn classifier.
    Return nothing.
    """


@hookspec
def register_preprocessors(register: Callable[["Plugin"], None]) -> None:
    """Register preprocessing plugins (imputers, outlier handling, encoders, scalers, reducers).

    Called once when abauto loads its plugins, before any search. Call ``register(plugin)``
    once per step, with a :class:`abauto.Plugin` whose ``kind`` names the pipeline slot it fills
    (``Kind.IMPUTER``, ``Kind.OUTLIER``, ``Kind.ENCODER``, ``Kind.SCALER`` or ``Kind.REDUCER``).
    ``build`` must return an unfitted scikit-learn transformer. Return nothing.
    """


@hookspec
def register_loaders(register: Callable[["Loader"], None]) -> None:
    """Register input formats that are not plain CSV/TSV/parquet tables.

    Called once when abauto loads its plugins. Call ``register(loader)`` once per format, with an
    :class:`abauto.extensions.Loader`: its ``name``, ``claims(path) -> bool`` (is this input
    mine?), ``load(path, **options) -> pandas.DataFrame`` (features and the label column) and
    the ``options`` names ``load`` takes. ``load_dataset`` (so ``abauto search``, ``profile``
    and ``worker``) reads a path with the first loader that claims it, else as a table; it
    refuses an option the chosen loader does not list. Return nothing.
    """


@hookspec
def register_predict_formats(register: Callable[["PredictFormat"], None]) -> None:
    """Register output formats of ``abauto predict --format NAME``.

    Called once when abauto loads its plugins. Call ``register(fmt)`` once per format, with an
    :class:`abauto.extensions.PredictFormat`: its ``name`` and
    ``write(models, data, output, n_jobs)``, which ``abauto predict MODEL... DATA --format NAME
    -o OUTPUT --n-jobs N`` calls instead of writing CSV, with the list of model paths (one or
    more). Return nothing.
    """


@hookspec
def register_commands(cli: "typer.Typer") -> None:
    """Add commands or command groups to the ``abauto`` command line.

    Called once, when ``abauto.cli`` builds its app, with that ``typer.Typer`` as ``cli``: add
    commands with ``cli.command()(function)`` and groups with ``cli.add_typer(group, name=...)``.
    A command whose name is already taken is removed again and reported by ``abauto plugins``.
    This runs at every start of ``abauto``: import heavy modules inside the command functions.
    Return nothing.
    """
