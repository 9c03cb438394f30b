"""The pre-training loop, :class:`Trainer`: seeded on-the-fly batches, AdamW with warm-up and cosine decay,
gradient clipping, atomic checkpoints every N steps, ``resume`` from the last one, a JSONL log and a
loss-curve plot. SIGTERM or Ctrl-C finishes the current step, writes a checkpoint and stops (a second
signal aborts); a run killed outright loses only the steps since its last checkpoint, and ``resume``
drops their log records.

Batches are a pure function of ``(seed, step, rank)``, so a resumed run sees exactly the batches it
would have seen without the interruption, and DDP ranks see different data.

Speed settings (``docs/training.md``, "Throughput"): ``precision="bf16"`` runs the forward pass and the
loss under bfloat16 autocast, ``compile=True`` runs them through ``torch.compile``; with the defaults
(``"fp32"``, ``False``) the step is exactly the eager float32 step. Every ``fit`` records its setup in
the run's history, so a run that switched setups says which segment used which. The wall time of each
phase of a step (data, forward, backward, optimizer) is kept in ``Trainer.phase_seconds``.

This is one of the two loops of :mod:`tinyts.train`. Fine-tuning (compression, TSLens classification,
anomaly fine-tuning) runs in the other, :func:`tinyts.train.finetune.finetune_loop`: in memory, with
validation, early stopping and a return to the best weights, without checkpoints, resume or DDP.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinyts.train.dist import DDP_CHECK_ENV, DistInfo, barrier, init_distributed, write_rank_digest
from tinyts.train.state import load_checkpoint, load_ema, load_tail, save_checkpoint

BatchFn = Callable[[int, int], dict[str, torch.Tensor]]
"""``batch_fn(step, rank) -> dict of tensors`` (deterministic in its arguments)."""
LossFn = Callable[[nn.Module, dict[str, torch.Tensor]], tuple[torch.Tensor, dict[str, float]]]
"""``loss_fn(model, batch) -> (loss, {name: value})``."""

PRECISIONS = ("fp32", "bf16")
#: the setup of a step with the default settings and on-the-fly data (see ``TrainConfig.setup``)
DEFAULT_SETUP = "fp32 eager, on-the-fly data"
#: the phases of a step whose wall time :class:`Trainer` measures
PHASES = ("data", "forward", "backward", "optimizer")


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping settings of one run."""

    steps: int = 1000
    lr: float = 1e-3
    min_lr: float = 2e-5
    weight_decay: float = 0.01
    warmup_steps: int = 200
    grad_clip: float = 1.0
    checkpoint_every: int = 200
    log_every: int = 20
    seed: int = 0
    threads: int = 1
    progress: bool = True
    #: stop after this many seconds of training in this process (checkpointing first); 0 = no limit
    max_seconds: float = 0.0
    #: ``fp32`` (eager float32, the default) or ``bf16`` (forward and loss under bfloat16 autocast)
    precision: str = "fp32"
    #: run the forward pass and the loss through ``torch.compile``
    compile: bool = False
    #: dropout masks from ``torch.rand`` instead of ``bernoulli_`` (same distribution, other draws;
    #: ``bernoulli_`` is slow on CPU)
    fast_dropout: bool = False
    #: step at which the warm-up and cosine schedule start: a run continued past the end of its first
    #: schedule (a second phase, e.g. on a new corpus) warms up again from here to ``lr`` and decays to
    #: ``min_lr`` at ``steps``; 0 = one schedule from the first step
    schedule_start: int = 0
    #: keep an exponential moving average of the weights with this decay (0 = off): after each step
    #: ``ema = d ema + (1 - d) weights`` with ``d = min(ema_decay, n / (n + 1))`` at the ``n``-th update
    #: (0-based): the plain mean of the weights since the average started until ``n = d / (1 - d)``, an
    #: exponential average with decay ``ema_decay`` afterwards;
    #: saved in the checkpoint (``ema.safetensors``), exported with ``tinyts pretrain --export DIR --ema``.
    #: An average over the last ``~1 / (1 - d)`` steps of a run at a high learning rate: a candidate for
    #: export without a cool-down fork (see docs/training.md, "Weight average")
    ema_decay: float = 0.0
    #: keep a uniform average of the weights after every step past this one (0 = off): the plain mean
    #: of the weights over the end of a schedule, where the learning rate is low (stochastic weight
    #: averaging over the annealing); saved in the checkpoint (``tail.safetensors``), exported with
    #: ``tinyts pretrain --export DIR --tail``
    tail_from: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) (0 = no weight average), got {self.ema_decay}")
        if self.tail_from < 0:
            raise ValueError(f"tail_from must be >= 0 (0 = no tail average), got {self.tail_from}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.schedule_start < 0:
            raise ValueError(
                "schedule_start must be >= 0 (the step where a second schedule starts), "
                f"got {self.schedule_start}"
            )

    def setup(self) -> str:
        """A short description of the speed settings (``fp32 eager`` is the default)."""
        drop = ", rand dropout" if self.fast_dropout else ""
        ema = f", weight average (EMA {self.ema_decay:g})" if self.ema_decay > 0 else ""
        tail = f", tail average from step {self.tail_from}" if self.tail_from > 0 else ""
        return f"{self.precision} {'compiled' if self.compile else 'eager'}{drop}{ema}{tail}"

    def schedule(self) -> str:
        """The learning-rate schedule in words (recorded per segment in the run's history)."""
        start = f" from step {self.schedule_start}" if self.schedule_start else ""
        return (
            f"warm-up {self.warmup_steps} steps to {self.lr:.3g}, cosine to {self.min_lr:.3g} at step "
            f"{self.steps}{start}"
        )

    def cooldown(self, step: int, steps: int) -> TrainConfig:
        """This config turned into a cool-down from ``step``: no warm-up, cosine decay from the rate of
        ``step`` to ``min_lr`` over ``steps`` steps (a short annealing fork of a long run, e.g. to export
        a checkpoint in the middle of a schedule)."""
        if steps < 1:
            raise ValueError(f"a cool-down needs at least 1 step, got {steps}")
        return dataclasses.replace(
            self, steps=step + steps, schedule_start=step, warmup_steps=0, lr=self.lr_at(step)
        )

    def lr_at(self, step: int) -> float:
        """Learning rate of ``step``: linear warm-up, then cosine decay to ``min_lr`` at ``steps``.

        Both count from :attr:`schedule_start` (steps before it belong to an earlier phase, whose
        schedule this config does not know; they get the first warm-up rate).
        """
        step = max(0, step - self.schedule_start)
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        frac = (step - self.warmup_steps) / max(1, self.steps - self.schedule_start - self.warmup_steps)
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * min(1.0, frac)))


def _move_average(average: dict[str, torch.Tensor], weights: dict[str, torch.Tensor], weight: float) -> None:
    """``average += weight * (weights - average)`` for the float tensors (one fused lerp); integer buffers
    (counters) are copied from the model. The step of both weight averages, EMA and tail."""
    floats = [k for k, v in average.items() if v.is_floating_point()]
    torch._foreach_lerp_(
        [average[k] for k in floats],
        [weights[k].detach().to("cpu", average[k].dtype) for k in floats],
        weight,
    )
    for k, v in average.items():
        if not v.is_floating_point():
            v.copy_(weights[k])


class Trainer:
    """Runs :class:`TrainConfig` on a model with a batch function and a loss function."""

    def __init__(
        self,
        model: nn.Module,
        batch_fn: BatchFn,
        loss_fn: LossFn,
        config: TrainConfig,
        run_dir: str | os.PathLike[str],
        *,
        meta: dict[str, Any] | None = None,
        dist_info: DistInfo | None = None,
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.info = dist_info or init_distributed()
        self.model = model.to(self.info.device)
        if config.fast_dropout:
            _rand_dropout(self.model)
        self.batch_fn = batch_fn
        self.loss_fn = loss_fn
        self.meta = meta or {}
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.step = 0
        self.samples = 0
        self.train_seconds = 0.0
        #: one record per ``fit`` call: when, where, which steps, how long (goes into model cards)
        self.history: list[dict[str, Any]] = []
        #: wall seconds per phase of the steps of the last ``fit`` (:data:`PHASES`), one list per phase
        self.phase_seconds: dict[str, list[float]] = {p: [] for p in PHASES}
        #: CPU seconds of this process per step of the last ``fit`` (all its threads)
        self.step_cpu_seconds: list[float] = []
        #: the weight average (``config.ema_decay``; rank 0 only), its number of updates
        self.ema: dict[str, torch.Tensor] | None = None
        self.ema_updates = 0
        #: the uniform tail average (``config.tail_from``; rank 0 only), its number of steps
        self.tail: dict[str, torch.Tensor] | None = None
        self.tail_updates = 0
        self.tail_first_step = 0  # the step whose weights started the average

    # ---------------------------------------------------------------- persistence
    def resume(self) -> bool:
        """Load the last checkpoint of ``run_dir`` if there is one; True when resumed."""
        state = load_checkpoint(self.run_dir, self.model, self.opt)
        if state is None:
            return False
        # a checkpoint written without a weight average starts one from the current weights
        self.ema = load_ema(self.run_dir) if self.info.is_main and self.config.ema_decay > 0 else None
        self.ema_updates = int(state.get("ema_updates", 0)) if self.ema is not None else 0
        self.tail = load_tail(self.run_dir) if self.info.is_main and self.config.tail_from > 0 else None
        self.tail_updates = int(state.get("tail_updates", 0)) if self.tail is not None else 0
        self.tail_first_step = int(state.get("tail_first_step", 0)) if self.tail is not None else 0
        if self.tail is not None and int(state.get("tail_from", 0)) != self.config.tail_from:
            raise ValueError(
                f"the checkpoint's tail average started at step {state.get('tail_from')}, the recipe says "
                f"tail_from {self.config.tail_from}: keep the recipe's value, or delete "
                "checkpoint/tail.safetensors to start a new average"
            )
        self.step = int(state["step"])
        self.samples = int(state["samples"])
        self.train_seconds = float(state["train_seconds"])
        self.history = list(state.get("history", []))
        # segments written before recipes and setups were recorded ran the checkpoint's recipe with the
        # default step (eager float32, on-the-fly data): say so, before a new segment may differ
        previous = Path(str(state.get("meta", {}).get("recipe", "?"))).name
        for rec in self.history:
            rec.setdefault("recipe", previous)
            rec.setdefault("setup", DEFAULT_SETUP)
        # a run resumed under another recipe keeps the sources its earlier segments saw (model card)
        if "data_sources" in self.meta:
            seen = list(state.get("meta", {}).get("data_sources", []))
            current = list(self.meta["data_sources"])
            earlier = [s if s.startswith(_EARLIER) else f"{_EARLIER}{s}" for s in seen]
            self.meta["data_sources"] = current + [
                s for s in earlier if s not in current and s[len(_EARLIER) :] not in current
            ]
        if self.info.is_main:
            _trim_log(self.run_dir / "log.jsonl", self.step)
        return True

    def checkpoint(self) -> None:
        """Write the checkpoint (rank 0 only) and the loss plot."""
        if self.info.is_main:
            state = {
                "step": self.step,
                "samples": self.samples,
                "train_seconds": self.train_seconds,
                "world_size": self.info.world_size,
                "history": self.history,
                "train_config": asdict(self.config),
                "meta": self.meta,
            }
            if self.ema is not None:
                state.update(ema_updates=self.ema_updates, ema_decay=self.config.ema_decay)
            if self.tail is not None:
                state.update(
                    tail_updates=self.tail_updates,
                    tail_from=self.config.tail_from,
                    tail_first_step=self.tail_first_step,
                )
            save_checkpoint(self.run_dir, self._bare_model(), self.opt, state, ema=self.ema, tail=self.tail)
            plot_losses(self.run_dir / "log.jsonl", self.run_dir / "loss.png")
        barrier(self.info)

    def _bare_model(self) -> nn.Module:
        inner = getattr(self.model, "module", None)
        return inner if isinstance(inner, nn.Module) else self.model

    @torch.no_grad()
    def _update_ema(self) -> None:
        """One step of the weight average (rank 0; the ranks' weights are equal under DDP)."""
        if self.config.ema_decay <= 0 or not self.info.is_main:
            return
        weights = self._bare_model().state_dict()
        if self.ema is None:
            self.ema = {k: v.detach().to("cpu", copy=True) for k, v in weights.items()}
            self.ema_updates = 0
        n = self.ema_updates
        _move_average(self.ema, weights, 1 - min(self.config.ema_decay, n / (n + 1)))
        self.ema_updates += 1

    @torch.no_grad()
    def _update_tail(self) -> None:
        """Add the weights after this step to the uniform tail average (rank 0; past ``tail_from``)."""
        if self.config.tail_from <= 0 or not self.info.is_main or self.step < self.config.tail_from:
            return
        weights = self._bare_model().state_dict()
        if self.tail is None:
            self.tail = {k: v.detach().to("cpu", copy=True) for k, v in weights.items()}
            self.tail_updates, self.tail_first_step = 1, self.step
            return
        _move_average(self.tail, weights, 1.0 / (self.tail_updates + 1))
        self.tail_updates += 1

    # ---------------------------------------------------------------- training
    def fit(self) -> dict[str, Any]:
        """Train until ``config.steps`` (or ``max_seconds``); return a summary."""
        cfg = self.config
        torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed + self.info.rank)
        model: nn.Module = self.model
        if self.info.enabled:
            from torch.nn.parallel import DistributedDataParallel

            model = DistributedDataParallel(self.model)
        model.train()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.run_dir / "log.jsonl"
        bar = None
        if cfg.progress and self.info.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=cfg.steps, initial=self.step, desc="train", unit="step")
        started = time.perf_counter()
        record = {
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "hardware": _hardware(self.info),
            "world_size": self.info.world_size,
            "threads": cfg.threads,
            "recipe": Path(str(self.meta.get("recipe", "?"))).name,
            "setup": f"{cfg.setup()}, {self.meta.get('data', {}).get('describe', 'on-the-fly data')}",
            "schedule": cfg.schedule(),
            "from_step": self.step,
            "to_step": self.step,
            "seconds": 0.0,
        }
        self.history.append(record)
        seconds_before = self.train_seconds
        window: dict[str, list[float]] = {}
        loss_fn = self.loss_fn
        if cfg.compile:
            loss_fn = torch.compile(loss_fn)
        phases = self.phase_seconds = {p: [] for p in PHASES}
        cpu = self.step_cpu_seconds = []
        with _StopRequest() as stop:
            while self.step < cfg.steps:
                t0, c0 = time.perf_counter(), time.process_time()
                # dropout and any in-model randomness: a function of the step, so resuming is exact
                torch.manual_seed((cfg.seed * 1_000_003 + self.step) * 64 + self.info.rank)
                batch = {
                    k: v.to(self.info.device) for k, v in self.batch_fn(self.step, self.info.rank).items()
                }
                for group in self.opt.param_groups:
                    group["lr"] = cfg.lr_at(self.step)
                t1 = time.perf_counter()
                with _autocast(cfg.precision, self.info.device):
                    loss, parts = loss_fn(model, batch)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"loss is {loss.item()} at step {self.step}; lower the learning rate"
                    )
                t2 = time.perf_counter()
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                t3 = time.perf_counter()
                if cfg.grad_clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                self.opt.step()
                self._update_ema()
                t4 = time.perf_counter()
                for name, sec in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    phases[name].append(sec)
                cpu.append(time.process_time() - c0)
                n = next(iter(batch.values())).shape[0] * self.info.world_size
                self.samples += n
                self.step += 1
                self._update_tail()
                self.train_seconds += time.perf_counter() - t0
                record.update(to_step=self.step, seconds=round(self.train_seconds - seconds_before, 1))
                for key, val in {"loss": float(loss.item()), **parts}.items():
                    window.setdefault(key, []).append(val)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss.item():.4f}")
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    if self.info.is_main:
                        rec = {k: sum(v) / len(v) for k, v in window.items()}
                        rec.update(
                            step=self.step,
                            samples=self.samples,
                            lr=cfg.lr_at(self.step - 1),
                            train_seconds=round(self.train_seconds, 2),
                            samples_per_second=round(self.samples / max(self.train_seconds, 1e-9), 1),
                        )
                        with open(log_path, "a", encoding="utf-8") as fh:
                            fh.write(json.dumps(rec) + "\n")
                    window = {}
                out_of_time = cfg.max_seconds > 0 and time.perf_counter() - started >= cfg.max_seconds
                halt = _agree(self.info, out_of_time or stop.signum is not None)
                if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps or halt:
                    self.checkpoint()
                if halt:
                    break

        if bar is not None:
            bar.close()
        if os.environ.get(DDP_CHECK_ENV):
            write_rank_digest(self.run_dir, self.info, self._bare_model())
        return {
            "step": self.step,
            "samples": self.samples,
            "train_seconds": self.train_seconds,
            "samples_per_second": self.samples / max(self.train_seconds, 1e-9),
            "finished": self.step >= cfg.steps,
            "stopped_by_signal": stop.signum,
        }


class RandDropout(nn.Module):
    """Dropout whose mask is ``torch.rand(...) >= p`` (the same distribution as :class:`nn.Dropout`)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, device=x.device) >= self.p
        return x * keep * (1.0 / (1.0 - self.p))


def _rand_dropout(model: nn.Module) -> None:
    """Replace every :class:`nn.Dropout` of ``model`` by :class:`RandDropout` (no state: same weights)."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is nn.Dropout:
                setattr(module, name, RandDropout(child.p))


def _autocast(precision: str, device: torch.device) -> AbstractContextManager[Any]:
    """bfloat16 autocast for ``bf16``; nothing at all (the exact float32 step) for ``fp32``."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def _agree(info: DistInfo, flag: bool) -> bool:
    """True on every rank when it is True on any (ranks must checkpoint and stop together)."""
    if not info.enabled:
        return flag
    import torch.distributed as dist

    t = torch.tensor([float(flag)], device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


class _StopRequest:
    """SIGTERM / SIGINT during training: finish the current step, checkpoint, stop.

    Installed only in the main thread (signal handlers cannot be set elsewhere); the first signal
    restores the previous handlers, so a second one acts as usual (e.g. Ctrl-C twice aborts).
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.signum = signum
        self._restore()

    def _restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()


_EARLIER = "earlier segments: "


def _trim_log(log_path: Path, step: int) -> None:
    """Drop log records after the checkpoint's step (a run killed between checkpoints wrote them)."""
    if not log_path.is_file():
        return
    lines = log_path.read_text(encoding="utf-8").splitlines(keepends=True)
    keep = [ln for ln in lines if (rec := _record(ln)) is not None and rec.get("step", 0) <= step]
    keep = [ln if ln.endswith("\n") else ln + "\n" for ln in keep]
    if keep != lines:
        tmp = log_path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(keep), encoding="utf-8")
        os.replace(tmp, log_path)


def _record(line: str) -> dict[str, Any] | None:
    """One log record; None for a blank line or one that is not a JSON object (a torn last write)."""
    try:
        rec = json.loads(line)
    except json.JSONDecodeError:
        return None
    return rec if isinstance(rec, dict) else None


def _hardware(info: DistInfo) -> str:
    import platform

    cpu = platform.processor() or "cpu"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    dev = torch.cuda.get_device_name(info.device) if info.device.type == "cuda" else "no GPU"
    return f"{cpu} ({os.cpu_count()} cores), {dev}"


def plot_losses(log_path: Path, out_png: Path) -> None:
    """Plot every logged loss component against the step (log scale)."""
    if not log_path.is_file():
        return
    lines = log_path.read_text(encoding="utf-8").splitlines()
    records = [rec for rec in map(_record, lines) if rec is not None and "step" in rec]
    if not records:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    skip = {"step", "samples", "lr", "train_seconds", "samples_per_second"}
    keys = [k for k in records[0] if k not in skip]
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [r["step"] for r in records]
    for key in keys:
        ax.plot(steps, [r.get(key, float("nan")) for r in records], label=key)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = out_png.with_name(out_png.stem + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(out_png)
