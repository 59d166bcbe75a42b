"""``abauto leaderboard``: show, diff, check and compare ``leaderboard.json`` files (for CI).

* ``show FILE`` prints one leaderboard as a table, Markdown, CSV or JSON.
* ``diff OLD NEW`` pairs two leaderboards of the same data and outer folds fold by fold and tests
  every change of outer score with the Nadeau–Bengio corrected resampled t-test.
* ``check FILE...`` is the CI gate: exit 0 when every file holds, 1 when a threshold or a
  significant regression fails, 2 when a file is invalid or two files cannot be paired.
* ``compare FILE...`` puts several datasets side by side: mean ranks, a Friedman test and the
  Nemenyi critical difference.

The commands here only parse options and print: the computations are in
:mod:`abauto.leaderboard_compare` (statistics in :mod:`abauto.stats`), the text views in
:mod:`abauto.leaderboard_view`, the terminal tables in :mod:`abauto.cli_render`. The file format
is described in ``docs/leaderboard.md``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from abauto import leaderboard as lb
from abauto.hookspecs import hookimpl
from abauto import leaderboard_view as view
from abauto.leaderboard_compare import (  # noqa: F401  (compare_boards, diff_boards: public, importable from here)
    check_file, compare_boards, dataset_names, diff_boards, resolve)

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Show, diff, check and compare leaderboard.json files.")


def _out() -> Console:
    """The terminal (or COLUMNS) width; tables fit it (see :class:`abauto.cli_render.Fitted`)."""
    return Console(soft_wrap=False)


def _err(line: str) -> None:
    print(line, file=sys.stderr)


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}", param_hint=option)
    return value


@app.command()
def show(file: Path = typer.Argument(..., readable=False, help="leaderboard.json (or its run folder)."),
         fmt: str = typer.Option("table", "--format", "-f", help="table, md, csv or json.")) -> None:
    """Print one leaderboard."""
    _choice(fmt, ("table", "md", "csv", "json"), "--format")
    board = lb.load(resolve(file))
    if fmt == "md":
        sys.stdout.write(lb.to_markdown(board))
    elif fmt == "csv":
        sys.stdout.write(lb.to_csv(board))
    elif fmt == "json":
        print(json.dumps(board, indent=2))
    else:
        from abauto.cli_render import leaderboard_summary, leaderboard_table

        console = _out()
        console.print(leaderboard_table(board))
        for line in leaderboard_summary(board):
            console.print(line, highlight=False)


@app.command()
def diff(old: Path = typer.Argument(..., readable=False, help="Baseline leaderboard.json."),
         new: Path = typer.Argument(..., readable=False, help="Leaderboard to compare with it."),
         alpha: float = typer.Option(0.05, min=0.0, max=1.0, help="Significance level."),
         fmt: str = typer.Option("table", "--format", "-f", help="table, md or json.")) -> None:
    """Change of outer score per family and for the selected pipeline, with a paired test.

    The test is the Nadeau–Bengio corrected resampled t-test over the outer folds both files
    share (same rows, seed and outer folds, else exit 2)."""
    _choice(fmt, ("table", "md", "json"), "--format")
    a, b = lb.load(resolve(old)), lb.load(resolve(new))
    result = diff_boards(a, b, alpha)
    if fmt == "json":
        print(json.dumps(result, indent=2))
        return
    title = view.diff_title(result, a, str(old), str(new))
    if fmt == "md":
        sys.stdout.write(view.diff_markdown(result, title))
        return
    from abauto.cli_render import diff_table

    console = _out()
    console.print(diff_table(result, title))
    for line in view.diff_notes(result):
        console.print(line, highlight=False)


@app.command()
def check(files: List[Path] = typer.Argument(..., readable=False, help="leaderboard.json files (or run folders)."),
          min_score: Optional[float] = typer.Option(None, "--min-score", help="Fail when the selected pipeline's outer mean is below X."),
          baseline: Optional[Path] = typer.Option(None, readable=False, help="Baseline leaderboard, or a folder of them (matched by file name, then dataset name)."),
          max_drop: Optional[float] = typer.Option(None, "--max-drop", min=0.0, help="Fail when the outer mean drops by more than D from the baseline."),
          alpha: float = typer.Option(0.05, min=0.0, max=1.0, help="Significance level of the regression test."),
          families: bool = typer.Option(False, "--families", help="Also fail on a significant regression of any classifier family."),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the failures.")) -> None:
    """CI gate: exit 0 when every file holds, 1 when a check fails, 2 when a file is invalid.

    Checks: --min-score on the selected pipeline's outer mean; against --baseline, --max-drop and
    a significant regression (corrected resampled t-test, --alpha) of the selected pipeline (and
    of every family with --families). One line per failure on stderr."""
    if max_drop is not None and baseline is None:
        raise typer.BadParameter("--max-drop needs --baseline", param_hint="--max-drop")
    if baseline is not None and not baseline.exists():
        raise lb.LeaderboardError(f"{baseline}: no such file")
    code = 0
    for file in files:
        path = resolve(file)
        try:
            board, base, reasons = check_file(path, min_score, baseline, max_drop, alpha, families)
        except lb.LeaderboardError as exc:
            _err(f"abauto: error: {str(exc).splitlines()[0]}")
            code = 2
            continue
        for reason in reasons:
            _err(f"FAIL {reason}")
        if reasons:
            code = max(code, 1)
        elif not quiet:
            b = board["best"]
            print(f"ok {path}: {board['protocol']['metric']} {view.fmt_score(b['outer_mean'], b['outer_std'])}"
                  + (f" (baseline {view.fmt_score(base['best']['outer_mean'], base['best']['outer_std'])})" if base else ""))
    raise typer.Exit(code)


@app.command()
def compare(files: List[Path] = typer.Argument(..., readable=False, help="leaderboard.json files, one per dataset."),
            fmt: str = typer.Option("table", "--format", "-f", help="table, md or json."),
            alpha: float = typer.Option(0.05, min=0.0, max=1.0, help="Significance level (Friedman, Nemenyi).")) -> None:
    """Classifier families across datasets: mean ranks, Friedman test, Nemenyi groups.

    Cells are outer mean ± std. Families not scored on every dataset are shown but left out of
    the ranks and the tests (the Friedman test needs complete blocks)."""
    _choice(fmt, ("table", "md", "json"), "--format")
    paths = [resolve(f) for f in files]
    boards = [lb.load(p) for p in paths]
    result = compare_boards(boards, dataset_names(boards, paths), alpha)
    if fmt == "json":
        print(json.dumps(result, indent=2))
        return
    if fmt == "md":
        sys.stdout.write(view.compare_markdown(result))
        return
    from abauto.cli_render import compare_table

    console = _out()
    console.print(compare_table(result))
    for line in view.compare_summary(result):
        console.print(line, highlight=False)


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    """Add the ``leaderboard`` command group (a built-in entry point of abauto)."""
    cli.add_typer(app, name="leaderboard")
