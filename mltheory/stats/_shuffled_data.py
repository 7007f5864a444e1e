"""Beijing Multi-Site Air-Quality data: a local-file loader and a synthetic stand-in.

The data set (Zhang, Guo, Wei, Liu, Chen and Chen, Proc. R. Soc. A 473, 2017;
UCI Machine Learning Repository, data set 501) holds hourly records from 12
monitoring sites in Beijing, March 2013 to February 2017, one CSV file per
site named ``PRSA_Data_<Station>_20130301-20170228.csv``. mltheory never
downloads it: the loader reads a copy the user has on disk.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mltheory._src._validation import check_in, check_scalar, describe

__all__ = [
    "AIR_QUALITY_COLUMNS",
    "AIR_QUALITY_STATIONS",
    "load_beijing_air_quality",
    "synthetic_air_quality",
]

AIR_QUALITY_STATIONS = (
    "Aotizhongxin",
    "Changping",
    "Dingling",
    "Dongsi",
    "Guanyuan",
    "Gucheng",
    "Huairou",
    "Nongzhanguan",
    "Shunyi",
    "Tiantan",
    "Wanliu",
    "Wanshouxigong",
)
AIR_QUALITY_COLUMNS = (
    "No",
    "year",
    "month",
    "day",
    "hour",
    "PM2.5",
    "PM10",
    "SO2",
    "NO2",
    "CO",
    "O3",
    "TEMP",
    "PRES",
    "DEWP",
    "RAIN",
    "wd",
    "WSPM",
    "station",
)
_TEXT_COLUMNS = ("wd", "station")
_WIND_DIRECTIONS = (
    *("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE"),
    *("S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"),
)
_SOURCE = (
    "the Beijing Multi-Site Air-Quality data set (UCI Machine Learning "
    "Repository, id 501: https://archive.ics.uci.edu/dataset/501), 12 files "
    "named PRSA_Data_<Station>_20130301-20170228.csv"
)


def _file_name(station: str) -> str:
    return f"PRSA_Data_{station}_20130301-20170228.csv"


def _resolve_files(path: Path, station: str | None) -> list[Path]:
    if not path.exists():
        raise FileNotFoundError(
            f"path {str(path)!r} does not exist. Download {_SOURCE} and pass "
            "the folder holding them (or one of the files). mltheory never "
            "downloads data."
        )
    if path.is_file():
        return [path]
    names = [station] if station is not None else list(AIR_QUALITY_STATIONS)
    files = [path / _file_name(s) for s in names]
    found = [f for f in files if f.is_file()]
    if station is not None and not found:
        raise FileNotFoundError(
            f"no file {_file_name(station)!r} in {str(path)!r}. It is one of {_SOURCE}."
        )
    if not found:
        raise FileNotFoundError(
            f"no PRSA_Data_<Station>_20130301-20170228.csv file in {str(path)!r}. "
            f"Expected {_SOURCE}."
        )
    return found


class _Table:
    """The cells of one CSV file, by column, with the line of every row."""

    def __init__(self, file: Path, columns: dict[str, list[str]], lines: list[int]):
        self.file = file
        self.columns = columns
        self.lines = lines


def _malformed(file: Path, line: int, what: str) -> ValueError:
    return ValueError(f"file {str(file)!r}, line {line}: {what}")


def _read_csv(file: Path) -> _Table:
    """Read a file of the data set; every malformed file is a ValueError.

    The message names the file, the line and (for a bad cell) the column.
    """
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    with file.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            for row in reader:
                if header is None:
                    header = [h.strip().strip('"') for h in row]
                    continue
                if not row:  # a blank line
                    continue
                if len(row) != len(header):
                    raise _malformed(
                        file,
                        reader.line_num,
                        f"expected {len(header)} fields (one per header column); "
                        f"got {len(row)}.",
                    )
                rows.append(row)
                lines.append(reader.line_num)
        except UnicodeDecodeError as err:
            raise _malformed(
                file,
                reader.line_num + 1,
                f"not UTF-8 text ({err.reason}; the first undecodable byte is at "
                "or after this line); is it a CSV file of the data set?",
            ) from None
        except csv.Error as err:
            raise _malformed(
                file, reader.line_num, f"not a valid CSV row: {err}."
            ) from None
    if header is None:
        raise ValueError(f"file {str(file)!r}, line 1: the file is empty.")
    missing = [c for c in AIR_QUALITY_COLUMNS if c not in header]
    if missing:
        raise _malformed(
            file,
            1,
            f"the header lacks the columns {missing}; expected the layout of "
            f"{_SOURCE}: {list(AIR_QUALITY_COLUMNS)}.",
        )
    if not rows:
        raise _malformed(file, 1, "the file has a header but no data rows.")
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    return _Table(file, columns, lines)


def _numeric_column(table: _Table, col: str) -> np.ndarray:
    out = np.empty(len(table.lines), dtype=np.float64)
    for i, value in enumerate(table.columns[col]):
        text = value.strip()
        if text in ("", "NA"):
            out[i] = np.nan
            continue
        try:
            out[i] = float(text)
        except ValueError:
            raise ValueError(
                f"file {str(table.file)!r}, line {table.lines[i]}, column {col!r}: "
                f"expected a number or NA; got {value!r}."
            ) from None
    return out


def load_beijing_air_quality(
    path: str | os.PathLike[str],
    *,
    station: str | None = None,
    columns: Sequence[str] | None = None,
    dropna: bool = True,
) -> dict[str, np.ndarray]:
    r"""Read the Beijing Multi-Site Air-Quality CSV files from a local path.

    Nothing is downloaded: ``path`` is a copy of the UCI data set (id 501)
    that the user has on disk, either one ``PRSA_Data_<Station>_...csv`` file
    or the folder holding the 12 files.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV file of the data set or the folder that holds the files.
    station : str or None, default=None
        Read only this site's file (one of the 12 station names, e.g.
        ``"Aotizhongxin"``); ``None`` reads every file found in the folder.
    columns : sequence of str or None, default=None
        The columns to return (default: all 18 of the data set).
    dropna : bool, default=True
        Drop the rows in which a returned numeric column is missing (``NA``).

    Returns
    -------
    dict of str to numpy.ndarray
        One array per column, in file order (files concatenated in station
        order): float64 for the numeric columns (``NaN`` for ``NA`` when
        ``dropna=False``), str for ``wd`` (wind direction) and ``station``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or holds none of the files; the message
        names the files that are needed and where they are published.
    ValueError
        If ``station`` or a requested column is unknown or ``columns`` is
        empty; if a file is malformed: empty, not UTF-8 text, a header without
        the data set's columns or without data rows, a row with too few or too
        many fields, or a numeric cell that is neither a number nor ``NA``.
        The message names the file, the line and (for a cell) the column.
    TypeError
        If ``path`` is not a str or path, ``columns`` is a single string, or
        ``dropna`` is not a bool.

    See Also
    --------
    synthetic_air_quality : A stand-in with the same columns, for tests.

    Notes
    -----
    Columns (``shuffled.AIR_QUALITY_COLUMNS``; the station names are in
    ``shuffled.AIR_QUALITY_STATIONS``): ``No, year, month, day, hour, PM2.5,
    PM10, SO2, NO2, CO, O3, TEMP, PRES, DEWP, RAIN, wd, WSPM, station``
    (pollutants in ug/m^3, temperature and dew point in degrees C, pressure
    in hPa, rain in mm, wind speed in m/s).

    References
    ----------
    .. [1] S. Zhang, B. Guo, A. Dong, J. He, Z. Xu and S. X. Chen,
       "Cautionary tales on air-quality improvement in Beijing", Proc. R.
       Soc. A 473, 20170457, 2017.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.synthetic_air_quality(5, rng=0)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> file = folder / "PRSA_Data_Aotizhongxin_20130301-20170228.csv"
    >>> header = ",".join(shuffled.AIR_QUALITY_COLUMNS)
    >>> rows = [",".join(str(data[c][i]) for c in shuffled.AIR_QUALITY_COLUMNS)
    ...         for i in range(5)]
    >>> _ = file.write_text("\n".join([header, *rows]) + "\n")
    >>> loaded = shuffled.load_beijing_air_quality(folder, station="Aotizhongxin")
    >>> loaded["PM2.5"].shape
    (5,)
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            "path must be a str or os.PathLike (a CSV file of the data set or "
            f"the folder holding them); got {describe(path)}."
        )
    if station is not None:
        check_in(station, name="station", options=AIR_QUALITY_STATIONS)
    if isinstance(columns, str | bytes):
        raise TypeError(
            "columns must be a sequence of column names such as ['PM2.5'], not "
            f"a single string; got {columns!r}."
        )
    wanted = list(AIR_QUALITY_COLUMNS) if columns is None else list(columns)
    if not wanted:
        raise ValueError("columns must name at least one column; got [].")
    for col in wanted:
        check_in(col, name="columns entry", options=AIR_QUALITY_COLUMNS)
    if not isinstance(dropna, bool | np.bool_):
        raise TypeError(f"dropna must be a bool; got {describe(dropna)}.")
    files = _resolve_files(Path(path), station)
    tables = [_read_csv(f) for f in files]
    out: dict[str, np.ndarray] = {}
    for col in wanted:
        if col in _TEXT_COLUMNS:
            values = [v for table in tables for v in table.columns[col]]
            out[col] = np.asarray(values, dtype=str)
        else:
            out[col] = np.concatenate([_numeric_column(t, col) for t in tables])
    if dropna:
        numeric = [c for c in wanted if c not in _TEXT_COLUMNS]
        keep = np.ones(len(out[wanted[0]]), dtype=bool)
        for col in numeric:
            keep &= np.isfinite(out[col])
        out = {k: v[keep] for k, v in out.items()}
    return out


def synthetic_air_quality(
    n_rows: int = 500,
    *,
    station: str = "Aotizhongxin",
    rng: int | np.random.Generator = 0,
) -> dict[str, np.ndarray]:
    r"""A synthetic stand-in for one site of the Beijing air-quality data.

    Hourly records from 2013-03-01 00:00 with the 18 columns of
    :func:`load_beijing_air_quality`, generated from a seed: seasonal
    temperature, dew point and pressure, wind, rain, and pollutants whose
    level is linear in the meteorology plus Gaussian noise, so that a linear
    regression of ``PM2.5`` on ``DEWP, TEMP, PRES, WSPM`` is well specified.
    It is not the real data; use it for tests and examples.

    Parameters
    ----------
    n_rows : int, default=500
        Number of hourly records (>= 1).
    station : str, default="Aotizhongxin"
        The station name written in the ``station`` column.
    rng : int or numpy.random.Generator, default=0
        Seed or generator.

    Returns
    -------
    dict of str to numpy.ndarray
        The 18 columns, float64 except ``wd`` and ``station`` (str).

    Raises
    ------
    ValueError
        If ``n_rows < 1`` or ``station`` is not one of the 12 sites.
    TypeError
        If ``rng`` is not an int or a Generator.

    See Also
    --------
    load_beijing_air_quality : The loader for the real files.

    Notes
    -----
    The response is
    :math:`\mathrm{PM2.5} = 60 + 2.5\,\mathrm{DEWP} - 1.5\,\mathrm{TEMP}
    - 0.8\,(\mathrm{PRES} - 1012) - 8\,\mathrm{WSPM} + 6\,\varepsilon`.

    Examples
    --------
    >>> from mltheory.stats import shuffled
    >>> data = shuffled.synthetic_air_quality(48, rng=0)
    >>> sorted(data)[:3], data["PM2.5"].shape
    (['CO', 'DEWP', 'NO2'], (48,))
    """
    n_rows = check_scalar(n_rows, name="n_rows", kind=int, lower=1)
    check_in(station, name="station", options=AIR_QUALITY_STATIONS)
    gen = _as_generator(rng)
    hours = np.arange(n_rows)
    start = np.datetime64("2013-03-01T00")
    stamps = start + hours.astype("timedelta64[h]")
    days = stamps.astype("datetime64[D]")
    year = stamps.astype("datetime64[Y]").astype(int) + 1970
    month = stamps.astype("datetime64[M]").astype(int) % 12 + 1
    day = (days - days.astype("datetime64[M]")).astype(int) + 1
    hour = hours % 24
    season = np.cos(2 * np.pi * (hours / 24.0 - 200.0) / 365.25)
    daily = np.cos(2 * np.pi * (hour - 15) / 24.0)
    temp = 13 + 14 * season + 4 * daily + 2 * gen.standard_normal(n_rows)
    dewp = temp - 8 - 6 * np.abs(gen.standard_normal(n_rows))
    pres = 1012 - 10 * season + 3 * gen.standard_normal(n_rows)
    wspm = np.abs(1.7 + 1.2 * gen.standard_normal(n_rows))
    rain = np.where(gen.random(n_rows) < 0.05, gen.exponential(1.0, n_rows), 0.0)
    noise = gen.standard_normal(n_rows)
    pm25 = 60 + 2.5 * dewp - 1.5 * temp - 0.8 * (pres - 1012) - 8 * wspm + 6 * noise
    pm10 = 1.3 * pm25 + 10 * np.abs(gen.standard_normal(n_rows))
    directions = np.asarray(_WIND_DIRECTIONS)
    return {
        "No": (hours + 1).astype(np.float64),
        "year": year.astype(np.float64),
        "month": month.astype(np.float64),
        "day": day.astype(np.float64),
        "hour": hour.astype(np.float64),
        "PM2.5": np.round(pm25, 1),
        "PM10": np.round(pm10, 1),
        "SO2": np.round(np.abs(10 + 8 * gen.standard_normal(n_rows)), 1),
        "NO2": np.round(np.abs(0.5 * pm25 + 10 * gen.standard_normal(n_rows)), 1),
        "CO": np.round(np.abs(10 * pm25 + 200 * gen.standard_normal(n_rows)), 0),
        "O3": np.round(np.abs(3 * temp + 10 * gen.standard_normal(n_rows)), 1),
        "TEMP": np.round(temp, 1),
        "PRES": np.round(pres, 1),
        "DEWP": np.round(dewp, 1),
        "RAIN": np.round(rain, 1),
        "wd": directions[gen.integers(0, directions.size, n_rows)],
        "WSPM": np.round(wspm, 1),
        "station": np.full(n_rows, station),
    }


def _as_generator(rng: object) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng must be a non-negative seed; got {rng}.")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be an int seed or a numpy.random.Generator; got {rng!r} "
        f"(type {type(rng).__name__})."
    )
