"""``abauto leaderboard show/diff/check/compare``: exit codes, one-line errors, a real regression."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from abauto import leaderboard as lb
from abauto.cli import main
from abauto.leaderboard_cli import compare_boards, diff_boards

ROOT = Path(__file__).resolve().parents[1]
SEARCH = ["--trials", "4", "--outer", "kfold:3", "--inner-folds", "3", "--quiet"]


def run(capsys, *argv) -> tuple[int, str, str]:
    """``abauto ARGV`` in this process (main() turns errors into one line + exit code)."""
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


# ------------------------------------------------------------------ constructed leaderboards

def make_board(name="toy", families=None, best=None, seed=0, rows=90, folds=3, metric="balanced_accuracy") -> dict:
    """A valid schema-v1 leaderboard with the given outer scores per family."""
    families = families or {"logreg": [0.9, 0.92, 0.91], "knn": [0.85, 0.86, 0.84]}
    best = best or max(families.values(), key=lambda s: sum(x for x in s if x is not None))

    def block(scores):
        vals = [s for s in scores if s is not None]
        mean = sum(vals) / len(vals) if vals else None
        std = (sum((v - mean) ** 2 for v in vals) / len(vals)) ** 0.5 if vals else None
        return mean, std

    pipeline = [{"slot": "classifier", "plugin": "x", "params": {}}]
    entries = []
    for fam, scores in families.items():
        mean, std = block(scores)
        entries.append({"family": fam, "outer_mean": mean, "outer_std": std, "outer_scores": scores,
                        "metrics": {metric: {"mean": mean, "std": std, "folds": scores}}, "inner_mean": mean,
                        "fit_seconds": 0.1, "predict_seconds": 0.01,
                        "folds": [None if s is None else {"fold": i, "trial": 0, "pipeline": pipeline, "params": {},
                                                          "inner_mean": s, "inner_std": 0.0, "scores": {metric: s}}
                                  for i, s in enumerate(scores)]})
    entries.sort(key=lambda e: -(e["outer_mean"] or 0))
    for i, e in enumerate(entries, 1):
        e["rank"] = i
    b_mean, b_std = block(best)
    board = {
        "schema_version": 1, "abauto_version": "0.1.0", "created": "2026-01-01T00:00:00Z", "command": "test",
        "dataset": {"name": name, "rows": rows, "features": 4, "classes": {"a": rows // 3, "b": rows // 3, "c": rows // 3},
                    "target": "class", "missing_fraction": 0.0},
        "protocol": {"outer": "kfold", "outer_folds": folds, "inner_folds": 3, "grouped": False, "metric": metric,
                     "metrics": [metric], "sampler": "tpe", "trials": 4, "seed": seed},
        "best": {"outer_mean": b_mean, "outer_std": b_std, "outer_scores": best, "families": ["logreg"] * folds,
                 "metrics": {metric: {"mean": b_mean, "std": b_std, "folds": best}}},
        "entries": entries,
        "final": {"trial": 0, "family": "logreg", "pipeline": pipeline, "params": {}, "inner_mean": 0.9, "inner_std": 0.0},
        "trials": {"complete": 16, "pruned": 0, "failed": 0, "total": 16},
        "failures": [], "notes": [], "wall_seconds": 1.0,
    }
    return lb.validate(board)


def write(path: Path, board) -> Path:
    path.write_text(board if isinstance(board, str) else json.dumps(board), encoding="utf-8")
    return path


# ------------------------------------------------------------------ real searches (shared)

@pytest.fixture(scope="module")
def real_boards(tmp_path_factory, dataset_path):
    """Two searches on iris with the same seed and folds: a good one (knn) and a real regression
    (complement naive Bayes, ~0.67 balanced accuracy). Run concurrently to save time."""
    iris = dataset_path("iris")
    base = tmp_path_factory.mktemp("lb")
    runs = {"good": "knn", "bad": "complement_nb"}
    procs = {k: subprocess.Popen([sys.executable, "-m", "abauto.cli", "search", str(iris), *SEARCH, "--plugins", p,
                                  "--out", str(base / k)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, p in runs.items()}
    for k, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"search {k} failed: {err[-2000:]}"
    return {k: base / k / "leaderboard.json" for k in runs}


def test_real_regression_fails_check_and_self_passes(real_boards, capsys):
    good, bad = real_boards["good"], real_boards["bad"]
    code, out, err = run(capsys, "leaderboard", "check", bad, "--baseline", good)
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"FAIL {bad}: significant regression of the selected pipeline")
    assert "p = " in lines[0]
    code, out, err = run(capsys, "leaderboard", "check", good, "--baseline", good, "--max-drop", "0")
    assert code == 0 and err == "" and out.startswith(f"ok {good}")
    # the reverse direction is an improvement, not a failure
    code, out, err = run(capsys, "leaderboard", "check", good, "--baseline", bad)
    assert code == 0, err
    # a baseline folder is matched by file name; several files, one line per reason
    code, out, err = run(capsys, "leaderboard", "check", bad, good, "--baseline", good.parent, "--min-score", "0.8")
    assert code == 1
    assert len(err.strip().splitlines()) == 2  # bad: min-score and regression; good passes
    # diff shows it too
    code, out, err = run(capsys, "leaderboard", "diff", good, bad, "--format", "json")
    assert code == 0
    result = json.loads(out)
    best = result["rows"][0]
    assert best["name"] == "best" and best["verdict"] == "regression" and best["folds"] == 3 and best["delta"] < -0.1


def test_schema_round_trip(real_boards, tmp_path, capsys):
    board = lb.load(real_boards["good"])
    copy_path = write(tmp_path / "copy.json", json.loads(json.dumps(board)))
    assert lb.load(copy_path) == board
    code, out, err = run(capsys, "leaderboard", "show", real_boards["good"], "--format", "json")
    assert code == 0 and json.loads(out) == board
    code, out, _ = run(capsys, "leaderboard", "show", real_boards["good"], "--format", "csv")
    assert code == 0 and out.startswith("rank,family,")
    code, out, _ = run(capsys, "leaderboard", "show", real_boards["good"].parent, "--format", "md")
    assert code == 0 and out.startswith("# Leaderboard: iris")
    code, out, _ = run(capsys, "leaderboard", "show", real_boards["good"])
    assert code == 0 and "knn" in out and "selected per fold" in out


def _invalid_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = make_board()
    wrong_type = copy.deepcopy(good)
    wrong_type["dataset"]["rows"] = "90"
    missing = copy.deepcopy(good)
    del missing["entries"]
    missing_nested = copy.deepcopy(good)
    del missing_nested["entries"][0]["outer_scores"]
    version = copy.deepcopy(good)
    version["schema_version"] = 2
    text = json.dumps(good)
    return {
        "wrong type": (write(tmp_path / "wrong_type.json", wrong_type), r"invalid at dataset/rows"),
        "missing field": (write(tmp_path / "missing.json", missing), r"'entries' is a required property"),
        "missing nested": (write(tmp_path / "nested.json", missing_nested), r"invalid at entries/0"),
        "unknown version": (write(tmp_path / "v2.json", version), r"unsupported schema_version 2"),
        "truncated": (write(tmp_path / "truncated.json", text[: len(text) // 2]), r"not valid JSON"),
        "not an object": (write(tmp_path / "list.json", "[1, 2]"), r"not a JSON object"),
        "absent": (tmp_path / "nope.json", r"no such file"),
    }


@pytest.mark.parametrize("command", ["show", "check", "diff", "compare"])
def test_invalid_files_exit_2_with_one_line(command, tmp_path, capsys):
    ok = write(tmp_path / "ok.json", make_board())
    for what, (path, pattern) in _invalid_files(tmp_path).items():
        argv = {"show": [path], "check": [path], "diff": [ok, path], "compare": [ok, path]}[command]
        code, out, err = run(capsys, "leaderboard", command, *argv)
        lines = err.strip().splitlines()
        assert code == 2, (what, err)
        assert len(lines) == 1 and lines[0].startswith("abauto: error: ") and str(path) in lines[0], (what, err)
        assert re.search(pattern, lines[0]), (what, lines[0])


def test_check_several_files_reports_each_and_worst_code(tmp_path, capsys):
    ok = write(tmp_path / "ok.json", make_board())
    low = write(tmp_path / "low.json", make_board(families={"knn": [0.5, 0.6, 0.55]}))
    bad = write(tmp_path / "bad.json", "{")
    code, out, err = run(capsys, "leaderboard", "check", ok, low, "--min-score", "0.8")
    assert code == 1 and out.count("ok ") == 1
    assert err.strip() == f"FAIL {low}: balanced_accuracy 0.5500 < --min-score 0.8"
    code, out, err = run(capsys, "leaderboard", "check", ok, low, bad, "--min-score", "0.8")
    assert code == 2 and len(err.strip().splitlines()) == 2
    code, _, err = run(capsys, "leaderboard", "check", ok, "--max-drop", "0.1")
    assert code == 2 and "--max-drop needs --baseline" in err


def test_check_max_drop_and_failed_run(tmp_path, capsys):
    old = write(tmp_path / "old.json", make_board(families={"logreg": [0.90, 0.92, 0.91]}))
    new = write(tmp_path / "new.json", make_board(families={"logreg": [0.89, 0.93, 0.88]}))  # -0.01, not significant
    code, _, err = run(capsys, "leaderboard", "check", new, "--baseline", old, "--max-drop", "0.02")
    assert code == 0, err
    code, _, err = run(capsys, "leaderboard", "check", new, "--baseline", old, "--max-drop", "0.005")
    assert code == 1 and "dropped by 0.0100" in err and len(err.strip().splitlines()) == 1
    failed = make_board()
    failed["final"] = None
    code, _, err = run(capsys, "leaderboard", "check", write(tmp_path / "failed.json", failed))
    assert code == 1 and "every trial failed" in err


def test_check_families_flag(tmp_path, capsys):
    old = write(tmp_path / "old.json", make_board(families={"logreg": [0.90, 0.92, 0.91], "knn": [0.85, 0.86, 0.84]}))
    new = write(tmp_path / "new.json", make_board(families={"logreg": [0.90, 0.92, 0.91], "knn": [0.65, 0.67, 0.64]}))
    code, _, err = run(capsys, "leaderboard", "check", new, "--baseline", old)
    assert code == 0, err                        # the selected pipeline did not change
    code, _, err = run(capsys, "leaderboard", "check", new, "--baseline", old, "--families")
    assert code == 1 and "significant regression of family knn" in err


@pytest.mark.parametrize("change, message", [
    ({"seed": 1}, "the seed differs (0 vs 1)"),
    ({"rows": 120}, "rows differ (90 vs 120)"),
    ({"folds": 5, "families": {"logreg": [0.9] * 5}}, "the number of outer folds differs (3 vs 5)"),
    ({"metric": "accuracy"}, "the metric differs"),
])
def test_diff_and_check_refuse_unpaired_files(change, message, tmp_path, capsys):
    old = write(tmp_path / "old.json", make_board())
    new = write(tmp_path / "new.json", make_board(**change))
    for argv in (["diff", old, new], ["check", new, "--baseline", old]):
        code, out, err = run(capsys, "leaderboard", *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "cannot pair" in err and message in err


def test_diff_values(tmp_path, capsys):
    # logreg: d = (0.10, 0.05, 0.10) -> corrected t = sqrt(10), p = 0.0871 (see test_stats)
    old = make_board(families={"logreg": [0.80, 0.90, 0.85], "knn": [0.7, None, 0.8], "svm": [0.6, 0.6, 0.6]})
    new = make_board(families={"logreg": [0.90, 0.95, 0.95], "knn": [0.7, 0.7, None], "mlp": [0.5, 0.5, 0.5]})
    result = diff_boards(old, new, alpha=0.1)
    rows = {r["name"]: r for r in result["rows"]}
    assert rows["logreg"]["t"] == pytest.approx(10 ** 0.5) and rows["logreg"]["verdict"] == "improvement"
    assert rows["best"]["verdict"] == "improvement"
    assert rows["knn"]["folds"] == 1 and rows["knn"]["verdict"] == "too few paired folds"
    assert rows["svm"]["verdict"] == "removed" and rows["mlp"]["verdict"] == "added"
    assert {r["name"]: r for r in diff_boards(old, new, alpha=0.05)["rows"]}["logreg"]["verdict"] == ""
    o, n = write(tmp_path / "o.json", old), write(tmp_path / "n.json", new)
    for fmt in ("table", "md"):
        code, out, _ = run(capsys, "leaderboard", "diff", o, n, "--alpha", "0.1", "--format", fmt)
        assert code == 0 and "improvement" in out and "removed" in out


def test_compare_ranks_friedman_and_missing_families(tmp_path, capsys):
    # same matrix as test_stats.test_friedman_by_hand: mean ranks a 1.25, b 2, c 2.75; chi² = 4.5
    scores = [(0.9, 0.8, 0.7), (0.9, 0.7, 0.8), (0.95, 0.9, 0.6), (0.8, 0.85, 0.7)]
    boards, paths = [], []
    for i, (a, b, c) in enumerate(scores):
        fams = {"a": [a] * 3, "b": [b] * 3, "c": [c] * 3}
        if i == 0:
            fams["d"] = [0.99, None, 0.99]  # scored on one dataset only (and 2 of 3 folds)
        boards.append(make_board(name=f"ds{i}", families=fams))
        paths.append(write(tmp_path / f"ds{i}.json", boards[-1]))
    result = compare_boards(boards, [f"ds{i}" for i in range(4)])
    assert result["ranked"] == ["a", "b", "c"]
    assert result["mean_ranks"] == pytest.approx({"a": 1.25, "b": 2.0, "c": 2.75})
    assert result["friedman"]["chi2"] == pytest.approx(4.5)
    assert result["nemenyi"]["cd"] == pytest.approx(2.343 * 0.5 ** 0.5)
    assert result["groups"] == [["a", "b", "c"]]   # 2.75 - 1.25 = 1.5 < CD 1.657
    assert any("d" in n and "left out" in n for n in result["notes"])
    code, out, err = run(capsys, "leaderboard", "compare", *paths, "--format", "md")
    assert code == 0, err
    assert "| a | 0.9000 ± 0.0000 | 0.9000 ± 0.0000 | 0.9500 ± 0.0000 | 0.8000 ± 0.0000 | 1.25 | a |" in out
    assert "| d | 0.9900 ± 0.0000 (2/3) | - | - | - | - |  |" in out
    assert "chi² = 4.500" in out and "CD = 2.343" in out
    code, out, _ = run(capsys, "leaderboard", "compare", *paths)
    assert code == 0 and "mean rank" in out and "Friedman" in out
    code, out, _ = run(capsys, "leaderboard", "compare", *paths, "--format", "json")
    assert json.loads(out)["mean_ranks"]["a"] == pytest.approx(1.25)


def test_compare_too_few_for_friedman(tmp_path, capsys):
    one = write(tmp_path / "one.json", make_board())
    code, out, err = run(capsys, "leaderboard", "compare", one, "--format", "md")
    assert code == 0 and "Friedman test needs at least 3 ranked families and 2 datasets" in out


def test_bad_format_is_usage_error(tmp_path, capsys):
    one = write(tmp_path / "one.json", make_board())
    code, _, err = run(capsys, "leaderboard", "show", one, "--format", "xml")
    assert code == 2 and "xml" in err


def test_cli_entry_point_subprocess(tmp_path):
    """The installed command path: python -m abauto.cli leaderboard check."""
    bad = write(tmp_path / "v9.json", dict(make_board(), schema_version=9))
    proc = subprocess.run([sys.executable, "-m", "abauto.cli", "leaderboard", "check", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"abauto: error: {bad}: unsupported schema_version 9 (this abauto reads version 1)"


def test_committed_leaderboards_pass_check(capsys):
    """What CI runs: abauto leaderboard check leaderboards/*.json."""
    files = sorted((ROOT / "leaderboards").glob("*.json"))
    if not files:
        pytest.skip("no committed leaderboards/*.json yet (python benchmarks/make_leaderboards.py)")
    code, out, err = run(capsys, "leaderboard", "check", *files)
    assert code == 0, err
    assert out.count("ok ") == len(files)


@pytest.mark.slow
def test_a_committed_leaderboard_reproduces_exactly(dataset_path, tmp_path):
    """Rerunning the recorded command of the smallest committed leaderboard (iris) with today's
    engine gives the same file, score for score, apart from clock times and paths: the
    leaderboards are trial-budget searches with a fixed seed, so any difference is a change of
    the engine or the plugins, and the committed files must then be regenerated
    (python benchmarks/make_leaderboards.py)."""
    import shlex

    committed = json.loads((ROOT / "leaderboards" / "iris.json").read_text(encoding="utf-8"))
    argv = shlex.split(committed["command"])[1:]
    assert argv[0] == "search" and Path(argv[1]).name == "iris.csv", committed["command"]
    argv[1] = str(dataset_path("iris"))
    argv[argv.index("--out") + 1] = str(tmp_path / "iris")
    proc = subprocess.run([sys.executable, "-m", "abauto.cli", *argv], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    again = json.loads((tmp_path / "iris" / "leaderboard.json").read_text(encoding="utf-8"))
    # everything but clock times, command lines and the data's path must reproduce
    old, new = lb.without_run_fields(committed), lb.without_run_fields(again)
    for key in old:  # the first differing part, named, before the whole comparison
        assert new.get(key) == old[key], f"leaderboards/iris.json: {key!r} does not reproduce"
    assert new == old


def test_docs_describe_every_schema_field():
    doc = (ROOT / "docs" / "leaderboard.md").read_text(encoding="utf-8")
    missing = set()

    def walk(node):
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if f"`{name}`" not in doc:
                    missing.add(name)
                walk(sub)
            for key in ("items", "additionalProperties"):
                walk(node.get(key))
            for sub in node.get("oneOf", []) + node.get("anyOf", []):
                walk(sub)
            for sub in node.get("$defs", {}).values():
                walk(sub)

    walk(lb.schema())
    assert not missing, f"docs/leaderboard.md does not describe: {sorted(missing)}"


def test_make_leaderboards_readme_only(tmp_path):
    """benchmarks/make_leaderboards.py --readme-only rebuilds README.md from the JSON files."""
    out = tmp_path / "lbs"
    out.mkdir()
    for i, (a, b, c) in enumerate([(0.9, 0.8, 0.7), (0.9, 0.7, 0.8), (0.95, 0.9, 0.6)]):
        write(out / f"ds{i}.json", make_board(name=f"ds{i}", families={"a": [a] * 3, "b": [b] * 3, "c": [c] * 3}))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_leaderboards.py"), "--readme-only",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    text = (out / "README.md").read_text(encoding="utf-8")
    assert "| [ds0](ds0.json) | 90 | 4 | 3 |" in text
    assert "| a | 0.9000 ± 0.0000 | 0.9000 ± 0.0000 | 0.9500 ± 0.0000 | 1.00 |" in text
    assert "Friedman test over 3 datasets and 3 families" in text
    assert "`--trials 4 --outer kfold:3 --inner-folds 3 --seed 0`" in text
