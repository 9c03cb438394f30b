"""Progress of long model loops, for the command line.

The loops that run a model batch after batch (imputation windows, anomaly-scoring windows, forecast
calls) say how many batches they are about to run (:func:`plan`) and tick each one off
(:func:`advance`). Nothing is shown unless a caller asked for it with :func:`report`, which the
``tinyts impute|detect|forecast`` commands do: a tqdm bar on stderr with the batches done, the rate
and the time left, shown only when stderr is a terminal (so logs and pipes stay clean). Library calls
pay one context-variable lookup per batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["advance", "plan", "report"]

_BAR: ContextVar[Any] = ContextVar("tinyts_progress", default=None)


@contextmanager
def report(desc: str, unit: str = "batch", enable: bool | None = None) -> Iterator[Any]:
    """Show the progress of the model loops run inside the block.

    Parameters
    ----------
    desc : str
        What is being done ("imputing").
    unit : str
        What one step is.
    enable : bool or None
        None (default): only when stderr is a terminal; True / False: always / never.

    Yields
    ------
    tqdm.tqdm
        The bar (its ``total`` grows as loops :func:`plan` their batches).
    """
    from tqdm import tqdm

    bar = tqdm(total=0, desc=desc, unit=unit, disable=None if enable is None else not enable, leave=False)
    token = _BAR.set(bar)
    try:
        yield bar
    finally:
        _BAR.reset(token)
        bar.close()


def plan(n: int) -> None:
    """Add ``n`` batches to the total of the active :func:`report` (nothing without one)."""
    bar = _BAR.get()
    if bar is not None and not bar.disable and n > 0:
        bar.total += n
        bar.refresh()


def advance(n: int = 1) -> None:
    """Mark ``n`` batches done."""
    bar = _BAR.get()
    if bar is not None and not bar.disable:
        bar.update(n)
