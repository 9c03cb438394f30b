"""The FastAPI application: ``/health`` and the versioned task routes under ``/v1/``.

::

    from tinyts.serve import ServeConfig, create_app
    app = create_app(ServeConfig(pulse="tinypulse", cast="runs/tinycast/final"))
    # uvicorn.run(app, host="127.0.0.1", port=8000)  -- or `tinyts serve`

Models are loaded once, when the app is created. Task routes are plain (sync) functions: FastAPI runs
them in its thread pool, so the event loop stays free while a model computes. Client errors are
``{"detail": "..."}`` with 413 (a limit), 422 (bad input, in the library's words) or 503 (the model of
that route was not loaded); request bodies that do not match the schema get FastAPI's usual 422 list.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tinyts import __version__
from tinyts.serve import schemas as S
from tinyts.serve.config import ServeConfig, load_models
from tinyts.serve.payload import TOO_LARGE, RequestError
from tinyts.serve.tasks import Runner

_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": S.ErrorBody, "description": "A request limit was exceeded."},
    422: {"description": "Invalid input (the message says which series and why)."},
    503: {"model": S.ErrorBody, "description": "The model of this route was not loaded at start-up."},
}


class BodyLimit:
    """Pure ASGI middleware: answer 413 to request bodies over ``max_bytes`` before anything parses them.

    A ``Content-Length`` over the limit is refused at once; otherwise (also for chunked uploads) the body
    is read up to the limit and handed on, so a huge body is never held in memory.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send, status: int, message: str) -> None:
        response = JSONResponse({"detail": message}, status_code=status, headers={"Connection": "close"})
        await response({"type": "http"}, _no_receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = (
            f"the request body is larger than this server accepts ({self.max_bytes:,} bytes, "
            "--max-body-bytes); send fewer or shorter series per request"
        )
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await self._reject(send, 400, "invalid Content-Length header")
                return
            if size > self.max_bytes:
                await self._reject(send, TOO_LARGE, too_big)
                return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            total += len(body)
            if total > self.max_bytes:
                await self._reject(send, TOO_LARGE, too_big)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.

    Validation errors echo the offending input, and a client may send the ``NaN`` / ``Infinity``
    tokens, which strict JSON (what responses are written in) cannot hold.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


async def _no_receive() -> Message:  # pragma: no cover - a JSONResponse never reads the request
    return {"type": "http.disconnect"}


def create_app(config: ServeConfig | None = None, **settings: Any) -> FastAPI:
    """Build the service; loads the models of ``config`` once.

    Parameters
    ----------
    config : ServeConfig, optional
        Models and limits; default ``ServeConfig()`` (bundled ``tinypulse`` only).
    **settings
        Fields of :class:`ServeConfig` given directly instead (``create_app(cast="dir")``); with
        ``config`` they override its fields.

    Returns
    -------
    fastapi.FastAPI

    Raises
    ------
    tinyts.models.base.CheckpointError
        A model name or folder that cannot be loaded.
    ValueError
        A URL given as a model, or a limit that is not a positive int.
    """
    import dataclasses

    config = dataclasses.replace(config or ServeConfig(), **settings)
    runner = Runner(config, load_models(config))
    app = FastAPI(
        title="tinyts",
        version=__version__,
        description="Tiny pre-trained time-series models on a CPU: imputation, anomaly detection, "
        "embeddings, forecasting and classification over HTTP.",
        docs_url=None,  # the Swagger / ReDoc pages load scripts from a CDN; /openapi.json stays
        redoc_url=None,
    )
    app.state.runner = runner
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler fails (HTTP 500) when the echoed input holds NaN or Infinity
        return JSONResponse({"detail": _json_safe(jsonable_encoder(exc.errors()))}, status_code=422)

    @app.exception_handler(RequestError)
    async def _request_error(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.get("/health", response_model=S.Health, tags=["service"])
    def health() -> S.Health:
        """Liveness, version, loaded models and limits."""
        return S.Health(
            status="ok",
            version=__version__,
            models=[
                S.ModelInfo(role=m.role, name=m.name, type=m.type, parameters=m.parameters)
                for m in runner.models.loaded()
            ],
            limits=config.limits(),
        )

    @app.post("/v1/impute", response_model=S.ImputeResponse, responses=_ERRORS, tags=["tasks"])
    def impute(req: S.ImputeRequest) -> S.ImputeResponse:
        """Fill the missing (null) values of every series (TinyPulse); observed values come back as given."""
        return runner.impute(req)

    @app.post("/v1/detect", response_model=S.DetectResponse, responses=_ERRORS, tags=["tasks"])
    def detect(req: S.DetectRequest) -> S.DetectResponse:
        """One anomaly score in [0, 1] per time point of every series (TinyPulse, zero-shot)."""
        return runner.detect(req)

    @app.post("/v1/embed", response_model=S.EmbedResponse, responses=_ERRORS, tags=["tasks"])
    def embed(req: S.EmbedRequest) -> S.EmbedResponse:
        """One embedding vector per series (TinyPulse register or detail embeddings)."""
        return runner.embed(req)

    @app.post("/v1/forecast", response_model=S.ForecastResponse, responses=_ERRORS, tags=["tasks"])
    def forecast(req: S.ForecastRequest) -> S.ForecastResponse:
        """Mean and quantile forecasts ``horizon`` steps past the end of every series (TinyCast)."""
        return runner.forecast(req)

    @app.post("/v1/classify", response_model=S.ClassifyResponse, responses=_ERRORS, tags=["tasks"])
    def classify(req: S.ClassifyRequest) -> S.ClassifyResponse:
        """Class label and probabilities of every series (a fitted PulseClassifier)."""
        return runner.classify(req)

    return app
