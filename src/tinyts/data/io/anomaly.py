"""Readers for labelled anomaly-detection series: TSB-AD, NAB, SMAP/MSL, UCR anomaly archive, value,label.

Every reader returns an :class:`~tinyts.data.types.AnomalySeries` with ``values`` as
``(n_channels, n_time)`` float64 and ``labels`` as ``(n_time,)`` int8 (1 = anomalous point).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyts.data.io._util import (
    as_path,
    fail,
    family_from_folder,
    first_line,
    is_float,
    labels_01,
    numeric_columns,
    read_table,
    read_text,
    to_floats,
)
from tinyts.data.types import AnomalySeries

__all__ = [
    "UCR_ANOMALY_NAME",
    "read_nab",
    "read_smap_msl",
    "read_tsbad_csv",
    "read_ucr_anomaly",
    "read_value_label",
]

#: File stem of a UCR anomaly-archive series: ``<id>_UCR_Anomaly_<name>_<train end>_<begin>_<end>``.
UCR_ANOMALY_NAME = re.compile(r"^(\d+)_UCR_Anomaly_(.+)_(\d+)_(\d+)_(\d+)$")
_TSBAD_TRAIN = re.compile(r"_tr_(\d+)_")
_TSBAD_FIRST = re.compile(r"_1st_(\d+)")
_LABEL_NAMES = ("label", "labels", "is_anomaly", "anomaly")
_TIME_NAMES = ("timestamp", "time", "date", "ds")


def _check_train_end(path: Path, train_end: int | None, n: int) -> int | None:
    if train_end is not None and not 0 <= train_end <= n:
        raise fail(path, f"train end {train_end} from the file name is outside the series (length {n})")
    return train_end


def _label_column(columns: list[str]) -> str | None:
    for col in columns:
        if str(col).strip().lower() in _LABEL_NAMES:
            return col
    return None


def read_tsbad_csv(path: str | Path) -> AnomalySeries:
    """Read a TSB-AD csv (``TSB-AD-U``: one data column; ``TSB-AD-M``: many) with a ``Label`` column.

    Every column but ``Label`` is a channel. ``train_end`` comes from ``_tr_<n>_`` in the file name
    and ``meta["first_anomaly"]`` from ``_1st_<n>``. The family is the parent folder's name when it
    is ``TSB-AD-U``/``TSB-AD-M``, else decided by the channel count. NaN cells stay NaN (TSB-AD
    itself drops such rows; none of the published files has any).

    Raises
    ------
    DataFormatError
        No ``Label`` column, no data column, a non-numeric value or a label other than 0/1.
    """
    p = as_path(path)
    df = read_table(p, header=True)
    label_col = "Label" if "Label" in df.columns else _label_column(list(df.columns))
    if label_col is None:
        raise fail(p, f"no Label column; the columns are {list(df.columns)[:8]}")
    data = df.drop(columns=[label_col])
    if data.shape[1] == 0:
        raise fail(p, "no data column besides the label column")
    values = numeric_columns(data, p)
    labels = labels_01(df[label_col].to_numpy(), p, 1, str(label_col))
    tr = _TSBAD_TRAIN.search(p.name)
    first = _TSBAD_FIRST.search(p.name)
    folder = family_from_folder(p.parent.name)
    family = folder
    if folder not in ("TSB-AD-U", "TSB-AD-M"):
        family = "TSB-AD-U" if values.shape[1] == 1 else "TSB-AD-M"
    meta: dict[str, Any] = {"columns": [str(c) for c in data.columns]}
    if first:
        meta["first_anomaly"] = int(first.group(1))
    train_end = _check_train_end(p, int(tr.group(1)) if tr else None, len(values))
    return AnomalySeries(
        name=p.stem,
        family=family,
        values=np.ascontiguousarray(values.T),
        labels=labels,
        train_end=train_end,
        path=p,
        meta=meta,
    )


def read_nab(csv_path: str | Path, windows_json: str | Path) -> AnomalySeries:
    """Read a NAB series (``timestamp,value``) and label it from ``combined_windows.json``.

    The json key is ``<category folder>/<file name>``. TSB-AD's convention is used: a point is
    anomalous when ``start < timestamp <= end`` for one of its windows (start exclusive, end
    inclusive); this reproduces TSB-AD-U ``001_NAB_id_1_Facility`` from NAB's
    ``realKnownCause/ec2_request_latency_system_failure`` exactly.

    Returns
    -------
    AnomalySeries
        ``name`` is the json key without ``.csv``; ``meta`` has ``windows`` (the json strings),
        ``timestamps`` (datetime64) and ``key``.

    Raises
    ------
    DataFormatError
        The json has no entry for this file, the csv lacks ``timestamp``/``value``, or a value or
        timestamp does not parse.
    """
    p = as_path(csv_path, "csv_path")
    jp = as_path(windows_json, "windows_json")
    try:
        windows_all = json.loads(read_text(jp))
    except json.JSONDecodeError as exc:
        raise fail(jp, f"not valid JSON: {exc.msg}", exc.lineno) from exc
    if not isinstance(windows_all, dict):
        raise fail(jp, "expected a JSON object mapping '<folder>/<file>.csv' to a list of windows")
    key = f"{p.parent.name}/{p.name}"
    if key not in windows_all:
        raise fail(jp, f"no windows for {key!r} (the key must be '<category folder>/<file name>')")
    df = read_table(p, header=True)
    if "timestamp" not in df.columns or "value" not in df.columns:
        raise fail(p, f"a NAB file needs 'timestamp' and 'value' columns, found {list(df.columns)}")
    try:
        stamps = pd.to_datetime(df["timestamp"]).to_numpy(dtype="datetime64[ns]")
    except (ValueError, TypeError) as exc:
        raise fail(p, f"cannot parse the timestamp column: {exc}") from exc
    values = numeric_columns(df[["value"]].copy(), p)
    labels = np.zeros(len(df), dtype=np.int8)
    windows = windows_all[key]
    for win in windows:
        if not (isinstance(win, list) and len(win) == 2):
            raise fail(jp, f"window {win!r} of {key!r} is not a [start, end] pair")
        start, end = (np.datetime64(pd.Timestamp(w), "ns") for w in win)
        labels[(stamps > start) & (stamps <= end)] = 1
    return AnomalySeries(
        name=key[: -len(".csv")] if key.endswith(".csv") else key,
        family="NAB",
        values=np.ascontiguousarray(values.T),
        labels=labels,
        train_end=None,
        path=p,
        meta={"windows": windows, "timestamps": stamps, "key": key},
    )


def _smap_rows(labels_csv: Path, channel: str) -> tuple[str, list[list[int]], int | None]:
    table = read_table(labels_csv, header=True)
    need = {"chan_id", "anomaly_sequences"}
    if not need <= set(table.columns):
        raise fail(labels_csv, f"needs columns {sorted(need)}, found {list(table.columns)}")
    rows = table[table["chan_id"].astype(str) == channel]
    if rows.empty:
        raise fail(labels_csv, f"no row for channel {channel!r}")
    ranges: list[list[int]] = []
    for idx, row in rows.iterrows():
        try:
            seq = json.loads(str(row["anomaly_sequences"]))
        except json.JSONDecodeError:
            raise fail(
                labels_csv,
                f"anomaly_sequences {row['anomaly_sequences']!r} is not a list of [start, end] pairs",
                int(str(idx)) + 2,
            ) from None
        for pair in seq:
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int) for v in pair)):
                raise fail(
                    labels_csv,
                    f"anomaly range {pair!r} is not an [start, end] integer pair",
                    int(str(idx)) + 2,
                )
            if pair not in ranges:
                ranges.append(pair)
    first = rows.iloc[0]
    spacecraft = str(first["spacecraft"]) if "spacecraft" in rows.columns else ""
    n_values = int(first["num_values"]) if "num_values" in rows.columns else None
    return spacecraft, ranges, n_values


def _load_npy(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise fail(path, f"not a readable .npy array: {exc}") from exc
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number):
        raise fail(path, f"expected a 2-D numeric array (time, channels), found {arr.dtype} {arr.shape}")
    return arr.astype(np.float64)


def read_smap_msl(root: str | Path, channel: str) -> AnomalySeries:
    """Read one SMAP/MSL channel (telemanom layout, as in TranAD's ``data/SMAP_MSL``).

    ``root`` holds ``train/<channel>.npy``, ``test/<channel>.npy`` and ``labeled_anomalies.csv``.
    The series is the train rows followed by the test rows (all columns: column 0 is the telemetry
    value, the others one-hot commands); ``train_end = len(train)``. Labels come from the inclusive
    ``[start, end]`` index ranges of ``anomaly_sequences``, offset into the test part.

    Returns
    -------
    AnomalySeries
        ``name`` is ``"<spacecraft>/<channel>"`` (``"SMAP/A-1"``), family ``"SMAP_MSL"``;
        ``meta`` has ``channel``, ``spacecraft`` and ``anomaly_sequences`` (test-relative).

    Raises
    ------
    DataFormatError
        Missing files or row, train/test column mismatch, ``num_values`` different from the test
        length, or a range outside the test part.
    """
    if not isinstance(root, (str, Path)):
        raise TypeError(f"root must be a str or pathlib.Path, got {type(root).__name__}")
    if not isinstance(channel, str) or not channel:
        raise TypeError(f"channel must be a non-empty str such as 'A-1', got {channel!r}")
    r = Path(root)
    labels_csv = as_path(r / "labeled_anomalies.csv", "labeled_anomalies.csv")
    test_path = as_path(r / "test" / f"{channel}.npy", "test file")
    train_path = as_path(r / "train" / f"{channel}.npy", "train file")
    spacecraft, ranges, n_values = _smap_rows(labels_csv, channel)
    train, test = _load_npy(train_path), _load_npy(test_path)
    if train.shape[1] != test.shape[1]:
        raise fail(test_path, f"has {test.shape[1]} columns but the train file has {train.shape[1]}")
    if n_values is not None and n_values != len(test):
        raise fail(
            labels_csv, f"num_values {n_values} for {channel} differs from the test length {len(test)}"
        )
    test_labels = np.zeros(len(test), dtype=np.int8)
    for start, end in ranges:
        if not 0 <= start <= end < len(test):
            raise fail(
                labels_csv,
                f"range [{start}, {end}] of {channel} is outside the test part (length {len(test)})",
            )
        test_labels[start : end + 1] = 1
    values = np.concatenate([train, test], axis=0)
    labels = np.concatenate([np.zeros(len(train), dtype=np.int8), test_labels])
    name = f"{spacecraft}/{channel}" if spacecraft else channel
    return AnomalySeries(
        name=name,
        family="SMAP_MSL",
        values=np.ascontiguousarray(values.T),
        labels=labels,
        train_end=len(train),
        path=test_path,
        meta={
            "channel": channel,
            "spacecraft": spacecraft,
            "anomaly_sequences": ranges,
            "train_path": train_path,
        },
    )


def read_value_label(path: str | Path, family: str | None = None) -> AnomalySeries:
    """Read a ``value,label`` table, headed or headerless (TSB-UAD ``.out``, MITDB csv ``data,label``).

    A first line made only of numbers means no header. Headed: the label column is the one named
    ``label``/``labels``/``is_anomaly``/``anomaly`` (else the last), a ``timestamp``/``time``/
    ``date``/``ds`` column goes to ``meta["timestamps"]``, the rest are channels. Headerless: the
    last column is the label, the others channels.

    Parameters
    ----------
    path : str or Path
        The file (any suffix; comma separated).
    family : str or None
        Family to record; default derived from the parent folder (``MITDB_sample`` -> ``MITDB``).

    Raises
    ------
    DataFormatError
        Fewer than two columns (no label column), a non-numeric value, or a label other than 0/1.
    """
    p = as_path(path)
    header = not all(is_float(tok) for tok in first_line(p).split(","))
    df = read_table(p, header=header)
    if df.shape[1] < 2:
        raise fail(p, f"expected at least two columns (values then a label column), found {df.shape[1]}")
    cols = list(df.columns)
    label_col = (_label_column([str(c) for c in cols]) if header else None) or cols[-1]
    meta: dict[str, Any] = {"header": header}
    data = df.drop(columns=[label_col])
    if header:
        time_cols = [c for c in data.columns if str(c).strip().lower() in _TIME_NAMES]
        if time_cols and data.shape[1] > 1:
            meta["timestamps"] = data[time_cols[0]].to_numpy()
            data = data.drop(columns=time_cols[:1])
        meta["columns"] = [str(c) for c in data.columns]
    values = numeric_columns(data, p, header_lines=int(header))
    labels = labels_01(df[label_col].to_numpy(), p, int(header), str(label_col))
    fam = family if family is not None else family_from_folder(p.parent.name)
    return AnomalySeries(
        name=p.stem,
        family=fam,
        values=np.ascontiguousarray(values.T),
        labels=labels,
        train_end=None,
        path=p,
        meta=meta,
    )


def read_ucr_anomaly(path: str | Path) -> AnomalySeries:
    """Read a UCR anomaly-archive series (KDD Cup 2021), ``.txt`` or ``.out``.

    The stem must be ``<id>_UCR_Anomaly_<name>_<train end>_<begin>_<end>``; ``train_end`` is the
    length of the anomaly-free prefix. ``.txt`` holds the values only (one per line, or several
    whitespace-separated per line); the labels are then ``labels[begin:end] = 1``, i.e. **0-based,
    end exclusive**. SOURCES.md calls the range "1-based inclusive", which would shift it by one
    point; the 0-based half-open reading is the one aeon's bundled ``KDD-TSAD_135`` file uses (its
    ``is_anomaly`` is 1 at indices 4187..4198 of the same 7,501 values) and the one the ``.out``
    copy of series 198 carries in its own label column (124159..124984), so it is used here.
    ``.out`` files (``value,label`` per line) keep their own labels; ``meta["name_range"]`` records
    the range from the name either way.

    Raises
    ------
    DataFormatError
        A stem not in the archive's naming scheme, a non-numeric value, or a range outside the series.
    """
    p = as_path(path)
    m = UCR_ANOMALY_NAME.match(p.stem)
    if m is None:
        raise fail(p, "file name is not '<id>_UCR_Anomaly_<name>_<train end>_<begin>_<end>'")
    train_end, begin, end = (int(m.group(k)) for k in (3, 4, 5))
    meta: dict[str, Any] = {"id": int(m.group(1)), "series": m.group(2), "name_range": (begin, end)}
    if p.suffix.lower() == ".out":
        series = read_value_label(p, family="UCR_Anomaly")
        values, labels = series.values.T, series.labels  # back to (time, channels) inside the reader
    else:
        text_lines = read_text(p).splitlines()
        tokens: list[str] = []
        starts: list[int] = []
        nos: list[int] = []
        for i, line in enumerate(text_lines):
            toks = line.split()
            if toks:
                starts.append(len(tokens))
                nos.append(i + 1)
                tokens.extend(toks)
        values = to_floats(tokens, p, starts, nos)[:, None]
        if not 0 <= begin < end <= len(values):
            raise fail(
                p,
                f"anomaly range [{begin}, {end}) from the name is outside the series (length {len(values)})",
            )
        labels = np.zeros(len(values), dtype=np.int8)
        labels[begin:end] = 1
    return AnomalySeries(
        name=p.stem,
        family="UCR_Anomaly",
        values=np.ascontiguousarray(values.T),
        labels=labels,
        train_end=_check_train_end(p, train_end, len(values)),
        path=p,
        meta=meta,
    )
