"""One call on the wire, shared by the sync and async loops.

:class:`Call` holds what the loops need (the request, its timeouts, its retry budget)
and turns what went wrong into a :class:`~llmplug.http._retry.Failure`; the stream
reader is in ``_stream_parser``. Imported on the first request: it imports httpx2.
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
    LLMError,
)
from llmplug.http._client import remember_secrets
from llmplug.http._errors import (
    connection_error,
    redacted_excerpt,
    scrub_error,
    shape_error,
    timeout_error,
)
from llmplug.http._retry import Clock, Failure, Retries, status_is_retryable
from llmplug.http._signing import (
    JSON_CONTENT_TYPE,
    encode_json,
    signs_requests,
    with_signature,
)
from llmplug.types._responses import ChatResponse

if TYPE_CHECKING:
    from llmplug.http._config import Timeout
    from llmplug.http._runtime import HTTPChatLLM

__all__ = [
    "ERROR_BODY_LIMIT",
    "Call",
    "PARSE_ERRORS",
    "Retry",
    "cause",
    "direct_transport",
    "logger",
    "received",
]

logger = logging.getLogger("llmplug.http")

#: Bytes of an error response read (the rest is dropped); also the most drained after
#: a stream's end marker, so the connection can go back to the pool.
ERROR_BODY_LIMIT = 64 * 1024
# errors from a provider's pure parsing code that mean "malformed data", not "bug"
PARSE_ERRORS = (ValueError, LookupError, TypeError, AttributeError)
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


def cause(error: LLMError, exc: BaseException) -> LLMError:
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
    """One user call: the request, its timeouts and its retry budget.

    ``json_events``: the stream's events are handed on as decoded JSON (a request other
    than a chat, such as a model download's progress) instead of going through the
    provider's ``parse_event``; such a stream is complete when its body ends.
    """

    __slots__ = (
        "_where",
        "body",
        "clamped",
        "clock",
        "content",
        "headers",
        "json",
        "json_events",
        "limits",
        "llm",
        "method",
        "params",
        "retries",
        "secrets",
        "sent",
        "signs",
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
        json_events: bool = False,
        content: bytes | None = None,
    ) -> None:
        self.llm = llm
        self.json_events = json_events
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
        # a signing provider signs the exact body bytes: encoded once, sent as content
        self.signs = signs_requests(type(llm))
        self.content: bytes | None = None
        if content is not None:  # a body of raw bytes (a file upload): sent as it is
            self.content = bytes(content)
        elif self.signs:
            self.content = b"" if json is None else encode_json(json)
            if json is not None:
                self.headers = {**headers, "Content-Type": JSON_CONTENT_TYPE}
        # the body arguments of every attempt's httpx2.Request
        self.body: dict[str, Any] = (
            {"json": json} if self.content is None else {"content": self.content}
        )

    def request(
        self,
        client: httpx2.Client | httpx2.AsyncClient,
        signature: Mapping[str, str] | None = None,
    ) -> httpx2.Request:
        """The ``httpx2.Request`` of the next attempt (its timeouts cut to the total).

        Built directly: the client adds nothing but its default headers (merged here,
        names compared in any case) and the cookies servers set, which only a client
        holding some merges itself (``client.build_request``). That spares httpx2's
        per-request header and URL merging, a fifth of the client's CPU per call.

        Args:
            client: The client that sends it.
            signature: Headers from the provider's ``sign_request`` for this attempt.
        """
        timeouts = {"timeout": self.attempt_timeouts()}
        headers = with_signature(self.headers, signature) if signature else self.headers
        body = self.body
        if client.cookies:
            # the cookies servers set are sent back: secrets too, if echoed
            sent = tuple(c.value for c in client.cookies.jar if c.value and len(c.value) >= 4)
            if not set(sent) <= set(self.secrets):
                self.secrets = (*self.secrets, *sent)
                remember_secrets(self.secrets)
            return client.build_request(
                self.method, self.target(), headers=headers, extensions=timeouts, **body
            )
        merged = dict(_default_headers(client))
        for name, value in headers.items():
            merged[name.lower()] = (name, value)
        return httpx2.Request(
            self.method,
            self.target(),
            headers=list(merged.values()),
            extensions=timeouts,
            **body,
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
            return Failure(cause(self.timed_out(kind), exc), retryable=retryable)
        if isinstance(exc, httpx2.ConnectError | httpx2.WriteError):
            retryable = True
        elif isinstance(exc, httpx2.ReadError | httpx2.RemoteProtocolError):
            retryable = not body_started
        else:  # proxy, protocol, decoding errors: another attempt would fail alike
            retryable = False
        # the server could not be reached at all: the provider may know why (a local
        # server that is not running)
        hint = self.llm.unreachable_hint() if isinstance(exc, httpx2.ConnectError) else None
        error = connection_error(
            exc, provider=self.provider, where=self.where(), secrets=self.secrets, hint=hint
        )
        return Failure(cause(error, exc), retryable=retryable)

    def invalid_url(self, exc: Exception) -> BaseException:
        """The error for a URL httpx2 cannot use (a bad ``base_url``), to raise."""
        error = ConfigError(
            f"invalid URL in {self.where()} ({redact_text(str(exc), self.secrets)}); "
            f"check base_url",
            provider=self.provider,
        )
        return self.scrub(cause(error, exc))

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
        except PARSE_ERRORS as exc:
            raise self.scrub(cause(self.unparsable(exc, data), exc))  # noqa: B904

    def unparsable(self, exc: BaseException, data: Any) -> APIError:
        """An ``APIError`` for a body or event the provider could not parse."""
        excerpt = redacted_excerpt(str(data), self.secrets)
        return APIError(
            f"could not parse the response ({type(exc).__name__}: "
            f"{redact_text(str(exc), self.secrets)}): {excerpt!r}",
            provider=self.provider,
            body=excerpt,
        )
