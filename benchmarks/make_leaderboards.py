"""Regenerate ``leaderboards/``: one ``abauto search`` per dataset with a fixed budget and seed.

    python benchmarks/make_leaderboards.py                 # every CSV in ../shared/datasets
    python benchmarks/make_leaderboards.py --only iris,wine

For every ``<dataset>.csv`` in the folder (default ``../shared/datasets`` relative to the repo)
it runs, from the repository root,

    abauto search <csv> --trials 24 --outer kfold:3 --inner-folds 3 --seed 0 --n-jobs 2 \
        --out runs/leaderboards/<dataset> --quiet

copies the run's ``leaderboard.json`` to ``leaderboards/<dataset>.json`` and rewrites
``leaderboards/README.md`` with the cross-dataset comparison of ``abauto leaderboard compare
--format md`` (mean ranks, Friedman test, Nemenyi groups).

The budget is a trial count, not a time limit, so the files are reproducible for the same abauto
version, plugins and data (``--n-jobs`` does not change results). 24 trials per study (two per
built-in family: every family is scored on every outer fold), 3 outer
folds (4 studies: one per outer fold and the final one) and 3 inner folds keep the whole
regeneration at about 10-25 minutes on a 2-core machine; the timings of the last run are in the
README. Exit code 1 when a search failed (its previous file, if any, is kept).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from abauto.extensions import split_values

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {"trials": 24, "outer": "kfold:3", "inner_folds": 3, "seed": 0, "n_jobs": 2}


def rel(path: Path) -> str:
    """``path`` relative to the repository root (it ends up in the leaderboard's ``command``)."""
    return Path(os.path.relpath(path.resolve(), ROOT.resolve())).as_posix()


def search_args(args) -> list[str]:
    return ["--trials", str(args.trials), "--outer", args.outer, "--inner-folds", str(args.inner_folds),
            "--seed", str(args.seed), "--n-jobs", str(args.n_jobs)]


def run_one(csv: Path, args) -> tuple[bool, float, str]:
    run_dir = args.work / csv.stem
    cmd = [sys.executable, "-m", "abauto.cli", "search", rel(csv), *search_args(args),
           "--out", rel(run_dir), "--quiet"]
    error = ""
    t0 = time.perf_counter()
    for attempt in range(2):
        if run_dir.exists():  # a fresh run folder (search() creates study.db's tables before its workers start)
            shutil.rmtree(run_dir)
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode == 0 and (run_dir / "leaderboard.json").is_file():
            return True, time.perf_counter() - t0, ""
        lines = [l for l in proc.stderr.splitlines() if l.startswith("abauto")] or proc.stderr.splitlines()[-1:]
        error = lines[-1] if lines else f"exit code {proc.returncode}"
        print(f"  attempt {attempt + 1} failed: {error}", flush=True)
    return False, time.perf_counter() - t0, error


def readme(out: Path, args, timings: dict[str, float], failed: dict[str, str]) -> str:
    files = sorted(out.glob("*.json"))
    rel_files = [rel(f) for f in files]
    compare = subprocess.run([sys.executable, "-m", "abauto.cli", "leaderboard", "compare", *rel_files, "--format", "md"],
                             cwd=ROOT, capture_output=True, text=True)
    if compare.returncode != 0:
        raise SystemExit(f"abauto leaderboard compare failed: {compare.stderr.strip()}")
    rows = []
    for f in files:
        b = json.loads(f.read_text(encoding="utf-8"))
        d, best = b["dataset"], b["best"]
        final = b["final"]["family"] if b["final"] else "-"
        secs = timings.get(f.stem)
        rows.append(f"| [{d['name']}]({f.name}) | {d['rows']} | {d['features']} | {len(d['classes'])} | "
                    f"{best['outer_mean']:.4f} ± {best['outer_std']:.4f} | {', '.join(x or '-' for x in best['families'])} | "
                    f"{final} | {b['trials']['complete']}/{b['trials']['total']} | "
                    f"{b['wall_seconds']:.0f} s |")
    protocols = {json.dumps({k: v for k, v in json.loads(f.read_text(encoding="utf-8"))["protocol"].items()
                             if k in ("outer", "outer_folds", "inner_folds", "trials", "seed", "metric", "sampler")},
                            sort_keys=True) for f in files}
    if len(protocols) == 1:
        p = json.loads(protocols.pop())
        budget = (f"`--trials {p['trials']} --outer {p['outer']}:{p['outer_folds']} --inner-folds {p['inner_folds']} "
                  f"--seed {p['seed']}` ({p['trials']} trials per study; {p['outer_folds']} outer folds, each with its "
                  f"own study, plus the final study; {p['inner_folds']}-fold inner CV; sampler {p['sampler']}; "
                  f"metric {p['metric']}; all installed plugins)")
    else:
        budget = "**the files were made with different budgets** (see each file's `protocol`)"
    total = sum(timings.values())
    studies = sum(json.loads(f.read_text(encoding="utf-8"))["wall_seconds"] for f in files)
    lines = [
        "# Leaderboards",
        "",
        "Reference results of `abauto search` on the datasets in `../shared/datasets`, one "
        "[leaderboard file](../docs/leaderboard.md) per dataset. CI checks them with",
        "",
        "    abauto leaderboard check leaderboards/*.json",
        "",
        "and a change to the search can be judged against them, dataset by dataset, with",
        "",
        "    abauto leaderboard diff leaderboards/<dataset>.json runs/<run>/leaderboard.json",
        "",
        "(same data, seed and outer folds: the scores are paired fold by fold and tested with the "
        "Nadeau–Bengio corrected resampled t-test).",
        "",
        "Do not edit these files by hand; regenerate them all with",
        "",
        "    python benchmarks/make_leaderboards.py",
        "",
        f"Budget (a trial count, so reproducible for the same abauto, plugins and data): {budget}, run with "
        f"`--n-jobs {args.n_jobs}` (which does not change results). "
        + f"The studies of these files took {studies / 60:.1f} minutes of wall time in all (`wall_seconds`)"
        + (f"; the whole regeneration {total / 60:.1f} minutes on a 2-core machine." if timings else "."),
        "",
        "## Per dataset",
        "",
        "| dataset | rows | features | classes | outer balanced accuracy (selected per fold) | families selected per fold | final model | trials complete | search wall time |",
        "|---|---:|---:|---:|---:|---|---|---:|---:|",
        *rows,
        "",
        "## Across datasets",
        "",
        "Output of `abauto leaderboard compare leaderboards/*.json --format md`. Families not scored on "
        "every outer fold of every dataset are left out of the ranks and the tests (the Friedman test needs "
        "complete blocks); with two trials per family per study every family is scored on every fold.",
        "",
        compare.stdout.rstrip(),
        "",
    ]
    if failed:
        lines += ["## Failed in the last regeneration", ""] + [f"- {k}: {v}" for k, v in failed.items()] + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets", help="folder of CSV files")
    ap.add_argument("--out", type=Path, default=ROOT / "leaderboards", help="where the JSON files and README go")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "leaderboards", help="run folders (git-ignored)")
    ap.add_argument("--only", default="", help="comma-separated dataset names (default: every CSV)")
    ap.add_argument("--readme-only", action="store_true", help="only rewrite README.md from the JSON files there")
    ap.add_argument("--trials", type=int, default=DEFAULTS["trials"])
    ap.add_argument("--outer", default=DEFAULTS["outer"])
    ap.add_argument("--inner-folds", type=int, default=DEFAULTS["inner_folds"])
    ap.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    ap.add_argument("--n-jobs", type=int, default=DEFAULTS["n_jobs"])
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    failed: dict[str, str] = {}
    if not args.readme_only:
        only = set(split_values(args.only))
        csvs = sorted(p for p in args.datasets.glob("*.csv") if not only or p.stem in only)
        if not csvs:
            print(f"no CSV files in {args.datasets}" + (f" named {sorted(only)}" if only else ""), file=sys.stderr)
            return 2
        t_all = time.perf_counter()
        for csv in csvs:
            print(f"{csv.stem}: searching ...", flush=True)
            ok, secs, error = run_one(csv, args)
            if ok:
                publish(args.work / csv.stem / "leaderboard.json", args.out / f"{csv.stem}.json", args.datasets)
                timings[csv.stem] = secs
                print(f"{csv.stem}: done in {secs:.0f} s", flush=True)
            else:
                failed[csv.stem] = error
                print(f"{csv.stem}: FAILED ({error})", flush=True)
        print(f"all searches: {(time.perf_counter() - t_all) / 60:.1f} min", flush=True)
    (args.out / "README.md").write_text(readme(args.out, args, timings, failed), encoding="utf-8")
    print(f"wrote {args.out / 'README.md'}")
    return 1 if failed else 0


def publish(run_file: Path, out: Path, datasets: Path) -> None:
    """Copy a run's leaderboard, naming the data folder ``<datasets>`` in ``command`` and
    ``dataset.source``: where the data sat on the machine that made it is not part of the result."""
    text = run_file.read_text(encoding="utf-8")
    for prefix in {str(datasets), str(datasets.resolve()), rel(datasets)}:  # rel: how run_one names it
        text = text.replace(json.dumps(prefix)[1:-1] + "/", "<datasets>/")
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
