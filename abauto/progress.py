"""What ``abauto search`` and ``abauto worker`` show while they run.

On a terminal (stderr): a transient rich progress bar of trials, the best inner score and the
time left. Otherwise (a log file, a pipe, a batch job): plain lines on stdout, flushed at once,
so long work is visible in a log: one when the search starts, one per finished study, and one
every :data:`LOG_EVERY` seconds (trials done, best so far, time left under ``--time-budget`` or
``--timeout``). ``ABAUTO_LOG_EVERY`` (seconds) changes the interval, for tests.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Sequence

from rich.console import Console

from abauto import leaderboard_view as view
from abauto.folds import FoldOutcome
from abauto.studies import trial_family, trial_rows

LOG_EVERY = 30.0  # seconds between two progress lines in a log


def log_every() -> float:
    """:data:`LOG_EVERY`, or the seconds in ``ABAUTO_LOG_EVERY``."""
    return float(os.environ.get("ABAUTO_LOG_EVERY", LOG_EVERY))


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class SearchProgress:
    """Progress of the studies named ``studies`` (the outer folds' in order, then the final one's),
    fed by the engine's callbacks :meth:`on_trial` and :meth:`on_study`.

    ``what``: the command (``search``, ``worker``); ``total``: trials in all (None: unknown, under a
    time budget); ``ends``: the ``time.monotonic()`` the time budget runs out; ``timeout``: seconds
    of trials per study (``--timeout``), run ``lanes`` studies at a time. Used as a context manager:
    ``show=False`` shows nothing, and :attr:`active` is then False."""

    def __init__(self, what: str, show: bool, metric: str, studies: Sequence[str], total: int | None = None,
                 ends: float | None = None, timeout: float | None = None, lanes: int = 1,
                 console: Console | None = None, started: float | None = None):
        self.what, self.show, self.metric, self.studies = what, show, metric, list(studies)
        self.total, self.ends, self.timeout, self.lanes = total, ends, timeout, max(1, lanes)
        self.console = console or Console(stderr=True)
        self.started = time.monotonic() if started is None else started
        self.done = 0
        self.best: dict[str, tuple[float, str | None]] = {}  # study -> (best inner value, its family)
        self.rung: str | None = None  # the row rung of the last trial (large tables), for the progress line
        self.finished: list[str] = []
        self.last_finish = self.started
        self.bar = None
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ticker: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.show

    @property
    def logging(self) -> bool:
        """Whether progress goes to a log as lines (output not a terminal) rather than a bar."""
        return self.show and not self.console.is_terminal

    # -- context ----------------------------------------------------------------------------------
    def __enter__(self) -> "SearchProgress":
        if not self.show:
            return self
        if self.logging:
            self.ticker = threading.Thread(target=self._tick, name="abauto-progress", daemon=True)
            self.ticker.start()
            return self
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
        from rich.text import Text

        ends = self.ends

        class TimeLeft(ProgressColumn):
            def render(self, task) -> Text:
                return Text(f"{max(0.0, ends - time.monotonic()):.0f} s left", style="progress.remaining")

        columns = [TextColumn(f"[bold]{self.what}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   *([TimeLeft()] if ends is not None else []), TextColumn("{task.description}")]
        self.bar = Progress(*columns, console=self.console, transient=True)
        self.task = self.bar.add_task("", total=self.total)
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> bool:
        self.stop.set()
        if self.ticker is not None:
            self.ticker.join()
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False

    # -- callbacks --------------------------------------------------------------------------------
    def on_trial(self, study_name: str, trial) -> None:
        """A trial of ``study_name`` finished (the engine's ``progress`` callback)."""
        with self.lock:
            self.done += 1
            if trial.value is not None and trial.value > self.best.get(study_name, (float("-inf"), None))[0]:
                self.best[study_name] = (trial.value, trial_family(trial))
            rows = trial_rows(trial)  # a large table: the row rung the trial reached
            self.rung = f"last trial: {trial_family(trial)} on {rows:,} rows" if rows else None
            if self.bar is not None:
                best = self._best()
                desc = ", ".join(d for d in [best and f"best inner {best[0]:.4f}", self.rung and f"{self.rung}"] if d)
                self.bar.update(self.task, completed=self.done, description=desc)

    def on_study(self, study_name: str, outcome: FoldOutcome | None = None) -> None:
        """Study ``study_name`` finished; ``outcome``: what the search scored of it (a worker has none)."""
        with self.lock:
            if study_name not in self.finished:
                self.finished.append(study_name)
            self.last_finish = time.monotonic()
            if self.logging:
                self._print(self._study_line(study_name, outcome))

    def line(self, text: str) -> None:
        """Print ``text`` as one progress line, in a log only (a terminal has the bar)."""
        if self.logging:
            with self.lock:
                self._print(text)

    # -- lines ------------------------------------------------------------------------------------
    def _print(self, text: str) -> None:
        print(f"abauto {self.what} [{_clock(time.monotonic() - self.started)}] {text}", file=sys.stdout, flush=True)

    def _tick(self) -> None:
        every = log_every()
        while not self.stop.wait(every):
            with self.lock:
                self._print(self._trials_line())

    def _best(self) -> tuple[float, str | None] | None:
        return max(self.best.values(), key=lambda b: b[0]) if self.best else None

    def _label(self, name: str) -> str:
        if name not in self.studies:
            return f"study {name}"
        folds = [n for n in self.studies if not n.endswith(".final")]
        return "final study" if name not in folds else f"outer fold {folds.index(name) + 1} of {len(folds)}"

    def _trials_line(self) -> str:
        parts = [f"{self.done}/{self.total} trials" if self.total else f"{self.done} trials"]
        if len(self.finished) == len(self.studies) and self.what == "search":
            return f"{parts[0]}, every study done: fitting the final model and writing the run folder"
        parts.append(f"{len(self.finished)} of {len(self.studies)} studies done")
        best = self._best()
        if best:
            parts.append(f"best inner {self.metric} so far {best[0]:.4f}" + (f" ({best[1]})" if best[1] else ""))
        if self.rung:
            parts.append(self.rung)
        left = self._time_left()
        if left:
            parts.append(left)
        return ", ".join(parts)

    def _time_left(self) -> str | None:
        now = time.monotonic()
        if self.ends is not None:
            return f"{max(0.0, self.ends - now):.0f} s of --time-budget left"
        if self.timeout:
            unfinished = len(self.studies) - len(self.finished)
            left = self.timeout * unfinished / self.lanes - (now - self.last_finish)
            return f"at most about {max(0.0, left):.0f} s of --timeout trials left" if unfinished else None
        return None

    def _study_line(self, name: str, outcome: FoldOutcome | None) -> str:
        head = (f"{self._label(name)} done ({len(self.finished)} of {len(self.studies)} studies, "
                f"{self.done} trials so far)")
        if outcome is None:
            best = self.best.get(name)
            return head + (f": best inner {self.metric} {best[0]:.4f} ({best[1]})" if best else "")
        family = outcome.best_family
        if family is None:
            return head + ": no trial completed"
        scored = outcome.families.get(family)
        chosen = outcome.ensemble
        inner = scored.inner_mean if scored else (chosen.inner_mean if chosen and chosen.wins else None)
        text = f"{head}: best {family}"
        if inner is not None:
            text += f", inner {self.metric} {view.fmt_number(inner)}"
        if scored and scored.scores:
            text += f", outer {view.fmt_number(scored.scores.get(self.metric))}"
        return text
