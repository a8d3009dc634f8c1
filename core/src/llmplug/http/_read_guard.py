"""Exact timeouts for sync body reads: one watchdog thread that interrupts a blocked read.

httpx2 fixes a response body's socket read timeout once, when the body starts. That
bounds each read, not the phase it belongs to: a server trickling a byte a second
keeps a read alive for ever. The sync twin of the async stream watchdog: a
:class:`ReadGuard` per body says when its current phase ends (``first_event``,
``idle`` or the call's total deadline); one daemon thread for the process shuts the
socket down when a guarded read outlives it, which makes the blocked read return at
once. The reader then sees :attr:`ReadGuard.expired` and raises the timeout.

Bodies without a socket (a mock transport) cannot be interrupted: their reader checks
:meth:`ReadGuard.overdue` after each read instead.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import suppress
from typing import Any

__all__ = ["ReadGuard"]


class ReadGuard:
    """The timeouts of one sync body, enforced while it is being read.

    The reader only writes a few attributes per read (no lock, no wake-up): the
    watchdog thread never sleeps longer than the guard's ``idle``, so it looks again
    before an idle phase that has just begun can end.

    Args:
        sock: The connection's socket (``None``: cannot be interrupted).
        stream: Whether the body is a stream of events (else a plain body, bounded by
            ``total`` alone).
        first_event: Seconds from now until the first event must have arrived.
        idle: Seconds each later event may take, counted while reading.
        total: Seconds from now until the call's deadline.
    """

    __slots__ = ("_first", "_idle", "_reading", "_seen", "_since", "_sock", "_total", "expired")

    def __init__(
        self,
        sock: Any,
        *,
        stream: bool,
        first_event: float | None = None,
        idle: float | None = None,
        total: float | None = None,
    ) -> None:
        now = time.monotonic()
        self._sock = sock
        self._first = None if first_event is None else now + first_event
        self._idle = idle
        self._total = None if total is None else now + total
        self._since: float | None = None  # when the wait for the next event began
        self._reading = False
        self._seen = not stream  # a plain body has no first event to wait for
        self.expired: str | None = None
        if sock is not None:
            _WATCHDOG.add(self)

    def due(self) -> tuple[float, str] | None:
        """When the current phase ends and which timeout that is (``None``: never)."""
        due: float | None = None
        kind = ""
        if not self._seen:
            due, kind = self._first, "first_event"
        elif self._idle is not None and self._since is not None:
            due, kind = self._since + self._idle, "idle"
        if self._total is not None and (due is None or self._total <= due):
            due, kind = self._total, "total"
        return None if due is None else (due, kind)

    def reading(self) -> None:
        """The reader is about to read the body."""
        if self._since is None:
            self._since = time.monotonic()
        self._reading = True

    def done(self, events: bool) -> None:
        """A read returned; ``events``: it completed at least one event."""
        self._reading = False
        if events:
            self._seen = True
            self._since = None

    def overdue(self) -> str | None:
        """The timeout that has expired (checked by the reader), if any."""
        if self.expired is not None:
            return self.expired
        due = self.due()
        if due is not None and time.monotonic() >= due[0]:
            self.expired = due[1]
        return self.expired

    def check(self, now: float) -> float | None:
        """Interrupt the read if its phase has ended; else when to look again."""
        due = self.due()
        if due is not None and self._reading and now >= due[0]:
            self.expired = due[1]
            with suppress(OSError):  # closed already
                # the base class's shutdown, also for a TLS socket: wakes the blocked read
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
            return None
        when = None if due is None else due[0]
        if self._idle is not None and (when is None or now + self._idle < when):
            when = now + self._idle  # an idle phase may begin at any read
        return when

    def close(self) -> None:
        """Stop guarding (the body is done)."""
        self._reading = False
        if self._sock is not None:
            _WATCHDOG.remove(self)


class _Watchdog:
    """The one thread that watches every guarded sync read, started on first use."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._guards: set[ReadGuard] = set()
        self._wake: float | None = None
        self._thread: threading.Thread | None = None

    def add(self, guard: ReadGuard) -> None:
        with self._cond:
            self._guards.add(guard)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="llmplug-http-read-guard", daemon=True
                )
                self._thread.start()
            when = guard.check(time.monotonic())
            if when is not None and (self._wake is None or when < self._wake):
                self._wake = when
                self._cond.notify()

    def remove(self, guard: ReadGuard) -> None:
        with self._cond:
            self._guards.discard(guard)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                wake: float | None = None
                for guard in list(self._guards):
                    when = guard.check(now)
                    if when is None:
                        if guard.expired is not None:
                            self._guards.discard(guard)
                    elif wake is None or when < wake:
                        wake = when
                self._wake = wake
                self._cond.wait(None if wake is None else max(wake - now, 0.0))


_WATCHDOG = _Watchdog()
