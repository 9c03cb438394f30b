"""Measure ``tinyts serve`` under hostile clients (issue 15; the figures in docs/serve.md).

Not a test (pytest collects only ``test_*.py``). Each case starts a real server (bundled models) on a
free loopback port::

    python tests/serve/measure_hostile.py big-body [N_VALUES] [-- SERVER OPTIONS]
    python tests/serve/measure_hostile.py slow-clients [-- SERVER OPTIONS]

``big-body`` posts one series of ``N_VALUES`` zeros (default: as many as fit in 16 MiB) to
``/v1/impute`` and reports the answer's time, the server's peak RSS and the latency of ``/health``
polled meanwhile. ``slow-clients`` starts the server with ``ulimit -n 128``, opens 200 half-open
requests (100 without complete headers, 100 with a stalled body) and reports whether ``/health`` is
answered, how many of them the server closed and its open file descriptors. Server logs go to
``$SERVER_LOG`` (default /dev/null): a pipe left unread would block the server once full.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _memory_mb(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/status") as f:
        return {
            line.split(":")[0]: int(line.split()[1]) // 1024
            for line in f
            if line.startswith(("VmHWM", "VmRSS"))
        }


def _start(extra: list[str], few_files: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "tinyts.cli.serve", "--port", str(port), "--log-level", "warning", *extra]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))

    log = open(os.environ.get("SERVER_LOG", os.devnull), "w")  # open for the server's lifetime
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=limit if few_files else None,
    )
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            urllib.request.urlopen(base + "/health", timeout=2).read()
            return proc, base
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if proc.poll() is not None:
                raise SystemExit(f"the server exited with {proc.returncode}") from None
            time.sleep(0.2)


def big_body(n: int | None, extra: list[str]) -> None:
    proc, base = _start(extra, few_files=False)
    print("server started:", _memory_mb(proc.pid))
    n = n or (16 * 2**20 - 2000 - 60) // 2
    body = ('{"series": [{"id": "a", "values": [' + ",".join(["0"] * n) + "]}]}").encode()
    print(f"body: {len(body):,} bytes, {n:,} values")
    latencies: list[float] = []
    result: dict[str, Any] = {}
    done = threading.Event()

    def send() -> None:
        t = time.monotonic()
        req = urllib.request.Request(
            base + "/v1/impute", data=body, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                result["status"] = r.status
                r.read()
        except urllib.error.HTTPError as e:
            result.update(status=e.code, detail=e.read()[:200].decode())
        except OSError as e:
            result["status"] = repr(e)
        result["seconds"] = round(time.monotonic() - t, 2)
        done.set()

    threading.Thread(target=send).start()
    while not done.is_set():
        t = time.monotonic()
        urllib.request.urlopen(base + "/health", timeout=600).read()
        latencies.append(time.monotonic() - t)
        time.sleep(0.1)
    print("answer:", result)
    print("server memory after:", _memory_mb(proc.pid))
    print(f"/health meanwhile: {len(latencies)} probes, at most {max(latencies) * 1000:.0f} ms")
    proc.kill()
    proc.wait()


def slow_clients(extra: list[str]) -> None:
    proc, base = _start(extra, few_files=True)
    port = int(base.rsplit(":", 1)[1])
    socks = []
    for i in range(200):
        s = socket.create_connection(("127.0.0.1", port))
        head = b"POST /v1/impute HTTP/1.1\r\nHost: x\r\n"
        if i % 2:
            head += b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + b'{"series"'
        s.sendall(head)
        socks.append(s)
    print("200 half-open requests sent (100 without complete headers, 100 with a stalled body)")
    t0 = time.monotonic()
    for attempt in range(3):
        t = time.monotonic()
        try:
            urllib.request.urlopen(base + "/health", timeout=10).read()
            print(f"/health answered in {time.monotonic() - t:.2f} s (attempt {attempt + 1})")
            break
        except OSError as e:
            print(f"/health failed after {time.monotonic() - t:.1f} s: {e!r}")
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            s.recv(4096)
            closed += 1
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
    print(f"{closed} of 200 closed by the server {time.monotonic() - t0:.1f} s after they were sent")
    print("server open file descriptors:", len(os.listdir(f"/proc/{proc.pid}/fd")))
    for s in socks:
        s.close()
    proc.kill()
    proc.wait()


def main(argv: list[str]) -> None:
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = argv[: argv.index("--")] if "--" in argv else argv
    if args[:1] == ["big-body"]:
        big_body(int(args[1]) if len(args) > 1 else None, extra)
    elif args[:1] == ["slow-clients"]:
        slow_clients(extra)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
