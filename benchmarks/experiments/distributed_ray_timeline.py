"""Timeline of one Ray embed call: when the count and apply tasks run in each worker, against its wall.

Usage (idle machine):
    OMP_WAIT_POLICY=PASSIVE python benchmarks/experiments/distributed_ray_timeline.py 1000 2
Output of the 2026-12-07 run: distributed_ray_timeline.txt
"""

import glob
import os
import sys
import time

import ray
import torch

import tinyts
from tinyts.bench.suites import distributed as D
from tinyts.tasks import distributed as X

LOG = "/tmp/probe/tl"  # per-process task stamps
os.makedirs(LOG, exist_ok=True)
for f in glob.glob(LOG + "/*"):
    os.remove(f)


def stamp(name, fn):
    def wrapped(*a, **k):
        t0 = time.time()
        out = fn(*a, **k)
        t1 = time.time()
        with open(f"{LOG}/{os.getpid()}.txt", "a") as f:
            f.write(f"{name} {t0:.4f} {t1:.4f}\n")
        return out

    wrapped.__name__ = fn.__name__
    return wrapped


torch.set_num_threads(1)
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
frame = D.make_frame(n, seed=0)
model = tinyts.load("tinypulse")
ref = D._call("embed", model, frame)
with D._cluster("ray", workers) as (peaks, place):
    for name in ("_ray_counts", "_ray_apply", "_ray_cut", "_ray_split"):
        X._REMOTE[name] = ray.remote(num_cpus=1)(stamp(name, getattr(X, name)))
    D._on_engine("embed", "tinypulse", to := X.to_engine(D.make_frame(8, seed=1), "ray", 2 * workers))
    X.warm_up("ray", "tinypulse", "embed")
    for path in ("default", "arrow"):
        data = place(X.to_engine(frame, "ray", 2 * workers, arrow=(path == "arrow")))
        for rep in range(4):
            for f in glob.glob(LOG + "/*"):
                os.remove(f)
            t0 = time.time()
            out = D._on_engine("embed", "tinypulse", data)
            t1 = time.time()
            time.sleep(0.2)
            ev = []
            for f in glob.glob(LOG + "/*"):
                pid = os.path.basename(f)[:-4]
                for line in open(f):
                    nm, a, b = line.split()
                    ev.append((float(a) - t0, float(b) - t0, nm, pid))
            ev.sort()
            busy = {}
            for a, b, _nm, pid in ev:
                busy[pid] = busy.get(pid, 0) + b - a
            print(
                f"{path} rep {rep}: wall {t1 - t0:.3f}  "
                + "  ".join(f"{nm[4:]}@{pid[-3:]} {a:.3f}-{b:.3f}" for a, b, nm, pid in ev)
                + f"  busy { ({k[-3:]: round(v, 3) for k, v in busy.items()}) }",
                flush=True,
            )
