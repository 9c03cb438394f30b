"""Hostile and careless requests to the service in-process (issue 15): loose types, duplicate
quantiles, oversized inputs and outputs, lone surrogates, out-of-range timestamps, bearer tokens."""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest

from tinyts.models.pulse import TinyPulse
from tinyts.serve import ServeConfig, create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from fastapi.testclient import TestClient

TOKEN = "s3cret-token-for-tests-0123456789"


def _wave(n: int = 64, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(v) for v in np.sin(np.arange(n) / 5.0) + 0.1 * rng.standard_normal(n)]


@pytest.fixture(scope="module")
def client(pulse: TinyPulse, cast_dir: Path) -> Iterator[TestClient]:
    """Only the limits today's service already has: these tests need nothing new to run."""
    app = create_app(ServeConfig(pulse=pulse, cast=str(cast_dir), max_series=8, max_horizon=100))
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def tight(pulse: TinyPulse, cast_dir: Path) -> Iterator[TestClient]:
    """Small request and response limits."""
    config = ServeConfig(
        pulse=pulse,
        cast=str(cast_dir),
        max_series=8,
        max_points=5000,
        max_horizon=100,
        max_request_values=20_000,
        max_output_values=20_000,
    )
    with TestClient(create_app(config)) as c:
        yield c


def _raw(client: TestClient, route: str, raw: str | bytes) -> Any:
    return client.post(route, content=raw, headers={"content-type": "application/json"})


def _locs(r: Any) -> list[tuple[Any, ...]]:
    return [tuple(e["loc"]) for e in r.json()["detail"]]


# ----------------------------------------------------------------------- item 5: strict JSON types


@pytest.mark.parametrize("horizon", ["3", True, 3.0, "three", None, [3]])
def test_horizon_must_be_a_json_integer(client: TestClient, horizon: Any) -> None:
    r = client.post("/v1/forecast", json={"series": [{"id": "a", "values": _wave()}], "horizon": horizon})
    assert r.status_code == 422, r.text
    assert ("body", "horizon") in _locs(r)


@pytest.mark.parametrize(
    ("route", "option", "value"),
    [
        ("/v1/impute", "stride", "8"),
        ("/v1/impute", "stride", True),
        ("/v1/impute", "stride", 8.0),
        ("/v1/embed", "shifts", "2"),
        ("/v1/embed", "shifts", True),
        ("/v1/forecast", "quantiles", ["0.5"]),
        ("/v1/forecast", "quantiles", [True]),
        ("/v1/forecast", "quantiles", "0.5"),
    ],
)
def test_integer_and_float_options_are_strict(
    client: TestClient, route: str, option: str, value: Any
) -> None:
    body: dict[str, Any] = {"series": [{"id": "a", "values": _wave()}], option: value}
    if route == "/v1/forecast":
        body["horizon"] = 3
    r = client.post(route, json=body)
    assert r.status_code == 422, r.text
    assert any(loc[:2] == ("body", option) for loc in _locs(r))


def test_strict_options_still_take_plain_numbers(client: TestClient) -> None:
    series = [{"id": "a", "values": _wave()}]
    assert client.post("/v1/impute", json={"series": series, "stride": 8}).status_code == 200
    assert client.post("/v1/embed", json={"series": series, "shifts": 2}).status_code == 200
    r = client.post("/v1/forecast", json={"series": series, "horizon": 3, "quantiles": [0.1, 1, 0.9][::2]})
    assert r.status_code == 200 and r.json()["levels"] == [0.1, 0.9]


@pytest.mark.parametrize("quantiles", [[0.5, 0.5], [0.1, 0.9, 0.1], [0.5, 0.50]])
def test_duplicate_quantiles_are_refused(client: TestClient, quantiles: list[float]) -> None:
    body = {"series": [{"id": "a", "values": _wave()}], "horizon": 3, "quantiles": quantiles}
    r = client.post("/v1/forecast", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "repeat the level" in detail and "give each level once" in detail


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ([1.0, "2"], "values[1] is a string"),
        ([1.0, True], "values[1] is true"),
        ([[1.0, 2.0], 3.0], "values[1] is float, but values[0] is a list"),
        ([[1.0, 2.0], [1.0, {"v": 1}]], "values[1][1] is an object"),
        ([[[1.0]]], "values[0] is a list of lists"),
        ([1.0, 10**400], "values[1] is an integer too large for a float64"),
    ],
)
def test_bad_values_get_one_error_naming_the_item(client: TestClient, values: Any, words: str) -> None:
    r = client.post("/v1/impute", json={"series": [{"id": "a", "values": values}]})
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", "series", 0, "values"] and words in error["msg"]


def test_a_million_bad_values_give_one_short_error(client: TestClient) -> None:
    raw = '{"series": [{"id": "a", "values": [' + ",".join(['"x"'] * 200_000) + "]}]}"
    t = time.perf_counter()
    r = _raw(client, "/v1/impute", raw)
    assert r.status_code == 422 and len(r.content) < 2000, r.text[:500]
    assert "values[0] is a string" in r.json()["detail"][0]["msg"]
    assert time.perf_counter() - t < 10


def test_validation_errors_are_capped(client: TestClient) -> None:
    body = {"series": [{"id": "a", "values": [1.0], f"x{i}": 1} for i in range(8)]}
    body["series"] = [dict(s, **{f"y{k}": 0 for k in range(10)}) for s in body["series"]]
    r = client.post("/v1/impute", json=body)
    detail = r.json()["detail"]
    assert r.status_code == 422 and len(detail) == 21
    assert detail[-1]["type"] == "too_many_errors" and "more errors not listed" in detail[-1]["msg"]


def test_non_json_content_type_is_refused(client: TestClient) -> None:
    body = json.dumps({"series": [{"id": "a", "values": [1.0, 2.0]}]})
    r = client.post("/v1/impute", content=body, headers={"content-type": "text/plain"})
    assert r.status_code == 422 and "content-type: application/json" in r.json()["detail"][0]["msg"]
    r = client.post("/v1/impute", content=body, headers={"content-type": "application/json; charset=utf-8"})
    assert r.status_code == 200


def test_request_bodies_stay_in_the_openapi_schema(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    ref = schema["paths"]["/v1/forecast"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert ref == {"$ref": "#/components/schemas/ForecastRequest"}
    forecast = schema["components"]["schemas"]["ForecastRequest"]
    assert "horizon" in forecast["required"] and "Series" in schema["components"]["schemas"]
    values = schema["components"]["schemas"]["Series"]["properties"]["values"]
    assert "anyOf" in values and values["anyOf"][0]["type"] == "array"


# -------------------------------------------------------- item 7: request size counted and parsed off-loop


def test_too_many_values_are_refused_while_the_body_arrives(tight: TestClient) -> None:
    # 8 series x 3,000 values: under --max-points and --max-body-bytes, over --max-request-values
    series = [{"id": str(i), "values": [0] * 3000} for i in range(8)]
    r = tight.post("/v1/impute", json={"series": series})
    assert r.status_code == 413, r.text
    detail = r.json()["detail"]
    assert "more than 20,000 values and timestamps" in detail and "--max-request-values" in detail


def test_the_exact_count_includes_timestamps(tight: TestClient) -> None:
    # 4 series x (2,000 values + 2,000 timestamps) + 4,005 values = 20,005: within the commas' slack
    stamps = list(range(2000))
    series = [{"id": str(i), "values": [1.0] * 2000, "timestamps": stamps} for i in range(4)]
    series.append({"id": "z", "values": [1.0] * 4005})
    r = tight.post("/v1/impute", json={"series": series})
    assert r.status_code == 413 and "holds 20,005 values and timestamps" in r.json()["detail"], r.text
    series[-1]["values"] = [1.0] * 4000  # 20,000: accepted
    assert tight.post("/v1/impute", json={"series": series}).status_code == 200


def test_bodies_are_parsed_and_answers_rendered_off_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tinyts.serve.app as app_module

    seen: list[bool] = []
    real = app_module.read_request

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            asyncio.get_running_loop()
            seen.append(True)  # on the event loop
        except RuntimeError:
            seen.append(False)  # in a worker thread
        return real(*args, **kwargs)

    monkeypatch.setattr(app_module, "read_request", spy)
    assert client.post("/v1/impute", json={"series": [{"id": "a", "values": _wave()}]}).status_code == 200
    assert seen == [False]


def test_a_stalled_body_is_answered_408() -> None:
    from tinyts.serve.app import BodyLimit

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never reached
        raise AssertionError("the app must not run")

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not sent:
            sent.append({"type": "marker"})
            return {"type": "http.request", "body": b'{"series": [', "more_body": True}
        await anyio.sleep(60)  # the client stops sending
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def main() -> None:
        guard = BodyLimit(app, max_bytes=1000, max_values=100, timeout=0.2)
        with anyio.fail_after(10):
            await guard({"type": "http", "headers": []}, receive, send)  # type: ignore[arg-type]

    anyio.run(main)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = json.loads(next(m for m in sent if m["type"] == "http.response.body")["body"])
    assert start["status"] == 408 and "--body-timeout" in body["detail"]
    assert (b"connection", b"close") in start["headers"]


# ---------------------------------------------------------------------------- item 9: output bounded


def test_forecast_output_is_bounded_before_the_model_runs(tight: TestClient) -> None:
    # 30 channels x horizon 100 x (mean + 9 levels) = 30,000 numbers > 20,000
    body = {"series": [{"id": "wide", "values": [_wave(70, s) for s in range(30)]}], "horizon": 100}
    t = time.perf_counter()
    r = tight.post("/v1/forecast", json=body)
    assert r.status_code == 413, r.text[:300]
    detail = r.json()["detail"]
    assert "30,000 numbers" in detail and "--max-output-values" in detail and "horizon 100" in detail
    assert time.perf_counter() - t < 5
    ok = tight.post("/v1/forecast", json={**body, "quantiles": [0.5]})  # 30 x 100 x 2 = 6,000
    assert ok.status_code == 200 and np.shape(ok.json()["series"][0]["mean"]) == (30, 100)


def test_forecast_output_counts_future_timestamps(tight: TestClient) -> None:
    # 1 channel x horizon 100 x 2 = 200 numbers per series, + 100 timestamps
    one = {"values": _wave(70), "timestamps": list(range(70))}
    series = [{"id": str(i), **one} for i in range(8)]
    r = tight.post("/v1/forecast", json={"series": series, "horizon": 100, "quantiles": [0.5]})
    assert r.status_code == 200  # 8 x 300 = 2,400
    cfg = tight.app.state.runner.config  # type: ignore[attr-defined]
    assert cfg.max_output_values == 20_000


def test_embedding_output_is_bounded(tight: TestClient) -> None:
    # detail embeddings: 2,304 numbers per channel; 8 series x 2 channels = 36,864 > 20,000
    series = [{"id": str(i), "values": [_wave(32, i), _wave(32, i + 1)]} for i in range(8)]
    r = tight.post("/v1/embed", json={"series": series, "kind": "detail"})
    assert r.status_code == 413 and "--max-output-values" in r.json()["detail"], r.text[:300]
    assert "channels 'mean'" in r.json()["detail"]
    ok = tight.post("/v1/embed", json={"series": series, "kind": "detail", "channels": "mean"})
    assert ok.status_code == 200 and len(ok.json()["series"][0]["embedding"]) == 2304


def test_health_shows_the_new_limits(tight: TestClient) -> None:
    limits = tight.get("/health").json()["limits"]
    assert limits["max_request_values"] == 20_000 and limits["max_output_values"] == 20_000


# -------------------------------------------------- item 10: surrogates and timestamps out of range


@pytest.mark.parametrize(
    "raw",
    [
        r'{"series": [{"id": "\ud800", "values": [1.0, "x"]}]}',
        r'{"series": [{"id": "a", "values": ["\ud800"]}]}',
        r'{"series": [{"id": "a", "values": [1.0], "\udfff": 1}]}',
        r'{"series": [{"id": "a", "values": [1.0, 2.0]}], "head": "\ud800"}',
        r'{"series": [{"id": "a\ud800", "values": [1.0, 2.0]}]}',
        r'{"series": [{"id": "a", "values": [1.0, 2.0], "timestamps": ["\ud83d", "x"]}]}',
    ],
)
def test_lone_surrogates_are_a_422(client: TestClient, raw: str) -> None:
    r = _raw(client, "/v1/impute", raw)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_echoed_surrogates_and_huge_inputs_are_escaped_and_cut() -> None:
    from tinyts.serve.app import MAX_ECHO, _client_errors

    errors = [{"type": "x", "loc": ("body", "\ud800"), "msg": "m", "input": ["\udfff" * 3] + [1.0] * 500}]
    (out,) = _client_errors(errors)
    assert out["loc"] == ["body", "\\ud800"] and out["input"][0] == "\\udfff" * 3
    assert len(out["input"]) == MAX_ECHO + 1 and out["input"][-1] == "... (501 items)"
    json.dumps(out).encode("utf-8")  # strict JSON, valid UTF-8


@pytest.mark.parametrize(
    ("stamps", "horizon"),
    [
        (["2262-04-10T00:00:00", "2262-04-10T01:00:00"], 100),
        (["2261-01-01", "2262-01-01"], 3),  # a 365-day step wrapped around to 1680 in pandas
        (["2262-01-31", "2262-02-28", "2262-03-31"], 12),
        ([1.0e308, 1.5e308], 3),
        ([9.0e15, 9.0e15 + 2], 3),
    ],
)
def test_future_timestamps_out_of_range_are_a_422(
    client: TestClient, stamps: list[Any], horizon: int
) -> None:
    body = {
        "series": [{"id": "late", "values": _wave(len(stamps)), "timestamps": stamps}],
        "horizon": horizon,
    }
    r = client.post("/v1/forecast", json=body)
    if stamps[0] == 9.0e15:  # still representable: answered
        assert r.status_code == 200 and r.json()["series"][0]["timestamps"][0] == 9.0e15 + 4
        return
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "'late'" in detail and "outside the range" in detail and "shorter horizon" in detail


# ------------------------------------------------------------------------------ item 11: bearer token


@pytest.fixture(scope="module")
def locked(pulse: TinyPulse) -> Iterator[TestClient]:
    with TestClient(create_app(ServeConfig(pulse=pulse, token=TOKEN))) as c:
        yield c


def test_token_guards_every_route_but_health(locked: TestClient) -> None:
    body = {"series": [{"id": "a", "values": _wave()}]}
    assert locked.get("/health").status_code == 200
    assert "token" not in json.dumps(locked.get("/health").json()).lower()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = locked.post("/v1/impute", json=body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"] == "Bearer" and "Authorization: Bearer" in r.json()["detail"]
    assert locked.get("/openapi.json").status_code == 401
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert locked.post("/v1/impute", json=body, headers=good).status_code == 200
    assert (
        locked.post("/v1/impute", json=body, headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    )
    assert locked.get("/openapi.json", headers=good).status_code == 200


def test_wrong_token_is_refused_before_the_body_is_read(locked: TestClient) -> None:
    r = locked.post("/v1/impute", content=b"x" * 10_000_000, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


@pytest.mark.parametrize("token", ["", "short", "has a space in it 123", "t\u00f6ken-with-umlaut-1234"])
def test_unusable_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValueError, match="token"):
        ServeConfig(pulse=None, token=token)
