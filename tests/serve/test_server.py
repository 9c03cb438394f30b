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

from tinyts.cli.serve import register


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
def _start_server(cast_dir: Path, tries: int = 3) -> tuple[subprocess.Popen[bytes], str, dict[str, Any]]:
    """A server process on a free port, healthy; another port when the chosen one was taken meanwhile
    (a port freed by :func:`_free_port` can be grabbed by another process, e.g. a Ray or Dask worker
    left by earlier tests, before the server binds it)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for attempt in range(tries):
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "tinyts.cli.serve", "--port", str(port), "--cast", str(cast_dir)]
        cmd += ["--max-series", "4", "--log-level", "warning"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            return proc, base, _wait_healthy(proc, base)
        except AssertionError as exc:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if "address already in use" not in str(exc).lower() or attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def test_real_server_process(cast_dir: Path) -> None:
    proc, base, health = _start_server(cast_dir)
    try:
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


# ------------------------------------------------------------- issue 15: exposure, slow and big clients

TOKEN = "a-test-token-0123456789abcdef"


def test_cli_warns_beyond_loopback_without_a_token(monkeypatch: pytest.MonkeyPatch, cast_dir: Path) -> None:
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    monkeypatch.delenv("TINYTS_SERVE_TOKEN", raising=False)
    base = ["serve", "--pulse", "none", "--cast", str(cast_dir)]
    res = CliRunner().invoke(_cli(), [*base, "--host", "0.0.0.0"])
    assert res.exit_code == 0, res.output
    assert "warning: listening on 0.0.0.0, beyond this machine, without a token" in res.output
    assert "TINYTS_SERVE_TOKEN" in res.output
    for host in ("127.0.0.1", "localhost", "::1"):
        res = CliRunner().invoke(_cli(), [*base, "--host", host])
        assert res.exit_code == 0 and "warning" not in res.output, (host, res.output)
    # the token from the environment: no warning, and the app requires it
    res = CliRunner().invoke(_cli(), [*base, "--host", "0.0.0.0"], env={"TINYTS_SERVE_TOKEN": TOKEN})
    assert res.exit_code == 0 and "warning" not in res.output and "bearer token required" in res.output
    assert seen["app"].state.runner.config.token == TOKEN
    assert TOKEN not in res.output
    res = CliRunner().invoke(_cli(), [*base, "--token", "short"])
    assert res.exit_code == 2 and "at least 16" in res.output


def test_cli_passes_connection_limits_to_uvicorn(monkeypatch: pytest.MonkeyPatch, cast_dir: Path) -> None:
    import uvicorn

    from tinyts.serve.server import GuardedH11Protocol

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    args = [
        "serve",
        "--pulse",
        "none",
        "--cast",
        str(cast_dir),
        "--header-timeout",
        "3",
        "--body-timeout",
        "7",
    ]
    args += ["--timeout-keep-alive", "2", "--max-connections", "20", "--max-output-values", "500"]
    res = CliRunner().invoke(_cli(), [*args, "--max-request-values", "900"])
    assert res.exit_code == 0, res.output
    protocol = seen["http"]
    assert issubclass(protocol, GuardedH11Protocol)
    assert (protocol.header_timeout, protocol.max_connections) == (3.0, 20)
    assert seen["timeout_keep_alive"] == 2 and seen["backlog"] == 20
    config = seen["app"].state.runner.config
    assert (config.body_timeout, config.max_output_values, config.max_request_values) == (7.0, 500, 900)


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM"))


def _recv_or_closed(sock: socket.socket, timeout: float) -> bytes | None:
    """What the server sent before closing (b"" = closed silently); None = still open after timeout."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return data


@pytest.mark.slow  # a server process; ~15 s on 2 shared cores
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and sets RLIMIT_NOFILE")
def test_real_server_under_hostile_clients(cast_dir: Path, tmp_path: Path) -> None:
    """200 half-open connections with 128 open files, a near-limit body, and a bearer token."""
    import resource

    def few_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "tinyts.cli.serve", "--port", str(port), "--cast", str(cast_dir)]
    cmd += ["--header-timeout", "1", "--body-timeout", "1.5", "--log-level", "warning"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TINYTS_SERVE_TOKEN": TOKEN}
    log = (tmp_path / "server.log").open("w")  # a file: a full pipe would block the server's logging
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=few_files)
    socks: list[socket.socket] = []
    try:
        _wait_healthy(proc, base)
        # --- 200 half-open requests: 100 without complete headers, 100 with a stalled body
        for i in range(200):
            s = socket.create_connection(("127.0.0.1", port))
            head = b"POST /v1/impute HTTP/1.1\r\nHost: x\r\n"
            if i % 2:
                head += f"Authorization: Bearer {TOKEN}\r\nContent-Length: 1000\r\n\r\n".encode() + b'{"ser'
            s.sendall(head)
            socks.append(s)
        t = time.monotonic()
        status, health = _request(base + "/health", timeout=10.0)
        assert status == 200 and time.monotonic() - t < 3.0  # the cap closed the oldest waiting ones
        assert health["limits"]["max_request_values"] == 1_000_000
        answers = [_recv_or_closed(s, 8.0) for s in socks]
        assert all(a is not None for a in answers), "a half-open connection was never closed"
        timed_out = [a for a in answers if a and b" 408 " in a.split(b"\r\n", 1)[0]]
        assert timed_out and all(b"--body-timeout" in a for a in timed_out)
        n_fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
        assert n_fds < 64, n_fds

        # --- the token: required on task routes, not on /health
        series = {"series": [{"id": "s", "values": [float(v) for v in np.sin(np.arange(64) / 5.0)]}]}
        status, body = _request(base + "/v1/impute", series)
        assert status == 401 and "Authorization: Bearer" in body["detail"]
        req = urllib.request.Request(
            base + "/v1/impute",
            data=json.dumps(series).encode(),
            headers={"content-type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200

        # --- a body of 3 million values (6 MB, under --max-body-bytes): refused while it arrives
        before = _peak_rss_mb(proc.pid)
        n = 3_000_000
        big = ('{"series": [{"id": "a", "values": [' + ",".join(["0"] * n) + "]}]}").encode()
        latencies: list[float] = []
        result: dict[str, Any] = {}

        def send_big() -> None:
            t0 = time.monotonic()
            req = urllib.request.Request(
                base + "/v1/impute",
                data=big,
                headers={"content-type": "application/json", "Authorization": f"Bearer {TOKEN}"},
            )
            try:
                urllib.request.urlopen(req, timeout=120)
            except urllib.error.HTTPError as err:
                result.update(status=err.code, body=json.loads(err.read()))
            result["seconds"] = time.monotonic() - t0

        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(send_big)
            while not future.done():
                t0 = time.monotonic()
                assert _request(base + "/health", timeout=30.0)[0] == 200
                latencies.append(time.monotonic() - t0)
                time.sleep(0.05)
            future.result()
        assert result["status"] == 413 and "--max-request-values" in result["body"]["detail"]
        assert result["seconds"] < 5.0 and max(latencies) < 2.0, (result["seconds"], latencies)
        assert _peak_rss_mb(proc.pid) - before < 100
        assert proc.poll() is None
    finally:
        for s in socks:
            s.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - only when shutdown hangs
            proc.kill()
            proc.wait()
            raise
        log.close()
    assert proc.returncode == 0, (tmp_path / "server.log").read_text()[-3000:]
