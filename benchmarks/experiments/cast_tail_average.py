"""Run folders for an export gate of late checkpoints: each snapshot as it is, and their uniform average.

A training run keeps one checkpoint (``checkpoint/``, overwritten every 200 steps). To compare several
late checkpoints of one annealing and their average ("tail average", the averaging along one schedule
that the model-soup try of docs/tinycast.md did not have), copies of ``checkpoint/`` are taken while the
run goes (``model.safetensors``, ``ema.safetensors``, ``state.json`` into ``SNAPS/step_N/``); this script
turns them into run folders that ``tinyts bench pretrain_ablation --option runs=OUT`` scores on validation
data:

- ``OUT/sN/checkpoint/``: snapshot ``N`` as it was (its weights; its ``ema.safetensors`` is scored as
  ``sN_ema``);
- ``OUT/tail/checkpoint/``: the uniform average of the raw weights of the snapshots at or after
  ``--from-step`` (state of the last of them; no weight average of its own).

Usage::

    python benchmarks/experiments/cast_tail_average.py SNAPS OUT [--from-step 100000] [--every 2000]

``--every`` keeps one snapshot in each ``every`` steps for the ``sN`` folders (all of them are averaged).
Weights are read and written with safetensors only.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def _step(folder: Path) -> int:
    return int(json.loads((folder / "state.json").read_text(encoding="utf-8"))["step"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("snaps", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--from-step", type=int, default=0)
    ap.add_argument("--every", type=int, default=0)
    args = ap.parse_args()
    snaps = sorted((p for p in args.snaps.glob("step_*") if (p / "state.json").is_file()), key=_step)
    if not snaps:
        raise SystemExit(f"no snapshot folders (step_N with state.json) under {args.snaps}")
    kept, last_bucket = [], None
    for p in snaps:
        bucket = _step(p) // args.every if args.every else _step(p)
        if bucket != last_bucket:
            kept.append(p)
            last_bucket = bucket
    if kept[-1] != snaps[-1]:
        kept.append(snaps[-1])
    for p in kept:
        run = args.out / f"s{_step(p)}" / "checkpoint"
        run.mkdir(parents=True, exist_ok=True)
        for name in ("model.safetensors", "ema.safetensors", "state.json"):
            if (p / name).is_file():
                shutil.copy2(p / name, run / name)
        print(f"s{_step(p)}: {p}")
    tail = [p for p in snaps if _step(p) >= args.from_step]
    if len(tail) >= 2:
        total: dict[str, torch.Tensor] = {}
        for p in tail:
            for k, v in load_file(p / "model.safetensors").items():
                total[k] = total.get(k, torch.zeros_like(v, dtype=torch.float64)) + v.double()
        ref = load_file(tail[-1] / "model.safetensors")
        avg = {k: (v / len(tail)).to(ref[k].dtype) for k, v in total.items()}
        run = args.out / "tail" / "checkpoint"
        run.mkdir(parents=True, exist_ok=True)
        tmp = run / "model.safetensors.tmp"
        save_file(avg, str(tmp))
        tmp.replace(run / "model.safetensors")
        state = json.loads((tail[-1] / "state.json").read_text(encoding="utf-8"))
        state["tail_average"] = [_step(p) for p in tail]
        (run / "state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
        print(f"tail: uniform average of {len(tail)} snapshots, steps {_step(tail[0])}-{_step(tail[-1])}")


if __name__ == "__main__":
    main()
