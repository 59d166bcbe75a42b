"""Crafted model files against ``abauto predict``: how many are refused before they run.

Builds every case of tests/crafted_models.py (a real pipeline's skops file with one attack
planted in its schema.json, or a pickle/joblib/broken file named .skops) in a temporary folder,
runs ``python -m abauto.cli predict`` on each in a subprocess and counts a file as refused when
the command exits with code 2 and one ``abauto: error:`` line naming it, the attack's marker file
was not created, its victim file kept its content and no predictions were written.

    python benchmarks/hostile_models.py [--data ../shared/datasets/iris.csv]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import skops.io as sio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from crafted_models import CASES, Target, base_pipeline  # noqa: E402

VICTIM_TEXT = "a file the attack would truncate\n"


def attempt(case, base: Path, data: Path, folder: Path) -> str | None:
    """None if the file was refused cleanly, else what went wrong."""
    folder.mkdir()
    target = Target(folder / "MARKER", folder / "victim.txt")
    target.victim.write_text(VICTIM_TEXT)
    model, out = folder / "model.skops", folder / "predictions.csv"
    case.build(base, model, target)
    done = subprocess.run([sys.executable, "-m", "abauto.cli", "predict", str(model), str(data), "-o", str(out)],
                          capture_output=True, text=True, cwd=folder, timeout=600)
    lines = done.stderr.splitlines()
    problems = [
        done.returncode != 2 and f"exit code {done.returncode}",
        target.marker.exists() and "the attack created its marker file",
        target.victim.read_text() != VICTIM_TEXT and "the attack truncated a file",
        out.exists() and "predictions were written",
        not (len(lines) == 1 and lines[0].startswith("abauto: error:") and str(model) in lines[0])
        and f"stderr is not one error line naming the file: {done.stderr.strip()[:200]!r}",
    ]
    problems = [p for p in problems if p]
    return "; ".join(problems) if problems else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "iris.csv",
                        help="CSV with a 'class' column: trains the real pipeline and is the data to predict")
    args = parser.parse_args()
    frame = pd.read_csv(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.skops"
        sio.dump(base_pipeline(frame.drop(columns="class"), frame["class"]), base)
        refused = 0
        for case in CASES:
            problem = attempt(case, base, args.data, Path(tmp) / case.id)
            refused += problem is None
            print(f"{'refused' if problem is None else 'NOT REFUSED'}  {case.id:40s} {problem or case.names}")
    print(f"crafted model files refused {refused}/{len(CASES)}")
    sys.exit(0 if refused == len(CASES) else 1)


if __name__ == "__main__":
    main()
