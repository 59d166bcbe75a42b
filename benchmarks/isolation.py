"""What running each trial in a forked child (--trial-timeout / --memory-limit) costs.

The same small search twice, in one run: trials in-process, then each trial in a child process.
Prints wall seconds, per-trial milliseconds and the overhead per trial.

    python benchmarks/isolation.py [--data ../shared/datasets/wine.csv] [--trials 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import abauto
from abauto.search_engine import SearchSettings

ROOT = Path(__file__).resolve().parents[1]


def run(data: Path, trials: int, isolated: bool) -> tuple[float, int]:
    settings = SearchSettings(trials=trials, outer="holdout:0.3", inner_folds=3, seed=0, prune=False,
                              plugins=["logreg", "gaussian_nb", "knn", "standard"],
                              trial_timeout=600 if isolated else None)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = abauto.search(data, settings, run_dir=Path(tmp) / "run")
        wall = time.perf_counter() - t0
    return wall, result.leaderboard["trials"]["total"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "wine.csv")
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    plain, n = run(args.data, args.trials, isolated=False)
    forked, m = run(args.data, args.trials, isolated=True)
    print(f"in-process: {plain:7.2f} s for {n} trials ({1000 * plain / n:6.1f} ms/trial)")
    print(f"isolated:   {forked:7.2f} s for {m} trials ({1000 * forked / m:6.1f} ms/trial)")
    print(f"overhead:   {1000 * (forked / m - plain / n):+6.1f} ms/trial ({forked / plain - 1:+.1%} of the search)")


if __name__ == "__main__":
    main()
