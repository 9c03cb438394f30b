"""Where the CPU goes in a Ray (or Dask) embedding job, 1 and 2 workers, per process kind.

Process kinds: the driver, the worker processes (per pid too; Ray's ``ray::`` processes, Dask's processes
spawned by the driver), raylet, GCS, ... (on Dask the scheduler and the nannies run in the driver
process). Usage (idle machine):
    [ENGINE=dask] WORKERS=1,2 OMP_WAIT_POLICY=PASSIVE python \
        benchmarks/experiments/distributed_ray_cpu_probe.py N_SERIES default,arrow
writes /tmp/probe/bulk_probe.json. Output of the 2026-12-07 runs: distributed_ray_cpu_probe.txt
"""

import json
import os
import sys
import time

import psutil
import torch

import tinyts
from tinyts.bench.suites import distributed as D
from tinyts.tasks.distributed import to_engine, warm_up

ENGINE = os.environ.get("ENGINE", "ray")


def kind(p):
    try:
        cmd = " ".join(p.cmdline())
    except psutil.Error:
        return None
    if p.pid == os.getpid():
        return "driver"
    if cmd.startswith("ray::"):
        return "ray_worker"
    try:
        if ENGINE == "dask" and os.getpid() in [q.pid for q in p.parents()]:
            return "dask_worker"
    except psutil.Error:
        return None
    for k in ("raylet", "gcs_server", "dashboard", "log_monitor", "monitor.py", "runtime_env"):
        if k in cmd:
            return k
    if "python" in cmd and "ray" in cmd:
        return "ray_other"
    return None


def snap():
    out = {}
    for p in psutil.process_iter():
        k = kind(p)
        if k is None:
            continue
        try:
            t = p.cpu_times()
            out[p.pid] = (k, t.user + t.system)
        except psutil.Error:
            pass
    # driver's own threads included in its cpu_times
    return out


def diff(a, b):
    res = {}
    per = {
        pid: round(t - a.get(pid, (k, 0.0))[1], 2)
        for pid, (k, t) in b.items()
        if k.endswith("_worker") and t - a.get(pid, (k, 0.0))[1] > 0.05
    }
    res["per_worker"] = per
    for pid, (k, t) in b.items():
        t0 = a.get(pid, (k, 0.0))[1]
        res[k] = res.get(k, 0.0) + t - t0
    return {k: (round(v, 2) if k != "per_worker" else v) for k, v in res.items()}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    paths = sys.argv[2].split(",") if len(sys.argv) > 2 else ["default"]
    torch.set_num_threads(1)
    bulk = D.make_frame(n, seed=2)
    model = tinyts.load("tinypulse")
    D._call("embed", model, D.make_frame(8, seed=1))
    report = {}
    t0 = time.perf_counter()
    ref = D._call("embed", model, bulk)
    mem = time.perf_counter() - t0
    print(f"in memory {n}: {mem:.2f} s", flush=True)
    report["in_memory"] = mem
    for workers in [int(w) for w in os.environ.get("WORKERS", "1,2").split(",")]:
        with D._cluster(ENGINE, workers) as (_peaks, place):
            D._on_engine("embed", "tinypulse", to_engine(D.make_frame(8, seed=1), ENGINE, 2 * workers))
            warm_up(ENGINE, "tinypulse", "embed")
            for path in paths:
                data = place(to_engine(bulk, ENGINE, 2 * workers, arrow=(path == "arrow")))
                for rep in range(3):
                    a = snap()
                    t = time.perf_counter()
                    out = D._on_engine("embed", "tinypulse", data)
                    wall = time.perf_counter() - t
                    b = snap()
                    cpu = diff(a, b)
                    assert D._same(ref, out, ["unique_id"])
                    load = os.getloadavg()[0]
                    print(
                        f"{workers} workers {path} rep {rep}: wall {wall:.2f} s cpu {cpu} load {load:.2f}",
                        flush=True,
                    )
                    report[f"{workers}_{path}_{rep}"] = {"wall": wall, "cpu": cpu}
    json.dump(report, open("/tmp/probe/bulk_probe.json", "w"), indent=1)


if __name__ == "__main__":
    main()
