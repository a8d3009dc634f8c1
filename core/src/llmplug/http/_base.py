"""``HTTPChatLLM``: the base class of every provider that talks HTTP.

The provider-facing half (fields and the pure methods a provider implements) is here;
the endpoints that run them over httpx2 (``chat``, ``stream_chat``, ``achat``,
``astream_chat``, ``close``, ``aclose``) are added by the runtime in this package.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_serializer, model_validator

from llmplug._secrets import is_secret_header, redact_headers, redact_url
from llmplug.errors import MissingKeyError
from llmplug.http._contract import HTTPRequest, ServerEvent, StreamEnd
from llmplug.llm._derived import ChatLLM
from llmplug.types._messages import ChatMessage
from llmplug.types._responses import ChatResponse

__all__ = ["ChunkResult", "HTTPChatLLMBase"]

#: What ``parse_event`` returns: a chunk, the end marker, several of them, or nothing.
ChunkResult = ChatResponse | StreamEnd | list[ChatResponse | StreamEnd] | None


class HTTPChatLLMBase(ChatLLM):
    """Fields and provider methods of an HTTP chat provider.

    Attributes:
        base_url: The API's base URL (a subclass gives its default).
        api_key: The API key; when not given, read from the environment variable
            ``key_env``, else from the key store (``llmplug keys set KEY_ENV``). Never
            shown.
        timeout: Seconds for the whole call, or a ``llmplug.http.Timeout`` for each
            phase; ``None`` uses the defaults.
        max_retries: Retries after the first attempt (connection errors, 408, 409,
            429, 5xx); per call too: ``llm.chat(messages, max_retries=0)``.
        extra_headers: Sent with every request.
        transport: An ``httpx2.BaseTransport`` for the sync client (tests inject a
            ``MockTransport`` here).
        async_transport: An ``httpx2.AsyncBaseTransport`` for the async client.
    """

    #: The env var holding the API key (``OPENAI_API_KEY``); ``None`` if no key is used.
    key_env: ClassVar[str | None] = None
    #: How the streaming body is framed.
    stream_format: ClassVar[Literal["sse", "ndjson"]] = "sse"
    #: What ends a complete stream, as ``IncompleteStreamError`` names it (``None``:
    #: ``[DONE]`` for SSE, "its end marker" for NDJSON).
    stream_end: ClassVar[str | None] = None

    base_url: str
    api_key: SecretStr | None = None
    timeout: Any = Field(default=None, description="seconds, or a llmplug.http.Timeout")
    max_retries: int = Field(default=2, ge=0, le=20)
    extra_headers: dict[str, str] = Field(default_factory=dict)
    transport: Any = Field(default=None, exclude=True, repr=False)
    async_transport: Any = Field(default=None, exclude=True, repr=False)

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
                self.__dict__["api_key"] = SecretStr(value)
            else:
                # lazy for lightness: the key store (platformdirs, a JSON file) is read
                # only for a provider whose key is not in the environment
                from llmplug.config._keys import KeyStore

                self.__dict__["api_key"] = KeyStore().get(self.key_env)
        return self

    def key_required(self) -> bool:
        """Whether calls need an API key (checked before any request).

        True when the class names a ``key_env`` and no other credential is given: no
        credential header in ``extra_headers``, no ``user:password@`` in ``base_url``.
        A provider whose service may run without a key (a server at another
        ``base_url``) overrides this.
        """
        if self.key_env is None or "@" in urlsplit(self.base_url).netloc:
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

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """The headers carrying the key (``Authorization: Bearer`` by default)."""
        return {"Authorization": f"Bearer {api_key}"}

    def error_class(self, status: int | None, body: Any, message: str) -> type | None:
        """A finer error class for this error body (e.g. a context-window overflow).

        Return ``None`` to use the class chosen by status (or by the error's ``type``).
        """
        return None
