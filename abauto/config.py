"""Search configuration files (YAML): the keys of :class:`abauto.settings.SearchSettings`.

Example (``configs/default.yaml``)::

    trials: 60
    outer: kfold:5
    inner_folds: 5
    metric: balanced_accuracy
    sampler: tpe            # tpe | random | grid
    plugins: []             # only these plugins (empty = all)
    exclude: []
    fixed: {outlier: none}  # slot -> plugin (or none), not searched
    grid:                   # parameter -> values, with sampler: grid
      svm.C: [0.03125, 0.125]

Options given on the command line override the file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from abauto.errors import SettingsError
from abauto.extensions import split_values


def load_config(path: str | Path) -> dict:
    """Read a YAML config and check its keys and values (:meth:`SearchSettings.validate`);
    errors name the file and the key."""
    from abauto.settings import SearchSettings

    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such config file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(values, dict):
        raise SettingsError(f"{path}: a config must be a mapping of settings")
    known = {f.name for f in dataclasses.fields(SearchSettings)}
    for key in values:
        if key not in known:
            raise SettingsError(f"{path}: unknown setting {key!r} (known: {', '.join(sorted(known))})")
    for key in ("plugins", "exclude"):
        if isinstance(values.get(key), str):
            values[key] = split_values(values[key])
    for key in ("fixed", "grid"):
        if values.get(key) is not None and not isinstance(values[key], dict):
            raise SettingsError(f"{path}: {key!r} must be a mapping")
    SearchSettings(**values).validate(source=str(path), partial=True)  # options given beside it may complete it
    return values


def grid_override(config: str | Path | None, grid: list[str] | None) -> dict | None:
    """``--grid svm.C=0.5,2 --grid preset=basic``: replace those parameters' values in the
    config's grid (values are YAML scalars: numbers, true/false, null); None without ``--grid``."""
    if not grid:
        return None
    merged = dict((load_config(config) if config else {}).get("grid") or {})
    for item in grid:
        name, sep, values = item.partition("=")
        if not sep or not name.strip():
            raise SettingsError(f"--grid {item!r}: expected PARAMETER=V1,V2,...")
        try:
            merged[name.strip()] = [yaml.safe_load(v) for v in split_values(values)]
        except yaml.YAMLError:
            raise SettingsError(f"--grid {item!r}: unreadable value") from None
        if not merged[name.strip()]:
            raise SettingsError(f"--grid {item!r}: no values")
    return merged
