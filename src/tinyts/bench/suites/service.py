"""``service``: the HTTP service (``tinyts serve``) under a bounded load of concurrent clients on loopback.

The server runs in its own process (``python -m tinyts.cli.serve``, bundled TinyPulse, default limits and
``--max-concurrent``) on a free 127.0.0.1 port. After ``/health`` answers and a few warm-up requests,
each route in :data:`ROUTES` gets a fixed number of requests from ``clients`` threads, each with its own
keep-alive connection (the stdlib's ``http.client``: the client costs little next to the server). Every
request carries one series of :data:`LENGTH` points. Reported per route: requests per second
(``throughput``: successful requests / wall time of the route), ``latency_ms`` at the 0.5 and 0.99
quantiles (extra key ``quantile``; client-side, request sent to body read) and the error count (extra
key ``errors``: non-200 answers and failed connections). The server's peak RSS (``VmHWM``; current RSS
where /proc is missing) is read after the warm-up (``phase=start``) and after the load (``phase=end``):
their difference is the memory the load added. Every route stops after :data:`ROUTE_DEADLINE` seconds
even if requests remain, and the server is stopped at the end, so the suite always ends by itself.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

from tinyts.bench.core import BenchContext, Row, SuiteResult

NAME = "service"
DESCRIPTION = (
    "tinyts serve on loopback: requests/s, p50/p99 latency, errors and server peak RSS for impute, "
    "detect and embed under concurrent clients"
)
#: measured on generated inputs: runs without a data folder
NEEDS_DATA = False

DATASET = "synthetic"
LENGTH = 512
#: route name -> (path, request options besides the series)
ROUTES: dict[str, tuple[str, dict[str, Any]]] = {
    "impute": ("/v1/impute", {}),
    "detect": ("/v1/detect", {"mode": "ensemble"}),
    "embed": ("/v1/embed", {}),
}
#: (clients, requests per route, warm-up requests per route): full run and --quick
LOAD = (4, 200, 4)
QUICK_LOAD = (2, 6, 1)
ROUTE_DEADLINE = 120.0
STARTUP_TIMEOUT = 120.0
REQUEST_TIMEOUT = 60.0
QUANTILES = (0.5, 0.99)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _payload(route: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    t = np.arange(LENGTH)
    x = np.sin(2 * np.pi * t / 48) + 0.3 * np.sin(2 * np.pi * t / 7) + 0.1 * rng.standard_normal(LENGTH)
    values: list[float | None] = [round(float(v), 6) for v in x]
    if route == "impute":  # 10 % missing: a block and scattered points
        for i in [*range(200, 232), *rng.choice(LENGTH, 19, replace=False).tolist()]:
            values[i] = None
    body = {"series": [{"id": f"{route}-0", "values": values}], **ROUTES[route][1]}
    return json.dumps(body).encode()


def _post(conn: http.client.HTTPConnection, path: str, body: bytes) -> int:
    conn.request("POST", path, body=body, headers={"content-type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    return int(resp.status)


def _peak_rss_mb(pid: int) -> tuple[float, str]:
    """The process' peak RSS from /proc (Linux), else its current RSS (psutil)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024, "VmHWM"
    except OSError:
        pass
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20, "rss"


def _load(port: int, path: str, body: bytes, clients: int, total: int, deadline: float) -> dict[str, Any]:
    """``total`` requests from ``clients`` threads (fewer if ``deadline`` passes); latencies and errors."""
    lock = threading.Lock()
    left = [total]
    latencies: list[float] = []
    errors = [0]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        try:
            while True:
                with lock:
                    if left[0] <= 0 or time.monotonic() > deadline:
                        return
                    left[0] -= 1
                start = time.perf_counter()
                try:
                    ok = _post(conn, path, body) == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()  # reconnect on the next request
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
                elapsed = time.perf_counter() - start
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors[0] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT)
    wall = time.perf_counter() - start
    return {"latencies": latencies, "errors": errors[0], "wall": wall, "sent": total - left[0]}


def _start_server(port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "tinyts.cli.serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--pulse", "tinypulse", "--log-level", "warning"]
    # output to a file, not a pipe: a pipe nobody reads could fill up and block the server
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, timeout: float, log: IO[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace").strip()[-2000:]
            raise RuntimeError(f"the server exited with {proc.returncode}: {err}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
        try:
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /health within {timeout:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return int(proc.returncode)


def run(ctx: BenchContext) -> SuiteResult:
    result = SuiteResult()
    routes = ctx.select_methods(ROUTES, result, "service")
    try:
        from tinyts.serve import require_serve

        require_serve("fastapi", "uvicorn")
        import psutil  # noqa: F401
    except ImportError as exc:
        result.skip("service", f"needs the serve extra and psutil: {exc}")
        return result
    clients, total, warmup = QUICK_LOAD if ctx.quick else LOAD
    port = _free_port()
    log = tempfile.TemporaryFile()
    started = time.perf_counter()
    proc = _start_server(port, log)
    try:
        try:
            _wait_healthy(proc, port, STARTUP_TIMEOUT, log)
        except RuntimeError as exc:
            result.skip("service", str(exc))
            return result
        startup = time.perf_counter() - started
        bodies = {r: _payload(r, ctx.seed) for r in routes}
        for r in routes:
            _load(port, ROUTES[r][0], bodies[r], 1, warmup, time.monotonic() + ROUTE_DEADLINE)
        peak_start, source = _peak_rss_mb(proc.pid)
        for r in routes:
            out = _load(port, ROUTES[r][0], bodies[r], clients, total, time.monotonic() + ROUTE_DEADLINE)
            lat = np.asarray(out["latencies"]) * 1000
            ok = len(lat)
            extra = {"clients": clients, "requests": out["sent"], "errors": out["errors"]}
            result.add(Row(DATASET, r, "throughput", ok / out["wall"], seconds=out["wall"], extra=extra))
            for q in QUANTILES:
                value = float(np.quantile(lat, q)) if ok else float("nan")
                result.add(Row(DATASET, r, "latency_ms", value, extra={"quantile": q, "clients": clients}))
            mean_ms, max_ms = (float(lat.mean()), float(lat.max())) if ok else (float("nan"),) * 2
            result.notes.append(
                f"{r} ({ROUTES[r][0]}): {out['sent']} requests from {clients} clients in "
                f"{out['wall']:.1f} s, {ok} answered 200, {out['errors']} errors; latency mean "
                f"{mean_ms:.1f} ms, max {max_ms:.1f} ms"
            )
        peak_end, _ = _peak_rss_mb(proc.pid)
        for phase, mb in (("start", peak_start), ("end", peak_end)):
            result.add(Row(DATASET, "server", "peak_mem_mb", mb, extra={"phase": phase}))
        result.notes += [
            f"Server: `python -m tinyts.cli.serve --pulse tinypulse` (default limits, --max-concurrent 2), "
            f"up in {startup:.1f} s; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
            f"{os.cpu_count()} CPUs seen, shared with the clients.",
            f"Load: per route {warmup} warm-up request(s) (not counted), then {total} requests of one "
            f"{LENGTH}-point series from {clients} concurrent keep-alive clients on loopback; each route "
            f"stops after {ROUTE_DEADLINE:.0f} s. impute: 10 % missing; detect: mode=ensemble; embed: "
            "register, 16 shifts (the defaults).",
            f"Memory ({source}): peak RSS {peak_start:.0f} MB after the warm-up, {peak_end:.0f} MB after the "
            f"load (+{peak_end - peak_start:.0f} MB).",
        ]
    finally:
        code = _stop(proc)
        log.close()
    if code not in (0, -signal.SIGINT):
        result.notes.append(f"the server exited with code {code} when stopped")
    return result


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - a convenience for manual runs
    """``python -m tinyts.bench.suites.service [--quick] [OUT]``: run the suite and print its rows."""
    args = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in args
    rest = [a for a in args if a != "--quick"]
    ctx = BenchContext(data_dir=Path("."), out_dir=Path(rest[0] if rest else "."), quick=quick)
    res = run(ctx)
    for row in res.rows:
        print(json.dumps(row.to_json()))
    for note in res.notes:
        print("#", note)
    for case, why in res.skipped:
        print("# skipped", case, why)


if __name__ == "__main__":  # pragma: no cover
    main()
