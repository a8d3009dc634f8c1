"""Mock LLMs: the ``mock`` provider and LlamaIndex's ``MockLLM``.

* ``mock`` (:class:`MockChatLLM`) is a deterministic chat provider registered through
  core's own ``llmplug.providers`` entry point, the path every third-party plugin takes.
  It answers with scripted replies in order, then echoes the last user message; it
  streams word by word (or character by character) and reports word-count usage::

      llm = llmplug.load('mock?responses=["Paris.", "Berlin."]')

* :class:`MockLLM` behaves as LlamaIndex's: a completion model that echoes the prompt,
  or answers ``max_tokens`` words (``"text text ..."``) when ``max_tokens`` is set.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field, PrivateAttr

from llmplug._llm import Capabilities, ChatLLM, CustomLLM
from llmplug._messages import ChatMessage, MessageRole
from llmplug._responses import (
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    Usage,
)
from llmplug.hookspecs import hookimpl

__all__ = ["MockChatLLM", "MockLLM", "register_providers"]


class MockLLM(CustomLLM):
    """LlamaIndex's ``MockLLM``: echoes the prompt, or ``max_tokens`` words of "text".

    Attributes:
        max_tokens: When set, answer ``" ".join(["text"] * max_tokens)``.
    """

    max_tokens: int | None = None
    model_field: ClassVar[str | None] = None

    @classmethod
    def class_name(cls) -> str:
        """``"MockLLM"``."""
        return "MockLLM"

    @property
    def metadata(self) -> LLMMetadata:
        """``num_output`` is ``max_tokens`` (or -1), as in LlamaIndex."""
        return LLMMetadata(num_output=self.max_tokens or -1)

    @staticmethod
    def _generate_text(length: int) -> str:
        return " ".join(["text" for _ in range(length)])

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Echo ``prompt`` (or ``max_tokens`` words)."""
        text = self._generate_text(self.max_tokens) if self.max_tokens else prompt
        return CompletionResponse(text=text)

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream the prompt a character at a time (or ``max_tokens`` words)."""
        if self.max_tokens:
            for i in range(self.max_tokens):
                yield CompletionResponse(text=self._generate_text(i + 1), delta="text ")
            return
        if not prompt:
            yield CompletionResponse(text="", delta="")
            return
        text = ""
        for ch in prompt:
            text += ch
            yield CompletionResponse(text=text, delta=ch)


Reply = str | ChatMessage | ChatResponse | BaseException


class MockChatLLM(ChatLLM):
    """The deterministic ``mock`` provider, for tests, demos and offline development.

    Replies come from ``responses`` in order (strings, ChatMessages, ChatResponses, or
    exceptions to raise); once they run out it echoes the last user message (or raises,
    with ``echo=False``). Thread-safe; every call is recorded in :attr:`calls`.

    Attributes:
        model: The model name reported in metadata.
        responses: Scripted replies, consumed one per call.
        echo: Echo the last user message when the script is exhausted.
        max_tokens: Cut every reply to this many words.
        temperature: Accepted so a config string written for a real provider works
            unchanged; the mock is deterministic at every temperature.
        stream_unit: Stream ``"word"`` by word (default) or ``"char"`` by character.
        chunk_delay: Seconds to sleep before each streamed chunk (for cancellation tests).
        context_window: Reported in metadata.
        function_calling: Reported as ``is_function_calling_model`` in metadata.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(chat=True, streaming=True)

    model: str = "mock-echo"
    responses: list[Any] = Field(default_factory=list)
    echo: bool = True
    max_tokens: int | None = Field(default=None, ge=0)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    stream_unit: Literal["word", "char"] = "word"
    chunk_delay: float = Field(default=0.0, ge=0)
    context_window: int = Field(default=3900, gt=0)
    function_calling: bool = False

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _next: int = PrivateAttr(default=0)
    _calls: list[list[ChatMessage]] = PrivateAttr(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        """A chat model with the configured name and context window."""
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens or 256,
            is_chat_model=True,
            is_function_calling_model=self.function_calling,
            model_name=self.model,
        )

    @property
    def calls(self) -> list[list[ChatMessage]]:
        """The messages of every call so far, in order (system prompt included)."""
        with self._lock:
            return list(self._calls)

    def _reply(self, messages: Sequence[ChatMessage]) -> ChatResponse:
        with self._lock:
            self._calls.append(list(messages))
            scripted: Reply | None = None
            if self._next < len(self.responses):
                scripted = self.responses[self._next]
                self._next += 1
        if isinstance(scripted, BaseException):
            raise scripted
        if scripted is None:
            if not self.echo:
                raise RuntimeError(
                    f"mock: the {len(self.responses)} scripted response(s) are used up and "
                    f"echo=False; script more responses"
                )
            scripted = next(
                (m.content or "" for m in reversed(messages) if m.role == MessageRole.USER), ""
            )
        if isinstance(scripted, ChatResponse):
            response = scripted
        else:
            message = (
                scripted
                if isinstance(scripted, ChatMessage)
                else ChatMessage(role=MessageRole.ASSISTANT, content=str(scripted))
            )
            response = ChatResponse(message=message)
        if self.max_tokens is not None and response.message.content is not None:
            words = response.message.content.split(" ")[: self.max_tokens]
            response = response.model_copy(
                update={"message": ChatMessage(role=response.message.role, content=" ".join(words))}
            )
        if response.usage is None:
            prompt_words = sum(len((m.content or "").split()) for m in messages)
            output_words = len((response.message.content or "").split())
            response = response.model_copy(
                update={"usage": Usage(input_tokens=prompt_words, output_tokens=output_words)}
            )
        return response

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Answer with the next scripted reply, or echo."""
        return self._reply(messages)

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream the reply word by word (or char by char); the last chunk has usage."""
        response = self._reply(messages)
        text = response.message.content or ""
        pieces = _split(text, self.stream_unit) or [""]
        sofar = ""
        for i, piece in enumerate(pieces):
            if self.chunk_delay:
                time.sleep(self.chunk_delay)
            sofar += piece
            last = i == len(pieces) - 1
            yield ChatResponse(
                message=ChatMessage(role=response.message.role, content=sofar),
                delta=piece,
                usage=response.usage if last else None,
                raw=response.raw if last else None,
            )


def _split(text: str, unit: str) -> list[str]:
    if unit == "char":
        return list(text)
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


@hookimpl
def register_providers(register: Callable[..., None]) -> None:
    """Register the ``mock`` provider."""
    register(
        "mock",
        MockChatLLM,
        description="Deterministic scripted/echo chat model for tests and demos (offline).",
    )
