"""The results page gaia wrote beside each model (``<model>.results.html``), from a run's
leaderboard: ``<h1>className</h1>``, accuracy, its std, normalized accuracy and its std (in %),
and the confusion matrix (rows actual, columns predicted, each cell the % of its row with a
hover "n X (out of N) classified as Y", and a Proportion column), with embedded CSS.

gaia's figures: accuracy pooled over folds (correct / total of the matrix); normalized accuracy
the mean over folds of the mean per-class recall; both stds are population stds over folds. Here
the folds are the run's outer folds and the matrix pools their test predictions.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

CSS = """body{font-family:sans-serif;margin:2em}h1{font-size:1.4em}
table.cm{border-collapse:collapse;margin-top:1em}table.cm td,table.cm th{border:1px solid #bbb;padding:4px 8px;text-align:right}
table.cm th{background:#eee}td.diag{font-weight:bold;background:#d7f0d7}td.zero{color:#bbb}
td.prop{background:#f4f4f4}th.corner{background:#fff;border:none}"""


def results_html(board: dict) -> str:
    cm = board["best"]["confusion"]
    labels = [str(x) for x in cm["labels"]]
    m = np.asarray(cm["matrix"], dtype=int)
    total = int(m.sum())
    metrics = board["best"]["metrics"]
    acc = 100.0 * np.trace(m) / total if total else float("nan")
    acc_folds = 100.0 * np.asarray(metrics["accuracy"]["folds"], dtype=float)
    bal = metrics.get("balanced_accuracy", {}).get("folds", [])
    bal_folds = 100.0 * np.asarray(bal, dtype=float)
    name = html.escape(str(board["dataset"].get("target", "class")))
    rows = []
    head = "".join(f"<th>{html.escape(c)}</th>" for c in labels)
    rows.append(f"<tr><th class='corner'>Actual \\ Predicted</th>{head}<th>Proportion</th></tr>")
    for i, actual in enumerate(labels):
        n_row = int(m[i].sum())
        cells = []
        for j, pred in enumerate(labels):
            n = int(m[i, j])
            pct = 100.0 * n / n_row if n_row else 0.0
            title = f"{n} {actual} (out of {n_row}) classified as {pred}"
            cls = "diag" if i == j else ("zero" if n == 0 else "")
            cells.append(f"<td class='{cls}' title='{html.escape(title, quote=True)}'>{pct:.2f}</td>")
        prop = 100.0 * n_row / total if total else 0.0
        rows.append(f"<tr><th>{html.escape(actual)}</th>{''.join(cells)}<td class='prop'>{prop:.2f} %</td></tr>")
    lines = [
        f"<h1>{name}</h1>",
        f"<p>Accuracy: {acc:.2f} %<br>Std: {float(np.std(acc_folds)):.2f}<br>",
        f"Normalized accuracy: {float(np.mean(bal_folds)) if len(bal_folds) else float('nan'):.2f} %<br>"
        f"Normalized std: {float(np.std(bal_folds)) if len(bal_folds) else float('nan'):.2f}</p>",
        f"<p>{total} instances, {board['protocol'].get('outer_folds')} folds "
        f"({'grouped' if board['protocol'].get('grouped') else 'stratified'}); cells: % of the actual class (row)</p>",
        f"<table class='cm'>{''.join(rows)}</table>",
    ]
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{name} results</title>"
            f"<style>{CSS}</style></head><body>{''.join(lines)}</body></html>\n")


def write_results_html(run_dir: str | Path, output: str | Path | None = None) -> Path:
    from abauto.errors import DataError
    from abauto.files import write_text

    run_dir = Path(run_dir)
    path = run_dir / "leaderboard.json" if run_dir.is_dir() else run_dir
    try:
        board = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable leaderboard ({exc})") from None
    if not board.get("best") or "confusion" not in board["best"]:
        raise DataError(f"{path}: no pooled confusion matrix in this leaderboard")
    target = board["dataset"].get("target", "class")
    out = Path(output) if output else path.parent / f"{target}.results.html"
    return write_text(out, results_html(board))
