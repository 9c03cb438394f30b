"""Private helpers shared by the file readers in :mod:`tinyts.data.io.ltsf` (errors, text, numbers)."""

from __future__ import annotations

import bisect
import io
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tinyts.errors import DataFormatError

#: Tokens read as a missing value in the text formats (besides the empty token).
MISSING_TOKENS = ("?",)

#: Folder names that mark a known anomaly family, matched as a prefix of the folder name.
KNOWN_FAMILIES = ("TSB-AD-U", "TSB-AD-M", "NAB", "SMAP_MSL", "UCR_Anomaly", "TSB-UAD", "MITDB")


def fail(path: str | Path, problem: str, line: int | None = None) -> DataFormatError:
    """Build a :class:`DataFormatError` that names the file (and the 1-based line when known)."""
    where = f"{path}" if line is None else f"{path}, line {line}"
    return DataFormatError(f"{where}: {problem}")


def as_path(path: str | Path, what: str = "path") -> Path:
    """Check the argument type and that the file exists; return it as a :class:`Path`."""
    if not isinstance(path, (str, Path)):
        raise TypeError(f"{what} must be a str or pathlib.Path, got {type(path).__name__}")
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} {p} does not exist or is not a file")
    return p


#: binary table formats users bring, by file signature: what to say instead of "not UTF-8"
_BINARY_TABLES = (
    (b"PAR1", "a Parquet file", "pandas.read_parquet"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook?)", "pandas.read_excel"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook", "pandas.read_excel"),
    (b"ARROW1", "an Arrow / Feather file", "pandas.read_feather"),
    (b"\x89HDF", "an HDF5 file", "pandas.read_hdf"),
)


def read_text(path: Path) -> str:
    """Read a whole text file as UTF-8 (a leading byte-order mark is dropped); empty files are errors."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        with path.open("rb") as fh:
            head = fh.read(8)
        for magic, what, reader in _BINARY_TABLES:
            if head.startswith(magic):
                raise fail(
                    path,
                    f"is {what}, not a text file; tinyts reads csv: convert it first, e.g. "
                    f"{reader}(path).to_csv('data.csv', index=False)",
                ) from exc
        raise fail(
            path, f"not a UTF-8 text file ({exc.reason} at byte {exc.start}); save it as UTF-8 csv"
        ) from exc
    if not text.strip():
        raise fail(path, "the file is empty")
    return text


def first_line(path: Path, max_bytes: int = 65536) -> str:
    """The first non-empty line of a text file ('' when unreadable or empty), for cheap sniffing."""
    try:
        with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
            for _ in range(50):
                line = fh.readline(max_bytes)
                if not line:
                    return ""
                if line.strip():
                    return line.rstrip("\r\n")
    except OSError:
        return ""
    return ""


def is_float(token: str) -> bool:
    """Whether ``token`` parses as a float (``'nan'`` counts, ``'?'`` does not)."""
    try:
        float(token)
    except ValueError:
        return False
    return True


def to_floats(tokens: list[str], path: Path, starts: Sequence[int], lines: Sequence[int]) -> np.ndarray:
    """Convert tokens to float64 in one call; on failure name the first bad token and its line.

    ``starts[i]`` is the index of the first token that comes from file line ``lines[i]``.
    Missing-value tokens (``?`` and the empty string) become NaN.
    """
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        pass
    clean = ["nan" if (t.strip() == "" or t.strip() in MISSING_TOKENS) else t for t in tokens]
    try:
        return np.array(clean, dtype=np.float64)
    except ValueError:
        for i, tok in enumerate(clean):
            if not is_float(tok):
                k = bisect.bisect_right(list(starts), i) - 1
                line = lines[k] if k >= 0 else None
                raise fail(path, f"non-numeric value {tok.strip()!r}", line) from None
        raise  # pragma: no cover - np.array failed but every token parses


def check_field_counts(text: str, sep: str, path: Path, first_line_no: int = 1) -> int:
    """Check every non-empty line of a delimited table has the first line's number of fields.

    A fast global count is tried first; the per-line scan that names the line runs only when it
    fails. Quoted files are left to pandas (a quoted separator is not a field break). Returns the
    number of fields.
    """
    head, _, _ = text.partition("\n")
    n_fields = head.count(sep) + 1
    if '"' in text:
        return n_fields
    lines = text.splitlines()
    n_nonempty = len(lines) - sum(1 for line in lines if not line.strip())
    if text.count(sep) == (n_fields - 1) * n_nonempty:
        return n_fields
    for i, line in enumerate(lines):
        if line.strip() and line.count(sep) + 1 != n_fields:
            got = line.count(sep) + 1
            raise fail(
                path, f"expected {n_fields} fields (as on the first line), found {got}", i + first_line_no
            )
    return n_fields  # pragma: no cover - the counts disagree only when some line differs


def numeric_columns(df: pd.DataFrame, path: Path, header_lines: int = 1) -> np.ndarray:
    """The frame as float64 ``(rows, columns)``; a non-numeric cell raises naming its line and column."""
    for col in df.columns:
        if not (pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col])):
            raw = df[col]
            num = pd.to_numeric(raw, errors="coerce")
            bad = num.isna() & raw.notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise fail(
                    path, f"non-numeric value {raw.iloc[row]!r} in column {col!r}", row + 1 + header_lines
                )
            df[col] = num
    return df.to_numpy(dtype=np.float64)


def labels_01(raw: np.ndarray, path: Path, header_lines: int, column: str) -> np.ndarray:
    """Anomaly labels as int8 0/1; anything else (NaN, 2, 0.5, text) raises naming the line."""
    num = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=np.float64)
    ok = (num == 0.0) | (num == 1.0)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise fail(
            path, f"label column {column!r} must hold 0 or 1, found {raw[row]!r}", row + 1 + header_lines
        )
    return num.astype(np.int8)


def read_table(path: Path, header: bool, sep: str = ",") -> pd.DataFrame:
    """Read a delimited table with pandas after the field-count check, wrapping parser errors."""
    text = read_text(path)
    check_field_counts(text, sep, path)
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, header=0 if header else None, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise fail(path, f"cannot parse as a {'headed' if header else 'headerless'} table: {exc}") from exc


def family_from_folder(folder: str) -> str:
    """Map a folder name to a known anomaly family (prefix match), else return the folder name."""
    for fam in KNOWN_FAMILIES:
        if folder == fam or folder.startswith(fam + "_") or folder.startswith(fam + "-"):
            return fam
    return folder


def split_name(stem: str) -> str:
    """Problem name from a file stem: ``GunPoint_TRAIN`` -> ``GunPoint``."""
    return re.sub(r"_(TRAIN|TEST)$", "", stem, flags=re.IGNORECASE)


def normalise_numeric_label(label: str) -> str:
    """``'1.0000000e+00'`` -> ``'1'``; a non-integral number keeps its float form; text stays as is."""
    try:
        value = float(label)
    except ValueError:
        return label
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(value)
