"""The FastAPI application: ``/health`` and the versioned task routes under ``/v1/``.

::

    from tinyts.serve import ServeConfig, create_app
    app = create_app(ServeConfig(pulse="tinypulse", cast="runs/tinycast/final"))
    # uvicorn.run(app, host="127.0.0.1", port=8000)  -- or `tinyts serve`

Models are loaded once, when the app is created. Task routes are plain (sync) functions that FastAPI
runs in its thread pool: the request body is parsed and validated there (not by FastAPI on the event
loop), the model computes there and the response is rendered to JSON there, so the event loop stays
free for ``/health`` and other clients. Client errors are ``{"detail": "..."}`` with 401 (a bearer token
is required), 408 (the body did not arrive in time), 413 (a limit), 422 (bad input, in the library's
words) or 503 (the model of that route was not loaded); request bodies that do not match the schema get
FastAPI's usual 422 list (at most :data:`MAX_ERRORS` entries, echoed input shortened).
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
import pydantic
import pydantic_core
from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tinyts import __version__
from tinyts.serve import schemas as S
from tinyts.serve.config import TOKEN_ENV, ServeConfig, load_models
from tinyts.serve.payload import TOO_LARGE, RequestError, too_many_values
from tinyts.serve.tasks import Runner

M = TypeVar("M", bound=pydantic.BaseModel)

UNAUTHORIZED = 401
TIMEOUT = 408
#: most validation errors listed in one 422 answer (the rest are counted in a last entry)
MAX_ERRORS = 20
#: longest string, and most items of a list or object, echoed back as the ``input`` of an error
MAX_ECHO = 200

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": S.ErrorBody, "description": "The server requires a bearer token (--token)."},
    408: {"model": S.ErrorBody, "description": "The request body did not arrive in time."},
    413: {"model": S.ErrorBody, "description": "A request limit was exceeded."},
    422: {"description": "Invalid input (the message says which series and why)."},
    503: {"model": S.ErrorBody, "description": "The model of this route was not loaded at start-up."},
}


def _structural_slack(max_series: int) -> int:
    """Commas a body may hold besides those between values and timestamps: between the fields of a
    series and between series, and between the top-level fields."""
    return 3 * max_series + 16


class BodyLimit:
    """Pure ASGI middleware: read a request body with limits, before anything parses it.

    - a ``Content-Length`` over ``max_bytes`` is refused at once (413); otherwise (also for chunked
      uploads) the body is read up to the limit, so a huge body is never held in memory;
    - the commas of the body are counted as it arrives: a JSON list of n items has n - 1 of them, so more
      than ``max_values`` (plus a slack for the commas between fields and series) means more values
      and timestamps than a request may hold, refused (413) before the body is parsed;
    - the whole body must arrive within ``timeout`` seconds of the headers (408 and the connection is
      closed), so a client trickling its upload cannot hold a connection and a buffer for ever.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        max_values: int | None = None,
        max_series: int = 1,
        timeout: float | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_values = max_values
        self.max_commas = None if max_values is None else max_values + _structural_slack(max_series)
        self.timeout = timeout

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
        total = commas = 0
        refusal: str | None = None  # once set, the rest of the body is read and dropped, then refused
        with anyio.move_on_after(self.timeout if self.timeout is not None else math.inf) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body = message.get("body", b"")
                total += len(body)
                if total > self.max_bytes:
                    await self._reject(send, TOO_LARGE, too_big)
                    return
                if refusal is None:
                    commas += body.count(b",")
                    if self.max_commas is not None and commas > self.max_commas:
                        refusal = too_many_values(f"more than {self.max_values:,}", self.max_values or 0)
                        chunks.clear()
                    else:
                        chunks.append(body)
                if not message.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            await self._reject(
                send,
                TIMEOUT,
                f"the request body did not arrive within {self.timeout:g} s of the headers "
                f"(--body-timeout); {total:,} bytes came",
            )
            return
        if refusal is not None:
            # answered only now: a server that closes while the client still sends makes the client
            # see a reset connection instead of the 413 and its message
            await self._reject(send, TOO_LARGE, refusal)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class TokenAuth:
    """Pure ASGI middleware: every route but ``/health`` needs ``Authorization: Bearer <token>``.

    The token is compared in constant time (:func:`hmac.compare_digest`); a request without it or with
    another one gets 401 with ``WWW-Authenticate: Bearer`` before its body is read.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == "/health" or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        sent = any(k == b"authorization" for k, _ in scope.get("headers") or [])
        message = (
            "the bearer token is not the one this server was started with"
            if sent
            else "this server requires a bearer token"
        )
        response = JSONResponse(
            {
                "detail": f"{message}: send the header 'Authorization: Bearer <token>' with the token "
                f"given to tinyts serve (--token or the {TOKEN_ENV} environment variable)"
            },
            status_code=UNAUTHORIZED,
            headers={"WWW-Authenticate": "Bearer", "Connection": "close"},
        )
        await response(scope, _no_receive, send)

    def _authorized(self, scope: Scope) -> bool:
        ok = False
        for key, value in scope.get("headers") or []:
            if key == b"authorization":
                scheme, _, credentials = value.strip().partition(b" ")
                # compare every header given, so the time taken does not depend on which one matched
                ok |= hmac.compare_digest(credentials.strip(), self.token) and scheme.lower() == b"bearer"
        return ok


def _json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` made safe to echo in a strict-JSON, UTF-8 error answer.

    Validation errors echo the offending input (and dict keys appear in ``loc``), and a client may send
    ``NaN`` / ``Infinity`` tokens (written as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``),
    lone UTF-16 surrogates such as ``"\\ud800"`` (which UTF-8 cannot encode: written as the escape
    ``\\ud800``) or huge values (strings cut at :data:`MAX_ECHO` characters, lists and objects at
    :data:`MAX_ECHO` items, nesting at 8 levels).
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        if len(value) > MAX_ECHO:
            value = value[:MAX_ECHO] + f"... ({len(value):,} characters)"
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, (dict, list, tuple)) and depth >= 8:
        return "..."
    if isinstance(value, dict):
        items = list(value.items())
        return {_json_safe(str(k)): _json_safe(v, depth + 1) for k, v in items[:MAX_ECHO]}
    if isinstance(value, (list, tuple)):
        out = [_json_safe(v, depth + 1) for v in value[:MAX_ECHO]]
        if len(value) > MAX_ECHO:
            out.append(f"... ({len(value):,} items)")
        return out
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _json_safe(str(value), depth)


def _client_errors(errors: list[Any]) -> list[Any]:
    """At most :data:`MAX_ERRORS` validation errors, JSON-safe; a last entry counts the others."""
    shown = [_json_safe(jsonable_encoder(e, custom_encoder={Exception: str})) for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        shown.append(
            {
                "type": "too_many_errors",
                "loc": ["body"],
                "msg": f"{len(errors) - MAX_ERRORS:,} more errors not listed; fix the ones above first",
            }
        )
    return shown


def _is_json(content_type: str | None) -> bool:
    """What FastAPI parses as JSON: no content type, ``application/json`` or ``application/*+json``."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = media.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def read_request(model: type[M], body: bytes, content_type: str | None, config: ServeConfig) -> M:
    """Parse and validate a request body (called in a worker thread, not on the event loop).

    The JSON is parsed by pydantic-core (``NaN`` / ``Infinity`` tokens allowed, as FastAPI allows them),
    the number of series is checked before the series are validated, and validation errors come back
    with ``loc`` starting at ``"body"`` as FastAPI writes them.

    Raises
    ------
    fastapi.exceptions.RequestValidationError
        A body that is not JSON, or not JSON of ``model``'s schema (422).
    RequestError
        More series than ``config.max_series`` (413).
    """
    if not _is_json(content_type):
        raise RequestValidationError(
            [
                {
                    "type": "content_type",
                    "loc": ("body",),
                    "msg": f"the body is sent as {content_type!r}; send JSON with the header "
                    "content-type: application/json",
                    "input": None,
                }
            ]
        )
    try:
        data = pydantic_core.from_json(body, allow_inf_nan=True)
    except ValueError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body",),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": str(exc)},
                }
            ]
        ) from None
    series = data.get("series") if isinstance(data, dict) else None
    if isinstance(series, list) and len(series) > config.max_series:
        raise RequestError(
            TOO_LARGE,
            f"the request has {len(series):,} series; this server accepts at most {config.max_series:,} "
            "per request (--max-series); split it into several requests",
        )
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
        for e in errors:
            e["loc"] = ("body", *e["loc"])
        raise RequestValidationError(errors) from None


def _render(result: pydantic.BaseModel) -> Response:
    """A response model as JSON text, rendered in the calling (worker) thread, not on the event loop."""
    return Response(content=result.model_dump_json(), media_type="application/json")


def _request_body_spec(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a route that reads its body itself."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


_REQUESTS: tuple[type[pydantic.BaseModel], ...] = (
    S.ImputeRequest,
    S.DetectRequest,
    S.EmbedRequest,
    S.ForecastRequest,
    S.ClassifyRequest,
)


async def _raw_body(request: Request) -> bytes:
    # already read (and limited) by BodyLimit: this only hands the bytes on
    return await request.body()


Body = Annotated[bytes, Depends(_raw_body)]


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
    app.add_middleware(
        BodyLimit,
        max_bytes=config.max_body_bytes,
        max_values=config.max_request_values,
        max_series=config.max_series,
        timeout=config.body_timeout,
    )
    if config.token is not None:
        app.add_middleware(TokenAuth, token=config.token)  # outermost: before the body is read

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler fails (HTTP 500) when the echoed input holds NaN, Infinity or a lone
        # surrogate, and would echo every one of a million bad values
        return JSONResponse({"detail": _client_errors(list(exc.errors()))}, status_code=422)

    @app.exception_handler(RequestError)
    async def _request_error(request: Request, exc: RequestError) -> JSONResponse:
        # messages quote ids and timestamps with repr(), which escapes lone surrogates; this is a guard
        detail = exc.message.encode("utf-8", "backslashreplace").decode("utf-8")
        return JSONResponse({"detail": detail}, status_code=exc.status)

    def task(
        path: str, model: type[M], response: type[pydantic.BaseModel], run: Callable[[M], pydantic.BaseModel]
    ) -> Callable[..., Response]:
        """Register a task route: body parsed, model run and answer rendered, all in the thread pool."""

        def endpoint(request: Request, body: Body) -> Response:
            req = read_request(model, body, request.headers.get("content-type"), config)
            return _render(run(req))

        endpoint.__name__ = path.rsplit("/", 1)[-1]
        endpoint.__doc__ = run.__doc__
        app.post(
            path,
            response_model=response,
            responses=_ERRORS,
            tags=["tasks"],
            openapi_extra=_request_body_spec(model),
            description=(run.__doc__ or "").strip(),
        )(endpoint)
        return endpoint

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

    def impute(req: S.ImputeRequest) -> S.ImputeResponse:
        """Fill the missing (null) values of every series (TinyPulse); observed values come back as given."""
        return runner.impute(req)

    def detect(req: S.DetectRequest) -> S.DetectResponse:
        """One anomaly score per time point of every series (TinyPulse, zero-shot; robust scale)."""
        return runner.detect(req)

    def embed(req: S.EmbedRequest) -> S.EmbedResponse:
        """One embedding vector per series (TinyPulse register, detail or pooled embeddings)."""
        return runner.embed(req)

    def forecast(req: S.ForecastRequest) -> S.ForecastResponse:
        """Mean and quantile forecasts ``horizon`` steps past the end of every series (TinyCast)."""
        return runner.forecast(req)

    def classify(req: S.ClassifyRequest) -> S.ClassifyResponse:
        """Class label and probabilities of every series (a fitted PulseClassifier)."""
        return runner.classify(req)

    task("/v1/impute", S.ImputeRequest, S.ImputeResponse, impute)
    task("/v1/detect", S.DetectRequest, S.DetectResponse, detect)
    task("/v1/embed", S.EmbedRequest, S.EmbedResponse, embed)
    task("/v1/forecast", S.ForecastRequest, S.ForecastResponse, forecast)
    task("/v1/classify", S.ClassifyRequest, S.ClassifyResponse, classify)

    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's schema plus the request bodies the task routes read themselves."""
        if app.openapi_schema is None:
            schema = default_openapi()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in _REQUESTS:
                js = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in js.pop("$defs", {}).items():
                    components.setdefault(name, sub)
                components[model.__name__] = js
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
