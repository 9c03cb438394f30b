"""``pretrain``: samples per second of each bundled recipe's training step, split into phases.

For every recipe (:data:`RECIPES`: the bundled one, its ``-fast`` variant and the recipe that draws from a
pre-generated bank) and every setup of
:data:`VARIANTS`, a fresh spawned process (or two DDP ranks over gloo) builds the recipe's
:class:`~tinyts.train.loop.Trainer`, runs ``warmup`` steps (``torch.compile`` compiles there) and then
``steps`` timed steps of the real training loop. Rows:

- ``samples_per_s``: samples of all ranks per wall second of the timed steps (rank 0's clock);
  extras ``processes``, ``threads``, the wall milliseconds per step of each phase (``data_ms``,
  ``forward_ms`` (forward pass and loss), ``backward_ms``, ``optimizer_ms`` (clipping and AdamW),
  medians over the timed steps of rank 0), ``data_share`` (data / whole step), ``cpu_samples_per_s``
  (samples of rank 0 per CPU second of its process: stable when other processes share the cores),
  ``load1`` (``/proc/loadavg`` before the case) and ``repeat``;
- ``speedup``: ``fast`` over ``ddp2`` (today's launch: two ranks of one thread each), per repeat.

The CPU is shared on the machines this runs on, so full runs repeat every case and interleave the
variants (``plain, bf16, ..., fast, plain, bf16, ...``): both figures of a comparison see the same
conditions. ``--quick`` runs one repeat of few steps and skips the compiled variants (compiling takes
minutes on two cores). The suite needs no data folder: it trains on synthetic data, as the recipes do.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyts.bench.core import BenchContext, Row, SuiteResult

NAME = "pretrain"
DESCRIPTION = "training-step samples/s of the bundled recipes: precision, compile, bank, ranks x threads"
#: measured on generated inputs: runs without a data folder
NEEDS_DATA = False

#: recipe name in the rows -> (today's recipe, its fast recipe, its bank recipe); names or YAML paths
RECIPES: dict[str, tuple[str, str, str]] = {
    "tinypulse": ("tinypulse", "tinypulse-fast", "tinypulse-bank"),
    "tinycast": ("tinycast", "tinycast-fast", "tinycast-fast"),
}


@dataclass(frozen=True)
class Variant:
    """A setup: which recipe (today's or fast), its train overrides, processes x threads."""

    fast_recipe: bool = False
    train: dict[str, Any] = field(default_factory=dict)
    processes: int = 1
    threads: int = 1
    #: use the bank recipe (its ``data`` section); only meaningful with ``fast_recipe``
    bank: bool = False
    compiled: bool = False
    #: ``model_config`` overrides (e.g. ``dropout: 0``: no dropout masks during pre-training)
    model: dict[str, Any] = field(default_factory=dict)


_PLAIN = {"precision": "fp32", "compile": False, "fast_dropout": False}
VARIANTS: dict[str, Variant] = {
    "plain": Variant(train=_PLAIN),
    "bf16": Variant(train={**_PLAIN, "precision": "bf16"}),
    "compile": Variant(train={**_PLAIN, "compile": True}, compiled=True),
    "bf16_compile": Variant(train={**_PLAIN, "precision": "bf16", "compile": True}, compiled=True),
    "rand_dropout": Variant(train={**_PLAIN, "fast_dropout": True}),
    "no_dropout": Variant(train=_PLAIN, model={"dropout": 0.0}),
    "bank": Variant(fast_recipe=True, train=_PLAIN, bank=True),  # the recipe with a bank (see RECIPES)
    "threads2": Variant(train=_PLAIN, threads=2),
    "ddp2": Variant(train=_PLAIN, processes=2),
    "fast": Variant(fast_recipe=True, processes=2),
}
#: the reference of the ``speedup`` rows: today's launch (two DDP ranks of one thread each)
BASELINE = "ddp2"


def load1() -> float:
    """The 1-minute load average (``nan`` where ``/proc/loadavg`` does not exist)."""
    try:
        with open("/proc/loadavg", encoding="utf-8") as fh:
            return float(fh.read().split()[0])
    except OSError:
        return float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(
    rank: int,
    world: int,
    port: int,
    recipe: dict[str, Any],
    overrides: dict[str, Any],
    run_dir: str,
    out: Any,
) -> None:
    """One rank: build the recipe's trainer, train, report rank 0's per-step timings."""
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        CUDA_VISIBLE_DEVICES="",
    )
    from tinyts.train.dist import shutdown
    from tinyts.train.recipes import build_trainer

    trainer = build_trainer(recipe, Path(run_dir), overrides)
    trainer.fit()
    if rank == 0:
        batch = trainer.batch_fn(0, 0)
        out.put(
            {
                "phases": trainer.phase_seconds,
                "cpu": trainer.step_cpu_seconds,
                # samples as the trainer counts them (the first tensor's rows; TinyCast's few extra
                # multivariate samples per step are not counted)
                "rows": int(next(iter(batch.values())).shape[0]),
            }
        )
    shutdown(trainer.info)


def measure(
    recipe: dict[str, Any],
    *,
    processes: int = 1,
    threads: int = 1,
    steps: int = 10,
    warmup: int = 2,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``warmup + steps`` steps of ``recipe`` in fresh processes and time the last ``steps``.

    Parameters
    ----------
    recipe : dict
        A loaded recipe (:func:`tinyts.train.recipes.load_recipe`).
    processes, threads : int
        DDP ranks (gloo) and torch threads per rank.
    steps, warmup : int
        Timed steps, and untimed ones before them.
    overrides : dict, optional
        Updates of the recipe's ``train`` section.

    Returns
    -------
    dict
        ``samples_per_s`` (all ranks, per wall second), ``cpu_samples_per_s`` (rank 0 per CPU second),
        ``seconds`` (wall of the timed steps), ``<phase>_ms`` (median per step), ``data_share``.
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    train = {
        **(overrides or {}),
        "steps": warmup + steps,
        "threads": threads,
        "checkpoint_every": 10**9,
        "log_every": 10**9,
        "progress": False,
        "max_seconds": 0.0,
    }
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    os.environ.update(OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE")
    with tempfile.TemporaryDirectory(prefix="tinyts-bench-pretrain-") as tmp:
        try:
            procs = [
                ctx.Process(target=_worker, args=(r, processes, port, recipe, train, tmp, queue))
                for r in range(processes)
            ]
            for p in procs:
                p.start()
        finally:
            for key, val in saved.items():
                if val is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = val
        try:
            result = queue.get(timeout=3600)
        finally:
            for p in procs:
                p.join(timeout=120)
                if p.is_alive():
                    p.kill()
        if any(p.exitcode for p in procs):
            raise RuntimeError(f"a benchmark rank failed (exit codes {[p.exitcode for p in procs]})")
    phases = {k: v[warmup:] for k, v in result["phases"].items()}
    per_step = [sum(vals) for vals in zip(*phases.values(), strict=True)]
    wall = sum(per_step)
    samples = result["rows"] * processes * steps
    out: dict[str, Any] = {
        "samples_per_s": samples / wall,
        "cpu_samples_per_s": result["rows"] * steps / max(sum(result["cpu"][warmup:]), 1e-9),
        "seconds": wall,
    }
    for name, vals in phases.items():
        out[f"{name}_ms"] = round(1e3 * statistics.median(vals), 2)
    out["data_share"] = round(sum(phases["data"]) / wall, 4)
    return out


def _recipe_for(name: str, variant: Variant, quick: bool) -> dict[str, Any]:
    from tinyts.train.recipes import load_recipe

    plain, fast, bank = RECIPES[name]
    recipe = load_recipe((bank if variant.bank else fast) if variant.fast_recipe else plain)
    if variant.model:
        recipe = {**recipe, "model_config": {**recipe["model_config"], **variant.model}}
    if not variant.bank:
        recipe.pop("data", None)
    elif quick and "data" in recipe:
        # a small bank: drawing from it costs the same, building it is 30x faster
        recipe = {**recipe, "data": {**recipe["data"], "bank": {**recipe["data"]["bank"], "size": 4096}}}
    return recipe


def run(
    ctx: BenchContext,
    *,
    steps: int | None = None,
    warmup: int | None = None,
    repeats: int | None = None,
) -> SuiteResult:
    """Every selected (recipe, variant), ``repeats`` times, variants interleaved within a repeat."""
    result = SuiteResult()
    steps = steps or (3 if ctx.quick else 12)
    warmup = warmup or (1 if ctx.quick else 3)
    repeats = repeats or (1 if ctx.quick else 2)
    names = [n for n in RECIPES if ctx.wants(n)]
    variants = ctx.select_methods(VARIANTS, result, NAME)
    if ctx.quick:
        for v in [v for v in variants if VARIANTS[v].compiled]:
            result.skip(v, "--quick: torch.compile takes minutes on two cores (run the full suite)")
        variants = [v for v in variants if not VARIANTS[v].compiled]
    for name in names:
        result.notes.append(
            f"{name}: today's recipe `{RECIPES[name][0]}`, fast recipe `{RECIPES[name][1]}`, bank recipe "
            f"`{RECIPES[name][2]}`; "
            f"{warmup} warm-up + {steps} timed steps per case, {repeats} interleaved repeat(s)"
        )
        for rep in range(repeats):
            got: dict[str, float] = {}
            for vname in variants:
                var = VARIANTS[vname]
                recipe = _recipe_for(name, var, ctx.quick)
                if var.bank and "data" not in recipe:
                    result.skip(f"{name}/{vname}", "the bank recipe has no data section")
                    continue
                before = load1()
                try:
                    m = measure(
                        recipe,
                        processes=var.processes,
                        threads=var.threads,
                        steps=steps,
                        warmup=warmup,
                        overrides=var.train,
                    )
                except Exception as exc:  # a failed case is recorded as skipped, not fatal
                    result.skip(f"{name}/{vname}", f"{type(exc).__name__}: {exc}")
                    continue
                got[vname] = m["samples_per_s"]
                extra = {k: v for k, v in m.items() if k not in ("samples_per_s", "seconds")}
                extra["cpu_samples_per_s"] = round(extra["cpu_samples_per_s"], 1)
                result.add(
                    Row(
                        name,
                        vname,
                        "samples_per_s",
                        m["samples_per_s"],
                        m["seconds"],
                        extra={
                            "repeat": rep,
                            "processes": var.processes,
                            "threads": var.threads,
                            "load1": before,
                            **extra,
                        },
                    )
                )
            if "fast" in got and BASELINE in got:
                result.add(
                    Row(name, "fast", "speedup", got["fast"] / got[BASELINE], None, extra={"repeat": rep})
                )
    result.notes.append(
        "samples_per_s counts the samples of all ranks per wall second; cpu_samples_per_s counts rank "
        "0's samples per CPU second of its process (robust to other load, blind to waiting)."
    )
    return result
