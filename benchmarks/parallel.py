"""Parallel efficiency: the same abauto search with ``n_jobs=1`` and ``n_jobs=2``.

    python benchmarks/parallel.py                                  # wine, 20 trials, 5 outer x 5 inner
    python benchmarks/parallel.py --data ../shared/datasets/gtzan_30s.csv --trials 30 --repeats 2

Runs ``abauto.search`` (the Python API behind ``abauto search``) with a fixed trial budget and
seed, once with one job and once with two (alternating, ``--repeats`` times each), each into a
fresh temp run folder, and prints wall seconds (the whole search, and the studies alone as the
leaderboard records them), speed-up = t1 / t2 and efficiency = speed-up / 2 (target >= 85 %).

abauto parallelises over studies (one process per outer fold + the final study: 6 studies for 5
outer folds), so 2 workers can be at most as fast as the best split of those 6 studies; the script
prints that bound, computed from the per-study durations of the n_jobs=1 run (greedy in
submission order, as joblib hands them out: the final study first). It also checks that every run
gives the same leaderboard (same seed, deterministic studies): the whole leaderboard.json,
compared field by field, except the fields that measure time or name the run
(``abauto.leaderboard.RUN_FIELDS``); the first difference is printed.

Note: the machine may be shared; the load average before and after each run is printed. The
figure is only meaningful when the 2 cores are otherwise idle.

Trials must exceed the number of classifier families (12 built-in): abauto seeds each study with
one enqueued trial per family.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "wine.csv"


def study_seconds(url: str, names: list[str]) -> list[float]:
    import optuna
    from abauto.studies import make_storage

    st = make_storage(url)
    out = []
    for n in names:
        trials = optuna.load_study(study_name=n, storage=st).get_trials(deepcopy=False)
        starts = [t.datetime_start for t in trials if t.datetime_start]
        ends = [t.datetime_complete for t in trials if t.datetime_complete]
        out.append((max(ends) - min(starts)).total_seconds() if starts and ends else 0.0)
    return out


def first_difference(a, b, path: str = "") -> str | None:
    """Where two JSON values first differ (``entries/3/outer_scores/1: 0.95 != 0.96``), or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}{k}: only in {'the second' if k not in a else 'the first'}"
            found = first_difference(a[k], b[k], f"{path}{k}/")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path.rstrip('/')}: {len(a)} != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}{i}/")
            if found:
                return found
        return None
    return None if a == b else f"{path.rstrip('/')}: {a!r} != {b!r}"


def greedy_makespan(durations: list[float], workers: int) -> float:
    free = [0.0] * workers
    for d in durations:
        i = free.index(min(free))
        free[i] += d
    return max(free)


def one(data: str, trials: int, outer: int, inner: int, n_jobs: int, seed: int, storage: str = "sqlite"):
    from abauto.leaderboard import without_run_fields
    from abauto.search_engine import SearchSettings, search

    with tempfile.TemporaryDirectory(prefix=f"abauto-par{n_jobs}-") as tmp:
        settings = SearchSettings(trials=trials, outer=f"kfold:{outer}", inner_folds=inner, seed=seed, n_jobs=n_jobs,
                                  storage=f"journal:{tmp}/study.journal" if storage == "journal" else None)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = search(data, settings, run_dir=tmp)
        wall = time.perf_counter() - t0
        board = res.leaderboard
        studies = board.get("wall_seconds")
        per_study = study_seconds(settings.storage, res.studies)
        return {"wall": wall, "studies": studies, "per_study": per_study, "best": board["best"]["outer_mean"],
                "board": without_run_fields(board), "load_before": load, "load_after": os.getloadavg()[0]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--outer", type=int, default=5)
    p.add_argument("--inner", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--storage", choices=["sqlite", "journal"], default="sqlite",
                   help="the run folder's SQLite (abauto's default) or a journal file")
    args = p.parse_args(argv)
    from abauto.leaderboard import RUN_FIELDS

    print(f"data {Path(args.data).name}, trials {args.trials}/study, outer {args.outer} + final study, inner {args.inner}, "
          f"cores {os.cpu_count()}, repeats {args.repeats}, storage {args.storage}")
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for r in range(args.repeats):
        for j in ((1, 2) if r % 2 == 0 else (2, 1)):
            out = one(args.data, args.trials, args.outer, args.inner, j, args.seed, args.storage)
            runs[j].append(out)
            print(f"n_jobs={j}: {out['wall']:.1f} s (studies {out['studies'] if out['studies'] is None else round(out['studies'], 1)} s), "
                  f"best outer {out['best']:.4f}, load avg {out['load_before']:.1f} -> {out['load_after']:.1f}", flush=True)
    t1 = statistics.median(o["wall"] for o in runs[1])
    t2 = statistics.median(o["wall"] for o in runs[2])
    speedup = t1 / t2
    eff = speedup / 2
    per = runs[1][0]["per_study"]
    # abauto submits the final study first; the serial part (setup, final fit) is unchanged
    bound_t2 = greedy_makespan(per[-1:] + per[:-1], 2) + (t1 - sum(per))
    bound = t1 / bound_t2 / 2
    reference = runs[1][0]["board"]
    differences = [(j, i, first_difference(reference, o["board"])) for j in (1, 2) for i, o in enumerate(runs[j])]
    differences = [d for d in differences if d[2]]
    print()
    print("| n_jobs | median wall s |")
    print("|---:|---:|")
    print(f"| 1 | {t1:.1f} |")
    print(f"| 2 | {t2:.1f} |")
    print(f"speed-up {speedup:.2f}x, efficiency {eff * 100:.0f} % -> target >= 85 %: {'MET' if eff >= 0.85 else 'MISSED'}")
    print(f"per-study seconds (n_jobs=1): {', '.join(f'{s:.1f}' for s in per)}; serial rest {t1 - sum(per):.1f} s; "
          f"best possible efficiency with 2 workers over these {len(per)} studies: {bound * 100:.0f} %")
    if differences:
        j, i, where = differences[0]
        print(f"same leaderboard with 1 and 2 jobs: NO ({len(differences)} of {len(runs[1]) + len(runs[2])} runs "
              f"differ from the first n_jobs=1 run; first: n_jobs={j} run {i}, {where})")
    else:
        print(f"same leaderboard with 1 and 2 jobs: yes (all {len(runs[1]) + len(runs[2])} runs, every field but "
              f"{', '.join(sorted(RUN_FIELDS))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
