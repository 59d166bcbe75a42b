"""What ``abauto leaderboard diff``, ``check`` and ``compare`` compute, without the command line.

* :func:`diff_boards` pairs two leaderboards of the same data and outer folds fold by fold and
  tests every change of outer score with the Nadeau–Bengio corrected resampled t-test.
* :func:`check_board` lists why a leaderboard fails the CI gate (a threshold, a drop or a
  significant regression against a baseline).
* :func:`compare_boards` puts several datasets side by side: mean ranks, a Friedman test and the
  Nemenyi critical difference.

The statistics live in :mod:`abauto.stats`; the commands in :mod:`abauto.leaderboard_cli`.
"""

from __future__ import annotations

import json
from pathlib import Path

from abauto import leaderboard as lb
from abauto import stats
from abauto.errors import LeaderboardError
from abauto.leaderboard_view import BEST, fmt_p


MIN_PAIRED_FOLDS = 3  # fewer paired folds: no significance claim (a t-test on 2 differences is noise)


def _show(value) -> str:
    return json.dumps(value) if isinstance(value, (dict, str)) else str(value)


def _differences(checks) -> list[str]:
    return [f"{what} {'differs' if singular else 'differ'} ({_show(a)} vs {_show(b)})"
            for what, singular, a, b in checks if a != b]


def pairing_problem(old: dict, new: dict) -> str | None:
    """Why the outer folds of two leaderboards cannot be paired, in words (None when they can).

    Said in the order a reader needs it: **other data** (dataset name, rows or class counts
    differ), else **other folds** of the same data (seed or outer protocol differ, or, with all
    of them equal, ``protocol.folds_sha256``: the rows' order or their groups changed), and
    **other metric** (scores of different metrics never pair). The split is a function of the
    rows (their number, class counts and order), the seed and the outer protocol.
    """
    reasons = []
    do, dn, po, pn = old["dataset"], new["dataset"], old["protocol"], new["protocol"]
    data = _differences([("the dataset name", True, do["name"], dn["name"]), ("rows", False, do["rows"], dn["rows"]),
                         ("class counts", False, do["classes"], dn["classes"])])
    if data:
        reasons.append("other data: " + ", ".join(data))
    else:
        folds = _differences([
            ("the seed", True, po["seed"], pn["seed"]), ("the outer protocol", True, po["outer"], pn["outer"]),
            ("the number of outer folds", True, po["outer_folds"], pn["outer_folds"]),
            ("the holdout fraction", True, po.get("holdout_fraction"), pn.get("holdout_fraction")),
            ("grouping (--groups)", True, po["grouped"], pn["grouped"])])
        fa, fb = po.get("folds_sha256"), pn.get("folds_sha256")
        if folds:
            reasons.append("other outer folds of the same data: " + ", ".join(folds))
        elif fa and fb and fa != fb:
            reasons.append("other outer folds of the same data: same rows, classes, seed and protocol, but the folds "
                           "differ (folds_sha256): the rows' order or their groups changed")
    if po["metric"] != pn["metric"]:
        reasons.append(f"other metric: the metric differs ({po['metric']!r} vs {pn['metric']!r}); scores of "
                       f"different metrics do not pair")
    return "; ".join(reasons) or None


def _ratio(board: dict) -> float:
    p = board["protocol"]
    return stats.test_fraction(p["outer_folds"], p["outer"], p.get("holdout_fraction"))


def _mean(values: list) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _compare_scores(name: str, old: list | None, new: list | None, old_mean, new_mean, ratio: float,
                    alpha: float) -> dict:
    """One diff row. ``old_mean``/``new_mean``: the leaderboards' means over every fold each run
    scored; ``old_paired``/``new_paired``: means over the paired folds only (both runs scored the
    family there), so ``delta = new_paired - old_paired`` is the mean paired difference the test uses."""
    row = {"name": name, "old_mean": old_mean, "new_mean": new_mean, "old_paired": None, "new_paired": None,
           "delta": None, "folds": 0, "outer_folds": len(old or new or []), "t": None, "p": None, "verdict": ""}
    if old is None:
        row["verdict"] = "added"
        return row
    if new is None:
        row["verdict"] = "removed"
        return row
    paired = [(a, b) for a, b in zip(old, new) if a is not None and b is not None]
    test = stats.corrected_ttest(old, new, ratio)
    row.update(folds=test.n)
    if not paired:
        row["verdict"] = "no common fold"
        return row
    row.update(old_paired=_mean([a for a, _ in paired]), new_paired=_mean([b for _, b in paired]), delta=test.mean)
    if test.n < MIN_PAIRED_FOLDS:
        row["verdict"] = "too few paired folds"
        return row
    row.update(t=test.t, p=test.p)
    if test.significant(alpha):
        row["verdict"] = "regression" if test.mean < 0 else "improvement"
    return row


def _trials(board: dict) -> dict:
    """How many trials a run made: per study (the budget), studies, and in all by state."""
    t = board["trials"]
    return {"per_study": board["protocol"]["trials"], "studies": board["protocol"]["outer_folds"] + 1,
            "inner_folds": board["protocol"]["inner_folds"], **{k: t.get(k) for k in ("total", "complete", "pruned", "failed")}}


def diff_boards(old: dict, new: dict, alpha: float = 0.05) -> dict:
    """Fold-by-fold comparison of ``new`` against ``old``; raises LeaderboardError when the two
    cannot be paired (:func:`pairing_problem`).

    ``delta`` is the mean of the paired differences ``new - old`` over the folds where both runs
    scored the row (``folds``), which equals ``new_paired - old_paired``: the means over those
    folds. ``old_mean``/``new_mean`` are the leaderboards' own means over every fold each run
    scored; they differ from the paired ones when a family was scored on some folds only. No
    test below :data:`MIN_PAIRED_FOLDS` paired folds (verdict ``too few paired folds``).

    Rows: the selected pipeline (``best``) first, then the families by ``delta``, largest gain
    first, then those without one (added, removed, no common fold) by name.
    """
    problem = pairing_problem(old, new)
    if problem:
        raise LeaderboardError(f"cannot pair the leaderboards: {problem}")
    ratio = _ratio(old)
    rows = [_compare_scores(BEST, old["best"]["outer_scores"], new["best"]["outer_scores"],
                            old["best"]["outer_mean"], new["best"]["outer_mean"], ratio, alpha)]
    o = {e["family"]: e for e in old["entries"]}
    n = {e["family"]: e for e in new["entries"]}
    families = []
    for fam in sorted(set(o) | set(n)):
        eo, en = o.get(fam), n.get(fam)
        families.append(_compare_scores(fam, eo and eo["outer_scores"], en and en["outer_scores"],
                                        eo and eo["outer_mean"], en and en["outer_mean"], ratio, alpha))
    families.sort(key=lambda r: (r["delta"] is None, -(r["delta"] or 0.0), r["name"]))
    return {"metric": old["protocol"]["metric"], "alpha": alpha, "outer_folds": old["protocol"]["outer_folds"],
            "test_train_ratio": ratio, "test": "Nadeau-Bengio corrected resampled t-test (two-sided)",
            "min_paired_folds": MIN_PAIRED_FOLDS, "order": "delta", "trials": {"old": _trials(old), "new": _trials(new)},
            "rows": rows + families}


def baseline_for(file: Path, board: dict, baseline: Path) -> Path | None:
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
                               f"paired folds (corrected t = {r['t']:.2f}, p = {fmt_p(r['p'])} < {alpha:g})")
    return reasons


def resolve(path: Path) -> Path:
    """A run folder stands for its ``leaderboard.json``."""
    return path / "leaderboard.json" if path.is_dir() else path


def check_file(path: Path, min_score: float | None = None, baseline: Path | None = None,
               max_drop: float | None = None, alpha: float = 0.05,
               families: bool = False) -> tuple[dict, dict | None, list[str]]:
    """(board, its baseline board or None, reasons it fails) for one file of ``abauto leaderboard
    check``. Raises LeaderboardError when the file is invalid, has no baseline in the folder
    ``baseline`` or cannot be paired with it."""
    board = lb.load(path)
    base = None
    if baseline is not None:
        base_path = baseline_for(path, board, baseline)
        if base_path is None:
            raise LeaderboardError(f"{path}: no baseline in {baseline} (by file name or dataset {board['dataset']['name']!r})")
        base = lb.load(base_path)
        problem = pairing_problem(base, board)
        if problem:
            raise LeaderboardError(f"{path}: cannot pair with baseline {base_path}: {problem}")
    return board, base, check_board(board, str(path), min_score, base, max_drop, alpha, families)


def dataset_names(boards: list[dict], paths: list[Path]) -> list[str]:
    """Column names for ``compare``: the dataset names, told apart by file or folder name, then by
    position, when several files hold the same dataset."""
    names = [b["dataset"]["name"] for b in boards]
    names = [n if names.count(n) == 1 else f"{n} ({p.parent.name if p.stem == 'leaderboard' else p.stem})"
             for n, p in zip(names, paths)]
    return [n if names.count(n) == 1 else f"{n} #{i + 1}" for i, n in enumerate(names)]


def compare_boards(boards: list[dict], names: list[str], alpha: float = 0.05) -> dict:
    """Families x datasets table of outer mean ± std, mean ranks over the families present on every
    dataset, the Friedman test and the Nemenyi critical difference with its groups.

    Families missing on a dataset, or scored on only some of its outer folds (a budget too small
    for every family on every fold, or failed refits), are left out of the ranks and the tests
    and listed in ``notes``: the Friedman test needs complete blocks, and a mean over other folds
    is not comparable.
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
    complete = [f for f in fams if all(c is not None and c["folds"] == c["outer_folds"] for c in cells[f])]
    missing = [f for f in fams if f not in complete]
    notes = []
    if len(metric_set) > 1:
        notes.append(f"the files use different metrics ({', '.join(metric_set)}); ranks are within each dataset")
    if missing:
        notes.append(f"left out of ranks and tests (not scored on every outer fold of every dataset): "
                     f"{', '.join(missing)}")
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
