"""Shared pieces of the boundary suite: tiny model configs, input strategies, the oracle and the checks.

Inputs are drawn as a *description* (shape, value kind, dtype, container, seed) and built with numpy,
so that hypothesis explores and shrinks the structure (empty, length 1, 0-D, 4-D, ragged, wrong dtype,
NaN, inf, 1e30, constant ...) while the values stay varied. :func:`verdict` is the oracle: from the
input alone it says whether the library must accept it (None) or which exception class must come back.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tinyts.testing import TINY_CAST, TINY_PULSE

#: tiny random-initialised models (shapes and numerics, not skill): milliseconds per call
PULSE_TINY: dict[str, Any] = {**TINY_PULSE, "fft_patch_length": 16, "num_layers": 1, "forecast_length": 8}
CAST_TINY: dict[str, Any] = {**TINY_CAST, "coarse_horizon": 48}
CLASSES = ["down", "up"]

#: multiplies every test's max_examples (e.g. TINYTS_HARDENING_SCALE=10 for a long local run)
SCALE = float(os.environ.get("TINYTS_HARDENING_SCALE", "1"))
FLOAT32_MAX = float(np.finfo(np.float32).max)


def cases(n: int) -> settings:
    """Hypothesis settings of the suite: ``n`` examples (times the scale), reproducible, no deadline."""
    return settings(
        max_examples=max(1, round(n * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


# ----------------------------------------------------------------------------------------- values

#: how a series' values look: valid kinds, and the invalid ones that are the point of the suite
VALID_KINDS = ("smooth", "smooth", "noise", "constant", "nan_some", "nan_some", "one_observed", "huge")
VALID_KINDS = (*VALID_KINDS, "mixed_huge", "tiny")
BAD_KINDS = ("nan_channel", "inf", "beyond_float32")
KINDS = VALID_KINDS + BAD_KINDS
#: numeric dtypes the library accepts, and the ones it must refuse with a TypeError
VALID_DTYPES = ("float64", "float64", "float64", "float32", "float16", "int64", "int8", "uint8")
BAD_DTYPES = ("bool", "complex128", "str", "object", "datetime64")
DTYPES = VALID_DTYPES + BAD_DTYPES
#: what is wrong with a drawn array (about half have nothing wrong)
FAULTS = ("none", "none", "none", "none", "dtype", "shape", "values", "any")


def make_values(shape: tuple[int, ...], kind: str, seed: int) -> np.ndarray:
    """Float64 values of ``shape`` (time last) of one :data:`KINDS`."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape)) if shape else 1
    t = shape[-1] if shape else 1
    base = np.sin(np.arange(t) / (2.0 + rng.uniform(0, 8))) * rng.uniform(0.1, 100) + rng.uniform(-50, 50)
    x = np.broadcast_to(base, shape).copy() if shape else np.array(base[0])
    if kind == "noise":
        x = rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 4)
    elif kind == "constant":
        x = np.full(shape, float(rng.choice([0.0, 1.0, -7.5, 1e6])))
    elif kind == "tiny":
        x = x * 1e-30
    elif kind in ("huge", "mixed_huge") and n:
        x = x * 1e30 if kind == "huge" else np.where(rng.random(shape) < 0.3, 1e30, x)
    if n == 0 or not shape:
        return np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1)  # a view of the copy
    if kind == "nan_some":
        flat[rng.random(n) < 0.3] = np.nan
    elif kind == "nan_channel":
        rows = x.reshape(-1, t)
        rows[rng.integers(0, rows.shape[0])] = np.nan
    elif kind == "one_observed":
        rows = x.reshape(-1, t)
        keep = rng.integers(0, t, size=rows.shape[0])
        mask = np.ones(rows.shape, dtype=bool)
        mask[np.arange(rows.shape[0]), keep] = False
        rows[mask] = np.nan
    elif kind == "inf":
        flat[rng.integers(0, n)] = rng.choice([np.inf, -np.inf])
    elif kind == "beyond_float32":
        flat[rng.integers(0, n)] = 1e300
    return x


def cast_values(x: np.ndarray, dtype: str) -> np.ndarray:
    """``x`` in ``dtype``; integer casts replace non-finite values and clip to the type's range."""
    if dtype in ("float64", "float32", "float16"):
        with np.errstate(over="ignore"):
            return x.astype(dtype)
    if dtype in ("int64", "int8", "uint8"):
        info = np.iinfo(dtype)
        lo, hi = (-9e18, 9e18) if dtype == "int64" else (info.min, info.max)
        return np.rint(np.clip(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0), lo, hi)).astype(dtype)
    if dtype == "bool":
        return x > 0
    if dtype == "complex128":
        return x + 1j
    if dtype == "str":
        return x.astype(str)
    if dtype == "object":
        return x.astype(object)
    return np.zeros(x.shape, dtype="datetime64[s]")


@st.composite
def shapes(draw: st.DrawFn, ndims: tuple[int, ...], max_time: int, valid: bool = False) -> tuple:
    """An array shape (time last); ``valid`` keeps 1-3 dimensions and no empty axis."""
    ndim = draw(st.sampled_from([d for d in ndims if 1 <= d <= 3] if valid else ndims))
    # hypothesis favours the first branch and element in simple examples: typical values first
    time = draw(st.one_of(st.integers(8, max_time), st.sampled_from([64, 65, 3, 2, 1])))
    channels = draw(st.sampled_from([1, 1, 2, 3]))
    batch = draw(st.sampled_from([1, 2, 3]))
    if not valid and draw(st.booleans()):  # an empty axis
        axis = draw(st.sampled_from(["time", "channels", "batch"]))
        time, channels, batch = (
            0 if axis == a else v
            for a, v in zip(("time", "channels", "batch"), (time, channels, batch), strict=True)
        )
    return {
        0: (),
        1: (time,),
        2: (channels, time),
        3: (batch, channels, time),
        4: (2, batch, channels, time),
    }[ndim]


@st.composite
def arrays(
    draw: st.DrawFn,
    ndims: tuple[int, ...] = (0, 1, 1, 2, 2, 3, 3, 4),
    max_time: int = 150,
    torch_ok: bool = True,
) -> Any:
    """One array input: numpy (or a torch tensor); about half are valid, the rest have one fault
    (dtype, shape or values) or any mix."""
    fault = draw(st.sampled_from(FAULTS))
    shape = draw(shapes(ndims, max_time, valid=fault not in ("shape", "any")))
    kind = draw(st.sampled_from(BAD_KINDS if fault == "values" else KINDS if fault == "any" else VALID_KINDS))
    dtype = draw(
        st.sampled_from(BAD_DTYPES if fault == "dtype" else DTYPES if fault == "any" else VALID_DTYPES)
    )
    x = cast_values(make_values(shape, kind, draw(st.integers(0, 2**16))), dtype)
    if torch_ok and dtype in ("float64", "float32", "int64", "bool") and draw(st.booleans()):
        return torch.from_numpy(np.ascontiguousarray(x))
    return x


@st.composite
def ragged(draw: st.DrawFn, max_time: int = 150, max_items: int = 4) -> Any:
    """A list of 1-D / 2-D arrays of unequal lengths (about half valid), or a nested Python list."""
    n = draw(st.integers(0, max_items))
    if draw(st.integers(0, 4)) == 0:  # nested Python lists (ragged ones cannot become an array)
        return [make_values((draw(st.integers(0, 6)),), "smooth", i).tolist() for i in range(n)]
    fault = draw(st.sampled_from(FAULTS))
    channels = draw(st.sampled_from([None, 1, 2]))
    items = []
    for i in range(n):
        faulty = fault != "none" and draw(st.booleans())
        t = draw(
            st.one_of(st.integers(1, max_time), st.sampled_from([70, 2, 1, 0] if faulty else [70, 3, 2]))
        )
        c = channels if channels is not None and not faulty else draw(st.sampled_from([None, 1, 2]))
        kind = draw(st.sampled_from(KINDS if faulty else VALID_KINDS))
        dtype = draw(st.sampled_from(DTYPES if faulty else VALID_DTYPES))
        x = cast_values(
            make_values((t,) if c is None else (c, t), kind, draw(st.integers(0, 2**16)) + i), dtype
        )
        if dtype in ("float64", "float32") and draw(st.integers(0, 5)) == 0:
            x = torch.from_numpy(np.ascontiguousarray(x))
        items.append(x)
    return items


def series_inputs(
    max_time: int = 150, ndims: tuple[int, ...] = (0, 1, 1, 2, 2, 3, 3, 4), max_items: int = 4
) -> Any:
    """Everything a task's ``x`` may be given: arrays, tensors, ragged lists, nested lists."""
    return st.one_of(arrays(ndims, max_time), arrays(ndims, max_time), ragged(max_time, max_items))


# ----------------------------------------------------------------------------------------- oracle


def _dtype_error(a: Any) -> type[Exception] | None:
    if isinstance(a, torch.Tensor):
        return TypeError if a.dtype == torch.bool or a.is_complex() else None
    kind = np.asarray(a).dtype.kind
    return None if kind in "iuf" else TypeError


def _as_np(a: Any) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def _rows_error(rows: np.ndarray, min_length: int, min_observed: int) -> type[Exception] | None:
    """``(n, c, t)`` numeric rows: length, inf, beyond float32, all-missing, too few observed."""
    if rows.shape[-1] < min_length or rows.size == 0:
        return ValueError
    if rows.dtype.kind == "f":
        v = rows.astype(np.float64)
        if np.isinf(v).any() or (np.abs(np.nan_to_num(v)) > FLOAT32_MAX).any():
            return ValueError
        observed = (~np.isnan(v)).sum(axis=-1)
    else:
        observed = np.full(rows.shape[:-1], rows.shape[-1])
    return ValueError if (observed < max(1, min_observed)).any() else None


def verdict(x: Any, *, min_length: int = 1, min_observed: int = 1) -> type[Exception] | None:
    """What :func:`tinyts.data.convert.arrays.to_batch` (plus a task's minimum counts) must do with ``x``.

    Returns None when ``x`` must be accepted, else the exception class it must raise.
    """
    if is_item_list(x):
        arrays_: list[np.ndarray] = []
        for el in x:
            if not isinstance(el, (np.ndarray, torch.Tensor)):
                el = np.asarray(el)
            err = _dtype_error(el)
            if err:
                return err
            a = _as_np(el)
            if a.ndim not in (1, 2):
                return ValueError
            arrays_.append(a[None] if a.ndim == 1 else a)
        if len({a.shape[0] for a in arrays_}) > 1 or arrays_[0].shape[0] == 0:
            return ValueError
        for a in arrays_:
            err = _rows_error(a[None], min_length, min_observed)
            if err:
                return err
        return None
    if not isinstance(x, torch.Tensor):
        try:
            np.asarray(x)
        except ValueError:
            return ValueError  # a ragged nested list
    err = _dtype_error(x)
    if err:
        return err
    arr = _as_np(x)
    if arr.ndim == 0 or arr.ndim > 3 or arr.size == 0:
        return ValueError
    return _rows_error(arr.reshape((1,) * (3 - arr.ndim) + arr.shape), min_length, min_observed)


def is_item_list(x: Any) -> bool:
    """A list of arrays (one series each), as opposed to a nested list that is one array."""
    return isinstance(x, (list, tuple)) and any(isinstance(el, (np.ndarray, torch.Tensor)) for el in x)


def forecast_verdict(x: Any, context_length: int) -> type[Exception] | None:
    """:func:`verdict` for forecasting: 2 observed values per series and channel, and one among the
    last ``context_length`` points of each (the window the model reads)."""
    err = verdict(x, min_observed=2)
    if err is not None:
        return err
    items = list(x) if is_item_list(x) else [x]
    for a in items:
        v = _as_np(a)
        if v.dtype.kind == "f" and np.isnan(v[..., -context_length:].astype(np.float64)).all(axis=-1).any():
            return ValueError
    return None


def n_series(x: Any) -> int:
    """Series in a valid input (1 for 1-D and 2-D)."""
    if is_item_list(x):
        return len(x)
    return int(_as_np(x).shape[0]) if _as_np(x).ndim == 3 else 1


def n_channels(x: Any) -> int:
    a = _as_np(x[0]) if is_item_list(x) else _as_np(x)
    return 1 if a.ndim == 1 else int(a.shape[-2])


def n_time(x: Any) -> int:
    """Time points of a valid one-series input."""
    return int(_as_np(x[0] if is_item_list(x) else x).shape[-1])


# ----------------------------------------------------------------------------------------- checks

#: messages that leak from numpy / torch internals instead of telling the user what to do
RAW_MESSAGES = (
    "ufunc",
    "broadcast",
    "index out of bounds",
    "out of range",
    "object of type",
    "not subscriptable",
    "unsupported operand",
    "zero-size array",
    "could not convert",
    "must be real number, not",
)


def check_clear_error(exc: BaseException, expected: type[Exception] | None = None) -> None:
    """A user-facing error: ValueError/TypeError (or ``expected``) with a message that explains."""
    assert isinstance(exc, (ValueError, TypeError)), f"{type(exc).__name__}: {exc}"
    if expected is not None:
        assert isinstance(exc, expected), f"expected {expected.__name__}, got {type(exc).__name__}: {exc}"
    msg = str(exc)
    assert len(msg) >= 25, f"terse message: {msg!r}"
    assert not any(raw in msg for raw in RAW_MESSAGES), f"internal message leaked: {msg!r}"


def outcome(
    fn: Callable[[], Any], expected: type[Exception] | None, *, strict_type: bool = True
) -> tuple[str, Any]:
    """Run ``fn``; a valid input (``expected`` None) must succeed, an invalid one raise clearly.

    Returns ``("ok", result)`` or ``("error", exception)``.
    """
    try:
        result = fn()
    except (ValueError, TypeError) as exc:
        assert expected is not None, f"a valid input was refused: {type(exc).__name__}: {exc}"
        check_clear_error(exc, expected if strict_type else None)
        return "error", exc
    assert expected is None, f"an invalid input was accepted (expected {expected.__name__})"
    return "ok", result


def as_numpy(y: Any) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        t = y.detach().cpu()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    return np.asarray(y)


def assert_finite(y: Any, what: str) -> None:
    arr = as_numpy(y).astype(np.float64)
    assert np.isfinite(arr).all(), f"{what}: {int((~np.isfinite(arr)).sum())} non-finite value(s)"


def assert_observed_kept(x: Any, out: Any) -> None:
    """Imputation contract: same shape, every observed input value back exactly, nothing missing."""
    if is_item_list(x):
        assert isinstance(out, list) and len(out) == len(x)
        pairs = list(zip(x, out, strict=True))
        backend_torch = all(isinstance(a, torch.Tensor) for a in x)  # torch out only for all-torch lists
    else:
        pairs, backend_torch = [(x, out)], isinstance(x, torch.Tensor)
    for a, b in pairs:
        assert tuple(b.shape) == tuple(_as_np(a).shape)
        assert isinstance(b, torch.Tensor) == backend_torch
        assert_same_where_observed(a, b)


def assert_same_where_observed(x: Any, out: Any) -> None:
    """``out`` is finite and equals ``x`` at every non-NaN point of ``x``, exactly in ``out``'s dtype.

    (Integer tensors come back as float32, the documented output dtype, so huge integers are
    compared after the same cast.)
    """
    yo = as_numpy(out)
    assert_finite(yo, "output values")
    xi = as_numpy(x)
    if xi.dtype.kind != "f":
        xi = xi.astype(yo.dtype)
    seen = ~np.isnan(xi.astype(np.float64))
    np.testing.assert_array_equal(yo.astype(np.float64)[seen], xi.astype(yo.dtype).astype(np.float64)[seen])


def frame_of(arrays_: list[np.ndarray], *, time: str = "datetime", shuffle: int | None = 0) -> pd.DataFrame:
    """A long frame (unique_id, ds, y / y0, y1, ...) from ``(channels, length)`` arrays."""
    parts = []
    for i, a in enumerate(arrays_):
        n = a.shape[-1]
        ds: Any = pd.date_range("2024-01-01", periods=n, freq="h") if time == "datetime" else np.arange(n)
        part = pd.DataFrame({"unique_id": f"s{i}", "ds": ds})
        for c in range(a.shape[0]):
            part["y" if a.shape[0] == 1 else f"y{c}"] = a[c]
        parts.append(part)
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["unique_id", "ds", "y"])
    if shuffle is not None and len(df):
        df = df.sample(frac=1.0, random_state=shuffle)
    return df


# ------------------------------------------------------------------------------------- DataFrames

#: at most one damage per frame; about half the frames have none
DAMAGE = (
    *["none"] * 12,
    "y_object",
    "y_str",
    "y_bool",
    "y_complex",
    "time_str",
    "time_bool",
    "time_nan",
    "missing_col",
    "dup_row",
    "nan_id",
    "empty",
    "not_a_frame",
)
TARGET_DTYPES = ("float64", "float64", "float64", "float32", "Int64", "int64")
FRAME_KINDS = ("smooth", "smooth", "smooth", "nan_some", "nan_some", "nan_channel", "one_observed", "inf")
FRAME_KINDS = (*FRAME_KINDS, "huge", "constant")


@st.composite
def frames(draw: st.DrawFn, max_len: int = 90) -> tuple[Any, type[Exception] | None, list[np.ndarray]]:
    """A long frame of 1-3 series (rows shuffled), possibly damaged: ``(df, forced, arrays)``.

    ``arrays`` are the ``(1, length)`` target values of each series as the frame holds them;
    ``forced`` is the exception class a damage (bad dtype, bad time column, missing column, duplicate
    row, missing id, no rows, not a DataFrame) must cause, else None -- then the verdict is
    ``verdict(arrays, ...)`` with the task's minimum counts.
    """
    n = draw(st.integers(1, 3))
    sizes = st.one_of(st.integers(4, max_len), st.integers(4, max_len), st.sampled_from([3, 2, 1]))
    lengths = [draw(sizes) for _ in range(n)]
    kind = draw(st.sampled_from(FRAME_KINDS))
    arrays = [make_values((1, t), kind, draw(st.integers(0, 999)) + i) for i, t in enumerate(lengths)]
    dtype, damage = draw(st.sampled_from(TARGET_DTYPES)), draw(st.sampled_from(DAMAGE))
    df = frame_of(arrays, time=draw(st.sampled_from(["datetime", "datetime", "int"])), shuffle=None)
    forced: type[Exception] | None = None
    if dtype in ("Int64", "int64"):
        y = df["y"].to_numpy()
        if not np.isinf(y).any() and np.abs(np.nan_to_num(y)).max() <= 9e18:  # else: keep floats
            df["y"] = np.rint(y)
            if dtype == "Int64":
                df["y"] = df["y"].astype("Int64")
                arrays = [np.rint(a) for a in arrays]
            else:
                df["y"] = df["y"].fillna(0).astype("int64")
                arrays = [np.nan_to_num(np.rint(a)) for a in arrays]
    elif dtype == "float32":
        df["y"] = df["y"].astype(np.float32)
        arrays = [a.astype(np.float32) for a in arrays]
    if damage.startswith("y_"):
        target = {"y_object": object, "y_str": str, "y_bool": bool, "y_complex": np.complex128}[damage]
        df["y"] = pd.Series(df["y"].to_numpy(np.float64, na_value=np.nan), index=df.index).astype(target)
        forced = TypeError
    elif damage == "time_str":
        df["ds"] = df["ds"].astype(str)
        forced = TypeError
    elif damage == "time_bool":
        df["ds"] = np.arange(len(df)) % 2 == 0
        forced = TypeError
    elif damage == "time_nan":
        df["ds"] = np.arange(len(df), dtype=np.float64)
        df.iloc[0, df.columns.get_loc("ds")] = np.nan
        forced = ValueError
    elif damage == "missing_col":
        df = df.drop(columns=["ds"])
        forced = ValueError
    elif damage == "dup_row":
        df = pd.concat([df, df.iloc[:1]])
        forced = ValueError
    elif damage == "nan_id":
        df["unique_id"] = df["unique_id"].astype(object)
        df.iloc[-1, df.columns.get_loc("unique_id")] = None
        forced = ValueError
    elif damage == "empty":
        df = df.iloc[:0]
        forced = ValueError
    df = df.sample(frac=1.0, random_state=draw(st.integers(0, 9)))
    df.index = pd.Index(np.arange(len(df)) * 3 + 7)  # a non-default index: it must come back as is
    if damage == "not_a_frame":
        return df.to_numpy(), TypeError, arrays
    return df, forced, arrays
