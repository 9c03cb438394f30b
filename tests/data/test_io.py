"""Tests for the file readers in tinyts.data.io: one tiny file per format, malformed files, aeon parity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tinyts.data.io.ltsf import (
    read_arff,
    read_classification,
    read_ltsf_csv,
    read_nab,
    read_smap_msl,
    read_ts,
    read_tsbad_csv,
    read_ucr_anomaly,
    read_ucr_csv,
    read_ucr_tsv,
    read_ucr_txt,
    read_value_label,
)
from tinyts.errors import DataFormatError


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _aeon_data() -> Path:
    aeon_datasets = pytest.importorskip("aeon.datasets")
    return Path(aeon_datasets.__file__).parent / "data"


def _same(a: np.ndarray | list[np.ndarray], b: np.ndarray | list[np.ndarray]) -> bool:
    if isinstance(a, np.ndarray) != isinstance(b, np.ndarray) or len(a) != len(b):
        return False
    return all(
        np.asarray(x).shape == np.asarray(y).shape and np.array_equal(x, y, equal_nan=True)
        for x, y in zip(a, b, strict=True)
    )


# ------------------------------------------------------------------------------------------- LTSF
def test_read_ltsf_csv(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "toy.csv",
        "date,a,OT\n2020-01-01 00:00:00,1.5,2\n2020-01-01 01:00:00,,3\n2020-01-01 02:00:00,4,5\n",
    )
    t = read_ltsf_csv(p)
    assert t.name == "toy" and t.columns == ["a", "OT"] and t.path == p
    assert t.values.dtype == np.float64 and t.values.shape == (2, 3)
    assert np.isnan(t.values[0, 1]) and t.values[1, 2] == 5.0
    assert t.timestamps is not None and t.timestamps.dtype == np.dtype("datetime64[ns]")
    assert t.timestamps[1] == np.datetime64("2020-01-01T01:00")


def test_read_ltsf_csv_slash_dates(tmp_path: Path) -> None:
    t = read_ltsf_csv(_write(tmp_path / "x.csv", "date,0,OT\n1990/1/1 0:00,0.7,1\n1990/1/2 0:00,0.8,2\n"))
    assert t.timestamps is not None and t.timestamps[1] == np.datetime64("1990-01-02")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("date,a,b\n2020-01-01,1,2\n2020-01-02,3\n", "line 3"),  # too few fields
        ("date,a,b\n2020-01-01,1,2\n2020-01-02,3,4,5\n", "line 3"),  # too many fields
        ("date,a,b\n2020-01-01,1,2\n2020-01-02,x,4\n", "non-numeric value 'x'"),
        ("date,a,b\nnot a date,1,2\n", "dates"),
        ("", "empty"),
        ("date,a\n", "no rows"),
        ("date\n2020-01-01\n", "value column"),
        ("t,a\n1,2\n2,3\n", "holds numbers, not dates"),
    ],
)
def test_read_ltsf_csv_malformed(tmp_path: Path, text: str, needle: str) -> None:
    p = _write(tmp_path / "bad.csv", text)
    with pytest.raises(DataFormatError, match=needle) as info:
        read_ltsf_csv(p)
    assert "bad.csv" in str(info.value)


def test_missing_file_and_bad_type(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_ltsf_csv(tmp_path / "nope.csv")
    with pytest.raises(TypeError, match="str or pathlib.Path"):
        read_ts(123)  # type: ignore[arg-type]


# -------------------------------------------------------------------------------------------- .ts
_TS_HEAD = "# comment\n@problemName Toy\n@timeStamps false\n@missing true\n"


def test_read_ts_univariate_missing(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "Toy_TRAIN.ts",
        _TS_HEAD + "@univariate true\n@equalLength true\n@seriesLength 3\n"
        "@classLabel true Yes No\n@data\n1,2,3:Yes\n4,?,6:No\nNaN,8,9:Yes\n",
    )
    s = read_ts(p)
    assert s.name == "Toy" and isinstance(s.X, np.ndarray) and s.X.shape == (3, 1, 3)
    assert s.X.dtype == np.float64 and np.isnan(s.X[1, 0, 1]) and np.isnan(s.X[2, 0, 0])
    assert s.X[0, 0].tolist() == [1.0, 2.0, 3.0]
    assert s.y.tolist() == ["Yes", "No", "Yes"]  # case kept as written
    assert s.meta["problemname"] == "Toy" and s.meta["serieslength"] == 3 and s.equal_length


def test_read_ts_multivariate_unequal(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "M_TEST.ts",
        "@problemName M\n@univariate false\n@dimensions 2\n"
        "@equalLength false\n@classLabel true a b\n@data\n1,2,3:4,5,6:a\n7,8:9,10:b\n",
    )
    s = read_ts(p)
    assert isinstance(s.X, list) and not s.equal_length and s.n_channels == 2 and s.n_cases == 2
    assert s.X[0].shape == (2, 3) and s.X[1].shape == (2, 2)
    assert s.X[1].tolist() == [[7.0, 8.0], [9.0, 10.0]] and s.y.tolist() == ["a", "b"]


def test_read_ts_timestamps(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "T_TRAIN.ts",
        "@problemName T\n@timeStamps true\n@univariate true\n"
        "@classLabel true 1 2\n@data\n(2007-01-01 00:00:00,1.5),(2007-01-01 00:01:00,2.5):1\n"
        "(2008-01-01 00:00:00,3),(2008-01-01 00:01:00,?):2\n",
    )
    s = read_ts(p)
    assert isinstance(s.X, np.ndarray) and s.X.shape == (2, 1, 2)
    assert s.X[0, 0].tolist() == [1.5, 2.5] and np.isnan(s.X[1, 0, 1])
    assert s.meta["timestamps"][1][0].tolist() == ["2008-01-01 00:00:00", "2008-01-01 00:01:00"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("@problemName X\n1,2:a\n", "before the @data"),
        ("@problemName X\n@classLabel true a\n", "no @data"),
        ("@classLabel true a b\n@data\n1,x,3:a\n", r"line 3.*non-numeric value 'x'"),
        ("@classLabel true a b\n@data\n1,2:c\n", "not in the declared"),
        ("@classLabel true a\n@data\n1,2:3,4:a\n1,2:a\n", "channels but the first case has 2"),
        ("@classLabel true a\n@data\n1,2:3:a\n", "all channels of one case"),
        ("@dimensions 3\n@classLabel true a\n@data\n1,2:3,4:a\n", "@dimensions says 3"),
        ("@classLabel maybe\n@data\n1:a\n", "true or false"),
        ("@classLabel true a\n@data\n", "no cases"),
    ],
)
def test_read_ts_malformed(tmp_path: Path, body: str, needle: str) -> None:
    p = _write(tmp_path / "Bad_TRAIN.ts", body)
    with pytest.raises(DataFormatError, match=needle):
        read_ts(p)


@pytest.mark.parametrize(
    "stem",
    [
        "GunPoint/GunPoint_TRAIN",
        "BasicMotions/BasicMotions_TEST",
        "JapaneseVowels/JapaneseVowels_TRAIN",
        "UnitTest/UnitTestTimeStamps_TRAIN",
    ],
)
def test_read_ts_matches_aeon(stem: str) -> None:
    from aeon.datasets import load_from_ts_file

    path = _aeon_data() / f"{stem}.ts"
    X, y = load_from_ts_file(str(path))
    s = read_ts(path)
    assert _same(s.X, X)
    assert [v.lower() for v in s.y] == [str(v) for v in y]  # aeon lower-cases labels


# ------------------------------------------------------------------------------------------ .arff
def test_read_arff_univariate_missing_and_unequal(tmp_path: Path) -> None:
    head = (
        "% c\n@relation Toy\n@attribute a0 numeric\n@attribute a1 numeric\n@attribute a2 numeric\n"
        "@attribute target {x,y}\n@data\n"
    )
    s = read_arff(_write(tmp_path / "Toy_TRAIN.arff", head + "1,?,3,x\n4,5,6,y\n"))
    assert isinstance(s.X, np.ndarray) and s.X.shape == (2, 1, 3) and np.isnan(s.X[0, 0, 1])
    assert s.y.tolist() == ["x", "y"] and s.meta["class_values"] == ["x", "y"]
    ragged = read_arff(_write(tmp_path / "R_TRAIN.arff", head + "1,2,?,x\n4,5,6,y\n"))
    assert isinstance(ragged.X, list) and [c.shape for c in ragged.X] == [(1, 2), (1, 3)]
    kept = read_arff(tmp_path / "R_TRAIN.arff", unequal=False)
    assert isinstance(kept.X, np.ndarray) and np.isnan(kept.X[0, 0, 2])


def test_read_arff_relational(tmp_path: Path) -> None:
    text = (
        "@relation 'M'\n@attribute rel relational\n@attribute a0 numeric\n@attribute a1 numeric\n"
        "@end rel\n@attribute activity {Walk,Run}\n@data\n'1,2\\n3,?',Walk\n'5,6\\n7,8',Run\n"
    )
    s = read_arff(_write(tmp_path / "M_TEST.arff", text))
    assert isinstance(s.X, np.ndarray) and s.X.shape == (2, 2, 2) and s.meta["relational"]
    assert s.X[1].tolist() == [[5.0, 6.0], [7.0, 8.0]] and np.isnan(s.X[0, 1, 1])
    assert s.y.tolist() == ["Walk", "Run"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("@relation r\n@attribute a numeric\n@attribute c {1,2}\n", "no @data"),
        ("@relation r\n@attribute a numeric\n@attribute c {1,2}\n@data\n1,3\n", "not in the declared"),
        ("@relation r\n@attribute a numeric\n@attribute c {1,2}\n@data\nabc,1\n", "non-numeric"),
        ("@relation r\n@attribute a numeric\n@attribute c {1,2}\n@data\n5\n", "followed by ',<label>'"),
    ],
)
def test_read_arff_malformed(tmp_path: Path, body: str, needle: str) -> None:
    with pytest.raises(DataFormatError, match=needle):
        read_arff(_write(tmp_path / "B_TRAIN.arff", body))


def test_read_arff_matches_aeon_and_ts() -> None:
    from aeon.datasets import load_from_arff_file

    for stem in ("GunPoint/GunPoint_TRAIN", "BasicMotions/BasicMotions_TRAIN"):
        path = _aeon_data() / f"{stem}.arff"
        X, y = load_from_arff_file(str(path))
        s = read_arff(path)
        ts = read_ts(path.with_suffix(".ts"))
        assert _same(s.X, X) and s.y.tolist() == [str(v) for v in y]
        assert _same(s.X, ts.X) and s.y.tolist() == ts.y.tolist()


# ------------------------------------------------------------------------------- tsv / txt / csv
def test_read_ucr_tsv_missing_and_padding(tmp_path: Path) -> None:
    s = read_ucr_tsv(_write(tmp_path / "D_TRAIN.tsv", "1\t1\tNaN\t3\n-1\t4\t5\t6\n"))
    assert isinstance(s.X, np.ndarray) and s.X.shape == (2, 1, 3) and np.isnan(s.X[0, 0, 1])
    assert s.y.tolist() == ["1", "-1"]
    r = read_ucr_tsv(_write(tmp_path / "U_TRAIN.tsv", "a\t1\t2\tNaN\tNaN\nb\t4\t5\t6\t7\n"))
    assert isinstance(r.X, list) and [c.shape for c in r.X] == [(1, 2), (1, 4)]
    k = read_ucr_tsv(tmp_path / "U_TRAIN.tsv", unequal=False)
    assert isinstance(k.X, np.ndarray) and k.X.shape == (2, 1, 4)


def test_read_ucr_tsv_matches_aeon() -> None:
    from aeon.datasets import load_from_tsv_file

    path = _aeon_data() / "GunPoint" / "GunPoint_TRAIN.tsv"
    X, y = load_from_tsv_file(str(path))
    s = read_ucr_tsv(path)
    assert _same(s.X, X) and s.y.tolist() == [str(v) for v in y]


def test_read_ucr_txt_and_csv(tmp_path: Path) -> None:
    txt = _write(
        tmp_path / "C_TRAIN.txt", "   1.0000000e+00  -5.18e-01   2.5e+00\n   0.0000000e+00   ?   1.0e+00\n\n"
    )
    s = read_ucr_txt(txt)
    assert s.y.tolist() == ["1", "0"] and isinstance(s.X, np.ndarray) and s.X.shape == (2, 1, 2)
    assert s.X[0, 0].tolist() == [-0.518, 2.5] and np.isnan(s.X[1, 0, 0])
    c = read_ucr_csv(_write(tmp_path / "C_TEST.csv", "cat,1,2,3\ndog,4,5,6\n"))
    assert c.y.tolist() == ["cat", "dog"] and isinstance(c.X, np.ndarray) and c.X[1, 0].tolist() == [4, 5, 6]


def test_read_ucr_csv_with_a_header_row(tmp_path: Path) -> None:
    """A csv as DataFrame.to_csv writes it (found in a new-user trial: 'line 1: non-numeric value')."""
    first = read_ucr_csv(_write(tmp_path / "a.csv", "label,t0,t1\ncat,1,2\ndog,3,4\n"))
    last = read_ucr_csv(_write(tmp_path / "b.csv", "t0,t1,species\n1,2,cat\n3,4,dog\n"))
    named = read_ucr_csv(_write(tmp_path / "c.csv", "t0,Class,t1\n1,0,2\n3,1,4\n"))
    for s in (first, last):
        assert s.y.tolist() == ["cat", "dog"] and isinstance(s.X, np.ndarray)
        assert s.X[:, 0].tolist() == [[1, 2], [3, 4]]
    assert named.y.tolist() == ["0", "1"] and isinstance(named.X, np.ndarray)
    assert named.X[:, 0].tolist() == [[1, 2], [3, 4]]
    with pytest.raises(DataFormatError, match="label column cannot be told"):
        read_ucr_csv(_write(tmp_path / "d.csv", "t0,t1,species\n1,2,0\n3,4,1\n"))


def test_read_label_first_malformed(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"line 2.*non-numeric value 'x'"):
        read_ucr_tsv(_write(tmp_path / "a.tsv", "1\t1\t2\n2\tx\t3\n"))
    with pytest.raises(DataFormatError, match="at least one value"):
        read_ucr_csv(_write(tmp_path / "b.csv", "1,2\n3\n"))
    with pytest.raises(DataFormatError, match="empty"):
        read_ucr_txt(_write(tmp_path / "c.txt", "\n\n"))


def test_read_classification_dispatch(tmp_path: Path) -> None:
    s = read_classification(_write(tmp_path / "P_TRAIN.csv", "1,1,2\n2,3,4\n"))
    assert s.meta["format"] == "csv" and s.name == "P"
    s = read_classification(_write(tmp_path / "P_TRAIN.tsv", "1\t1\t2\n"))
    assert s.meta["format"] == "tsv"
    with pytest.raises(DataFormatError, match="unknown classification file suffix '.json'"):
        read_classification(_write(tmp_path / "P_TRAIN.json", "{}"))


# ---------------------------------------------------------------------------------------- anomaly
def test_read_tsbad_csv_univariate_and_multivariate(tmp_path: Path) -> None:
    u = _write(tmp_path / "TSB-AD-U" / "001_X_id_1_Y_tr_3_1st_4.csv", "Data,Label\n1,0\n2,0\n3,0\n9,1\n4,0\n")
    s = read_tsbad_csv(u)
    assert s.family == "TSB-AD-U" and s.values.shape == (1, 5) and s.train_end == 3
    assert s.labels.dtype == np.int8 and s.labels.tolist() == [0, 0, 0, 1, 0] and s.meta["first_anomaly"] == 4
    m = _write(
        tmp_path / "other" / "002_Z_id_2_W_tr_2_1st_2.csv", "s1,s2,s3,Label\n1,2,3,0\n4,5,6,0\n7,8,9,1\n"
    )
    s = read_tsbad_csv(m)
    assert s.family == "TSB-AD-M" and s.values.shape == (3, 3) and s.meta["columns"] == ["s1", "s2", "s3"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("Data,Other\n1,0\n", "no Label column"),
        ("Data,Label\n1,0\n2,2\n", r"line 3.*0 or 1"),
        ("Data,Label\n1,0\nx,1\n", "non-numeric"),
        ("Data,Label\n1,0,5\n", "fields"),
    ],
)
def test_read_tsbad_csv_malformed(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(DataFormatError, match=needle):
        read_tsbad_csv(_write(tmp_path / "001_a_tr_1_1st_1.csv", text))


def test_read_nab_window_convention(tmp_path: Path) -> None:
    stamps = pd.date_range("2014-01-01", periods=10, freq="5min")
    csv = tmp_path / "NAB" / "realThing" / "s.csv"
    csv.parent.mkdir(parents=True)
    frame = pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "value": np.arange(10.0)})
    frame.to_csv(csv, index=False)
    windows = {"realThing/s.csv": [["2014-01-01 00:10:00.000000", "2014-01-01 00:20:00.000000"]]}
    wj = _write(tmp_path / "NAB" / "labels" / "combined_windows.json", json.dumps(windows))
    s = read_nab(csv, wj)
    # start exclusive (00:10 is index 2), end inclusive (00:20 is index 4)
    assert s.labels.tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert s.name == "realThing/s" and s.family == "NAB" and s.values[0].tolist() == list(range(10))
    _write(wj, json.dumps({"other/x.csv": []}))
    with pytest.raises(DataFormatError, match="no windows for 'realThing/s.csv'"):
        read_nab(csv, wj)


def test_read_smap_msl(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    np.save(tmp_path / "train" / "A-9.npy", rng.standard_normal((6, 3)))
    test = rng.standard_normal((8, 3))
    np.save(tmp_path / "test" / "A-9.npy", test)
    _write(
        tmp_path / "labeled_anomalies.csv",
        "chan_id,spacecraft,anomaly_sequences,class,num_values\n"
        'A-9,SMAP,"[[1, 2], [6, 7]]","[point, point]",8\n',
    )
    s = read_smap_msl(tmp_path, "A-9")
    assert s.name == "SMAP/A-9" and s.family == "SMAP_MSL" and s.train_end == 6 and s.values.shape == (3, 14)
    assert np.array_equal(s.values[:, 6:], test.T)
    assert np.flatnonzero(s.labels).tolist() == [7, 8, 12, 13]  # inclusive ranges, offset by train
    _write(
        tmp_path / "labeled_anomalies.csv",
        'chan_id,spacecraft,anomaly_sequences,class,num_values\nA-9,SMAP,"[[1, 8]]","[point]",8\n',
    )
    with pytest.raises(DataFormatError, match="outside the test part"):
        read_smap_msl(tmp_path, "A-9")
    with pytest.raises(DataFormatError, match="no row for channel 'A-8'"):
        np.save(tmp_path / "train" / "A-8.npy", test)
        np.save(tmp_path / "test" / "A-8.npy", test)
        read_smap_msl(tmp_path, "A-8")


def test_read_ucr_anomaly_txt_convention(tmp_path: Path) -> None:
    values = np.arange(12.0)
    one = _write(tmp_path / "007_UCR_Anomaly_Toy_4_6_9.txt", "\n".join(f"  {v:.7e}" for v in values) + "\n")
    s = read_ucr_anomaly(one)
    assert s.family == "UCR_Anomaly" and s.train_end == 4 and s.values[0].tolist() == values.tolist()
    assert np.flatnonzero(s.labels).tolist() == [6, 7, 8]  # [begin, end) 0-based
    several = _write(tmp_path / "008_UCR_Anomaly_Toy_4_6_9.txt", " ".join(str(v) for v in values) + "\n")
    assert np.array_equal(read_ucr_anomaly(several).values, s.values)
    with pytest.raises(DataFormatError, match="outside the series"):
        read_ucr_anomaly(_write(tmp_path / "009_UCR_Anomaly_Toy_4_6_99.txt", "1\n2\n"))
    with pytest.raises(DataFormatError, match="file name is not"):
        read_ucr_anomaly(_write(tmp_path / "toy.txt", "1\n2\n"))


def test_read_ucr_anomaly_out_keeps_own_labels(tmp_path: Path) -> None:
    text = "1.0,0.0\n2.0,0.0\n3.0,0.0\n4.0,1.0\n5.0,1.0\n"
    s = read_ucr_anomaly(_write(tmp_path / "010_UCR_Anomaly_T_2_3_4.out", text))
    assert s.labels.tolist() == [0, 0, 0, 1, 1] and s.meta["name_range"] == (3, 4) and s.train_end == 2


def test_read_ucr_anomaly_matches_aeon_kdd_tsad_135(tmp_path: Path) -> None:
    folder = _aeon_data() / "KDD-TSAD_135"
    test = pd.read_csv(folder / "135_UCR_Anomaly_InternalBleeding16_TEST.csv")
    train = pd.read_csv(folder / "135_UCR_Anomaly_InternalBleeding16_TRAIN.csv")
    path = tmp_path / "135_UCR_Anomaly_InternalBleeding16_1200_4187_4199.txt"
    np.savetxt(path, test["value"].to_numpy(), fmt="%.7e")
    s = read_ucr_anomaly(path)
    assert s.labels.tolist() == test["is_anomaly"].astype(int).tolist()
    assert s.train_end == len(train)
    assert np.allclose(s.values[0, : s.train_end], train["value"].to_numpy())


def test_read_value_label(tmp_path: Path) -> None:
    out = read_value_label(_write(tmp_path / "TSB-UAD" / "ecg.out", "0.32,0\n0.37,1\n0.48,0\n"))
    assert out.family == "TSB-UAD" and out.values[0].tolist() == [0.32, 0.37, 0.48]
    assert out.labels.tolist() == [0, 1, 0] and not out.meta["header"]
    headed = read_value_label(_write(tmp_path / "MITDB_sample" / "m.csv", "data,label\n-0.1,0\n-0.2,1\n"))
    assert headed.family == "MITDB" and headed.labels.tolist() == [0, 1]
    assert headed.meta["columns"] == ["data"]
    stamped = read_value_label(_write(tmp_path / "k.csv", "timestamp,value,is_anomaly\n0,1.5,0\n1,2.5,1\n"))
    assert stamped.values.shape == (1, 2) and stamped.meta["timestamps"].tolist() == [0, 1]
    with pytest.raises(DataFormatError, match="at least two columns"):
        read_value_label(_write(tmp_path / "one.out", "1\n2\n"))
    with pytest.raises(DataFormatError, match=r"line 2.*non-numeric"):
        read_value_label(_write(tmp_path / "bad.out", "1,0\nx,0\n"))
    with pytest.raises(DataFormatError, match="empty"):
        read_value_label(_write(tmp_path / "empty.out", ""))


def test_ltsf_and_user_csv_share_one_reader(tmp_path: Path) -> None:
    """read_ltsf_csv is read_wide_csv(dates=True): the same checks, the same container."""
    from tinyts.data.io.wide import read_wide_csv

    text = "date,a,b\n2020-01-01 02:00,3,30\n2020-01-01 00:00,1,10\n2020-01-01 01:00,2,20\n"
    p = _write(tmp_path / "unsorted.csv", text)
    t = read_ltsf_csv(p)
    assert t.sorted_rows and t.values.tolist() == [[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]
    assert t.timestamps is not None and list(t.timestamps) == sorted(t.timestamps)
    u = read_wide_csv(p)
    assert np.array_equal(u.values, t.values) and u.columns == t.columns == ["a", "b"]
    dup = _write(tmp_path / "dup.csv", "date,a\n2020-01-01,1\n2020-01-01,2\n")
    for reader in (read_ltsf_csv, read_wide_csv):
        with pytest.raises(DataFormatError, match="appears 2 times"):
            reader(dup)
    inf = _write(tmp_path / "inf.csv", "date,a\n2020-01-01,1\n2020-01-02,inf\n")
    with pytest.raises(DataFormatError, match="infinite"):
        read_ltsf_csv(inf)
    numbers = _write(tmp_path / "numbers.csv", "t,a\n1,2\n2,3\n")
    assert read_wide_csv(numbers).values.shape == (2, 2)  # no date column: every column is a channel
    with pytest.raises(DataFormatError, match="holds numbers, not dates"):
        read_ltsf_csv(numbers)
