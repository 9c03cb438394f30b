"""Boundary properties of the HTTP service: any JSON body gives 200 with finite results, or 413/422.

Bodies are sent as raw JSON text (``json.dumps`` writes ``NaN`` and ``Infinity`` tokens, which the
server's parser reads, and escapes lone surrogates as ``\\ud800``), so non-finite numbers and invalid
strings reach the service as a client could send them. The TestClient re-raises any server-side
exception, so a crash (HTTP 500) fails the test with its traceback. Drawn faults include duplicate
quantile levels, options of the wrong JSON type, lone surrogates, future timestamps beyond what pandas
or float64 can hold, and requests or answers over the size limits.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hardening_checks import CAST_TINY, CLASSES, cases, forecast_verdict, make_values, verdict
from hypothesis import given
from hypothesis import strategies as st

from tinyts.models.cast import TinyCast
from tinyts.models.pulse import TinyPulse
from tinyts.serve import ServeConfig, create_app
from tinyts.tasks.classify.api import PulseClassifier
from tinyts.tasks.pulse.embed import embedding_dim

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from fastapi.testclient import TestClient

Tally = Callable[[str], None]
MAX_SERIES, MAX_POINTS, MAX_HORIZON = 4, 400, 64
#: values + timestamps per request, and numbers per answer (forecast and embed can exceed them)
MAX_REQUEST_VALUES, MAX_OUTPUT_VALUES = 1000, 2000
#: route -> (minimum time points, minimum observed values per channel)
ROUTES = {
    "/v1/impute": (1, 1),
    "/v1/detect": (2, 1),
    "/v1/embed": (2, 1),
    "/v1/forecast": (1, 2),
    "/v1/classify": (1, 1),
}
JUNK = ("a", True, [1.0], {"v": 1})
#: the last timestamp pandas can hold (nanoseconds since 1970 in an int64)
PANDAS_END = dt.datetime(2262, 4, 11, 23, 47, 16)
LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@pytest.fixture(scope="module")
def client(
    tiny_pulse: TinyPulse, tiny_cast: TinyCast, tiny_classifier: PulseClassifier
) -> Iterator[TestClient]:
    config = ServeConfig(
        pulse=tiny_pulse,
        cast=tiny_cast,
        classifier=tiny_classifier,
        max_series=MAX_SERIES,
        max_points=MAX_POINTS,
        max_horizon=MAX_HORIZON,
        max_request_values=MAX_REQUEST_VALUES,
        max_output_values=MAX_OUTPUT_VALUES,
    )
    with TestClient(create_app(config)) as c:
        yield c


@st.composite
def series_json(draw: st.DrawFn, i: int, clean: bool) -> tuple[dict[str, Any], bool, np.ndarray | None]:
    """One series object, whether its shape is well formed, and its values (NaN = null) if so.

    ``clean`` series are well formed with valid values (the route may still refuse them).
    """
    flat = draw(st.booleans())
    channels = 1 if flat else draw(st.sampled_from([1, 2, 3] if clean else [1, 2, 3, 0]))
    length = draw(
        st.integers(2, 120) if clean else st.one_of(st.integers(2, 150), st.sampled_from([1, 0, 200]))
    )
    kinds = ["smooth", "smooth", "nan_some", "huge", "constant"]
    kind = draw(st.sampled_from(kinds if clean else [*kinds, "one_observed", "inf"]))
    values = make_values((max(channels, 1), length), kind, draw(st.integers(0, 999)) + i)
    rows: list[list[Any]] = [[None if math.isnan(v) else float(v) for v in row] for row in values]
    faults = ["none", "none", "none", "junk", "ragged", "beyond", "nan_token", "surrogate"]
    fault = draw(st.sampled_from(["none", "nan_token"] if clean else faults))
    ok = True
    if fault == "junk" and length:
        rows[0][draw(st.integers(0, length - 1))] = draw(st.sampled_from(JUNK))
        ok = False
    elif fault == "ragged" and channels > 1:
        rows[1] = rows[1][:-1]
        ok = False
    elif fault == "beyond" and length:
        rows[0][0] = 1e300  # valid JSON, beyond float32: a clear 422
        values[0, 0] = 1e300
    elif fault == "nan_token" and length:
        rows[0][-1] = float("nan")  # the NaN token: missing, like null
        values[0, -1] = np.nan
    body: dict[str, Any] = {"id": f"s{i}", "values": rows[0] if flat else rows[:channels]}
    if fault == "surrogate":  # a lone UTF-16 surrogate: not a valid string
        body["id"] = f"s{i}" + chr(draw(st.integers(0xD800, 0xDFFF)))
        ok = False
    if draw(st.integers(0, 3)) == 0:
        n_stamps = length + draw(st.sampled_from([0] if clean else [0, 0, 1]))
        body["timestamps"] = [f"2024-01-01T{h // 60:02d}:{h % 60:02d}:00" for h in range(n_stamps)]
        ok = ok and n_stamps == length
    if channels == 0:
        values = values[:0]
    return body, ok, values if ok else None


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, dict[str, Any], bool]:
    """A route, a body, and whether the oracle expects 200."""
    route = draw(st.sampled_from(list(ROUTES)))
    clean = draw(st.booleans())
    n = draw(st.sampled_from([1, 1, 2, 3] if clean else [1, 2, 3, 0, MAX_SERIES + 1]))
    drawn = [draw(series_json(i, clean)) for i in range(n)]
    body: dict[str, Any] = {"series": [d[0] for d in drawn]}
    min_length, min_observed = ROUTES[route]
    ok = 1 <= n <= MAX_SERIES
    for _, well_formed, values in drawn:
        ok = ok and well_formed and values is not None and values.size <= MAX_POINTS
        if ok and values is not None and route == "/v1/forecast":
            ok = forecast_verdict(values, CAST_TINY["context_length"]) is None
        elif ok and values is not None:
            ok = verdict(values, min_length=min_length, min_observed=min_observed) is None
            if route == "/v1/classify":
                ok = ok and values.shape[0] == 1  # the classifier was fitted on one channel
    if n > 1 and not clean and draw(st.integers(0, 3)) == 0:
        body["series"][1]["id"] = body["series"][0]["id"]  # duplicate ids
        ok = False
    if route == "/v1/forecast":
        horizons: list[Any] = [12, 1, MAX_HORIZON]
        if not clean:  # out of range, or not a JSON integer ("12", true, 12.0 are refused)
            horizons += [0, MAX_HORIZON + 1, -2, "12", True, 12.0]
        horizon = draw(st.sampled_from(horizons))
        body["horizon"] = horizon
        ok = ok and type(horizon) is int and 1 <= horizon <= MAX_HORIZON
        if draw(st.integers(0, 3)) == 0:
            quantiles = [[0.5], [0.1, 0.9], [0.25], [], [0.5, 0.5], [0.1, 0.9, 0.1], ["0.5"], [True]]
            body["quantiles"] = draw(st.sampled_from(quantiles if not clean else quantiles[:2]))
            ok = ok and body["quantiles"] in ([0.5], [0.1, 0.9])
        for s in body["series"]:
            if ok and "timestamps" in s and len(s["timestamps"]) < 2:
                ok = False  # no step to continue the timestamps from
    elif route == "/v1/embed":
        body["shifts"] = draw(st.sampled_from([1, 2] if clean else [1, 2, 0, 65, "2", True, 2.0]))
        ok = ok and type(body["shifts"]) is int and 1 <= body["shifts"] <= 64
    elif route == "/v1/impute" and draw(st.integers(0, 3)) == 0:
        body["stride"] = draw(st.sampled_from([4, 16] if clean else [4, 16, 0, "8", False, 8.0]))
        ok = ok and type(body["stride"]) is int and body["stride"] >= 1
    return route, body, ok


def _n_request_values(body: dict[str, Any]) -> int:
    total = 0
    for s in body["series"]:
        v = s["values"]
        total += sum(len(r) for r in v) if v and isinstance(v[0], list) else len(v)
        total += len(s.get("timestamps") or ())
    return total


def _n_output(client: TestClient, route: str, body: dict[str, Any]) -> int:
    """Numbers the answer to a valid body holds, as the limit counts them."""
    channels = [len(s["values"]) if isinstance(s["values"][0], list) else 1 for s in body["series"]]
    if route == "/v1/forecast":
        levels = len(body.get("quantiles") or LEVELS)
        stamps = sum("timestamps" in s for s in body["series"])
        return body["horizon"] * (sum(channels) * (levels + 1) + stamps)
    if route == "/v1/embed":
        pulse = client.app.state.runner.models.pulse.model  # type: ignore[attr-defined]
        return sum(embedding_dim(pulse, "register", c, "concat") for c in channels)
    return 0  # impute and detect answer no more than they were sent; classify, two probabilities


def _finite(values: Any) -> bool:
    arr = np.asarray(values, dtype=object).ravel()
    return all(v is not None and math.isfinite(v) for v in arr)


def _check_response(route: str, body: dict[str, Any], out: dict[str, Any]) -> None:
    sent = body["series"]
    assert [s["id"] for s in out["series"]] == [s["id"] for s in sent]
    for s_in, s_out in zip(sent, out["series"], strict=True):
        values_in = s_in["values"]
        n_time = len(values_in) if not isinstance(values_in[0], list) else len(values_in[0])
        if route == "/v1/impute":
            got = np.asarray(s_out["values"], dtype=object)
            assert got.shape == np.asarray(values_in, dtype=object).shape and _finite(got)
            sent_arr = np.asarray(values_in, dtype=object)
            seen = np.vectorize(lambda v: v is not None and not (isinstance(v, float) and math.isnan(v)))(
                sent_arr
            )
            assert (got[seen] == sent_arr[seen]).all(), "observed values changed"
        elif route == "/v1/detect":
            scores = s_out["scores"]
            assert len(scores) == n_time and _finite(scores)
            assert abs(float(np.median(np.asarray(scores, dtype=float)))) < 1e-6  # robust scale
        elif route == "/v1/embed":
            assert len(s_out["embedding"]) > 0 and _finite(s_out["embedding"])
        elif route == "/v1/forecast":
            mean = np.asarray(s_out["mean"], dtype=object)
            assert mean.shape[-1] == body["horizon"] and _finite(mean)
            assert all(_finite(q) for q in s_out["quantiles"].values())
        else:
            assert s_out["label"] in CLASSES
            assert math.isclose(sum(s_out["probabilities"].values()), 1.0, rel_tol=1e-6)


@cases(240)
@given(requests())
def test_any_body_gives_a_result_or_a_clear_client_error(
    tally: Tally, client: TestClient, request_: tuple[str, dict[str, Any], bool]
) -> None:
    route, body, ok = request_
    if ok:  # the size limits: values and timestamps sent, numbers answered
        ok = (
            _n_request_values(body) <= MAX_REQUEST_VALUES
            and _n_output(client, route, body) <= MAX_OUTPUT_VALUES
        )
    r = client.post(route, content=json.dumps(body), headers={"content-type": "application/json"})
    if ok:
        assert r.status_code == 200, r.text
        _check_response(route, body, r.json())
        tally("ok")
        return
    assert r.status_code in (413, 422), (r.status_code, r.text)
    detail = r.json()["detail"]
    assert detail, "an error without a message"
    if isinstance(detail, str):
        assert len(detail) >= 25
    tally("error")


@cases(90)
@given(
    st.sampled_from(list(ROUTES)),
    st.one_of(
        st.sampled_from(["", "{", "[]", "null", '{"series": 5}', '{"series": [{"id": "a"}]}', "NaN"]),
        st.text(max_size=30),
    ),
)
def test_malformed_json_is_a_422(tally: Tally, client: TestClient, route: str, raw: str) -> None:
    r = client.post(route, content=raw.encode("utf-8"), headers={"content-type": "application/json"})
    assert r.status_code == 422, (raw, r.status_code, r.text)
    assert r.json()["detail"]
    tally("error")


@pytest.mark.parametrize(
    "raw",
    [
        '{"series": [{"id": "a", "values": [NaN, "x"]}]}',
        '{"series": [{"id": "a", "values": [1.0, 2.0]}], "head": NaN}',
        '{"series": Infinity}',
    ],
)
def test_invalid_body_with_nan_tokens_is_a_422_not_a_crash(client: TestClient, raw: str) -> None:
    """Found by this suite: FastAPI's own handler echoed the NaN into strict JSON and answered 500."""
    r = client.post("/v1/impute", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list) and r.json()["detail"][0]["loc"][0] == "body"


def _post_raw(client: TestClient, route: str, body: Any) -> Any:
    r = client.post(route, content=json.dumps(body), headers={"content-type": "application/json"})
    r.content.decode("utf-8")  # the answer is valid UTF-8 (a lone surrogate cannot be written in it)
    return r


#: the options of every route and the JSON values each accepts
OPTIONS = {
    ("/v1/forecast", "horizon"): "int",
    ("/v1/forecast", "quantiles"): "levels",
    ("/v1/impute", "stride"): "int",
    ("/v1/impute", "head"): "head",
    ("/v1/embed", "shifts"): "int",
    ("/v1/detect", "mode"): "mode",
}
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=6),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=6,
)


def _option_ok(name: str, kind: str, value: Any) -> bool:
    """The oracle of an option's value: strict JSON types, in range, distinct levels; null is the
    default of the optional ones."""
    if value is None:
        return name in ("stride", "shifts", "quantiles")
    if kind == "int":  # horizon <= MAX_HORIZON, shifts <= 64, stride >= 1
        return type(value) is int and 1 <= value and (name == "stride" or value <= 64)
    if kind == "levels":
        return (
            isinstance(value, list)
            and len(value) > 0
            and all(type(v) in (int, float) and v in LEVELS for v in value)
            and len(set(value)) == len(value)
        )
    return value in {"head": ("avg", "time", "fft"), "mode": ("time", "fft", "forecast", "ensemble")}[kind]


@cases(120)
@given(
    st.sampled_from(sorted(OPTIONS)),
    st.one_of(
        json_values,
        st.sampled_from(
            ["3", True, False, 3.0, 0.5, [0.5, 0.5], [0.1, "0.9"], [0.1, 0.9, 0.1], [1.0], "avg"]
        ),
        st.lists(st.sampled_from(LEVELS), min_size=1, max_size=4),
    ),
)
def test_options_of_the_wrong_json_type_are_a_422(
    tally: Tally, client: TestClient, option: tuple[str, str], value: Any
) -> None:
    route, name = option
    body: dict[str, Any] = {"series": [{"id": "a", "values": make_values((1, 48), "smooth", 1)[0].tolist()}]}
    if route == "/v1/forecast":
        body["horizon"] = 4
    body[name] = value
    r = _post_raw(client, route, body)
    if _option_ok(name, OPTIONS[option], value):
        assert r.status_code == 200, (name, value, r.text)
        if name == "quantiles" and value is not None:
            assert r.json()["levels"] == [float(v) for v in value]
        tally("ok")
        return
    assert r.status_code == 422, (name, value, r.status_code, r.text)
    assert r.json()["detail"]
    tally("error")


@cases(60)
@given(
    st.sampled_from(["id", "key", "head", "timestamp", "value", "series_id_valid_body"]),
    st.integers(0xD800, 0xDFFF),
    st.text(max_size=4),
)
def test_lone_surrogates_are_a_422(
    tally: Tally, client: TestClient, where: str, code: int, around: str
) -> None:
    bad = around + chr(code) + around
    series: dict[str, Any] = {"id": "a", "values": [1.0, 2.0, None, 4.0]}
    body: dict[str, Any] = {"series": [series]}
    if where in ("id", "series_id_valid_body"):
        series["id"] = bad
        if where == "id":
            series["values"] = [1.0, "x"]  # invalid anyway: the error is echoed
    elif where == "key":
        series[bad] = 1
    elif where == "head":
        body["head"] = bad
    elif where == "timestamp":
        series["timestamps"] = [bad, "2024-01-01", "2024-01-02", "2024-01-03"]
    else:
        series["values"] = [1.0, bad]
    r = _post_raw(client, "/v1/impute", body)
    assert r.status_code == 422, (where, r.status_code, r.text)
    assert r.json()["detail"]
    tally("error")


@cases(80)
@given(
    st.booleans(),
    st.integers(0, 200),
    st.sampled_from(
        [dt.timedelta(hours=1), dt.timedelta(days=1), dt.timedelta(days=7), dt.timedelta(days=365)]
    ),
    st.integers(1, MAX_HORIZON),
    st.floats(1e300, 1.7e308),
)
def test_future_timestamps_beyond_the_representable_range_are_a_422(
    tally: Tally,
    client: TestClient,
    dates: bool,
    days_before: int,
    step: dt.timedelta,
    horizon: int,
    big: float,
) -> None:
    """Dates near pandas' nanosecond end (2262-04-11) or numbers near float64's: 200 with the right
    future timestamps when they can be held, else a 422 that says so."""
    if dates:
        last = dt.datetime(2262, 4, 11) - dt.timedelta(days=days_before)
        stamps: list[Any] = [(last - step).isoformat(), last.isoformat()]
        # pandas 2 parses ISO dates at nanoseconds (range ends 2262-04-11); pandas 3 at the resolution
        # the strings carry (seconds here), where these futures fit
        nanos = pd.to_datetime(stamps).unit == "ns"
        fits = not nanos or last + horizon * step <= PANDAS_END
    else:
        stamps = [big, big * 1.0625]  # an exact step (a power-of-two fraction)
        fits = math.isfinite(big * 1.0625 + horizon * (big * 0.0625))
    body = {"series": [{"id": "late", "values": [1.0, 2.0], "timestamps": stamps}], "horizon": horizon}
    body["quantiles"] = [0.5]
    r = _post_raw(client, "/v1/forecast", body)
    if fits:
        assert r.status_code == 200, (stamps, horizon, r.text)
        future = r.json()["series"][0]["timestamps"]
        if dates:
            assert dt.datetime.fromisoformat(future[0]) == last + step
            assert dt.datetime.fromisoformat(future[-1]) == last + horizon * step
        else:
            assert future[0] > stamps[-1] and all(b > a for a, b in itertools.pairwise(future))
        tally("ok")
        return
    assert r.status_code == 422, (stamps, horizon, r.status_code, r.text)
    detail = r.json()["detail"]
    assert "'late'" in detail and "outside the range" in detail
    tally("error")
