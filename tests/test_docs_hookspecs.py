"""docs/hookspecs.md is generated from abauto/hookspecs.py and must not fall behind it."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from abauto import hookspecs

ROOT = Path(__file__).resolve().parents[1]


def test_hookspecs_page_is_up_to_date():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_hookspecs.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_every_hook_is_documented_on_the_page_and_in_the_authoring_guide():
    page = (ROOT / "docs" / "hookspecs.md").read_text()
    guide = (ROOT / "docs" / "writing-plugins.md").read_text()
    specs = [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, "abauto_spec")]
    assert specs
    for name in specs:
        assert inspect.getdoc(getattr(hookspecs, name)), f"{name} has no docstring"
        assert f"## `{name}`" in page and name in guide
