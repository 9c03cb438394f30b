"""Readers for short-series forecasting archives: Monash ``.tsf`` and the M4 competition csv files.

- :func:`read_tsf`: the Monash forecasting archive's ``.tsf`` text format (header lines ``@relation``,
  ``@attribute``, ``@frequency``, ``@horizon``, ``@missing``, ``@equallength``, ``@data``, then one
  series per line ``attr1:attr2:...:v1,v2,...``; ``?`` is a missing value).
- :func:`read_m4`: the M4 competition's ``<Freq>-train.csv`` / ``<Freq>-test.csv`` pair (rows
  ``"H1","605","586",...`` padded with trailing empty cells).
- :func:`seasonal_period` and :data:`M4_HORIZON`: the seasonal period and horizon conventions of the
  Monash and M4 evaluations.

Malformed files raise :class:`tinyts.errors.DataFormatError` (a ``ValueError``) naming the file and
the 1-based line.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyts.data.io._util import MISSING_TOKENS, as_path, fail, read_text

__all__ = [
    "M4_HORIZON",
    "M4_PERIOD",
    "MONASH_PERIOD",
    "M4Data",
    "TsfData",
    "m4_frequency",
    "read_m4",
    "read_tsf",
    "seasonal_period",
]

#: Seasonal period (MASE lag) per Monash frequency name, as the Monash archive's evaluation uses it
#: (the shortest seasonality of each frequency; weekly rounds 365.25 / 7 to 52). ``5_minutes`` and
#: ``30_seconds`` follow the same one-day rule. Any other name (``other``...) gets 1.
MONASH_PERIOD: dict[str, int] = {
    "4_seconds": 21600,
    "30_seconds": 2880,
    "minutely": 1440,
    "5_minutes": 288,
    "10_minutes": 144,
    "15_minutes": 96,
    "half_hourly": 48,
    "hourly": 24,
    "daily": 7,
    "weekly": 52,
    "monthly": 12,
    "quarterly": 4,
    "yearly": 1,
}

#: M4 competition horizon per frequency (the competition guide).
M4_HORIZON: dict[str, int] = {
    "yearly": 6,
    "quarterly": 8,
    "monthly": 18,
    "weekly": 13,
    "daily": 14,
    "hourly": 48,
}

#: M4 competition seasonal period per frequency, as its MASE uses it (1 for yearly, weekly, daily).
M4_PERIOD: dict[str, int] = {
    "yearly": 1,
    "quarterly": 4,
    "monthly": 12,
    "weekly": 1,
    "daily": 1,
    "hourly": 24,
}

_M4_LETTER = {"Y": "yearly", "Q": "quarterly", "M": "monthly", "W": "weekly", "D": "daily", "H": "hourly"}
_TSF_TYPES = ("numeric", "string", "date")
_TSF_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2})-(\d{1,2})-(\d{1,2}(?:\.\d+)?))?$")


def seasonal_period(frequency: str | None, convention: str = "monash") -> int:
    """The seasonal period (MASE lag, model season length) of a frequency name.

    Parameters
    ----------
    frequency : str or None
        A Monash frequency name (``hourly``, ``10_minutes``...) or an M4 one (``Hourly``...);
        case-insensitive. ``None`` or an unknown name (``other``) gives 1.
    convention : {"monash", "m4"}
        ``m4`` uses the M4 competition's periods (weekly and daily 1); ``monash`` the Monash
        archive's (daily 7, weekly 52).

    Returns
    -------
    int
        The period, at least 1.
    """
    if convention not in ("monash", "m4"):
        raise ValueError(f"convention must be 'monash' or 'm4', got {convention!r}")
    if frequency is None:
        return 1
    key = frequency.strip().lower()
    table = M4_PERIOD if convention == "m4" else MONASH_PERIOD
    return int(table.get(key, 1))


@dataclass
class TsfData:
    """The content of one Monash ``.tsf`` file.

    Attributes
    ----------
    series : list of np.ndarray
        One float64 array per data line (``?`` is NaN), in file order.
    names : list of str
        The ``series_name`` attribute (or the first string attribute); ``T1``, ``T2``... when the
        file declares none.
    start : list of np.datetime64 or None
        The ``start_timestamp`` (first ``date`` attribute) of each series, ``None`` when the file
        has no date attribute.
    frequency : str or None
        ``@frequency`` as written, lower-cased (any name is kept, known or not).
    horizon : int or None
        ``@horizon``.
    missing : bool
        ``@missing`` as declared, or true when a ``?`` was found.
    equal_length : bool
        ``@equallength`` as declared (checked when true), else whether all series have one length.
    attributes : list of (str, str)
        The ``@attribute`` declarations, ``(name, type)`` in order.
    attribute_values : dict of str to list
        Per-series values of every attribute (str, float or np.datetime64), keyed by name.
    relation : str or None
        ``@relation``.
    path : Path or None
        The file read.
    """

    series: list[np.ndarray]
    names: list[str]
    start: list[np.datetime64] | None
    frequency: str | None
    horizon: int | None
    missing: bool
    equal_length: bool
    attributes: list[tuple[str, str]] = field(default_factory=list)
    attribute_values: dict[str, list[object]] = field(default_factory=dict)
    relation: str | None = None
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.series)

    @property
    def seasonal_period(self) -> int:
        """The Monash seasonal period of :attr:`frequency` (1 when unknown)."""
        return seasonal_period(self.frequency, "monash")


def _parse_bool(value: str, path: Path, line: int, key: str) -> bool:
    low = value.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    raise fail(path, f"@{key} must be 'true' or 'false', found {value.strip()!r}", line)


def _parse_date(token: str, path: Path, line: int, name: str) -> np.datetime64:
    tok = token.strip()
    m = _TSF_DATE.match(tok)
    if m is not None:
        y, mo, d, hh, mi, ss = m.groups()
        try:
            base = np.datetime64(f"{int(y):04d}-{int(mo):02d}-{int(d):02d}", "s")
        except ValueError:
            m = None
        else:
            if hh is not None:
                base = base + np.timedelta64(int(hh) * 3600 + int(mi) * 60 + int(float(ss)), "s")
            return base
    raise fail(path, f"attribute {name!r}: {tok!r} is not a date (expected 'YYYY-MM-DD HH-MM-SS')", line)


def _parse_values(body: str, path: Path, line: int) -> tuple[np.ndarray, bool]:
    tokens = [t.strip() for t in body.strip().split(",")]
    if tokens == [""]:
        raise fail(
            path,
            "the series has no values (expected comma-separated numbers after the last ':', "
            "'?' for a missing value)",
            line,
        )
    try:
        return np.array(tokens, dtype=np.float64), False
    except ValueError:
        pass
    out = np.empty(len(tokens), dtype=np.float64)
    has_missing = False
    for i, tok in enumerate(tokens):
        if tok in MISSING_TOKENS:
            out[i] = np.nan
            has_missing = True
            continue
        if tok == "":
            raise fail(path, f"empty value at position {i + 1} of the series (use '?' for missing)", line)
        try:
            out[i] = float(tok)
        except ValueError:
            raise fail(path, f"non-numeric value {tok!r} at position {i + 1} of the series", line) from None
    return out, has_missing


def read_tsf(path: str | Path) -> TsfData:
    """Read a Monash forecasting archive ``.tsf`` file.

    Parameters
    ----------
    path : str or Path
        The ``.tsf`` file. Lines starting with ``#`` and blank lines are ignored.

    Returns
    -------
    TsfData
        Series (float64, ``?`` as NaN), names, start timestamps, frequency, horizon and flags.

    Raises
    ------
    DataFormatError
        A ``ValueError`` naming the line: unknown header key or attribute type, a bad
        ``@horizon``/``@missing``/``@equallength`` value, no ``@attribute`` or ``@data``, a data line
        with the wrong number of ``:``-separated fields, a bad date or number, an empty series, or
        series of different lengths under ``@equallength true``.
    """
    p = as_path(path)
    text = read_text(p)
    attributes: list[tuple[str, str]] = []
    relation: str | None = None
    frequency: str | None = None
    horizon: int | None = None
    declared_missing: bool | None = None
    declared_equal: bool | None = None
    in_data = False
    values: dict[str, list[object]] = {}
    series: list[np.ndarray] = []
    found_missing = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise fail(
                    p, f"expected a header line starting with '@' before @data, found {line[:40]!r}", lineno
                )
            parts = line.split(None, 1)
            key = parts[0][1:].lower()
            arg = parts[1].strip() if len(parts) > 1 else ""
            if key == "data":
                if not attributes:
                    raise fail(
                        p, "@data before any @attribute line (at least one attribute is required)", lineno
                    )
                in_data = True
                values = {name: [] for name, _ in attributes}
            elif key == "attribute":
                fields = arg.split()
                if len(fields) != 2:
                    raise fail(p, f"@attribute needs a name and a type, found {arg!r}", lineno)
                name, kind = fields[0], fields[1].lower()
                if kind not in _TSF_TYPES:
                    raise fail(
                        p, f"attribute {name!r} has type {kind!r}; accepted: {', '.join(_TSF_TYPES)}", lineno
                    )
                if any(name == n for n, _ in attributes):
                    raise fail(p, f"attribute {name!r} declared twice", lineno)
                attributes.append((name, kind))
            elif key == "relation":
                relation = arg or None
            elif key == "frequency":
                if not arg:
                    raise fail(p, "@frequency without a value", lineno)
                frequency = arg.lower()
            elif key == "horizon":
                try:
                    horizon = int(arg)
                except ValueError:
                    raise fail(p, f"@horizon must be a positive integer, found {arg!r}", lineno) from None
                if horizon <= 0:
                    raise fail(p, f"@horizon must be a positive integer, found {arg!r}", lineno)
            elif key == "missing":
                declared_missing = _parse_bool(arg, p, lineno, key)
            elif key == "equallength":
                declared_equal = _parse_bool(arg, p, lineno, key)
            else:
                raise fail(
                    p,
                    f"unknown header line @{key}; accepted: @relation, @attribute, @frequency, "
                    "@horizon, @missing, @equallength, @data",
                    lineno,
                )
            continue
        head, sep, body = line.rpartition(":")
        fields = head.split(":") if sep else []
        if len(fields) != len(attributes):
            raise fail(
                p,
                f"expected {len(attributes)} attribute value(s) then the series, separated by ':', "
                f"found {len(fields)} value(s) before the series",
                lineno,
            )
        for (name, kind), tok in zip(attributes, fields, strict=True):
            parsed: object
            if kind == "numeric":
                try:
                    parsed = float(tok)
                except ValueError:
                    raise fail(p, f"attribute {name!r}: {tok!r} is not a number", lineno) from None
            elif kind == "date":
                parsed = _parse_date(tok, p, lineno, name)
            else:
                parsed = tok.strip()
            values[name].append(parsed)
        arr, miss = _parse_values(body, p, lineno)
        found_missing = found_missing or miss
        series.append(arr)
    if not in_data:
        raise fail(p, "no @data line: a .tsf file needs the header, then @data, then one series per line")
    if not series:
        raise fail(p, "@data is followed by no series")
    lengths = {len(s) for s in series}
    if declared_equal and len(lengths) > 1:
        raise fail(
            p,
            f"@equallength true but the series lengths range from {min(lengths)} to {max(lengths)}",
        )
    name_attr = next((n for n, k in attributes if n == "series_name"), None)
    if name_attr is None:
        name_attr = next((n for n, k in attributes if k == "string"), None)
    names = [str(v) for v in values[name_attr]] if name_attr else [f"T{i + 1}" for i in range(len(series))]
    date_attr = next((n for n, k in attributes if k == "date"), None)
    start = [v for v in values[date_attr] if isinstance(v, np.datetime64)] if date_attr else None
    return TsfData(
        series=series,
        names=names,
        start=start,
        frequency=frequency,
        horizon=horizon,
        missing=bool(declared_missing) or found_missing,
        equal_length=declared_equal if declared_equal is not None else len(lengths) == 1,
        attributes=attributes,
        attribute_values=values,
        relation=relation,
        path=p,
    )


# ---------------------------------------------------------------------------------------------- M4
@dataclass
class M4Data:
    """One M4 frequency: training parts and (when given) the test parts.

    Attributes
    ----------
    train : list of np.ndarray
        Training part of each series (float64, trailing padding dropped).
    test : list of np.ndarray or None
        Test part of each series, same order as :attr:`train`; ``None`` without a test file.
    names : list of str
        Series ids (``H1``, ``H2``...).
    frequency : str or None
        ``yearly`` ... ``hourly`` from the file name (``Hourly-train.csv``) or the id letter.
    horizon : int or None
        The M4 horizon of the frequency (:data:`M4_HORIZON`).
    seasonal_period : int
        The M4 seasonal period of the frequency (:data:`M4_PERIOD`); 1 when unknown.
    """

    train: list[np.ndarray]
    test: list[np.ndarray] | None
    names: list[str]
    frequency: str | None
    horizon: int | None
    seasonal_period: int

    def __len__(self) -> int:
        return len(self.train)


def m4_frequency(path: str | Path) -> str | None:
    """The frequency named by an M4 file name (``Hourly-train.csv`` -> ``hourly``), else ``None``."""
    stem = Path(path).name.split("-")[0].strip().lower()
    return stem if stem in M4_HORIZON else None


def _read_m4_csv(path: Path) -> tuple[list[str], list[np.ndarray]]:
    text = read_text(path)
    rows = csv.reader(text.splitlines())
    names: list[str] = []
    out: list[np.ndarray] = []
    header_seen = False
    for lineno, row in enumerate(rows, start=1):
        if not row or all(not c.strip() for c in row):
            continue
        if not header_seen:
            header_seen = True
            if row[0].strip().upper() == "V1":
                continue
        cells = [c.strip() for c in row]
        name = cells[0]
        if not name:
            raise fail(path, "empty series id in the first column", lineno)
        vals = cells[1:]
        while vals and vals[-1] == "":
            vals.pop()
        if not vals:
            raise fail(path, f"series {name!r} has no values", lineno)
        arr = np.empty(len(vals), dtype=np.float64)
        for i, tok in enumerate(vals):
            if tok == "" or tok in MISSING_TOKENS or tok.upper() == "NA":
                arr[i] = np.nan
                continue
            try:
                arr[i] = float(tok)
            except ValueError:
                raise fail(
                    path, f"series {name!r}: non-numeric value {tok!r} in column {i + 2}", lineno
                ) from None
        names.append(name)
        out.append(arr)
    if not out:
        raise fail(path, 'no series rows (expected rows like "H1","605","586",...)')
    return names, out


def read_m4(train_path: str | Path, test_path: str | Path | None = None) -> M4Data:
    """Read an M4 competition ``<Freq>-train.csv`` (and optionally its ``<Freq>-test.csv``).

    Parameters
    ----------
    train_path : str or Path
        The training file: a ``"V1","V2",...`` header, then one row per series, the id first, values
        padded with trailing empty cells.
    test_path : str or Path, optional
        The matching test file (same ids in the same order).

    Returns
    -------
    M4Data
        Training parts, test parts (or ``None``), ids, frequency, M4 horizon and seasonal period.

    Raises
    ------
    DataFormatError
        A ``ValueError``: a non-numeric cell or an empty row (naming the line), test ids that differ
        from the training ids, or test rows whose length differs from the M4 horizon.
    """
    p = as_path(train_path, "train_path")
    names, train = _read_m4_csv(p)
    freq = m4_frequency(p)
    if freq is None:
        letters = {n[:1].upper() for n in names}
        if len(letters) == 1 and next(iter(letters)) in _M4_LETTER:
            freq = _M4_LETTER[next(iter(letters))]
    horizon = M4_HORIZON.get(freq) if freq else None
    test: list[np.ndarray] | None = None
    if test_path is not None:
        tp = as_path(test_path, "test_path")
        test_names, test = _read_m4_csv(tp)
        if test_names != names:
            diff = next(
                (i for i, (a, b) in enumerate(zip(names, test_names, strict=False)) if a != b),
                min(len(names), len(test_names)),
            )
            raise fail(
                tp,
                f"test ids differ from the training ids ({len(test_names)} vs {len(names)} rows; first "
                f"difference at row {diff + 1})",
            )
        lengths = {len(t) for t in test}
        if horizon is None and len(lengths) == 1:
            horizon = next(iter(lengths))
        elif horizon is not None and lengths != {horizon}:
            bad = next(i for i, t in enumerate(test) if len(t) != horizon)
            raise fail(
                tp,
                f"series {test_names[bad]!r} has {len(test[bad])} test values, "
                f"the M4 {freq} horizon is {horizon}",
            )
    return M4Data(
        train=train,
        test=test,
        names=names,
        frequency=freq,
        horizon=horizon,
        seasonal_period=seasonal_period(freq, "m4"),
    )
