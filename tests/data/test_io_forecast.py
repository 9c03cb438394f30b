"""Tests for tinyts.data.io.forecast: Monash .tsf and M4 csv readers, seasonal periods."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyts.data.io.forecast import (
    M4_HORIZON,
    MONASH_PERIOD,
    TsfData,
    m4_frequency,
    read_m4,
    read_tsf,
    seasonal_period,
)
from tinyts.data.io.ltsf import read_m4 as read_m4_reexported
from tinyts.data.io.ltsf import read_tsf as read_tsf_reexported

HEADER = (
    "# Dataset Information\n"
    "# a comment line\n"
    "@relation Toy\n"
    "@attribute series_name string\n"
    "@attribute start_timestamp date\n"
    "@frequency {freq}\n"
    "@horizon 2\n"
    "@missing {missing}\n"
    "@equallength {equal}\n"
    "@data\n"
)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _tsf(
    tmp_path: Path, body: str, freq: str = "monthly", missing: str = "false", equal: str = "false"
) -> Path:
    return _write(tmp_path / "toy.tsf", HEADER.format(freq=freq, missing=missing, equal=equal) + body)


def test_reexported_from_io() -> None:
    assert read_tsf_reexported is read_tsf
    assert read_m4_reexported is read_m4


def test_unequal_lengths_and_header(tmp_path: Path) -> None:
    p = _tsf(
        tmp_path,
        "T1:1990-01-01 00-00-00:1,2,3,4.5\n\nT2:1991-06-01 12-30-00:10,20,30,40,50,60\n",
    )
    d = read_tsf(p)
    assert isinstance(d, TsfData)
    assert d.names == ["T1", "T2"]
    assert [s.dtype for s in d.series] == [np.float64, np.float64]
    np.testing.assert_array_equal(d.series[0], [1, 2, 3, 4.5])
    assert len(d.series[1]) == 6
    assert d.frequency == "monthly" and d.horizon == 2 and d.relation == "Toy"
    assert d.missing is False and d.equal_length is False
    assert d.start is not None
    assert d.start[0] == np.datetime64("1990-01-01T00:00:00")
    assert d.start[1] == np.datetime64("1991-06-01T12:30:00")
    assert d.attributes == [("series_name", "string"), ("start_timestamp", "date")]
    assert d.seasonal_period == 12
    assert len(d) == 2


def test_question_mark_is_nan(tmp_path: Path) -> None:
    p = _tsf(
        tmp_path,
        "A:2000-01-01 00-00-00:1,?,3,?\nB:2000-01-01 00-00-00:5,6,7,8\n",
        missing="true",
        equal="true",
    )
    d = read_tsf(p)
    assert np.isnan(d.series[0]).tolist() == [False, True, False, True]
    assert d.missing is True and d.equal_length is True
    # '?' found although @missing false: the flag tells the truth
    p2 = _tsf(tmp_path, "A:2000-01-01 00-00-00:1,?,3\n", missing="false")
    assert read_tsf(p2).missing is True


@pytest.mark.parametrize(
    "freq",
    [
        "4_seconds",
        "minutely",
        "10_minutes",
        "half_hourly",
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "quarterly",
        "yearly",
        "other",
        "5_minutes",
        "Some_New_Name",
    ],
)
def test_every_frequency_name_reads(tmp_path: Path, freq: str) -> None:
    d = read_tsf(_tsf(tmp_path, "A:2000-01-01 00-00-00:1,2,3\n", freq=freq))
    assert d.frequency == freq.lower()
    assert d.seasonal_period == MONASH_PERIOD.get(freq.lower(), 1)


def test_seasonal_periods() -> None:
    monash = {"hourly": 24, "daily": 7, "weekly": 52, "monthly": 12, "quarterly": 4, "yearly": 1}
    for name, p in monash.items():
        assert seasonal_period(name) == p
    assert seasonal_period("half_hourly") == 48 and seasonal_period("10_minutes") == 144
    assert seasonal_period("other") == 1 and seasonal_period(None) == 1
    m4 = {"Hourly": 24, "Daily": 1, "Weekly": 1, "Monthly": 12, "Quarterly": 4, "Yearly": 1}
    for name, p in m4.items():
        assert seasonal_period(name, "m4") == p
    with pytest.raises(ValueError, match="convention"):
        seasonal_period("daily", "gluonts")


def test_no_date_attribute_and_numeric_attribute(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "x.tsf",
        "@relation R\n@attribute series_name string\n@attribute weight numeric\n@frequency other\n"
        "@data\nS1:1.5:1,2,3\nS2:2:4,5\n",
    )
    d = read_tsf(p)
    assert d.start is None and d.horizon is None
    assert d.attribute_values["weight"] == [1.5, 2.0]
    assert d.equal_length is False  # not declared: from the lengths


def test_no_name_attribute_gives_generated_names(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "x.tsf",
        "@attribute start_timestamp date\n@data\n2000-01-01 00-00-00:1,2\n2000-01-02:3,4\n",
    )
    d = read_tsf(p)
    assert d.names == ["T1", "T2"]
    assert d.start == [np.datetime64("2000-01-01T00:00:00"), np.datetime64("2000-01-02T00:00:00")]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("A:2000-01-01 00-00-00:1,x,3\n", r"line 11: non-numeric value 'x' at position 2"),
        ("A:2000-01-01 00-00-00:\n", r"line 11: the series has no values"),
        ("A:2000-01-01 00-00-00:1,,3\n", r"line 11: empty value at position 2"),
        ("A:1,2,3\n", r"line 11: expected 2 attribute value\(s\)"),
        (
            "A:2000-13-45 00-00-00:1,2\n",
            r"line 11: attribute 'start_timestamp': '2000-13-45 00-00-00' is not a date",
        ),
        ("A:yesterday:1,2\n", r"is not a date"),
    ],
)
def test_malformed_data_lines(tmp_path: Path, body: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        read_tsf(_tsf(tmp_path, body))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("@attribute series_name string\n@frequency daily\n", r"no @data line"),
        ("@data\n1,2,3\n", r"line 1: @data before any @attribute"),
        ("@attribute a string\n@horizon soon\n@data\nA:1\n", r"line 2: @horizon must be a positive integer"),
        ("@attribute a string\n@horizon 0\n@data\nA:1\n", r"@horizon must be a positive integer"),
        ("@attribute a string\n@missing maybe\n@data\nA:1\n", r"line 2: @missing must be 'true' or 'false'"),
        ("@attribute a blob\n@data\nA:1\n", r"line 1: attribute 'a' has type 'blob'"),
        ("@attribute a\n@data\nA:1\n", r"@attribute needs a name and a type"),
        ("@attribute a string\n@colour red\n@data\nA:1\n", r"line 2: unknown header line @colour"),
        ("@attribute a string\nA:1,2\n", r"line 2: expected a header line starting with '@'"),
        ("@attribute a string\n@data\n", r"@data is followed by no series"),
        (
            "@attribute a string\n@equallength true\n@data\nA:1,2\nB:1\n",
            r"@equallength true but the series lengths",
        ),
        ("@attribute a string\n@attribute a string\n@data\nA:B:1\n", r"declared twice"),
    ],
)
def test_malformed_headers(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        read_tsf(_write(tmp_path / "bad.tsf", text))


def test_empty_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        read_tsf(_write(tmp_path / "e.tsf", "\n\n"))
    with pytest.raises(FileNotFoundError):
        read_tsf(tmp_path / "nope.tsf")


# ----------------------------------------------------------------------------------------- M4
def _m4_pair(tmp_path: Path, freq: str = "Hourly", h: int | None = None) -> tuple[Path, Path]:
    h = M4_HORIZON[freq.lower()] if h is None else h
    letter = freq[0]
    width = 8
    train_rows = [
        f'"{letter}1",' + ",".join(f'"{v}"' for v in range(1, 6)) + ',""' * (width - 5),
        f'"{letter}2",' + ",".join(f'"{v}.5"' for v in range(10, 10 + width)),
    ]
    header = ",".join(f'"V{i}"' for i in range(1, width + 2))
    train = _write(tmp_path / f"{freq}-train.csv", header + "\n" + "\n".join(train_rows) + "\n")
    test_header = ",".join(f'"V{i}"' for i in range(1, h + 2))
    test_rows = [f'"{letter}{k}",' + ",".join(f'"{100 * k + j}"' for j in range(h)) for k in (1, 2)]
    test = _write(tmp_path / f"{freq}-test.csv", test_header + "\n" + "\n".join(test_rows) + "\n")
    return train, test


def test_read_m4_pair(tmp_path: Path) -> None:
    train, test = _m4_pair(tmp_path, "Hourly")
    d = read_m4(train, test)
    assert d.names == ["H1", "H2"]
    np.testing.assert_array_equal(d.train[0], [1, 2, 3, 4, 5])  # trailing empty cells dropped
    assert len(d.train[1]) == 8 and d.train[1][0] == 10.5
    assert d.test is not None and [len(t) for t in d.test] == [48, 48]
    assert d.test[1][0] == 200
    assert d.frequency == "hourly" and d.horizon == 48 and d.seasonal_period == 24
    assert len(d) == 2


@pytest.mark.parametrize(
    ("freq", "h", "period"),
    [("Yearly", 6, 1), ("Quarterly", 8, 4), ("Monthly", 18, 12), ("Weekly", 13, 1), ("Daily", 14, 1)],
)
def test_m4_horizons(tmp_path: Path, freq: str, h: int, period: int) -> None:
    train, test = _m4_pair(tmp_path, freq)
    d = read_m4(train, test)
    assert (d.horizon, d.seasonal_period, d.frequency) == (h, period, freq.lower())
    assert read_m4(train).test is None


def test_m4_frequency_from_ids_when_file_renamed(tmp_path: Path) -> None:
    train, _ = _m4_pair(tmp_path, "Quarterly")
    renamed = train.rename(tmp_path / "q_train.csv")
    assert m4_frequency(renamed) is None
    assert read_m4(renamed).frequency == "quarterly"


def test_m4_malformed(tmp_path: Path) -> None:
    train, test = _m4_pair(tmp_path, "Hourly", h=47)
    with pytest.raises(ValueError, match="has 47 test values, the M4 hourly horizon is 48"):
        read_m4(train, test)
    bad = _write(tmp_path / "Daily-train.csv", '"V1","V2","V3"\n"D1","1","2"\n"D2","3","oops"\n')
    with pytest.raises(ValueError, match=r"line 3: series 'D2': non-numeric value 'oops' in column 3"):
        read_m4(bad)
    other = _write(tmp_path / "Daily-test.csv", '"V1","V2"\n"D9","1"\n"D2","3"\n')
    good = _write(tmp_path / "Daily-train.csv", '"V1","V2","V3"\n"D1","1","2"\n"D2","3","4"\n')
    with pytest.raises(ValueError, match="test ids differ from the training ids"):
        read_m4(good, other)
    empty_row = _write(tmp_path / "Weekly-train.csv", '"V1","V2"\n"W1","",""\n')
    with pytest.raises(ValueError, match="line 2: series 'W1' has no values"):
        read_m4(empty_row)
