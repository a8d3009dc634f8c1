"""``HTTPChatLLM``: the base class of every provider that talks HTTP.

The provider-facing half (fields and the pure methods a provider implements) is here;
the endpoints that run them over httpx2 (``chat``, ``stream_chat``, ``achat``,
``astream_chat``, ``close``, ``aclose``) are added by the runtime in this package.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_serializer, field_validator, model_validator

from llmplug._secrets import is_secret_header, redact_headers, redact_url
from llmplug.errors import InvalidOptionError, MissingKeyError
from llmplug.http._auth import authorization_conflict, check_headers, checked_key
from llmplug.http._contract import (
    HTTPRequest,
    ServerEvent,
    StreamDecoder,
    StreamEnd,
)
from llmplug.llm._derived import ChatLLM
from llmplug.types._messages import ChatMessage
from llmplug.types._responses import ChatResponse

if TYPE_CHECKING:
    from llmplug.http._signing import OutgoingRequest

__all__ = ["MAX_RETRIES", "ChunkResult", "HTTPChatLLMBase"]

#: The most retries a call may make, whether set on the instance or per call.
MAX_RETRIES = 20

#: What ``parse_event`` returns: a chunk, the end marker, several of them, or nothing.
ChunkResult = ChatResponse | StreamEnd | list[ChatResponse | StreamEnd] | None


class HTTPChatLLMBase(ChatLLM):
    """Fields and provider methods of an HTTP chat provider.

    Attributes:
        base_url: The API's base URL (a subclass gives its default). Credentials in it
            (``https://user:pass@host``) are sent as ``Authorization: Basic``.
        api_key: The API key; when not given, read from the environment variable
            ``key_env``, else from the key store (``llmplug keys set KEY_ENV``). Never
            shown. Surrounding whitespace is stripped; a key holding a control or
            non-ASCII character is refused (``InvalidOptionError``). ``""`` sends no key.
        timeout: Seconds for the whole call, or a ``llmplug.http.Timeout`` for each
            phase; ``None`` uses the defaults.
        max_retries: Retries after the first attempt (connection errors, 408, 409,
            429, 5xx), 0 to 20; per call too: ``llm.chat(messages, max_retries=0)``.
        extra_headers: Sent with every request (names and values checked as headers).
        transport: An ``httpx2.BaseTransport`` for the sync client (tests inject a
            ``MockTransport`` here).
        async_transport: An ``httpx2.AsyncBaseTransport`` for the async client.
    """

    #: The env var holding the API key (``OPENAI_API_KEY``); ``None`` if no key is used.
    key_env: ClassVar[str | None] = None
    #: How the streaming body is framed: ``"sse"``, ``"ndjson"``, or the name of a
    #: framing the provider decodes itself (it then overrides :meth:`stream_decoder`).
    stream_format: ClassVar[str] = "sse"
    #: What ends a complete stream, as ``IncompleteStreamError`` names it (``None``:
    #: ``[DONE]`` for SSE, "its end marker" for NDJSON).
    stream_end: ClassVar[str | None] = None
    #: The statuses of in-stream error events that are retried when no chunk has
    #: reached the caller yet (529: Anthropic's ``overloaded_error``).
    in_stream_retry_statuses: ClassVar[frozenset[int]] = frozenset({529})
    #: The HTTP status each type of in-stream error event stands for, beyond the
    #: built-in OpenAI and Anthropic types (``{"throttlingException": 429}``): it picks
    #: the error's class and ``status_code``.
    error_type_statuses: ClassVar[Mapping[str, int]] = {}
    #: What an ``AuthenticationError`` tells the user to check, for a provider whose
    #: credentials are not (only) an API key (``None``: the API key and ``key_env``).
    auth_hint: ClassVar[str | None] = None
    #: The JSON types a successful chat response body may decode to (an object, as
    #: every chat API answers); any other is an ``APIError`` before ``parse_response``.
    response_body: ClassVar[tuple[type, ...]] = (dict,)

    base_url: str
    api_key: SecretStr | None = None
    timeout: Any = Field(default=None, description="seconds, or a llmplug.http.Timeout")
    max_retries: int = Field(default=2, ge=0, le=MAX_RETRIES)
    extra_headers: dict[str, str] = Field(default_factory=dict)
    transport: Any = Field(default=None, exclude=True, repr=False)
    async_transport: Any = Field(default=None, exclude=True, repr=False)

    # the checks below raise InvalidOptionError, not ValueError: pydantic's
    # ValidationError quotes the input, which for these may hold a secret

    @field_validator("base_url", mode="before")
    @classmethod
    def _base_url_is_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if hasattr(value, "scheme") and hasattr(value, "host"):
            return str(value)  # a URL object (httpx's, pydantic's, yarl's)
        raise InvalidOptionError(
            f"base_url must be a URL as text, got {type(value).__name__} (not shown: a "
            f"URL may hold credentials)",
            provider=cls.class_name(),
            option="base_url",
        )

    @field_validator("api_key", mode="before")
    @classmethod
    def _api_key_fits_a_header(cls, value: Any) -> SecretStr | None:
        return checked_key(value, cls.class_name())

    @field_validator("extra_headers", mode="after")
    @classmethod
    def _extra_headers_fit(cls, value: dict[str, str]) -> dict[str, str]:
        check_headers(value, cls.class_name(), "extra_headers")
        return value

    # dumps redact secrets as SecretStr does for api_key: URL credentials and secret
    # headers (Authorization, api-key...) never reach a printed or logged dump
    @field_serializer("base_url")
    def _dump_base_url(self, value: str) -> str:
        return redact_url(value)

    @field_serializer("extra_headers")
    def _dump_extra_headers(self, value: dict[str, str]) -> dict[str, str]:
        return redact_headers(value)

    @model_validator(mode="after")
    def _key_from_env(self) -> HTTPChatLLMBase:
        # explicit api_key > the environment variable > the key store (llmplug.config)
        if self.api_key is None and self.key_env:
            value = os.environ.get(self.key_env)
            if value:
                # set through __dict__: validate_assignment would re-run this validator
                self.__dict__["api_key"] = checked_key(value, self.provider_label, self.key_env)
            else:
                # lazy for lightness: the key store (platformdirs, a JSON file) is read
                # only for a provider whose key is not in the environment
                from llmplug.config._keys import KeyStore

                stored = KeyStore().get(self.key_env)
                if stored is not None:
                    self.__dict__["api_key"] = checked_key(
                        stored.get_secret_value(), self.provider_label, self.key_env
                    )
        return self

    @model_validator(mode="after")
    def _one_authorization(self) -> HTTPChatLLMBase:
        # credentials in base_url and a key sent in Authorization: refused, not dropped
        if "@" in self.base_url:
            headers = dict(self.extra_headers)
            key = self.api_key.get_secret_value() if self.api_key is not None else ""
            if key:
                headers.update(self.auth_headers(key))
            conflict = authorization_conflict(self.base_url, headers)
            if conflict is not None:
                raise InvalidOptionError(conflict, provider=self.provider_label, option="base_url")
        return self

    def key_required(self) -> bool:
        """Whether calls need an API key (checked before any request).

        True when the class names a ``key_env`` and no other credential is given: no
        credential header in ``extra_headers``, no ``user:password@`` in ``base_url``,
        and the provider does not sign its requests (:meth:`sign_request`: its
        credentials are its own). A provider whose service may run without a key (a
        server at another ``base_url``, a local server) overrides this.
        """
        if self.key_env is None or "@" in urlsplit(self.base_url).netloc:
            return False
        if type(self).sign_request is not HTTPChatLLMBase.sign_request:
            return False
        return not any(is_secret_header(name) for name in self.extra_headers)

    def _check_key(self) -> None:
        """Raise :class:`~llmplug.errors.MissingKeyError` when a needed key is not set."""
        if self.api_key is None and self.key_required():
            env = self.key_env or ""
            raise MissingKeyError(
                f"no API key: set the environment variable {env}, store it with "
                f"`llmplug keys set {env}`, or pass api_key=...",
                provider=self.provider_label,
                key_env=env,
            )

    # -- what a provider implements (pure: no I/O) -----------------------------------

    @abstractmethod
    def build_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], *, stream: bool
    ) -> HTTPRequest:
        """Build the request for ``messages``.

        Args:
            messages: The messages to send (system prompt already applied).
            options: Per-call options (``llm.chat(messages, temperature=0)``), to merge
                over the instance's fields; reject unknown ones with
                :class:`~llmplug.errors.InvalidOptionError`.
            stream: Whether a streaming response is wanted.

        Raises:
            UnsupportedContentError: A block this API cannot take (before any I/O).
        """

    @abstractmethod
    def parse_response(self, data: Any) -> ChatResponse:
        """Turn a decoded JSON response body into a ChatResponse (with ``usage``)."""

    def start_stream(self) -> Any:
        """New per-stream state handed to every :meth:`parse_event` call."""
        return {}

    @abstractmethod
    def parse_event(self, event: ServerEvent, state: Any) -> ChunkResult:
        """Turn one stream event into chunks.

        Return a ChatResponse (accumulated ``message`` plus the new ``delta``), a list
        of them, ``None`` for an event that carries nothing (a ping), or
        :data:`~llmplug.http.STREAM_END` once the stream is complete. Raise the error
        from :meth:`error_from_body` for an in-stream error event.
        """

    def prepare_call(self, options: Mapping[str, Any]) -> None:
        """I/O the provider needs before a sync endpoint's request is built (none here).

        Override to fetch what a call needs from the network first (a model to download,
        a token to refresh), through :meth:`request_json` / :meth:`stream_json`. Called
        by ``chat``, ``stream_chat`` (on the first ``next()``) and, for a
        :class:`~llmplug.http.HTTPCompletionLLM`, the sync completion endpoints, with the
        call's options (read them, do not change them). Not called for
        ``request_json``/``stream_json`` requests.
        """

    async def aprepare_call(self, options: Mapping[str, Any]) -> None:
        """The async endpoints' :meth:`prepare_call` (natively async: never block here)."""

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """The headers carrying the key (``Authorization: Bearer`` by default).

        Credentials in :attr:`base_url` (``https://user:pass@host``) are sent as
        ``Authorization: Basic``: with a key sent in ``Authorization`` too, the instance
        is refused (``InvalidOptionError``), since a request carries only one.
        """
        return {"Authorization": f"Bearer {api_key}"}

    def unreachable_hint(self) -> str | None:
        """What to do when the server cannot be reached at all (connection refused).

        Ends the message of the ``APIConnectionError`` raised when no connection could
        be opened (not for timeouts or dropped connections): a provider for a local
        server says how to start it. ``None`` (the default) adds nothing.
        """
        return None

    def stream_decoder(self) -> StreamDecoder:
        """A new decoder for one streaming body, by :attr:`stream_format`.

        Override it for another framing (a binary one): return a fresh, pure
        :class:`~llmplug.http.StreamDecoder` whose events :meth:`parse_event` reads.

        Raises:
            TypeError: :attr:`stream_format` names a framing the core does not decode
                and this method is not overridden.
        """
        # lazy for lightness: the decoders load with the first stream, not at load()
        from llmplug.http._sse import NDJSONDecoder, SSEDecoder

        if self.stream_format == "sse":
            return SSEDecoder()
        if self.stream_format == "ndjson":
            return NDJSONDecoder()
        raise TypeError(
            f"{type(self).__name__}.stream_format is {self.stream_format!r}, which llmplug "
            f"does not decode: override stream_decoder() to return its decoder"
        )

    def sign_request(self, request: OutgoingRequest) -> Mapping[str, str] | None:
        """Headers that authenticate one attempt, computed over its final bytes.

        For APIs that sign requests (AWS Signature Version 4...) rather than send a
        key: return the headers to add (``Authorization``, a date header...), or
        ``None`` to send the request as it is. Called before every attempt, retries
        included, with the exact method, URL, headers and body sent (the body is then
        encoded once per call, not by the HTTP client). Headers whose name says they
        hold a secret are redacted wherever headers are logged. Not overridden (the
        default): requests are not signed.

        Args:
            request: The attempt as it will be sent.
        """
        return None

    async def asign_request(self, request: OutgoingRequest) -> Mapping[str, str] | None:
        """Async :meth:`sign_request`, used by the async endpoints.

        Override it when signing may block (credentials fetched from a file or a
        metadata service): resolve them off the event loop, then sign. By default it
        calls :meth:`sign_request`.
        """
        return self.sign_request(request)

    def secret_values(self) -> tuple[str, ...]:
        """The secret values to redact from errors and logs: the API key, if any.

        A provider holding other credentials (a signing key, a session token)
        returns them too, once they are known.
        """
        return (self.api_key.get_secret_value(),) if self.api_key is not None else ()

    def error_class(self, status: int | None, body: Any, message: str) -> type | None:
        """A finer error class for this error body (e.g. a context-window overflow).

        Return ``None`` to use the class chosen by status (or by the error's ``type``).
        """
        return None
