"""Concurrent searches on one run folder or one shared study: the second must be refused.

    python benchmarks/concurrent_search.py [--data ../shared/datasets/wine.csv] [--rounds 3]

Each round starts a real search as a subprocess, waits until it holds its lock (run.json written), starts a
second search on the same target while the first still runs, and counts it refused when the second
exits 2 with the one-line "another abauto search ... is running" message, the first then exits 0
and its run folder holds exactly its budget. Targets per round: the same --out folder, and the
same --study-name on a shared journal file (other --out). Prints `concurrent searches refused N/N`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET = ["--trials", "6", "--outer", "kfold:2", "--inner-folds", "2", "--plugins", "svm,random_forest,knn,standard"]


def abauto(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "abauto.cli", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def one_round(data: Path, work: Path, shared: bool) -> bool:
    if shared:
        journal = work / "study.journal"
        target = ["--storage", f"journal:{journal}", "--study-name", "genre"]
        first_out, second_out = work / "a", work / "b"
    else:
        target = []
        first_out = second_out = work / "run"
    first = abauto("search", data, *BUDGET, *target, "--out", first_out)
    # run.json is written once the search holds its lock(s), before its first trial
    deadline = time.monotonic() + 300
    while not (first_out / "run.json").exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if first.poll() is not None:
        print(f"  the first search ended before the second could start (exit {first.returncode})")
        return False
    second = subprocess.run([sys.executable, "-m", "abauto.cli", "search", str(data), *BUDGET, *map(str, target),
                             "--out", str(second_out)], capture_output=True, text=True)
    still = first.poll() is None
    code = first.wait(timeout=600)
    lines = second.stderr.strip().splitlines()
    refused = (second.returncode == 2 and len(lines) == 1 and "another abauto search" in lines[0] and still
               and code == 0)
    print(f"  {'shared study' if shared else 'run folder  '}: second exit {second.returncode}, "
          f"{lines[0] if lines else '(no message)'}; first exit {code}")
    return refused


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "datasets" / "wine.csv")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    results = []
    for r in range(args.rounds):
        for shared in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                results.append(one_round(args.data, Path(tmp), shared))
    print(f"concurrent searches refused {sum(results)}/{len(results)}")


if __name__ == "__main__":
    main()
