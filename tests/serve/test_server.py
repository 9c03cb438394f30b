"""``tinyts serve`` as a command, and a real server process on a loopback port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from tinyts.cli_serve import register


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """A root with a callback keeps `serve` a sub-command, as in `tinyts`."""

    register(app)
    return app


def test_cli_help_lists_the_options() -> None:
    res = CliRunner().invoke(_cli(), ["serve", "--help"])
    assert res.exit_code == 0, res.output
    for option in ("--host", "--port", "--pulse", "--cast", "--classifier", "--max-series", "--max-points"):
        assert option in res.output


def test_cli_refuses_urls_and_unknown_models(tmp_path: Path) -> None:
    res = CliRunner().invoke(_cli(), ["serve", "--pulse", "https://example.com/model"])
    assert res.exit_code == 2 and "is a URL" in res.output
    res = CliRunner().invoke(_cli(), ["serve", "--pulse", "none", "--cast", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "unknown model" in res.output


def test_cli_passes_settings_to_uvicorn(monkeypatch: pytest.MonkeyPatch, cast_dir: Path) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        seen.update(kwargs, app=app)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    args = ["serve", "--pulse", "none", "--cast", str(cast_dir), "--port", "8123", "--max-series", "3"]
    res = CliRunner().invoke(_cli(), [*args, "--max-points", "99", "--host", "0.0.0.0"])
    assert res.exit_code == 0, res.output
    assert seen["host"] == "0.0.0.0" and seen["port"] == 8123
    config = seen["app"].state.runner.config
    assert (config.max_series, config.max_points, config.pulse) == (3, 99, None)
    assert "cast=tinycast-tiny" in res.output


# ------------------------------------------------------------------------------------ a real server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            status, health = _request(base + "/health", timeout=2.0)
            if status == 200:
                return dict(health)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"no /health answer within {timeout} s")


@pytest.mark.slow  # a server process: torch and FastAPI imports, ~5-10 s on 2 shared cores
def test_real_server_process(cast_dir: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "tinyts.cli_serve", "--port", str(port), "--cast", str(cast_dir)]
    cmd += ["--max-series", "4", "--log-level", "warning"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        health = _wait_healthy(proc, base)
        assert {m["role"] for m in health["models"]} == {"pulse", "cast"}

        x = np.sin(np.arange(512) / 9.0)
        values: list[float | None] = [float(v) for v in x]
        values[100:110] = [None] * 10
        series = [{"id": "s", "values": values}]
        jobs = [
            ("/v1/impute", {"series": series}),
            ("/v1/detect", {"series": series, "mode": "time"}),
            ("/v1/embed", {"series": series, "shifts": 2}),
            ("/v1/forecast", {"series": series, "horizon": 8}),
        ] * 3
        with ThreadPoolExecutor(4) as pool:  # concurrent clients
            answers = list(pool.map(lambda job: _request(base + job[0], job[1]), jobs))
        assert [status for status, _ in answers] == [200] * len(jobs)
        for i in range(4):  # the same request gives the same answer, whatever ran beside it
            assert answers[i][1] == answers[i + 4][1] == answers[i + 8][1]
        filled = answers[0][1]["series"][0]["values"]
        assert all(v is not None for v in filled) and filled[:100] == values[:100]

        status, body = _request(base + "/v1/classify", {"series": series})
        assert status == 503 and "--classifier" in body["detail"]
        status, body = _request(base + "/v1/impute", {"series": series * 5})
        assert status == 413 and "--max-series" in body["detail"]
        status, body = _request(base + "/v1/impute", {"series": [{"id": "z", "values": [None, None]}]})
        assert status == 422 and "entirely NaN" in body["detail"]
        assert proc.poll() is None  # errors never take the server down
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - only when shutdown hangs
            proc.kill()
            proc.wait()
            raise
    assert proc.returncode == 0, proc.stderr.read().decode()  # type: ignore[union-attr]
