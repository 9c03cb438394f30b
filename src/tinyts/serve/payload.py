"""JSON series to numpy arrays and back, with the request limits and the library's own input checks.

Every series is checked on its own by :func:`tinyts.data.convert.arrays.to_batch` (inf, all-missing channels,
empty or too short series), named by its id, so that a 422 says which series is wrong and why in the
words the Python API uses. Models then run on whole groups of series at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyts.errors import IrregularStepError, TinytsError
from tinyts.serve.config import ServeConfig
from tinyts.serve.schemas import Series

UNPROCESSABLE = 422
TOO_LARGE = 413
UNAVAILABLE = 503


class RequestError(TinytsError):
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
        not match the values, or anything :func:`tinyts.data.convert.arrays.to_batch` rejects.
    """
    from tinyts.data.convert.arrays import to_batch

    if len(series) > config.max_series:
        raise RequestError(
            TOO_LARGE,
            f"the request has {len(series):,} series; this server accepts at most {config.max_series:,} "
            "per request (--max-series); split it into several requests",
        )
    check_request_values(series, config)
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


def _n_values(values: list[Any]) -> int:
    return sum(len(r) for r in values) if values and isinstance(values[0], list) else len(values)


def check_request_values(series: list[Series], config: ServeConfig) -> None:
    """The exact count of values and timestamps of a request against ``max_request_values``.

    Raises
    ------
    RequestError
        413 when the request holds more than ``config.max_request_values`` of them.
    """
    total = sum(_n_values(s.values) + len(s.timestamps or ()) for s in series)
    if total > config.max_request_values:
        raise RequestError(TOO_LARGE, too_many_values(f"{total:,}", config.max_request_values))


def too_many_values(count: str, limit: int) -> str:
    """The message of a request over ``max_request_values`` (``count`` may be "more than N")."""
    return (
        f"the request holds {count} values and timestamps (all series together); this server accepts "
        f"at most {limit:,} per request (--max-request-values); split it into several requests"
    )


def check_output(n_out: int, config: ServeConfig, what: str) -> None:
    """Refuse, before the model runs, a response of more than ``max_output_values`` numbers.

    Raises
    ------
    RequestError
        413 naming the count, the limit, the option that changes it and what makes the answer smaller.
    """
    if n_out > config.max_output_values:
        raise RequestError(
            TOO_LARGE,
            f"the answer would hold {n_out:,} numbers ({what}); this server returns at most "
            f"{config.max_output_values:,} per request (--max-output-values); ask for less per request",
        )


def check_history(parsed: Parsed, context_length: int | None = None) -> None:
    """Forecasting needs 2 observed values per series and channel, and one among the last
    ``context_length`` points (the library's check, per series)."""
    from tinyts.data.convert.arrays import to_batch
    from tinyts.tasks.forecast.api import check_history

    for sid, arr in zip(parsed.ids, parsed.arrays, strict=True):
        try:
            check_history(to_batch(arr, align="right", name=_label(sid)), context_length)
        except ValueError as exc:
            raise RequestError(UNPROCESSABLE, f"{_label(sid)}: {exc}") from None


def future_timestamps(sid: str, stamps: list[Any], horizon: int) -> list[Any]:
    """The ``horizon`` timestamps after ``stamps`` (ISO strings or numbers), as JSON values."""
    import pandas as pd

    from tinyts.data.convert.arrays import future_timestamps as _future

    out_of_bounds = (OverflowError, pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta)
    index: pd.Index
    if all(isinstance(t, str) for t in stamps):
        try:
            index = pd.DatetimeIndex(pd.to_datetime(stamps))
        except (ValueError, TypeError, OverflowError) as exc:
            raise RequestError(
                UNPROCESSABLE, f"{_label(sid)}: timestamps are not ISO-8601 dates or numbers ({exc})"
            ) from None
    elif any(isinstance(t, str) for t in stamps):
        raise RequestError(UNPROCESSABLE, f"{_label(sid)}: timestamps mix strings and numbers")
    else:
        index = pd.Index(stamps)
    beyond = (
        f"{_label(sid)}: the {horizon:,} timestamps after {stamps[-1]!r} fall outside the range of "
        "representable {what}; use a shorter horizon, or leave the timestamps out"
    )
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
            future = _future(index, horizon)
    except out_of_bounds as exc:  # dates beyond 2262 / before 1677 in pandas
        raise RequestError(UNPROCESSABLE, beyond.format(what=f"timestamps ({exc})")) from None
    except IrregularStepError:  # the library's advice (freq=, --freq) is not the service's
        raise RequestError(
            UNPROCESSABLE,
            f"{_label(sid)}: the timestamps are not evenly spaced, so the future ones cannot be "
            "inferred; send one value per time step (null for a missing one), or leave the "
            "timestamps out",
        ) from None
    except ValueError as exc:
        raise RequestError(UNPROCESSABLE, f"{_label(sid)}: {exc}") from None
    # a step that overflows int64 silently wraps around to the past, and numbers overflow to inf:
    # the future must run on, strictly increasing, from the last timestamp
    if isinstance(future, pd.DatetimeIndex):
        stamps_ok = len(future) == horizon and future[0] > index[-1] and future.is_monotonic_increasing
        if not (stamps_ok and future.is_unique):
            raise RequestError(UNPROCESSABLE, beyond.format(what="dates (pandas ends at 2262-04-11)"))
        return [t.isoformat() for t in future]
    out = [v.item() if isinstance(v, np.generic) else v for v in future.tolist()]
    numbers = np.asarray(out, dtype=np.float64) if all(isinstance(v, (int, float)) for v in out) else None
    last = float(stamps[-1]) if numbers is not None else 0.0
    if numbers is not None and not (
        np.isfinite(numbers).all() and numbers[0] > last and (np.diff(numbers) > 0).all()
    ):
        raise RequestError(UNPROCESSABLE, beyond.format(what="numbers (float64)"))
    return out


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
