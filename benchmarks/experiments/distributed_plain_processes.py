"""The machine's ceiling: one embedding job in 1 process (all series) vs 2 plain processes (half each).

No engine. Usage (idle machine):
    OMP_WAIT_POLICY=PASSIVE python benchmarks/experiments/distributed_plain_processes.py 10000
Now part of ``tinyts bench distributed`` (method ``processes``). Output of the 2026-12-07 run:
distributed_plain_processes.txt
"""

import multiprocessing as mp
import os
import sys
import time


def work(n, seed, barrier, q, reps):
    import torch

    torch.set_num_threads(1)
    import tinyts
    from tinyts.bench.suites import distributed as D

    model = tinyts.load("tinypulse")
    frame = D.make_frame(n, seed=seed)
    D._call("embed", model, D.make_frame(8, seed=1))
    for r in range(reps):
        barrier.wait()
        t = time.perf_counter()
        D._call("embed", model, frame)
        q.put((os.getpid(), r, time.perf_counter() - t))


if __name__ == "__main__":
    total = int(sys.argv[1])
    reps = 3
    ctx = mp.get_context("spawn")
    for procs in (1, 2, 1, 2):
        b = ctx.Barrier(procs)
        q = ctx.Queue()
        ps = [ctx.Process(target=work, args=(total // procs, 2 + i, b, q, reps)) for i in range(procs)]
        [p.start() for p in ps]
        res = [q.get() for _ in range(procs * reps)]
        [p.join() for p in ps]
        walls = [max(w for _, r, w in res if r == k) for k in range(reps)]
        print(
            procs,
            "processes: wall per rep",
            [round(w, 2) for w in walls],
            "series/s best",
            round(total / min(walls), 1),
            flush=True,
        )
