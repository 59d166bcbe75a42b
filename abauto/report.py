"""``abauto report``: one self-contained HTML file describing a finished run folder.

Everything is inline: CSS in a ``<style>`` element and every figure as an SVG drawn by matplotlib
(the ``Figure`` API, never pyplot, so no GUI backend and no global state). The page carries a
Content-Security-Policy that forbids loading anything, so it reads the same offline. Each section
is built independently: a section whose input is missing or broken becomes a short note instead
of failing the whole report.

Inputs, all from the run folder: ``leaderboard.json`` (required), ``study.db`` (optimisation
history, hyperparameter importances), ``model-card.json`` (package versions, feature names),
``report.txt`` (confusion matrix of older runs) and the dataset named in ``dataset.source``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from abauto import leaderboard as lb
from abauto.files import write_text
from abauto.html import (CSP, PALETTE, Raw, esc, figure, guarded, heatmap, note, num,  # noqa: F401
                         page, svg, table)
from abauto.leaderboard_view import fmt_params, fmt_score, inner_text, leaderboard_rows
from abauto.runfolder import RunFolder

REPORT_FILE = RunFolder.REPORT_HTML


# ----------------------------------------------------------------------------- run folder inputs

class Run(RunFolder):
    """A finished run folder for the report: its leaderboard, model card and report.txt, read
    at once; study.db when asked. ``run_dir`` may also be its ``leaderboard.json``."""

    def __init__(self, run_dir: str | Path):
        given = Path(run_dir)
        if not given.exists():
            raise lb.LeaderboardError(f"{run_dir}: no such run folder")
        # a leaderboard file outside a run folder: no other file of a run folder is looked for
        super().__init__(given if given.is_dir() or given.name != self.LEADERBOARD else given.parent)
        self.board = lb.load(self.leaderboard_json if given.is_dir() else given)
        self.card = self.read_card()
        self.report_text = self.report_txt.read_text(encoding="utf-8") if self.report_txt.exists() else ""
        self.metric = self.board["protocol"]["metric"]

    def confusion(self) -> tuple[list[str], np.ndarray] | None:
        best = self.board["best"]
        if "confusion" in best:
            return [str(x) for x in best["confusion"]["labels"]], np.asarray(best["confusion"]["matrix"], dtype=int)
        return parse_confusion(self.report_text)

    def per_class(self) -> dict[str, dict] | None:
        best = self.board["best"]
        if "per_class" in best:
            return best["per_class"]
        cm = self.confusion()
        return per_class_from_confusion(*cm) if cm else None


def parse_confusion(text: str) -> tuple[list[str], np.ndarray] | None:
    """The confusion matrix block of ``report.txt`` (rows actual, columns predicted), or None."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Confusion matrix")), None)
    if start is None:
        return None
    body = [line for line in lines[start + 1:] if line.strip()][1:]  # skip the column header
    labels, rows = [], []
    for line in body:
        parts = line.split()
        n = len(body)
        if len(parts) <= n or not all(p.isdigit() for p in parts[-n:]):
            break
        labels.append(" ".join(parts[:-n]))
        rows.append([int(p) for p in parts[-n:]])
    if not rows or len(rows) != len(body):
        return None
    return labels, np.asarray(rows, dtype=int)


def per_class_from_confusion(labels: list[str], cm: np.ndarray) -> dict[str, dict]:
    out = {}
    for i, label in enumerate(labels):
        tp, predicted, actual = cm[i, i], cm[:, i].sum(), cm[i, :].sum()
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        out[label] = {"precision": float(p), "recall": float(r), "f1": float(2 * p * r / (p + r)) if p + r else 0.0,
                      "support": int(actual)}
    return out


# ----------------------------------------------------------------------------- sections

def section_dataset(run: Run) -> str:
    d = run.board["dataset"]
    total = sum(d["classes"].values())
    biggest = max(d["classes"].values())
    rows = [[c, n, Raw(f"{100 * n / total:.1f}%<span class=\"bar\" style=\"width:{int(120 * n / biggest)}px\"></span>")]
            for c, n in d["classes"].items()]
    kv = [["name", d["name"]], ["source", d.get("source") or "–"], ["rows", d["rows"]], ["features", d["features"]],
          ["categorical features", ", ".join(d.get("categorical") or []) or "none"], ["target column", d["target"]],
          ["classes", len(d["classes"])], ["missing values", f"{100 * d['missing_fraction']:.2f}% of feature cells"]]
    return (table([], kv, cls="kv") + "<h3>Class counts</h3>"
            + table(["class", "rows", "share"], rows, numeric={1}))


def section_leaderboard(run: Run) -> str:
    b, p = run.board, run.board["protocol"]
    rows = leaderboard_rows(b)
    header = ["rank", "family", f"outer {rows.metric}", "folds", *rows.others, "inner mean", "fit s",
              "pipeline (folds chosen)"]

    def pipe(text: str):
        return Raw(f'<span class="pipe">{esc(text).replace(" &gt; ", " › ")}</span>')
    cells = [["–" if r.selected else r.rank, r.family, fmt_score(r.score.mean, r.score.std, missing="–"), r.coverage,
              *(num(s.mean) for _, s in r.others), num(r.inner_mean) if not r.selected else "",
              num(r.fit_seconds, 2) if not r.selected else "", pipe(r.pipeline_text)] for r in rows]
    cells[0][1] = "selected per fold"
    outer = f"{p['outer_folds']}-fold" if p["outer"] == "kfold" else f"holdout {p['holdout_fraction']}"
    text = (f"<p>Nested cross-validation: {esc(outer)} outer{', grouped' if p['grouped'] else ''}, "
            f"{inner_text(p)}, {p['trials']} trials per study, sampler <code>{esc(p['sampler'])}</code>, "
            f"seed {p['seed']}. Scores are mean ± std over outer folds (other metrics: mean); a family only has "
            f"outer scores in the folds where it had at least one completed trial (column folds), so compare "
            f"families with the same count. The first row is the honest estimate of the whole procedure "
            f"(the pipeline selected in each fold; the families it chose are listed). For a family, the pipeline "
            f"column shows its most common pipeline over the outer folds and the folds where it was chosen.</p>")
    t = b["trials"]
    extra = f"<p class=\"sub\">Trials: {t['complete']} complete, {t['pruned']} pruned, {t['failed']} failed.</p>"
    fails = ""
    if b["failures"]:
        failed = [[f["study"], f["trial"], f["plugin"], f["error"][:200]] for f in b["failures"][:30]]
        fails = "<h3>Failed trials</h3>" + table(["study", "trial", "plugin", "error"], failed, numeric={1})
    notes = "".join(note(n) for n in b.get("notes") or [])
    numeric = {0, *range(2, 6 + len(rows.others))}
    return text + table(header, cells, numeric=numeric, highlight={0}, cls="lb compact", names={1}) + extra + notes + fails


def section_outer_scores(run: Run) -> str:
    b = run.board
    series = [("selected per fold", b["best"]["outer_scores"])] + [(e["family"], e["outer_scores"]) for e in b["entries"]]
    series = [(name, [s for s in scores if s is not None]) for name, scores in series]
    shown = [(n, s) for n, s in series if s]
    if not shown:
        return note("No outer-fold scores: every trial failed.")
    fig = figure(7.5, 0.8 + 0.34 * len(shown))
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)
    for i, (name, scores) in enumerate(shown):
        y = len(shown) - 1 - i
        color = PALETTE[1] if i == 0 else PALETTE[0]
        if len(scores) >= 3:
            ax.boxplot([scores], positions=[y], orientation="horizontal", widths=0.55, showfliers=False,
                       medianprops={"color": color}, boxprops={"color": "#9aa3ad"}, whiskerprops={"color": "#9aa3ad"},
                       capprops={"color": "#9aa3ad"})
        ax.scatter(scores, y + rng.uniform(-0.12, 0.12, len(scores)), s=18, color=color, alpha=0.85, zorder=3)
        ax.scatter([np.mean(scores)], [y], marker="D", s=22, facecolor="white", edgecolor=color, zorder=4)
    ax.set_yticks(range(len(shown)), [f"{n} ({len(s)})" for n, s in reversed(shown)])
    ax.set_xlabel(f"outer-fold {run.metric}")
    ax.grid(axis="x", color="#e3e6ea")
    ax.set_axisbelow(True)
    missing = [n for n, s in series if not s]
    caption = (f"Outer-fold {run.metric} per classifier family (dots: folds, diamond: mean, box when ≥ 3 folds; "
               f"in brackets the number of folds with a score).")
    return svg(fig, "outer-scores", caption) + (note(f"No outer score for: {', '.join(missing)}.") if missing else "")


def section_history(run: Run, studies: list) -> str:
    import optuna

    if not studies:
        return note("No study.db in the run folder (a custom --storage was used?), so no optimisation history.")
    fig = figure(7.5, 3.6)
    ax = fig.add_subplot()
    rows = []
    for k, study in enumerate(studies):
        done = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)) if t.value is not None]
        if not done:
            continue
        x = np.array([t.number for t in done])
        v = np.array([t.value for t in done])
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        best = np.maximum.accumulate(v) if maximize else np.minimum.accumulate(v)
        color = PALETTE[k % len(PALETTE)]
        label = study.study_name.rsplit(".", 1)[-1]
        ax.scatter(x, v, s=10, color=color, alpha=0.3)
        ax.step(x, best, where="post", color=color, lw=2 if label == "final" else 1.4, label=label,
                ls="-" if label == "final" else "--")
        rows.append([study.study_name, len(study.trials), len(done), num(best[-1])])
    if not rows:
        return note("No completed trials in study.db.")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"inner {run.metric}")
    ax.grid(color="#e3e6ea")
    ax.legend(loc="lower right", fontsize=8, ncols=2)
    return (svg(fig, "history", "Best inner-CV score so far per study (lines) and every completed trial (dots).")
            + table(["study", "trials", "complete", "best inner"], rows, numeric={1, 2, 3}))


def section_importance(run: Run, studies: list) -> str:
    import warnings

    import optuna

    final = next((s for s in studies if s.study_name.endswith(".final")), studies[-1] if studies else None)
    if final is None:
        return note("No final study in study.db, so no hyperparameter importances.")
    done = final.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(done) < 2:
        return note(f"Hyperparameter importances need at least 2 completed trials in the final study; it has {len(done)}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importances = optuna.importance.get_param_importances(
                final, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    except Exception as exc:
        return note(f"Optuna could not compute importances for {final.study_name} ({len(done)} trials): "
                    f"{type(exc).__name__}: {str(exc)[:200]}")
    if not importances:
        return note(f"No hyperparameter is shared by all completed trials of {final.study_name}, so Optuna "
                    "reports no importances (classifier-specific parameters only exist in some trials).")
    items = list(importances.items())[:15]
    fig = figure(7.5, 0.8 + 0.3 * len(items))
    ax = fig.add_subplot()
    names = [n for n, _ in items][::-1]
    values = [v for _, v in items][::-1]
    ax.barh(names, values, color=PALETTE[0])
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.2f}", va="center", fontsize=8)
    ax.set_xlabel("importance (fANOVA, share of variance)")
    ax.set_xlim(0, max(values) * 1.15 or 1)
    return (svg(fig, "importance", f"Hyperparameter importances in {final.study_name} ({len(done)} completed trials); "
                                   "only parameters present in every trial are assessed.")
            + (note("With few trials these importances are rough.") if len(done) < 20 else ""))


def section_confusion(run: Run) -> str:
    cm = run.confusion()
    if cm is None:
        return note("No confusion matrix: leaderboard.json has no best.confusion and report.txt has none.")
    labels, m = cm
    totals = m.sum(axis=1, keepdims=True)
    norm = np.divide(m, totals, out=np.zeros(m.shape, dtype=float), where=totals > 0)
    ann = [[f"{norm[i, j]:.2f}\n({m[i, j]})" for j in range(m.shape[1])] for i in range(m.shape[0])]
    return heatmap(norm, labels, labels, "confusion", annotations=ann, xlabel="predicted", ylabel="actual",
                   colorbar="share of the actual class",
                   caption=f"Row-normalised confusion matrix of the pooled outer-fold predictions ({int(m.sum())} rows; "
                           "each fold predicted by the pipeline selected in that fold). Cells: share (count).")


def section_per_class(run: Run) -> str:
    per = run.per_class()
    if not per:
        return note("No per-class scores (no confusion matrix in this run).")
    rows = [[c, num(r["precision"]), num(r["recall"]), num(r["f1"]), r["support"]] for c, r in per.items()]
    macro = [np.mean([r[k] for r in per.values()]) for k in ("precision", "recall", "f1")]
    rows.append(["macro average"] + [num(v) for v in macro] + [sum(r["support"] for r in per.values())])
    return table(["class", "precision", "recall", "F1", "support"], rows, numeric={1, 2, 3, 4}, highlight={len(rows) - 1})


def section_final(run: Run) -> str:
    final = run.board["final"]
    if not final:
        return note("No final model: every trial of the final study failed.")
    if final.get("members"):  # the ensemble selected over the final study's trials (abauto.ensemble)
        rows = [[f"{m['family']}_{m['trial']}", str(m["weight"]), s["slot"], s["plugin"],
                 Raw(f"<code>{esc(fmt_params(s['params']))}</code>")] for m in final["members"] for s in m["pipeline"]]
        return (f"<p>Chosen by the final study on all rows: an <b>ensemble</b> of {len(final['members'])} trials "
                f"(soft vote; a member's weight is how often greedy ensemble selection picked it), "
                f"inner {esc(run.metric)} {num(final['inner_mean'])} ± {num(final['inner_std'])}. "
                f"Saved as <code>best_pipeline.skops</code>.</p>"
                + table(["member", "weight", "step", "plugin", "parameters"], rows)
                + "<details><summary>Raw Optuna parameters</summary><pre>"
                + esc(json.dumps({f"{m['family']}_{m['trial']}": m["params"] for m in final["members"]}, indent=1))
                + "</pre></details>")
    rows = [[s["slot"], s["plugin"], Raw(f"<code>{esc(fmt_params(s['params']))}</code>")] for s in final["pipeline"]]
    return (f"<p>Chosen by the final study on all rows: trial {final['trial']}, family <b>{esc(final['family'])}</b>, "
            f"inner {esc(run.metric)} {num(final['inner_mean'])} ± {num(final['inner_std'])}. "
            f"Saved as <code>best_pipeline.skops</code>.</p>"
            + table(["step", "plugin", "parameters"], rows)
            + "<details><summary>Raw Optuna parameters</summary><pre>"
            + esc(json.dumps(final["params"], indent=1)) + "</pre></details>")


def section_profile(run: Run) -> str:
    """Profile of the features the search used, reloaded from ``dataset.source`` when it is a table here."""
    from abauto.data import TABLE_SUFFIXES, DataError, dataset_from_frame, read_table
    from abauto.profile import html_section, profile_dataset

    d = run.board["dataset"]
    source = d.get("source")
    if not source or not Path(source).exists():
        return note(f"The dataset {source or '(no source recorded)'} is not available here, so the data profile is skipped.")
    if not Path(source).is_file() or Path(source).suffix.lower() not in TABLE_SUFFIXES:
        return note(f"{source} is not a plain table, so the report does not reload it; "
                    "run 'abauto profile' on it with the search's input options instead.")
    try:
        frame = read_table(source)
        used = [f["name"] for f in (run.card or {}).get("features", [])]
        extra = [c for c in frame.columns if used and c not in used and c != d["target"]]
        ds = dataset_from_frame(frame, source, target=d["target"], drop=extra, name=d["name"])
    except DataError as exc:
        return note(f"Could not reload the dataset for the profile: {exc}")
    return html_section(profile_dataset(ds), prefix="profile")


def section_provenance(run: Run) -> str:
    b = run.board
    versions = (run.card or {}).get("versions") or {"abauto": b["abauto_version"]}
    kv = [["command", Raw(f"<code>{esc(b.get('command') or '(not recorded)')}</code>")], ["created", b["created"]],
          ["run folder", str(run.path.resolve())], ["wall time", f"{b['wall_seconds']:.1f} s"],
          ["report written", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())]]
    return (table([], kv, cls="kv") + "<h3>Package versions</h3>"
            + table(["package", "version"], [[k, v] for k, v in versions.items()]))


# ----------------------------------------------------------------------------- entry points

def render(run_dir: str | Path) -> str:
    """The report of a run folder as an HTML string."""
    run = Run(run_dir)
    b = run.board
    studies: list = []
    history_error = ""
    try:
        studies = run.studies()
    except Exception as exc:
        history_error = note(f"Could not read study.db: {type(exc).__name__}: {str(exc)[:200]}")
    best = b["best"]
    cards = [(num(best["outer_mean"]), f"outer {run.metric} (± {num(best['outer_std'])})"),
             (b["final"]["family"] if b["final"] else "–", "final model family"),
             (b["dataset"]["rows"], "rows"), (b["dataset"]["features"], "features"),
             (len(b["dataset"]["classes"]), "classes"), (b["trials"]["total"], "trials")]
    summary = '<div class="cards">' + "".join(f"<div class=\"card\"><b>{esc(v)}</b><span>{esc(k)}</span></div>"
                                              for v, k in cards) + "</div>"
    sections = [
        ("dataset", "Dataset", lambda: summary + section_dataset(run)),
        ("leaderboard", "Leaderboard", lambda: section_leaderboard(run)),
        ("outer-scores", "Outer-fold scores", lambda: section_outer_scores(run)),
        ("history", "Optimisation history", lambda: history_error or section_history(run, studies)),
        ("importance", "Hyperparameter importances", lambda: history_error or section_importance(run, studies)),
        ("confusion", "Confusion matrix", lambda: section_confusion(run)),
        ("per-class", "Per-class scores", lambda: section_per_class(run)),
        ("final", "Final pipeline", lambda: section_final(run)),
        ("profile", "Data profile", lambda: section_profile(run)),
        ("provenance", "Provenance", lambda: section_provenance(run)),
    ]
    subtitle = (f"abauto {esc(b['abauto_version'])} run of {esc(b['created'])}: "
                f"{esc(b['dataset']['name'])}, metric <code>{esc(run.metric)}</code>")
    return page(f"abauto report: {b['dataset']['name']}", subtitle,
                [(a, h, guarded(build)) for a, h, build in sections])


def write_report(run_dir: str | Path, output: str | Path | None = None) -> Path:
    """Write ``report.html`` (or ``output``) for a run folder atomically; return its path."""
    text = render(run_dir)
    target = Path(output) if output else RunFolder(run_dir).report_html
    return write_text(target, text)
