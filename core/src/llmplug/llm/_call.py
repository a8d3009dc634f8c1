"""The call context: one call to an LLM endpoint, as the lifecycle hooks see it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmplug.llm._base import LLM
    from llmplug.types._messages import ChatMessage
    from llmplug.types._responses import ChatResponse, CompletionResponse, Usage

__all__ = ["CHAT_ENDPOINTS", "CallContext"]

#: The endpoints that take messages (the others take a prompt).
CHAT_ENDPOINTS = frozenset({"chat", "stream_chat", "achat", "astream_chat"})


class CallContext:
    """One call to an LLM endpoint, as the lifecycle hooks see it.

    Hooks may change ``messages``, ``prompt`` and ``kwargs`` in ``before_call`` and keep
    their own per-call data in ``state``.

    Attributes:
        llm: The LLM instance called.
        endpoint: ``"chat"``, ``"complete"``, ``"stream_chat"``, ``"stream_complete"``,
            ``"achat"``, ``"acomplete"``, ``"astream_chat"`` or ``"astream_complete"``.
        messages: The messages sent (chat endpoints), system prompt applied.
        prompt: The prompt sent (completion endpoints), formatting applied.
        kwargs: Per-call options passed to the endpoint.
        provider: The provider name the LLM was loaded as (or its class name).
        started: ``time.perf_counter()`` at the start of the call.
        ended: ``time.perf_counter()`` at the end, once it ended.
        response: The final response (for streams: the last chunk), once there is one.
        error: The exception the call failed with, if it did.
        cancelled: True when a stream's consumer stopped before its end.
        chunks: How many chunks a stream delivered so far.
        answered_by: The plugin whose ``answer_call`` answered, if one did.
        state: Free space for plugins (keep per-call data here, keyed by plugin).
    """

    __slots__ = (
        "answered_by",
        "cancelled",
        "chunks",
        "ended",
        "endpoint",
        "error",
        "kwargs",
        "llm",
        "messages",
        "prompt",
        "provider",
        "response",
        "started",
        "state",
    )

    def __init__(
        self,
        llm: LLM,
        endpoint: str,
        *,
        messages: list[ChatMessage] | None = None,
        prompt: str | None = None,
        kwargs: dict[str, Any] | None = None,
        provider: str = "",
    ) -> None:
        self.llm = llm
        self.endpoint = endpoint
        self.messages = messages
        self.prompt = prompt
        self.kwargs: dict[str, Any] = {} if kwargs is None else kwargs
        self.provider = provider
        self.started = time.perf_counter()
        self.ended: float | None = None
        self.response: ChatResponse | CompletionResponse | None = None
        self.error: BaseException | None = None
        self.cancelled = False
        self.chunks = 0
        self.answered_by: str | None = None
        self.state: dict[str, Any] = {}

    def __repr__(self) -> str:
        return (
            f"CallContext(endpoint={self.endpoint!r}, provider={self.provider!r}, "
            f"chunks={self.chunks}, cancelled={self.cancelled}, latency={self.latency})"
        )

    @property
    def is_async(self) -> bool:
        """True for ``achat``, ``acomplete``, ``astream_chat``, ``astream_complete``."""
        return self.endpoint.startswith("a")

    @property
    def is_stream(self) -> bool:
        """True for the four streaming endpoints."""
        return "stream" in self.endpoint

    @property
    def is_chat(self) -> bool:
        """True for chat endpoints (``messages`` is set), false for completion ones."""
        return self.endpoint in CHAT_ENDPOINTS

    @property
    def model(self) -> str:
        """The model name from the LLM's metadata."""
        return self.llm.metadata.model_name

    @property
    def latency(self) -> float | None:
        """Seconds from the start to the end of the call, once it ended."""
        return None if self.ended is None else self.ended - self.started

    @property
    def usage(self) -> Usage | None:
        """The token usage of the response, if the provider reported it."""
        return None if self.response is None else self.response.usage
