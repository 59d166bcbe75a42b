"""The hooks through which plugins give abauto its classifiers and preprocessing steps.

A plugin module (built-in or third-party) is listed under the entry-point group ``abauto``
and implements one or both hooks below with ``@abauto.hookimpl``::

    import abauto
    from abauto import Plugin, Kind

    @abauto.hookimpl
    def register_classifiers(register):
        register(Plugin(name="ridge", kind=Kind.CLASSIFIER, space=space, build=build))

The host owns ``register``: it validates each description, rejects duplicate names and records
which distribution registered what, so a broken plugin is reported by name and skipped.
"""

from __future__ import annotations

from typing import Callable

import pluggy

hookspec = pluggy.HookspecMarker("abauto")
hookimpl = pluggy.HookimplMarker("abauto")


@hookspec
def register_classifiers(register: Callable[["Plugin"], None]) -> None:  # noqa: F821
    """Register classifier plugins.

    Called once when abauto loads its plugins (``abauto.registry.load_registry``), before any
    search. Call ``register(plugin)`` once per classifier, with a :class:`abauto.Plugin` whose
    ``kind`` is ``Kind.CLASSIFIER``. ``build`` must return an unfitted scikit-learn classifier.
    Return nothing.
    """


@hookspec
def register_preprocessors(register: Callable[["Plugin"], None]) -> None:  # noqa: F821
    """Register preprocessing plugins (imputers, outlier handling, encoders, scalers, reducers).

    Called once when abauto loads its plugins, before any search. Call ``register(plugin)``
    once per step, with a :class:`abauto.Plugin` whose ``kind`` names the pipeline slot it fills
    (``Kind.IMPUTER``, ``Kind.OUTLIER``, ``Kind.ENCODER``, ``Kind.SCALER`` or ``Kind.REDUCER``).
    ``build`` must return an unfitted scikit-learn transformer. Return nothing.
    """
