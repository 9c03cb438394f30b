"""JSON series to numpy arrays and back, with the request limits and the library's own input checks.

Every series is checked on its own by :func:`tinyts.data.convert.to_batch` (inf, all-missing channels,
empty or too short series), named by its id, so that a 422 says which series is wrong and why in the
words the Python API uses. Models then run on whole groups of series at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyts.serve.config import ServeConfig
from tinyts.serve.schemas import Series

UNPROCESSABLE = 422
TOO_LARGE = 413
UNAVAILABLE = 503


class RequestError(Exception):
    """A client error: answered with ``status`` and ``{"detail": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Parsed:
    """The series of a request: ids, ``(channels, time)`` float64 arrays (NaN = missing), and forms."""

    ids: list[str] = field(default_factory=list)
    arrays: list[np.ndarray] = field(default_factory=list)
    #: True where the values came as a flat list (one channel): results are flat too
    flat: list[bool] = field(default_factory=list)
    timestamps: list[list[Any] | None] = field(default_factory=list)

    def groups(self) -> list[list[int]]:
        """Indices of the series grouped by channel count (one model call per group), in order."""
        by: dict[int, list[int]] = {}
        for i, a in enumerate(self.arrays):
            by.setdefault(a.shape[0], []).append(i)
        return list(by.values())


def _label(sid: str) -> str:
    return f"series {sid!r}"


def _as_array(s: Series, config: ServeConfig) -> tuple[np.ndarray, bool]:
    values = s.values
    if len(values) == 0:
        raise RequestError(UNPROCESSABLE, f"{_label(s.id)} has no values (empty list)")
    flat = not isinstance(values[0], list)
    rows: list[Any] = [values] if flat else list(values)
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        first = len(rows[0])
        j = next(k for k, r in enumerate(rows) if len(r) != first)
        raise RequestError(
            UNPROCESSABLE,
            f"{_label(s.id)}: channel {j} has {len(rows[j])} values but channel 0 has {first}; every "
            "channel needs one value per time point (null for a missing one)",
        )
    n_values = len(rows) * len(rows[0])
    if n_values > config.max_points:
        raise RequestError(
            TOO_LARGE,
            f"{_label(s.id)} has {n_values:,} values (channels x time points); this server accepts at most "
            f"{config.max_points:,} per series (--max-points)",
        )
    # None -> NaN (missing); the dtype conversion cannot fail: pydantic let only numbers and null through
    return np.array(rows, dtype=np.float64), flat


def parse(
    series: list[Series],
    config: ServeConfig,
    *,
    min_length: int = 1,
    align: str = "left",
) -> Parsed:
    """Check a request's series against the limits and the library's input rules.

    Raises
    ------
    RequestError
        413 for too many series or values, 422 for duplicate ids, ragged channels, timestamps that do
        not match the values, or anything :func:`tinyts.data.convert.to_batch` rejects.
    """
    from tinyts.data.convert import to_batch

    if len(series) > config.max_series:
        raise RequestError(
            TOO_LARGE,
            f"the request has {len(series):,} series; this server accepts at most {config.max_series:,} "
            "per request (--max-series); split it into several requests",
        )
    out = Parsed()
    seen: set[str] = set()
    for s in series:
        if s.id in seen:
            raise RequestError(UNPROCESSABLE, f"duplicate series id {s.id!r}; ids must be unique")
        seen.add(s.id)
        arr, flat = _as_array(s, config)
        if s.timestamps is not None and len(s.timestamps) != arr.shape[1]:
            raise RequestError(
                UNPROCESSABLE,
                f"{_label(s.id)} has {len(s.timestamps)} timestamps for {arr.shape[1]} time points; give "
                "one timestamp per time point or none",
            )
        try:
            # a flat list is checked as 1-D, so messages index it as the client sent it
            to_batch(arr[0] if flat else arr, align=align, min_length=min_length, name=_label(s.id))
        except (ValueError, TypeError) as exc:
            raise RequestError(UNPROCESSABLE, str(exc)) from None
        out.ids.append(s.id)
        out.arrays.append(arr)
        out.flat.append(flat)
        out.timestamps.append(list(s.timestamps) if s.timestamps is not None else None)
    return out


def check_history(parsed: Parsed, context_length: int | None = None) -> None:
    """Forecasting needs 2 observed values per series and channel, and one among the last
    ``context_length`` points (the library's check, per series)."""
    from tinyts.data.convert import to_batch
    from tinyts.tasks.forecast import _check_history

    for sid, arr in zip(parsed.ids, parsed.arrays, strict=True):
        try:
            _check_history(to_batch(arr, align="right", name=_label(sid)), context_length)
        except ValueError as exc:
            raise RequestError(UNPROCESSABLE, f"{_label(sid)}: {exc}") from None


def future_timestamps(sid: str, stamps: list[Any], horizon: int) -> list[Any]:
    """The ``horizon`` timestamps after ``stamps`` (ISO strings or numbers), as JSON values."""
    import pandas as pd

    from tinyts.data.convert import future_timestamps as _future

    index: pd.Index
    if all(isinstance(t, str) for t in stamps):
        try:
            index = pd.DatetimeIndex(pd.to_datetime(stamps))
        except (ValueError, TypeError) as exc:
            raise RequestError(
                UNPROCESSABLE, f"{_label(sid)}: timestamps are not ISO-8601 dates or numbers ({exc})"
            ) from None
    elif any(isinstance(t, str) for t in stamps):
        raise RequestError(UNPROCESSABLE, f"{_label(sid)}: timestamps mix strings and numbers")
    else:
        index = pd.Index(stamps)
    try:
        future = _future(index, horizon)
    except ValueError as exc:
        raise RequestError(UNPROCESSABLE, f"{_label(sid)}: {exc}") from None
    if isinstance(future, pd.DatetimeIndex):
        return [t.isoformat() for t in future]
    return [v.item() if isinstance(v, np.generic) else v for v in future.tolist()]


def to_json(a: Any, flat: bool) -> list[Any]:
    """An array as nested lists (non-finite values as null); ``(1, n)`` becomes ``(n,)`` when ``flat``."""
    arr = np.asarray(a, dtype=np.float64)
    if flat and arr.ndim >= 2 and arr.shape[0] == 1:
        arr = arr[0]
    finite = np.isfinite(arr)
    if finite.all():
        out: list[Any] = arr.tolist()
        return out
    boxed = arr.astype(object)
    boxed[~finite] = None
    out = boxed.tolist()
    return out


def plain(value: Any) -> Any:
    """A numpy scalar (class label) as the Python value JSON can hold."""
    return value.item() if isinstance(value, np.generic) else value
