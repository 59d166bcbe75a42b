"""How leaderboards are shown to a reader: one row model and one set of number formatters.

:func:`leaderboard_rows` turns a ``leaderboard.json`` dict into :class:`Row` objects (the
"selected per fold" row and one row per classifier family): rank, family, the chosen metric's
mean ± std, the other reported metrics, inner mean, how many outer folds the family was scored
on, fit seconds and its most common pipeline with the folds it was chosen in. Every rendering
reads these rows: the rich table (:mod:`abauto.cli_render`), the Markdown and CSV files
(:mod:`abauto.leaderboard`) and the HTML report (:mod:`abauto.report`).

The diff and compare views of ``abauto leaderboard`` are here too, as plain cells (lists of
strings) that the terminal and Markdown renderers share. Nothing here imports rich or typer.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

MISSING = "-"
BEST = "best"  # the name of the diff row for the pipeline abauto selected per outer fold
SELECTED = "selected per fold"


# ----------------------------------------------------------------------------- numbers

def _absent(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_number(x, digits: int = 4, missing: str = MISSING) -> str:
    """``x`` with ``digits`` decimals; integers as they are; ``missing`` for None and NaN."""
    if _absent(x):
        return missing
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    return f"{x:.{digits}f}"


def fmt_score(mean, std=None, digits: int = 4, missing: str = MISSING) -> str:
    """``mean ± std`` (or ``mean`` alone when ``std`` is None) with ``digits`` decimals."""
    if _absent(mean):
        return missing
    return f"{mean:.{digits}f}" if _absent(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def fmt_signed(x, digits: int = 4) -> str:
    return MISSING if _absent(x) else f"{x:+.{digits}f}"


def fmt_p(p) -> str:
    if p is None:
        return MISSING
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def fmt_t(t) -> str:
    if t is None:
        return MISSING
    return f"{t:+.2f}" if math.isfinite(t) else ("+inf" if t > 0 else "-inf")


def fmt_value(v: Any, significant: int = 4) -> str:
    """A hyperparameter value for a reader: floats to ``significant`` digits (``0.3132``, ``1.6e-12``),
    lists and nested dicts (ensemble members) recursively. The JSON keeps full precision."""
    if isinstance(v, float):
        return f"{v:.{significant}g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {fmt_value(x, significant)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(fmt_value(x, significant) for x in v) + "]"
    return "null" if v is None else str(v)


def fmt_params(params: dict | None) -> str:
    """``k=v, k=v`` with rounded floats (see :func:`fmt_value`); ``-`` for no parameters."""
    if not params:
        return MISSING
    return ", ".join(f"{k}={fmt_value(v)}" for k, v in params.items())


def describe_pipeline(pipeline: Sequence[dict], params: bool = False) -> str:
    """``standard > pca > svm``; with ``params``, each step's parameters in brackets, rounded."""
    if not params:
        return " > ".join(s["plugin"] for s in pipeline)
    return " > ".join(f"{s['plugin']}({fmt_params(s['params'])})" if s.get("params") else s["plugin"]
                      for s in pipeline)


def fold_list(folds: Sequence[int]) -> str:
    """``fold 2`` or ``folds 0, 2``."""
    return ("fold " if len(folds) == 1 else "folds ") + ", ".join(str(f) for f in folds)


# ----------------------------------------------------------------------------- leaderboard rows

@dataclass(frozen=True)
class Score:
    """Mean and standard deviation over the outer folds with a value."""

    mean: float | None
    std: float | None

    def __str__(self) -> str:
        return fmt_score(self.mean, self.std)

    @property
    def mean_text(self) -> str:
        return fmt_number(self.mean)


@dataclass(frozen=True)
class Row:
    """One line of a leaderboard table (a classifier family, or the pipeline selected per fold)."""

    rank: int | None                       # None for the selected-per-fold row
    family: str
    score: Score                           # the chosen metric (protocol.metric)
    others: tuple[tuple[str, Score], ...]  # the other reported metrics, in protocol.metrics order
    inner_mean: float | None
    folds: int                             # outer folds with a score of the chosen metric
    outer_folds: int
    fit_seconds: float | None
    pipeline: str                          # most common pipeline over the folds (selected row: family per fold)
    pipeline_folds: tuple[int, ...] = ()   # the outer folds whose pipeline is ``pipeline``
    first_pipeline: str = ""               # pipeline of the first fold where the family was chosen (CSV)

    @property
    def selected(self) -> bool:
        return self.rank is None

    @property
    def coverage(self) -> str:
        """``k/K``: outer folds with a score out of the outer folds."""
        return f"{self.folds}/{self.outer_folds}"

    @property
    def pipeline_text(self) -> str:
        """The pipeline and the folds it was chosen in, e.g. ``standard > svm (folds 0, 2)``."""
        if not self.pipeline or not self.pipeline_folds:
            return self.pipeline
        return f"{self.pipeline} ({fold_list(self.pipeline_folds)})"

    def other(self, metric: str) -> Score:
        return dict(self.others).get(metric, Score(None, None))


@dataclass(frozen=True)
class Rows:
    """A leaderboard as rows: the selected-per-fold row first, then the families, best first."""

    metric: str
    others: tuple[str, ...]
    selected: Row
    families: tuple[Row, ...]

    def __iter__(self):
        yield self.selected
        yield from self.families


def _score(block: dict | None) -> Score:
    block = block or {}
    return Score(block.get("mean"), block.get("std"))


def _most_common_pipeline(folds: Sequence[dict | None]) -> tuple[str, tuple[int, ...], str]:
    """(most common pipeline, the folds it was chosen in, the first fold's pipeline); ties go to
    the pipeline chosen first."""
    chosen = [(f["fold"], describe_pipeline(f["pipeline"])) for f in folds if f]
    if not chosen:
        return "", (), ""
    counts = Counter(text for _, text in chosen)
    best = max(counts, key=lambda text: (counts[text], -next(i for i, (_, t) in enumerate(chosen) if t == text)))
    return best, tuple(fold for fold, text in chosen if text == best), chosen[0][1]


def leaderboard_rows(board: dict) -> Rows:
    """The rows every leaderboard rendering shows (see :class:`Row`)."""
    p = board["protocol"]
    metric = p["metric"]
    others = tuple(m for m in p.get("metrics", [metric]) if m != metric)
    n_folds = p["outer_folds"]

    def scored(scores: Sequence) -> int:
        return sum(s is not None for s in scores)

    best = board["best"]
    selected = Row(rank=None, family=SELECTED, score=Score(best["outer_mean"], best["outer_std"]),
                   others=tuple((m, _score(best["metrics"].get(m))) for m in others), inner_mean=None,
                   folds=scored(best["outer_scores"]), outer_folds=n_folds, fit_seconds=None,
                   pipeline=", ".join(f or MISSING for f in best["families"]))
    families = []
    for e in board["entries"]:
        pipeline, pipeline_folds, first = _most_common_pipeline(e["folds"])
        families.append(Row(rank=e["rank"], family=e["family"], score=Score(e["outer_mean"], e["outer_std"]),
                            others=tuple((m, _score(e["metrics"].get(m))) for m in others),
                            inner_mean=e["inner_mean"], folds=scored(e["outer_scores"]), outer_folds=n_folds,
                            fit_seconds=e["fit_seconds"], pipeline=pipeline, pipeline_folds=pipeline_folds,
                            first_pipeline=first))
    return Rows(metric, others, selected, tuple(families))


def inner_text(p: dict) -> str:
    """The inner validation of a leaderboard's ``protocol``: ``5-fold inner``, or on a large
    table ``inner holdout 1/5 (row rungs)``."""
    if p.get("inner") == "holdout":
        return f"inner holdout 1/{p['inner_folds']} (row rungs)"
    return f"{p['inner_folds']}-fold inner"


def protocol_line(board: dict) -> str:
    """``3-fold outer, 3-fold inner, seed 0, 10 trials``."""
    p = board["protocol"]
    outer = f"{p['outer_folds']}-fold" if p["outer"] == "kfold" else f"holdout {p['holdout_fraction']}"
    return f"{outer} outer, {inner_text(p)}, seed {p['seed']}, {p['trials']} trials"


# ----------------------------------------------------------------------------- Markdown

def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    """Lines of a Markdown table; ``align`` has one letter per column: ``l`` or ``r``."""
    rule = "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"
    return ["| " + " | ".join(header) + " |", rule] + ["| " + " | ".join(r) + " |" for r in rows]


# ----------------------------------------------------------------------------- diff and compare views

DIFF_HEADER = ("family", "old", "new", "Δ paired", "paired folds", "old all folds", "new all folds", "t", "p",
               "verdict")
DIFF_ALIGN = "lrrrrrrrrl"
DIFF_ALL_FOLDS = ("old all folds", "new all folds")  # columns a narrow terminal drops first


def diff_cells(r: dict) -> list[str]:
    """One row of a diff (see :func:`abauto.leaderboard_compare.diff_boards`) as text cells: the
    means over the paired folds, their difference, the paired folds out of the outer folds, the
    leaderboards' means over all their folds, the test and the verdict."""
    return [r["name"], fmt_score(r.get("old_paired")), fmt_score(r.get("new_paired")), fmt_signed(r["delta"]),
            f"{r['folds']}/{r.get('outer_folds', r['folds'])}", fmt_score(r["old_mean"]), fmt_score(r["new_mean"]),
            fmt_t(r["t"]), fmt_p(r["p"]), r["verdict"]]


def _protocol(board: dict) -> str:
    p = board["protocol"]
    outer = f"{p['outer_folds']}-fold" if p["outer"] == "kfold" else f"holdout {p['holdout_fraction']}"
    return f"{outer} outer, seed {p['seed']}"


def _trial_line(t: dict) -> str:
    states = ", ".join(f"{t[k]} {k}" for k in ("complete", "pruned", "failed") if t.get(k) is not None)
    return (f"{t['total']} trials ({t['per_study']} per study x {t['studies']} studies: {states}), "
            f"{t['inner_folds']}-fold inner")


def diff_title(result: dict, board: dict, old: str, new: str) -> str:
    return (f"{board['dataset']['name']}: {result['metric']} of {new} against {old} ({_protocol(board)}; "
            f"corrected resampled t-test, n_test/n_train = {result['test_train_ratio']:.3g}, alpha {result['alpha']})")


def diff_notes(result: dict) -> list[str]:
    """What the columns mean, the trials of each run and how the rows are ordered, one line each."""
    lines = []
    trials = result.get("trials")
    if trials:
        lines.append(f"old: {_trial_line(trials['old'])}; new: {_trial_line(trials['new'])}")
    lines.append("old, new, Δ paired: means over the paired folds (the outer folds where both runs scored the row), "
                 "so Δ = new - old; 'all folds': each leaderboard's own mean over every fold it scored.")
    lines.append(f"Rows: the pipeline selected per fold, then families by Δ, largest gain first. No significance "
                 f"claim below {result.get('min_paired_folds', 3)} paired folds.")
    return lines


def diff_markdown(result: dict, title: str) -> str:
    rows = []
    for r in result["rows"]:
        cells = diff_cells(r)
        if r["name"] == BEST:
            cells[0] = "**best (selected per fold)**"
        rows.append(cells)
    return "\n".join([title, ""] + markdown_table(DIFF_HEADER, rows, DIFF_ALIGN) + [""] + diff_notes(result)) + "\n"


def compare_order(result: dict) -> list[str]:
    """Families by mean rank, then the unranked ones."""
    ranks = result["mean_ranks"]
    ranked = sorted(ranks, key=lambda f: (ranks[f], f))
    return ranked + [f for f in result["families"] if f not in ranks]


def compare_cell(c: dict | None, std: bool = True) -> str:
    """``mean ± std``, followed by ``(m/k)`` when the family was scored on m of k outer folds only."""
    if c is None:
        return MISSING
    text = fmt_score(c["mean"], c["std"] if std else None)
    return text if c["folds"] >= c["outer_folds"] else f"{text} ({c['folds']}/{c['outer_folds']})"


def compare_title(result: dict, std: bool = True) -> str:
    metric = result["metric"] if isinstance(result["metric"], str) else "/".join(result["metric"])
    return f"Outer {metric} (mean{' ± std' if std else ''} over outer folds) by classifier family"


def compare_table(result: dict, std: bool = True) -> tuple[list[str], list[str], list[list[str]]]:
    """(header, selected-per-fold row, family rows) of a comparison as text cells."""
    names = result["datasets"]
    header = ["family", *names, "mean rank", "group"]
    best_row = ["abauto (selected per fold)", *[fmt_score(b["mean"], b["std"] if std else None) for b in result["best"]],
                "", ""]
    rows = [[f, *[compare_cell(c, std) for c in result["cells"][f]],
             f"{result['mean_ranks'][f]:.2f}" if f in result["mean_ranks"] else MISSING, result["letters"].get(f, "")]
            for f in compare_order(result)]
    return header, best_row, rows


def compare_summary(result: dict) -> list[str]:
    """The Friedman and Nemenyi results and the notes, one line each (groups indented)."""
    lines = []
    fr, ne = result["friedman"], result["nemenyi"]
    if fr:
        lines.append(f"Friedman test over {fr['datasets']} datasets and {fr['families']} families: chi² = {fr['chi2']:.3f}, "
                     f"p = {fmt_p(fr['p'])} (Iman–Davenport F = {fr['iman_davenport_f']:.3f}, p = {fmt_p(fr['p_iman_davenport'])}).")
    if ne:
        lines.append(f"Nemenyi critical difference (alpha {result['alpha']:g}): CD = {ne['q_alpha']:.3f} × "
                     f"sqrt(k(k+1)/(6N)) = {ne['cd']:.3f} mean ranks. Families sharing a group letter are not "
                     "significantly different.")
        for letter, g in zip("abcdefghijklmnopqrstuvwxyz", result["groups"]):
            lines.append(f"  group {letter}: {', '.join(g)}")
    lines += [f"Note: {n}" for n in result["notes"]]
    return lines


def compare_markdown(result: dict) -> str:
    header, best_row, rows = compare_table(result)
    lines = [f"{compare_title(result)}:", ""]
    lines += markdown_table(header, [[f"**{c}**" if c else c for c in best_row], *rows],
                            "l" + "r" * (len(header) - 2) + "l")
    summary: list[str] = []
    for line in compare_summary(result):
        if line.startswith("  group"):
            summary.append(f"- {line.strip()}")
        else:
            if summary and summary[-1].startswith("- "):
                summary.append("")
            summary += [line, ""]
    if summary and summary[-1] == "":
        summary.pop()
    return "\n".join(lines + [""] + summary) + "\n"
