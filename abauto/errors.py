"""Every exception abauto raises for a problem the user can fix, under one base class.

Each message is one line that names the file, option, column or value at fault and says what to
do; the command line catches :class:`AbautoError` once, prints ``abauto: error: <message>`` and
exits with code 2. (Like scikit-learn's ``sklearn/exceptions.py``: one module, one base.)
"""

from __future__ import annotations


class AbautoError(ValueError):
    """Base of abauto's user-facing errors; ``str()`` is a single line."""


class DataError(AbautoError):
    """Bad input data: a table, a low-level JSON document, a ground truth or a join file."""


class SettingsError(AbautoError):
    """A search setting, command-line option or config value that cannot be used."""


class StorageError(AbautoError):
    """An Optuna storage, study or run folder that cannot be used as asked."""


class ModelError(AbautoError):
    """A model file that cannot or must not be loaded."""


class LeaderboardError(AbautoError):
    """An invalid or unreadable leaderboard file."""
