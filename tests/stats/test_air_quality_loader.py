"""The air-quality loader: every malformed file is a ValueError naming the file,
the line and (for a bad cell) the column; bad arguments are clear errors."""

import pathlib

import numpy as np
import pytest

from mltheory.stats import shuffled

COLS = shuffled.AIR_QUALITY_COLUMNS


@pytest.fixture
def table():
    data = shuffled.synthetic_air_quality(3, rng=0)
    header = ",".join(COLS)
    rows = [",".join(str(data[c][i]) for c in COLS) for i in range(3)]
    return header, rows


def _write(tmp_path: pathlib.Path, text: str | bytes) -> pathlib.Path:
    file = tmp_path / "PRSA_Data_Aotizhongxin_20130301-20170228.csv"
    if isinstance(text, bytes):
        file.write_bytes(text)
    else:
        file.write_text(text)
    return file


def _bad_cell(row: str, col: str, value: str) -> str:
    cells = row.split(",")
    cells[COLS.index(col)] = value
    return ",".join(cells)


def test_a_well_formed_file_loads(tmp_path, table):
    header, rows = table
    file = _write(tmp_path, "\n".join([header, *rows]) + "\n")
    out = shuffled.load_beijing_air_quality(file, columns=["PM2.5", "wd"])
    assert out["PM2.5"].shape == (3,) and out["wd"].dtype.kind == "U"
    # NA cells are NaN, dropped by default
    file = _write(
        tmp_path, "\n".join([header, _bad_cell(rows[0], "TEMP", "NA"), *rows[1:]])
    )
    assert shuffled.load_beijing_air_quality(file)["TEMP"].shape == (2,)
    kept = shuffled.load_beijing_air_quality(file, dropna=False)["TEMP"]
    assert np.isnan(kept[0]) and kept.shape == (3,)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda h, r: "", r"line 1: the file is empty"),
        (lambda h, r: h + "\n", r"line 1: the file has a header but no data rows"),
        (lambda h, r: "a,b,c\n1,2,3\n", r"line 1: the header lacks the columns"),
        (
            lambda h, r: "\n".join([h, r[0], "1,2,3"]),
            r"line 3: expected 18 fields .* got 3",
        ),
        (
            lambda h, r: "\n".join([h, r[0] + ",extra"]),
            r"line 2: expected 18 fields .* got 19",
        ),
        (
            lambda h, r: "\n".join([h, r[0], _bad_cell(r[1], "PM2.5", "abc")]),
            r"line 3, column 'PM2\.5': expected a number or NA; got 'abc'",
        ),
        (lambda h, r: b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 8, r"line 1: not UTF-8 text"),
    ],
    ids=[
        "empty",
        "header-only",
        "wrong-header",
        "short-row",
        "extra-field",
        "text-in-number",
        "binary",
    ],
)
def test_malformed_files_name_file_line_and_column(tmp_path, table, make, match):
    header, rows = table
    file = _write(tmp_path, make(header, rows))
    with pytest.raises(ValueError, match=rf"file '.*{file.name}', {match}"):
        shuffled.load_beijing_air_quality(file)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"path": None},
            TypeError,
            r"path must be a str or os.PathLike .*got None",
        ),
        ({"columns": []}, ValueError, r"columns must name at least one column"),
        (
            {"columns": "PM2.5"},
            TypeError,
            r"columns must be a sequence of column names .* got 'PM2\.5'",
        ),
        ({"columns": ["PM25"]}, ValueError, r"columns entry must be one of"),
        ({"station": "Nowhere"}, ValueError, r"station must be one of"),
        ({"dropna": "yes"}, TypeError, r"dropna must be a bool"),
        ({"path": "/nonexistent/folder"}, FileNotFoundError, r"does not exist"),
    ],
)
def test_bad_arguments(tmp_path, table, kwargs, error, match):
    header, rows = table
    file = _write(tmp_path, "\n".join([header, *rows]))
    kwargs = {"path": file, **kwargs}
    with pytest.raises(error, match=match):
        shuffled.load_beijing_air_quality(**kwargs)
