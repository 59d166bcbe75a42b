"""Ingest speed of AcousticBrainz low-level documents: documents per CPU second through
``abauto_plugins.acousticbrainz`` (read, parse, extract into the float32 matrix), against parsing the
same files with orjson and nothing else (the ceiling), on one core.

    python benchmarks/ingest.py [--copies 10] [--source ../shared/acousticbrainz]

The 40 AcousticBrainz-era and 260 soundtracks documents are copied ``--copies`` times into a
temporary folder (two folders, one per schema, since a table holds one layout) and as a tar.
"""

from __future__ import annotations

import argparse
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

import orjson

from abauto_plugins.acousticbrainz.loader import read_documents

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent.parent / "shared" / "acousticbrainz"


def replicate(src: Path, dest: Path, copies: int) -> list[Path]:
    dest.mkdir(parents=True)
    out = []
    for k in range(copies):
        for p in sorted(src.glob("*.json")):
            target = dest / f"{p.stem}-copy{k}.json"
            shutil.copyfile(p, target)
            out.append(target)
    return out


def parse_only(files: list[Path]) -> float:
    t0 = time.process_time()
    for f in files:
        orjson.loads(f.read_bytes())
    return len(files) / (time.process_time() - t0)


def ingest(source: Path, n: int) -> float:
    t0 = time.process_time()
    docs = read_documents(source)
    seconds = time.process_time() - t0
    assert len(docs.names) == n, (len(docs.names), n)
    return n / seconds, docs.matrix.shape


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = {"AcousticBrainz music 1.0": replicate(args.source / "lowlevel", tmp / "ab", args.copies),
                "soundtracks music 2.0": replicate(args.source / "soundtracks" / "lowlevel", tmp / "st", args.copies)}
        total = sum(len(v) for v in sets.values())
        print(f"{total} documents ({', '.join(f'{len(v)} {k}' for k, v in sets.items())}), best of {args.repeat}")
        print(f"{'input':<34}{'docs/s':>9}{'parse-only':>12}{'ratio':>8}  matrix")
        for name, files in sets.items():
            folder = files[0].parent
            tar = tmp / f"{folder.name}.tar"
            with tarfile.open(tar, "w") as t:
                for f in files:
                    t.add(f, arcname=f"lowlevel/{f.name}")
            ceiling = max(parse_only(files) for _ in range(args.repeat))
            for label, source in ((f"{name} (folder)", folder), (f"{name} (tar)", tar)):
                best, shape = 0.0, None
                for _ in range(args.repeat):
                    rate, shape = ingest(source, len(files))
                    best = max(best, rate)
                print(f"{label:<34}{best:>9.0f}{ceiling:>12.0f}{best / ceiling:>8.2f}  {shape[0]} x {shape[1]} float32")


if __name__ == "__main__":
    main()
