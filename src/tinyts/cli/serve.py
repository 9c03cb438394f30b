"""``tinyts serve``: run the HTTP service (FastAPI + uvicorn) over the loaded tinyts models.

``python -m tinyts.cli.serve [OPTIONS]`` runs the same command on its own. FastAPI and uvicorn are
imported only when the command runs (``pip install "tinyts[serve]"``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from tinyts.cli.common import command
from tinyts.serve.config import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_HORIZON,
    DEFAULT_MAX_OUTPUT_VALUES,
    DEFAULT_MAX_POINTS,
    DEFAULT_MAX_REQUEST_VALUES,
    DEFAULT_MAX_SERIES,
    TOKEN_ENV,
)

# the defaults of tinyts.serve.server (that module imports uvicorn, this one must not)
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_KEEP_ALIVE = 5
DEFAULT_MAX_CONNECTIONS = 256


def _warn(message: str) -> None:
    typer.secho(f"warning: {message}", fg=typer.colors.YELLOW, err=True)


def serve_cmd(
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on (127.0.0.1 = this machine only; any other address warns unless a "
            "--token is set)."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    pulse: Annotated[
        str,
        typer.Option(
            help="TinyPulse (impute, detect, embed): bundled name or checkpoint folder; 'none' = off."
        ),
    ] = "tinypulse",
    cast: Annotated[
        str | None,
        typer.Option(
            help="TinyCast (forecast): bundled name or checkpoint folder (default: bundled if any)."
        ),
    ] = None,
    classifier: Annotated[
        str | None, typer.Option(help="Classifier folder written by `tinyts classify fit` (classify).")
    ] = None,
    max_series: Annotated[int, typer.Option("--max-series", min=1, help="Most series per request.")] = (
        DEFAULT_MAX_SERIES
    ),
    max_points: Annotated[
        int, typer.Option("--max-points", min=1, help="Most values per series (channels x time points).")
    ] = DEFAULT_MAX_POINTS,
    max_body_bytes: Annotated[
        int, typer.Option("--max-body-bytes", min=1, help="Largest request body in bytes.")
    ] = DEFAULT_MAX_BODY_BYTES,
    max_horizon: Annotated[
        int, typer.Option("--max-horizon", min=1, help="Longest forecast horizon.")
    ] = DEFAULT_MAX_HORIZON,
    max_concurrent: Annotated[
        int, typer.Option("--max-concurrent", min=1, help="Model calls running at once (others wait).")
    ] = 2,
    max_request_values: Annotated[
        int,
        typer.Option(
            "--max-request-values",
            min=1,
            help="Most values and timestamps per request, all series together (counted while the body "
            "arrives).",
        ),
    ] = DEFAULT_MAX_REQUEST_VALUES,
    max_output_values: Annotated[
        int,
        typer.Option(
            "--max-output-values",
            min=1,
            help="Most numbers per response (forecast: channels x horizon x (quantiles + 1); embed: the "
            "embedding widths), refused before the model runs.",
        ),
    ] = DEFAULT_MAX_OUTPUT_VALUES,
    body_timeout: Annotated[
        float,
        typer.Option("--body-timeout", min=0.001, help="Seconds to receive a whole request body (408)."),
    ] = DEFAULT_BODY_TIMEOUT,
    header_timeout: Annotated[
        float,
        typer.Option(
            "--header-timeout",
            min=0.001,
            help="Seconds to receive a request's headers, from the connection or the previous answer; "
            "the connection is closed beyond.",
        ),
    ] = DEFAULT_HEADER_TIMEOUT,
    timeout_keep_alive: Annotated[
        int,
        typer.Option("--timeout-keep-alive", min=1, help="Seconds an idle keep-alive connection stays open."),
    ] = DEFAULT_KEEP_ALIVE,
    max_connections: Annotated[
        int,
        typer.Option(
            "--max-connections",
            min=1,
            help="Most open connections; beyond, the one waiting longest for its client is closed "
            "(lowered to (ulimit -n - 64) / 2 if need be).",
        ),
    ] = DEFAULT_MAX_CONNECTIONS,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar=TOKEN_ENV,
            show_envvar=True,
            help="Require 'Authorization: Bearer TOKEN' on every route but /health (prefer the "
            "environment variable: a command line is visible to other users).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Serve impute, detect, embed, forecast and classify over HTTP (models loaded once, offline)."""
    from tinyts.serve import require_serve

    require_serve("fastapi", "uvicorn")
    import uvicorn

    from tinyts.models.base import bundled_names
    from tinyts.serve import ServeConfig, create_app
    from tinyts.serve.server import fd_connection_cap, is_loopback, uvicorn_settings

    if cast is None and "tinycast" in bundled_names():
        cast = "tinycast"
    config = ServeConfig(
        pulse=None if pulse.lower() == "none" else pulse,
        cast=cast,
        classifier=classifier,
        max_body_bytes=max_body_bytes,
        max_series=max_series,
        max_points=max_points,
        max_horizon=max_horizon,
        max_concurrent=max_concurrent,
        max_request_values=max_request_values,
        max_output_values=max_output_values,
        body_timeout=body_timeout,
        token=token or None,
    )
    if token is not None and not token:
        raise ValueError(f"the token is empty (--token or {TOKEN_ENV}); give a long random string")
    app = create_app(config)
    cap, fd_limit = fd_connection_cap(max_connections)
    if cap < max_connections:
        _warn(
            f"--max-connections {max_connections} lowered to {cap}: the open-files limit is {fd_limit} "
            "(ulimit -n); the cap is at most half of it less 64 (raise it with ulimit -n)"
        )
    if not is_loopback(host) and config.token is None:
        _warn(
            f"listening on {host}, beyond this machine, without a token: anyone who can reach port "
            f"{port} can use the models. Set {TOKEN_ENV} (or --token) to require "
            "'Authorization: Bearer <token>', and put a TLS proxy in front for untrusted networks."
        )
    loaded = ", ".join(f"{m.role}={m.name}" for m in app.state.runner.models.loaded()) or "no models"
    auth = "; bearer token required" if config.token is not None else ""
    typer.echo(f"tinyts serve: {loaded}; http://{host}:{port}/health{auth}")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        **uvicorn_settings(header_timeout=header_timeout, keep_alive=timeout_keep_alive, max_connections=cap),
    )


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the root app."""
    command(app, serve_cmd, "serve")


def main() -> None:
    """``python -m tinyts.cli.serve``: the ``serve`` command as a program of its own."""
    standalone = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    command(standalone, serve_cmd)
    standalone()


if __name__ == "__main__":
    main()
