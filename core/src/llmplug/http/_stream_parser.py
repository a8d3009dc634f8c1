"""Reading a streaming body: bytes -> events (the provider's framing) -> chunks.

:class:`StreamParser` is shared by the sync and async loops; it hands each event to the
provider's ``parse_event`` and keeps the stream's bookkeeping (end marker, an error that
follows chunks of the same read, the partial text for a broken stream). Imported on the
first request: it imports httpx2.
"""

from __future__ import annotations

from typing import Any

import httpx2

from llmplug._secrets import redact_text
from llmplug.errors import (
    APIStatusError,
    IncompleteStreamError,
    LLMError,
    StreamInterruptedError,
)
from llmplug.http._contract import ServerEvent, StreamDecoder, StreamEnd
from llmplug.http._exchange import PARSE_ERRORS, Call, Retry, cause
from llmplug.http._retry import Failure
from llmplug.http._sse import DONE
from llmplug.types._responses import ChatResponse

__all__ = ["StreamParser"]


class StreamParser:
    """Body bytes -> events -> chunks, with the stream's bookkeeping.

    Attributes:
        last: The last chunk handed to the caller (set by the reader before it yields).
        ended: The end marker (``[DONE]`` or ``STREAM_END``) was seen.
        events: How many events arrived.
        pending: An error that came after chunks of the same read; raised once they
            reached the caller.
    """

    __slots__ = (
        "_json",
        "_parse",
        "_sse",
        "call",
        "decoder",
        "ended",
        "events",
        "last",
        "pending",
        "state",
    )

    def __init__(self, call: Call) -> None:
        llm = call.llm
        self.call = call
        self._sse = llm.stream_format == "sse"
        self._json = call.json_events
        self.decoder: StreamDecoder = llm.stream_decoder()
        self.state = None if self._json else llm.start_stream()
        self._parse = llm.parse_event
        self.last: ChatResponse | None = None
        self.ended = False
        self.events = 0
        self.pending: BaseException | None = None

    @property
    def partial(self) -> str:
        """The text the caller received so far (none for a stream of JSON events)."""
        message = getattr(self.last, "message", None)
        return (message.content or "") if message is not None else ""

    def feed(self, raw: bytes) -> list[ChatResponse]:
        """The chunks completed by ``raw``.

        Raises:
            Retry: An in-stream ``overloaded`` error before the first chunk.
            APIError: Another in-stream error event, or an event the provider could not
                parse.
        """
        try:
            events = self.decoder.feed(raw)
        except PARSE_ERRORS as exc:  # a provider's own decoder: malformed framing
            return self._undecodable(exc, raw)
        return self._chunks(events)

    def finish(self) -> list[ChatResponse]:
        """The chunks left at the end of the body."""
        try:
            events = self.decoder.flush()
        except PARSE_ERRORS as exc:
            return self._undecodable(exc, b"")
        chunks = self._chunks(events)
        if self._json:
            self.ended = True  # a stream of JSON events is complete when its body ends
        return chunks

    def _undecodable(self, exc: Exception, raw: bytes) -> list[ChatResponse]:
        if not self.ended:
            self._failed(cause(self.call.unparsable(exc, raw), exc), [])
        return []

    def _chunks(self, events: list[ServerEvent]) -> list[ChatResponse]:
        out: list[ChatResponse] = []
        if not events or self.ended:
            return out
        self.events += len(events)
        if self._json:
            return self._json_events(events)
        for event in events:
            if self._sse and event.data == DONE:
                self.ended = True
                break
            try:
                result = self._parse(event, self.state)
            except LLMError as exc:
                self._failed(exc, out)
                break
            except PARSE_ERRORS as exc:
                self._failed(cause(self.call.unparsable(exc, event.data), exc), out)
                break
            if result is None:
                continue
            if isinstance(result, ChatResponse):
                out.append(result)
            elif isinstance(result, list):
                for item in result:
                    if isinstance(item, StreamEnd):
                        self.ended = True
                        break
                    out.append(item)
                if self.ended:
                    break
            else:  # STREAM_END
                self.ended = True
                break
        return out

    def _json_events(self, events: list[ServerEvent]) -> list[Any]:
        out: list[Any] = []
        for event in events:
            if self._sse and event.data == DONE:
                self.ended = True
                break
            try:
                out.append(event.json())
            except ValueError as exc:
                self._failed(cause(self.call.unparsable(exc, event.data), exc), out)
                break
        return out

    def _failed(self, error: LLMError, out: list[Any]) -> None:
        self.call.scrub(error)
        if out:  # deliver the chunks that came before the error first
            self.pending = error
            return
        if (
            self.last is None
            and isinstance(error, APIStatusError)
            and error.status_code in self.call.llm.in_stream_retry_statuses
        ):
            raise Retry(Failure(error, retryable=True))
        raise error

    def json_body(self, response: httpx2.Response) -> bool:
        """Whether a stream request got a plain JSON answer (a server ignoring ``stream``).

        For SSE and binary framings (an event stream), ``application/json`` is never the
        stream itself; NDJSON streams are sometimes served as ``application/json``, so
        their body is read as a stream, line by line.
        """
        kind = response.headers.get("content-type", "")
        return kind.startswith("application/json") and self.call.llm.stream_format != "ndjson"

    def from_json(self, response: httpx2.Response, content: bytes) -> list[ChatResponse]:
        """The one chunk of a JSON answer to a stream request (or its error)."""
        data = self.call.body_json(response, content)
        if self._json:
            self.ended = True
            return [data]
        if isinstance(data, dict) and data.get("error"):
            self._failed(self.call.llm.error_from_body(data), [])
        reply = self.call.parse_response(data)
        self.ended = True
        if reply.delta is None:
            reply = reply.model_copy(update={"delta": reply.message.content or ""})
        return [reply]

    def expired(self, kind: str) -> Exception:
        """The error to raise for a timeout that expired while reading the body.

        ``kind`` is ``first_event``, ``idle`` or ``total``. Before any chunk reached the
        caller, a :class:`Retry` (another attempt is safe, unless the total deadline
        passed); after, a ``StreamTimeoutError`` with the text that arrived.
        """
        if self.last is None:
            return Retry(Failure(self.call.timed_out(kind), retryable=kind != "total"))
        return self.call.timed_out(kind, partial=self.partial)

    def broken(self, exc: Exception) -> Exception:
        """The error for a transport failure while reading the body."""
        call = self.call
        read_kind = "idle" if self.events else "first_event"
        if self.last is None:  # nothing reached the caller: another attempt is safe
            return Retry(
                call.transport_failure(
                    exc, body_started=False, read_kind=read_kind, read_phase="body"
                )
            )
        if isinstance(exc, httpx2.TimeoutException):
            kind = "total" if "body" in call.clamped else read_kind
            return cause(call.timed_out(kind, partial=self.partial), exc)
        if isinstance(exc, httpx2.NetworkError | httpx2.RemoteProtocolError):
            detail = redact_text(str(exc), call.secrets) or type(exc).__name__
            return cause(
                StreamInterruptedError(
                    f"the connection dropped mid-stream ({detail}); "
                    f"{len(self.partial)} characters had arrived",
                    provider=call.provider,
                    partial=self.partial,
                ),
                exc,
            )
        return call.transport_failure(exc, body_started=True).error

    def incomplete(self) -> IncompleteStreamError:
        """The error for a body that ended before the stream's end marker."""
        marker = self.call.llm.stream_end or ("[DONE]" if self._sse else "its end marker")
        return IncompleteStreamError(
            f"the stream ended before {marker}; {len(self.partial)} characters had arrived",
            provider=self.call.provider,
            partial=self.partial,
        )
