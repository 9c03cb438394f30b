"""The ``tinyts`` command line: one module per command group, one error handler for every command.

``main`` holds the root app and the list of command groups; each group module (``demo``, ``data``,
``train``, ``tasks``, ``classify``, ``search``, ``compress``, ``serve``, ``export``) adds its commands
with ``register(app)`` through :func:`tinyts.cli.common.command`, which wraps each one in the error
handler (:func:`tinyts.cli.common.exit_on_error`). Shared pieces: ``common`` (handler, ``fail``,
output checks), ``files`` (csv reading and writing), ``plots`` (every figure), ``distributed``
(``--engine``). See docs/cli.md.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """The ``tinyts`` console script (:func:`tinyts.cli.main.main`).

    Imported on call, so that ``python -m tinyts.cli.serve`` (or any ``tinyts.cli`` module run as a
    program) does not import the root app first.
    """
    from tinyts.cli.main import main as run

    run()
