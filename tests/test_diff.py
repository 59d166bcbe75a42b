"""``abauto leaderboard diff`` on hand-made leaderboards derived from the committed ones: no claim
on too few folds, a Δ whose sign matches the means it shows, trial counts, sorted rows, and why
two runs do not pair."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from abauto import leaderboard as lb
from abauto.cli import main
from abauto.errors import LeaderboardError
from abauto.leaderboard_compare import diff_boards, pairing_problem
from abauto.leaderboard_view import BEST, diff_markdown, diff_notes

ROOT = Path(__file__).resolve().parents[1]


def committed(name: str) -> dict:
    path = ROOT / "leaderboards" / f"{name}.json"
    if not path.exists():
        pytest.skip(f"leaderboards/{name}.json is not committed")
    return lb.load(path)


def with_scores(board: dict, family: str, scores: list) -> dict:
    """``board`` with ``family``'s outer scores (and its mean, as a leaderboard computes it) replaced."""
    board = copy.deepcopy(board)
    entry = next(e for e in board["entries"] if e["family"] == family)
    present = [s for s in scores if s is not None]
    entry["outer_scores"] = scores
    entry["outer_mean"] = sum(present) / len(present) if present else None
    return lb.validate(board)


def row(result: dict, name: str) -> dict:
    return next(r for r in result["rows"] if r["name"] == name)


def test_two_paired_folds_make_no_significance_claim():
    old = with_scores(committed("wine"), "svm", [0.90, 0.95, None])
    new = with_scores(old, "svm", [0.9111, 0.9611, None])  # +0.0111 on both paired folds
    r = row(diff_boards(old, new), "svm")
    assert r["folds"] == 2 and r["delta"] == pytest.approx(0.0111)
    assert r["verdict"] == "too few paired folds" and r["t"] is None and r["p"] is None


def test_paired_delta_agrees_with_the_means_shown():
    # fold 0 paired only: the family fell there (0.90 -> 0.85) though its all-fold mean rose (0.85 -> 0.92)
    old = with_scores(committed("wine"), "knn", [0.90, 0.80, None])
    new = with_scores(old, "knn", [0.85, None, 0.99])
    r = row(diff_boards(old, new), "knn")
    assert r["old_mean"] == pytest.approx(0.85) and r["new_mean"] == pytest.approx(0.92)
    assert r["old_paired"] == pytest.approx(0.90) and r["new_paired"] == pytest.approx(0.85)
    assert r["delta"] == pytest.approx(r["new_paired"] - r["old_paired"]) and r["delta"] < 0
    for other in diff_boards(committed("wine"), new)["rows"]:  # every row: the sign of Δ is that of its means
        if other["delta"] is not None:
            assert other["delta"] == pytest.approx(other["new_paired"] - other["old_paired"])
    notes = " ".join(diff_notes(diff_boards(old, new)))
    assert "means over the paired folds" in notes and "all folds" in notes


def test_header_counts_each_runs_trials():
    old = committed("wine")
    new = copy.deepcopy(old)
    new["protocol"]["trials"] = 60
    new["trials"].update(total=240, complete=230, pruned=10, failed=0)
    result = diff_boards(old, lb.validate(new))
    per, total = old["protocol"]["trials"], old["trials"]["total"]  # the committed run's budget
    assert result["trials"]["old"]["total"] == total == 4 * per
    line = diff_notes(result)[0]
    assert f"old: {total} trials ({per} per study x 4 studies" in line and "new: 240 trials (60 per study x 4 studies" in line
    assert "230 complete" in line


def test_rows_are_sorted_by_delta_after_the_selected_pipeline():
    old = committed("wine")
    new = copy.deepcopy(old)
    for i, e in enumerate(new["entries"]):
        e["outer_scores"] = [None if s is None else s + (i - 5) / 100 for s in e["outer_scores"]]
    result = diff_boards(old, lb.validate(new))
    assert result["rows"][0]["name"] == BEST and result["order"] == "delta"
    deltas = [r["delta"] for r in result["rows"][1:] if r["delta"] is not None]
    assert deltas == sorted(deltas, reverse=True) and len(deltas) == len(old["entries"])
    assert "families by Δ, largest gain first" in diff_markdown(result, "t")


@pytest.mark.parametrize("change, words", [
    (lambda b: committed("iris"), ["other data", "the dataset name differs", "rows differ (178 vs 150)"]),
    (lambda b: b["protocol"].update(seed=1), ["other outer folds of the same data", "the seed differs (0 vs 1)"]),
    (lambda b: b["protocol"].update(folds_sha256="0" * 64), ["other outer folds of the same data", "folds_sha256",
                                                              "order"]),
    (lambda b: b["protocol"].update(metric="accuracy"), ["other metric", "'balanced_accuracy' vs 'accuracy'"]),
])
def test_unpaired_runs_say_why_in_words(change, words, tmp_path, capsys):
    old = committed("wine")
    new = copy.deepcopy(old)
    new = change(new) or new
    problem = pairing_problem(old, new)
    assert problem and all(w in problem for w in words), problem
    with pytest.raises(LeaderboardError, match="cannot pair"):
        diff_boards(old, new)
    paths = [tmp_path / "old.json", tmp_path / "new.json"]
    for p, b in zip(paths, (old, new)):
        p.write_text(json.dumps(b))
    with pytest.raises(SystemExit) as exc:
        main(["leaderboard", "diff", *map(str, paths)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1 and words[0] in err


def test_terminal_and_markdown_show_the_notes(tmp_path, capsys):
    old = committed("wine")
    new = with_scores(old, "svm", [0.99, 0.99, 0.99])
    paths = [tmp_path / "old.json", tmp_path / "new.json"]
    for p, b in zip(paths, (old, new)):
        p.write_text(json.dumps(b))
    for fmt in ("table", "md"):
        with pytest.raises(SystemExit) as exc:
            main(["leaderboard", "diff", *map(str, paths), "--format", fmt])
        out = " ".join(capsys.readouterr().out.split())
        assert exc.value.code == 0 and f"old: {old['trials']['total']} trials" in out and "Δ = new - old" in out
