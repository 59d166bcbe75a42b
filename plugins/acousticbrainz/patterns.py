"""gaia's descriptor-name patterns, matched exactly as gaia's ``PointLayout::descriptorNames`` does.

gaia names descriptors with a leading dot (``.lowlevel.mfcc.mean``) and treats a pattern by its
first character:

- ``.lowlevel.mfcc.mean`` or ``*dmean*`` (starts with ``.`` or ``*``): an anchored glob over
  the whole name, so ``*.min`` matches names ending in ``.min`` and ``*cov`` also ``icov``;
- anything else, e.g. ``metadata.*`` or ``barkbands*``: the glob must match a trailing run of
  whole name components (``.barkbands*`` at a dot, through to the end), so ``barkbands*``
  matches ``lowlevel.barkbands.mean`` but ``bands*`` does not; gaia refuses a pattern whose
  matches start under different parents (ambiguous), and so do we.

Patterns apply to descriptor names (``lowlevel.mfcc.mean``), never to the per-dimension columns
(``lowlevel.mfcc.mean.3``): :func:`descriptor_of` maps a column back to its descriptor.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Iterable, Sequence

from abauto.errors import DataError

_INDEX_SUFFIX = re.compile(r"(\.\d+)+$")


def descriptor_of(column: str) -> str:
    """``lowlevel.mfcc.cov.3.7`` -> ``lowlevel.mfcc.cov``; scalars are their own descriptor."""
    return _INDEX_SUFFIX.sub("", column)


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> tuple[bool, re.Pattern]:
    body = fnmatch.translate(pattern)  # '(?s:...)\Z'
    if pattern.startswith((".", "*")):
        return True, re.compile(body)
    core = body[len("(?s:"):-len(r")\Z")]
    return False, re.compile(r"\.(?s:" + core + r")\Z")


def matches(pattern: str, names: Iterable[str]) -> list[str]:
    """The descriptor names (without leading dot) that one gaia pattern selects."""
    exact, rx = _compiled(pattern)
    out, prefixes = [], set()
    for name in names:
        full = "." + name
        if exact:
            if rx.match(full):
                out.append(name)
        else:
            m = rx.search(full)
            if m:
                out.append(name)
                prefixes.add(full[:m.start()])
    if len(prefixes) > 1:
        raise DataError(f"descriptor pattern {pattern!r} is ambiguous (as in gaia): it matches "
                        f"{', '.join(out[:4])}{', ...' if len(out) > 4 else ''}")
    return out


def select(names: Sequence[str], include: Sequence[str] = ("*",), exclude: Sequence[str] = ()) -> list[str]:
    """gaia's ``selectDescriptors``: names matching any ``include`` pattern and no ``exclude``
    pattern, in the order of ``names``."""
    chosen: set[str] = set()
    for pattern in include:
        chosen.update(matches(pattern, names))
    for pattern in exclude:
        chosen.difference_update(matches(pattern, names))
    return [n for n in names if n in chosen]
