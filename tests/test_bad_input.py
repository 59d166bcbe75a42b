"""Hostile input: every malformed table gives one line on stderr naming the file, exit code 2, no
traceback and no run folder (``search``) or output (``predict``); valid-but-unusual tables (BOM,
semicolons, decimal commas, quoted newlines, trailing delimiters, ...) are read correctly."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from abauto.cli import main
from abauto.data import DataError, dataset_from_frame, read_table

GOOD = "a,b,class\n" + "".join(f"{i},{i % 3},{'x' if i % 2 else 'y'}\n" for i in range(12))


def run_cli(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


def _write(tmp_path, name, content):
    """Write ``content`` (text, bytes, or a function that writes the path) to ``tmp_path / name``."""
    path = tmp_path / name
    if callable(content):
        content(path)
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _parquet_truncated(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": range(50), "class": ["x", "y"] * 25}).to_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _wide(n_cols: int, rows: int) -> str:
    header = ",".join(f"f{i}" for i in range(n_cols)) + ",class\n"
    return header + "".join(",".join(["1"] * n_cols) + f",{'xy'[r % 2]}\n" for r in range(rows))


def _rows(n: int, line=lambda i: f"{i},{i % 3},{'xy'[i % 2]}") -> str:
    return "".join(line(i) + "\n" for i in range(n))


def _parquet(frame_factory):
    return lambda path: frame_factory().to_parquet(path)


def _nested_parquet():
    return pd.DataFrame({"a": range(12), "tags": [[1, 2], [3]] * 6, "class": ["x", "y"] * 6})


def _multilevel_parquet():
    frame = pd.DataFrame({("f", "a"): range(12), ("f", "b"): range(12), ("y", "class"): ["x", "y"] * 6})
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def _xlsx(path):
    """What Excel writes (a ZIP of XML parts), saved under a .csv name."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")


# Cases refused for an option, not for the file: their message need not name the file.
OPTION_ONLY = {"bad_outer.csv", "bad_holdout.csv", "bad_metric.csv", "bad_sampler.csv", "bad_plugin.csv",
               "grid_without_grid.csv"}

IRIS_ROWS = "5.1,3.5,1.4,0.2,setosa\n4.9,3.0,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.4,3.2,4.5,1.5,versicolor\n" * 3


# (file name, content, extra CLI args, words the one-line error must contain)
CASES = [
    ("empty.csv", "", [], ["empty"]),
    ("blank.csv", "\n\n  \n", [], ["empty"]),
    ("header_only.csv", "a,b,class\n", [], ["header only"]),
    ("one_row.csv", "a,b,class\n1,2,x\n", [], ["single class"]),
    ("two_rows.csv", "a,b,class\n1,2,x\n3,4,y\n", [], ["only 2 labelled rows"]),
    ("single_class.csv", "a,class\n" + "1,x\n" * 10, [], ["single class", "'x'"]),
    ("one_member.csv", "a,class\n" + "1,x\n" * 10 + "2,y\n", [], ["class 'y'", "single member"]),
    ("no_target.csv", GOOD, ["--target", "label"], ["--target", "'label'"]),
    ("all_nan.csv", "a,b,class\n" + "1,,x\n2,,y\n" * 6, [], ["column 'b'", "no values"]),
    ("inf.csv", "a,b,class\n" + "1,2,x\n2,3,y\n" * 5 + "1,inf,x\n", [], ["column 'b'", "infinite"]),
    ("inf_after_unlabelled_row.csv", "a,b,class\n1,2,\n" + "1,2,x\n2,3,y\n" * 3 + "1,1e999,x\n", [],
     ["column 'b'", "infinite value in data row 8"]),
    ("neg_inf.csv", "a,b,class\n" + "1,2,x\n2,3,y\n" * 5 + "-inf,1,x\n", [], ["column 'a'", "infinite"]),
    ("text_in_numeric.csv", "a,b,class\n" + "1,2,x\n2,3,y\n" * 6 + "1,oops,x\n", [], ["column 'b'", "'oops'"]),
    ("mixed_types.csv", "a,b,class\n" + "1,2.5,x\n2,abc,y\n2,3,x\n3,4,y\n" * 3, [], ["column 'b'", "'abc'"]),
    ("dup_columns.csv", "a,a,class\n" + "1,2,x\n2,3,y\n" * 5, [], ["duplicate column", "'a'"]),
    ("dup_after_strip.csv", "a, a,class\n" + "1,2,x\n2,3,y\n" * 5, [], ["duplicate column"]),
    ("unnamed.csv", "a,,class\n" + "1,2,x\n2,3,y\n" * 5, [], ["column 2 has no name"]),
    ("latin1.csv", b"a,b,class\n" + b"1,caf\xe9,x\n2,d,y\n" * 5, [], ["undecodable byte 0xe9", "line 2"]),
    ("binary.csv", bytes(range(256)) * 40, [], ["binary"]),
    ("garbage.csv", b"\x89PNG\r\n\x1a\n" + b"\xff\xfe" * 100, [], ["undecodable"]),
    ("ragged.csv", "a,b,class\n1,2,x\n1,2,3,4,5,y\n" + "1,2,x\n" * 5, [], ["line 3", "6 fields where the header has 3"]),
    ("long_line.csv", "a,b,class\n" + "1,2,x\n" * 5 + ",".join(["9"] * 200_000) + "\n", [], ["line 7", "200000 fields"]),
    # rows with more fields than the header: pandas took the first fields as an index, shifting columns
    ("extra_fields_every_row.csv", "a,b,class\n" + _rows(12, lambda i: f"{i},{i % 3},{i},{'xy'[i % 2]}"), [],
     ["malformed row at line 2", "4 fields where the header has 3"]),
    ("extra_field_late.csv", "a,b,class\n" + _rows(8) + "8,2,extra,x\n" + _rows(4), [], ["line 10", "4 fields"]),
    ("extra_unquoted_comma.csv", "name,b,class\n" + _rows(6, lambda i: f"n{i},{i},{'xy'[i % 2]}")
     + "Smith, John,3,x\n", [], ["line 8", "quote values that contain ','"]),
    ("short_row.csv", "a,b,class\n" + _rows(3) + "4,1\n" + _rows(8), [], ["line 5", "2 fields where the header has 3"]),
    ("truncated_last_line.csv", "a,b,class\n" + _rows(12) + "12,", [], ["line 14", "2 fields"]),
    ("unclosed_quote.csv", 'a,b,class\n1,2,x\n2,"3,y\n' + _rows(10), [], ["line 3", "never closed"]),
    ("value_under_blank_name.csv", "a,b,class,\n" + _rows(6, lambda i: f"{i},{i},{'xy'[i % 2]},") + "1,2,x,7\n", [],
     ["column 4 has no name", "line 8"]),
    ("delimiter_mismatch.csv", "a;b;class\n" + _rows(12), [], ["line 2", "separated by ';'", "by ','"]),
    ("excel_sep_line_short_row.csv", "sep=;\na;b;class\n1;2;x\n3;4\n", [], ["line 4", "2 fields"]),
    # a first line that is data: the first row was lost and the columns were named '5.1', '3.5', ...
    ("headerless_numbers.csv", _rows(12, lambda i: f"{i}.5,{i % 3}.25,{i % 2}"), [], ["first line looks like data", "'0.5'"]),
    ("headerless_uci.csv", IRIS_ROWS, [], ["first line looks like data", "add a header"]),
    ("headerless_semicolons.csv", IRIS_ROWS.replace(",", ";").replace(".", ","), [], ["first line looks like data", "'5,1'"]),
    ("headerless_repeated_values.csv", "1,1,x\n" + _rows(12), [], ["first line looks like data"]),
    # decimal commas that cannot be read as numbers without guessing
    ("decimal_comma_quoted.csv", 'a,b,class\n' + _rows(12, lambda i: f'"{i},5",{i},{"xy"[i % 2]}'), [],
     ["column 'a'", "decimal comma", "'0,5'"]),
    ("decimal_comma_stray_text.csv", "a;b;class\n" + _rows(12, lambda i: f"{i},5;{i};{'xy'[i % 2]}") + "n/v;1;x\n", [],
     ["column 'a'", "'n/v'"]),
    # files that are not text tables
    ("gzip_named.csv", gzip.compress(GOOD.encode()), [], ["gzip-compressed", "decompress"]),
    ("excel_named.csv", _xlsx, [], ["Excel .xlsx"]),
    ("xls_named.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), [], ["Excel .xls"]),
    ("parquet_named.csv", _parquet(lambda: pd.DataFrame({"a": range(12), "class": ["x", "y"] * 6})), [],
     ["parquet file", "name it .parquet"]),
    ("utf16_without_bom.csv", GOOD.encode("utf-16-le"), [], ["binary"]),
    ("bad_utf16.csv", b"\xff\xfe" + b"a\x00,\x00\x00\xd8", [], ["UTF-16"]),
    ("only_repeated_headers.csv", "a,b,class\n" + "a,b,class\n" * 5, [], ["header only"]),
    # parquet files pandas reads but abauto cannot use as they are
    ("nested.parquet", _parquet(_nested_parquet), [], ["column 'tags'", "flatten"]),
    ("multilevel_names.parquet", _parquet(_multilevel_parquet), [], ["several levels", "('f', 'a')"]),
    # cells: whitespace only, '?' only, a regression target, a label per row
    ("whitespace_cells.csv", "a,b,class\n" + _rows(12, lambda i: f"{i},   ,{'xy'[i % 2]}"), [], ["column 'b'", "no values"]),
    ("question_marks_only.csv", "a,b,class\n" + _rows(12, lambda i: f"{i},?,{'xy'[i % 2]}"), [], ["column 'b'", "no values"]),
    ("target_whitespace.csv", "a,class\n" + _rows(8, lambda i: f"{i},  "), [], ["target column 'class' is empty"]),
    ("regression_target.csv", "a,class\n" + _rows(50, lambda i: f"{i},{i * 0.37:.2f}"), [], ["single member"]),
    ("thousand_classes.csv", "a,class\n" + _rows(1000, lambda i: f"{i % 7},c{i}"), [], ["single member"]),
    ("target_with_question_marks.csv", "a,class\n" + _rows(8, lambda i: f"{i},?"), [], ["target column 'class' is empty"]),
    # command-line options about the table's columns
    ("drop_target.csv", GOOD, ["--drop", "class"], ["--drop", "'class'", "is the target"]),
    ("id_target.csv", GOOD, ["--id", "class"], ["--id", "'class'", "is the target"]),
    ("groups_target.csv", GOOD, ["--groups", "class"], ["--groups", "'class'", "is the target"]),
    ("id_missing.csv", GOOD, ["--id", "track"], ["--id", "'track'", "not found"]),
    ("target_case.csv", GOOD, ["--target", "Class"], ["--target", "'Class'", "not found"]),
    ("groups_single.csv", "a,g,class\n" + _rows(12, lambda i: f"{i},artist1,{'xy'[i % 2]}"), ["--groups", "g"],
     ["--groups", "'g'", "single group 'artist1'"]),
    ("groups_gap.csv", "a,g,class\n" + _rows(12, lambda i: f"{i},{'' if i == 5 else i % 4},{'xy'[i % 2]}"), ["--groups", "g"],
     ["--groups", "'g'", "no value in data row 6"]),
    ("wide_few_rows.csv", _wide(10_000, 3), [], ["only 3 labelled rows"]),
    ("target_empty.csv", "a,class\n" + "1,\n" * 8, [], ["target column 'class' is empty"]),
    ("only_target.csv", "class\n" + "x\ny\n" * 5, [], ["no feature columns"]),
    ("drop_missing.csv", GOOD, ["--drop", "zzz"], ["--drop", "'zzz'"]),
    ("groups_missing.csv", GOOD, ["--groups", "artist"], ["--groups", "'artist'"]),
    ("drop_everything.csv", GOOD, ["--drop", "a,b"], ["no feature columns"]),
    ("bad_outer.csv", GOOD, ["--outer", "kfold:1"], ["--outer"]),
    ("bad_holdout.csv", GOOD, ["--outer", "holdout:1.5"], ["--outer"]),
    ("bad_metric.csv", GOOD, ["--metric", "nonsense"], ["--metric", "'nonsense'"]),
    ("bad_sampler.csv", GOOD, ["--sampler", "anneal"], ["--sampler", "'anneal'"]),
    ("bad_plugin.csv", GOOD, ["--plugins", "nosuchplugin"], ["unknown plugin", "'nosuchplugin'"]),
    ("grid_without_grid.csv", GOOD, ["--sampler", "grid"], ["grid"]),
]


@pytest.mark.parametrize("name,content,args,words", CASES, ids=[c[0] for c in CASES])
def test_bad_table_one_line_exit_2(tmp_path, capsys, name, content, args, words):
    path = _write(tmp_path, name, content)
    out_dir = tmp_path / "run"
    code, out, err = run_cli(["search", str(path), "--trials", "1", "--out", str(out_dir), "--quiet", *args], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("abauto: error:")
    if name not in OPTION_ONLY:
        assert str(path) in lines[0], lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert out == ""
    assert not out_dir.exists(), "no run folder may be left behind on bad input"


def test_hostile_suite_size():
    """The project keeps at least 50 distinct hostile tables and table options in this file."""
    assert len({c[0] for c in CASES}) == len(CASES) >= 50


def test_unreadable_file(tmp_path, capsys):
    """A file without read permission: one line naming it, exit 2, no run folder. Root reads any
    file, so as root the command runs in a child whose capability bounding set lacks
    ``dac_override`` and ``dac_read_search`` (``setpriv``): the permission bits hold for it."""
    path = _write(tmp_path, "locked.csv", GOOD)
    args = ["search", str(path), "--quiet", "--out", str(tmp_path / "run")]
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            code, err = _run_without_root_read_rights(args)
        else:
            code, _, err = run_cli(args, capsys)
    finally:
        path.chmod(0o644)
    assert code == 2 and err.startswith(f"abauto: error: {path}: cannot read it") and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists()


def _run_without_root_read_rights(args: list[str]) -> tuple[int, str]:
    """Run ``abauto ARGS`` as this (root) user without the capabilities that bypass file permissions."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux): a file without read permission is still readable")
    drop = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    code = "import sys; from abauto.cli import main; main(sys.argv[1:])"
    done = subprocess.run([*drop, sys.executable, "-c", code, *args], capture_output=True, text=True)
    return done.returncode, done.stderr


def test_unreadable_file_reason_is_reported(tmp_path, monkeypatch):
    """The same refusal where permissions cannot be taken away (root): any OSError names its reason."""
    path = _write(tmp_path, "t.csv", GOOD)

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(type(path), "read_bytes", refuse)
    with pytest.raises(DataError, match=r"t\.csv: cannot read it \(Permission denied\)"):
        read_table(path)


def test_other_bad_inputs(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    code, _, err = run_cli(["search", str(missing), "--quiet"], capsys)
    assert code == 2 and "no such file" in err and str(missing) in err
    code, _, err = run_cli(["search", str(tmp_path), "--quiet"], capsys)
    assert code == 2 and "needs --groundtruth" in err  # a folder is read as low-level JSON documents
    trunc = _parquet_truncated(tmp_path)
    code, _, err = run_cli(["search", str(trunc), "--quiet", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "parquet" in err and len(err.strip().splitlines()) == 1
    cfg = _write(tmp_path, "bad.yaml", "trials: [1\n")
    code, _, err = run_cli(["search", str(_write(tmp_path, "g.csv", GOOD)), "--config", str(cfg)], capsys)
    assert code == 2 and "not valid YAML" in err
    cfg = _write(tmp_path, "unknown.yaml", "trails: 3\n")
    code, _, err = run_cli(["search", str(tmp_path / "g.csv"), "--config", str(cfg)], capsys)
    assert code == 2 and "unknown setting 'trails'" in err
    code, _, err = run_cli(["search", str(tmp_path / "g.csv"), "--trials", "0"], capsys)
    assert code == 2 and "Traceback" not in err


@pytest.mark.parametrize("content,sep_note", [
    ("\ufeffa,b,class\n" + "1,2,x\n2,3,y\n" * 3, "BOM"),
    ("a;b;class\n" + "1;2;x\n2;3;y\n" * 3, "semicolons"),
    ('a,b,class\n1,"two\nlines",x\n2,"z",y\n' + '3,"z",x\n4,"w",y\n' * 2, "quoted newline"),
    ("a\tb\tclass\n" + "1\t2\tx\n2\t3\ty\n" * 3, "tabs"),
    ("a,b,class\r\n1,2,x\r2,3,y\n1,2,x\r\n2,3,y\r4,5,x\n6,7,y", "mixed line endings, no final newline"),
    ('a,b,class\n1,"x, ""quoted""\nand more",x\n' + '2,"a,b,c",y\n' * 5, "delimiters, quotes, newline in a field"),
    ("\n\n a , b ,  class \n" + "1,2,x\n2,3,y\n" * 3, "blank lines and spaces around names"),
])
def test_unusual_but_valid_tables_are_read(tmp_path, content, sep_note):
    path = _write(tmp_path, "t.csv", content)
    frame = read_table(path)
    assert list(frame.columns) == ["a", "b", "class"], sep_note
    ds = dataset_from_frame(frame, path)
    assert ds.target == "class" and len(ds.y) == len(frame)


# (id, file name, content, expected columns {name: values}, words of a note or None)
READ_AS = [
    ("decimal_comma", "t.csv", "a;b;class\n1,5;-0,25;x\n2,75;1.234,5;y\n3;7;x\n",
     {"a": [1.5, 2.75, 3.0], "b": [-0.25, 1234.5, 7.0]}, "decimal commas"),
    ("decimal_comma_thousands_only_column", "t.csv", "a;b;class\n1,5;1.234;x\n2,5;12.345.678;y\n3,5;7;x\n",
     {"a": [1.5, 2.5, 3.5], "b": [1234, 12345678, 7]}, "decimal commas"),
    ("decimal_comma_tabs", "t.tsv", "a\tb\tclass\n0,001\t1e3\tx\n-2,5\t2\ty\n1,0\t3\tx\n",
     {"a": [0.001, -2.5, 1.0], "b": [1000.0, 2.0, 3.0]}, "decimal commas"),
    ("decimal_point_in_semicolons", "t.csv", "a;b;class\n1.5;2;x\n2.5;3;y\n1.234;4;x\n",
     {"a": [1.5, 2.5, 1.234], "b": [2, 3, 4]}, None),
    ("excel_sep_line", "t.csv", "sep=;\na;b;class\n1,5;2;x\n2,5;3;y\n",
     {"a": [1.5, 2.5], "b": [2, 3]}, "decimal commas"),
    ("thousands_comma_quoted", "t.csv", 'a,b,class\n"1,234",2,x\n"12,345.5",3,y\n7,4,x\n',
     {"a": [1234.0, 12345.5, 7.0], "b": [2, 3, 4]}, "thousands separator"),
    ("question_mark_missing", "t.csv", "a,b,class\n1,?,x\n2,3.5,y\n3, ? ,x\n",
     {"a": [1, 2, 3], "b": [None, 3.5, None]}, "2 '?' cell(s) as missing"),
    ("na_tokens_with_spaces", "t.csv", "a,b,class\n1,NA ,x\n2,3.5,y\n3,null  ,x\n",
     {"b": [None, 3.5, None]}, None),
    ("spaces_around_text", "t.csv", "a,b,class \n1,red ,x\n2, red,y\n3,blue,x \n",
     {"b": ["red", "red", "blue"], "class": ["x", "y", "x"]}, None),
    ("concatenated_files", "t.csv", "a,b,class\n1,2.5,x\n2,3,y\na, b ,class\n3,4,x\n",
     {"a": [1, 2, 3], "b": [2.5, 3.0, 4.0]}, "dropped 1 line(s) repeating the header"),
    ("trailing_delimiter_rows", "t.csv", "a,b,class\n1,2,x,\n3,4,y,\n", {"a": [1, 3], "b": [2, 4]}, None),
    ("trailing_delimiter_everywhere", "t.csv", "a,b,class,\n1,2,x,\n3,4,y,\n", {"a": [1, 3], "class": ["x", "y"]}, None),
    ("trailing_empty_value", "t.csv", "a,b,class\n1,,x\n3,4,\n", {"a": [1, 3], "b": [None, 4.0]}, None),
    ("column_numbers_header", "t.csv", "0,1,2\n5,6,x\n7,8,y\n", {"0": [5, 7], "2": ["x", "y"]}, None),
    ("numbers_with_a_real_name", "t.csv", "1,2,class\n5,6,7\n7,8,9\n", {"1": [5, 7], "class": [7, 9]}, None),
    ("utf16_excel_unicode_text", "t.txt", ("a\tb\tclass\n1\t2\tx\n3\t4\ty\n").encode("utf-16"), {"a": [1, 3]}, None),
    ("parquet_number_names", "t.parquet", _parquet(lambda: pd.DataFrame({0: [1, 2], 1: ["x", "y"]})),
     {"0": [1, 2], "1": ["x", "y"]}, None),
]


@pytest.mark.parametrize("name,content,expected,note", [r[1:] for r in READ_AS], ids=[r[0] for r in READ_AS])
def test_tables_read_as_meant(tmp_path, name, content, expected, note):
    """Valid tables that pandas alone misreads (or that need a note) give exactly these values."""
    path = _write(tmp_path, name, content)
    frame = read_table(path)
    for column, values in expected.items():
        got = frame[column].tolist()
        assert [None if pd.isna(v) else v for v in got] == values, (column, got)
        assert all(type(v) is str for v in got if not pd.isna(v)) or pd.api.types.is_numeric_dtype(frame[column])
    notes = " ".join(frame.attrs.get("notes", []))
    assert (note in notes) if note else not notes, notes


def test_notes_reach_the_dataset_and_the_cli(tmp_path, capsys):
    path = _write(tmp_path, "eu.csv", "a;b;class\n" + _rows(12, lambda i: f"{i},5;{'?' if i == 3 else i};{'xy'[i % 2]}"))
    ds = dataset_from_frame(read_table(path), path)
    assert ds.X["a"].tolist() == [i + 0.5 for i in range(12)] and ds.X["b"].isna().sum() == 1
    assert any("decimal commas" in n for n in ds.notes) and any("'?'" in n for n in ds.notes)
    code, _, err = run_cli(["search", str(path), "--trials", "1", "--outer", "holdout:0.3", "--inner-folds", "2",
                            "--plugins", "gaussian_nb", "--out", str(tmp_path / "run")], capsys)
    assert code == 0, err
    assert "note: read decimal commas" in err and "note: read 1 '?' cell(s) as missing" in err


def test_few_members_lowers_folds_with_a_note(tmp_path):
    from abauto.search_engine import SearchSettings, outer_splits

    path = _write(tmp_path, "t.csv", "a,class\n" + "1,x\n" * 12 + "2,y\n2,y\n2,y\n")
    ds = dataset_from_frame(read_table(path), path)
    jobs, notes = outer_splits(ds, SearchSettings(outer="kfold:5"))
    assert len(jobs) == 4  # 3 outer folds + the final study
    assert "lowered from 5 to 3" in notes[0] and "'y'" in notes[0]


def test_rows_without_label_are_dropped_with_a_note(tmp_path):
    path = _write(tmp_path, "t.csv", "a,class\n" + "1,x\n2,y\n" * 4 + "3,\n")
    ds = dataset_from_frame(read_table(path), path)
    assert len(ds.y) == 8 and "dropped 1 rows" in ds.notes[0]


cells = st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
                  st.text(max_size=5), st.sampled_from(["", "inf", "NA", "x", "1e3", ";", '"', "\n"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=0, max_size=12),
       labels=st.lists(st.sampled_from(["a", "b", "", None]), min_size=0, max_size=12))
def test_loader_never_crashes_property(tmp_path, rows, labels):
    """Any table either loads into a consistent Dataset or raises a one-line DataError."""
    n = min(len(rows), len(labels))
    frame = pd.DataFrame([r[:3] for r in rows[:n]], columns=["f1", "f2", "f3"]) if n else pd.DataFrame(columns=["f1", "f2", "f3"])
    frame["class"] = labels[:n]
    path = tmp_path / "prop.csv"
    frame.to_csv(path, index=False)
    try:
        ds = dataset_from_frame(read_table(path), path)
    except DataError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return
    assert len(ds.y) == len(ds.X) >= 4
    numeric = ds.X[ds.numeric].to_numpy(dtype=float)
    assert not np.isinf(numeric).any()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=400))
def test_read_table_on_random_bytes_property(tmp_path, blob):
    path = tmp_path / "blob.csv"
    path.write_bytes(blob)
    try:
        read_table(path)
    except DataError as exc:
        assert "\n" not in str(exc)


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory):
    """A model from a tiny search on iris.csv (module-scoped: built once)."""
    from conftest import shared_file

    data = shared_file("datasets", "iris.csv")
    out = tmp_path_factory.mktemp("iris") / "run"
    with pytest.raises(SystemExit) as exc:
        main(["search", str(data), "--trials", "2", "--outer", "kfold:2", "--inner-folds", "2", "--quiet", "--out", str(out)])
    assert exc.value.code == 0
    return data, out / "best_pipeline.skops"


def _iris_lines(data, count=12):
    return data.read_text().splitlines()[: count + 1]


PREDICT_CASES = [
    ("extra_field", lambda lines: lines[:5] + [lines[5] + ",0.3"] + lines[6:], ["line 6", "6 fields where the header has 5"]),
    ("extra_field_every_row", lambda lines: lines[:1] + [line + ",0.3" for line in lines[1:]], ["line 2", "6 fields"]),
    ("short_row", lambda lines: lines[:3] + [lines[3].rsplit(",", 2)[0]] + lines[4:], ["line 4", "3 fields"]),
    ("headerless", lambda lines: lines[1:], ["first line looks like data"]),
    ("decimal_comma_quoted", lambda lines: lines[:1] + ['"' + line.replace(",", '","').replace(".", ",") + '"'
                                                        for line in lines[1:]], ["decimal comma"]),
]


@pytest.mark.parametrize("make,words", [c[1:] for c in PREDICT_CASES], ids=[c[0] for c in PREDICT_CASES])
def test_predict_refuses_malformed_tables(tmp_path, capsys, iris_model, make, words):
    data, model = iris_model
    path = tmp_path / "new.csv"
    path.write_text("\n".join(make(_iris_lines(data))) + "\n")
    output = tmp_path / "predictions.csv"
    code, out, err = run_cli(["predict", str(model), str(path), "-o", str(output)], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"abauto: error: {path}:"), err
    for word in words:
        assert word in lines[0], lines[0]
    assert out == "" and not output.exists()


def test_predict_refuses_a_folder(tmp_path, capsys, iris_model):
    """The csv format reads tables; a folder is the AcousticBrainz loader's (low-level JSON)."""
    _, model = iris_model
    code, _, err = run_cli(["predict", str(model), str(tmp_path)], capsys)
    assert code == 2 and err.strip() == f"abauto: error: {tmp_path}: the csv format reads tables, not an input of " \
                                        f"the acousticbrainz loader; predict it with --format acousticbrainz " \
                                        f"(see 'abauto plugins')"


def test_predict_reads_decimal_commas_like_the_original(tmp_path, capsys, iris_model):
    """The same rows written the European way (';' and decimal commas) get the same predictions."""
    data, model = iris_model
    lines = _iris_lines(data, 150)
    euro = tmp_path / "iris_eu.csv"
    euro.write_text("\n".join([lines[0].replace(",", ";")] + [r.replace(",", ";").replace(".", ",") for r in lines[1:]]))
    code1, plain, _ = run_cli(["predict", str(model), str(data)], capsys)
    code2, european, err = run_cli(["predict", str(model), str(euro)], capsys)
    assert code1 == code2 == 0, err
    assert european == plain
