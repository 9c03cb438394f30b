"""Tests for tinyts.data.io.discover: datasets found by layout, on the mini folder and on unseen names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tinyts.data.io.discover import (
    AnomalySource,
    ClassificationProblem,
    ForecastArchive,
    describe_data_dir,
    find_anomaly,
    find_classification,
    find_forecast_archives,
    find_ltsf,
)
from tinyts.data.io.forecast import M4Data, TsfData


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _ts(n_dims: int, label: str = "a") -> str:
    dims = ":".join("1,2,3,4" for _ in range(n_dims))
    uni = "true" if n_dims == 1 else "false"
    return f"@problemName P\n@univariate {uni}\n@classLabel true a b\n@data\n{dims}:{label}\n{dims}:b\n"


def test_mini_data_dir(mini_data_dir: Path) -> None:
    ltsf = find_ltsf(mini_data_dir)
    assert [p.relative_to(mini_data_dir).as_posix() for p in ltsf] == ["toy_ltsf/toy_hourly.csv"]

    problems = find_classification(mini_data_dir)
    assert [(c.archive, c.name) for c in problems] == [("UCR", "ToyUni"), ("UEA", "ToyMulti")]
    train, test = problems[1].load()
    assert isinstance(train.X, np.ndarray) and train.X.shape == (20, 3, 64) and test.n_cases == 20
    assert set(train.y) <= {"0", "1"}

    sources = find_anomaly(mini_data_dir)
    assert [(s.family, s.kind) for s in sources] == [("TSB-AD-U", "tsbad"), ("UCR_Anomaly", "ucr_anomaly")]
    tsb = sources[0].load()
    assert tsb.train_end == 1000 and np.flatnonzero(tsb.labels).tolist() == list(range(2000, 2020))
    ucr = sources[1].load()
    assert ucr.train_end == 1000 and ucr.name == sources[1].name
    assert np.flatnonzero(ucr.labels).tolist() == list(range(1800, 1830))  # name range [1800, 1830)

    lines = describe_data_dir(mini_data_dir, load=True)
    assert not any("FAILED" in line for line in lines)
    assert (
        lines[-1] == "summary: 1 LTSF, 2 classification, 2 anomaly, 0 forecasting archives; 0 failed to load"
    )


@pytest.fixture
def unseen_dir(tmp_path: Path) -> Path:
    """Every layout, with names the code has never seen, plus files that must not be listed."""
    root = tmp_path / "data"
    rng = np.random.default_rng(1)
    # forecasting tables: one listed, one inside an anomaly folder (not listed)
    _write(root / "power" / "grid.csv", "date,load,OT\n2021-01-01,1,2\n2021-01-02,3,4\n")
    _write(root / "anomaly" / "misc" / "d.csv", "date,x\n2021-01-01,1\n")
    # classification: archive from the folder, else from the channel count; csv pairs; format preference
    _write(root / "UCRArchive_2018" / "Leafy" / "Leafy_TRAIN.tsv", "1\t1\t2\n2\t3\t4\n")
    _write(root / "UCRArchive_2018" / "Leafy" / "Leafy_TEST.tsv", "1\t1\t2\n")
    _write(root / "UCRArchive_2018" / "Leafy" / "Leafy_TRAIN.ts", _ts(1))
    _write(root / "UCRArchive_2018" / "Leafy" / "Leafy_TEST.ts", _ts(1))
    _write(root / "mine" / "Multi" / "Multi_TRAIN.ts", _ts(3))
    _write(root / "mine" / "Multi" / "Multi_TEST.ts", _ts(3))
    _write(root / "mine" / "Flat" / "Flat_TRAIN.csv", "x,1,2,3\ny,4,5,6\n")
    _write(root / "mine" / "Flat" / "Flat_TEST.csv", "x,1,2,3\n")
    _write(root / "mine" / "Lonely" / "Lonely_TRAIN.ts", _ts(1))  # no TEST: not a problem
    _write(root / "kdd" / "k_TRAIN.csv", "timestamp,value,is_anomaly\n0,1.0,0\n")  # anomaly csv pair
    _write(root / "kdd" / "k_TEST.csv", "timestamp,value,is_anomaly\n0,1.0,0\n1,9.0,1\n")
    # TSB-AD style with a new name and folder; a name list that must not be a series
    _write(
        root / "bench-A" / "042_Pump_id_9_Plant_tr_2_1st_3.csv", "p1,p2,Label\n1,2,0\n3,4,0\n5,6,1\n7,8,0\n"
    )
    _write(root / "lists" / "names.csv", "file_name\n042_Pump_id_9_Plant_tr_2_1st_3.csv\n")
    # NAB-like tree: only files with a key in the windows json
    nab = root / "anomaly" / "NABish"
    stamps = pd.date_range("2020-01-01", periods=6, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    for name in ("cat/one.csv", "cat/two.csv"):
        (nab / name).parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"timestamp": stamps, "value": rng.standard_normal(6)}).to_csv(nab / name, index=False)
    _write(
        nab / "labels" / "combined_windows.json",
        json.dumps({"cat/one.csv": [["2020-01-01 01:00:00", "2020-01-01 03:00:00"]]}),
    )
    _write(nab / "labels" / "combined_labels.json", json.dumps({"cat/one.csv": ["2020-01-01 02:00:00"]}))
    # SMAP/MSL-like folder: rows without files are not listed
    sm = root / "anomaly" / "space"
    for part, n in (("train", 5), ("test", 7)):
        (sm / part).mkdir(parents=True)
        np.save(sm / part / "Z-1.npy", rng.standard_normal((n, 4)))
    _write(
        sm / "labeled_anomalies.csv",
        "chan_id,spacecraft,anomaly_sequences,class,num_values\n"
        'Z-1,MSL,"[[2, 3]]","[point]",7\nZ-2,MSL,"[[1, 1]]","[point]",9\n',
    )
    # UCR anomaly archive, TSB-UAD-like .out and a value,label csv in new folders
    np.savetxt(root / "anomaly" / "space" / "777_UCR_Anomaly_Wave_10_12_15.txt", np.sin(np.arange(30.0)))
    _write(root / "anomaly" / "ecg" / "rec1.out", "0.1,0\n0.2,1\n0.3,0\n")
    _write(root / "anomaly" / "heart_sample" / "beats.csv", "data,label\n0.1,0\n0.5,1\n")
    return root


def test_find_ltsf_unseen(unseen_dir: Path) -> None:
    assert [p.relative_to(unseen_dir).as_posix() for p in find_ltsf(unseen_dir)] == ["power/grid.csv"]


def test_find_classification_unseen(unseen_dir: Path) -> None:
    found = {c.name: c for c in find_classification(unseen_dir)}
    assert set(found) == {"Leafy", "Multi", "Flat"}
    assert found["Leafy"].archive == "UCR" and found["Leafy"].train_path.suffix == ".ts"  # .ts preferred
    assert found["Multi"].archive == "UEA" and found["Flat"].archive == "UCR"
    train, test = found["Flat"].load()
    assert train.y.tolist() == ["x", "y"] and test.n_cases == 1
    assert isinstance(found["Multi"], ClassificationProblem)


def test_find_anomaly_unseen(unseen_dir: Path) -> None:
    sources = find_anomaly(unseen_dir)
    got = {(s.family, s.kind, s.name) for s in sources}
    assert got == {
        ("TSB-AD-M", "tsbad", "042_Pump_id_9_Plant_tr_2_1st_3"),
        ("NAB", "nab", "cat/one"),
        ("SMAP_MSL", "smap_msl", "MSL/Z-1"),
        ("UCR_Anomaly", "ucr_anomaly", "777_UCR_Anomaly_Wave_10_12_15"),
        ("ecg", "value_label", "rec1"),
        ("heart_sample", "value_label", "beats"),
        ("kdd", "value_label", "k_TRAIN"),
        ("kdd", "value_label", "k_TEST"),
    }
    by_name = {s.name: s for s in sources}
    assert all(isinstance(s, AnomalySource) for s in sources)
    nab = by_name["cat/one"].load()
    assert nab.labels.tolist() == [0, 0, 1, 1, 0, 0]
    smap = by_name["MSL/Z-1"].load()
    assert smap.train_end == 5 and np.flatnonzero(smap.labels).tolist() == [7, 8]
    tsb = by_name["042_Pump_id_9_Plant_tr_2_1st_3"].load()
    assert tsb.values.shape == (2, 4) and tsb.train_end == 2
    k = by_name["k_TEST"].load()
    assert k.values[0].tolist() == [1.0, 9.0] and k.labels.tolist() == [0, 1]


def test_describe_lists_other_files_and_failures(unseen_dir: Path) -> None:
    _write(unseen_dir / "anomaly" / "ecg" / "broken.out", "0.1,0\n0.2,abc\n")
    lines = describe_data_dir(unseen_dir, load=True)
    text = "\n".join(lines)
    assert "lists/names.csv" in text and "combined_labels.json" in text  # listed as other files
    failed = [line for line in lines if "FAILED" in line]
    assert len(failed) == 2 and all("broken" in line for line in failed)
    assert lines[-2].endswith("1 failed to load")
    quick = describe_data_dir(unseen_dir)
    assert not any("FAILED" in line for line in quick)
    assert quick[-1].startswith("summary: 1 LTSF, 3 classification")


def test_bad_root(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        find_anomaly(tmp_path / "missing")
    with pytest.raises(TypeError):
        find_ltsf(3)  # type: ignore[arg-type]


def _forecast_dir(root: Path) -> Path:
    tsf = "@attribute series_name string\n@frequency yearly\n@horizon 2\n@data\nA:1,2,3,4\nB:5,6,7\n"
    _write(root / "forecast" / "monash_tsf" / "toy_yearly_dataset.tsf", tsf)
    _write(root / "elsewhere" / "odd.tsf", "@attribute n string\n@frequency 5_minutes\n@data\nA:1,2\n")
    _write(root / "forecast" / "M4" / "Weekly-train.csv", '"V1","V2","V3","V4"\n"W1","1","2",""\n')
    _write(
        root / "forecast" / "M4" / "Weekly-test.csv",
        '"V1",'
        + ",".join(f'"V{i}"' for i in range(2, 15))
        + '\n"W1",'
        + ",".join('"3"' for _ in range(13))
        + "\n",
    )
    _write(root / "forecast" / "M4" / "Daily-train.csv", '"V1","V2"\n"D1","1"\n')  # no test file
    _write(root / "forecast" / "M4" / "M4-info.csv", "M4id,category,Frequency\nW1,Macro,1\n")
    return root


def test_find_forecast_archives(tmp_path: Path) -> None:
    root = _forecast_dir(tmp_path / "data")
    found = find_forecast_archives(root)
    assert [(a.kind, a.name) for a in found] == [
        ("m4", "m4_daily"),
        ("m4", "m4_weekly"),
        ("tsf", "odd"),
        ("tsf", "toy_yearly"),
    ]
    assert all(isinstance(a, ForecastArchive) for a in found)
    daily, weekly, odd, toy = found
    assert daily.test_path is None
    assert weekly.test_path is not None and weekly.test_path.name == "Weekly-test.csv"
    w = weekly.load()
    assert isinstance(w, M4Data) and w.horizon == 13 and w.test is not None and w.train[0].tolist() == [1, 2]
    t = toy.load()
    assert isinstance(t, TsfData) and t.horizon == 2 and len(t.series) == 2
    o = odd.load()
    assert isinstance(o, TsfData) and o.frequency == "5_minutes"
    # the forecasting files are neither LTSF, classification nor anomaly data
    assert find_ltsf(root) == [] and find_classification(root) == [] and find_anomaly(root) == []


def test_describe_lists_forecast_archives(tmp_path: Path) -> None:
    root = _forecast_dir(tmp_path / "data")
    lines = describe_data_dir(root, load=True)
    text = "\n".join(lines)
    assert "forecasting archives (.tsf, M4): 4" in text
    assert "[tsf] toy_yearly forecast/monash_tsf/toy_yearly_dataset.tsf  2 series, yearly, horizon 2" in text
    assert "[m4] m4_weekly forecast/M4/Weekly-train.csv + Weekly-test.csv  1 series, weekly" in text
    assert "M4-info.csv" in text  # not a dataset: listed among other files
    assert (
        lines[-1] == "summary: 0 LTSF, 0 classification, 0 anomaly, 4 forecasting archives; 0 failed to load"
    )
    _write(root / "forecast" / "broken.tsf", "@data\n")
    lines = describe_data_dir(root, load=True)
    assert any("FAILED" in line and "@data before any @attribute" in line for line in lines)
