"""Streaming high-level prediction: documents per second and peak memory of
``abauto predict RUN_DIR... DUMP.tar --format acousticbrainz -o out.jsonl`` for 10x and 100x copies
of the shared soundtracks documents, each run in its own child process (peak = that child's
``ru_maxrss`` from ``os.wait4``). Memory must not grow with the number of documents: the two
peaks should differ by less than 20 %.

    python benchmarks/predict_stream.py [--copies 10,100] [--run RUN_DIR ...] [--n-jobs 1]
                                        [--suffix .tar.zst] [--out DIR]

Without ``--run`` it trains two tiny models first (two ground truths made from the soundtracks
labels, as tests/test_acousticbrainz_predict.py does). The dumps are written as ``.tar.zst``
(about 6x smaller than ``.tar``; ``--suffix .tar`` for plain tar: 100x is about 2.2 GB).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

from abauto.extensions import split_values

HERE = Path(__file__).resolve().parent
SOUNDTRACKS = HERE.parent.parent / "shared" / "acousticbrainz" / "soundtracks"
TASKS = {"wesnoth": ({"wesnoth"}, "lowlevel.mfcc.mean,lowlevel.spectral_centroid.mean"),
         "strategy_game": ({"warzone2100", "ufoai", "wesnoth"}, "lowlevel.mfcc.mean,tonal.key_edma.*")}


def abauto(*args) -> list[str]:
    return [sys.executable, "-m", "abauto.cli", *map(str, args)]


def train(source: Path, out: Path) -> list[Path]:
    labels = yaml.safe_load((source / "groundtruth.yaml").read_text())["groundTruth"]
    runs = []
    for name, (positive, select) in TASKS.items():
        gt = out / f"{name}.yaml"
        truth = {i: (name if label in positive else f"not_{name}") for i, label in labels.items()}
        gt.write_text(yaml.safe_dump({"className": name, "groundTruth": truth}))
        run = out / f"run-{name}"
        subprocess.run(abauto("search", source / "lowlevel", "--groundtruth", gt, "--select", select,
                              "--plugins", "logreg", "--trials", "2", "--outer", "kfold:2", "--inner-folds", "2",
                              "--quiet", "--out", run), check=True)
        runs.append(run)
    return runs


def make_dump(source: Path, copies: int, path: Path) -> int:
    files = sorted((source / "lowlevel").glob("*.json"))
    data = [(p.stem, p.read_bytes()) for p in files]
    if path.name.endswith(".zst"):
        import zstandard

        raw = open(path, "wb")
        stream = zstandard.ZstdCompressor(level=3).stream_writer(raw)
        tar = tarfile.open(fileobj=stream, mode="w|")
    else:
        raw = stream = None
        tar = tarfile.open(path, "w")
    import io

    with tar:
        for k in range(copies):
            for stem, body in data:
                info = tarfile.TarInfo(f"lowlevel/{k:03d}/{stem}-{k}.json")
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
    if stream is not None:
        stream.close()
        raw.close()
    return copies * len(data)


def measure(runs: list[Path], dump: Path, out: Path, n_jobs: int) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak resident MB) of one predict in a child process."""
    t0 = time.perf_counter()
    child = subprocess.Popen(abauto("predict", *runs, dump, "--format", "acousticbrainz", "-o", out,
                                    "--n-jobs", n_jobs), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - t0
    stdout, stderr = child.stdout.read().decode(), child.stderr.read().decode()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"predict failed ({child.returncode}): {stderr.strip() or stdout.strip()}")
    # children of the child (--n-jobs workers) are not in this figure; ru_maxrss is in KB on Linux
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", default="10,100")
    ap.add_argument("--run", type=Path, action="append", help="run folders to predict with [default: train two]")
    ap.add_argument("--source", type=Path, default=SOUNDTRACKS)
    ap.add_argument("--suffix", default=".tar.zst")
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--out", type=Path, help="work folder [default: a temporary one, removed]")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.out or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        runs = args.run or train(args.source, work)
        print(f"models: {', '.join(str(r) for r in runs)}; n_jobs {args.n_jobs}", flush=True)
        print("whole command (start-up and model loading included); CPU = the child's user + system time")
        print(f"{'copies':>7}{'documents':>11}{'dump MB':>9}{'wall s':>8}{'docs/s':>8}{'CPU s':>7}{'docs/CPU s':>11}{'peak MB':>9}")
        peaks = []
        for copies in (int(c) for c in split_values(args.copies)):
            dump = work / f"dump-{copies}{args.suffix}"
            n = make_dump(args.source, copies, dump)
            seconds, cpu, peak = measure(runs, dump, work / f"out-{copies}.jsonl", args.n_jobs)
            peaks.append(peak)
            print(f"{copies:>7}{n:>11}{dump.stat().st_size / 2**20:>9.0f}{seconds:>8.1f}{n / seconds:>8.0f}"
                  f"{cpu:>7.1f}{n / cpu:>11.0f}{peak:>9.0f}", flush=True)
            dump.unlink()
            (work / f"out-{copies}.jsonl").unlink()
        if len(peaks) > 1:
            change = peaks[-1] / peaks[0] - 1
            print(f"peak memory {100 * change:+.1f} % from the smallest to the largest dump "
                  f"({'flat: under 20 %' if abs(change) < 0.2 else 'GROWS: 20 % or more'})")


if __name__ == "__main__":
    main()
