"""Every command's --help shows the defaults its help strings name, and ``abauto --version`` works."""

import inspect
import re

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from abauto import __version__
from abauto.cli import app

DEFAULT = re.compile(r"\[default: [^\]]+\]")


def _commands(command, path: tuple[str, ...] = ()):
    yield path, command
    if hasattr(command, "list_commands"):  # a group (typer vendors its own click classes)
        ctx = type(command).context_class(command)
        for name in command.list_commands(ctx):
            yield from _commands(command.get_command(ctx, name), (*path, name))


def _source(command) -> str:
    """The help strings and docstring the command was written with."""
    texts = [command.help or ""] + [getattr(p, "help", "") or "" for p in command.params]
    callback = getattr(command, "callback", None)
    if callback is not None:
        try:
            texts.append(inspect.getsource(inspect.unwrap(callback)))
        except (OSError, TypeError):
            pass
    return "\n".join(texts)


COMMANDS = list(_commands(get_command(app)))


def test_every_command_is_checked():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"search", "predict", "worker", "profile", "report", "leaderboard diff"} <= names


@pytest.mark.parametrize("columns", [80, 160])
@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "abauto")
def test_help_shows_every_default_of_the_source(path, columns):
    command = dict(COMMANDS)[path]
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)}, terminal_width=columns)
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    for text in set(DEFAULT.findall(_source(command))):
        assert " ".join(text.split()) in shown, f"abauto {' '.join(path)} --help lost {text!r}"
    assert not re.search(r" \.(?: |$)", shown), "a help line lost the text before its full stop"


def test_search_help_names_its_defaults():
    shown = " ".join(CliRunner().invoke(app, ["search", "--help"], env={"COLUMNS": "80"}).output.split())
    for text in ("[default: 60]", "[default: kfold:5]", "[default: balanced_accuracy]",
                 "[default: sqlite in the run folder]", "[default: runs/<dataset>-<time>]"):
        assert text in shown


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"abauto {__version__}"
