"""``HTTPCompletionLLM``: an HTTP provider whose API has a completion endpoint of its own.

A chat provider derives ``complete`` and friends from ``chat`` (the prompt sent as one
user message). An API with a native completion endpoint (Ollama's ``/api/generate``,
with its raw prompts, suffixes and templates) subclasses :class:`HTTPCompletionLLM`
instead and writes one more pure method, :meth:`~HTTPCompletionLLM.build_completion_request`;
the runtime then sends the completion endpoints there, sync and async, streaming or not,
through the same retry loop, and with the same lifecycle hooks, as a chat.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from llmplug.http._contract import HTTPRequest
from llmplug.http._runtime import HTTPChatLLM, _loop
from llmplug.llm._derived import _chat_to_completion
from llmplug.llm._instrument import flat_stream, via_chat
from llmplug.types._responses import (
    ChatResponse,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
)

if TYPE_CHECKING:
    from llmplug.http._exchange import Call

__all__ = ["HTTPCompletionLLM"]


class HTTPCompletionLLM(HTTPChatLLM):
    """An HTTP provider with a native completion endpoint as well as its chat endpoint.

    Implement what :class:`~llmplug.http.HTTPChatLLM` asks for plus
    :meth:`build_completion_request`. ``complete``, ``stream_complete``, ``acomplete``
    and ``astream_complete`` send that request; its body goes to :meth:`parse_response`
    and its stream events to :meth:`parse_event`, like a chat's, so these must also read
    the completion endpoint's answers (return a ChatResponse whose message text is the
    completion). The caller gets :class:`~llmplug.CompletionResponse` s with the same
    ``text``/``delta``, ``usage``, ``additional_kwargs`` and ``raw``.

    The prompt reaches :meth:`build_completion_request` as the caller gave it, with
    ``formatted``: the provider applies ``completion_to_prompt`` and ``system_prompt``
    the way its API takes them (a ``system`` field, say), and neither when the prompt is
    ``formatted`` (final).
    """

    @abstractmethod
    def build_completion_request(
        self, prompt: str, options: dict[str, Any], *, stream: bool, formatted: bool
    ) -> HTTPRequest:
        """Build the request of the completion endpoint for ``prompt``.

        Args:
            prompt: The prompt, as the caller gave it.
            options: Per-call options (``llm.complete(prompt, temperature=0)``), to merge
                over the instance's fields; reject unknown ones with
                :class:`~llmplug.errors.InvalidOptionError`.
            stream: Whether a streaming response is wanted.
            formatted: The prompt is final: apply neither ``completion_to_prompt`` nor
                the system prompt.
        """

    def _completion_call(
        self, prompt: str, formatted: bool, options: dict[str, Any], stream: bool
    ) -> Call:
        """The call to send: options applied, the request built (raises on bad input)."""
        if not isinstance(prompt, str):
            raise TypeError(
                f"{self.provider_label}: completion endpoints take a prompt str, got "
                f"{type(prompt).__name__}; for messages use chat()"
            )
        timeout, max_retries = self._transport_options(options)
        request = self.build_completion_request(prompt, options, stream=stream, formatted=formatted)
        return self._make_call(request, timeout, max_retries, stream=stream)

    def _sync_completion_call(
        self, prompt: str, formatted: bool, options: dict[str, Any], stream: bool
    ) -> Call:
        self.prepare_call(options)
        return self._completion_call(prompt, formatted, options, stream)

    async def _async_completion_call(
        self, prompt: str, formatted: bool, options: dict[str, Any], stream: bool
    ) -> Call:
        await self.aprepare_call(options)
        return self._completion_call(prompt, formatted, options, stream)

    # ``via_chat``: like a completion derived from chat, these format their own prompt
    # (the provider's build_completion_request does), so the instrumentation leaves it be

    @via_chat
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Complete ``prompt`` through the API's completion endpoint."""
        call = self._sync_completion_call(prompt, formatted, kwargs, False)
        return _chat_to_completion(_loop("_sync").chat(call))

    @via_chat
    @flat_stream
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream the completion. Retried only until its first chunk reached the caller."""
        chunks = _loop("_sync").stream(
            lambda: self._sync_completion_call(prompt, formatted, kwargs, True)
        )
        return _completions(chunks)

    @via_chat
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Async :meth:`complete` (natively async)."""
        call = await self._async_completion_call(prompt, formatted, kwargs, False)
        return _chat_to_completion(await _loop("_async").chat(call))

    @via_chat
    @flat_stream
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Async :meth:`stream_complete`: ``gen = await llm.astream_complete(...)``."""
        chunks = _loop("_async").stream(
            lambda: self._async_completion_call(prompt, formatted, kwargs, True)
        )
        return _acompletions(chunks)


def _completions(chunks: Iterator[ChatResponse]) -> CompletionResponseGen:
    try:
        for chunk in chunks:
            yield _chat_to_completion(chunk)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # closes the response: a stream left early never holds a connection


async def _acompletions(chunks: AsyncIterator[ChatResponse]) -> CompletionResponseAsyncGen:
    try:
        async for chunk in chunks:
            yield _chat_to_completion(chunk)
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
