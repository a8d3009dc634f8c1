"""The sync request loop and stream reader (twins of :mod:`llmplug.http._async`)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import httpx2

from llmplug.errors import LLMError
from llmplug.http._client import sync_client
from llmplug.http._exchange import (
    ERROR_BODY_LIMIT,
    Call,
    Retry,
    direct_transport,
    received,
)
from llmplug.http._read_guard import ReadGuard
from llmplug.http._signing import sign
from llmplug.http._stream_parser import StreamParser
from llmplug.types._responses import ChatResponse

if TYPE_CHECKING:
    pass

__all__ = ["chat", "request_bytes", "request_json", "stream"]

T = TypeVar("T")


def _send(call: Call, consume: Callable[[Call, httpx2.Response], T]) -> T:
    """The retry loop: send, hand a successful response to ``consume``, or retry.

    ``consume`` owns the response once it returns; on any failure the response is
    closed here. ``consume`` raises :class:`Retry` for failures worth deciding on.
    """
    client = sync_client(call.llm)
    retries = call.retries
    while True:
        response: httpx2.Response | None = None
        try:
            request = call.request(client, sign(call))
            response = _send_one(client, request)
            if response.status_code >= 300:
                failure = call.status_failure(response, _error_body(call, response))
            else:
                result = consume(call, response)
                response = None  # consume owns it now
                return result
        except Retry as retry:
            failure = retry.failure
        except httpx2.InvalidURL as exc:
            raise call.invalid_url(exc)  # noqa: B904 - the cause is set on the error
        except LLMError as error:  # not worth another attempt (a body it cannot parse)
            raise call.scrub(error)  # noqa: B904 - the error as it is, its secrets removed
        except httpx2.TransportError as exc:
            failure = call.transport_failure(exc, body_started=False, read_kind=_read_kind(call))
        finally:
            if response is not None:
                response.close()
        call.scrub(failure.error)  # before the retry log line shows it
        wait = retries.next_wait(failure)
        if wait is None:
            raise failure.error
        call.clock.sleep(wait)


def _send_one(client: httpx2.Client, request: httpx2.Request) -> httpx2.Response:
    """``client.send(request, stream=True)``, through the transport directly when it can."""
    transport = direct_transport(client, request)
    if transport is None:
        return client.send(request, stream=True)
    try:
        response = transport.handle_request(request)
    except httpx2.RequestError as exc:
        exc.request = request
        raise
    return received(client, request, response)


def _read_kind(call: Call) -> str:
    return "first_event" if call.stream else "read"


def _socket(response: httpx2.Response) -> socket.socket | None:
    """The socket a response is read from, if its transport has one (to interrupt)."""
    stream = response.extensions.get("network_stream")
    get = getattr(stream, "get_extra_info", None)
    sock = get("socket") if get is not None else None
    return sock if isinstance(sock, socket.socket) else None


def _body_guard(call: Call, response: httpx2.Response) -> ReadGuard | None:
    """A guard holding a plain body to the call's deadline (``None``: it has none)."""
    remaining = call.retries.remaining()
    if remaining is None:
        return None  # each read is bounded by Timeout.read, and that is all
    return ReadGuard(_socket(response), stream=False, total=remaining)


def _read_all(call: Call, response: httpx2.Response) -> bytes:
    """The whole body, within the call's deadline (however slowly it trickles in)."""
    guard = _body_guard(call, response)
    if guard is None:
        return response.read()
    guard.reading()
    try:
        return response.read()
    except httpx2.HTTPError:
        if guard.overdue() is not None:  # the guard cut the read at the deadline
            raise call.total_expired() from None
        raise
    finally:
        guard.close()


def _error_body(call: Call, response: httpx2.Response) -> bytes:
    body = bytearray()
    guard = _body_guard(call, response)
    try:
        if guard is not None:
            guard.reading()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= ERROR_BODY_LIMIT or (guard is not None and guard.overdue()):
                break
    except httpx2.HTTPError:
        pass  # the status says enough
    finally:
        if guard is not None:
            guard.close()
    return bytes(body[:ERROR_BODY_LIMIT])


def _read_json(call: Call, response: httpx2.Response) -> Any:
    try:
        content = _read_all(call, response)
    except httpx2.TransportError as exc:
        started = response.num_bytes_downloaded > 0
        raise Retry(call.transport_failure(exc, body_started=started)) from None
    finally:
        response.close()
    return call.body_json(response, content)


def request_json(call: Call) -> Any:
    """Send a request other than a chat; return its decoded JSON body."""
    return _send(call, _read_json)


def _read_bytes(call: Call, response: httpx2.Response) -> bytes:
    try:
        content = _read_all(call, response)
    except httpx2.TransportError as exc:
        started = response.num_bytes_downloaded > 0
        raise Retry(call.transport_failure(exc, body_started=started)) from None
    finally:
        response.close()
    return content


def request_bytes(call: Call) -> bytes:
    """Send a request answered by a file; return its body's bytes."""
    return _send(call, _read_bytes)


def chat(call: Call) -> ChatResponse:
    """Send a non-streaming call and parse its answer."""
    return call.parse_response(_send(call, _read_json))


_Opened = tuple[
    httpx2.Response,
    StreamParser,
    Iterator[bytes] | None,
    ReadGuard | None,
    list[ChatResponse],
    bool,
]


def _stream_guard(call: Call, response: httpx2.Response) -> ReadGuard:
    """The guard of a stream's body: ``first_event``, ``idle`` and the deadline, exact."""
    t = call.timeout
    first = None
    if t.first_event is not None:
        first = t.first_event - (call.clock.monotonic() - call.sent)
    return ReadGuard(
        _socket(response),
        stream=True,
        first_event=first,
        idle=t.idle,
        total=call.retries.remaining(),
    )


def _open(call: Call, response: httpx2.Response) -> _Opened:
    # read up to the first chunk inside the retry loop: until a chunk reached the
    # caller, any failure may be retried. Returns ``(response, parser, body, guard,
    # chunks, eof)`` for :func:`stream` to go on from.
    parser = StreamParser(call)
    body: Iterator[bytes] | None = None
    guard: ReadGuard | None = None
    try:
        if parser.json_body(response):
            try:
                content = _read_all(call, response)
            except httpx2.HTTPError as exc:
                raise parser.broken(exc)  # noqa: B904 - the cause is set on the error
            return response, parser, None, None, parser.from_json(response, content), True
        call.set_body_timeout(response)
        encoded = "content-encoding" in response.headers
        body = response.iter_bytes() if encoded else response.iter_raw()
        guard = _stream_guard(call, response)
        while True:
            chunks, eof = _read(call, parser, body, guard)
            if chunks or eof or parser.ended or parser.pending is not None:
                return response, parser, body, guard, chunks, eof
    except BaseException:
        if guard is not None:
            guard.close()
        _close(body)
        response.close()
        raise


def _read(
    call: Call, parser: StreamParser, body: Iterator[bytes], guard: ReadGuard
) -> tuple[list[ChatResponse], bool]:
    """The chunks of the next read of ``body``, and whether the body ended.

    The guard interrupts a read that outlives its phase (``first_event``, ``idle``,
    the deadline); a body that trickles bytes without completing events is caught
    after each read too.
    """
    events = parser.events
    guard.reading()
    try:
        data = next(body)
    except StopIteration:
        guard.done(False)
        kind = guard.overdue()  # a body without a length ends where the guard cut it
        if kind is not None:
            raise parser.expired(kind) from None
        return parser.finish(), True
    except httpx2.HTTPError as exc:
        guard.done(False)
        kind = guard.overdue()
        if kind is not None:
            raise parser.expired(kind) from None
        raise parser.broken(exc)  # noqa: B904 - the cause is set on the error
    deadline = call.retries.deadline
    if deadline is not None and call.clock.monotonic() >= deadline:
        guard.done(False)
        raise parser.expired("total")
    chunks = parser.feed(data)
    completed = parser.events != events
    guard.done(completed)
    if not completed:
        kind = guard.overdue()  # bytes, but no event, for longer than allowed
        if kind is not None:
            raise parser.expired(kind)
    return chunks, False


def _close(body: Iterator[bytes] | None) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


def stream(make_call: Callable[[], Call]) -> Generator[Any, None, None]:
    """Send ``make_call()`` on the first ``next()`` and yield its chunks.

    A chat's chunks, or for a call of JSON events each event decoded. The call is made
    (its request built) then too, so bad input fails at the first chunk.
    Closing the iterator closes the response.
    """
    call = make_call()
    response, parser, body, guard, chunks, eof = _send(call, _open)
    # one generator frame per chunk: the caller's next() resumes this loop directly
    try:
        while True:
            for chunk in chunks:
                parser.last = chunk
                yield chunk
            if parser.pending is not None:
                raise parser.pending
            if parser.ended:
                if body is not None and not eof:
                    _drain(body)
                return
            if eof or body is None or guard is None:
                raise parser.incomplete()
            chunks, eof = _read(call, parser, body, guard)
    except LLMError as error:
        raise call.scrub(error)  # noqa: B904 - the error as it is, its secrets removed
    finally:
        if guard is not None:
            guard.close()
        _close(body)
        response.close()


def _drain(body: Iterator[bytes]) -> None:
    # read what follows the end marker (usually just the chunked terminator), so the
    # connection goes back to the pool instead of being closed
    size = 0
    try:
        for data in body:
            size += len(data)
            if size > ERROR_BODY_LIMIT:
                return
    except httpx2.HTTPError:
        pass
