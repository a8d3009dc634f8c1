"""The completion-first base: chat endpoints derived from the completion ones.

* :class:`CustomLLM`: implement ``metadata``, ``complete`` and ``stream_complete`` (as in
  LlamaIndex); chat is derived through ``messages_to_prompt``.

Its chat-first twin, :class:`~llmplug.ChatLLM`, is in ``_derived``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from llmplug.llm._base import LLM, Capabilities
from llmplug.types._messages import ChatMessage, MessageRole
from llmplug.types._responses import (
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
)

__all__ = ["CustomLLM"]


def _completion_to_chat(response: CompletionResponse) -> ChatResponse:
    # as LlamaIndex: the completion's additional_kwargs go on the message
    message = ChatMessage(
        role=MessageRole.ASSISTANT,
        content=response.text,
        additional_kwargs=dict(response.additional_kwargs),
    )
    return ChatResponse(
        message=message,
        raw=response.raw,
        logprobs=response.logprobs,
        delta=response.delta,
        usage=response.usage,
    )


class CustomLLM(LLM):
    """A completion-first LLM: implement ``metadata``, ``complete``, ``stream_complete``.

    Chat is derived: messages are rendered with ``messages_to_prompt`` and completed
    with ``formatted=True``. Implement ``acomplete``/``astream_complete`` for native async.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(chat=False)

    @classmethod
    def class_name(cls) -> str:
        """``"custom_llm"`` for CustomLLM itself (LlamaIndex), else the class's name."""
        return "custom_llm" if cls is CustomLLM else cls.__name__

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Chat through ``complete`` on ``messages_to_prompt(messages)``."""
        prompt = self.messages_to_prompt(messages)
        return _completion_to_chat(self.complete(prompt, formatted=True, **kwargs))

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream chat through ``stream_complete``."""
        prompt = self.messages_to_prompt(messages)
        for chunk in self.stream_complete(prompt, formatted=True, **kwargs):
            yield _completion_to_chat(chunk)

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async chat through ``acomplete``."""
        prompt = self.messages_to_prompt(messages)
        return _completion_to_chat(await self.acomplete(prompt, formatted=True, **kwargs))

    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async stream chat through ``astream_complete``."""
        prompt = self.messages_to_prompt(messages)
        chunks = await self.astream_complete(prompt, formatted=True, **kwargs)

        async def gen() -> ChatResponseAsyncGen:
            async for chunk in chunks:
                yield _completion_to_chat(chunk)

        return gen()
