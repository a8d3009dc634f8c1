"""Test helpers for HTTP providers: scripted servers, fault injection, a fake clock.

Run a provider against :class:`MockServer` (through ``httpx2.MockTransport``, sync and
async) with no network, and a :class:`FakeClock` so retries never really wait::

    server = MockServer(Reply(429, headers={"retry-after": "2"}), Reply(200, json={...}))
    clock = FakeClock()
    llm = MyProvider(transport=server.transport(), clock=clock)
    llm.chat(messages)
    assert clock.sleeps == [2.0] and server.open_bodies == []

Every body :class:`MockServer` sends records whether it was closed, so a test can
assert that no response was left open after a fault, a ``break`` or a cancellation.
Importing this module imports httpx2.
"""

from __future__ import annotations

import asyncio
import json as _json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2

from llmplug.http._retry import Clock

__all__ = ["Body", "FakeClock", "MockServer", "Reply", "Stall", "ndjson", "sse"]


class FakeClock(Clock):
    """A clock that never waits: sleeping advances it, and is recorded in :attr:`sleeps`.

    Args:
        start: The monotonic time to start at.
        wall: The wall-clock time (``time()``) at ``start``.
        rand: What :meth:`random` returns (0.0: no jitter taken off backoffs).
    """

    def __init__(self, start: float = 1000.0, wall: float = 1_750_000_000.0, rand: float = 0.0):
        self.now = start
        self._start = start
        self._wall = wall
        self.rand = rand
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """The fake monotonic time."""
        return self.now

    def time(self) -> float:
        """The fake wall-clock time."""
        return self._wall + (self.now - self._start)

    def advance(self, seconds: float) -> None:
        """Move time forward without sleeping."""
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """Record the sleep and advance."""
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        """Record the sleep and advance (yielding to the loop once)."""
        self.sleep(seconds)
        await asyncio.sleep(0)

    def random(self) -> float:
        """The fixed jitter draw."""
        return self.rand


@dataclass(frozen=True)
class Stall:
    """A body item that waits (async bodies only) until ``event`` is set: never, if unset."""

    event: asyncio.Event | None = None


BodyItem = bytes | BaseException | Stall | Callable[[], None]


class Body(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A response body sent in ``items``: bytes, exceptions to raise, stalls, callbacks.

    Attributes:
        closed: Whether the client closed it.
        sent: How many byte items were delivered.
    """

    def __init__(self, items: Iterable[BodyItem]) -> None:
        self.items = list(items)
        self.closed = False
        self.sent = 0

    def _step(self, item: BodyItem) -> bytes | None:
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, bytes):
            self.sent += 1
            return item
        if callable(item):
            item()
        return None

    def __iter__(self) -> Iterator[bytes]:
        for item in self.items:
            if isinstance(item, Stall):
                raise RuntimeError("Stall works in async bodies only")
            data = self._step(item)
            if data is not None:
                yield data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for item in self.items:
            if isinstance(item, Stall):
                await (item.event or asyncio.Event()).wait()
                continue
            data = self._step(item)
            if data is not None:
                yield data

    def close(self) -> None:
        """Record the close."""
        self.closed = True

    async def aclose(self) -> None:
        """Record the close."""
        self.closed = True


@dataclass
class Reply:
    """One scripted answer of :class:`MockServer`.

    Attributes:
        status: The HTTP status.
        json: A JSON body (sets ``content-type: application/json``).
        body: The body in items (bytes, exceptions to raise midway, :class:`Stall`).
        headers: Response headers.
        raises: Raise this instead of answering (``httpx2.ConnectError(...)``).
    """

    status: int = 200
    json: Any = None
    body: Iterable[BodyItem] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    raises: BaseException | None = None


def _check_reply(reply: Any) -> None:
    """Refuse a reply that would silently send something else than was meant."""
    if not isinstance(reply, Reply):
        raise TypeError(
            f"MockServer takes Reply objects, got {type(reply).__name__}: "
            f"write MockServer(Reply(200, json=...)) or Reply(body=[b'...'])"
        )
    if isinstance(reply.body, bytes | bytearray | str):
        # iterating bytes gives ints: the body would be sent empty
        raise TypeError(
            f"Reply(body=...) takes a list of items, not one {type(reply.body).__name__} "
            f"value: write body=[{reply.body[:20]!r}...] (one item per network read)"
        )
    if reply.json is not None and reply.body:
        raise TypeError("a Reply has json= or body=, not both")


def ndjson(*lines: Any) -> list[bytes]:
    """NDJSON body items: one line per value (dicts JSON-encoded), one item per line."""
    return [f"{v if isinstance(v, str) else _json.dumps(v)}\n".encode() for v in lines]


def sse(*events: Any, done: bool = True, event: str | None = None) -> list[bytes]:
    """SSE body items: one ``data:`` event per value (dicts JSON-encoded), then ``[DONE]``."""
    prefix = f"event: {event}\n" if event else ""
    items = [
        f"{prefix}data: {e if isinstance(e, str) else _json.dumps(e)}\n\n".encode() for e in events
    ]
    if done:
        items.append(b"data: [DONE]\n\n")
    return items


class MockServer:
    """Answers requests with scripted :class:`Reply` objects, in order.

    The last reply is repeated once the script runs out. Use :meth:`transport` for a
    sync client and :meth:`async_transport` for an async one.

    Attributes:
        requests: Every request received.
        bodies: Every body sent (see :attr:`open_bodies`).
    """

    def __init__(self, *replies: Reply) -> None:
        for reply in replies:
            _check_reply(reply)
        self.replies = list(replies)
        self.requests: list[httpx2.Request] = []
        self.bodies: list[Body] = []

    @property
    def open_bodies(self) -> list[Body]:
        """The bodies the client has not closed (a leaked connection, in real life)."""
        return [b for b in self.bodies if not b.closed]

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        """Answer ``request`` with the next reply."""
        self.requests.append(request)
        index = min(len(self.requests), len(self.replies)) - 1
        reply = self.replies[index]
        if reply.raises is not None:
            raise reply.raises
        headers = dict(reply.headers)
        items = list(reply.body)
        if reply.json is not None:
            headers.setdefault("content-type", "application/json")
            items = [_json.dumps(reply.json).encode()]
        body = Body(items)
        self.bodies.append(body)
        return httpx2.Response(reply.status, headers=headers, stream=body, request=request)

    def transport(self) -> httpx2.MockTransport:
        """A transport for ``HTTPChatLLM(transport=...)``."""
        return httpx2.MockTransport(self.handle)

    def async_transport(self) -> httpx2.MockTransport:
        """A transport for ``HTTPChatLLM(async_transport=...)``."""

        async def handle(request: httpx2.Request) -> httpx2.Response:
            return self.handle(request)

        return httpx2.MockTransport(handle)
