"""``tinyts serve``: run the HTTP service (FastAPI + uvicorn) over the loaded tinyts models.

``python -m tinyts.cli_serve [OPTIONS]`` runs the same command on its own. FastAPI and uvicorn are
imported only when the command runs (``pip install "tinyts[serve]"``).
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from tinyts.serve.config import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_HORIZON,
    DEFAULT_MAX_POINTS,
    DEFAULT_MAX_SERIES,
)


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1 = this machine only).")] = (
        "127.0.0.1"
    ),
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
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Serve impute, detect, embed, forecast and classify over HTTP (models loaded once, offline)."""
    from tinyts.serve import require_serve

    try:
        require_serve("fastapi", "uvicorn")
    except ImportError as exc:
        _fail(str(exc))
    import uvicorn

    from tinyts.models.base import CheckpointError, bundled_names
    from tinyts.serve import ServeConfig, create_app

    if cast is None and "tinycast" in bundled_names():
        cast = "tinycast"
    try:
        config = ServeConfig(
            pulse=None if pulse.lower() == "none" else pulse,
            cast=cast,
            classifier=classifier,
            max_body_bytes=max_body_bytes,
            max_series=max_series,
            max_points=max_points,
            max_horizon=max_horizon,
            max_concurrent=max_concurrent,
        )
        app = create_app(config)
    except (CheckpointError, ValueError, TypeError) as exc:
        _fail(str(exc))
    loaded = ", ".join(f"{m.role}={m.name}" for m in app.state.runner.models.loaded()) or "no models"
    typer.echo(f"tinyts serve: {loaded}; http://{host}:{port}/health")
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the root app."""
    app.command("serve")(serve_cmd)


def main() -> None:
    """``python -m tinyts.cli_serve``: the ``serve`` command as a program of its own."""
    standalone = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    standalone.command()(serve_cmd)
    standalone()


if __name__ == "__main__":
    main()
