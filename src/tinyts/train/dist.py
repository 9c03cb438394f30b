"""torch.distributed set-up for ``torchrun`` launches (gloo on CPU, nccl on GPU); no-op otherwise.

Debug check of a distributed run: with the environment variable ``TINYTS_DDP_CHECK=1`` every rank
writes ``rank{r}.sha`` into the run folder at the end of training, the SHA-256 of its final weights
(:func:`weights_digest`); identical files mean that the ranks ended with identical models.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist

from tinyts.fileio import atomic_file


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str | None = None) -> DistInfo:
    """Initialise the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    use_cuda = device == "cuda" or (device is None and torch.cuda.is_available())
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank=rank, world_size=world, device=dev)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


#: environment variable that makes every rank write the digest of its final weights (module docstring)
DDP_CHECK_ENV = "TINYTS_DDP_CHECK"


def weights_digest(state: torch.nn.Module | dict[str, torch.Tensor]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of a model's state (or a state dict), by name."""
    tensors = state.state_dict() if isinstance(state, torch.nn.Module) else state
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def write_rank_digest(run_dir: Path, info: DistInfo, model: torch.nn.Module) -> Path:
    """Write ``run_dir/rank{r}.sha``: :func:`weights_digest` of this rank's model."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / f"rank{info.rank}.sha"
    with atomic_file(path) as tmp:
        tmp.write_text(weights_digest(model) + "\n", encoding="utf-8")
    return path
