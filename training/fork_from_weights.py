"""Make a run folder that continues a kept run from exported weights of an earlier step.

The run folder of a bundled model keeps only its last checkpoint, but a cool-down fork of the run at the
step whose weights were exported (e.g. the bundled TinyCast, the run's own weights at step 84,753) needs
a checkpoint of that step. This builds one from the kept checkpoint of a later step:

- weights: the exported ``model.safetensors`` (same keys and shapes, checked);
- optimizer: the kept state with the first moments (``exp_avg``) set to zero, the second moments and step
  counts kept (the gradient scale of the same run a few thousand steps later; the zero first moment makes the
  first updates small, a short implicit warm-up);
- step, samples and training seconds of the exported step (given), history cut at that step, weight
  averages (EMA, tail) dropped (they start again from the exported weights); the log cut at that step.

The folder is written under a temporary name and appears only when complete.

Then ``tinyts pretrain RECIPE --run-dir OUT --resume --cooldown N`` anneals from the recipe's learning rate
at that step.

Usage::

    python training/fork_from_weights.py --run training/tinycast \
        --weights src/tinyts/models/weights/tinycast/model.safetensors --step 84753 --samples 7559936 \
        --out runs/cool84
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from tinyts.fileio import atomic_dir
from tinyts.train.state import CHECKPOINT, checkpoint_folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, type=Path, help="kept run folder (checkpoint/ of a later step)")
    ap.add_argument("--weights", required=True, type=Path, help="exported model.safetensors of --step")
    ap.add_argument("--step", required=True, type=int)
    ap.add_argument("--samples", required=True, type=int)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()

    src = checkpoint_folder(args.run)
    state = json.loads((src / "state.json").read_text())
    kept_step = int(state["step"])
    if args.step > kept_step:
        raise SystemExit(f"--step {args.step} is after the kept checkpoint's step {kept_step}")
    kept = load_file(src / "model.safetensors")
    weights = load_file(args.weights)
    if set(kept) != set(weights) or any(kept[k].shape != weights[k].shape for k in kept):
        raise SystemExit("the exported weights do not match the run's model (keys or shapes differ)")
    history = [h for h in state["history"] if int(h["to_step"]) <= args.step]
    if not history or int(history[-1]["to_step"]) != args.step:
        raise SystemExit(f"no history segment of {args.run} ends at step {args.step}")
    if args.out.exists():
        raise SystemExit(f"{args.out} exists: choose a new folder")

    state.update(
        step=args.step,
        samples=args.samples,
        train_seconds=sum(float(h["seconds"]) for h in history),
        history=history,
        world_size=history[-1].get("world_size", state["world_size"]),
    )
    for key in ("ema_updates", "ema_decay", "tail_updates", "tail_from", "tail_first_step"):
        state.pop(key, None)
    state.setdefault("meta", {})["forked_from"] = (
        f"{args.run} at step {args.step}: weights {args.weights}, optimizer second moments of step "
        f"{kept_step} (first moments zeroed)"
    )
    opt = load_file(src / "optimizer.safetensors")
    opt = {k: (torch.zeros_like(v) if k.endswith(".exp_avg") else v) for k, v in opt.items()}
    log = args.run / "log.jsonl"
    # the folder appears only when complete: a half-written one without state.json would make
    # `tinyts pretrain --resume` start from scratch
    with atomic_dir(args.out) as out:
        ckpt = out / CHECKPOINT
        ckpt.mkdir()
        save_file(weights, ckpt / "model.safetensors")
        save_file(opt, ckpt / "optimizer.safetensors")
        (ckpt / "state.json").write_text(json.dumps(state, indent=1))
        if log.exists():
            rows = log.read_text().splitlines()
            lines = [ln for ln in rows if ln and json.loads(ln).get("step", 0) <= args.step]
            (out / "log.jsonl").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / CHECKPOINT} at step {args.step} ({len(history)} history segments)")


if __name__ == "__main__":
    main()
