"""The chat-first base: completion endpoints derived from the chat ones.

* :class:`ChatLLM`: implement ``metadata``, ``chat`` and ``stream_chat``; completion is
  derived by sending the prompt as one user message.

Its completion-first twin, :class:`~llmplug.CustomLLM`, is in ``_custom`` (a chat
provider does not build that class at import).
"""

from __future__ import annotations

from typing import Any

from llmplug.llm._base import LLM
from llmplug.llm._instrument import via_chat
from llmplug.types._messages import ChatMessage, MessageRole
from llmplug.types._responses import (
    ChatResponse,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
)

__all__ = ["ChatLLM"]


def _chat_to_completion(response: ChatResponse) -> CompletionResponse:
    # as LlamaIndex: the message's additional_kwargs, updated with the response's (in a
    # new dict: LlamaIndex updates the message's own, changing the chat response)
    return CompletionResponse(
        text=response.message.content or "",
        additional_kwargs={**response.message.additional_kwargs, **response.additional_kwargs},
        raw=response.raw,
        logprobs=response.logprobs,
        delta=response.delta,
        usage=response.usage,
    )


class ChatLLM(LLM):
    """A chat-first LLM: implement ``metadata``, ``chat`` and ``stream_chat``.

    Completion is derived: the prompt goes as one user message (after the system prompt).
    Implement ``achat``/``astream_chat`` for native async; ``acomplete`` and
    ``astream_complete`` then use them.
    """

    @via_chat
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Complete by chatting with one user message."""
        return _chat_to_completion(self.chat(self._prompt_messages(prompt, formatted), **kwargs))

    @via_chat
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream a completion by streaming a chat with one user message."""
        for chunk in self.stream_chat(self._prompt_messages(prompt, formatted), **kwargs):
            yield _chat_to_completion(chunk)

    @via_chat
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Async complete through ``achat``."""
        messages = self._prompt_messages(prompt, formatted)
        return _chat_to_completion(await self.achat(messages, **kwargs))

    @via_chat
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Async stream complete through ``astream_chat``."""
        chunks = await self.astream_chat(self._prompt_messages(prompt, formatted), **kwargs)

        async def gen() -> CompletionResponseAsyncGen:
            async for chunk in chunks:
                yield _chat_to_completion(chunk)

        return gen()

    def _prompt_messages(self, prompt: str, formatted: bool) -> list[ChatMessage]:
        """The prompt as one user message; the system prompt too unless ``formatted``.

        ``formatted=True`` says the prompt is final (``predict`` on a model whose
        metadata says it is not a chat model has already put the system prompt in it).
        """
        self._check_prompt(prompt)
        messages = [ChatMessage(role=MessageRole.USER, content=prompt)]
        return messages if formatted else self._extend_messages(messages)
