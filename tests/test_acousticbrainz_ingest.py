"""AcousticBrainz low-level documents in: every input form gives the same table; gaia's names,
patterns and ground-truth formats; one-line errors naming the file and the descriptor."""

from __future__ import annotations

import bz2
import gzip
import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from abauto.data import DataError, load_dataset
from abauto_plugins.acousticbrainz import patterns
from abauto_plugins.acousticbrainz.groundtruth import read_groundtruth
from abauto_plugins.acousticbrainz.loader import load_frame, read_documents
from conftest import shared_file


@pytest.fixture
def ab_folder():
    return shared_file("acousticbrainz", "lowlevel")


def _stems(folder: Path) -> list[str]:
    return sorted(p.name[:-5] for p in folder.glob("*.json"))


def _gt(tmp_path: Path, stems, name="gt.yaml", class_name="genre") -> Path:
    path = tmp_path / name
    labels = {s: ("a" if i % 2 else "b") for i, s in enumerate(stems)}
    path.write_text(yaml.safe_dump({"className": class_name, "groundTruth": labels}))
    return path


def _tar(folder: Path, dest: Path, mode: str = "w") -> Path:
    with tarfile.open(dest, mode) as tar:
        for p in sorted(folder.glob("*.json")):
            tar.add(p, arcname=f"lowlevel/{p.name[:2]}/{p.name}")
    return dest


def _bulk(folder: Path, dest: Path) -> Path:
    bulk = {p.name[:-5]: {"0": json.loads(p.read_bytes())} for p in sorted(folder.glob("*.json"))}
    dest.write_text(json.dumps(bulk))
    return dest


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns[-1:]) + [frame.columns[0], frame.columns[1]], kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("which", ["lowlevel", "soundtracks"])
def test_every_input_form_gives_the_same_table(tmp_path, which):
    folder = shared_file("acousticbrainz", "lowlevel") if which == "lowlevel" else shared_file("acousticbrainz", "soundtracks", "lowlevel")
    gt = _gt(tmp_path, _stems(folder))
    reference = load_frame(folder, groundtruth=gt)
    n = len(list(folder.glob("*.json")))
    assert len(reference) == n
    forms = {"tar": _tar(folder, tmp_path / "dump.tar"), "bulk": _bulk(folder, tmp_path / "bulk.json")}
    if which == "lowlevel":  # compressed forms on the small set only (keeps the test fast)
        forms["tar.gz"] = _tar(folder, tmp_path / "dump.tar.gz", "w:gz")
        forms["tar.bz2"] = _tar(folder, tmp_path / "dump.tar.bz2", "w:bz2")
        mixed = tmp_path / "mixed" / "sub"
        mixed.mkdir(parents=True)
        for i, p in enumerate(sorted(folder.glob("*.json"))):
            if i % 3 == 0:
                (mixed / (p.name + ".bz2")).write_bytes(bz2.compress(p.read_bytes()))
            elif i % 3 == 1:
                (mixed / (p.name + ".gz")).write_bytes(gzip.compress(p.read_bytes()))
            else:
                shutil.copy(p, mixed / p.name)
        forms["compressed folder"] = mixed.parent
    ref = _sorted(reference)
    for form, source in forms.items():
        other = _sorted(load_frame(source, groundtruth=gt))
        assert list(other.columns) == list(ref.columns), form
        pd.testing.assert_frame_equal(other, ref, check_exact=True, obj=form)


def test_table_follows_gaia_names_and_drops_variable_length(tmp_path, ab_folder):
    ds = load_dataset(ab_folder, groundtruth=_gt(tmp_path, _stems(ab_folder)))
    cols = set(ds.X.columns)
    assert {"lowlevel.mfcc.mean.3", "lowlevel.mfcc.cov.3.7", "lowlevel.average_loudness", "rhythm.bpm"} <= cols
    assert "lowlevel.mfcc.mean" not in cols and "lowlevel.mfcc.mean.13" not in cols
    assert not any(c.startswith("rhythm.beats_position") for c in cols)
    assert not any(c.startswith("metadata.") for c in cols)  # left out by default, as gaia's presets do
    assert sorted(ds.categorical) == ["tonal.chords_key", "tonal.chords_scale", "tonal.key_key", "tonal.key_scale"]
    assert ds.target == "genre" and ds.X.shape[0] == 40
    first = json.loads((ab_folder / "0dad432b-16cc-4bf0-8961-fd31d124b01b.json").read_text())
    row = ds.X.iloc[_stems(ab_folder).index("0dad432b-16cc-4bf0-8961-fd31d124b01b")]
    assert row["lowlevel.mfcc.cov.3.7"] == np.float32(first["lowlevel"]["mfcc"]["cov"][3][7])
    assert row["tonal.key_key"] == first["tonal"]["key_key"]


def test_newer_schema_and_select_exclude(tmp_path, soundtracks):
    folder = soundtracks / "lowlevel"
    gt = soundtracks / "groundtruth.yaml"
    frame = load_frame(folder, groundtruth=gt, select=["lowlevel.mfcc*", "tonal.key_edma.*"], exclude=["*cov"])
    descs = {patterns.descriptor_of(c) for c in frame.columns[:-1]}
    # extractor "music 2.0" keeps only mean/cov/icov for MFCCs, and keys as key_edma.{key,scale,strength}
    assert descs == {"lowlevel.mfcc.mean", "tonal.key_edma.key", "tonal.key_edma.scale", "tonal.key_edma.strength"}
    assert frame.columns[-1] == "soundtrack" and len(frame) == 260


def test_gaia_patterns_are_anchored_like_gaia():
    names = ["lowlevel.barkbands.mean", "lowlevel.mfcc.min", "lowlevel.mfcc.icov", "lowlevel.mfcc.cov",
             "lowlevel.spectral_energyband_high.mean", "tonal.thpcp", "metadata.tags.genre", "lowlevel.dmean_x",
             "lowlevel.minimum"]
    assert patterns.matches("barkbands*", names) == ["lowlevel.barkbands.mean"]
    assert patterns.matches("bands*", names) == []          # not an unanchored substring
    assert patterns.matches("*.min", names) == ["lowlevel.mfcc.min"]
    assert patterns.matches("*cov", names) == ["lowlevel.mfcc.icov", "lowlevel.mfcc.cov"]
    assert patterns.matches("metadata.*", names) == ["metadata.tags.genre"]
    assert patterns.matches(".lowlevel.mfcc.*", names) == ["lowlevel.mfcc.min", "lowlevel.mfcc.icov", "lowlevel.mfcc.cov"]
    assert patterns.matches("mfcc.cov", names) == ["lowlevel.mfcc.cov"]
    assert patterns.select(names, ["lowlevel*"], ["*cov", "*.min"]) == [
        "lowlevel.barkbands.mean", "lowlevel.spectral_energyband_high.mean", "lowlevel.dmean_x", "lowlevel.minimum"]
    with pytest.raises(DataError, match="ambiguous"):
        patterns.matches("mean", ["lowlevel.a.mean", "rhythm.b.mean"])
    assert patterns.descriptor_of("lowlevel.mfcc.cov.3.7") == "lowlevel.mfcc.cov"
    assert patterns.descriptor_of("lowlevel.silence_rate_20dB.mean") == "lowlevel.silence_rate_20dB.mean"


def test_groundtruth_formats(tmp_path):
    ab_csv = shared_file("acousticbrainz", "gaia", "groundtruth", "acousticbrainz-server_db_test_data_dataset-1.csv")
    gt = read_groundtruth(ab_csv)
    assert gt.labels["0dad432b-16cc-4bf0-8961-fd31d124b01b"] == "Class A" and gt.class_name == "class"
    gaia = read_groundtruth(shared_file("acousticbrainz", "gaia", "groundtruth", "gaia_groundtruth_example.yaml"))
    assert gaia.class_name == "genre_tzanetakis" and gaia.labels["blues.00000"] == "blu" and len(gaia) == 993
    bare = read_groundtruth(shared_file("acousticbrainz", "gaia", "groundtruth", "gaia_test_svm_all.gt.yaml"))
    assert bare.class_name == "class" and len(bare) > 10
    two = tmp_path / "files.csv"
    two.write_text("file,mood\nx/abc.json,happy\nx/def.json.bz2,sad\n")
    gt2 = read_groundtruth(two)
    assert gt2.labels == {"abc": "happy", "def": "sad"} and gt2.class_name == "mood"
    # a bad row is named by its line in the file, blank lines and a header counted
    for text, line in (("id,label\n\na,x\nb\n", 4), ("a,x\n\n\nb,\n", 4), ("mood,label\nb\n", 2)):
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(DataError, match=rf"bad\.csv: line {line}: expected 'id,label'"):
            read_groundtruth(bad)


def test_match_by_mbid_tag_and_dump_names(tmp_path, ab_folder):
    # file names that say nothing: matched through metadata.tags.musicbrainz_recordingid
    src = ab_folder / "0dad432b-16cc-4bf0-8961-fd31d124b01b.json"
    other = ab_folder / "e8afe383-1478-497e-90b1-7885c7f37f6e.json"
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(src, folder / "first.json")
    shutil.copy(other, folder / "second.json")
    for i in range(3):  # AcousticBrainz dump names <mbid>-<n>: several submissions of a recording
        shutil.copy(ab_folder / f"00c47ea6-3a10-4a32-b1f1-990ac756c6a0-{i}.json", folder / f"00c47ea6-3a10-4a32-b1f1-990ac756c6a0-{i}.json")
    gt = tmp_path / "gt.csv"
    gt.write_text("0dad432b-16cc-4bf0-8961-fd31d124b01b,x\ne8afe383-1478-497e-90b1-7885c7f37f6e,y\n"
                  "00c47ea6-3a10-4a32-b1f1-990ac756c6a0,y\n")
    frame = load_frame(folder, groundtruth=gt)
    assert sorted(frame["class"]) == ["x", "y", "y", "y", "y"]


def test_join_adds_groups(tmp_path, soundtracks):
    ds = load_dataset(soundtracks / "lowlevel", groundtruth=soundtracks / "groundtruth.yaml",
                      join=soundtracks / "tracks.csv", groups="track", drop=["label", "excerpt_start_s", "duration_s", "track_duration_s"],
                      select=["lowlevel.mfcc.mean"])
    assert ds.groups is not None and len(set(ds.groups)) == 105
    assert list(ds.X.columns) == [f"lowlevel.mfcc.mean.{i}" for i in range(13)]


# ---- errors: one line, naming the file and the descriptor ----

def _copy_some(ab_folder: Path, dest: Path, n: int = 4) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    names = ["0dad432b-16cc-4bf0-8961-fd31d124b01b", "e8afe383-1478-497e-90b1-7885c7f37f6e",
             "01a0a332-d340-4806-a88b-cb60a05355c0", "01a1a77a-f81e-49a5-9fea-7060394409ec"][:n]
    return [Path(shutil.copy(ab_folder / f"{s}.json", dest / f"{s}.json")) for s in names]


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_corrupt_json_names_the_file(tmp_path, ab_folder):
    files = _copy_some(ab_folder, tmp_path / "d")
    files[2].write_bytes(files[2].read_bytes()[:5000])
    with pytest.raises(DataError) as exc:
        load_frame(tmp_path / "d", groundtruth=_gt(tmp_path, [f.name[:-5] for f in files]))
    assert files[2].name in _one_line(exc) and "not valid JSON" in str(exc.value)


def test_document_without_lowlevel(tmp_path, ab_folder):
    files = _copy_some(ab_folder, tmp_path / "d")
    doc = json.loads(files[1].read_text())
    del doc["lowlevel"]
    files[1].write_text(json.dumps(doc))
    with pytest.raises(DataError) as exc:
        load_frame(tmp_path / "d", groundtruth=_gt(tmp_path, [f.name[:-5] for f in files]))
    assert files[1].name in _one_line(exc) and "'lowlevel'" in str(exc.value)


@pytest.mark.parametrize("change", ["shorter", "missing", "string", "same-total"])
def test_descriptor_differing_across_files(tmp_path, ab_folder, change):
    files = _copy_some(ab_folder, tmp_path / "d")
    doc = json.loads(files[3].read_text())
    if change == "shorter":
        doc["lowlevel"]["mfcc"]["mean"] = doc["lowlevel"]["mfcc"]["mean"][:12]
    elif change == "missing":
        del doc["lowlevel"]["mfcc"]["mean"]
    elif change == "string":
        doc["lowlevel"]["mfcc"]["mean"] = "oops"
    else:  # two changes that keep the total number of values: still caught
        doc["lowlevel"]["mfcc"]["mean"] = doc["lowlevel"]["mfcc"]["mean"][:12]
        doc["lowlevel"]["gfcc"]["mean"] = doc["lowlevel"]["gfcc"]["mean"] + [0.0]
    files[3].write_text(json.dumps(doc))
    with pytest.raises(DataError) as exc:
        load_frame(tmp_path / "d", groundtruth=_gt(tmp_path, [f.name[:-5] for f in files]))
    text = _one_line(exc)
    assert files[3].name in text
    if change == "same-total":  # the first differing descriptor in document order is named
        assert "'lowlevel.gfcc.mean' has 14 values" in text
    else:
        assert "'lowlevel.mfcc.mean'" in text
    if change == "shorter":
        assert "has 12 values where the first document" in text and "has 13" in text


def test_groundtruth_naming_missing_documents(tmp_path, ab_folder):
    files = _copy_some(ab_folder, tmp_path / "d")
    gt = _gt(tmp_path, [f.name[:-5] for f in files] + ["not-here-1", "not-here-2"])
    with pytest.raises(DataError) as exc:
        load_frame(tmp_path / "d", groundtruth=gt)
    text = _one_line(exc)
    assert "2 of 6" in text and "not-here-1" in text and "not-here-2" in text


def test_no_groundtruth_and_bad_sources(tmp_path, ab_folder):
    with pytest.raises(DataError, match="--groundtruth"):
        load_dataset(ab_folder)
    bad = tmp_path / "x.tar"
    bad.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(DataError) as exc:
        load_frame(bad, groundtruth=_gt(tmp_path, ["a", "b"]))
    assert "x.tar" in _one_line(exc)


def test_tar_zst_stream(tmp_path, ab_folder):
    zstandard = pytest.importorskip("zstandard")
    _tar(ab_folder, tmp_path / "plain.tar")
    (tmp_path / "dump.tar.zst").write_bytes(zstandard.ZstdCompressor().compress((tmp_path / "plain.tar").read_bytes()))
    gt = _gt(tmp_path, _stems(ab_folder))
    pd.testing.assert_frame_equal(_sorted(load_frame(tmp_path / "dump.tar.zst", groundtruth=gt)),
                                  _sorted(load_frame(ab_folder, groundtruth=gt)))


def test_run_folder_is_named_after_the_groundtruths_class_name(tmp_path, soundtracks, cli, monkeypatch):
    """A search of low-level documents without --out writes runs/<className>-<time>, not
    runs/lowlevel-<time> (every AcousticBrainz folder is called lowlevel)."""
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("search", soundtracks / "lowlevel", "--groundtruth", soundtracks / "groundtruth.yaml",
                       "--select", "lowlevel.mfcc.mean", "--trials", "2", "--plugins", "gaussian_nb",
                       "--outer", "kfold:2", "--inner-folds", "2", "--no-ensemble", "--quiet")
    assert code == 0, err
    runs = [p.name for p in (tmp_path / "runs").iterdir()]
    assert len(runs) == 1 and runs[0].startswith("soundtrack-"), runs
    board = json.loads((tmp_path / "runs" / runs[0] / "leaderboard.json").read_text())
    assert board["dataset"]["task"] == "soundtrack"


@pytest.mark.parametrize("groundtruth, folder", [
    ("id,label\n", "lowlevel-"),                                    # no class name: the input's name
    ("id,mood / party\n", "mood_party-"),                           # made safe for a file name
    ("className: genre_rosamerica\ngroundTruth:\n", "genre_rosamerica-"),
])
def test_default_run_dir_names(tmp_path, soundtracks, groundtruth, folder):
    from abauto.search_engine import default_run_dir

    labels = yaml.safe_load((soundtracks / "groundtruth.yaml").read_text())["groundTruth"]
    if groundtruth.startswith("id,"):
        path = tmp_path / "gt.csv"
        path.write_text(groundtruth + "".join(f"{k},{v}\n" for k, v in labels.items()))
    else:
        path = tmp_path / "gt.yaml"
        path.write_text(groundtruth + "".join(f"  {k}: {v}\n" for k, v in labels.items()))
    dataset = load_dataset(soundtracks / "lowlevel", groundtruth=path, select=["lowlevel.mfcc.mean"])
    run_dir = default_run_dir(dataset)
    assert run_dir.parent.name == "runs" and run_dir.name.startswith(folder), run_dir


@pytest.mark.parametrize("form", ["folder", "tar"])
def test_loading_shows_a_transient_bar_on_a_terminal_only(form, tmp_path, soundtracks, capsys, monkeypatch):
    source = soundtracks / "lowlevel"
    if form == "tar":
        source = _tar(source, tmp_path / "docs.tar")
    gt = soundtracks / "groundtruth.yaml"
    load_frame(source, groundtruth=gt, select=["lowlevel.mfcc.mean"], progress=True)
    assert capsys.readouterr() == ("", "")  # not a terminal: nothing (abauto search prints a summary line)

    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: the (captured) stderr is a terminal
    load_frame(source, groundtruth=gt, select=["lowlevel.mfcc.mean"], progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert f"reading low-level documents in {source.name}" in err
    assert "260/260" in err if form == "folder" else "260 documents" in err  # the last frame drawn
    assert err.rstrip().endswith("\x1b[2K")  # then erased (transient)
