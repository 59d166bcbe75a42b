"""Running a trial's work in a forked child process, so a plugin that hangs or allocates without
bound costs one trial: the child is killed after ``timeout`` seconds or at the study's deadline,
and may map at most ``memory_limit`` bytes more than it inherited (a ``MemoryError`` inside the
child).

The child inherits the data by ``fork`` (nothing is pickled on the way in) and streams each
result back through a pipe, so the parent can report inner-fold scores to the pruner as they
come and kill the child when the trial is pruned. The parent keeps the only connection to the
Optuna storage.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import resource
import time
import traceback
from typing import Any, Callable, Iterator

from abauto.errors import SettingsError

_FORK = mp.get_context("fork")


class TrialTimeout(RuntimeError):
    """The trial ran past ``--trial-timeout``."""


class PastDeadline(RuntimeError):
    """The trial was still running at the study's deadline (its ``--timeout``) and was stopped."""


class ChildError(RuntimeError):
    """An exception raised in the child; ``where`` is the formatted traceback."""

    def __init__(self, message: str, where: str = ""):
        super().__init__(message)
        self.where = where


def parse_size(text: str | int | float | None) -> int | None:
    """``"2G"``, ``"512M"``, ``"1.5GB"`` or bytes -> bytes (None stays None); a
    :class:`SettingsError` for anything else, or a size that is not > 0."""
    if text is None:
        return None
    message = f"--memory-limit {text!r}: expected a size > 0 such as 4G, 512M or a number of bytes"
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    elif isinstance(text, str):
        digits = text.strip().upper().removesuffix("B").removesuffix("I")
        factor = scale.get(digits[-1:], 1)
        try:
            value = float(digits[:-1] if factor > 1 else digits) * factor
        except ValueError:
            raise SettingsError(message) from None
    else:
        raise SettingsError(message)
    if not 0 < value < math.inf:
        raise SettingsError(message)
    return int(value)


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _serve(conn, fn: Callable[[Any], Iterator[Any]], memory_limit: int | None) -> None:
    """The child's loop: for each ``("run", arg)``, send what ``fn(arg)`` yields, one item at a
    time, each after the parent's ``"next"`` (``"stop"`` ends that run: the trial was pruned);
    then ``"done"``, or ``"error"`` with the exception. Ends when the parent's end closes."""
    try:
        if memory_limit:  # on top of what the (forked) process already maps
            cap = _address_space() + memory_limit
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        while True:
            try:
                _, arg = conn.recv()
            except EOFError:
                return
            try:
                for item in fn(arg):
                    conn.send(("item", item))
                    if conn.recv()[0] != "next":
                        break
                else:
                    conn.send(("done", None))
            except BaseException as exc:  # everything goes back to the parent as one message
                conn.send(("error", (f"{type(exc).__name__}: {exc}", traceback.format_exc())))
    except BaseException:
        pass
    finally:
        conn.close()
        os._exit(0)


class Worker:
    """A forked child that runs ``fn(arg)`` for one ``arg`` after another (:meth:`run`),
    streaming back what it yields. The child is forked at the first run and kept while runs end
    normally, so a study pays for one fork instead of one per trial (and the child keeps what
    it imported and cached); a run killed for its time limit kills the child, and the next run
    forks a new one. ``fn`` and the data it uses are inherited by ``fork``; only ``arg`` and
    the results are pickled."""

    def __init__(self, fn: Callable[[Any], Iterator[Any]], memory_limit: int | None = None):
        self.fn, self.memory_limit = fn, memory_limit
        self.proc = self.conn = None
        self.busy = False  # a run whose end the parent has not read or stopped

    def run(self, arg: Any, timeout: float | None = None, deadline: float | None = None) -> Iterator[Any]:
        """Start ``fn(arg)`` in the child and return the iterator of what it yields: killed after
        ``timeout`` seconds (:class:`TrialTimeout`) or at ``deadline``, a ``time.monotonic()``
        (:class:`PastDeadline`), whichever comes first; :class:`ChildError` for an exception in
        the child. Closing the iterator early stops the run after the item being computed. An
        ``arg`` that cannot be pickled raises here, before the child sees anything."""
        if self.busy or self.proc is None or not self.proc.is_alive():
            self.close()
            parent, child = _FORK.Pipe()
            self.proc = _FORK.Process(target=_serve, args=(child, self.fn, self.memory_limit), daemon=True)
            self.proc.start()
            child.close()
            self.conn = parent
        self.conn.send(("run", arg))
        self.busy = True
        return self._results(timeout, deadline)

    def _results(self, timeout: float | None, deadline: float | None) -> Iterator[Any]:
        own = None if timeout is None else time.monotonic() + timeout
        stop = min((t for t in (own, deadline) if t is not None), default=None)
        try:
            while True:
                wait = None if stop is None else max(0.0, stop - time.monotonic())
                if not self.conn.poll(wait):
                    self.close()
                    if stop == own:
                        raise TrialTimeout(f"trial exceeded --trial-timeout {timeout:g} s and was stopped")
                    raise PastDeadline("the time budget ran out while the trial ran; it was stopped")
                try:
                    kind, payload = self.conn.recv()
                except EOFError:
                    self.proc.join()
                    code = self.proc.exitcode
                    self.close()
                    raise ChildError(f"the trial's process died (exit code {code}); out of memory?") from None
                if kind == "item":
                    yield payload
                    self.conn.send(("next", None))
                elif kind == "done":
                    self.busy = False
                    return
                else:
                    self.busy = False
                    raise ChildError(*payload)
        finally:
            if self.busy and self.conn is not None:  # closed early: stop the run after its current item
                try:
                    self.conn.send(("stop", None))
                    self.busy = False
                except OSError:  # the child is gone
                    self.close()

    def close(self) -> None:
        """Kill the child (if any); the next :meth:`run` forks a new one."""
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join()
            self.conn.close()
        self.proc = self.conn = None
        self.busy = False


def run_isolated(work: Callable[[], Iterator[Any]], timeout: float | None = None,
                 memory_limit: int | None = None, deadline: float | None = None) -> Iterator[Any]:
    """Yield what ``work()`` yields, computed in a child forked for it alone with the given
    limits (see :meth:`Worker.run`); the child is killed when the iterator ends or is closed."""
    worker = Worker(lambda _: work(), memory_limit)
    try:
        yield from worker.run(None, timeout, deadline)
    finally:
        worker.close()
