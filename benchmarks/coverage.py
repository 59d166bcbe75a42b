"""Every family on every fold (issue 16): one ``abauto.search`` per dataset at a trial budget of
two trials per family per study, and whether every family row was scored on every outer fold.

    python benchmarks/coverage.py                        # every CSV of ../shared/datasets
    python benchmarks/coverage.py --only gtzan_30s,digits --trials 24 --outer kfold:3 --inner-folds 3

Prints one line per dataset, ``dataset: k/k families on every fold`` (k = eligible families),
the families that missed folds, whether the saved model's family has a row, and the seconds.
tests/test_schedule.py runs the four fastest datasets the same way; this runs all of them.
Exit code 1 when a dataset misses. Run folders go to a temporary directory (``--out`` to keep).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets"))
    p.add_argument("--only", default="", help="comma-separated dataset names (default: every CSV)")
    p.add_argument("--trials", type=int, default=24)
    p.add_argument("--outer", default="kfold:3")
    p.add_argument("--inner-folds", type=int, default=2)
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)

    import abauto
    from abauto.data import load_dataset
    from abauto.registry import load_registry
    from abauto.schedule import families
    from abauto.search_engine import SearchSettings
    from abauto.extensions import split_values
    from abauto.space import DataShape, PipelineSpace

    out = Path(args.out or tempfile.mkdtemp(prefix="abauto-coverage-"))
    csvs = {f.stem: f for f in sorted(Path(args.data).glob("*.csv"))}
    names = split_values(args.only) or list(csvs)
    failed = 0
    for name in names:
        t0 = time.perf_counter()
        settings = SearchSettings(trials=args.trials, outer=args.outer, inner_folds=args.inner_folds,
                                  n_jobs=args.n_jobs)
        dataset = load_dataset(csvs[name])
        eligible = families(PipelineSpace(load_registry(), DataShape.of(dataset)), settings)
        board = abauto.search(dataset, settings, run_dir=out / name).leaderboard
        seconds = time.perf_counter() - t0
        rows = {e["family"]: e for e in board["entries"]}
        short = {f: sum(s is not None for s in rows[f]["outer_scores"]) if f in rows else 0
                 for f in eligible if f not in rows or None in rows[f]["outer_scores"]}
        final = board["final"] and board["final"]["family"]
        k = len(eligible)
        ok = not short and final in rows
        failed += not ok
        missed = ", ".join(f"{f} {m}/{board['protocol']['outer_folds']}" for f, m in short.items())
        print(f"{name}: {k - len(short)}/{k} families on every fold"
              f"{f' (missed: {missed})' if missed else ''}; saved model {final} "
              f"{'has a row' if final in rows else 'HAS NO ROW'}; {seconds:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
