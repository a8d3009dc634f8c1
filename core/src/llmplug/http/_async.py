"""The async request loop and stream reader (twins of :mod:`llmplug.http._sync`).

Natively async: no worker threads. Streams also get a watchdog that enforces
``Timeout.first_event``, ``Timeout.idle`` and the total deadline exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx2

from llmplug.errors import LLMError
from llmplug.http._client import async_client
from llmplug.http._exchange import (
    ERROR_BODY_LIMIT,
    Call,
    Retry,
    direct_transport,
    received,
)
from llmplug.http._signing import asign
from llmplug.http._stream_parser import StreamParser
from llmplug.types._responses import ChatResponse

if TYPE_CHECKING:
    pass

__all__ = ["chat", "request_bytes", "request_json", "stream"]

T = TypeVar("T")


async def _send(call: Call, consume: Callable[[Call, httpx2.Response], Awaitable[T]]) -> T:
    """The retry loop (see :func:`llmplug.http._sync._send`)."""
    client = async_client(call.llm, asyncio.get_running_loop())
    retries = call.retries
    while True:
        response: httpx2.Response | None = None
        try:
            request = call.request(client, await asign(call))
            response = await _send_one(client, request)
            if response.status_code >= 300:
                failure = call.status_failure(response, await _error_body(call, response))
            else:
                result = await consume(call, response)
                response = None  # consume owns it now
                return result
        except Retry as retry:
            failure = retry.failure
        except httpx2.InvalidURL as exc:
            raise call.invalid_url(exc)  # noqa: B904 - the cause is set on the error
        except LLMError as error:  # not worth another attempt (a body it cannot parse)
            raise call.scrub(error)  # noqa: B904 - the error as it is, its secrets removed
        except httpx2.TransportError as exc:
            kind = "first_event" if call.stream else "read"
            failure = call.transport_failure(exc, body_started=False, read_kind=kind)
        finally:
            if response is not None:
                await response.aclose()
        call.scrub(failure.error)  # before the retry log line shows it
        wait = retries.next_wait(failure)
        if wait is None:
            raise failure.error
        await call.clock.asleep(wait)


async def _send_one(client: httpx2.AsyncClient, request: httpx2.Request) -> httpx2.Response:
    """``await client.send(request, stream=True)``, through the transport directly."""
    transport = direct_transport(client, request)
    if transport is None:
        return await client.send(request, stream=True)
    try:
        response = await transport.handle_async_request(request)
    except httpx2.RequestError as exc:
        exc.request = request
        raise
    return received(client, request, response)


async def _error_body(call: Call, response: httpx2.Response) -> bytes:
    body = bytearray()
    try:
        async with asyncio.timeout(call.retries.remaining()):  # a trickle ends at the deadline
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= ERROR_BODY_LIMIT:
                    break
    except (httpx2.HTTPError, TimeoutError):
        pass  # the status says enough
    return bytes(body[:ERROR_BODY_LIMIT])


async def _read_json(call: Call, response: httpx2.Response) -> Any:
    try:
        # each read is bounded by Timeout.read; the whole body by the call's deadline
        async with asyncio.timeout(call.retries.remaining()):
            content = await response.aread()
    except TimeoutError:
        raise call.total_expired() from None
    except httpx2.TransportError as exc:
        started = response.num_bytes_downloaded > 0
        raise Retry(call.transport_failure(exc, body_started=started)) from None
    finally:
        await response.aclose()
    return call.body_json(response, content)


async def request_json(call: Call) -> Any:
    """Send a request other than a chat; return its decoded JSON body."""
    return await _send(call, _read_json)


async def _read_bytes(call: Call, response: httpx2.Response) -> bytes:
    try:
        async with asyncio.timeout(call.retries.remaining()):
            content = await response.aread()
    except TimeoutError:
        raise call.total_expired() from None
    except httpx2.TransportError as exc:
        started = response.num_bytes_downloaded > 0
        raise Retry(call.transport_failure(exc, body_started=started)) from None
    finally:
        await response.aclose()
    return content


async def request_bytes(call: Call) -> bytes:
    """Send a request answered by a file; return its body's bytes."""
    return await _send(call, _read_bytes)


async def chat(call: Call) -> ChatResponse:
    """Send a non-streaming call and parse its answer."""
    return call.parse_response(await _send(call, _read_json))


_Opened = tuple[httpx2.Response, StreamParser, Any, "_Watchdog | None", list[ChatResponse], bool]


async def _open(call: Call, response: httpx2.Response) -> _Opened:
    # read up to the first chunk inside the retry loop (see llmplug.http._sync._open)
    parser = StreamParser(call)
    body: Any = None
    watchdog: _Watchdog | None = None
    try:
        if parser.json_body(response):
            try:
                content = await response.aread()
            except httpx2.HTTPError as exc:
                raise parser.broken(exc)  # noqa: B904 - the cause is set on the error
            return response, parser, None, None, parser.from_json(response, content), True
        call.set_body_timeout(response)
        encoded = "content-encoding" in response.headers
        body = response.aiter_bytes() if encoded else response.aiter_raw()
        watchdog = _Watchdog(call)
        while True:
            chunks, eof = await _read(parser, body, watchdog)
            if chunks or eof or parser.ended or parser.pending is not None:
                return response, parser, body, watchdog, chunks, eof
    except BaseException:
        if watchdog is not None:
            watchdog.close()
        if body is not None:
            await body.aclose()
        await response.aclose()
        raise


async def _read(
    parser: StreamParser, body: Any, watchdog: _Watchdog
) -> tuple[list[ChatResponse], bool]:
    """The chunks of the next read of ``body``, and whether the body ended."""
    events = parser.events
    watchdog.reading()
    try:
        data = await body.__anext__()
    except StopAsyncIteration:
        watchdog.done(False)
        return parser.finish(), True
    except asyncio.CancelledError:
        kind = watchdog.expired_kind()
        if kind is None:
            raise
        raise parser.expired(kind)  # noqa: B904 - a timeout, not a cancellation
    except httpx2.HTTPError as exc:
        raise parser.broken(exc)  # noqa: B904 - the cause is set on the error
    chunks = parser.feed(data)
    watchdog.done(parser.events != events)
    return chunks, False


async def stream(make_call: Callable[[], Awaitable[Call]]) -> AsyncGenerator[Any, None]:
    """Send ``await make_call()`` on the first ``__anext__()`` and yield its chunks.

    A chat's chunks, or for a call of JSON events each event decoded. The call is made
    (its request built) then too, so bad input fails at the first chunk.
    ``aclose()``, or cancelling the task iterating it, closes the response.
    """
    call = await make_call()
    response, parser, body, watchdog, chunks, eof = await _send(call, _open)
    # one async generator frame per chunk: the caller's __anext__ resumes this loop
    try:
        while True:
            for chunk in chunks:
                parser.last = chunk
                yield chunk
            if parser.pending is not None:
                raise parser.pending
            if parser.ended:
                if watchdog is not None:
                    watchdog.close()
                if body is not None and not eof:
                    await _drain(body)
                return
            if eof or body is None or watchdog is None:
                raise parser.incomplete()
            chunks, eof = await _read(parser, body, watchdog)
    except LLMError as error:
        raise call.scrub(error)  # noqa: B904 - the error as it is, its secrets removed
    finally:
        if watchdog is not None:
            watchdog.close()
        if body is not None:
            await body.aclose()
        await response.aclose()


async def _drain(body: Any) -> None:
    size = 0
    try:
        async for data in body:
            size += len(data)
            if size > ERROR_BODY_LIMIT:
                return
    except httpx2.HTTPError:
        pass


class _Watchdog:
    """Cancels the reading task when an async stream's timeout expires.

    Armed only while the reader awaits the body, so the time the caller spends between
    chunks does not count as idle. The timer is re-armed lazily: a chunk costs a clock
    read, not a new timer.
    """

    __slots__ = (
        "_cancelling",
        "_first",
        "_handle",
        "_idle",
        "_loop",
        "_reading",
        "_seen",
        "_since",
        "_task",
        "_total",
        "expired",
    )

    def __init__(self, call: Call) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        t = call.timeout
        self._loop = loop
        self._first: float | None = None
        if t.first_event is not None:
            self._first = now + t.first_event - (call.clock.monotonic() - call.sent)
        self._idle = t.idle
        remaining = call.retries.remaining()
        self._total = None if remaining is None else now + remaining
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None
        self._cancelling = 0
        self._since: float | None = None  # when the wait for the next event began
        self._reading = False
        self._seen = False
        self.expired: str | None = None

    def _due(self) -> tuple[float, str] | None:
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
        """The reader is about to await the body."""
        if self._since is None:
            self._since = self._loop.time()
        self._reading = True
        task = asyncio.current_task()
        if task is not None:
            self._task = task
            self._cancelling = task.cancelling()
        if self._seen and self._handle is not None:
            # armed for an earlier wait: the idle deadline only moves later, and _fire
            # re-arms a timer that fires early (a clock read per chunk, not a timer)
            return
        due = self._due()
        if due is None:
            return
        handle = self._handle
        if handle is None or handle.when() > due[0]:
            if handle is not None:
                handle.cancel()
            self._handle = self._loop.call_at(due[0], self._fire)

    def done(self, events: bool) -> None:
        """A read returned; ``events``: it completed at least one event."""
        self._reading = False
        if events:
            if not self._seen:
                self._seen = True
                if self._handle is not None:  # armed for the first event: re-arm for idle
                    self._handle.cancel()
                    self._handle = None
            self._since = None

    def _fire(self) -> None:
        self._handle = None
        if not self._reading or self._task is None:
            return  # re-armed by the next read
        due = self._due()
        if due is None:
            return
        if self._loop.time() < due[0]:
            self._handle = self._loop.call_at(due[0], self._fire)
            return
        self.expired = due[1]
        self._task.cancel()

    def expired_kind(self) -> str | None:
        """After a ``CancelledError`` in a read: the timeout behind it, else ``None``."""
        self._reading = False
        if self.expired is None or self._task is None:
            return None
        if self._task.uncancel() > self._cancelling:
            return None  # cancelled from outside as well: let the cancellation win
        return self.expired

    def close(self) -> None:
        """Disarm."""
        self._reading = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
