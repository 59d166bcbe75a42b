"""The ``abauto`` command line: ``plugins``, ``search``, ``worker``, ``predict``, and the commands
that plugins add through the ``register_commands`` hook (abauto's own ``leaderboard``,
``report`` and ``profile`` come in that way too, as built-in entry points).

Every error a user can fix prints one line to stderr and exits with code 2; nothing prints a
traceback unless ``ABAUTO_DEBUG=1``.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from abauto.errors import AbautoError, SettingsError
from abauto.extensions import split_values
from abauto.leaderboard_view import describe_pipeline
from abauto.registry import load_registry

def _process_started() -> float:
    """When this process started, on the ``time.monotonic()`` clock (Linux: ``/proc/self/stat``),
    so that a --time-budget also covers the interpreter's start and the imports; now elsewhere."""
    now = time.monotonic()
    try:
        fields = Path("/proc/self/stat").read_text().rpartition(")")[2].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return now
    return min(now, max(started, now - 60.0))  # another clock than expected: at most a minute back


# rich_markup_mode=None: help strings are plain text, so "[default: 60]" in them is shown, not read
# as rich markup and dropped (the mode applies to every command and group added to this app).
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="abauto: plugin-based AutoML comparison for music classification.")
out = Console()
err = Console(stderr=True)

# Options of 'abauto search' that only a loader plugin takes (abauto.extensions.Loader.options).
LOADER_OPTIONS = ("groundtruth", "select", "exclude_descriptors", "join")


def _show_version(value: bool) -> None:
    if value:
        from abauto import __version__

        typer.echo(f"abauto {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_show_version,
                                       help="Print abauto's version and exit.")) -> None:
    """abauto: plugin-based AutoML comparison for music classification."""


@app.command()
def plugins(as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
            check: Optional[str] = typer.Option(None, "--check", metavar="NAME",
                                                help="Run the contract check on one plugin or loader.")) -> None:
    """List the installed plugins (name, kind, package, version, hyperparameters), and the
    loaders, predict formats and commands that plugins add."""
    from abauto.cli_render import extension_rows, extensions_table, plugin_rows, plugins_table

    registry = load_registry()
    scratch = typer.Typer()  # the core's commands, to see what plugins add (and what clashes)
    scratch.registered_commands.extend(CORE_COMMANDS)
    registry.add_commands(scratch)
    if check:
        from abauto.testing import PluginCheckError, check_loader, check_plugin

        if check not in registry and check not in registry.loaders:
            raise SettingsError(f"no plugin or loader named {check!r} (see 'abauto plugins')")
        try:
            if check in registry:
                report = check_plugin(registry[check], registry=registry)
            else:
                report = check_loader(registry.loaders[check].item)
        except PluginCheckError as exc:
            err.print(f"[red]FAIL[/red] {exc}", highlight=False)
            raise typer.Exit(1)
        out.print(f"[green]OK[/green] {check}: {report}", highlight=False)
        return
    rows = plugin_rows(registry)
    extensions = extension_rows(registry)
    if as_json:
        print(json.dumps({"plugins": rows, **extensions,
                          "errors": [{"package": e.package, "message": e.message} for e in registry.errors]}, indent=2))
        return
    out.print(plugins_table(rows))
    out.print(extensions_table(extensions))
    for e in registry.errors:
        err.print(f"[yellow]skipped[/yellow] {e}", highlight=False)


def _settings(config: Optional[Path], **given):
    """SearchSettings from defaults, then the --config file, then options given explicitly."""
    from abauto.config import load_config
    from abauto.settings import SearchSettings

    values = load_config(config) if config else {}
    values.update({k: v for k, v in given.items() if v is not None and v != []})
    try:
        settings = SearchSettings(**values)
    except TypeError as exc:
        raise SettingsError(f"{config}: {exc}") from None
    return settings.validate()  # every value checked before any data is read


@app.command()
def search(
    data: Optional[Path] = typer.Argument(None, readable=False, help="CSV, TSV or parquet table, or an input a loader plugin reads (see 'abauto plugins')."),
    target: Optional[str] = typer.Option(None, help="Class column (default: 'class' if present, else the last)."),
    drop: Optional[List[str]] = typer.Option(None, help="Columns to leave out (repeat or comma-separate)."),
    id_: Optional[List[str]] = typer.Option(None, "--id", help="Identifier columns, left out of the features."),
    groups: Optional[str] = typer.Option(None, help="Column whose values never straddle train and test (e.g. artist)."),
    groundtruth: Optional[Path] = typer.Option(None, "--groundtruth", readable=False, help="Loader option (inputs a loader plugin reads, see 'abauto plugins'): file of labels by id."),
    select: Optional[List[str]] = typer.Option(None, "--select", help="Loader option: descriptor patterns to keep."),
    exclude_descriptors: Optional[List[str]] = typer.Option(None, "--exclude-descriptors", help="Loader option: descriptor patterns to leave out."),
    join: Optional[Path] = typer.Option(None, "--join", readable=False, help="Loader option: CSV of per-recording columns by id, for --groups/--id."),
    grid: Optional[List[str]] = typer.Option(None, "--grid", help="Override grid values: PARAM=V1,V2 (repeat)."),
    config: Optional[Path] = typer.Option(None, readable=False, help="YAML file of search settings (see configs/)."),
    trials: Optional[int] = typer.Option(None, help="Trials per study (each outer fold, and the final study). [default: 60]"),
    timeout: Optional[float] = typer.Option(None, help="Seconds of trials per study (refits extra); wall-clock budgets are not reproducible."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", metavar="SECONDS",
                                                help="Seconds for the whole search: every study, the refits and the final fit "
                                                     "(no trial cap unless --trials is given); not reproducible."),
    outer: Optional[str] = typer.Option(None, help="Outer evaluation: kfold:K or holdout:FRACTION. [default: kfold:5]"),
    inner_folds: Optional[int] = typer.Option(None, help="Inner CV folds. [default: 5]"),
    metric: Optional[str] = typer.Option(None, help="Any scikit-learn scorer name. [default: balanced_accuracy]"),
    sampler: Optional[str] = typer.Option(None, help="tpe, random or grid. [default: tpe]"),
    plugins_: Optional[List[str]] = typer.Option(None, "--plugins", help="Only these plugins (comma-separated)."),
    exclude: Optional[List[str]] = typer.Option(None, help="Never these plugins (comma-separated)."),
    seed: Optional[int] = typer.Option(None, help="Seed for folds, samplers and estimators. [default: 0]"),
    n_jobs: Optional[int] = typer.Option(None, "--n-jobs", help="Studies run in parallel processes; -1 = one per CPU core. [default: 1]"),
    no_prune: bool = typer.Option(False, "--no-prune", help="Never stop a trial early."),
    no_ensemble: bool = typer.Option(False, "--no-ensemble", help="No ensemble selection over each study's best trials."),
    storage: Optional[str] = typer.Option(None, help="Optuna storage URL [default: sqlite in the run folder]."),
    study_name: Optional[str] = typer.Option(None, help="Study name prefix. [default: abauto]"),
    out_dir: Optional[Path] = typer.Option(None, "--out", readable=False, help="Run folder [default: runs/<dataset>-<time>]."),
    resume: Optional[Path] = typer.Option(None, readable=False, help="Continue the search of this run folder (its data and settings)."),
    trial_timeout: Optional[float] = typer.Option(None, help="Stop a trial after this many seconds (runs trials in a child process)."),
    memory_limit: Optional[str] = typer.Option(None, help="Memory a trial may allocate, e.g. 4G (runs trials in a child process)."),
    report: bool = typer.Option(False, "--report", help="Also write report.html into the run folder."),
    quiet: bool = typer.Option(False, "--quiet", help="Print nothing but errors."),
    as_json: bool = typer.Option(False, "--json", help="Print the leaderboard JSON on stdout."),
) -> None:
    """Nested cross-validated Optuna search across plugins and hyperparameters.

    Running again with the same --out (or --resume RUN_DIR) continues the search: finished trials
    count toward the budget, trials a killed run left unfinished are retried. A run folder holds
    one search: other data or settings, or a search still running there, are refused."""
    from abauto.cli_render import leaderboard_table
    from abauto.config import grid_override
    from joblib import effective_n_jobs

    from abauto.progress import SearchProgress
    from abauto import search_engine as engine
    from abauto.schedule import coverage_note
    from abauto.runfolder import RunFolder
    from abauto.search_engine import default_run_dir, outer_splits, search as run_search
    from abauto.space import PipelineSpace

    started = _process_started()  # a --time-budget counts from here
    given = dict(trials=trials, timeout=timeout, time_budget=time_budget, outer=outer, inner_folds=inner_folds,
                 metric=metric, sampler=sampler, plugins=split_values(plugins_) or None,
                 exclude=split_values(exclude) or None, seed=seed, n_jobs=n_jobs,
                 prune=False if no_prune else None, ensemble=False if no_ensemble else None,
                 storage=storage, study_name=study_name,
                 grid=grid_override(config, grid), trial_timeout=trial_timeout, memory_limit=memory_limit)
    if resume is not None:
        inputs, base = _previous_run(resume)
        settings = _settings(None, **{**base, **{k: v for k, v in given.items() if v is not None}})
        out_dir = resume
    else:
        if data is None:
            raise SettingsError("give a DATA file, or --resume RUN_DIR")
        inputs = {"data": str(data), "target": target, "drop": split_values(drop), "ids": split_values(id_), "groups": groups,
                  "groundtruth": groundtruth and str(groundtruth), "select": select,
                  "exclude_descriptors": exclude_descriptors, "join": join and str(join)}
        settings = _settings(config, **given)
    dataset = _load_inputs(inputs)
    jobs, _ = outer_splits(dataset, settings)
    total = None if settings.time_budget else settings.trials * len(jobs)
    show = not quiet and not as_json
    for note in dataset.notes:
        if show:
            err.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    registry = engine.load_registry()
    warning = coverage_note(PipelineSpace.for_search(dataset, settings, registry), settings)
    if warning and show:  # --json: in the leaderboard's notes only
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    command = "abauto " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out_dir = out_dir or default_run_dir(dataset)  # named here so that Ctrl-C can say what to resume
    ends = started + settings.time_budget if settings.time_budget else None
    lanes = 1 if len(jobs) == 1 else min(len(jobs), effective_n_jobs(settings.n_jobs))
    try:
        with SearchProgress("search", show, settings.metric, [j.name for j in jobs], total, ends, settings.timeout,
                            lanes, console=err, started=started) as shown:
            shown.line(f"{_describe(dataset)}, read in {time.monotonic() - started:.1f} s; {len(jobs) - 1} outer "
                       f"fold(s) and the final study; run folder {out_dir}")
            result = run_search(dataset, settings, run_dir=out_dir, registry=registry,
                                progress=shown.on_trial if shown.active else None,
                                on_study=shown.on_study if shown.active else None,
                                command=command, inputs=inputs, started=started)
    except KeyboardInterrupt:
        # (typer turns a KeyboardInterrupt into exit 130 without a word, so main() never sees it)
        resume_hint = f"; continue with: abauto search --resume {shlex.quote(str(out_dir))}"
        started = (out_dir / "run.json").exists()  # else stopped before the search began: nothing to resume
        print(f"abauto: interrupted{resume_hint if started else ''}", file=sys.stderr)
        raise typer.Exit(130) from None
    board = result.leaderboard
    if report:
        from abauto.report import write_report

        write_report(result.run_dir)
    if as_json:
        print(json.dumps(board, indent=2))
    elif show:
        out.print(leaderboard_table(board))
        best = board["best"]
        score = "-" if best["outer_mean"] is None else f"[bold]{best['outer_mean']:.4f} ± {best['outer_std']:.4f}[/bold]"
        out.print(f"outer {board['protocol']['metric']}: {score}"
                  f" ({board['protocol']['outer']}, {board['protocol']['outer_folds']} outer fold(s))  run folder: {result.run_dir}",
                  highlight=False)
        if board["final"]:
            out.print(_final_line(board), highlight=False)
    failed = _failed_studies(board, result.studies)
    if failed:
        why = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in failed.items())
        where = RunFolder(result.run_dir).leaderboard_json
        if len([n for names in failed.values() for n in names]) == len(result.studies):
            print(f"abauto: error: no study completed a trial, so there are no scores and no model ({why}); "
                  f"see 'failures' in {where}", file=sys.stderr)
            raise typer.Exit(1)
        if board["final"] is None:
            print(f"abauto: error: the final study completed no trial, so no final model was saved ({why}); "
                  f"the outer folds' results are in {where}", file=sys.stderr)
            raise typer.Exit(1)
        if not quiet:
            print(f"abauto: warning: some outer folds have no score ({why}); see 'failures' in {where}", file=sys.stderr)


def _failed_studies(board: dict, studies: list[str]) -> dict[str, list[str]]:
    """The studies that completed no trial, by why: ``{first error: [study, ...]}`` (the first
    recorded failure of each study, from the leaderboard's ``failures``). ``studies``: the names
    of the outer folds' studies in order, then the final study's."""
    completed = [f is not None for f in board["best"]["families"]] + [board["final"] is not None]
    first: dict[str, str] = {}
    for f in board["failures"]:
        first.setdefault(f["study"], f"{f['error']} (plugin {f['plugin']})")
    by_reason: dict[str, list[str]] = {}
    for name, done in zip(studies, completed):
        if not done:
            timeout, budget = board["protocol"]["timeout"], board["protocol"].get("time_budget")
            option, seconds = ("--time-budget", budget) if budget else ("--timeout", timeout)
            reason = first.get(name, f"no trial finished within {option} {seconds:g} s and none failed; raise {option}"
                               if seconds else "no trial finished and none failed")
            by_reason.setdefault(reason, []).append(name)
    return by_reason


def _final_line(board: dict) -> str:
    """The saved model: family, pipeline, its inner score, and its family's outer score."""
    final, metric = board["final"], board["protocol"]["metric"]
    entry = next((e for e in board["entries"] if e["family"] == final["family"]), None)
    outer = ("no outer score" if entry is None or entry["outer_mean"] is None else
             f"{final['family']} outer {entry['outer_mean']:.4f} ± {entry['outer_std']:.4f} (rank {entry['rank']})")
    return (f"saved model: {final['family']} ({describe_pipeline(final['pipeline'])}), inner {metric} {final['inner_mean']:.4f} ± "
            f"{final['inner_std']:.4f}; {outer}")


def _describe(dataset) -> str:
    """``wine: 178 rows, 13 features, 3 classes``."""
    return (f"{dataset.name}: {len(dataset.y)} rows, {dataset.X.shape[1]} features, "
            f"{len(dataset.classes)} classes")


def _load_inputs(inputs: dict):
    """Load a search's data from the options recorded in its run.json (or just given); the
    ``LOADER_OPTIONS`` go to the loader plugin that claims the input (a table takes none)."""
    from abauto.data import load_dataset

    return load_dataset(Path(inputs["data"]), inputs.get("target"), inputs.get("drop") or [], inputs.get("ids") or [],
                        inputs.get("groups"), **{k: inputs.get(k) for k in LOADER_OPTIONS})


def _previous_run(run_dir: Path) -> tuple[dict, dict]:
    from abauto.runfolder import RunFolder

    meta = RunFolder(run_dir).read_meta()
    return meta["inputs"], meta["settings"]


@app.command()
def worker(
    storage: str = typer.Option(..., help="The search's Optuna storage URL (postgresql://..., journal:PATH, sqlite:///...)."),
    study_name: str = typer.Option("abauto", help="The search's study name prefix."),
    data: Optional[Path] = typer.Option(None, readable=False, help="Where this machine sees the data file [default: the search's path]."),
    wait: float = typer.Option(60.0, help="Seconds to wait for the search to appear in the storage."),
    quiet: bool = typer.Option(False, "--quiet", help="Print nothing but errors."),
) -> None:
    """Join a running search as one more worker until its trial budgets are spent.

    On a terminal a progress bar shows this worker's trials; in a log, a line per study it is done
    with and one every 30 s."""
    from abauto.folds import outer_splits
    from abauto.progress import SearchProgress
    from abauto.search_engine import work
    from abauto.settings import SearchSettings
    from abauto.studies import find_search

    started = time.monotonic()
    meta = find_search(storage, study_name, wait)
    inputs = {**meta["inputs"], **({"data": str(data)} if data else {})}
    settings = SearchSettings(**{**meta["settings"], "storage": storage, "n_jobs": 1})
    dataset = _load_inputs(inputs)
    names = [j.name for j in outer_splits(dataset, settings)[0]]
    ends = meta.get("ends")
    with SearchProgress("worker", not quiet, settings.metric, names, None,
                        None if ends is None else time.monotonic() + ends - time.time(), settings.timeout,
                        console=err, started=started) as shown:
        shown.line(f"joined the search {study_name!r}: {_describe(dataset)}")
        work(dataset, settings, folds_sha256=meta.get("folds_sha256"), ends=ends,
             progress=shown.on_trial if shown.active else None, on_study=shown.on_study if shown.active else None)


@app.command()
def predict(
    models: List[Path] = typer.Argument(..., metavar="MODEL", readable=False, help="best_pipeline.skops files or their run folders (csv: exactly one)."),
    data: Path = typer.Argument(..., metavar="DATA", readable=False, help="Table with the model's feature columns (or an input the --format reads)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", readable=False, help="Output CSV [default: stdout]."),
    id_: Optional[List[str]] = typer.Option(None, "--id", help="Columns copied to the output beside predictions."),
    format_: str = typer.Option("csv", "--format", help="csv, or a format a plugin registers (see 'abauto plugins')."),
    n_jobs: int = typer.Option(1, "--n-jobs", min=1, help="Processes for formats that predict in batches (csv uses one)."),
) -> None:
    """Predict classes and per-class probabilities with saved models (csv: one model)."""
    if format_ != "csv":
        formats = load_registry().predict_formats
        if format_ not in formats:
            raise SettingsError(f"--format {format_!r}: expected {' or '.join(['csv', *formats])}")
        return formats[format_].item.write(list(models), data, output, n_jobs)
    if len(models) != 1:
        raise SettingsError(f"--format csv predicts with one model, got {len(models)} ({', '.join(map(str, models))}); "
                            f"give one MODEL, or a --format that takes several (see 'abauto plugins')")
    model = models[0]
    registry = load_registry()
    loader = registry.loader_for(data)
    if loader is not None:  # e.g. low-level JSON: the csv format reads tables only
        hint = f"--format {loader.name}" if loader.name in registry.predict_formats else "a --format that reads it"
        raise SettingsError(f"{data}: the csv format reads tables, not an input of the {loader.name} loader; "
                            f"predict it with {hint} (see 'abauto plugins')")
    from abauto.data import read_table
    from abauto.files import write_text
    from abauto.model import align, load_model, predict_frame
    from abauto.runfolder import RunFolder

    pipeline, card = load_model(RunFolder(model).model_skops if model.is_dir() else model)
    frame = read_table(data)
    ids = split_values(id_)
    for c in ids:
        if c not in frame.columns:
            raise SettingsError(f"{data}: --id column {c!r} not found")
    result = predict_frame(pipeline, align(frame, card, str(data)))
    if ids:
        result = frame[ids].reset_index(drop=True).join(result)
    text = result.to_csv(index=False)
    if output:
        try:  # atomic: a failed write leaves no partial file
            write_text(output, text)
        except OSError as exc:
            raise SettingsError(f"-o {exc.filename or output}: cannot write the predictions "
                                f"({exc.strerror or exc}); choose another output path") from None
    else:
        sys.stdout.write(text)


CORE_COMMANDS = tuple(app.registered_commands)  # the commands above, which no plugin may replace
load_registry().add_commands(app)


# errno -> what to do, for an OSError caused by the user's machine rather than by abauto.
ENVIRONMENT_ERRORS = {
    errno.EACCES: "check its permissions or choose another path",
    errno.EPERM: "check its permissions or choose another path",
    errno.EROFS: "choose a path on a writable file system",
    errno.ENOSPC: "free some disk space or choose another path",
    errno.EDQUOT: "free some disk space or choose another path",
    errno.ENAMETOOLONG: "choose a shorter path",
    errno.ENOTDIR: "check the path: a part of it is a file, not a folder",
    errno.EISDIR: "check the path: it is a folder, not a file",
}


def _environment_message(exc: OSError) -> str:
    """``PATH: reason; what to do`` for an OSError of :data:`ENVIRONMENT_ERRORS`."""
    reason = exc.strerror or os.strerror(exc.errno)
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    where = " -> ".join(paths) + ": " if paths else ""
    return f"{where}{reason.lower()}; {ENVIRONMENT_ERRORS[exc.errno]}"


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: run the app and turn every exception into one line and an exit code: 2 for
    an error the user can fix (:class:`AbautoError`, or an ``OSError`` of the machine: permission
    denied, disk full, read-only file system, name too long), 1 for anything else (our bug)."""
    try:
        app(args=argv, prog_name="abauto")  # usage errors: click prints them and exits 2
    except AbautoError as exc:
        if os.environ.get("ABAUTO_DEBUG"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"abauto: error: {message}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("abauto: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # anything else is our bug: still one line, exit 1
        if os.environ.get("ABAUTO_DEBUG"):
            raise
        if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRORS:
            print(f"abauto: error: {_environment_message(exc)}", file=sys.stderr)
            sys.exit(2)
        print(f"abauto: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
              f"(ABAUTO_DEBUG=1 shows the traceback)", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
