"""Grouped benchmark on AcousticBrainz low-level documents (issue 22): abauto and its peers on
the SAME grouped outer folds of a document set, on more than one task.

    python benchmarks/grouped.py                                # soundtracks, both tasks, every method, 60 s
    python benchmarks/grouped.py --budget 10 --tasks soundtrack --methods abauto,hgb-balanced
    python benchmarks/grouped.py --report-only --out /tmp/grouped  # re-print the table from saved results

Data (``--data``, default ../shared/acousticbrainz/soundtracks): a folder with ``lowlevel/``
(Essentia low-level JSON documents), ``groundtruth.yaml`` (gaia's format) and ``tracks.csv`` (one
row per document: its ``track``), loaded as ``abauto search`` loads it:
``abauto.data.load_dataset(lowlevel, groups="track", groundtruth=..., join=tracks.csv)`` through
the built-in AcousticBrainz loader plugin.

Tasks (``--tasks``): ``soundtrack`` is the ground truth as given (8 game soundtracks);
``strategy`` is a second ground truth made from the same labels: is the excerpt from the
soundtrack of a strategy game (ufoai, warzone2100, wesnoth, singularity) or of another genre
(drascula: adventure, hyperrogue: roguelike, nexuiz: first-person shooter, planetblupi:
action/puzzle)? It is written in gaia's format to ``<out>/tasks/strategy/groundtruth.yaml`` and
loaded through the same loader, so a change is judged on a binary and an 8-class task.

Protocol: abauto's own outer folds (``abauto.folds.outer_splits``: ``StratifiedGroupKFold(K,
shuffle=True, random_state=seed)`` on the tracks) for every method; the peers get exactly these
row indices (checked against abauto's leaderboard ``folds_sha256``). Where a peer tunes on inner
folds they are abauto's (``abauto.folds.inner_splits``: grouped the same way). Score: balanced
accuracy on each outer test part; mean ± population std over the outer folds; wall seconds.

Budget: ``--budget`` seconds for a method's WHOLE run. abauto gets it as ``--time-budget`` (the
whole search: outer studies and the final study on all rows, which costs time but is not in the
outer estimate) where abauto has that setting, else as a ``timeout`` of budget / (K + 1) per study;
FLAML and AutoGluon get budget / K per outer fold (``time_budget``, ``time_limit``); the gaia grid
gets the same as abauto (it is not exhausted at small budgets: the table says how many of its 1728
configurations ran). One-fit baselines take what they take.

Methods (``--methods``):

- ``abauto``        ``abauto.search_engine.search`` with default settings (all plugins), grouped.
- ``gaia-grid``     ``configs/gaia-svm.yaml`` (``--gaia-config``) through the same engine: gaia's SVM grid
                    over its presets, selection by accuracy, scored by balanced accuracy.
- ``hgb-balanced``  ``HistGradientBoostingClassifier(class_weight="balanced")``, one fit per fold.
- ``hgb``           ``HistGradientBoostingClassifier()`` with scikit-learn's defaults, one fit per fold.
- ``rf500``         ``RandomForestClassifier(n_estimators=500)``, one fit per fold.
- ``flaml``         FLAML AutoML, balanced accuracy, CV on abauto's inner folds (``split_type`` a
                    ``StratifiedGroupKFold`` with ``groups``; asserted equal to ``inner_splits``), ``n_jobs=1``.
- ``autogluon``     AutoGluon-Tabular, ``medium_quality``, its holdout group-disjoint
                    (``validation_structure={"group_on": track}``), the track not a feature, one CPU.

The one-fit baselines get median imputation and one-hot encoding of the categorical columns (the
key/scale descriptors), as in suite.py; FLAML and AutoGluon take the frame as it is. Every fit runs
with one BLAS/OpenMP thread. FLAML and AutoGluon are optional (the ``bench`` extra): skipped with a
note when they are not importable.

Outputs in ``--out`` (default a new temp dir): one JSON per (task, method) in ``results/`` (a
``.partial.json`` after each fold of a per-fold method), ``grouped.csv`` (one row per method and
outer fold: the raw scores) and ``grouped.md`` (the table), abauto's run folders in ``runs/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
import warnings
from dataclasses import fields
from pathlib import Path

import numpy as np

from abauto.extensions import split_values

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import (autogluon_fit, baseline_prep, flaml_automl, flaml_balanced_accuracy, flaml_trials,  # noqa: E402
                   log)  # (sibling benchmark script)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "acousticbrainz" / "soundtracks"
GAIA_CONFIG = REPO / "configs" / "gaia-svm.yaml"
ALL_METHODS = ["abauto", "gaia-grid", "hgb-balanced", "hgb", "rf500", "flaml", "autogluon"]
TASKS = {
    "soundtrack": None,  # the ground truth as given
    "strategy": ("strategy_game", {"ufoai": "strategy", "warzone2100": "strategy", "wesnoth": "strategy",
                                   "singularity": "strategy", "drascula": "other", "hyperrogue": "other",
                                   "nexuiz": "other", "planetblupi": "other"}),
}
LABELS = {
    "abauto": "abauto (all plugins)",
    "gaia-grid": "gaia's SVM grid (configs/gaia-svm.yaml)",
    "hgb-balanced": 'HistGradientBoostingClassifier(class_weight="balanced"), one fit per fold',
    "hgb": "HistGradientBoostingClassifier(), one fit per fold",
    "rf500": "RandomForestClassifier(500), one fit per fold",
    "flaml": "FLAML AutoML (grouped inner CV)",
    "autogluon": "AutoGluon-Tabular medium_quality (grouped holdout)",
}


def has_time_budget() -> bool:
    from abauto.settings import SearchSettings
    return "time_budget" in {f.name for f in fields(SearchSettings)}


# ----------------------------------------------------------------------------------------- data

def task_groundtruth(args, task: str) -> Path:
    """The ground truth file of ``task``: the given one, or one derived from its labels."""
    import yaml

    given = Path(args.groundtruth)
    if TASKS[task] is None:
        return given
    class_name, mapping = TASKS[task]
    gt = yaml.safe_load(given.read_text())
    unknown = sorted(set(gt["groundTruth"].values()) - set(mapping))
    if unknown:
        raise SystemExit(f"{given}: labels {unknown} are not in task {task!r}'s mapping; see TASKS in {__file__}")
    derived = {**gt, "className": class_name,
               "groundTruth": {doc: mapping[label] for doc, label in gt["groundTruth"].items()}}
    path = Path(args.out) / "tasks" / task / "groundtruth.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(derived, sort_keys=False))
    return path


def load_task(args, task: str):
    from abauto.data import load_dataset

    gt = task_groundtruth(args, task)
    inputs = {"data": str(Path(args.data) / "lowlevel"), "groups": args.groups, "groundtruth": str(gt),
              "join": str(Path(args.data) / "tracks.csv")}
    dataset = load_dataset(inputs["data"], groups=inputs["groups"], groundtruth=inputs["groundtruth"],
                           join=inputs["join"])
    return dataset, inputs


def settings_for(args, **extra):
    from abauto.settings import SearchSettings
    return SearchSettings(outer=f"kfold:{args.outer}", inner_folds=args.inner, seed=args.seed, **extra)


def outer_folds(dataset, args):
    """abauto's outer folds (without the final all-rows study) and their fingerprint."""
    from abauto.folds import folds_fingerprint, outer_splits

    jobs, _ = outer_splits(dataset, settings_for(args))
    return [(j.train, j.test) for j in jobs if j.test is not None], folds_fingerprint(jobs, dataset.y)


# ----------------------------------------------------------------------------------------- methods

def _abauto_search(dataset, inputs, args, method: str, config: dict) -> dict:
    from abauto.search_engine import search

    run_dir = Path(args.out) / "runs" / f"{args.task}__{method}"
    if run_dir.exists():
        import shutil
        shutil.rmtree(run_dir)
    config = dict(config)
    if has_time_budget():
        config.update(time_budget=args.budget, timeout=None, trials=config.get("trials", 100_000))
        how = f"time_budget={args.budget:g}s (whole run)"
    else:
        config.update(timeout=args.budget / (args.outer + 1), trials=config.get("trials", 100_000))
        how = f"timeout={args.budget / (args.outer + 1):.1f}s per study (this abauto has no time_budget)"
    config.update(outer=f"kfold:{args.outer}", inner_folds=args.inner, seed=args.seed, n_jobs=1)
    from abauto.settings import SearchSettings
    settings = SearchSettings(**config)
    log(f"  {method}: {how}")
    result = search(dataset, settings, run_dir=run_dir, inputs=inputs, command=f"benchmarks/grouped.py {method}")
    board = result.leaderboard
    if board["protocol"].get("folds_sha256") not in (None, args.fingerprint):
        raise SystemExit(f"{method}: abauto's outer folds differ from the peers' ({run_dir}/leaderboard.json)")
    scores = board["best"]["metrics"]["balanced_accuracy"]["folds"]
    return {"scores": scores, "configs": board["trials"]["total"], "how": how,
            "detail": {"families": board["best"]["families"], "trials": board["trials"], "run_dir": str(run_dir)}}


def run_abauto(dataset, inputs, splits, args) -> dict:
    return _abauto_search(dataset, inputs, args, "abauto", {})


def run_gaia_grid(dataset, inputs, splits, args) -> dict:
    from abauto.config import load_config

    config = load_config(args.gaia_config)
    for key in ("outer", "inner_folds", "seed", "storage", "study_name", "n_jobs", "timeout", "time_budget"):
        config.pop(key, None)
    return _abauto_search(dataset, inputs, args, "gaia-grid", config)


def _one_fit(make):
    def run(dataset, inputs, splits, args) -> dict:
        from sklearn.metrics import balanced_accuracy_score
        from sklearn.pipeline import make_pipeline
        from abauto.folds import features, take

        X, y = features(dataset), dataset.y
        scores = []
        for k, (tr, te) in enumerate(splits):
            prep = baseline_prep(dataset)
            pipe = make_pipeline(*([prep] if prep is not None else []), make(args.seed))
            pipe.fit(take(X, tr), y[tr])
            scores.append(balanced_accuracy_score(y[te], pipe.predict(take(X, te))))
            save_partial(args, scores, k + 1)
        return {"scores": scores, "configs": len(splits)}
    return run


def _hgb_balanced(seed):
    from sklearn.ensemble import HistGradientBoostingClassifier
    return HistGradientBoostingClassifier(class_weight="balanced", random_state=seed)


def _hgb(seed):
    from sklearn.ensemble import HistGradientBoostingClassifier
    return HistGradientBoostingClassifier(random_state=seed)


def _rf500(seed):
    from sklearn.ensemble import RandomForestClassifier
    return RandomForestClassifier(n_estimators=500, random_state=seed)


def run_flaml(dataset, inputs, splits, args) -> dict | None:
    AutoML = flaml_automl()
    if AutoML is None:
        return None
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedGroupKFold
    from abauto.folds import inner_splits

    X, y, groups = dataset.X, dataset.y, dataset.groups
    settings = settings_for(args)
    logs = Path(args.out) / "flaml"
    logs.mkdir(parents=True, exist_ok=True)
    scores, trials = [], 0
    for k, (tr, te) in enumerate(splits):
        inner = inner_splits(tr, y, settings, groups)
        cv = StratifiedGroupKFold(len(inner), shuffle=True, random_state=args.seed)
        got = list(cv.split(np.zeros(len(tr)), y[tr], groups[tr]))  # what FLAML will split: the same rows, same order
        assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(got, inner))
        trial_log = logs / f"{args.task}.fold{k}.log"
        trial_log.unlink(missing_ok=True)
        automl = AutoML()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            automl.fit(X.iloc[tr].reset_index(drop=True), y[tr], task="classification",
                       time_budget=args.budget / args.outer, metric=flaml_balanced_accuracy, eval_method="cv",
                       split_type=cv,
                       groups=groups[tr], seed=args.seed, n_jobs=1, verbose=0, log_file_name=str(trial_log),
                       log_type="all")
            pred = automl.predict(X.iloc[te].reset_index(drop=True))
        scores.append(None if pred is None else balanced_accuracy_score(y[te], pred))  # None: no trial finished
        trials += flaml_trials(trial_log)
        log(f"  flaml fold {k}: {summary(scores[-1:])} ({automl.best_estimator})")
        save_partial(args, scores, trials)
    return {"scores": scores, "configs": trials}


def run_autogluon(dataset, inputs, splits, args) -> dict | None:
    try:
        import autogluon.tabular  # noqa: F401
    except ImportError:
        print("note: AutoGluon is not importable; skipping it (pip install 'abauto[bench]' or 'autogluon.tabular')")
        return None
    import shutil
    from sklearn.metrics import balanced_accuracy_score

    X, y, groups = dataset.X, dataset.y, dataset.groups
    scores, models = [], 0
    for k, (tr, te) in enumerate(splits):
        path = Path(args.out) / "autogluon" / f"{args.task}.fold{k}"
        shutil.rmtree(path, ignore_errors=True)
        predictor, n = autogluon_fit(X.iloc[tr], y[tr], args.budget / args.outer, path, groups=groups[tr])
        if predictor is None:  # the time limit ran out before any model
            scores.append(None)
        else:
            scores.append(balanced_accuracy_score(y[te], np.asarray(predictor.predict(X.iloc[te].reset_index(drop=True)))))
        models += n
        shutil.rmtree(path, ignore_errors=True)
        log(f"  autogluon fold {k}: {summary(scores[-1:])} ({n} models, best "
            f"{predictor.model_best if predictor is not None else None})")
        save_partial(args, scores, models)
    return {"scores": scores, "configs": models}


RUNNERS = {"abauto": run_abauto, "gaia-grid": run_gaia_grid, "hgb-balanced": _one_fit(_hgb_balanced),
           "hgb": _one_fit(_hgb), "rf500": _one_fit(_rf500), "flaml": run_flaml, "autogluon": run_autogluon}
BUDGETED = ("abauto", "gaia-grid", "flaml", "autogluon")


def save_partial(args, scores, configs) -> None:
    """After each outer fold: what is done so far, so a run cut short still reports k folds."""
    row = dict(args.row, scores=[None if s is None else float(s) for s in scores], configs=int(configs),
               seconds=time.perf_counter() - args.t0, partial=True)
    args.partial.write_text(json.dumps(row, indent=1))


# ----------------------------------------------------------------------------------------- report

def summary(scores: list) -> str:
    """mean ± population std over the outer folds; a fold where the method produced no model (abauto
    at a budget too small for one trial to finish) is left out and named."""
    got = [s for s in scores if s is not None]
    text = f"{np.mean(got):.3f} ± {np.std(got):.3f}" if got else "no model"
    missing = len(scores) - len(got)
    return text + (f" (no model in {missing}/{len(scores)} folds)" if missing and got else "")


def load_results(out: Path) -> list[dict]:
    rows, done = [], set()
    for f in sorted((out / "results").glob("*.json")):
        if not f.name.endswith(".partial.json"):
            rows.append(json.loads(f.read_text()))
            done.add(f.name)
    for f in sorted((out / "results").glob("*.partial.json")):
        if f.name.replace(".partial.json", ".json") not in done:
            rows.append(json.loads(f.read_text()))
    return rows


def write_tables(out: Path) -> None:
    rows = load_results(out)
    if not rows:
        print("no results yet")
        return
    order = {m: i for i, m in enumerate(ALL_METHODS)}
    tasks = list(TASKS) + sorted({r["task"] for r in rows} - set(TASKS))
    rows.sort(key=lambda r: (tasks.index(r["task"]), order.get(r["method"], 99)))
    with open(out / "grouped.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["task", "method", "budget_s", "fold", "balanced_accuracy", "method_seconds", "configs",
                    "load_1min", "finished"])
        for r in rows:
            for k, s in enumerate(r["scores"]):
                w.writerow([r["task"], r["method"], r["budget"] if r["method"] in BUDGETED else "", k,
                            "" if s is None else f"{s:.6f}",
                            f"{r['seconds']:.1f}", r["configs"], f"{r.get('load', [float('nan')])[0]:.2f}",
                            r.get("finished", "partial")])
    lines = []
    for task in tasks:
        sub = [r for r in rows if r["task"] == task]
        if not sub:
            continue
        r0 = sub[0]
        lines += [f"### task {task} ({r0.get('classes', '?')} classes, {r0.get('rows', '?')} documents, "
                  f"{r0.get('n_groups', '?')} tracks; outer {r0['outer']}-fold grouped, budget {r0['budget']:g} s "
                  f"per method)", "",
                  "| method | nested, grouped (balanced accuracy) | wall s | wall / budget | configs tried |",
                  "|---|---|---:|---:|---:|"]
        for r in sub:
            part = f" (partial: {len(r['scores'])}/{r['outer']} folds)" if r.get("partial") else ""
            ratio = f"{r['seconds'] / r['budget']:.2f}" if r["method"] in BUDGETED else ""
            lines.append(f"| {LABELS.get(r['method'], r['method'])}{part} | {summary(r['scores'])} "
                         f"| {r['seconds']:.0f} | {ratio} | {r['configs']} |")
        how = next((r["how"] for r in sub if r.get("how")), None)
        if how:
            lines.append(f"\nabauto's budget: {how}.")
        lines.append("")
    text = "\n".join(lines)
    (out / "grouped.md").write_text(text)
    print(text)
    print(f"written: {out / 'grouped.csv'}, {out / 'grouped.md'}")


# ----------------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder with lowlevel/, groundtruth.yaml, tracks.csv")
    p.add_argument("--groundtruth", default=None, help="default: DATA/groundtruth.yaml")
    p.add_argument("--groups", default="track", help="column of tracks.csv whose values never straddle folds")
    p.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated: {', '.join(TASKS)}")
    p.add_argument("--methods", default=",".join(ALL_METHODS))
    p.add_argument("--budget", type=float, default=60.0, help="seconds for a budgeted method's whole run")
    p.add_argument("--outer", type=int, default=5, help="outer folds (grouped)")
    p.add_argument("--inner", type=int, default=5, help="inner folds (grouped)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gaia-config", default=str(GAIA_CONFIG))
    p.add_argument("--out", default=None, help="output folder (default: a new temp dir)")
    p.add_argument("--report-only", action="store_true", help="only aggregate saved results in --out")
    args = p.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="abauto-grouped-"))
    args.out = str(out)
    args.groundtruth = args.groundtruth or str(Path(args.data) / "groundtruth.yaml")
    (out / "results").mkdir(parents=True, exist_ok=True)
    if args.report_only:
        write_tables(out)
        return 0
    tasks = split_values(args.tasks)
    methods = split_values(args.methods)
    for t in tasks:
        if t not in TASKS:
            p.error(f"unknown task {t!r} (known: {', '.join(TASKS)})")
    for m in methods:
        if m not in RUNNERS:
            p.error(f"unknown method {m!r} (known: {', '.join(ALL_METHODS)})")
    from threadpoolctl import threadpool_limits

    log(f"out: {out}")
    for task in tasks:
        args.task = task
        t0 = time.perf_counter()
        dataset, inputs = load_task(args, task)
        splits, args.fingerprint = outer_folds(dataset, args)
        log(f"{task}: {len(dataset.y)} documents, {len(np.unique(dataset.y))} classes, "
            f"{len(np.unique(dataset.groups))} groups, {dataset.X.shape[1]} features ({time.perf_counter() - t0:.0f} s to load)")
        for method in methods:
            log(f"{task}: {method} ...")
            args.t0 = time.perf_counter()
            args.partial = out / "results" / f"{task}__{method}.partial.json"
            args.row = {"task": task, "method": method, "budget": args.budget, "outer": args.outer,
                        "inner": args.inner, "rows": len(dataset.y), "classes": int(len(np.unique(dataset.y))),
                        "n_groups": int(len(np.unique(dataset.groups))), "load": list(os.getloadavg())}
            with threadpool_limits(1), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = RUNNERS[method](dataset, inputs, splits, args)
            if res is None:
                continue
            seconds = time.perf_counter() - args.t0
            row = {**args.row, "scores": [None if s is None else float(s) for s in res["scores"]], "seconds": seconds,
                   "configs": int(res["configs"]), "how": res.get("how"), "detail": res.get("detail"),
                   "load_after": list(os.getloadavg()), "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
            (out / "results" / f"{task}__{method}.json").write_text(json.dumps(row, indent=1, default=str))
            args.partial.unlink(missing_ok=True)
            ratio = f" ({seconds / args.budget:.2f} x the {args.budget:g} s budget)" if method in BUDGETED else ""
            log(f"{task}: {method}: {summary(row['scores'])}, {seconds:.0f} s wall{ratio}, load {row['load'][0]:.1f}")
    write_tables(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
