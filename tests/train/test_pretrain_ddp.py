"""Distributed pre-training on CPU: `torchrun --standalone --nproc-per-node 2 -m tinyts pretrain` (gloo).

It finishes; only rank 0 writes the run folder (one checkpoint, one log record per step, one summary
line); and both ranks end with identical weights, equal to the checkpoint's: with TINYTS_DDP_CHECK=1
every rank writes the SHA-256 of its final weights to ``rank{r}.sha``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pretrain_runs import BATCH, env, logged_steps, state, tiny_recipe
from safetensors.torch import load_file

from tinyts.train.dist import DDP_CHECK_ENV, weights_digest

STEPS = 12


@pytest.mark.slow
def test_torchrun_two_ranks_on_cpu(tmp_path: Path) -> None:
    recipe = tiny_recipe(tmp_path, steps=STEPS, checkpoint_every=5)
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",  # = torchrun
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "tinyts",
        "pretrain",
        str(recipe),
        "--run-dir",
        str(run),
        "--threads",
        "1",
        "--no-progress",
    ]
    out = subprocess.run(
        cmd, env=env(**{DDP_CHECK_ENV: "1"}), cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]

    # only rank 0 writes: the folder holds one checkpoint, one log, one plot (plus the two digests)
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoint",
        "log.jsonl",
        "loss.png",
        "rank0.sha",
        "rank1.sha",
    ]
    assert logged_steps(run) == list(range(1, STEPS + 1))  # one record per step, not one per rank
    assert out.stdout.count(f"step {STEPS},") == 1  # the summary line comes from rank 0 only
    final = state(run)
    assert final["world_size"] == 2 and final["step"] == STEPS
    assert final["samples"] == STEPS * BATCH * 2  # each rank trains on its own batch

    digests = [(run / f"rank{r}.sha").read_text(encoding="utf-8").strip() for r in (0, 1)]
    assert digests[0] == digests[1], "the ranks ended with different weights"
    assert digests[0] == weights_digest(load_file(str(run / "checkpoint" / "model.safetensors")))
