"""Find datasets in a folder laid out like ``shared/data``, by layout and file shape, not by name.

- :func:`find_ltsf`: wide csv files whose first header cell is ``date``.
- :func:`find_classification`: ``<name>_TRAIN.<ext>`` / ``<name>_TEST.<ext>`` pairs.
- :func:`find_anomaly`: TSB-AD csv, NAB, SMAP/MSL, UCR anomaly archive, TSB-UAD ``.out`` and
  ``value,label`` csv files.
- :func:`find_forecast_archives`: Monash ``.tsf`` files and M4 ``<Freq>-train.csv`` /
  ``<Freq>-test.csv`` pairs (in ``forecast/monash_tsf/`` and ``forecast/M4/`` of ``shared/data``,
  but found anywhere by name and shape).
- :func:`describe_data_dir`: a readable inventory, optionally loading every file.

A folder of datasets never seen before works as long as it follows one of these layouts.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyts.data.io._util import family_from_folder, first_line, is_float
from tinyts.data.io.forecast import M4_HORIZON
from tinyts.data.io.ltsf import (
    UCR_ANOMALY_NAME,
    M4Data,
    TsfData,
    read_classification,
    read_ltsf_csv,
    read_m4,
    read_nab,
    read_smap_msl,
    read_tsbad_csv,
    read_tsf,
    read_ucr_anomaly,
    read_value_label,
)
from tinyts.data.types import AnomalySeries, ClassificationSplit

__all__ = [
    "AnomalySource",
    "ClassificationProblem",
    "ForecastArchive",
    "describe_data_dir",
    "find_anomaly",
    "find_classification",
    "find_forecast_archives",
    "find_ltsf",
]

#: Suffixes of classification files, in order of preference when one problem has several.
CLASSIFICATION_SUFFIXES = (".ts", ".arff", ".tsv", ".txt", ".csv")
_SKIP_PARTS = {"anomaly", "classification"}
_TSBAD = re.compile(r"_tr_\d+_")
_LABEL_NAMES = ("label", "labels", "is_anomaly", "anomaly")
_NAB_WINDOWS = Path("labels") / "combined_windows.json"


def _root(root: str | Path) -> Path:
    if not isinstance(root, (str, Path)):
        raise TypeError(f"root must be a str or pathlib.Path, got {type(root).__name__}")
    r = Path(root)
    if not r.is_dir():
        raise FileNotFoundError(f"data folder {r} does not exist or is not a folder")
    return r


def _files(root: Path, suffixes: tuple[str, ...]) -> Iterator[Path]:
    """Every file under ``root`` with one of the suffixes, sorted, skipping hidden paths."""
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).parts
        if p.is_file() and p.suffix.lower() in suffixes and not any(part.startswith(".") for part in rel):
            yield p


def _header_cells(path: Path) -> list[str]:
    return [c.strip().strip("'\"").strip() for c in first_line(path).split(",")]


def _archive_part(rel_parts: tuple[str, ...]) -> str | None:
    for part in reversed(rel_parts):
        up = part.upper()
        if up.startswith("UEA"):
            return "UEA"
        if up.startswith("UCR") and "ANOMALY" not in up:
            return "UCR"
    return None


def _nab_roots(root: Path) -> list[Path]:
    return sorted(p.parent.parent for p in root.rglob("combined_windows.json") if p.parent.name == "labels")


def _in_any(path: Path, folders: list[Path]) -> bool:
    return any(folder == path or folder in path.parents for folder in folders)


# ------------------------------------------------------------------------------------------- LTSF
def find_ltsf(root: str | Path) -> list[Path]:
    """Wide forecasting csv files: the first header cell is ``date`` (case-insensitive).

    Files inside a folder named ``anomaly`` or ``classification``, a UCR/UEA archive folder, a
    TSB-AD folder or a NAB tree (a folder with ``labels/combined_windows.json``) are skipped.
    """
    r = _root(root)
    nab = _nab_roots(r)
    out: list[Path] = []
    for p in _files(r, (".csv",)):
        parts = p.relative_to(r).parts[:-1]
        if any(part.lower() in _SKIP_PARTS or part.upper().startswith("TSB-AD") for part in parts):
            continue
        if _archive_part(parts) is not None or _in_any(p, nab):
            continue
        cells = _header_cells(p)
        if len(cells) >= 2 and cells[0].lower() == "date":
            out.append(p)
    return out


# ------------------------------------------------------------------------------------- classification
@dataclass
class ClassificationProblem:
    """A UEA/UCR problem: a TRAIN file and a TEST file of the same format in one folder."""

    name: str
    archive: str
    train_path: Path
    test_path: Path

    def load(self) -> tuple[ClassificationSplit, ClassificationSplit]:
        """Read both splits with :func:`tinyts.data.io.ltsf.read_classification`."""
        return read_classification(self.train_path), read_classification(self.test_path)


def _looks_multivariate(path: Path) -> bool:
    """Cheap sniff of the header: ``@univariate false``/``@dimensions >1`` (.ts) or relational (.arff)."""
    try:
        with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
            for _, line in zip(range(5000), fh, strict=False):
                low = line.strip().lower()
                if low.startswith("@data"):
                    return False
                if low.startswith("@univariate") and low.split()[-1] == "false":
                    return True
                if low.startswith("@dimensions") and low.split()[-1].isdigit() and int(low.split()[-1]) > 1:
                    return True
                if low.startswith("@attribute") and low.split()[-1] == "relational":
                    return True
    except OSError:
        return False
    return False


def is_label_first_csv(path: Path) -> bool:
    """A headerless label-first csv: every field after the first on line one is a number or '?'."""
    cells = first_line(path).split(",")
    return len(cells) >= 2 and all(is_float(c) or c.strip() in ("?", "") for c in cells[1:])


def find_classification(root: str | Path) -> list[ClassificationProblem]:
    """Every ``<name>_TRAIN.<ext>`` with a ``<name>_TEST.<ext>`` beside it (ext: ts, arff, tsv, txt, csv).

    When one problem exists in several formats in one folder, the first of ``.ts``, ``.arff``,
    ``.tsv``, ``.txt``, ``.csv`` is used. ``.csv`` pairs count only when headerless with numeric
    values (so anomaly csv pairs such as aeon's ``KDD-TSAD`` are not taken). ``archive`` is ``UEA``
    or ``UCR`` from the nearest folder whose name starts with it, else ``UEA`` for multivariate
    files and ``UCR`` for univariate ones.
    """
    r = _root(root)
    found: dict[tuple[Path, str], ClassificationProblem] = {}
    for p in _files(r, CLASSIFICATION_SUFFIXES):
        m = re.match(r"^(.+)_TRAIN$", p.stem, flags=re.IGNORECASE)
        if m is None:
            continue
        tests = [p.with_name(f"{m.group(1)}_{t}{p.suffix}") for t in ("TEST", "test", "Test")]
        test = next((t for t in tests if t.is_file()), None)
        if test is None:
            continue
        if p.suffix.lower() == ".csv" and not (is_label_first_csv(p) and is_label_first_csv(test)):
            continue
        key = (p.parent, m.group(1))
        rank = CLASSIFICATION_SUFFIXES.index(p.suffix.lower())
        if key in found and CLASSIFICATION_SUFFIXES.index(found[key].train_path.suffix.lower()) <= rank:
            continue
        archive = _archive_part(p.relative_to(r).parts[:-1])
        if archive is None:
            archive = "UEA" if _looks_multivariate(p) else "UCR"
        found[key] = ClassificationProblem(name=m.group(1), archive=archive, train_path=p, test_path=test)
    return sorted(found.values(), key=lambda c: (c.archive, c.name, str(c.train_path)))


# ------------------------------------------------------------------------------------------- anomaly
@dataclass
class AnomalySource:
    """One labelled anomaly series found on disk; :meth:`load` reads it.

    Attributes
    ----------
    name, family : str
        As the loaded :class:`AnomalySeries` will have them.
    path : Path
        The main file (for SMAP/MSL the test ``.npy``).
    kind : str
        Reader: ``tsbad``, ``nab``, ``smap_msl``, ``ucr_anomaly`` or ``value_label``.
    labels_path : Path or None
        NAB ``combined_windows.json`` or SMAP/MSL ``labeled_anomalies.csv``.
    channel : str or None
        SMAP/MSL channel id.
    """

    name: str
    family: str
    path: Path
    kind: str = "value_label"
    labels_path: Path | None = None
    channel: str | None = None

    def load(self) -> AnomalySeries:
        """Read the series with the reader for its ``kind``."""
        if self.kind == "tsbad":
            series = read_tsbad_csv(self.path)
        elif self.kind == "nab" and self.labels_path is not None:
            series = read_nab(self.path, self.labels_path)
        elif self.kind == "smap_msl" and self.channel is not None and self.labels_path is not None:
            series = read_smap_msl(self.labels_path.parent, self.channel)
        elif self.kind == "ucr_anomaly":
            series = read_ucr_anomaly(self.path)
        elif self.kind == "value_label":
            series = read_value_label(self.path, family=self.family)
        else:
            raise ValueError(
                f"unknown AnomalySource kind {self.kind!r} (or its labels_path/channel is "
                "missing); accepted: tsbad, nab, smap_msl, ucr_anomaly, value_label"
            )
        series.name = self.name
        return series


def _smap_sources(labels_csv: Path) -> list[AnomalySource]:
    import pandas as pd

    try:
        table = pd.read_csv(labels_csv)
    except (ValueError, OSError):
        return []
    if "chan_id" not in table.columns:
        return []
    out: list[AnomalySource] = []
    folder = labels_csv.parent
    for chan, craft in zip(
        table["chan_id"].astype(str),
        table["spacecraft"].astype(str) if "spacecraft" in table else [""] * len(table),
        strict=True,
    ):
        test = folder / "test" / f"{chan}.npy"
        if test.is_file() and (folder / "train" / f"{chan}.npy").is_file():
            name = f"{craft}/{chan}" if craft else chan
            if all(s.name != name for s in out):
                out.append(AnomalySource(name, "SMAP_MSL", test, "smap_msl", labels_csv, chan))
    return out


def find_anomaly(root: str | Path) -> list[AnomalySource]:
    """Every labelled anomaly series under ``root``, recognised by layout.

    - TSB-AD: any ``*_tr_<n>_*.csv`` with a ``Label`` column.
    - NAB: csv files under a folder that has ``labels/combined_windows.json``, when the json has
      their ``<category>/<file>`` key.
    - SMAP/MSL: a folder with ``labeled_anomalies.csv``: one source per row whose channel has
      ``test/<ch>.npy`` and ``train/<ch>.npy``.
    - UCR anomaly archive: ``<id>_UCR_Anomaly_<name>_<train end>_<begin>_<end>.txt|.out``.
    - ``value,label`` files: other ``.out`` files, and other csv files whose header has a label
      column (``label``/``is_anomaly``/...) and at least one other column (MITDB, TSB-AD without
      ``_tr_``). Name lists such as TSB-AD's ``File_List`` (one ``file_name`` column) are not series.
    """
    r = _root(root)
    nab_roots = _nab_roots(r)
    out: list[AnomalySource] = []
    claimed: set[Path] = set()
    for nab in nab_roots:
        windows_path = nab / _NAB_WINDOWS
        try:
            keys = set(json.loads(windows_path.read_text(encoding="utf-8")))
        except (ValueError, OSError):
            continue
        for p in _files(nab, (".csv",)):
            claimed.add(p)
            key = f"{p.parent.name}/{p.name}"
            if p.parent.parent == nab and key in keys:
                out.append(AnomalySource(key[:-4], "NAB", p, "nab", windows_path))
    for labels_csv in sorted(r.rglob("labeled_anomalies.csv")):
        out.extend(_smap_sources(labels_csv))
    for p in _files(r, (".csv", ".txt", ".out")):
        if p in claimed:
            continue
        rel = p.relative_to(r).parts[:-1]
        if UCR_ANOMALY_NAME.match(p.stem):
            out.append(AnomalySource(p.stem, "UCR_Anomaly", p, "ucr_anomaly"))
        elif p.suffix.lower() == ".out":
            out.append(AnomalySource(p.stem, family_from_folder(p.parent.name), p, "value_label"))
        elif p.suffix.lower() == ".csv" and _archive_part(rel) is None and p.name != "labeled_anomalies.csv":
            cells = _header_cells(p)
            has_label = any(c.lower() in _LABEL_NAMES for c in cells)
            if not has_label or len(cells) < 2 or cells[0].lower() == "date":
                continue
            if _TSBAD.search(p.name) and "Label" in cells:
                fam = family_from_folder(p.parent.name)
                if fam not in ("TSB-AD-U", "TSB-AD-M"):
                    fam = "TSB-AD-U" if len(cells) == 2 else "TSB-AD-M"
                out.append(AnomalySource(p.stem, fam, p, "tsbad"))
            else:
                out.append(AnomalySource(p.stem, family_from_folder(p.parent.name), p, "value_label"))
    counts = Counter(s.name for s in out)
    for s in out:  # make clashing stems unique with their folder path
        if counts[s.name] > 1 and s.kind in ("value_label", "tsbad", "ucr_anomaly"):
            s.name = str(s.path.relative_to(r).with_suffix("").as_posix())
    return sorted(out, key=lambda s: (s.family, s.name))


# ------------------------------------------------------------------------------- forecast archives
@dataclass
class ForecastArchive:
    """A short-series forecasting file found on disk: a Monash ``.tsf`` or an M4 train/test pair.

    Attributes
    ----------
    name : str
        ``m3_yearly`` (the ``.tsf`` stem without ``_dataset``) or ``m4_hourly``.
    kind : str
        ``tsf`` or ``m4``.
    path : Path
        The ``.tsf`` file or the M4 training csv.
    test_path : Path or None
        The M4 test csv (``None`` for ``.tsf``, whose lines hold whole series).
    """

    name: str
    kind: str
    path: Path
    test_path: Path | None = None

    def load(self) -> TsfData | M4Data:
        """Read it with :func:`tinyts.data.io.ltsf.read_tsf` or :func:`tinyts.data.io.ltsf.read_m4`."""
        if self.kind == "tsf":
            return read_tsf(self.path)
        if self.kind == "m4":
            return read_m4(self.path, self.test_path)
        raise ValueError(f"unknown ForecastArchive kind {self.kind!r}; accepted: tsf, m4")


_M4_TRAIN = re.compile(r"^(yearly|quarterly|monthly|weekly|daily|hourly)-train$", flags=re.IGNORECASE)


def find_forecast_archives(root: str | Path) -> list[ForecastArchive]:
    """Every ``.tsf`` file and every M4 ``<Freq>-train.csv`` with its ``<Freq>-test.csv`` beside it.

    ``<Freq>`` is one of the six M4 frequencies (Yearly ... Hourly, any case); a training file
    without its test file is still listed (``test_path`` None). When two files would get the same
    name, the later ones are named by their path relative to ``root``.
    """
    r = _root(root)
    out: list[ForecastArchive] = []
    for p in _files(r, (".tsf",)):
        stem = p.stem[: -len("_dataset")] if p.stem.lower().endswith("_dataset") else p.stem
        out.append(ForecastArchive(stem, "tsf", p))
    for p in _files(r, (".csv",)):
        m = _M4_TRAIN.match(p.stem)
        if m is None:
            continue
        freq = m.group(1)
        assert freq.lower() in M4_HORIZON
        tests = [p.with_name(f"{freq}-{t}{p.suffix}") for t in ("test", "Test", "TEST")]
        test = next((t for t in tests if t.is_file()), None)
        out.append(ForecastArchive(f"m4_{freq.lower()}", "m4", p, test))
    seen: Counter[str] = Counter()
    for a in out:
        seen[a.name] += 1
        if seen[a.name] > 1:
            a.name = a.path.relative_to(r).with_suffix("").as_posix()
    return sorted(out, key=lambda a: (a.kind, a.name))


def _archive_info(a: ForecastArchive) -> str:
    data = a.load()
    if isinstance(data, TsfData):
        lengths = [len(s) for s in data.series]
        n_nan = int(sum(int(np.isnan(s).sum()) for s in data.series))
        return (
            f"{len(data.series)} series, {data.frequency or 'no @frequency'}, horizon {data.horizon}, "
            f"length {min(lengths)}..{max(lengths)}, {n_nan} missing"
        )
    lengths = [len(s) for s in data.train]
    test = "no test file" if data.test is None else f"test {len(data.test)} x {data.horizon}"
    return f"{len(data.train)} series, {data.frequency}, train length {min(lengths)}..{max(lengths)}, {test}"


# ------------------------------------------------------------------------------------------ describe
def _shape(X: np.ndarray | list[np.ndarray]) -> str:
    if isinstance(X, np.ndarray):
        return "x".join(str(d) for d in X.shape)
    lengths = [x.shape[1] for x in X]
    return f"{len(X)}x{X[0].shape[0]}x[{min(lengths)}..{max(lengths)}]"


def describe_data_dir(root: str | Path, load: bool = False) -> list[str]:
    """Readable lines listing every dataset found in ``root``, per family.

    Parameters
    ----------
    root : str or Path
        A data folder laid out like ``shared/data``.
    load : bool
        Also read every file and report its shape (and, for anomaly series, labelled points and the
        train prefix); a file that fails gets a ``FAILED`` line with the error.

    Returns
    -------
    list of str
        Section headers, one line per dataset, then a summary line with counts and failures.
    """
    r = _root(root)
    lines: list[str] = [f"data folder: {r}"]
    failures: list[str] = []

    def attempt(label: str, fn: Callable[[], str]) -> str:
        try:
            return fn()
        except Exception as exc:  # report, do not stop: the point is to list every failure
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
            return f"FAILED {type(exc).__name__}: {exc}"

    ltsf = find_ltsf(r)
    lines.append(f"LTSF forecasting csv: {len(ltsf)}")
    for p in ltsf:
        rel = p.relative_to(r).as_posix()
        extra = ""
        if load:

            def info(p: Path = p) -> str:
                t = read_ltsf_csv(p)
                span = (
                    ""
                    if t.timestamps is None
                    else (f", {str(t.timestamps[0])[:19]} .. {str(t.timestamps[-1])[:19]}")
                )
                return f"{t.values.shape[1]} rows x {t.values.shape[0]} channels{span}"

            extra = "  " + attempt(rel, info)
        lines.append(f"  {rel}{extra}")

    problems = find_classification(r)
    by_arch = Counter(c.archive for c in problems)
    lines.append(
        f"classification problems: {len(problems)} ("
        + ", ".join(f"{a} {n}" for a, n in sorted(by_arch.items()))
        + ")"
    )
    for c in problems:
        extra = ""
        if load:

            def cinfo(c: ClassificationProblem = c) -> str:
                tr, te = c.load()
                classes = len(set(tr.y) | set(te.y))
                return f"train {_shape(tr.X)}, test {_shape(te.X)}, {classes} classes"

            extra = "  " + attempt(c.name, cinfo)
        lines.append(
            f"  [{c.archive}] {c.name} ({c.train_path.suffix}) "
            f"{c.train_path.parent.relative_to(r).as_posix()}{extra}"
        )

    sources = find_anomaly(r)
    by_fam = Counter(s.family for s in sources)
    lines.append(
        f"anomaly series: {len(sources)} (" + ", ".join(f"{f} {n}" for f, n in sorted(by_fam.items())) + ")"
    )
    for s in sources:
        extra = ""
        if load:

            def ainfo(s: AnomalySource = s) -> str:
                a = s.load()
                pct = 100.0 * float(a.labels.mean()) if a.n_time else 0.0
                return (
                    f"{a.n_time} x {a.n_channels}, {int(a.labels.sum())} anomalous points "
                    f"({pct:.2f}%), train_end {a.train_end}"
                )

            extra = "  " + attempt(s.name, ainfo)
        lines.append(f"  [{s.family}] {s.name}{extra}")

    archives = find_forecast_archives(r)
    lines.append(f"forecasting archives (.tsf, M4): {len(archives)}")
    for a in archives:
        extra = ""
        if load:
            extra = "  " + attempt(a.name, functools.partial(_archive_info, a))
        rel = a.path.relative_to(r).as_posix()
        pair = "" if a.test_path is None else f" + {a.test_path.name}"
        lines.append(f"  [{a.kind}] {a.name} {rel}{pair}{extra}")

    used = set(ltsf) | {p for c in problems for p in (c.train_path, c.test_path)} | {s.path for s in sources}
    used |= {s.labels_path for s in sources if s.labels_path is not None}
    used |= {a.path for a in archives} | {a.test_path for a in archives if a.test_path is not None}
    used |= {s.path.parent.parent / "train" / s.path.name for s in sources if s.kind == "smap_msl"}
    other = [p for p in _files(r, tuple(_all_suffixes(r))) if p not in used]
    lines.append(f"other files (not read as a dataset): {len(other)}")
    lines.extend(f"  {p.relative_to(r).as_posix()}" for p in other)
    summary = (
        f"summary: {len(ltsf)} LTSF, {len(problems)} classification, {len(sources)} anomaly, "
        f"{len(archives)} forecasting archives; {len(failures)} failed to load"
        if load
        else f"summary: {len(ltsf)} LTSF, {len(problems)} classification, {len(sources)} anomaly, "
        f"{len(archives)} forecasting archives"
    )
    lines.append(summary)
    lines.extend(f"  FAILED {f}" for f in failures)
    return lines


def _all_suffixes(root: Path) -> set[str]:
    return {p.suffix.lower() for p in root.rglob("*") if p.is_file()}
