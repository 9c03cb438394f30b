"""Helpers of the pre-training process tests: a tiny recipe file and the `tinyts pretrain` command."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from tinyts.testing import TINY_PULSE
from tinyts.train.recipes import load_recipe

#: a TinyPulse small enough for a step of a few milliseconds (random init; the loop is under test);
#: dropout as in the recipe
PULSE = {**TINY_PULSE, "fft_patch_length": 16, "num_layers": 1, "forecast_length": 8, "dropout": 0.1}
BATCH = 8


def tiny_recipe(
    folder: Path, *, steps: int, checkpoint_every: int, log_every: int = 1, fast: bool = False
) -> Path:
    """The bundled TinyPulse recipe with a tiny model, batch and schedule, written to ``folder``.

    ``fast``: the ``tinypulse-bank`` recipe instead (bank of synthetic series, rand dropout), with a
    small bank in ``folder/banks`` and bf16 autocast on top, written as ``tiny-pulse-fast.yaml``.
    """
    name = "tinypulse-bank" if fast else "tinypulse"
    recipe = {k: v for k, v in load_recipe(name).items() if not k.startswith("_")}
    recipe["model_config"].update(PULSE)
    recipe["objective"]["batch_size"] = BATCH
    recipe["train"].update(
        steps=steps, checkpoint_every=checkpoint_every, log_every=log_every, warmup_steps=5, threads=1
    )
    if fast:
        recipe["train"]["precision"] = "bf16"
        recipe["data"]["bank"].update(size=96, cache_dir=str(folder / "banks"))
    path = folder / ("tiny-pulse-fast.yaml" if fast else "tiny-pulse.yaml")
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def pretrain_cmd(recipe: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tinyts",
        "pretrain",
        str(recipe),
        "--run-dir",
        str(run_dir),
        "--no-progress",
        *extra,
    ]


def env(**extra: str) -> dict[str, str]:
    """The environment of a child process: one thread, no GPU."""
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "CUDA_VISIBLE_DEVICES": "",
        **extra,
    }


def logged_steps(run_dir: Path) -> list[int]:
    lines = (run_dir / "log.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["step"] for line in lines if line.strip()]


def state(run_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((run_dir / "checkpoint" / "state.json").read_text(encoding="utf-8"))
    return loaded
