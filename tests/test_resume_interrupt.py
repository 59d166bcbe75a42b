"""A resumed search keeps the command that started it; Ctrl-C says how to resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from abauto import leaderboard as lb

TINY = ["--plugins", "logreg,gaussian_nb", "--outer", "kfold:2", "--inner-folds", "2", "--quiet"]


def test_resume_keeps_the_first_command(dataset_path, tmp_path, cli, monkeypatch):
    run = tmp_path / "run"
    first = ["search", str(dataset_path("iris")), "--trials", "2", *TINY, "--out", str(run)]
    monkeypatch.setattr(sys, "argv", ["abauto", *first])
    code, _, err = cli(*first)
    assert code == 0, err
    board = lb.load(run / "leaderboard.json")
    assert board["command"] == "abauto " + " ".join(first) and "resumed" not in board

    second = ["search", "--resume", str(run), "--trials", "3", "--quiet"]
    monkeypatch.setattr(sys, "argv", ["abauto", *second])
    code, _, err = cli(*second)
    assert code == 0, err
    board = lb.load(run / "leaderboard.json")  # valid against the schema with the new field
    assert board["command"] == "abauto " + " ".join(first)
    assert board["resumed"] == ["abauto " + " ".join(second)]
    assert json.loads((run / "run.json").read_text())["commands"] == [board["command"], *board["resumed"]]


def test_ctrl_c_says_how_to_resume(dataset_path, tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "ABAUTO_LOAD_PLUGINS": ""}
    proc = subprocess.Popen([sys.executable, "-m", "abauto.cli", "search", str(dataset_path("wine")), "--trials", "500",
                             *TINY, "--out", str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (run / "study.db").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # trials are running
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip() == f"abauto: interrupted; continue with: abauto search --resume {run}"  # one line
    assert out == ""  # --quiet
    # what the resume needs and nothing half-written: no result file, no temporary, no SQLite journal
    assert sorted(p.name for p in run.iterdir()) == [".abauto.lock", "run.json", "study.db"]
