"""Running the service under uvicorn with connection limits: header timeout and a connection cap.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive`` seconds, but it has no limit
on how long a client may take to send a request's headers, and no cap on open connections (its
``limit_concurrency`` answers 503 to new requests once that many connections are open, idle ones
included, so a few hundred half-open sockets make ``/health`` answer 503 until they go away). A client
that opens connections and sends nothing, or a header line now and then ("slowloris"), holds one file
descriptor each for ever; once the process runs out of them, nothing is answered.

:class:`GuardedH11Protocol` (uvicorn's h11 protocol with two additions) closes a connection whose
request headers are not complete ``header_timeout`` seconds after it opened or after its previous
response, and keeps at most ``max_connections`` connections open: a new connection beyond the cap
closes the one that has waited longest for its client (headers or body not yet complete); if every
connection is busy computing an answer, the new one is closed instead. The request body's own deadline
is :class:`tinyts.serve.app.BodyLimit`'s (``--body-timeout``). This module imports uvicorn.
"""

from __future__ import annotations

import asyncio
import ipaddress
import resource
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_KEEP_ALIVE = 5
DEFAULT_MAX_CONNECTIONS = 256
#: file descriptors kept free for everything but client connections (models, logs, the listener)
FD_RESERVE = 64
#: seconds between two warnings about connections closed by the cap
WARN_EVERY = 10.0
#: connections closed by the cap (waiting ones, refused new ones) and the loop time of the last warning
_closed: list[float] = [0, 0, -WARN_EVERY]


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-header deadline and a cap on open connections.

    Use :func:`guarded_protocol` to make a subclass with the settings; the class attributes here are
    the defaults.
    """

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    _header_timer: asyncio.TimerHandle | None = None
    #: loop time since which this connection waits for its client (headers or body); None while busy
    _waiting_since: float = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._waiting_since = self.loop.time()
        self._arm_header_timer()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request headers are complete
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._waiting_since = self.loop.time()
            self._arm_header_timer()  # the next request's headers have the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    # ---------------------------------------------------------------------------------- internals
    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.debug("closing a connection whose request headers did not arrive in time")
            self.transport.close()

    def _waiting_for_client(self) -> bool:
        """Headers or body still incomplete (nothing for the server to compute or send yet)."""
        return not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.SEND_BODY)

    def _make_room(self) -> None:
        waiting = [
            c
            for c in self.connections
            if c is not self and isinstance(c, GuardedH11Protocol) and c._waiting_for_client()
        ]
        if waiting:
            min(waiting, key=lambda c: c._waiting_since).transport.close()
        else:
            self.transport.close()
        _closed[0 if waiting else 1] += 1
        now = self.loop.time()
        if now - _closed[2] >= WARN_EVERY:  # one line per WARN_EVERY seconds, not one per connection
            self.logger.warning(
                "more than %d connections open (--max-connections): closed %d that waited longest for "
                "their client and refused %d new ones (all others busy) since the last warning",
                self.max_connections,
                _closed[0],
                _closed[1],
            )
            _closed[:] = [0, 0, now]


def guarded_protocol(header_timeout: float, max_connections: int) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` subclass with these settings (uvicorn's ``http=`` argument).

    Raises
    ------
    ValueError
        A non-positive timeout or connection count.
    """
    if not header_timeout > 0:
        raise ValueError(f"the header timeout must be positive, got {header_timeout!r}")
    if max_connections < 1:
        raise ValueError(f"max_connections must be at least 1, got {max_connections!r}")
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout": float(header_timeout), "max_connections": int(max_connections)},
    )


def fd_connection_cap(max_connections: int) -> tuple[int, int]:
    """``max_connections`` lowered, if need be, to what the open-files limit (``ulimit -n``) allows.

    The event loop accepts up to ``backlog`` connections in one go before any of them is counted
    (:func:`uvicorn_settings` sets the backlog to the cap), so the connections may briefly reach twice
    the cap: the cap is at most half of the open-files limit less :data:`FD_RESERVE`.

    Returns
    -------
    (int, int)
        The cap to use and the soft open-files limit.
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max_connections, soft
    return max(1, min(max_connections, (soft - FD_RESERVE) // 2)), soft


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1); False for anything else."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve beyond this machine


def uvicorn_settings(
    *,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    keep_alive: int = DEFAULT_KEEP_ALIVE,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` for these connection limits.

    The listen backlog is the connection cap too: the event loop accepts up to ``backlog`` waiting
    connections at once, and a smaller burst keeps the open files within the limit while the cap
    closes connections.
    """
    return {
        "http": guarded_protocol(header_timeout, max_connections),
        "timeout_keep_alive": keep_alive,
        "backlog": max_connections,
    }
