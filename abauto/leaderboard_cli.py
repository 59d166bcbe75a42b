"""``abauto leaderboard``: show, diff, check and compare ``leaderboard.json`` files (for CI).

* ``show FILE`` prints one leaderboard as a table, Markdown, CSV or JSON.
* ``diff OLD NEW`` pairs two leaderboards of the same data and outer folds fold by fold and tests
  every change of outer score with the Nadeau–Bengio corrected resampled t-test.
* ``check FILE...`` is the CI gate: exit 0 when every file holds, 1 when a threshold or a
  significant regression fails, 2 when a file is invalid or two files cannot be paired.
* ``compare FILE...`` puts several datasets side by side: mean ranks, a Friedman test and the
  Nemenyi critical difference.

Statistics live in :mod:`abauto.stats`; the file format in ``docs/leaderboard.md``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from abauto import leaderboard as lb
from abauto import stats
from abauto.hookspecs import hookimpl

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Show, diff, check and compare leaderboard.json files.")
BEST = "best"  # the row for the pipeline abauto selected per outer fold


def _out() -> Console:
    return Console(soft_wrap=False, width=max(160, Console().width))


def _err(line: str) -> None:
    print(line, file=sys.stderr)


def _fmt(mean, std=None, digits: int = 4) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def _signed(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:+.4f}"


def _p(p) -> str:
    if p is None:
        return "-"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}", param_hint=option)
    return value


# ---------------------------------------------------------------------------------------- show

@app.command()
def show(file: Path = typer.Argument(..., help="leaderboard.json (or its run folder)."),
         fmt: str = typer.Option("table", "--format", "-f", help="table, md, csv or json.")) -> None:
    """Print one leaderboard."""
    _choice(fmt, ("table", "md", "csv", "json"), "--format")
    board = lb.load(_resolve(file))
    if fmt == "md":
        sys.stdout.write(lb.to_markdown(board))
    elif fmt == "csv":
        sys.stdout.write(lb.to_csv(board))
    elif fmt == "json":
        print(json.dumps(board, indent=2))
    else:
        from abauto.cli_render import leaderboard_table

        console = _out()
        console.print(leaderboard_table(board))
        best, p = board["best"], board["protocol"]
        console.print(f"outer {p['metric']}: {_fmt(best['outer_mean'], best['outer_std'])} ({_protocol(board)}); "
                      f"trials {board['trials']['complete']} complete, {board['trials']['pruned']} pruned, "
                      f"{board['trials']['failed']} failed", highlight=False)
        for note in board["notes"]:
            console.print(f"note: {note}", highlight=False)


def _resolve(path: Path) -> Path:
    return path / "leaderboard.json" if path.is_dir() else path


def _protocol(board: dict) -> str:
    p = board["protocol"]
    outer = f"{p['outer_folds']}-fold" if p["outer"] == "kfold" else f"holdout {p['holdout_fraction']}"
    return f"{outer} outer, {p['inner_folds']}-fold inner, seed {p['seed']}, {p['trials']} trials"


# ---------------------------------------------------------------------------------------- diff

def pairing_problem(old: dict, new: dict) -> str | None:
    """Why the outer folds of two leaderboards are not the same split (None when they are).

    The split is a function of the rows (their number, class counts and order), the seed and the
    outer protocol. Files that record ``protocol.folds_sha256`` (the outer test parts and their
    labels) must match on it; for older files, same rows + class counts + seed + protocol is the
    check made here.
    """
    fa, fb = old["protocol"].get("folds_sha256"), new["protocol"].get("folds_sha256")
    if fa and fb and fa != fb:
        return "outer folds differ (folds_sha256: the rows, their order or the groups changed)"
    checks = [
        ("rows", old["dataset"]["rows"], new["dataset"]["rows"]),
        ("class counts", old["dataset"]["classes"], new["dataset"]["classes"]),
        ("seed", old["protocol"]["seed"], new["protocol"]["seed"]),
        ("outer", old["protocol"]["outer"], new["protocol"]["outer"]),
        ("outer folds", old["protocol"]["outer_folds"], new["protocol"]["outer_folds"]),
        ("holdout fraction", old["protocol"].get("holdout_fraction"), new["protocol"].get("holdout_fraction")),
        ("grouped", old["protocol"]["grouped"], new["protocol"]["grouped"]),
        ("metric", old["protocol"]["metric"], new["protocol"]["metric"]),
    ]
    for what, a, b in checks:
        if a != b:
            show_a = json.dumps(a) if isinstance(a, dict) else a
            show_b = json.dumps(b) if isinstance(b, dict) else b
            return f"{what} differ ({show_a} vs {show_b})"
    return None


def _ratio(board: dict) -> float:
    p = board["protocol"]
    return stats.test_fraction(p["outer_folds"], p["outer"], p.get("holdout_fraction"))


def _compare_scores(name: str, old: list | None, new: list | None, old_mean, new_mean, ratio: float,
                    alpha: float) -> dict:
    row = {"name": name, "old_mean": old_mean, "new_mean": new_mean, "delta": None, "folds": 0,
           "t": None, "p": None, "verdict": ""}
    if old is None:
        row["verdict"] = "added"
        return row
    if new is None:
        row["verdict"] = "removed"
        return row
    test = stats.corrected_ttest(old, new, ratio)
    row.update(folds=test.n, delta=None if test.n == 0 else test.mean, t=test.t, p=test.p)
    if test.p is None:
        row["verdict"] = "untested" if test.n else "no common fold"
    elif test.significant(alpha):
        row["verdict"] = "regression" if test.mean < 0 else "improvement"
    return row


def diff_boards(old: dict, new: dict, alpha: float = 0.05) -> dict:
    """Fold-by-fold comparison of ``new`` against ``old``; raises LeaderboardError when the two
    cannot be paired. ``delta`` is the mean of the paired differences ``new - old``."""
    problem = pairing_problem(old, new)
    if problem:
        raise lb.LeaderboardError(f"cannot pair the leaderboards: {problem}")
    ratio = _ratio(old)
    rows = [_compare_scores(BEST, old["best"]["outer_scores"], new["best"]["outer_scores"],
                            old["best"]["outer_mean"], new["best"]["outer_mean"], ratio, alpha)]
    o = {e["family"]: e for e in old["entries"]}
    n = {e["family"]: e for e in new["entries"]}
    def order(fam: str) -> tuple:
        mean = (n.get(fam) or o[fam])["outer_mean"]
        return (mean is None, -(mean or 0.0), fam)

    for fam in sorted(set(o) | set(n), key=order):
        eo, en = o.get(fam), n.get(fam)
        rows.append(_compare_scores(fam, eo and eo["outer_scores"], en and en["outer_scores"],
                                    eo and eo["outer_mean"], en and en["outer_mean"], ratio, alpha))
    return {"metric": old["protocol"]["metric"], "alpha": alpha, "outer_folds": old["protocol"]["outer_folds"],
            "test_train_ratio": ratio, "test": "Nadeau-Bengio corrected resampled t-test (two-sided)", "rows": rows}


DIFF_COLUMNS = ("", "old mean", "new mean", "Δ paired", "folds", "t", "p", "")


def _diff_cells(r: dict) -> list[str]:
    t = "-" if r["t"] is None else (f"{r['t']:+.2f}" if math.isfinite(r["t"]) else ("+inf" if r["t"] > 0 else "-inf"))
    return [r["name"], _fmt(r["old_mean"]), _fmt(r["new_mean"]), _signed(r["delta"]), str(r["folds"]), t, _p(r["p"]),
            r["verdict"]]


@app.command()
def diff(old: Path = typer.Argument(..., help="Baseline leaderboard.json."),
         new: Path = typer.Argument(..., help="Leaderboard to compare with it."),
         alpha: float = typer.Option(0.05, min=0.0, max=1.0, help="Significance level."),
         fmt: str = typer.Option("table", "--format", "-f", help="table, md or json.")) -> None:
    """Change of outer score per family and for the selected pipeline, with a paired test.

    The test is the Nadeau–Bengio corrected resampled t-test over the outer folds both files
    share (same rows, seed and outer folds, else exit 2)."""
    _choice(fmt, ("table", "md", "json"), "--format")
    a, b = lb.load(_resolve(old)), lb.load(_resolve(new))
    result = diff_boards(a, b, alpha)
    if fmt == "json":
        print(json.dumps(result, indent=2))
        return
    head = (f"{a['dataset']['name']}: {result['metric']} of {new} against {old} "
            f"({_protocol(a)}; corrected resampled t-test, n_test/n_train = {result['test_train_ratio']:.3g}, "
            f"alpha {alpha})")
    cols = list(DIFF_COLUMNS)
    cols[0], cols[-1] = "family", "significant"
    if fmt == "md":
        lines = [head, "", "| " + " | ".join(cols) + " |", "|---|---:|---:|---:|---:|---:|---:|---|"]
        for r in result["rows"]:
            cells = _diff_cells(r)
            if r["name"] == BEST:
                cells[0] = "**best (selected per fold)**"
            lines.append("| " + " | ".join(cells) + " |")
        sys.stdout.write("\n".join(lines) + "\n")
        return
    table = Table(title=head, title_justify="left")
    for c in cols:
        table.add_column(c, justify="left" if c in ("family", "significant") else "right")
    for r in result["rows"]:
        cells = _diff_cells(r)
        style = {"regression": "red", "improvement": "green"}.get(r["verdict"])
        if style:
            cells[-1] = f"[{style}]{cells[-1]}[/{style}]"
        if r["name"] == BEST:
            cells[0] = "[bold]best (selected per fold)[/bold]"
        table.add_row(*cells)
    _out().print(table)


# --------------------------------------------------------------------------------------- check

def _baseline_for(file: Path, board: dict, baseline: Path) -> Path | None:
    """The baseline file for ``file``: ``baseline`` itself, or in a folder the file of the same
    name, else the one whose dataset name matches."""
    if not baseline.is_dir():
        return baseline
    same = baseline / file.name
    if same.is_file():
        return same
    for candidate in sorted(baseline.glob("*.json")):
        try:
            if json.loads(candidate.read_text(encoding="utf-8")).get("dataset", {}).get("name") == board["dataset"]["name"]:
                return candidate
        except (OSError, ValueError, AttributeError):
            continue
    return None


def check_board(board: dict, name: str, min_score: float | None = None, base: dict | None = None,
                max_drop: float | None = None, alpha: float = 0.05, families: bool = False) -> list[str]:
    """Reasons (one line each) why ``board`` fails; empty when it holds. Raises LeaderboardError
    when ``base`` cannot be paired with it."""
    reasons = []
    metric = board["protocol"]["metric"]
    best = board["best"]["outer_mean"]
    if board["final"] is None:
        reasons.append(f"{name}: every trial failed ({board['trials']['failed']} failed trials), no final model")
    if best is None:
        reasons.append(f"{name}: no outer score for the selected pipeline")
    elif min_score is not None and best < min_score:
        reasons.append(f"{name}: {metric} {best:.4f} < --min-score {min_score:g}")
    if base is not None:
        result = diff_boards(base, board, alpha)
        old_best = base["best"]["outer_mean"]
        if max_drop is not None and old_best is not None and best is not None and old_best - best > max_drop + 1e-12:
            reasons.append(f"{name}: {metric} dropped by {old_best - best:.4f} ({old_best:.4f} -> {best:.4f}) "
                           f"> --max-drop {max_drop:g}")
        for r in result["rows"]:
            if r["verdict"] == "regression" and (r["name"] == BEST or families):
                what = "the selected pipeline" if r["name"] == BEST else f"family {r['name']}"
                reasons.append(f"{name}: significant regression of {what}: {metric} {r['delta']:+.4f} over {r['folds']} "
                               f"paired folds (corrected t = {r['t']:.2f}, p = {_p(r['p'])} < {alpha:g})")
    return reasons


@app.command()
def check(files: List[Path] = typer.Argument(..., help="leaderboard.json files (or run folders)."),
          min_score: Optional[float] = typer.Option(None, "--min-score", help="Fail when the selected pipeline's outer mean is below X."),
          baseline: Optional[Path] = typer.Option(None, help="Baseline leaderboard, or a folder of them (matched by file name, then dataset name)."),
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
        path = _resolve(file)
        try:
            board = lb.load(path)
            base = None
            if baseline is not None:
                base_path = _baseline_for(path, board, baseline)
                if base_path is None:
                    raise lb.LeaderboardError(f"{path}: no baseline in {baseline} (by file name or dataset {board['dataset']['name']!r})")
                base = lb.load(base_path)
                problem = pairing_problem(base, board)
                if problem:
                    raise lb.LeaderboardError(f"{path}: cannot pair with baseline {base_path}: {problem}")
            reasons = check_board(board, str(path), min_score, base, max_drop, alpha, families)
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
            print(f"ok {path}: {board['protocol']['metric']} {_fmt(b['outer_mean'], b['outer_std'])}"
                  + (f" (baseline {_fmt(base['best']['outer_mean'], base['best']['outer_std'])})" if base else ""))
    raise typer.Exit(code)


# ------------------------------------------------------------------------------------- compare

def compare_boards(boards: list[dict], names: list[str], alpha: float = 0.05) -> dict:
    """Families x datasets table of outer mean ± std, mean ranks over the families present on every
    dataset, the Friedman test and the Nemenyi critical difference with its groups.

    Families missing on a dataset (never scored there) are left out of the ranks and the tests
    and listed in ``notes``: the Friedman test needs complete blocks.
    """
    metric_set = sorted({b["protocol"]["metric"] for b in boards})
    fams = sorted({e["family"] for b in boards for e in b["entries"]})
    cells: dict[str, list] = {}
    for fam in fams:
        row = []
        for b in boards:
            e = next((e for e in b["entries"] if e["family"] == fam), None)
            if e is None or e["outer_mean"] is None:
                row.append(None)
            else:
                scored = sum(1 for s in e["outer_scores"] if s is not None)
                row.append({"mean": e["outer_mean"], "std": e["outer_std"], "folds": scored,
                            "outer_folds": len(e["outer_scores"])})
        cells[fam] = row
    complete = [f for f in fams if all(c is not None for c in cells[f])]
    missing = [f for f in fams if f not in complete]
    notes = []
    if len(metric_set) > 1:
        notes.append(f"the files use different metrics ({', '.join(metric_set)}); ranks are within each dataset")
    if missing:
        notes.append(f"left out of ranks and tests (not scored on every dataset): {', '.join(missing)}")
    partial = sorted({f for f in fams for c in cells[f] if c and c["folds"] < c["outer_folds"]})
    if partial:
        notes.append("(m/k) after a cell: the family was scored on m of the k outer folds only (the other folds' "
                     "studies did not sample it, or its refit failed); its mean is over those m folds")
    result: dict = {"metric": metric_set[0] if len(metric_set) == 1 else metric_set, "datasets": names,
                    "families": fams, "ranked": complete, "cells": cells,
                    "best": [{"mean": b["best"]["outer_mean"], "std": b["best"]["outer_std"]} for b in boards],
                    "mean_ranks": {}, "friedman": None, "nemenyi": None, "groups": [], "letters": {},
                    "alpha": alpha, "notes": notes}
    k, n = len(complete), len(boards)
    if k == 0:
        notes.append("no family was scored on every dataset: no ranks")
        return result
    matrix = [[cells[f][i]["mean"] for f in complete] for i in range(n)]
    ranks = stats.mean_ranks(matrix)
    result["mean_ranks"] = {f: float(r) for f, r in zip(complete, ranks)}
    if k >= 3 and n >= 2:
        fr = stats.friedman(matrix)
        result["friedman"] = {"chi2": fr.statistic, "p": fr.p, "iman_davenport_f": fr.iman_davenport,
                              "p_iman_davenport": fr.p_iman_davenport, "datasets": n, "families": k}
    else:
        notes.append(f"the Friedman test needs at least 3 ranked families and 2 datasets (have {k} and {n})")
    if k >= 2:
        cd = stats.nemenyi_cd(k, n, alpha)
        groups = stats.cd_groups(complete, list(ranks), cd)
        result["nemenyi"] = {"q_alpha": stats.q_alpha(k, alpha), "cd": cd}
        result["groups"] = groups
        result["letters"] = stats.group_letters(complete, groups)
        if result["friedman"] and result["friedman"]["p"] >= alpha:
            notes.append(f"Friedman p >= {alpha:g}: the families are not shown to differ; the Nemenyi groups are "
                         "for reference only")
    return result


def _order(result: dict) -> list[str]:
    ranks = result["mean_ranks"]
    ranked = sorted(ranks, key=lambda f: (ranks[f], f))
    return ranked + [f for f in result["families"] if f not in ranks]


def _cell(c) -> str:
    if c is None:
        return "-"
    text = _fmt(c["mean"], c["std"])
    return text if c["folds"] >= c["outer_folds"] else f"{text} ({c['folds']}/{c['outer_folds']})"


def _summary_lines(result: dict) -> list[str]:
    lines = []
    fr, ne = result["friedman"], result["nemenyi"]
    if fr:
        lines.append(f"Friedman test over {fr['datasets']} datasets and {fr['families']} families: chi² = {fr['chi2']:.3f}, "
                     f"p = {_p(fr['p'])} (Iman–Davenport F = {fr['iman_davenport_f']:.3f}, p = {_p(fr['p_iman_davenport'])}).")
    if ne:
        lines.append(f"Nemenyi critical difference (alpha {result['alpha']:g}): CD = {ne['q_alpha']:.3f} × "
                     f"sqrt(k(k+1)/(6N)) = {ne['cd']:.3f} mean ranks. Families sharing a group letter are not "
                     "significantly different.")
        for letter, g in zip("abcdefghijklmnopqrstuvwxyz", result["groups"]):
            lines.append(f"  group {letter}: {', '.join(g)}")
    lines += [f"Note: {n}" for n in result["notes"]]
    return lines


def _summary_markdown(result: dict) -> list[str]:
    lines = []
    for line in _summary_lines(result):
        if line.startswith("  group"):
            lines.append(f"- {line.strip()}")
        else:
            if lines and lines[-1].startswith("- "):
                lines.append("")
            lines += [line, ""]
    return lines[:-1] if lines and lines[-1] == "" else lines


@app.command()
def compare(files: List[Path] = typer.Argument(..., help="leaderboard.json files, one per dataset."),
            fmt: str = typer.Option("table", "--format", "-f", help="table, md or json."),
            alpha: float = typer.Option(0.05, min=0.0, max=1.0, help="Significance level (Friedman, Nemenyi).")) -> None:
    """Classifier families across datasets: mean ranks, Friedman test, Nemenyi groups.

    Cells are outer mean ± std. Families not scored on every dataset are shown but left out of
    the ranks and the tests (the Friedman test needs complete blocks)."""
    _choice(fmt, ("table", "md", "json"), "--format")
    paths = [_resolve(f) for f in files]
    boards = [lb.load(p) for p in paths]
    names = [b["dataset"]["name"] for b in boards]
    names = [n if names.count(n) == 1 else f"{n} ({p.parent.name if p.stem == 'leaderboard' else p.stem})"
             for n, p in zip(names, paths)]
    names = [n if names.count(n) == 1 else f"{n} #{i + 1}" for i, n in enumerate(names)]
    result = compare_boards(boards, names, alpha)
    if fmt == "json":
        print(json.dumps(result, indent=2))
        return
    metric = result["metric"] if isinstance(result["metric"], str) else "/".join(result["metric"])
    header = ["family", *names, "mean rank", "group"]
    best_row = ["abauto (selected per fold)", *[_fmt(b["mean"], b["std"]) for b in result["best"]], "", ""]
    rows = [[f, *[_cell(c) for c in result["cells"][f]],
             f"{result['mean_ranks'][f]:.2f}" if f in result["mean_ranks"] else "-", result["letters"].get(f, "")]
            for f in _order(result)]
    title = f"Outer {metric} (mean ± std over outer folds) by classifier family"
    if fmt == "md":
        lines = [f"{title}:", "", "| " + " | ".join(header) + " |",
                 "|---|" + "---:|" * len(names) + "---:|---|",
                 "| " + " | ".join(f"**{c}**" if c else c for c in best_row) + " |"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines += [""] + _summary_markdown(result)
        sys.stdout.write("\n".join(lines) + "\n")
        return
    table = Table(title=title, title_justify="left")
    for h in header:
        table.add_column(h, justify="left" if h in ("family", "group") else "right")
    table.add_row(*[f"[bold]{c}[/bold]" if c else c for c in best_row])
    for r in rows:
        table.add_row(*r)
    console = _out()
    console.print(table)
    for line in _summary_lines(result):
        console.print(line, highlight=False)


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    """Add the ``leaderboard`` command group (a built-in entry point of abauto)."""
    cli.add_typer(app, name="leaderboard")
