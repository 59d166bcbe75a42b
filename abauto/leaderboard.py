"""Leaderboard files: building the versioned ``leaderboard.json`` from finished studies, validating
it against ``abauto/schemas/leaderboard-v1.json``, and writing its CSV, Markdown and text forms.

The JSON file is the stable interface CI reads; ``docs/leaderboard.md`` describes every field.
"""

from __future__ import annotations

import csv
import io
import json
import time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

import abauto
from abauto.errors import LeaderboardError
from abauto.files import write_json, write_text
from abauto.folds import FoldOutcome, inner_holdout
from abauto.leaderboard_view import (describe_pipeline, fmt_number, fmt_score, inner_text, leaderboard_rows,  # noqa: F401
                                     markdown_table)
from abauto.runfolder import RunFolder
from abauto.studies import counts, failed_pipeline, inner_scores, recorded_family, trial_error, trial_pipeline

SCHEMA_VERSION = 1

RUN_FIELDS = frozenset({"created", "wall_seconds", "fit_seconds", "predict_seconds", "command", "resumed", "source"})
"""Fields of a leaderboard, at any depth, that differ between two runs of the same search: clock
times, the command lines and where the data was read from. A search under a trial budget with a
fixed seed reproduces everything else (:func:`without_run_fields`)."""


def without_run_fields(board: Any, fields: frozenset[str] = RUN_FIELDS) -> Any:
    """``board`` (or any part of one) without ``fields`` at any depth: what two runs of the same
    search must agree on."""
    if isinstance(board, dict):
        return {k: without_run_fields(v, fields) for k, v in board.items() if k not in fields}
    if isinstance(board, list):
        return [without_run_fields(v, fields) for v in board]
    return board


@lru_cache(maxsize=None)
def schema(version: int = SCHEMA_VERSION) -> dict:
    text = resources.files("abauto.schemas").joinpath(f"leaderboard-v{version}.json").read_text()
    return json.loads(text)


def validate(board: Any, source: str = "leaderboard") -> dict:
    """Raise :class:`LeaderboardError` (one line, naming the field) unless ``board`` is valid."""
    import jsonschema

    if not isinstance(board, dict):
        raise LeaderboardError(f"{source}: not a JSON object")
    version = board.get("schema_version")
    if version != SCHEMA_VERSION:
        raise LeaderboardError(f"{source}: unsupported schema_version {version!r} (this abauto reads version {SCHEMA_VERSION})")
    validator = jsonschema.Draft202012Validator(schema(version))
    error = jsonschema.exceptions.best_match(validator.iter_errors(board))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise LeaderboardError(f"{source}: invalid at {where}: {error.message[:200]}")
    return board


def load(path: str | Path) -> dict:
    """Read and validate a leaderboard file."""
    path = Path(path)
    try:
        board = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LeaderboardError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LeaderboardError(f"{path}: not valid JSON ({exc})") from None
    return validate(board, str(path))


def run_commands(run_dir: str | Path, command: str) -> list[str]:
    """The commands of a run folder, ``command`` last: the one that started the search first, then
    each that continued it (``--resume`` or the same ``--out``), as recorded in its ``run.json``
    (or, for older folders, its leaderboard's ``command`` and ``resumed``). A new folder: ``[command]``."""
    run_dir = Path(run_dir)
    try:
        previous = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [command]
    earlier = previous.get("commands") if isinstance(previous, dict) else None
    if not isinstance(earlier, list):
        try:
            board = json.loads((run_dir / "leaderboard.json").read_text(encoding="utf-8"))
            earlier = [board.get("command", ""), *board.get("resumed", [])]
        except (OSError, ValueError, AttributeError):
            earlier = []
    return [str(c) for c in earlier] + [command]


def _mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None
    return float(np.mean(vals)), float(np.std(vals))


def _metric_block(per_fold: list[dict | None], metrics: Sequence[str]) -> dict:
    block = {}
    for m in metrics:
        folds = [None if s is None else s.get(m) for s in per_fold]
        mean, std = _mean_std(folds)
        block[m] = {"mean": mean, "std": std, "folds": folds}
    return block


def _failures(studies) -> list[dict]:
    import optuna

    out = []
    for study in studies:
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,)):
            if trial_error(t) is None:  # abandoned by a killed process, or over budget
                continue
            out.append({"study": study.study_name, "trial": t.number, "plugin": recorded_family(t) or "?",
                        "pipeline": failed_pipeline(t), "error": trial_error(t)})
    return out


def _pooled(outcomes: list[FoldOutcome], dataset) -> dict:
    """Confusion matrix and per-class scores of the pooled outer-fold predictions of ``best``."""
    from sklearn.metrics import classification_report, confusion_matrix

    y_true, y_pred = [], []
    for o in outcomes:
        if o.y_pred is not None:
            y_true += dataset.y[o.test].tolist()
            y_pred += o.y_pred
    if not y_true:
        return {}
    labels = sorted(set(y_true) | set(y_pred))
    report = classification_report(y_true, y_pred, labels=labels, zero_division=0, output_dict=True)
    return {
        "confusion": {"labels": labels, "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()},
        "per_class": {c: {"precision": report[c]["precision"], "recall": report[c]["recall"],
                          "f1": report[c]["f1-score"], "support": int(report[c]["support"])} for c in labels},
    }


def _final_trial(study, scored: set[str], picked: int | None = None):
    """The final model's trial: trial ``picked`` (a holdout's pick, which a time budget may have
    made), else the final study's best complete trial of a family the outer folds scored (so the
    saved model always has a leaderboard row), else its best trial; None if no trial completed."""
    import optuna

    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    ranked = sorted(done, key=lambda t: (-t.value, t.number))
    ranked = [t for t in ranked if t.number == picked] + ranked
    return next((t for t in ranked if recorded_family(t) in scored), ranked[0] if ranked else None)


def build(dataset, settings, outcomes: list[FoldOutcome], studies, notes: Sequence[str] = (),
          wall_seconds: float = 0.0, command: str = "", folds_sha256: str | None = None,
          resumed: Sequence[str] = ()) -> dict:
    """Assemble the leaderboard dict from the per-study outcomes (``optuna.Study`` list) of a search.
    ``command`` started the search, ``resumed`` lists the commands that continued it (see
    :func:`run_commands`)."""
    import optuna

    metrics = settings.metrics()
    folds = [o for o in outcomes if o.fold is not None]
    kind, value = settings.outer_spec()
    families = sorted({f for o in folds for f in o.families})
    entries = []
    for fam in families:
        per_fold = [o.families.get(fam) for o in folds]
        scores = [None if p is None else p.scores for p in per_fold]
        main = [None if s is None else s[settings.metric] for s in scores]
        mean, std = _mean_std(main)
        inner_mean, _ = _mean_std([None if p is None else p.inner_mean for p in per_fold])
        entries.append({
            "family": fam,
            "outer_mean": mean, "outer_std": std, "outer_scores": main,
            "metrics": _metric_block(scores, metrics),
            "inner_mean": inner_mean,
            "fit_seconds": float(sum(p.fit_seconds or 0.0 for p in per_fold if p)),
            "predict_seconds": float(sum(p.predict_seconds or 0.0 for p in per_fold if p)),
            "folds": [None if p is None else {
                "fold": o.fold, "trial": p.trial, "pipeline": p.pipeline, "params": p.params,
                "inner_mean": p.inner_mean, "inner_std": p.inner_std,
                "scores": p.scores, "error": p.error,
                "fit_seconds": p.fit_seconds, "predict_seconds": p.predict_seconds,
                **({"members": p.members} if p.members is not None else {}),
            } for o, p in zip(folds, per_fold)],
        })
    entries.sort(key=lambda e: (-(e["outer_mean"] if e["outer_mean"] is not None else -1.0), e["family"]))
    for rank, e in enumerate(entries, 1):
        e["rank"] = rank
    chosen = [o.best_family for o in folds]
    best_scores = [None if f not in o.families else o.families[f].scores for o, f in zip(folds, chosen)]
    best_main = [None if s is None else s[settings.metric] for s in best_scores]
    b_mean, b_std = _mean_std(best_main)
    pooled = _pooled(outcomes, dataset)
    # the final study (k-fold), or a holdout's one study: last (abauto.folds.outer_splits)
    final = None
    last = outcomes[-1] if outcomes else None  # a holdout's one study: its pick is the final model
    picked = last.families[last.best_family].trial if last and last.fold is not None \
        and last.best_family in last.families else None
    scored = {e["family"] for e in entries if e["outer_mean"] is not None}
    t = _final_trial(studies[-1], scored, picked) if studies else None
    if t is not None:
        inner = inner_scores(t, settings.metric)
        final = {"trial": t.number, "family": recorded_family(t), "pipeline": trial_pipeline(t),
                 "params": t.params, "inner_mean": float(np.mean(inner)), "inner_std": float(np.std(inner))}
        picked = outcomes[-1].ensemble
        if picked and picked.wins:  # the ensemble beat the best single trial of the final study
            from abauto.ensemble import FAMILY, describe

            final = {"trial": picked.members[0]["trial"], "family": FAMILY, "pipeline": describe(picked.members),
                     "params": {}, "inner_mean": picked.inner_mean, "inner_std": picked.inner_std,
                     "members": picked.members}
    trials = [t for s in studies for t in s.get_trials(deepcopy=False)]
    states = [t.state for t in trials if counts(t)]
    S = optuna.trial.TrialState
    board = {
        "schema_version": SCHEMA_VERSION,
        "abauto_version": abauto.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command,
        **({"resumed": list(resumed)} if resumed else {}),
        "dataset": dataset.summary(),
        "protocol": {
            "outer": kind, "outer_folds": len(folds), "holdout_fraction": value if kind == "holdout" else None,
            "inner_folds": settings.inner_folds, "grouped": dataset.groups is not None,
            "inner": "holdout" if inner_holdout(len(dataset.y), settings) else "kfold",
            "metric": settings.metric, "metrics": metrics, "sampler": settings.sampler,
            "trials": settings.trials, "timeout": settings.timeout, "time_budget": settings.time_budget,
            "seed": settings.seed,
            "plugins": list(settings.plugins), "exclude": list(settings.exclude), "ensemble": settings.ensemble,
            **({"folds_sha256": folds_sha256} if folds_sha256 else {}),
        },
        "best": {"outer_mean": b_mean, "outer_std": b_std, "outer_scores": best_main, "families": chosen,
                 "metrics": _metric_block(best_scores, metrics), **pooled},
        "entries": entries,
        "final": final,
        "trials": {"complete": states.count(S.COMPLETE), "pruned": states.count(S.PRUNED),
                   "failed": states.count(S.FAIL), "total": len(states),
                   "abandoned": sum(1 for t in trials if t.state == S.FAIL and not counts(t))},
        "failures": _failures(studies),
        "notes": list(notes),
        "wall_seconds": round(wall_seconds, 3),
    }
    return validate(json.loads(json.dumps(board)))


def table_rows(board: dict) -> list[dict]:
    """One flat row per classifier family (the CSV form): rank, family, the chosen metric's mean and
    std, the other metrics' means, inner mean, fit seconds, the pipeline of the first fold where the
    family was chosen (``pipeline_fold0``, kept for compatibility) and ``folds`` (scored/outer)."""
    rows = leaderboard_rows(board)
    out = []
    for r in rows.families:
        row = {"rank": r.rank, "family": r.family, f"outer_{rows.metric}_mean": r.score.mean,
               f"outer_{rows.metric}_std": r.score.std}
        row.update({f"outer_{m}_mean": s.mean for m, s in r.others})
        row.update(inner_mean=r.inner_mean, fit_seconds=round(r.fit_seconds, 3), pipeline_fold0=r.first_pipeline,
                   folds=r.coverage)
        out.append(row)
    return out


def to_csv(board: dict) -> str:
    rows = table_rows(board)
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def to_markdown(board: dict) -> str:
    p = board["protocol"]
    rows = leaderboard_rows(board)
    metric = rows.metric
    outer = f"{p['outer_folds']}-fold" if p["outer"] == "kfold" else f"holdout {p['holdout_fraction']}"
    table = [[str(r.rank), r.family, str(r.score), r.coverage, *(str(s) for _, s in r.others),
              fmt_number(r.inner_mean), r.pipeline_text] for r in rows.families]
    lines = [f"# Leaderboard: {board['dataset']['name']}", "",
             f"Nested CV ({outer} outer{', grouped' if p['grouped'] else ''}, {inner_text(p)}), "
             f"{p['trials']} trials per study, sampler {p['sampler']}, seed {p['seed']}, metric `{metric}`.", "",
             f"**Selected per fold (abauto): {rows.selected.score}** ({rows.selected.coverage} folds)", ""]
    lines += markdown_table(["rank", "family", f"outer {metric}", "folds", *rows.others, "inner mean",
                             "pipeline (folds chosen)"], table, "rl" + "l" * (len(rows.others) + 4))
    if board["final"]:
        lines += ["", f"Final model: `{describe_pipeline(board['final']['pipeline'])}` "
                      f"(inner {metric} {fmt_score(board['final']['inner_mean'], board['final']['inner_std'])})"]
    if board["failures"]:
        lines += ["", f"{len(board['failures'])} failed trials; see `failures` in leaderboard.json."]
    return "\n".join(lines) + "\n"


def text_report(board: dict) -> str:
    """Scores, classification report and confusion matrix of the pooled outer-fold predictions."""
    p, best = board["protocol"], board["best"]
    lines = [f"abauto {board['abauto_version']}: {board['dataset']['name']} ({board['dataset']['rows']} rows, "
             f"{board['dataset']['features']} features, {len(board['dataset']['classes'])} classes)",
             f"Outer {p['outer']} ({p['outer_folds']} fold{'s' if p['outer_folds'] != 1 else ''}), {inner_text(p)}; "
             f"{p['metric']} = {fmt_score(best['outer_mean'], best['outer_std'])} (mean ± std over outer folds)", ""]
    for m, block in best["metrics"].items():
        lines.append(f"  {m:<20} {fmt_score(block['mean'], block['std'])}")
    if "confusion" in best:
        labels = best["confusion"]["labels"]
        width = max(9, *(len(str(label)) for label in labels))
        lines += ["", "Classification report (pooled outer-fold predictions of the pipeline selected per fold):", "",
                  f"{'':>{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"]
        for label, r in best["per_class"].items():
            lines.append(f"{label:>{width}} {r['precision']:>9.4f} {r['recall']:>9.4f} {r['f1']:>9.4f} {r['support']:>9}")
        lines += ["", "Confusion matrix (rows actual, columns predicted):", "",
                  " " * width + " " + " ".join(f"{str(label)[:width]:>{width}}" for label in labels)]
        for label, row in zip(labels, best["confusion"]["matrix"]):
            lines.append(f"{str(label):>{width}} " + " ".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines) + "\n"


def write_all(board: dict, run_dir: str | Path) -> None:
    """Write leaderboard.json/.csv/.md and report.txt atomically into ``run_dir``."""
    folder = RunFolder(run_dir)
    write_text(folder.report_txt, text_report(board))
    write_text(folder.leaderboard_csv, to_csv(board))
    write_text(folder.leaderboard_md, to_markdown(board))
    write_json(folder.leaderboard_json, board)
