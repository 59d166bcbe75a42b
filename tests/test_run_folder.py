"""One run folder holds one search: another search into it, a second search running at the same
time (in the folder, or on one shared study) and errors of the user's environment (a file or an
unwritable folder as --out, a corrupt study.db, a full disk, an unwritable predict -o) are each
refused with one line and exit 2, before any work and leaving nothing half-written."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import optuna
import pytest

from abauto.cli import main
from abauto.runfolder import RunFolder

TINY = ["--trials", "3", "--outer", "kfold:2", "--inner-folds", "2", "--plugins", "gaussian_nb,logreg", "--quiet"]
# Long enough that a second search starts while the first still runs (a few seconds on 2 busy cores).
LONGER = ["--trials", "6", "--outer", "kfold:2", "--inner-folds", "2", "--plugins",
          "gaussian_nb,logreg,knn,random_forest,standard", "--quiet"]


def run_cli(args, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return exc.value.code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("abauto: error: "), err
    return lines[0]


def trials(run: Path) -> int:
    return json.loads((run / "leaderboard.json").read_text())["trials"]["total"]


def stray(folder: Path) -> list[str]:
    """Half-written files a failed run must not leave: temporaries and SQLite's side files."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", "-wal", "-shm", "-journal")))


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    from conftest import shared_file

    data = shared_file("datasets", "iris.csv")
    out = tmp_path_factory.mktemp("iris") / "run"
    with pytest.raises(SystemExit) as exc:
        main(["search", str(data), *TINY, "--out", str(out)])
    assert exc.value.code == 0
    return data, out


@pytest.fixture
def run_copy(iris_run, tmp_path):
    """A copy of the finished iris run that a test may continue or damage."""
    data, out = iris_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    return data, copy


def test_run_json_records_what_defines_the_search(iris_run):
    _, out = iris_run
    identity = RunFolder(out).read_meta()["identity"]
    assert identity["abauto_version"] and len(identity["data"]["sha256"]) == 64
    assert identity["data"]["rows"] == 150 and identity["data"]["columns"] == 4
    assert identity["settings"]["seed"] == 0 and identity["settings"]["plugins"] == ["gaussian_nb", "logreg"]
    assert identity["settings"]["storage"] is None and "trials" not in identity["settings"]


def test_another_search_is_refused_before_any_work(iris_run, dataset_path, capsys):
    data, out = iris_run
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != RunFolder.LOCK}
    code, err = run_cli(["search", dataset_path("wine"), *TINY, "--out", out], capsys)
    line = one_line(err)
    assert code == 2 and f"{out}: holds another search (data differs: iris.csv vs wine.csv)" in line, line
    code, err = run_cli(["search", data, *TINY, "--seed", "1", "--metric", "accuracy", "--out", out], capsys)
    line = one_line(err)
    assert code == 2 and "metric balanced_accuracy vs accuracy; seed 0 vs 1" in line and "--out" in line, line
    code, err = run_cli(["search", data, *TINY, "--trials", "2", "--out", out], capsys)
    assert code == 2 and "--trials 3 or more" in one_line(err)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != RunFolder.LOCK}
    assert after == before  # iris's leaderboard, model, run.json and study.db untouched


def test_same_search_continues(run_copy, capsys):
    data, run = run_copy
    assert trials(run) == 3 * 3
    code, err = run_cli(["search", data, *TINY, "--out", run], capsys)  # the same command: nothing to add
    assert code == 0, err
    assert trials(run) == 3 * 3
    code, err = run_cli(["search", data, *TINY, "--trials", "4", "--n-jobs", "2", "--out", run], capsys)
    assert code == 0, err
    assert trials(run) == 3 * 4
    code, err = run_cli(["search", "--resume", run, "--quiet"], capsys)
    assert code == 0, err
    assert trials(run) == 3 * 4 and RunFolder(run).read_meta()["settings"]["trials"] == 4


def test_out_must_be_a_new_or_empty_folder_or_a_run_folder(iris_run, tmp_path, capsys):
    data, _ = iris_run
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    code, err = run_cli(["search", data, *TINY, "--out", a_file], capsys)
    assert code == 2 and f"{a_file}: is a file" in one_line(err)
    code, err = run_cli(["search", data, *TINY, "--out", a_file / "run"], capsys)
    assert code == 2 and f"{a_file}/run" in one_line(err) and "choose another --out" in err
    code, err = run_cli(["search", data, *TINY, "--out", tmp_path], capsys)
    assert code == 2 and "not an abauto run folder (holds 'notes.txt'" in one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing added
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = run_cli(["search", data, *TINY, "--out", empty], capsys)
    assert code == 0, err


@contextmanager
def read_only_folder(tmp_path: Path):
    """A folder this process cannot write: chmod for a user; for root (whom permissions do not
    stop), a read-only tmpfs, or skip."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("running as root and cannot mount a read-only tmpfs: no folder here is unwritable")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)])  # lazy: never masks a failure with "busy"


def test_unwritable_out(iris_run, tmp_path, capsys):
    data, _ = iris_run
    with read_only_folder(tmp_path) as folder:
        code, err = run_cli(["search", data, *TINY, "--out", folder / "run"], capsys)
        line = one_line(err)
        assert code == 2 and f"{folder}/run" in line and "choose another --out" in line, line
        assert not list(folder.iterdir())


def test_corrupt_study_db_on_resume(run_copy, capsys):
    _, run = run_copy
    board = (run / "leaderboard.json").read_bytes()
    (run / "study.db").write_bytes(b"this is not a database\n" * 200)
    code, err = run_cli(["search", "--resume", run, "--quiet"], capsys)
    line = one_line(err)
    assert code == 2 and f"{run}/study.db: not a readable Optuna database" in line and "move it away" in line, line
    assert (run / "leaderboard.json").read_bytes() == board
    assert stray(run) == []


def test_unwritable_predict_output(iris_run, tmp_path, capsys):
    data, out = iris_run
    a_file = tmp_path / "file"
    a_file.write_text("")
    for target in (a_file / "pred.csv", tmp_path):  # under a file; a folder
        code, err = run_cli(["predict", out, data, "-o", target], capsys)
        line = one_line(err)
        assert code == 2 and "-o " in line and "choose another output path" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # no partial or temporary file
    with read_only_folder(tmp_path) as folder:
        code, err = run_cli(["predict", out, data, "-o", folder / "pred.csv"], capsys)
        assert code == 2 and str(folder) in one_line(err)
        assert not list(folder.iterdir())


@pytest.mark.parametrize("size", ["40k", "64k"])  # SQLite says "disk I/O error" (study.db-shm), "disk is full"
def test_full_disk(iris_run, tmp_path, capsys, size):
    """A small tmpfs fills up while study.db grows: one line, exit 2; after space is freed (the
    tmpfs grown) the same command resumes from the trials that were written."""
    data, _ = iris_run
    if os.geteuid() != 0:
        pytest.skip("filling a disk reliably needs a small tmpfs, which only root can mount here")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here to fill a disk")
    try:
        code, err = run_cli(["search", data, *TINY, "--out", disk / "run"], capsys)
        line = one_line(err)
        assert code == 2 and "no space left on the device" in line and str(disk / "run") in line, line
        assert not [p for p in (disk / "run").iterdir() if p.name.endswith(".tmp")]
        subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)
        code, err = run_cli(["search", data, *TINY, "--out", disk / "run"], capsys)
        assert code == 0, err
        assert trials(disk / "run") == 3 * 3 and stray(disk / "run") == []
    finally:
        subprocess.run(["umount", "-l", str(disk)])


# ------------------------------------------------------------------ concurrent searches

def _abauto(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "abauto.cli", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for_a_trial(proc: subprocess.Popen, storage: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            for summary in optuna.get_all_study_summaries(storage):
                if summary.n_trials and optuna.load_study(study_name=summary.study_name, storage=storage).get_trials(
                        deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
                    return
        except Exception:  # the storage is being created
            pass
        time.sleep(0.2)
    pytest.fail(f"the first search wrote no trial (exit code {proc.poll()})")


@pytest.mark.slow
def test_second_search_in_a_running_folder_is_refused(dataset_path, tmp_path, capsys):
    """The first search runs its studies in two processes (--n-jobs 2): they take no lock, so they
    do not trip over their parent's; the second search is refused, the first ends normally."""
    run = tmp_path / "run"
    first = _abauto("search", dataset_path("wine"), *LONGER, "--n-jobs", "2", "--out", run)
    try:
        _wait_for_a_trial(first, f"sqlite:///{run / 'study.db'}")
        code, err = run_cli(["search", dataset_path("wine"), *LONGER, "--out", run], capsys)
        running = first.poll() is None
        line = one_line(err)
        assert code == 2 and line == (f"abauto: error: {run}: another abauto search (pid {first.pid}) is running in "
                                      "this folder; wait for it or use another --out"), line
        assert running, "the first search ended before the second started: raise LONGER's budget"
        assert first.wait(timeout=300) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert trials(run) == 3 * 6  # the budget, not overrun


@pytest.mark.slow
def test_sigkilled_search_releases_its_lock(dataset_path, tmp_path, capsys):
    run = tmp_path / "run"
    first = _abauto("search", dataset_path("wine"), *LONGER, "--out", run)
    _wait_for_a_trial(first, f"sqlite:///{run / 'study.db'}")
    first.send_signal(signal.SIGKILL)
    first.wait()
    code, err = run_cli(["search", "--resume", run, "--quiet"], capsys)
    assert code == 0, err
    assert trials(run) == 3 * 6


@pytest.mark.slow
def test_second_search_of_a_shared_study_is_refused(dataset_path, tmp_path, capsys):
    """Two searches of one study name on one journal file (other run folders): the second is
    refused; another study name in the same file is a search of its own."""
    journal = tmp_path / "study.journal"
    storage = f"journal:{journal}"
    first = _abauto("search", dataset_path("wine"), *LONGER, "--storage", storage, "--study-name", "genre",
                    "--out", tmp_path / "a")
    try:
        _wait_for_a_trial(first, optuna.storages.journal.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(journal))))
        code, err = run_cli(["search", dataset_path("wine"), *LONGER, "--storage", storage, "--study-name", "genre",
                             "--out", tmp_path / "b"], capsys)
        running = first.poll() is None
        line = one_line(err)
        assert code == 2 and f"another abauto search (pid {first.pid}) is running study 'genre'" in line, line
        assert running, "the first search ended before the second started: raise LONGER's budget"
        assert not (tmp_path / "b").exists()  # refused before it began: no trace
        assert first.wait(timeout=300) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    code, err = run_cli(["search", dataset_path("iris"), *LONGER, "--storage", storage, "--study-name", "genre",
                         "--out", tmp_path / "c"], capsys)
    assert code == 2 and "study genre.outer0: holds another search (data differs: wine.csv vs iris.csv)" in one_line(err)


def test_postgres_study_lock_is_held_for_the_life_of_a_process(tmp_path):
    """On PostgreSQL the lock of a study name is a session-level advisory lock: another process
    is refused while the holder lives, another study name is free, and the server releases the
    lock when the holder is killed."""
    from abauto.errors import StorageError
    from abauto.studies import search_lock

    url = os.environ.get("ABAUTO_TEST_POSTGRES")
    if not url:
        pytest.skip("ABAUTO_TEST_POSTGRES is not set: start a server with `eval \"$(.ci/postgres.sh)\"` (.ci/run does)")
    pytest.importorskip("psycopg2", reason="the PostgreSQL driver: pip install -e '.[postgres]'")
    name = f"lock-{os.getpid()}-{tmp_path.name}"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom abauto.studies import search_lock\n"
                               "with search_lock(sys.argv[1], sys.argv[2]):\n    print('held', flush=True)\n"
                               "    time.sleep(600)", url, name], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StorageError, match=rf"another abauto search \(pid {holder.pid}\) is running study '{name}'"):
            with search_lock(url, name):
                pass
        with search_lock(url, name + "-other"):
            pass
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 30
    while True:  # the server notices the dead session at once (the socket closes)
        try:
            with search_lock(url, name):
                break
        except StorageError:
            assert time.monotonic() < deadline, "the lock outlived its killed holder"
            time.sleep(0.2)
