"""abauto: a plugin-based AutoML comparison framework for music classification.

Plugins implement the hooks in :mod:`abauto.hookspecs` with ``@abauto.hookimpl`` and describe
each step with :class:`abauto.Plugin`. ``abauto.search(...)`` runs a nested-CV Optuna study.
"""

from abauto.hookspecs import hookimpl
from abauto.plugin import Context, Kind, Params, Plugin, ScopedTrial

__version__ = "0.1.0"
__all__ = ["hookimpl", "Plugin", "Kind", "Context", "Params", "ScopedTrial", "search", "__version__"]


def search(*args, **kwargs):
    """Run a nested cross-validated search; see :func:`abauto.search_engine.search`."""
    from abauto.search_engine import search as _search

    return _search(*args, **kwargs)
