"""abauto: a plugin-based AutoML comparison framework for music classification.

Plugins implement the hooks in :mod:`abauto.hookspecs` with ``@abauto.hookimpl`` and describe
each step with :class:`abauto.Plugin`. ``abauto.search(...)`` runs a nested-CV Optuna study; ``abauto.AbautoClassifier`` is the same search
as a scikit-learn classifier; ``abauto.load_model(path)`` loads a saved model safely.
"""

from abauto.hookspecs import hookimpl
from abauto.plugin import Context, Kind, Params, Plugin, ScopedTrial

__version__ = "0.1.0"
__all__ = ["hookimpl", "Plugin", "Kind", "Context", "Params", "ScopedTrial", "search", "load_model",
           "AbautoClassifier", "__version__"]


def search(*args, **kwargs):
    """Run a nested cross-validated search; see :func:`abauto.search_engine.search`."""
    from abauto.search_engine import search as _search

    return _search(*args, **kwargs)


def load_model(path):
    """Load a saved model (``best_pipeline.skops`` or its run folder) after checking every type it
    holds; returns ``(pipeline, model card or None)``. See :func:`abauto.model.load_model`."""
    from abauto.model import load_model as _load_model

    return _load_model(path)


def __getattr__(name: str):
    """``abauto.AbautoClassifier``, imported on first use (it pulls in the search engine)."""
    if name == "AbautoClassifier":
        from abauto.estimator import AbautoClassifier

        return AbautoClassifier
    raise AttributeError(f"module 'abauto' has no attribute {name!r}")
