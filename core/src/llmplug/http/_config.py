"""Configuration value objects of the HTTP layer, with every default in one place.

* :class:`Timeout`: how long each phase of a call may take;
* :class:`Limits`: the connection pool of each provider instance;
* :class:`RetryPolicy`: how long to wait between attempts.

None of them imports httpx2: they are read when a request is made.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_RETRY_POLICY",
    "DEFAULT_TIMEOUT",
    "Limits",
    "RetryPolicy",
    "Timeout",
]


def _seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"Timeout.{name} must be seconds (a number) or None, got {value!r}")
    seconds = float(value)
    if math.isnan(seconds) or seconds <= 0:
        raise ValueError(f"Timeout.{name} must be a positive number of seconds, got {value!r}")
    return None if math.isinf(seconds) else seconds


@dataclass(frozen=True, slots=True)
class Timeout:
    """How long each phase of a call may take, in seconds (``None``: no limit).

    ``llm.chat(messages, timeout=30)`` (a number) sets :attr:`total` and keeps the other
    defaults; a ``Timeout`` sets every phase. Every phase is also cut to what is left of
    :attr:`total`, so a call never outlives it, retries and waits included.

    Attributes:
        connect: Opening a connection (TCP and TLS).
        read: Each read of a non-streaming response (its headers, then its body).
        write: Each write of the request.
        pool: Waiting for a free connection from the pool.
        first_event: A stream: from sending the request to its first event.
        idle: A stream: waiting for each following event. The time the caller spends
            between chunks does not count.
        total: The whole call: every attempt, the waits between them and, for a stream,
            reading it to the end.

    :attr:`first_event`, :attr:`idle` and :attr:`total` are exact on every endpoint,
    sync and async: a body trickling in a byte at a time, or a stream sending bytes
    but no whole event, is cut when the phase it is in ends (a sync read is
    interrupted by a watchdog thread). A timeout once chunks reached the caller is a
    :class:`~llmplug.errors.StreamTimeoutError`, which carries the text so far.
    """

    connect: float | None = 5.0
    read: float | None = 600.0
    write: float | None = 600.0
    pool: float | None = 600.0
    first_event: float | None = 600.0
    idle: float | None = 600.0
    total: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _seconds(f.name, getattr(self, f.name)))

    @classmethod
    def coerce(cls, value: Any, default: Timeout | None = None) -> Timeout:
        """Read a timeout given as a ``Timeout``, seconds, a mapping or ``None``.

        Args:
            value: A :class:`Timeout`; a number (or numeric text, from a config string)
                meaning :attr:`total`; a mapping of field names; an object with
                ``connect``/``read``/``write``/``pool`` attributes (an ``httpx.Timeout``);
                or ``None`` for ``default``.
            default: What ``None`` and the unset fields mean (:data:`DEFAULT_TIMEOUT`).
        """
        base = DEFAULT_TIMEOUT if default is None else default
        if value is None:
            return base
        if isinstance(value, Timeout):
            return value
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            return replace(base, total=_seconds("total", value))
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {f.name for f in fields(cls)})
            if unknown:
                valid = ", ".join(f.name for f in fields(cls))
                raise ValueError(f"unknown Timeout field(s) {unknown}; valid: {valid}")
            return replace(base, **value)
        phases = ("connect", "read", "write", "pool")
        if all(hasattr(value, name) for name in phases):
            return replace(base, **{name: getattr(value, name) for name in phases})
        raise TypeError(
            f"timeout must be seconds, a llmplug.http.Timeout or a mapping, got {value!r}"
        )


#: The timeouts used when none are given.
DEFAULT_TIMEOUT = Timeout()


@dataclass(frozen=True, slots=True)
class Limits:
    """The connection pool of one provider instance (one for sync, one for async).

    The defaults were chosen by measurement (500 concurrent async requests to a loopback
    server): a pool much larger than 100 costs CPU on every request (httpx's pool
    bookkeeping grows with it: 2x the CPU per request at 500 connections), a much
    smaller one caps concurrency (20 connections served 350 req/s against a 50 ms
    server where 100 served 1,250).

    Attributes:
        max_connections: Connections open at once; further requests wait (``pool``).
        max_keepalive_connections: Idle connections kept for reuse.
        keepalive_expiry: Seconds an idle connection is kept.
    """

    max_connections: int | None = 100
    max_keepalive_connections: int | None = 20
    keepalive_expiry: float | None = 5.0


#: The pool limits used when a provider sets none.
DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait between attempts.

    Without a usable ``retry-after-ms``/``retry-after`` header the wait is
    ``initial_backoff * 2**n`` (``n`` = retries so far), at most ``max_backoff``, less a
    random share of up to ``jitter`` of it. A server asking for more than
    ``max_retry_after`` seconds gets no retry: the error is raised at once, with its
    ``retry_after``.

    Attributes:
        initial_backoff: Seconds before the first retry.
        max_backoff: The longest computed wait.
        jitter: The largest share taken off a computed wait at random (0 to 1).
        max_retry_after: The longest server-requested wait that is honoured.
    """

    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0

    def backoff(self, retries_so_far: int, rand: float) -> float:
        """The computed wait before the next retry.

        Args:
            retries_so_far: 0 before the first retry.
            rand: A random number in ``[0, 1)``.
        """
        wait = min(self.initial_backoff * 2.0 ** min(retries_so_far, 32), self.max_backoff)
        return wait * (1.0 - self.jitter * rand)


#: The retry waits used when a provider sets none.
DEFAULT_RETRY_POLICY = RetryPolicy()
