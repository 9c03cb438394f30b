"""The HTTP service in-process (FastAPI TestClient): every route, every limit and every client error."""

from __future__ import annotations

import json
import math
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinyts.models.base import CheckpointError
from tinyts.models.pulse import TinyPulse
from tinyts.serve import ServeConfig, create_app
from tinyts.tasks.pulse.embed import embed

with warnings.catch_warnings():
    # starlette >= 1.x asks for the httpx2 package and warns when its TestClient runs on httpx
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from fastapi.testclient import TestClient

CLASSES = ["down", "up"]  # the classifier of conftest.classifier_dir


def _wave(n: int = 256, seed: int = 0, missing: tuple[int, ...] = (5, 40, 41, 42)) -> list[float | None]:
    rng = np.random.default_rng(seed)
    x = np.sin(np.arange(n) / 7.0) + 0.1 * rng.standard_normal(n)
    out: list[float | None] = [float(v) for v in x]
    for i in missing:
        out[i] = None
    return out


@pytest.fixture(scope="module")
def client(pulse: TinyPulse, cast_dir: Path, classifier_dir: Path) -> Iterator[TestClient]:
    app = create_app(
        ServeConfig(pulse=pulse, cast=str(cast_dir), classifier=str(classifier_dir), max_series=8),
        max_points=5000,
        max_body_bytes=400_000,
        max_horizon=100,
    )
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def bare() -> Iterator[TestClient]:
    """A server with no model loaded at all."""
    with TestClient(create_app(pulse=None)) as c:
        yield c


def _post(client: TestClient, route: str, body: dict[str, Any]) -> Any:
    r = client.post(route, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _error(client: TestClient, route: str, body: Any, status: int, raw: bool = False) -> Any:
    if raw:
        r = client.post(route, content=body, headers={"content-type": "application/json"})
    else:
        r = client.post(route, json=body)
    assert r.status_code == status, r.text
    return r.json()["detail"]


# ------------------------------------------------------------------------------------------ health


def test_health_lists_models_and_limits(client: TestClient) -> None:
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["version"] == __import__("tinyts").__version__
    models = {m["role"]: m for m in h["models"]}
    assert set(models) == {"pulse", "cast", "classifier"}
    assert models["pulse"]["type"] == "tinypulse" and models["pulse"]["parameters"] > 500_000
    assert models["cast"] == {"role": "cast", "name": "tinycast-tiny", "type": "tinycast", "parameters": 9678}
    assert models["classifier"]["name"] == "clf-tiny" and models["classifier"]["parameters"] > 0
    assert h["limits"]["max_series"] == 8 and h["limits"]["max_points"] == 5000


def test_health_of_an_empty_server(bare: TestClient) -> None:
    assert bare.get("/health").json()["models"] == []
    assert "/openapi.json" in {r.path for r in bare.app.routes}  # type: ignore[attr-defined]
    assert bare.get("/openapi.json").json()["paths"].keys() >= {"/v1/impute", "/v1/forecast"}


# ------------------------------------------------------------------------------------------ impute


def test_impute_fills_nulls_and_keeps_observed_values(client: TestClient) -> None:
    a, b = _wave(seed=1), _wave(120, seed=2, missing=(0, 119))
    stamps = [f"2024-01-01T00:{m:02d}:00" for m in range(60)] + [
        f"2024-01-01T01:{m:02d}:00" for m in range(60)
    ]
    body = {
        "series": [
            {"id": "a", "values": a},
            {"id": "b", "values": b, "timestamps": stamps},
            {"id": "mc", "values": [a, _wave(seed=3, missing=(100,))]},
        ]
    }
    out = _post(client, "/v1/impute", body)
    assert [s["id"] for s in out["series"]] == ["a", "b", "mc"] and out["model"] == "tinypulse"
    fa, fb, fmc = (s["values"] for s in out["series"])
    assert len(fa) == 256 and len(fb) == 120 and np.shape(fmc) == (2, 256)
    assert all(v is not None and math.isfinite(v) for v in fa + fb)
    assert all(f == v for f, v in zip(fa, a, strict=True) if v is not None)  # observed: exact
    assert out["series"][1]["timestamps"] == stamps and out["series"][0]["timestamps"] is None
    # the same numbers as the Python API
    direct = client.app.state.runner.models.pulse.model.impute(  # type: ignore[attr-defined]
        np.array(a, dtype=float)
    )
    np.testing.assert_allclose(fa, direct)
    # options reach the model
    fft = _post(client, "/v1/impute", {**body, "head": "fft", "stride": 32})["series"][0]["values"]
    assert fft[5] != fa[5] and fft[0] == fa[0]


def test_json_nan_literal_means_missing(client: TestClient) -> None:
    raw = json.dumps({"series": [{"id": "a", "values": [*_wave(64, missing=())[:10], None]}]})
    raw = raw.replace("null", "NaN")
    r = client.post("/v1/impute", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200 and math.isfinite(r.json()["series"][0]["values"][-1])


# ------------------------------------------------------------------------------------------ detect


@pytest.mark.parametrize("mode", ["time", "fft", "forecast", "ensemble"])
def test_detect_every_mode(client: TestClient, pulse: TinyPulse, mode: str) -> None:
    body = {"series": [{"id": "s1", "values": _wave(600)}, {"id": "s2", "values": [_wave(80), _wave(80, 1)]}]}
    out = _post(client, "/v1/detect", {**body, "mode": mode})
    assert out["mode"] == mode and [s["id"] for s in out["series"]] == ["s1", "s2"]
    s1, s2 = (np.array(s["scores"]) for s in out["series"])
    assert s1.shape == (600,) and s2.shape == (80,)
    assert np.isfinite(s1).all()
    # the library's robust scores (0 = the typical score of the points the mode scores)
    np.testing.assert_allclose(
        s1, pulse.anomaly_scores(np.array(_wave(600), dtype=float), mode=mode), rtol=1e-6, atol=1e-9
    )


def test_detect_rejects_an_unknown_mode(client: TestClient) -> None:
    detail = _error(
        client, "/v1/detect", {"series": [{"id": "a", "values": _wave()}], "mode": "psychic"}, 422
    )
    assert detail[0]["loc"][-1] == "mode"


# ------------------------------------------------------------------------------------------- embed


def test_embed_register_detail_and_channels(client: TestClient, pulse: TinyPulse) -> None:
    uni, two = _wave(300), [_wave(100), _wave(100, 1)]
    out = _post(client, "/v1/embed", {"series": [{"id": "u", "values": uni}, {"id": "m", "values": two}]})
    vec = {s["id"]: np.array(s["embedding"]) for s in out["series"]}
    assert out["kind"] == "register" and vec["u"].shape == (192,) and vec["m"].shape == (384,)
    np.testing.assert_allclose(vec["u"], embed(pulse, np.array(uni, dtype=float))[0], rtol=1e-5, atol=1e-6)
    mean = _post(
        client, "/v1/embed", {"series": [{"id": "m", "values": two}], "channels": "mean", "shifts": 2}
    )
    assert len(mean["series"][0]["embedding"]) == 192
    detail = _post(client, "/v1/embed", {"series": [{"id": "u", "values": uni}], "kind": "detail"})
    assert len(detail["series"][0]["embedding"]) == 2304


def test_embed_library_option_error_is_422(client: TestClient) -> None:
    body = {"series": [{"id": "u", "values": _wave()}], "kind": "detail", "shifts": 4}
    assert "cannot be averaged over shifts" in _error(client, "/v1/embed", body, 422)


# ---------------------------------------------------------------------------------------- forecast


def test_forecast_shapes_levels_and_future_timestamps(client: TestClient) -> None:
    hourly = [f"2024-03-01T{h:02d}:00:00" for h in range(24)]
    body = {
        "series": [
            {"id": "h", "values": _wave(24, missing=(3,)), "timestamps": hourly},
            {"id": "n", "values": _wave(90), "timestamps": list(range(0, 180, 2))},
        ],
        "horizon": 12,
        "quantiles": [0.1, 0.5, 0.9],
    }
    out = _post(client, "/v1/forecast", body)
    assert out["horizon"] == 12 and out["levels"] == [0.1, 0.5, 0.9] and out["model"] == "tinycast-tiny"
    h, n = out["series"]
    assert len(h["mean"]) == 12 and set(h["quantiles"]) == {"0.1", "0.5", "0.9"}
    assert h["timestamps"][0] == "2024-03-02T00:00:00" and h["timestamps"][-1] == "2024-03-02T11:00:00"
    assert n["timestamps"] == list(range(180, 204, 2))
    lo, mid, hi = (np.array(h["quantiles"][k]) for k in ("0.1", "0.5", "0.9"))
    assert (lo <= mid + 1e-9).all() and (mid <= hi + 1e-9).all()
    mc = _post(
        client, "/v1/forecast", {"series": [{"id": "m", "values": [_wave(70), _wave(70, 1)]}], "horizon": 5}
    )
    assert np.shape(mc["series"][0]["mean"]) == (2, 5) and len(mc["levels"]) == 9
    assert np.shape(mc["series"][0]["quantiles"]["0.7"]) == (2, 5)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"horizon": 5, "quantiles": [0.25]}, "quantiles must be levels among"),
        ({"horizon": 101}, "--max-horizon"),
        ({"horizon": 5, "series": [{"id": "one", "values": [1.0, None, None]}]}, "at least 2 observed"),
        (
            {"horizon": 5, "series": [{"id": "t", "values": [1.0, 2.0, 3.0], "timestamps": [0, 1, 5]}]},
            "not evenly spaced",
        ),
        (
            {
                "horizon": 5,
                "series": [{"id": "t", "values": [1.0, 2.0], "timestamps": ["2024-01-01", "soon"]}],
            },
            "not ISO-8601",
        ),
    ],
)
def test_forecast_errors(client: TestClient, body: dict[str, Any], words: str) -> None:
    full = {"series": [{"id": "a", "values": _wave(64)}], **body}
    assert words in _error(client, "/v1/forecast", full, 422)


# ---------------------------------------------------------------------------------------- classify


def test_classify_labels_and_probabilities(client: TestClient) -> None:
    body = {"series": [{"id": "x", "values": _wave(64)}, {"id": "y", "values": _wave(200, 4, missing=(9,))}]}
    out = _post(client, "/v1/classify", body)
    assert out["classes"] == CLASSES and out["model"] == "clf-tiny"
    for s in out["series"]:
        assert s["label"] in CLASSES and set(s["probabilities"]) == set(CLASSES)
        assert math.isclose(sum(s["probabilities"].values()), 1.0, rel_tol=1e-9)
        assert s["label"] == max(s["probabilities"], key=s["probabilities"].get)
    detail = _error(client, "/v1/classify", {"series": [{"id": "m", "values": [_wave(64), _wave(64)]}]}, 422)
    assert "fitted on 1" in detail


# ------------------------------------------------------------------------------ 503: model not loaded


@pytest.mark.parametrize(
    ("route", "option"),
    [
        ("/v1/impute", "--pulse"),
        ("/v1/detect", "--pulse"),
        ("/v1/embed", "--pulse"),
        ("/v1/forecast", "--cast"),
        ("/v1/classify", "--classifier"),
    ],
)
def test_missing_model_is_503_naming_the_option(bare: TestClient, route: str, option: str) -> None:
    body: dict[str, Any] = {"series": [{"id": "a", "values": _wave()}], "horizon": 3}
    if route != "/v1/forecast":
        body.pop("horizon")
    detail = _error(bare, route, body, 503)
    assert option in detail and route in detail


# -------------------------------------------------------------------------------- input errors: 422


BAD_INPUT = [
    ({"series": [{"id": "a", "values": [None, None, None]}]}, "entirely NaN"),
    ({"series": [{"id": "a", "values": [[1.0, 2.0], [None, None]]}]}, "channel 1 is entirely NaN"),
    ('{"series": [{"id": "a", "values": [1.0, Infinity, 2.0]}]}', "infinite value"),
    ('{"series": [{"id": "a", "values": [1.0, 1e999]}]}', "infinite value"),
    ({"series": [{"id": "a", "values": [[1.0, 2.0], [3.0]]}]}, "channel 1 has 1 values but channel 0 has 2"),
    ({"series": [{"id": "a", "values": []}]}, "no values"),
    ({"series": [{"id": "a", "values": [[]]}]}, "is empty"),
    (
        {"series": [{"id": "a", "values": [1.0, 2.0]}, {"id": "a", "values": [2.0, 3.0]}]},
        "duplicate series id",
    ),
    ({"series": [{"id": "a", "values": [1.0, 2.0], "timestamps": [1]}]}, "1 timestamps for 2 time points"),
]


@pytest.mark.parametrize(("body", "words"), BAD_INPUT)
@pytest.mark.parametrize("route", ["/v1/impute", "/v1/detect", "/v1/embed", "/v1/forecast", "/v1/classify"])
def test_bad_input_is_422_with_the_library_message(
    client: TestClient, route: str, body: Any, words: str
) -> None:
    if route == "/v1/forecast":
        body = (
            json.dumps({**json.loads(body), "horizon": 3})
            if isinstance(body, str)
            else {**body, "horizon": 3}
        )
    detail = _error(client, route, body, 422, raw=isinstance(body, str))
    assert isinstance(detail, str) and words in detail
    assert "'a'" in detail  # the message names the series


def test_too_short_for_the_task(client: TestClient) -> None:
    body = {"series": [{"id": "a", "values": [1.0]}]}
    assert "at least 2 are needed" in _error(client, "/v1/detect", body, 422)
    assert "at least 2 are needed" in _error(client, "/v1/embed", body, 422)
    assert _post(client, "/v1/impute", body)["series"][0]["values"] == [1.0]


@pytest.mark.parametrize(
    "body",
    [
        {"series": []},
        {},
        {"series": [{"id": "a", "values": ["1.0", 2.0]}]},
        {"series": [{"id": "a", "values": [True, 2.0]}]},
        {"series": [{"id": "a", "values": [[[1.0]]]}]},
        {"series": [{"id": "", "values": [1.0]}]},
        {"series": [{"values": [1.0]}]},
        {"series": [{"id": "a", "values": [1.0], "color": "red"}]},
        {"series": [{"id": "a", "values": [1.0, 2.0]}], "head": "nose"},
        {"series": [{"id": "a", "values": [1.0, 2.0]}], "stride": 0},
        "{not json",
        "[1, 2, 3]",
    ],
)
def test_schema_errors_are_422(client: TestClient, body: Any) -> None:
    raw = isinstance(body, str)
    detail = _error(client, "/v1/impute", body, 422, raw=raw)
    assert detail


# ---------------------------------------------------------------------------------------- limits: 413


def test_too_many_series(client: TestClient) -> None:
    body = {"series": [{"id": str(i), "values": [1.0, 2.0]} for i in range(9)]}
    detail = _error(client, "/v1/impute", body, 413)
    assert "9 series" in detail and "at most 8" in detail and "--max-series" in detail


def test_too_many_points(client: TestClient) -> None:
    body = {"series": [{"id": "long", "values": [[0.5] * 2501, [0.5] * 2501]}]}
    detail = _error(client, "/v1/detect", body, 413)
    assert "5,002 values" in detail and "--max-points" in detail
    assert _post(client, "/v1/impute", {"series": [{"id": "ok", "values": [0.5] * 5000}]})


def test_body_too_large(client: TestClient) -> None:
    body = json.dumps({"series": [{"id": "a", "values": [0.123456789] * 40_000}]})
    assert len(body) > 400_000
    detail = _error(client, "/v1/impute", body, 413, raw=True)
    assert "400,000 bytes" in detail and "--max-body-bytes" in detail

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
        for i in range(0, len(body), 50_000):
            yield body[i : i + 50_000].encode()

    r = client.post("/v1/impute", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "--max-body-bytes" in r.json()["detail"]


# ------------------------------------------------------------------------------- start-up and imports


def test_models_load_only_from_names_and_folders(tmp_path: Path, cast_dir: Path) -> None:
    with pytest.raises(ValueError, match="is a URL"):
        create_app(pulse="https://example.com/tinypulse")
    with pytest.raises(ValueError, match="is a URL"):
        create_app(pulse=None, cast="hf://org/tinycast")
    with pytest.raises(CheckpointError, match="unknown model"):
        create_app(pulse=None, cast="tinycast-nonexistent")
    with pytest.raises(CheckpointError, match="not a TinyPulse"):
        create_app(pulse=str(cast_dir))
    with pytest.raises(ValueError, match="max_series must be a positive int"):
        create_app(pulse=None, max_series=0)


def test_missing_fastapi_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import tinyts.serve

    monkeypatch.setitem(sys.modules, "fastapi", None)
    with pytest.raises(ImportError, match=r"tinyts\[serve\]"):
        tinyts.serve.create_app  # noqa: B018


def test_import_tinyts_and_the_cli_module_do_not_import_fastapi() -> None:
    import subprocess

    code = (
        "import sys, tinyts, tinyts.cli.serve, tinyts.serve; assert 'fastapi' not in sys.modules, 'fastapi'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_forecast_refuses_unordered_or_duplicate_timestamps(client: TestClient) -> None:
    """Issue 15: descending or repeated timestamps used to give backward or repeated future timestamps."""
    hourly = [f"2024-03-01T{h:02d}:00:00" for h in range(24)]
    for stamps, words in ((hourly[::-1], "increasing order"), ([*hourly[:23], hourly[22]], "more than once")):
        body = {
            "series": [{"id": "h", "values": _wave(24, missing=(3,)), "timestamps": stamps}],
            "horizon": 4,
        }
        detail = _error(client, "/v1/forecast", body, 422)
        assert words in json.dumps(detail)
