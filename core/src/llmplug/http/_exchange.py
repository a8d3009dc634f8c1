"""One call on the wire, shared by the sync and async loops.

:class:`Call` holds what the loops need (the request, its timeouts, its retry budget)
and turns what went wrong into a :class:`~llmplug.http._retry.Failure`;
:class:`StreamParser` turns body bytes into chunks through the provider's
``parse_event``. Imported on the first request: it imports httpx2.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx2

from llmplug._secrets import redact_headers, redact_text, redact_url
from llmplug._untrusted import loads_json
from llmplug.errors import (
    APIError,
    APIStatusError,
    ConfigError,
    IncompleteStreamError,
    LLMError,
    StreamInterruptedError,
)
from llmplug.http._client import remember_secrets
from llmplug.http._contract import ServerEvent, StreamEnd
from llmplug.http._errors import (
    connection_error,
    redacted_excerpt,
    scrub_error,
    shape_error,
    timeout_error,
)
from llmplug.http._retry import Clock, Failure, Retries, status_is_retryable
from llmplug.http._sse import DONE, NDJSONDecoder, SSEDecoder
from llmplug.types._responses import ChatResponse

if TYPE_CHECKING:
    from llmplug.http._config import Timeout
    from llmplug.http._runtime import HTTPChatLLM

__all__ = [
    "ERROR_BODY_LIMIT",
    "Call",
    "Retry",
    "StreamParser",
    "direct_transport",
    "logger",
    "received",
]

logger = logging.getLogger("llmplug.http")

#: Bytes of an error response read (the rest is dropped); also the most drained after
#: a stream's end marker, so the connection can go back to the pool.
ERROR_BODY_LIMIT = 64 * 1024
_OVERLOADED = 529
# errors from a provider's pure parsing code that mean "malformed data", not "bug"
_PARSE_ERRORS = (ValueError, LookupError, TypeError, AttributeError)
_TIMEOUT_PHASES: dict[type[Exception], str] = {
    httpx2.ConnectTimeout: "connect",
    httpx2.PoolTimeout: "pool",
    httpx2.WriteTimeout: "write",
}


@lru_cache(maxsize=256)
def _parsed_url(url: str, params: tuple[tuple[str, str], ...]) -> httpx2.URL:
    # httpx2 parses a URL given as text on every request (a third of building one);
    # a provider instance sends to the same few URLs, and httpx2.URL is immutable
    parsed = httpx2.URL(url)
    return parsed.copy_merge_params(dict(params)) if params else parsed


_HTTPX_LOGGER = logging.getLogger("httpx2")


def direct_transport(client: httpx2.Client | httpx2.AsyncClient, request: httpx2.Request) -> Any:
    """The transport to call for ``request``, or ``None`` to send through ``client.send``.

    ``client.send`` wraps the transport call in an auth flow, a redirect loop, event
    hooks and a timing wrapper, none of which llmplug's clients use (no auth object,
    redirects not followed, no hooks): the loops call the transport the client would
    choose for the URL (proxies from the environment included) directly, and keep
    what remains of ``send``: the request on errors and responses, cookies, the log
    line. (Credentials in a URL never get here: the runtime sends them as an
    ``Authorization: Basic`` header of its own, and the URL without them.)
    """
    choose = getattr(client, "_transport_for_url", None)
    if choose is None:
        return None
    return choose(request.url)


def received(
    client: httpx2.Client | httpx2.AsyncClient, request: httpx2.Request, response: httpx2.Response
) -> httpx2.Response:
    """What ``client.send`` does with a transport's response (see :func:`direct_transport`)."""
    response.request = request
    client.cookies.extract_cookies(response)
    if _HTTPX_LOGGER.isEnabledFor(logging.INFO):
        _HTTPX_LOGGER.info(
            'HTTP Request: %s %s "%s %d %s"',
            request.method,
            request.url,
            response.http_version,
            response.status_code,
            response.reason_phrase,
        )
    return response


_DEFAULT_HEADERS: dict[str, tuple[str, str]] | None = None


def _default_headers(client: httpx2.Client | httpx2.AsyncClient) -> dict[str, tuple[str, str]]:
    # the headers every httpx2 client sends by default (llmplug's clients are made with
    # no headers of their own): Accept, Accept-Encoding, Connection, User-Agent
    global _DEFAULT_HEADERS
    if _DEFAULT_HEADERS is None:
        _DEFAULT_HEADERS = {name.lower(): (name, value) for name, value in client.headers.items()}
    return _DEFAULT_HEADERS


class Retry(Exception):  # control flow inside the loops: never escapes them
    """An attempt failed; the loop decides whether to try again."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.error)
        self.failure = failure


def _cause(error: LLMError, exc: BaseException) -> LLMError:
    if isinstance(exc, httpx2.RequestError):
        try:
            sent = exc.request
        except RuntimeError:  # not set
            pass
        else:  # the cause keeps what was sent, less its secrets
            exc.request = httpx2.Request(
                sent.method, redact_url(str(sent.url)), headers=redact_headers(sent.headers.items())
            )
    error.__cause__ = exc
    return error


class Call:
    """One user call: the request, its timeouts and its retry budget."""

    __slots__ = (
        "_where",
        "clamped",
        "clock",
        "headers",
        "json",
        "limits",
        "llm",
        "method",
        "params",
        "retries",
        "secrets",
        "sent",
        "stream",
        "timeout",
        "url",
    )

    def __init__(
        self,
        llm: HTTPChatLLM,
        *,
        method: str,
        url: str,
        json: Any,
        params: Mapping[str, str],
        headers: dict[str, str],
        stream: bool,
        timeout: Timeout,
        max_retries: int,
        deadline: float | None,
        clock: Clock,
        secrets: tuple[str, ...],
    ) -> None:
        self.llm = llm
        self.method = method
        self.url = url
        self.json = json
        self.params = params
        self.headers = headers
        self.stream = stream
        self.timeout = timeout
        self.retries = Retries(
            max_retries=max_retries,
            deadline=deadline,
            clock=clock,
            policy=llm.retry_policy,
            where=self.where,
        )
        self.clock = clock
        self.secrets = secrets
        remember_secrets(secrets)
        self.limits: dict[str, float | None] = {}
        self.clamped: frozenset[str] = frozenset()
        self.sent = 0.0
        self._where: str | None = None

    def request(self, client: httpx2.Client | httpx2.AsyncClient) -> httpx2.Request:
        """The ``httpx2.Request`` of the next attempt (its timeouts cut to the total).

        Built directly: the client adds nothing but its default headers (merged here,
        names compared in any case) and the cookies servers set, which only a client
        holding some merges itself (``client.build_request``). That spares httpx2's
        per-request header and URL merging, a fifth of the client's CPU per call.
        """
        timeouts = {"timeout": self.attempt_timeouts()}
        if client.cookies:
            # the cookies servers set are sent back: secrets too, if echoed
            sent = tuple(c.value for c in client.cookies.jar if c.value and len(c.value) >= 4)
            if not set(sent) <= set(self.secrets):
                self.secrets = (*self.secrets, *sent)
                remember_secrets(self.secrets)
            return client.build_request(
                self.method,
                self.target(),
                json=self.json,
                headers=self.headers,
                extensions=timeouts,
            )
        merged = dict(_default_headers(client))
        for name, value in self.headers.items():
            merged[name.lower()] = (name, value)
        return httpx2.Request(
            self.method,
            self.target(),
            json=self.json,
            headers=list(merged.values()),
            extensions=timeouts,
        )

    def target(self) -> httpx2.URL:
        """The request URL with its query, parsed (raises ``httpx2.InvalidURL``)."""
        return _parsed_url(self.url, tuple(self.params.items()) if self.params else ())

    @property
    def provider(self) -> str:
        """The provider name errors carry."""
        return self.llm.provider_label

    def where(self) -> str:
        """``METHOD URL`` of the request, query included, secrets redacted (for messages)."""
        if self._where is None:
            url = self.url
            if self.params:
                url = f"{url}{'&' if '?' in url else '?'}{urlencode(self.params)}"
            self._where = f"{self.method} {redact_url(url)}"
        return self._where

    # -- one attempt ------------------------------------------------------------------

    def attempt_timeouts(self) -> dict[str, float | None]:
        """The httpx2 timeouts of the next attempt, each cut to what is left of the total.

        Raises:
            Retry: The total deadline has passed (not retryable).
        """
        t = self.timeout
        limits = {
            "connect": t.connect,
            "read": t.first_event if self.stream else t.read,
            "write": t.write,
            "pool": t.pool,
        }
        self.sent = self.clock.monotonic()
        remaining = self.retries.remaining()
        clamped: set[str] = set()
        if remaining is not None:
            if remaining <= 0:
                raise Retry(Failure(self.timed_out("total"), retryable=False))
            for name, value in limits.items():
                if value is None or value > remaining:
                    limits[name] = remaining
                    clamped.add(name)
        self.limits = limits
        self.clamped = frozenset(clamped)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s headers=%s timeouts=%s", self.where(), redact_headers(self.headers), limits
            )
        return limits

    def set_body_timeout(self, response: httpx2.Response) -> None:
        """Set the socket read timeout of a stream's body (httpx2 reads it once).

        It must allow both the rest of ``first_event`` and ``idle``: the larger of the
        two, cut to what is left of the total.
        """
        t = self.timeout
        read: float | None = None
        if t.first_event is not None and t.idle is not None:
            left = t.first_event - (self.clock.monotonic() - self.sent)
            read = max(left, t.idle)
        remaining = self.retries.remaining()
        if remaining is not None and (read is None or read > remaining):
            read = max(remaining, 0.001)
            self.clamped = self.clamped | {"body"}
        extension = response.request.extensions.get("timeout")
        if isinstance(extension, dict):
            extension["read"] = read

    # -- failures ---------------------------------------------------------------------

    def scrub(self, error: BaseException) -> BaseException:
        """``error`` with every secret this call sent redacted, its chain included.

        Every error leaving the loops passes here: the key, secret header values
        (``extra_headers``, Basic credentials from the URL) and secret query values
        are removed from its message, body, ``args`` and from each exception it
        chains to, by value, whatever the server echoed back.
        """
        return scrub_error(error, self.secrets)

    def timed_out(self, kind: str, partial: str | None = None) -> LLMError:
        """An ``APITimeoutError`` naming ``kind`` (a field of :class:`Timeout`).

        With ``partial`` (a stream's text so far), a ``StreamTimeoutError`` carrying it.
        """
        seconds = self.timeout.total if kind == "total" else getattr(self.timeout, kind, None)
        return timeout_error(
            kind, seconds, provider=self.provider, where=self.where(), partial=partial
        )

    def total_expired(self) -> Retry:
        """The failure of an attempt whose call passed its total deadline (final)."""
        return Retry(Failure(self.timed_out("total"), retryable=False))

    def status_failure(self, response: httpx2.Response, body: bytes) -> Failure:
        """The failure for an error status (the body read so far)."""
        status = response.status_code
        headers = response.headers
        if status < 400:
            location = redact_url(headers.get("location", "?"))
            error: LLMError = APIError(
                f"HTTP {status}: unexpected redirect to {location}; check base_url",
                provider=self.provider,
            )
            return Failure(error, retryable=False)
        error = self.llm.error_from_body(body, status, headers)
        retry_after = error.retry_after if isinstance(error, APIStatusError) else None
        return Failure(error, status_is_retryable(status, headers), retry_after)

    def transport_failure(
        self,
        exc: Exception,
        *,
        body_started: bool,
        read_kind: str = "read",
        read_phase: str = "read",
    ) -> Failure:
        """The failure for an httpx2 exception.

        Connection, pool and write failures are retried; read failures only before any
        of the body arrived (``body_started`` false); nothing once the deadline passed.

        Args:
            exc: The httpx2 exception.
            body_started: Whether the body (or, for a stream, a chunk) had arrived.
            read_kind: The timeout a read timeout stands for (``read``,
                ``first_event`` or ``idle``).
            read_phase: The entry of :attr:`limits` that bounded the read.
        """
        if isinstance(exc, httpx2.TimeoutException):
            phase = _TIMEOUT_PHASES.get(type(exc), read_phase)
            kind = phase if phase != read_phase else read_kind
            if phase in self.clamped:
                kind = "total"
            retryable = kind != "total" and (phase != read_phase or not body_started)
            return Failure(_cause(self.timed_out(kind), exc), retryable=retryable)
        if isinstance(exc, httpx2.ConnectError | httpx2.WriteError):
            retryable = True
        elif isinstance(exc, httpx2.ReadError | httpx2.RemoteProtocolError):
            retryable = not body_started
        else:  # proxy, protocol, decoding errors: another attempt would fail alike
            retryable = False
        error = connection_error(
            exc, provider=self.provider, where=self.where(), secrets=self.secrets
        )
        return Failure(_cause(error, exc), retryable=retryable)

    def invalid_url(self, exc: Exception) -> BaseException:
        """The error for a URL httpx2 cannot use (a bad ``base_url``), to raise."""
        error = ConfigError(
            f"invalid URL in {self.where()} ({redact_text(str(exc), self.secrets)}); "
            f"check base_url",
            provider=self.provider,
        )
        return self.scrub(_cause(error, exc))

    def body_json(self, response: httpx2.Response, content: bytes) -> Any:
        """The decoded JSON of a successful response.

        Raises:
            APIError: The body is not JSON.
        """
        try:
            return loads_json(content)
        except ValueError as exc:
            kind = response.headers.get("content-type", "no content-type")
            excerpt = redacted_excerpt(content, self.secrets)
            raise APIError(
                f"the response body is not JSON ({kind}): {excerpt!r}",
                provider=self.provider,
                body=excerpt,
            ) from exc

    def parse_response(self, data: Any) -> ChatResponse:
        """The provider's ``parse_response``, malformed data reported as ``APIError``."""
        expected = self.llm.response_body
        if not isinstance(data, expected):
            raise shape_error(data, expected, provider=self.provider, secrets=self.secrets)
        try:
            return self.llm.parse_response(data)
        except LLMError as error:
            raise self.scrub(error)  # noqa: B904 - the provider's own error, as it is
        except _PARSE_ERRORS as exc:
            raise self.scrub(_cause(self.unparsable(exc, data), exc))  # noqa: B904

    def unparsable(self, exc: BaseException, data: Any) -> APIError:
        """An ``APIError`` for a body or event the provider could not parse."""
        excerpt = redacted_excerpt(str(data), self.secrets)
        return APIError(
            f"could not parse the response ({type(exc).__name__}: "
            f"{redact_text(str(exc), self.secrets)}): {excerpt!r}",
            provider=self.provider,
            body=excerpt,
        )


class StreamParser:
    """Body bytes -> events -> chunks, with the stream's bookkeeping.

    Attributes:
        last: The last chunk handed to the caller (set by the reader before it yields).
        ended: The end marker (``[DONE]`` or ``STREAM_END``) was seen.
        events: How many events arrived.
        pending: An error that came after chunks of the same read; raised once they
            reached the caller.
    """

    __slots__ = ("_parse", "_sse", "call", "decoder", "ended", "events", "last", "pending", "state")

    def __init__(self, call: Call) -> None:
        llm = call.llm
        self.call = call
        self._sse = llm.stream_format == "sse"
        self.decoder: SSEDecoder | NDJSONDecoder = SSEDecoder() if self._sse else NDJSONDecoder()
        self.state = llm.start_stream()
        self._parse = llm.parse_event
        self.last: ChatResponse | None = None
        self.ended = False
        self.events = 0
        self.pending: BaseException | None = None

    @property
    def partial(self) -> str:
        """The text the caller received so far."""
        return (self.last.message.content or "") if self.last is not None else ""

    def feed(self, raw: bytes) -> list[ChatResponse]:
        """The chunks completed by ``raw``.

        Raises:
            Retry: An in-stream ``overloaded`` error before the first chunk.
            APIError: Another in-stream error event, or an event the provider could not
                parse.
        """
        return self._chunks(self.decoder.feed(raw))

    def finish(self) -> list[ChatResponse]:
        """The chunks left at the end of the body."""
        return self._chunks(self.decoder.flush())

    def _chunks(self, events: list[ServerEvent]) -> list[ChatResponse]:
        out: list[ChatResponse] = []
        if not events or self.ended:
            return out
        self.events += len(events)
        for event in events:
            if self._sse and event.data == DONE:
                self.ended = True
                break
            try:
                result = self._parse(event, self.state)
            except LLMError as exc:
                self._failed(exc, out)
                break
            except _PARSE_ERRORS as exc:
                self._failed(_cause(self.call.unparsable(exc, event.data), exc), out)
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

    def _failed(self, error: LLMError, out: list[ChatResponse]) -> None:
        self.call.scrub(error)
        if out:  # deliver the chunks that came before the error first
            self.pending = error
            return
        if (
            self.last is None
            and isinstance(error, APIStatusError)
            and error.status_code == _OVERLOADED
        ):
            raise Retry(Failure(error, retryable=True))
        raise error

    def json_body(self, response: httpx2.Response) -> bool:
        """Whether an SSE request got a plain JSON answer (a server ignoring ``stream``)."""
        kind = response.headers.get("content-type", "")
        return self._sse and kind.startswith("application/json")

    def from_json(self, response: httpx2.Response, content: bytes) -> list[ChatResponse]:
        """The one chunk of a JSON answer to a stream request (or its error)."""
        data = self.call.body_json(response, content)
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
            return _cause(call.timed_out(kind, partial=self.partial), exc)
        if isinstance(exc, httpx2.NetworkError | httpx2.RemoteProtocolError):
            detail = redact_text(str(exc), call.secrets) or type(exc).__name__
            return _cause(
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
