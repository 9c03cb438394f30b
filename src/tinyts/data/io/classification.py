"""Readers for UEA/UCR classification files: ``.ts``, ``.arff``, ``.tsv``, old ``.txt`` and ``.csv``.

Every reader returns a :class:`~tinyts.data.types.ClassificationSplit`: ``X`` is
``(n_cases, n_channels, n_timepoints)`` float64 when all cases have one length, else a list of
``(n_channels, t_i)`` arrays; ``y`` holds the class labels as strings, as written in the file;
missing values (``?``, ``NaN``, empty fields) are NaN.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from tinyts.data.io._util import (
    as_path,
    fail,
    is_float,
    normalise_numeric_label,
    read_text,
    split_name,
    to_floats,
)
from tinyts.data.types import ClassificationSplit
from tinyts.errors import DataFormatError

__all__ = ["read_arff", "read_classification", "read_ts", "read_ucr_csv", "read_ucr_tsv", "read_ucr_txt"]

_TS_BOOL_KEYS = ("timestamps", "missing", "univariate", "equallength", "targetlabel")
_TS_COLON_SPLIT = re.compile(r":(?![^()]*\))")  # a ':' that is not inside '( ... )'
_TS_TUPLE = re.compile(r"\(([^()]*)\)")


def _assemble(
    tokens: list[str],
    case_shapes: list[tuple[int, int]],
    path: Path,
    starts: list[int],
    lines: list[int],
) -> np.ndarray | list[np.ndarray]:
    """Turn the flat token list into a 3-D array (one length) or a list of 2-D arrays (ragged)."""
    flat = to_floats(tokens, path, starts, lines)
    if len({shape for shape in case_shapes}) == 1:
        n_ch, n_t = case_shapes[0]
        return flat.reshape(len(case_shapes), n_ch, n_t)
    out: list[np.ndarray] = []
    pos = 0
    for n_ch, n_t in case_shapes:
        out.append(flat[pos : pos + n_ch * n_t].reshape(n_ch, n_t))
        pos += n_ch * n_t
    return out


def _strip_trailing_nan(
    X: np.ndarray | list[np.ndarray], unequal: bool | None
) -> np.ndarray | list[np.ndarray]:
    """Drop trailing all-NaN time points per case (UCR/UEA padding of unequal-length series).

    ``unequal=None`` (auto) strips only when some case ends in NaN on every channel; ``True``
    always strips; ``False`` never does. The result is a 3-D array again when every case ends up
    with one length.
    """
    if unequal is False:
        return X
    cases = list(X)
    ends_nan = [c.shape[1] > 0 and bool(np.isnan(c[:, -1]).all()) for c in cases]
    if not any(ends_nan):
        return X
    stripped: list[np.ndarray] = []
    for c in cases:
        observed = ~np.isnan(c).all(axis=0)
        last = int(np.flatnonzero(observed)[-1]) + 1 if observed.any() else 0
        stripped.append(c[:, :last])
    if len({c.shape for c in stripped}) == 1:
        return np.stack(stripped)
    return stripped


def _split(
    path: Path, X: np.ndarray | list[np.ndarray], labels: list[str], meta: dict[str, Any]
) -> ClassificationSplit:
    if len(labels) == 0:
        raise fail(path, "no cases after the header (the data section is empty)")
    return ClassificationSplit(
        name=split_name(path.stem), X=X, y=np.array(labels, dtype=str), path=path, meta=meta
    )


# ----------------------------------------------------------------------------------------------- .ts
def _ts_header(lines: list[str], path: Path) -> tuple[dict[str, Any], int]:
    """Parse the ``@key value`` header; return the meta dict and the index of the first data line."""
    meta: dict[str, Any] = {"format": "ts"}
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith(("#", "%")):
            continue
        if not line.startswith("@"):
            raise fail(path, "data line before the @data tag (or the @data tag is missing)", i + 1)
        parts = line.split()
        key, rest = parts[0][1:].lower(), parts[1:]
        if key == "data":
            return meta, i + 1
        if key in _TS_BOOL_KEYS or key == "classlabel":
            flag = rest[0].lower() if rest else ""
            if flag not in ("true", "false"):
                raise fail(path, f"@{parts[0][1:]} needs true or false, found {' '.join(rest)!r}", i + 1)
            meta[key] = flag == "true"
            if key == "classlabel":
                meta["class_values"] = rest[1:]
        elif key in ("dimensions", "serieslength"):
            try:
                meta[key] = int(rest[0])
            except (IndexError, ValueError):
                raise fail(
                    path, f"@{parts[0][1:]} needs an integer, found {' '.join(rest)!r}", i + 1
                ) from None
        else:
            meta[key] = " ".join(rest)
    raise fail(path, "no @data tag: a .ts file needs a header ending in @data before the cases")


def _ts_dims(
    line: str, timestamps: bool, path: Path, line_no: int, store: list[list[np.ndarray]]
) -> list[str]:
    """Split a data line into dimension strings (timestamped dimensions reduced to their values)."""
    if not timestamps:
        return line.split(":")
    parts = _TS_COLON_SPLIT.split(line)
    dims = parts
    case_stamps: list[np.ndarray] = []
    out: list[str] = []
    for k, dim in enumerate(dims):
        pairs = _TS_TUPLE.findall(dim)
        if not pairs:
            out.append(dim)  # the label, or a malformed dimension caught by the caller
            continue
        if _TS_TUPLE.sub("", dim).replace(",", "").strip():
            raise fail(path, f"dimension {k} is not a list of (timestamp,value) pairs", line_no)
        stamps, values = zip(*(p.rsplit(",", 1) if "," in p else ("", p) for p in pairs), strict=True)
        case_stamps.append(np.array([s.strip() for s in stamps], dtype=str))
        out.append(",".join(values))
    store.append(case_stamps)
    return out


def read_ts(path: str | Path) -> ClassificationSplit:
    """Read a sktime/aeon ``.ts`` classification file.

    Supports the header tags (``@problemName``, ``@univariate``, ``@dimensions``, ``@equalLength``,
    ``@seriesLength``, ``@classLabel``, ``@targetLabel``, ``@missing``, ``@timeStamps``), ``#``/``%``
    comments, multivariate cases (dimensions separated by ``:``), unequal lengths (a list is
    returned) and missing values (``?`` or ``NaN``). Timestamped files (``@timeStamps true``,
    dimensions written as ``(time,value),...``) are read too: ``X`` holds the values and
    ``meta["timestamps"]`` the per-case, per-channel timestamp strings.

    Parameters
    ----------
    path : str or Path
        The ``.ts`` file.

    Returns
    -------
    ClassificationSplit
        Labels are the file's strings (case preserved; aeon lower-cases them). ``meta`` holds the
        header with lower-case keys. A file without labels (``@classLabel false``) gets empty-string
        labels and ``meta["has_labels"] = False``.

    Raises
    ------
    DataFormatError
        Missing ``@data``, a non-numeric value, a label outside the declared ``@classLabel`` list,
        a case whose channels differ in length, or a channel count that differs between cases or
        from the header.
    """
    p = as_path(path)
    lines = read_text(p).splitlines()
    meta, start = _ts_header(lines, p)
    has_label = bool(meta.get("classlabel", False) or meta.get("targetlabel", False))
    declared = set(meta.get("class_values", [])) if meta.get("classlabel") else set()
    timestamps = bool(meta.get("timestamps", False))
    stamps: list[list[np.ndarray]] = []
    tokens: list[str] = []
    shapes: list[tuple[int, int]] = []
    labels: list[str] = []
    starts: list[int] = []
    line_nos: list[int] = []
    n_dims = None
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if not line or line.startswith(("#", "%")):
            continue
        dims = _ts_dims(line, timestamps, p, i + 1, stamps)
        label = ""
        if has_label:
            if len(dims) < 2:
                raise fail(p, "expected values followed by ':<label>'", i + 1)
            label = dims.pop().strip()
            if declared and label not in declared:
                raise fail(
                    p, f"label {label!r} is not in the declared @classLabel list {sorted(declared)}", i + 1
                )
        if n_dims is None:
            n_dims = len(dims)
        elif len(dims) != n_dims:
            raise fail(p, f"case has {len(dims)} channels but the first case has {n_dims}", i + 1)
        starts.append(len(tokens))
        line_nos.append(i + 1)
        length = None
        for k, dim in enumerate(dims):
            if not dim.strip():
                raise fail(p, f"channel {k} is empty", i + 1)
            toks = dim.split(",")
            if length is None:
                length = len(toks)
            elif len(toks) != length:
                raise fail(
                    p,
                    f"channel {k} has {len(toks)} values but channel 0 has {length}; "
                    "all channels of one case must have the same length",
                    i + 1,
                )
            tokens.extend(toks)
        shapes.append((len(dims), int(length or 0)))
        labels.append(label)
    if n_dims is not None:
        if "dimensions" in meta and meta["dimensions"] != n_dims:
            raise fail(p, f"@dimensions says {meta['dimensions']} but the cases have {n_dims} channels")
        if meta.get("univariate") is True and n_dims > 1:
            raise fail(p, f"@univariate true but the cases have {n_dims} channels")
    if not labels:
        raise fail(p, "no cases after @data")
    X = _assemble(tokens, shapes, p, starts, line_nos)
    meta["has_labels"] = has_label
    if timestamps:
        meta["timestamps"] = stamps
    return _split(p, X, labels, meta)


# ----------------------------------------------------------------------------------------------- .arff
def _arff_header(lines: list[str], path: Path) -> tuple[dict[str, Any], int]:
    meta: dict[str, Any] = {"format": "arff", "relational": False}
    depth = 0
    top_level: list[str] = []
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        low = line.lower()
        if low.startswith("@data"):
            if top_level:
                last = top_level[-1]
                brace = re.search(r"\{(.*)\}", last)
                if brace:
                    meta["class_values"] = [v.strip().strip("'\"") for v in brace.group(1).split(",")]
            meta["n_attributes"] = len(top_level)
            return meta, i + 1
        if low.startswith("@relation"):
            meta["relation"] = line.split(None, 1)[1].strip().strip("'\"") if " " in line else ""
        elif low.startswith("@attribute"):
            if depth == 0:
                top_level.append(line)
            if low.split()[-1] == "relational":
                meta["relational"] = True
                depth += 1
        elif low.startswith("@end"):
            depth = max(0, depth - 1)
    raise fail(path, "no @data tag: an .arff file needs @relation/@attribute lines and then @data")


def read_arff(path: str | Path, *, unequal: bool | None = None) -> ClassificationSplit:
    """Read a UEA/UCR Weka ``.arff`` file (univariate, or the relational multivariate form).

    Univariate rows are ``v1,...,vT,label``; multivariate rows are ``'ch0\\nch1\\n...',label``
    where ``\\n`` is a literal backslash-n between the channels. ``?`` is a missing value.

    Parameters
    ----------
    path : str or Path
        The ``.arff`` file.
    unequal : bool or None
        Trailing-NaN handling (UCR/UEA pad unequal-length series with missing values at the end):
        None (default) drops trailing all-missing points per case only when some case ends in one,
        True always does, False keeps every column as written.

    Returns
    -------
    ClassificationSplit
        ``meta`` has ``relation``, ``relational`` and, when declared, ``class_values``.

    Raises
    ------
    DataFormatError
        Missing ``@data``, sparse rows, a non-numeric value, a row without a label, or a label
        outside the declared nominal set.
    """
    p = as_path(path)
    lines = read_text(p).splitlines()
    meta, start = _arff_header(lines, p)
    declared = set(meta.get("class_values", []))
    tokens: list[str] = []
    shapes: list[tuple[int, int]] = []
    labels: list[str] = []
    starts: list[int] = []
    line_nos: list[int] = []
    n_ch_first = None
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if not line or line.startswith("%"):
            continue
        if line.startswith("{"):
            raise fail(p, "sparse arff rows are not supported", i + 1)
        if meta["relational"]:
            quote = line[0]
            end = line.rfind(quote) if quote in "'\"" else -1
            if end <= 0:
                raise fail(p, "expected a quoted relational value: 'ch0\\nch1...',label", i + 1)
            channels = line[1:end].split("\\n")
            label = line[end + 1 :].strip().lstrip(",").strip()
        else:
            parts = line.split(",")
            if len(parts) < 2:
                raise fail(p, "expected values followed by ',<label>'", i + 1)
            channels, label = [",".join(parts[:-1])], parts[-1].strip()
        label = label.strip("'\"")
        if not label:
            raise fail(p, "the row has no class label after the values", i + 1)
        if declared and label not in declared:
            raise fail(p, f"label {label!r} is not in the declared class values {sorted(declared)}", i + 1)
        if n_ch_first is None:
            n_ch_first = len(channels)
        elif len(channels) != n_ch_first:
            raise fail(p, f"case has {len(channels)} channels but the first case has {n_ch_first}", i + 1)
        starts.append(len(tokens))
        line_nos.append(i + 1)
        length = None
        for k, ch in enumerate(channels):
            toks = ch.split(",")
            if length is None:
                length = len(toks)
            elif len(toks) != length:
                raise fail(p, f"channel {k} has {len(toks)} values but channel 0 has {length}", i + 1)
            tokens.extend(toks)
        shapes.append((len(channels), int(length or 0)))
        labels.append(label)
    if not labels:
        raise fail(p, "no cases after @data")
    X = _strip_trailing_nan(_assemble(tokens, shapes, p, starts, line_nos), unequal)
    return _split(p, X, labels, meta)


# ------------------------------------------------------------------------------- label-first tables
#: header names of the label column of a csv / tsv with a header row (case-insensitive)
LABEL_NAMES = ("label", "class", "target", "y")


def _is_value(token: str) -> bool:
    t = token.strip()
    return not t or t == "?" or is_float(t)


def _header(p: Path, rows: list[tuple[int, list[str]]]) -> int | None:
    """Position of the label column when the first row is a header (text above a number of the
    second row), else None (a headerless, label-first file)."""
    if len(rows) < 2:
        return None
    (_, head), (line, data) = rows[0], rows[1]
    if not any(not _is_value(h) and _is_value(d) for h, d in zip(head, data, strict=False)):
        return None
    names = [t.strip().lower() for t in head]
    named = [k for k, n in enumerate(names) if n in LABEL_NAMES]
    if len(named) == 1:
        return named[0]
    text = [k for k, t in enumerate(data) if not _is_value(t)]
    if len(text) == 1:
        return text[0]  # the one column of the first case that is not a number
    raise fail(
        p,
        f"the first row is a header ({', '.join(head[:4])}, ...) and the label column cannot be told: "
        f"name it one of {', '.join(LABEL_NAMES)}, or write the file without a header, labels first",
        line,
    )


def _read_label_first(
    path: str | Path, sep: str | None, fmt: str, normalise: bool, unequal: bool | None
) -> ClassificationSplit:
    p = as_path(path)
    lines = read_text(p).splitlines()
    tokens: list[str] = []
    shapes: list[tuple[int, int]] = []
    labels: list[str] = []
    starts: list[int] = []
    line_nos: list[int] = []
    rows = [
        (i, raw.split() if sep is None else raw.rstrip("\r\n").split(sep))
        for i, raw in enumerate(lines)
        if raw.strip()
    ]
    label_at = _header(p, rows[:2]) if sep is not None else None
    if label_at is not None:
        rows = rows[1:]
    for i, parts in rows:
        if label_at:  # a header named the label column: move it first
            parts = [parts[label_at], *parts[:label_at], *parts[label_at + 1 :]]
        if len(parts) < 2:
            raise fail(
                p, f"expected a label and at least one value separated by {sep or 'whitespace'!r}", i + 1
            )
        label = parts[0].strip()
        if not label:
            raise fail(p, "the first field (the class label) is empty", i + 1)
        labels.append(normalise_numeric_label(label) if normalise else label)
        starts.append(len(tokens))
        line_nos.append(i + 1)
        tokens.extend(parts[1:])
        shapes.append((1, len(parts) - 1))
    if not labels:
        raise fail(p, "no rows")
    X = _strip_trailing_nan(_assemble(tokens, shapes, p, starts, line_nos), unequal)
    return _split(p, X, labels, {"format": fmt})


def read_ucr_tsv(path: str | Path, *, unequal: bool | None = None) -> ClassificationSplit:
    """Read a UCR 2018 ``.tsv`` file: tab separated, first column the label, one case per row.

    Unequal-length problems are padded with trailing NaN in this format; those are dropped and a
    list is returned (see ``unequal`` in :func:`read_arff`). NaN elsewhere stays as missing.
    """
    return _read_label_first(path, "\t", "tsv", normalise=False, unequal=unequal)


def read_ucr_txt(path: str | Path, *, unequal: bool | None = None) -> ClassificationSplit:
    """Read an old UCR ``.txt`` file: whitespace separated, first column the label.

    Numeric labels written as floats are normalised (``'1.0000000e+00'`` -> ``'1'``).
    """
    return _read_label_first(path, None, "txt", normalise=True, unequal=unequal)


def read_ucr_csv(path: str | Path, *, unequal: bool | None = None) -> ClassificationSplit:
    """Read a comma-separated file, one case per row: UCR's headerless layout, first column the label
    (kept as written), or a file with a header row (as ``DataFrame.to_csv`` writes), whose label
    column is the one named ``label`` / ``class`` / ``target`` / ``y`` (any case), else the one column
    of the first case that is not a number; a header that names none of them is an error."""
    return _read_label_first(path, ",", "csv", normalise=False, unequal=unequal)


_READERS = {
    ".ts": read_ts,
    ".arff": read_arff,
    ".tsv": read_ucr_tsv,
    ".txt": read_ucr_txt,
    ".csv": read_ucr_csv,
}


def read_classification(path: str | Path) -> ClassificationSplit:
    """Read any classification file, choosing the reader from the suffix.

    ``.ts`` -> :func:`read_ts`, ``.arff`` -> :func:`read_arff`, ``.tsv`` -> :func:`read_ucr_tsv`,
    ``.txt`` -> :func:`read_ucr_txt`, ``.csv`` -> :func:`read_ucr_csv`.

    Raises
    ------
    DataFormatError
        For any other suffix.
    """
    p = as_path(path)
    reader = _READERS.get(p.suffix.lower())
    if reader is None:
        raise DataFormatError(
            f"{p}: unknown classification file suffix {p.suffix!r}; accepted: {', '.join(_READERS)}"
        )
    return reader(p)
