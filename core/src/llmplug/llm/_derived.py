"""Two bases that derive one family of endpoints from the other.

* :class:`CustomLLM`: implement ``metadata``, ``complete`` and ``stream_complete`` (as in
  LlamaIndex); chat is derived through ``messages_to_prompt``.
* :class:`ChatLLM`: implement ``metadata``, ``chat`` and ``stream_chat``; completion is
  derived by sending the prompt as one user message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from llmplug.llm._base import LLM, Capabilities
from llmplug.llm._instrument import via_chat
from llmplug.types._messages import ChatMessage, MessageRole
from llmplug.types._responses import (
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
)

__all__ = ["ChatLLM", "CustomLLM"]


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
