"""``HTTPChatLLM``: runs a provider's pure wire code over httpx2.

The endpoints (``chat``, ``stream_chat``, ``achat``, ``astream_chat``) build a
:class:`~llmplug.http._exchange.Call` and hand it to the sync or async loop; httpx2 and
the loops are imported on the first request, so importing a provider stays cheap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import import_module
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, field_validator

from llmplug._secrets import is_secret_name, redact_headers, redact_url, url_secrets
from llmplug._untrusted import shorten
from llmplug._version import __version__
from llmplug.errors import APIError, InvalidOptionError
from llmplug.http._auth import (
    authorization_conflict,
    check_headers,
    recent_secrets,
    sent_secrets,
    split_credentials,
)
from llmplug.http._base import MAX_RETRIES, HTTPChatLLMBase
from llmplug.http._contract import HTTPRequest, has_dot_segment
from llmplug.http._errors import build_error
from llmplug.llm._base import Capabilities
from llmplug.llm._instrument import flat_stream
from llmplug.types._messages import ChatMessage
from llmplug.types._responses import ChatResponse, ChatResponseAsyncGen, ChatResponseGen

if TYPE_CHECKING:
    from llmplug.http._config import Limits, RetryPolicy, Timeout
    from llmplug.http._exchange import Call
    from llmplug.http._retry import Clock

__all__ = ["HTTPChatLLM"]

#: Per-call keyword arguments that configure the transport, not the request.
TRANSPORT_OPTIONS = frozenset({"timeout", "max_retries"})
_loops: dict[str, Any] = {}
_NO_CLIENTS: dict[str, Any] = {"_client": None, "_alast": None}


# what the first request imports, kept here: an import statement per call costs a call
_lazy: dict[str, Any] = {}


def _system_clock() -> Clock:
    clock: Clock | None = _lazy.get("clock")
    if clock is None:
        # lazy for lightness: the retry machinery (its clock, its failure records) loads
        # on the first call, not when a provider class is defined
        from llmplug.http._retry import SYSTEM_CLOCK

        clock = _lazy["clock"] = SYSTEM_CLOCK
    return clock


def _timeout_class() -> type[Timeout]:
    cls: type[Timeout] | None = _lazy.get("Timeout")
    if cls is None:
        from llmplug.http._config import Timeout  # lazy for lightness (see _ConfigDefault)

        cls = _lazy["Timeout"] = Timeout
    return cls


class _ConfigDefault:
    """A class attribute whose value is one of ``llmplug.http._config``'s defaults.

    Read through the class or an instance, it is the default itself; a subclass sets
    its own value as usual (``limits = Limits(max_connections=10)``). The module (three
    frozen dataclasses) is imported on the first read, in practice the first request,
    so that defining and loading a provider does not build them.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._value: Any = None

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if self._value is None:  # read on every call: looked up once
            # lazy for lightness: the transport's settings load with the first request
            from llmplug.http import _config

            self._value = getattr(_config, self._name)
        return self._value


def _loop(name: str) -> Any:
    """A module that imports httpx2, imported on the first request and cached here."""
    module = _loops.get(name)
    if module is None:
        module = _loops[name] = import_module(f"llmplug.http.{name}")
    return module


_USER_AGENT = f"llmplug/{__version__}"


@lru_cache(maxsize=64)
def _join(base_url: str, path: str) -> str:
    url = (
        path
        if path.startswith(("https://", "http://"))
        else (f"{base_url.rstrip('/')}/{path.lstrip('/')}")
    )
    if has_dot_segment(urlsplit(url).path):
        # raised, so not cached: ".." in a model name must not move the request
        raise ValueError(url)
    return url


def _merge(target: dict[str, str], extra: Mapping[str, str]) -> None:
    """Add ``extra`` to ``target``, replacing headers of the same name in any case."""
    if not extra:
        return
    for name, value in extra.items():
        if name not in target:
            # the names in target are unique in any case: drop another spelling of name
            lower = name.lower()
            for old in target:
                if old.lower() == lower:
                    del target[old]
                    break
        target[name] = value


async def _ready(call: Call) -> Call:
    return call


class HTTPChatLLM(HTTPChatLLMBase):
    """An HTTP chat provider: implement the pure methods, get all eight endpoints.

    Subclasses implement :meth:`build_request`, :meth:`parse_response` and
    :meth:`parse_event` (see :class:`~llmplug.http._base.HTTPChatLLMBase`); this class
    runs them over httpx2, sync and natively async, with one retry loop, timeouts,
    connection pooling, SSE/NDJSON decoding and error mapping.

    Per-call keyword arguments ``timeout=`` (seconds for the whole call, or a
    :class:`~llmplug.http.Timeout`) and ``max_retries=`` configure the transport;
    every other one goes to ``build_request(..., options)``.

    Each instance pools its connections: one ``httpx2.Client``, and one
    ``httpx2.AsyncClient`` per event loop, created on first use. Release them with
    :meth:`close` / :meth:`aclose` or a ``with`` / ``async with`` block. The async
    endpoints run on asyncio.

    Attributes:
        clock: The clock retries and deadlines read and sleep on (tests pass a fake);
            ``None`` for the real one.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(native_async=True)
    #: The connection pool of each instance (per client); ``DEFAULT_LIMITS`` unless set.
    limits: ClassVar[Limits] = _ConfigDefault("DEFAULT_LIMITS")  # type: ignore[assignment]
    #: How long to wait between attempts; ``DEFAULT_RETRY_POLICY`` unless set.
    retry_policy: ClassVar[RetryPolicy] = _ConfigDefault("DEFAULT_RETRY_POLICY")  # type: ignore[assignment]

    clock: Any = Field(default=None, exclude=True, repr=False)

    _client: Any = PrivateAttr(default=None)
    _aclients: dict[int, Any] = PrivateAttr(default_factory=dict)
    _alast: Any = PrivateAttr(default=None)

    @field_validator("timeout", mode="before")
    @classmethod
    def _coerce_timeout(cls, value: Any) -> Timeout:
        from llmplug.http._config import Timeout  # lazy for lightness (see _ConfigDefault)

        try:
            return Timeout.coerce(value)
        except TypeError as exc:  # pydantic reports ValueError, not TypeError
            raise ValueError(str(exc)) from exc

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            if name == "extra_headers" and isinstance(value, Mapping):
                yield name, redact_headers(value)
            elif name == "base_url" and isinstance(value, str):
                yield name, redact_url(value)
            else:
                yield name, value

    def __getstate__(self) -> dict[Any, Any]:
        # clients hold sockets and locks: a copy made by pickle opens its own
        state = super().__getstate__()
        state["__pydantic_private__"] = {
            **(state.get("__pydantic_private__") or {}),
            **_NO_CLIENTS,
            "_aclients": {},
        }
        return state

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        # as for pickle: the copy opens its own clients (these cannot be copied)
        memo = {} if memo is None else memo
        private = self.__pydantic_private__ or {}
        for name in _NO_CLIENTS:
            memo[id(private.get(name))] = None
        memo[id(private.get("_aclients"))] = {}
        return super().__deepcopy__(memo)

    # -- request parts ---------------------------------------------------------------

    def headers(
        self, request: HTTPRequest | None = None, *, stream: bool = False
    ) -> dict[str, str]:
        """The headers of a request, later ones winning (names compared in any case).

        ``User-Agent: llmplug/<version>`` (and ``Accept: text/event-stream`` for an SSE
        stream), :meth:`auth_headers` when a key is set (not ``""``),
        :attr:`extra_headers`, then the request's own headers.

        Args:
            request: The request (its ``headers`` come last).
            stream: Whether the request is for a stream.
        """
        merged = {"User-Agent": _USER_AGENT}
        if stream and self.stream_format == "sse":
            merged["Accept"] = "text/event-stream"
        key = self.api_key.get_secret_value() if self.api_key is not None else ""
        if key:
            _merge(merged, self.auth_headers(key))
        _merge(merged, self.extra_headers)
        if request is not None:
            _merge(merged, request.headers)
        return merged

    def url_for(self, path: str) -> str:
        """The absolute URL of ``path`` (relative to :attr:`base_url`, or absolute).

        Raises:
            InvalidOptionError: The URL's path has a ``.`` or ``..`` segment (from a
                model or deployment name put in the path unencoded).
        """
        try:
            return _join(self.base_url, path)
        except ValueError as exc:
            raise InvalidOptionError(
                f"the request URL {shorten(redact_url(exc.args[0]), 200)} has a '.' or '..' "
                f"segment, which would send the request to another path; check the model "
                f"name and base_url (providers encode names with llmplug.http.path_segment)",
                provider=self.provider_label,
            ) from None

    def error_from_body(
        self, body: Any, status: int | None = None, headers: Mapping[str, str] | None = None
    ) -> APIError:
        """The error for an error body: an HTTP error response, or an in-stream error event.

        The class comes from the HTTP status (400 ``BadRequestError``... 429
        ``RateLimitError``, >= 500 ``InternalServerError``) or, with no status, from the
        error's ``type`` (``overloaded_error`` is a 529); :meth:`error_class` may refine
        it (``ContextWindowExceededError``). The error carries the message from the body,
        the provider, status, request id, ``retry_after`` and a redacted body excerpt.

        Raise it from :meth:`parse_event` for an in-stream error event::

            raise self.error_from_body(event.json())

        Args:
            body: The decoded JSON body (a dict), its text or bytes.
            status: The HTTP status; ``None`` for an in-stream error event.
            headers: The response headers (request id, ``retry-after``).
        """
        return build_error(
            body,
            status,
            headers,
            provider=self.provider_label,
            # and those of calls in flight: a cookie a server set, a per-call header
            secrets=(*self._secrets(), *recent_secrets()),
            refine=self.error_class,
            key_env=self.key_env,
            now=(self.clock or _system_clock()).time(),
            type_statuses=self.error_type_statuses,
            auth_hint=self.auth_hint,
        )

    def _secrets(self) -> tuple[str, ...]:
        """Every secret this instance sends: its own (the key...), headers, URL credentials."""
        found = tuple(value for value in self.secret_values() if value)
        if self.extra_headers:
            found += sent_secrets(self.extra_headers)
        if "@" in self.base_url or "?" in self.base_url:
            found += url_secrets(self.base_url)
        return found

    def _call(self, messages: Sequence[ChatMessage], options: dict[str, Any], stream: bool) -> Call:
        """The call to send: options applied, the request built (raises on bad input)."""
        timeout, max_retries = self._transport_options(options)
        request = self.build_request(messages, options, stream=stream)
        return self._make_call(request, timeout, max_retries, stream=stream)

    def _sync_call(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], stream: bool
    ) -> Call:
        """:meth:`prepare_call`, then the call (for the sync endpoints)."""
        self.prepare_call(options)
        return self._call(messages, options, stream)

    async def _async_call(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], stream: bool
    ) -> Call:
        """:meth:`aprepare_call`, then the call (for the async endpoints)."""
        await self.aprepare_call(options)
        return self._call(messages, options, stream)

    def _transport_options(self, options: dict[str, Any]) -> tuple[Timeout, int]:
        """Pop ``timeout`` and ``max_retries`` from a call's options, checked."""
        Timeout = _timeout_class()
        timeout = Timeout.coerce(self.timeout)
        if "timeout" in options:
            try:
                timeout = Timeout.coerce(options.pop("timeout"), default=timeout)
            except (TypeError, ValueError) as exc:
                raise InvalidOptionError(
                    f"timeout: {exc}", provider=self.provider_label, option="timeout"
                ) from exc
        max_retries = self.max_retries
        if "max_retries" in options:
            max_retries = options.pop("max_retries")
            if (
                isinstance(max_retries, bool)
                or not isinstance(max_retries, int)
                or not 0 <= max_retries <= MAX_RETRIES
            ):
                raise InvalidOptionError(
                    f"max_retries must be an int from 0 to {MAX_RETRIES}, "
                    f"got {shorten(max_retries)}",
                    provider=self.provider_label,
                    option="max_retries",
                )
        return timeout, max_retries

    def _make_call(
        self,
        request: HTTPRequest,
        timeout: Timeout,
        max_retries: int,
        *,
        stream: bool,
        json_events: bool = False,
    ) -> Call:
        self._check_key()  # a missing key fails here, before any request
        clock: Clock = self.clock or _system_clock()
        url = self.url_for(request.path)
        headers = self.headers(request, stream=stream)
        secrets = self._secrets()
        if "@" in url:  # credentials in the URL: sent as Basic auth, here, not by httpx2
            conflict = authorization_conflict(url, headers)
            if conflict is not None:
                raise InvalidOptionError(conflict, provider=self.provider_label, option="base_url")
            secrets += url_secrets(url)
            url, basic = split_credentials(url)
            if basic is not None:
                headers["Authorization"] = basic
        check_headers(headers, self.provider_label, "a request header")
        if request.headers:
            secrets += sent_secrets(request.headers)
        if request.params:
            secrets += tuple(
                value for name, value in request.params.items() if is_secret_name(name)
            )
        call: Call = _loop("_exchange").Call(
            self,
            method=request.method,
            url=url,
            json=request.json,
            params=request.params,
            headers=headers,
            stream=stream,
            timeout=timeout,
            max_retries=max_retries,
            deadline=None if timeout.total is None else clock.monotonic() + timeout.total,
            clock=clock,
            secrets=secrets,
            json_events=json_events,
            content=request.content,
        )
        return call

    # -- other requests than a chat ----------------------------------------------------

    def request_json(self, request: HTTPRequest, **options: Any) -> Any:
        """Send a request other than a chat (list models, show one); its decoded JSON body.

        For provider methods beyond the endpoints (``list_models``...): the request goes
        through the same client, headers and key, retry loop, timeouts and error
        mapping as a chat. Lifecycle hooks do not fire: this is not an LLM call. The
        request's body is JSON (``json=``) or raw bytes (``content=``, a file upload
        built with :func:`~llmplug.http.multipart_form`).

        Args:
            request: What to send (``HTTPRequest("/models", method="GET")``).
            **options: ``timeout=`` and ``max_retries=``, as for a chat.

        Raises:
            APIError: The server answered with an error, or a body that is not JSON.
            APIConnectionError: The server could not be reached (after the retries).
        """
        timeout, max_retries = self._transport_options(options)
        self._no_other_options(options)
        call = self._make_call(request, timeout, max_retries, stream=False)
        return _loop("_sync").request_json(call)

    async def arequest_json(self, request: HTTPRequest, **options: Any) -> Any:
        """Async :meth:`request_json`."""
        timeout, max_retries = self._transport_options(options)
        self._no_other_options(options)
        call = self._make_call(request, timeout, max_retries, stream=False)
        return await _loop("_async").request_json(call)

    def request_bytes(self, request: HTTPRequest, **options: Any) -> bytes:
        """Send a request answered by a file rather than JSON; its body's bytes.

        For downloads (a batch's result file): as :meth:`request_json`, through the
        same client, headers and key, retry loop, timeouts and error mapping; an error
        status is mapped to an :class:`~llmplug.errors.APIStatusError` from its body as
        usual. The whole body is read into memory (within the call's deadline).

        Args:
            request: What to send (``HTTPRequest("/files/f-1/content", method="GET")``).
            **options: ``timeout=`` and ``max_retries=``, as for a chat.

        Raises:
            APIError: The server answered with an error.
            APIConnectionError: The server could not be reached (after the retries).
        """
        timeout, max_retries = self._transport_options(options)
        self._no_other_options(options)
        call = self._make_call(request, timeout, max_retries, stream=False)
        return _loop("_sync").request_bytes(call)  # type: ignore[no-any-return]

    async def arequest_bytes(self, request: HTTPRequest, **options: Any) -> bytes:
        """Async :meth:`request_bytes`."""
        timeout, max_retries = self._transport_options(options)
        self._no_other_options(options)
        call = self._make_call(request, timeout, max_retries, stream=False)
        return await _loop("_async").request_bytes(call)  # type: ignore[no-any-return]

    def stream_json(self, request: HTTPRequest, **options: Any) -> Iterator[Any]:
        """Send a request answered by a stream of JSON events; yield each event, decoded.

        For provider methods whose answer streams but is not a chat (a model download's
        progress): the body is read as the provider's :attr:`stream_format` (NDJSON
        lines, or SSE ``data:`` fields up to ``[DONE]``) and each event is yielded as
        decoded JSON, unparsed by :meth:`parse_event`. The stream is complete when the
        body ends. As for a chat stream: the request is sent on the first ``next()``,
        failures are retried until the first event reached the caller, the stream's
        timeouts apply (``first_event``, ``idle``), and closing the iterator closes the
        response. An error object inside the stream is an event like any other: the
        caller decides what it means. Lifecycle hooks do not fire.

        Args:
            request: What to send (``HTTPRequest("/api/pull", {"model": "m"})``).
            **options: ``timeout=`` and ``max_retries=``, as for a chat.

        Raises:
            InvalidOptionError: Another option than ``timeout`` and ``max_retries``
                (at once, before any request).
            APIError: The server answered with an error status, or an event that is not
                JSON.
            APIConnectionError: The server could not be reached (after the retries).
        """
        call = self._json_call(request, options)
        return _loop("_sync").stream(lambda: call)  # type: ignore[no-any-return]

    def astream_json(self, request: HTTPRequest, **options: Any) -> AsyncIterator[Any]:
        """Async :meth:`stream_json`: an async iterator (``async for event in ...``)."""
        call = self._json_call(request, options)
        return _loop("_async").stream(lambda: _ready(call))  # type: ignore[no-any-return]

    def _json_call(self, request: HTTPRequest, options: dict[str, Any]) -> Call:
        timeout, max_retries = self._transport_options(options)
        self._no_other_options(options)
        return self._make_call(request, timeout, max_retries, stream=True, json_events=True)

    def _no_other_options(self, options: Mapping[str, Any]) -> None:
        if options:
            raise InvalidOptionError(
                f"a request takes only the options timeout and max_retries, not "
                f"{', '.join(map(repr, sorted(options)))}",
                provider=self.provider_label,
                valid_options=sorted(TRANSPORT_OPTIONS),
            )

    # -- endpoints -------------------------------------------------------------------

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Send ``messages``; return the reply (retried on transient failures)."""
        return _loop("_sync").chat(self._sync_call(messages, kwargs, False))  # type: ignore[no-any-return]

    @flat_stream
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream the reply. Retried only until its first chunk reached the caller."""
        # a generator: the request is built and sent on the first next()
        return _loop("_sync").stream(lambda: self._sync_call(messages, kwargs, True))  # type: ignore[no-any-return]

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async :meth:`chat` (natively async)."""
        call = await self._async_call(messages, kwargs, False)
        return await _loop("_async").chat(call)  # type: ignore[no-any-return]

    @flat_stream
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat`: ``gen = await llm.astream_chat(...)``, then ``async for``."""
        return _loop("_async").stream(lambda: self._async_call(messages, kwargs, True))  # type: ignore[no-any-return]

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync client's connections (a later call opens new ones).

        Async clients are closed by :meth:`aclose`; those whose event loop has closed
        are dropped here.
        """
        if self._client is None and not self._aclients:
            return  # never used: nothing to close (and no need to import httpx2)
        from llmplug.http._client import close_sync  # lazy for lightness: imports httpx2

        close_sync(self)

    async def aclose(self) -> None:
        """Close the async client of the running event loop, and the sync client."""
        if self._aclients:
            import asyncio  # lazy for lightness; already loaded, since a loop runs this

            from llmplug.http._client import close_async  # lazy for lightness: httpx2

            await close_async(self, asyncio.get_running_loop())
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
