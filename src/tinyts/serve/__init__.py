"""``tinyts serve``: the tinyts tasks as an HTTP service (FastAPI), for ``pip install "tinyts[serve]"``.

::

    from tinyts.serve import ServeConfig, create_app
    app = create_app(ServeConfig(pulse="tinypulse", cast="path/to/tinycast"))

Routes: ``GET /health``; ``POST /v1/impute``, ``/v1/detect``, ``/v1/embed``, ``/v1/forecast``,
``/v1/classify``. See ``docs/serve.md``. FastAPI is imported only when :func:`create_app` is used, and a
missing install raises an ImportError that names the extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tinyts.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app", "require_serve"]

if TYPE_CHECKING:  # pragma: no cover
    from tinyts.serve.app import create_app


def require_serve(*modules: str) -> None:
    """Import the service's optional packages or raise an ImportError naming ``tinyts[serve]``."""
    from tinyts.errors import require

    for module in modules or ("fastapi", "uvicorn"):
        require(module, 'pip install "tinyts[serve]"', "tinyts serve")


def __getattr__(name: str) -> Any:
    if name == "create_app":
        require_serve("fastapi")
        from tinyts.serve.app import create_app

        return create_app
    raise AttributeError(f"module 'tinyts.serve' has no attribute {name!r}")
