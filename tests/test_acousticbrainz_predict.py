"""``abauto predict RUN_DIR... DATA --format acousticbrainz``: two models trained on the real
soundtracks documents (two ground truths made from its labels), predicted together from a tar,
into a folder, a tar and a JSON-lines file, with unreadable documents listed and skipped."""

from __future__ import annotations

import bz2
import io
import json
import tarfile
from pathlib import Path

import orjson
import pytest
import yaml

from abauto.cli import main
from abauto_plugins.acousticbrainz import documents, predict as ab_predict
from abauto_plugins.acousticbrainz.highlevel import check_highlevel
from conftest import shared_file

pytestmark = pytest.mark.slow
TINY = ["--trials", "2", "--outer", "kfold:2", "--inner-folds", "2", "--plugins", "logreg", "--quiet"]
TASKS = {  # className -> (labels counted as the class, descriptors the model reads)
    "wesnoth": ({"wesnoth"}, "lowlevel.mfcc.mean,lowlevel.spectral_centroid.mean"),
    "strategy_game": ({"warzone2100", "ufoai", "wesnoth"}, "lowlevel.mfcc.mean,tonal.key_edma.*"),
}


def cli(argv) -> int:
    try:
        main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code
    return 0


@pytest.fixture(scope="module")
def soundtracks():
    return shared_file("acousticbrainz", "soundtracks")


@pytest.fixture(scope="module")
def runs(soundtracks, tmp_path_factory):
    """Two run folders, one per task: one label (or three) against the rest, as gaia YAML."""
    root = tmp_path_factory.mktemp("runs")
    labels = yaml.safe_load((soundtracks / "groundtruth.yaml").read_text())["groundTruth"]
    out = []
    for name, (positive, select) in TASKS.items():
        gt = root / f"{name}.yaml"
        truth = {i: (name if label in positive else f"not_{name}") for i, label in labels.items()}
        gt.write_text(yaml.safe_dump({"type": "unknown", "version": 1.0, "className": name, "groundTruth": truth}))
        run_dir = root / f"run-{name}"
        assert cli(["search", soundtracks / "lowlevel", "--groundtruth", gt, "--join", soundtracks / "tracks.csv",
                    "--groups", "track", "--select", select, *TINY, "--out", run_dir]) == 0
        out.append(run_dir)
    return out


@pytest.fixture(scope="module")
def docs_tar(soundtracks, tmp_path_factory):
    path = tmp_path_factory.mktemp("tar") / "lowlevel.tar"
    with tarfile.open(path, "w") as tar:
        for p in sorted((soundtracks / "lowlevel").glob("*.json")):
            tar.add(p, arcname=f"lowlevel/{p.name}")
    return path


def check_both(doc: dict, runs) -> None:
    assert check_highlevel(doc) == []
    assert set(doc["highlevel"]) == set(TASKS)
    for name, entry in doc["highlevel"].items():
        assert set(entry["all"]) == {name, f"not_{name}"}
    models = doc["metadata"]["version"]["highlevel"]["models"]
    assert {m["run"] for m in models.values()} == {r.name for r in runs}
    assert all(len(m["sha256"]) == 64 and m["estimate"]["metric"] for m in models.values())
    assert doc["metadata"]["version"]["lowlevel"]["extractor"] == "music 2.0"


def test_the_run_folder_records_the_task(runs):
    for run_dir, name in zip(runs, TASKS):
        card = json.loads((run_dir / "model-card.json").read_text())
        board = json.loads((run_dir / "leaderboard.json").read_text())
        assert card["dataset"]["task"] == board["dataset"]["task"] == name


def test_two_models_from_a_tar_into_one_document_per_recording(runs, docs_tar, tmp_path, capsys):
    out = tmp_path / "highlevel"
    assert cli(["predict", *runs, docs_tar, "--format", "acousticbrainz", "-o", out]) == 0
    assert "wrote 260 high-level documents (2 models" in capsys.readouterr().out
    files = sorted(out.glob("*.json"))
    assert len(files) == 260 and not list(out.glob(".*"))
    for path in files:
        doc = json.loads(path.read_text())
        check_both(doc, runs)
        assert doc["metadata"]["tags"]["file_name"] == path.stem + ".wav"
    assert not (tmp_path / "highlevel.errors.tsv").exists()


@pytest.mark.parametrize("suffix", [".jsonl", ".tar", ".tar.gz", ".tar.zst"])
def test_jsonl_and_tar_outputs_hold_the_same_documents(runs, docs_tar, soundtracks, tmp_path, suffix):
    folder = tmp_path / "folder"
    assert cli(["predict", *runs, soundtracks / "lowlevel", "--format", "acousticbrainz", "-o", folder]) == 0
    out = tmp_path / f"out{suffix}"
    assert cli(["predict", *runs, docs_tar, "--format", "acousticbrainz", "-o", out]) == 0
    assert not out.with_name(out.name + ".part").exists()
    if suffix == ".jsonl":
        got = {}
        for line in out.read_text().splitlines():
            doc = json.loads(line)
            got[doc.pop("id")] = doc
    else:
        got = {}
        if suffix == ".tar.zst":
            import zstandard

            reader = zstandard.ZstdDecompressor().stream_reader(out.open("rb"))
            tar = tarfile.open(fileobj=reader, mode="r|")
        else:
            tar = tarfile.open(out)
        with tar:
            for member in tar:
                assert member.name.startswith("highlevel/")
                got[Path(member.name).stem] = json.loads(tar.extractfile(member).read())
    assert len(got) == 260
    for rid, doc in got.items():
        check_both(doc, runs)
    for path in sorted(folder.glob("*.json"))[:20]:
        assert json.loads(path.read_text()) == got[path.stem]


def _broken_source(soundtracks, tmp_path) -> tuple[Path, dict]:
    """20 good documents and four that no model can read, with what the errors file should say."""
    src = tmp_path / "mixed"
    src.mkdir()
    good = sorted((soundtracks / "lowlevel").glob("*.json"))[:20]
    for p in good:
        (src / p.name).write_bytes(p.read_bytes())
    (src / "corrupt.json").write_bytes(b'{"lowlevel": {"mfcc": ')
    doc = json.loads(good[0].read_text())
    del doc["lowlevel"]["mfcc"]
    (src / "no-mfcc.json").write_text(json.dumps(doc))
    (src / "broken.json.bz2").write_bytes(b"BZh9 not bzip2 at all")
    music1 = sorted(shared_file("acousticbrainz", "lowlevel").glob("*.json"))[0]
    (src / "music1.json").write_bytes(music1.read_bytes())  # music 1.0: no tonal.key_edma
    return src, {"corrupt": "not valid JSON", "no-mfcc": "'lowlevel.mfcc.mean' is missing",
                 "broken": "corrupt compressed file", "music1": "extractor 'music 1.0'"}


def test_unreadable_documents_are_listed_and_skipped(runs, soundtracks, tmp_path, capsys):
    src, expected = _broken_source(soundtracks, tmp_path)
    out = tmp_path / "out.jsonl"
    assert cli(["predict", *runs, src, "--format", "acousticbrainz", "-o", out]) == 0
    assert "20 high-level documents" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 20
    rows = (tmp_path / "out.jsonl.errors.tsv").read_text().splitlines()
    assert rows[0] == "document\treason" and len(rows) == 1 + len(expected)
    reasons = {Path(r.split("\t")[0]).name.split(".")[0]: r.split("\t")[1] for r in rows[1:]}
    for name, text in expected.items():
        assert text in reasons[name], (name, reasons[name])
    assert "tonal.key_edma" in reasons["music1"] and "'strategy_game'" in reasons["music1"]


def test_a_row_a_model_refuses_is_listed_and_the_batch_goes_on(runs, soundtracks, tmp_path):
    src = tmp_path / "nan"
    src.mkdir()
    files = sorted((soundtracks / "lowlevel").glob("*.json"))[:5]
    for p in files:
        (src / p.name).write_bytes(p.read_bytes())
    doc = json.loads(files[0].read_text())
    doc["lowlevel"]["mfcc"]["mean"][0] = float("nan")  # JSON NaN: read, but refused unless a model imputes
    (src / "nan.json").write_text(json.dumps(doc))
    imputes = any(step["slot"] == "imputer" for r in runs
                  for step in json.loads((r / "model-card.json").read_text())["pipeline"])
    result = ab_predict.predict_stream(runs, src, tmp_path / "o.jsonl", progress=False)
    assert result["written"] == (6 if imputes else 5)
    if not imputes:
        rows = (tmp_path / "o.jsonl.errors.tsv").read_text().splitlines()
        assert len(rows) == 2 and "nan.json" in rows[1] and "refused it" in rows[1], rows


def test_exit_1_when_no_document_could_be_predicted(runs, tmp_path, capsys):
    src = tmp_path / "bad"
    src.mkdir()
    (src / "a.json").write_text("[1, 2]")
    (src / "b.json").write_text("{oops")
    out = tmp_path / "out.tar"
    assert cli(["predict", *runs, src, "--format", "acousticbrainz", "-o", out]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none of the 2 documents" in err[0] and "out.tar.errors.tsv" in err[0]
    assert not out.exists() and not out.with_name("out.tar.part").exists()
    assert len((tmp_path / "out.tar.errors.tsv").read_text().splitlines()) == 3


def test_usage_errors_are_one_line_with_exit_2(runs, soundtracks, tmp_path, capsys):
    cases = [
        (["predict", *runs, soundtracks / "lowlevel", "-o", tmp_path / "p.csv"], "predicts with one model"),
        (["predict", runs[0], runs[0], soundtracks / "lowlevel", "--format", "acousticbrainz", "-o", tmp_path / "x"],
         "one model per task"),
        (["predict", *runs, soundtracks / "lowlevel", "--format", "acousticbrainz"], "give -o"),
        (["predict", *runs, tmp_path / "absent", "--format", "acousticbrainz", "-o", tmp_path / "y"], "no such file"),
    ]
    for argv, text in cases:
        assert cli(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("abauto: error:") and text in err[0], err
    assert not (tmp_path / "p.csv").exists()


def test_n_jobs_and_batches_give_the_same_output(runs, docs_tar, tmp_path):
    one = ab_predict.predict_stream(runs, docs_tar, tmp_path / "one.jsonl", n_jobs=1, batch=64, progress=False)
    two = ab_predict.predict_stream(runs, docs_tar, tmp_path / "two.jsonl", n_jobs=2, batch=50, progress=False)
    assert one["written"] == two["written"] == 260
    a = [json.loads(line) for line in (tmp_path / "one.jsonl").read_text().splitlines()]
    b = [json.loads(line) for line in (tmp_path / "two.jsonl").read_text().splitlines()]
    assert [d["id"] for d in a] == [d["id"] for d in b]  # source order, whatever the pool does
    for x, y in zip(a, b):  # batch sizes may change the last bits of BLAS sums
        for name in TASKS:
            assert x["highlevel"][name]["all"] == pytest.approx(y["highlevel"][name]["all"], rel=1e-9)


def test_progress_lines_when_stderr_is_not_a_terminal(runs, docs_tar, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ab_predict, "LOG_EVERY", 0.0)
    ab_predict.predict_stream(runs[:1], docs_tar, tmp_path / "o.jsonl", batch=100)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("abauto predict: 100 documents,") and "documents/s" not in lines[0]
    assert lines[-1].startswith("abauto predict: 260 documents") and " % (about " in lines[-1]


def test_bulk_json_is_streamed_entry_by_entry(soundtracks, tmp_path, monkeypatch):
    files = sorted((soundtracks / "lowlevel").glob("*.json"))[:12]
    bulk = {"mbid_mapping": {"x": "y"}}
    for p in files:
        bulk[p.stem] = {"0": json.loads(p.read_text()), "1": {"lowlevel": {}}}
    bulk['we"ird\\id'] = {"0": json.loads(files[0].read_text())}
    path = tmp_path / "bulk.json"
    path.write_bytes(orjson.dumps(bulk))
    whole = [(r.stem, r.document()) for r in documents.iter_json_file(path)]
    streamed = [(r.stem, r.document()) for r in documents._iter_bulk_stream(path, chunk=997)]
    assert [s for s, _ in whole] == [s for s, _ in streamed] == [*(p.stem for p in files), 'we"ird\\id']
    assert all(a == b for (_, a), (_, b) in zip(whole, streamed))
    monkeypatch.setattr(documents, "BULK_STREAM_BYTES", 0)
    source = documents.open_source(path)
    assert sum(1 for _ in source.items) == 13 and source.done() == path.stat().st_size


def test_tar_reading_keeps_no_member_list(docs_tar, monkeypatch):
    seen = []
    real_open = tarfile.open

    def spy(*args, **kwargs):
        archive = real_open(*args, **kwargs)
        seen.append(archive)
        return archive

    monkeypatch.setattr(tarfile, "open", spy)
    count = 0
    for _ in documents.iter_tar(docs_tar):
        count += 1
        assert len(seen[0].members) <= 1
    assert count == 260


def test_bz2_members_decompress_when_parsed(soundtracks, tmp_path):
    p = sorted((soundtracks / "lowlevel").glob("*.json"))[0]
    path = tmp_path / "one.tar"
    with tarfile.open(path, "w") as tar:
        data = bz2.compress(p.read_bytes())
        info = tarfile.TarInfo(f"x/{p.stem}.json.bz2")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (raw,) = list(documents.iter_tar(path))
    assert raw.stem == p.stem and raw.document() == json.loads(p.read_text())


def test_csv_predict_on_low_level_json_names_the_format_that_reads_it(runs, soundtracks, capsys):
    """The csv format reads tables; low-level JSON gets one line naming --format acousticbrainz."""
    assert cli(["predict", runs[0], soundtracks / "lowlevel"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "the csv format reads tables" in err and "--format acousticbrainz" in err, err
