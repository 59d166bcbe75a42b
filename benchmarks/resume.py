"""Kill and resume: a search killed with SIGKILL several times and resumed each time must end with
the leaderboard of an uninterrupted search (same data, seed and trial budget).

    python benchmarks/resume.py                                       # wine, 5 runs of 5 kills each
    python benchmarks/resume.py --data ../shared/datasets/iris.csv --runs 3 --kills 4 --trials 30

Runs ``abauto search`` once uninterrupted, then ``--runs`` times with ``--kills`` kills each: the
search is started, killed (``kill -9``) once the run folder's study.db holds a chosen number of
finished trials, resumed with ``abauto search --resume``, killed again, ... and finally resumed to
the end. The kill points differ from run to run (drawn from ``--seed`` and the run number) and
spread over the seeded first trials, the sampler's random start-up trials and the TPE phase of
every study. Before each kill the process is checked to be alive, so every kill lands mid-run.
Each final ``leaderboard.json`` is compared with the uninterrupted one field by field, timing
fields aside (``abauto.leaderboard.RUN_FIELDS``: clock times, command lines, the data's path); the first
differences are printed. Last line:

    kill-and-resume runs equal to the uninterrupted leaderboard N/N

Only trial budgets are reproducible: under ``--timeout`` how many trials fit depends on the machine.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any, Callable, Sequence

from abauto.leaderboard import RUN_FIELDS

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "wine.csv"
PLUGINS = "logreg,gaussian_nb,knn,standard,minmax,pca"


def finished_trials(run: Path) -> int:
    """Finished (complete, pruned or failed) trials of every study in ``run``/study.db; 0 while the
    file or its tables do not exist yet. A plain reader: the search's writes go on (WAL mode)."""
    db = run / "study.db"
    if not db.exists():
        return 0
    with closing(sqlite3.connect(db, timeout=30)) as con:
        con.execute("PRAGMA query_only = ON")
        if not con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='trials'").fetchone():
            return 0
        return con.execute("SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED', 'FAIL')").fetchone()[0]


def search_args(data: str | Path, trials: int, seed: int, plugins: str = PLUGINS) -> list[str]:
    """``abauto search`` options of a small search: 2 outer folds (3 studies with the final one)."""
    return ["search", str(data), "--trials", str(trials), "--seed", str(seed), "--outer", "kfold:2",
            "--inner-folds", "2", "--plugins", plugins]


def abauto(*args: str) -> list[str]:
    return [sys.executable, "-m", "abauto.cli", *args, "--quiet"]


def run(cmd: list[str], timeout: float = 600) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()[-500:]}")


def kill_and_resume(args: Sequence[str], out: Path, kills: Sequence[int], timeout: float = 300,
                    poll: float = 0.02, on_kill: Callable[[Path], None] | None = None) -> list[int]:
    """Start ``abauto <args> --out out``; at each number in ``kills`` (finished trials, ascending)
    check the search is still running and SIGKILL it (then call ``on_kill(out)``), then resume it
    with ``--resume out``; finally resume it to the end. Returns the finished trials the study.db
    held at each kill."""
    at = []
    cmd = abauto(*args, "--out", str(out))
    for target in kills:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + timeout
            while finished_trials(out) < target:
                if proc.poll() is not None:
                    raise RuntimeError(f"the search exited ({proc.returncode}) with {finished_trials(out)} finished "
                                       f"trials, before the kill at {target}: {proc.stderr.read().decode()[-300:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no kill point {target} within {timeout:g} s")
                time.sleep(poll)
            if proc.poll() is not None:
                raise RuntimeError(f"the search had already exited ({proc.returncode}) at the kill at {target}")
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()
        if proc.returncode != -signal.SIGKILL:
            raise RuntimeError(f"the kill at {target} hit a finished search (exit {proc.returncode})")
        at.append(finished_trials(out))
        if on_kill:
            on_kill(out)
        cmd = abauto("search", "--resume", str(out))
    run(cmd)
    return at


def differences(a: Any, b: Any, path: str = "", skip: frozenset[str] = RUN_FIELDS) -> list[str]:
    """Where two JSON values differ, field by field (``path: a != b``), keys in ``skip`` aside."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            if key in skip:
                continue
            if key not in a or key not in b:
                out.append(f"{path}/{key}: only in {'the first' if key in a else 'the second'}")
            else:
                out += differences(a[key], b[key], f"{path}/{key}", skip)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} != {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}/{i}", skip)]
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} != {b!r}"]


def kill_points(total: int, kills: int, rng: random.Random) -> list[int]:
    """``kills`` distinct kill points in 1 .. total - 2, spread over the search's length."""
    edges = [1 + (total - 2) * i // kills for i in range(kills + 1)]
    return [rng.randrange(lo, max(lo + 1, hi)) for lo, hi in zip(edges, edges[1:])]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--trials", type=int, default=20, help="trial budget per study (3 studies)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--kills", type=int, default=5, help="kills per run")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    search = search_args(args.data, args.trials, args.seed)
    total = 3 * args.trials
    equal = 0
    with tempfile.TemporaryDirectory(prefix="abauto-resume-") as tmp:
        t0 = time.perf_counter()
        run(abauto(*search, "--out", f"{tmp}/whole"))
        print(f"data {Path(args.data).name}, {args.trials} trials x 3 studies, seed {args.seed}: "
              f"uninterrupted {time.perf_counter() - t0:.1f} s", flush=True)
        whole = json.loads(Path(tmp, "whole", "leaderboard.json").read_text())
        for r in range(args.runs):
            out = Path(tmp, f"run{r}")
            points = kill_points(total, args.kills, random.Random(args.seed * 1000 + r))
            t0 = time.perf_counter()
            at = kill_and_resume(search, out, points)
            diff = differences(whole, json.loads((out / "leaderboard.json").read_text()))
            equal += not diff
            print(f"run {r + 1}: killed at {', '.join(map(str, at))} of {total} finished trials, "
                  f"{time.perf_counter() - t0:.1f} s: {'equal' if not diff else f'{len(diff)} differences'}", flush=True)
            for d in diff[:5]:
                print(f"    {d}")
    print(f"kill-and-resume runs equal to the uninterrupted leaderboard {equal}/{args.runs}")
    return 0 if equal == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
