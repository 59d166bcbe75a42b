"""Running a trial's work in a forked child process, so a plugin that hangs or allocates without
bound costs one trial: the child is killed after ``timeout`` seconds, and may map at most ``memory_limit`` bytes
more than it inherited (a ``MemoryError`` inside the child).

The child inherits the data by ``fork`` (nothing is pickled on the way in) and streams each
result back through a pipe, so the parent can report inner-fold scores to the pruner as they
come and kill the child when the trial is pruned. The parent keeps the only connection to the
Optuna storage.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import time
import traceback
from typing import Any, Callable, Iterator

_FORK = mp.get_context("fork")


class TrialTimeout(RuntimeError):
    """The trial ran past ``--trial-timeout``."""


class ChildError(RuntimeError):
    """An exception raised in the child; ``where`` is the formatted traceback."""

    def __init__(self, message: str, where: str = ""):
        super().__init__(message)
        self.where = where


def parse_size(text: str | int | None) -> int | None:
    """``"2G"``, ``"512M"``, ``"1.5GB"`` or bytes -> bytes."""
    if text is None or isinstance(text, int):
        return text
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    try:
        if value and value[-1] in scale:
            return int(float(value[:-1]) * scale[value[-1]])
        return int(float(value))
    except ValueError:
        raise ValueError(f"--memory-limit {text!r}: expected a size such as 2G or 512M") from None


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _child(conn, work: Callable[[], Iterator[Any]], memory_limit: int | None) -> None:
    try:
        if memory_limit:  # on top of what the (forked) process already maps
            cap = _address_space() + memory_limit
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        for item in work():
            conn.send(("item", item))
        conn.send(("done", None))
    except BaseException as exc:  # everything goes back to the parent as one message
        try:
            conn.send(("error", (f"{type(exc).__name__}: {exc}", traceback.format_exc())))
        except Exception:
            pass
    finally:
        conn.close()
        os._exit(0)


def run_isolated(work: Callable[[], Iterator[Any]], timeout: float | None = None,
                 memory_limit: int | None = None) -> Iterator[Any]:
    """Yield what ``work()`` yields, computed in a forked child with the given limits.

    Closing the generator early (e.g. the trial was pruned) kills the child.
    """
    parent, child = _FORK.Pipe(duplex=False)
    proc = _FORK.Process(target=_child, args=(child, work, memory_limit), daemon=True)
    proc.start()
    child.close()
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not parent.poll(wait):
                raise TrialTimeout(f"trial exceeded --trial-timeout {timeout:g} s and was stopped")
            try:
                kind, payload = parent.recv()
            except EOFError:
                raise ChildError(f"the trial's process died (exit code {proc.exitcode}); out of memory?") from None
            if kind == "item":
                yield payload
            elif kind == "done":
                return
            else:
                raise ChildError(*payload)
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()
