"""Safe output files: check an output path before the work, write it whole or not at all.

Every file or folder that tinyts writes for a user (csv results, plots, indexes, checkpoints, ONNX
files, reports) goes through this module:

- :func:`check_output` runs *before* the computation: it refuses an output that is one of the
  inputs, an existing output unless ``overwrite`` is set, and a place that cannot be written
  (the parent folder is created if needed and a probe file is written there), so a long run never
  ends in a traceback about a path.
- :func:`atomic_file`, :func:`atomic_files` and :func:`atomic_dir` hand out a temporary path in the
  same folder and rename it into place only when it is complete (``os.replace`` is atomic on one file
  system). A crash or a signal in between leaves the previous file untouched and at most a hidden
  ``.NAME.tmp-*`` leftover, never a half-written result.

This module imports nothing from tinyts; every layer may use it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from tinyts.errors import OutputError

__all__ = ["OutputError", "atomic_dir", "atomic_file", "atomic_files", "check_output", "same_file"]


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name the same file or folder (symlinks and ``..`` resolved)."""
    pa, pb = Path(a), Path(b)
    if pa.exists() and pb.exists():
        try:
            return os.path.samefile(pa, pb)
        except OSError:
            pass
    return pa.resolve() == pb.resolve()


def check_output(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    kind: str = "file",
    option: str = "--out",
) -> Path:
    """Check that ``path`` may be written, before any work is done.

    Parameters
    ----------
    path : path-like
        The output file or folder.
    overwrite : bool
        Replace an existing output (it is still replaced atomically). Without it an existing output
        is an error.
    inputs : iterable of path-like
        Input files of the same command; writing over one of them is always refused.
    kind : {"file", "dir"}
        Whether the output is a single file or a folder.
    option : str
        The option's name in messages (``--out``, ``--plot``).

    Returns
    -------
    pathlib.Path
        ``path`` as a Path; its parent folder exists afterwards.

    Raises
    ------
    OutputError
        The output is an input, exists (without ``overwrite``), is a folder where a file is
        expected (or the reverse), or its folder cannot be created or written.
    """
    p = Path(path)
    for src in inputs:
        if src is not None and same_file(p, src):
            raise OutputError(f"{option} {p} is the input file {src}; write the result to another path")
    if p.exists() or p.is_symlink():
        if kind == "file" and p.is_dir():
            raise OutputError(f"{option} {p} is a folder; give a file name")
        if kind == "dir" and not p.is_dir():
            raise OutputError(f"{option} {p} is a file; give a folder name")
        if not overwrite:
            raise OutputError(
                f"{option} {p} already exists; pass --overwrite to replace it, or choose another path"
            )
    parent = p.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{option} {p}: cannot create the folder {parent} ({exc.strerror or exc})"
        ) from None
    probe = parent / f".{p.name}.probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.write_bytes(b"")
    except OSError as exc:
        raise OutputError(
            f"{option} {p}: the folder {parent} is not writable ({exc.strerror or exc})"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return p


def _temp_sibling(p: Path) -> Path:
    # keep the suffix so that writers which infer a format from it (matplotlib, numpy) still do
    return p.parent / f".{p.stem}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}{p.suffix}"


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary file next to ``path``, renamed onto ``path`` when the ``with`` block succeeds.

    Examples
    --------
    >>> with atomic_file("out.csv") as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp, index=False)
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_sibling(p)
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"nothing was written to the temporary file for {p}")
        with open(tmp, "rb+") as fh:  # the data reach the disk before the rename makes them visible
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


@contextlib.contextmanager
def atomic_files(*paths: str | os.PathLike[str]) -> Iterator[list[Path]]:
    """:func:`atomic_file` for files that belong together (a model's config and weights): one temporary
    file per path, and none is renamed into place unless every one of them was written, so a failure
    never leaves a new file beside an old one of the same set."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_file(p)) for p in paths]


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary folder next to ``path`` that replaces ``path`` when the ``with`` block succeeds.

    An existing folder at ``path`` is moved aside first and deleted only after the new one is in
    place, so at every moment either the old or the new complete folder exists (for a moment under
    a hidden ``.NAME.old-*`` name).
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_sibling(p)
    tmp.mkdir()
    old: Path | None = None
    try:
        yield tmp
        if p.exists() or p.is_symlink():
            old = p.parent / f".{p.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(p, old)
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            if p.exists():
                if old.is_dir() and not old.is_symlink():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        old.unlink()
            else:  # the new folder did not land: put the old one back
                os.replace(old, p)
