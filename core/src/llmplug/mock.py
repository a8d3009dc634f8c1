"""Mock LLMs: the ``mock`` provider and LlamaIndex's ``MockLLM``.

* ``mock`` (:class:`MockChatLLM`) is a deterministic chat provider registered through
  core's own ``llmplug.providers`` entry point, the path every third-party plugin takes.
  It answers with scripted replies in order, then echoes the last user message; it
  streams word by word (or character by character) and reports word-count usage::

      llm = llmplug.load('mock?responses=["Paris.", "Berlin."]')

  Tool calls are scripted as replies holding :class:`~llmplug.ToolCallBlock` s
  (``llmplug.testing.tool_call`` builds one); the mock is a
  :class:`~llmplug.FunctionCallingLLM`, and with ``function_calling=True`` its metadata
  says so, making ``predict_and_call`` use native calls (otherwise ReAct text, which
  is scripted as plain strings).

* :class:`MockLLM` behaves as LlamaIndex's: a completion model that echoes the prompt,
  or answers ``max_tokens`` words (``"text text ..."``) when ``max_tokens`` is set.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, PrivateAttr

from llmplug.hookspecs import hookimpl
from llmplug.llm._base import Capabilities
from llmplug.llm._custom import CustomLLM
from llmplug.llm._derived import ChatLLM
from llmplug.tools._function_calling import (
    FunctionCallingLLM,
    resolve_tool_choice,
    tool_chat_messages,
)
from llmplug.types._blocks import TextBlock, ToolCallBlock
from llmplug.types._messages import ChatMessage, MessageRole
from llmplug.types._responses import (
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    Usage,
)

if TYPE_CHECKING:
    from llmplug.structured._output_schema import OutputSchema
    from llmplug.tools._types import BaseTool
    from llmplug.types._model_info import ModelInfo

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


class MockChatLLM(ChatLLM, FunctionCallingLLM):
    """The deterministic ``mock`` provider, for tests, demos and offline development.

    Replies come from ``responses`` in order (strings, ChatMessages, ChatResponses, or
    exceptions to raise); once they run out it echoes the last user message (or raises,
    with ``echo=False``). Thread-safe; every call is recorded in :attr:`calls`, its
    per-call options in :attr:`call_options`.

    A scripted reply holding :class:`~llmplug.ToolCallBlock` s is a native tool call;
    streamed, each call arrives as partial blocks (the name first, then the arguments'
    JSON text in pieces, parsed into a dict on the last chunk), as real providers send
    them.

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
        function_calling: Reported as ``is_function_calling_model`` in metadata: native
            tool calls in ``predict_and_call`` (else its ReAct text round).
        native_json_schema: Offer native JSON-schema output, so structured calls take
            the native path (``response_format`` in the call's options).
    """

    # it takes every block (it records them and echoes the text), so it says so
    capabilities: ClassVar[Capabilities] = Capabilities(
        chat=True,
        streaming=True,
        tools=True,
        json_schema=True,
        vision=True,
        audio=True,
        video=True,
        documents=True,
    )

    model: str = "mock-echo"
    responses: list[Any] = Field(default=[])  # copied per instance (see ChatMessage.blocks)
    echo: bool = True
    max_tokens: int | None = Field(default=None, ge=0)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    stream_unit: Literal["word", "char"] = "word"
    chunk_delay: float = Field(default=0.0, ge=0)
    context_window: int = Field(default=3900, gt=0)
    function_calling: bool = False
    native_json_schema: bool = False

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _next: int = PrivateAttr(default=0)
    _calls: list[list[ChatMessage]] = PrivateAttr(default_factory=list)
    _options: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        """The default model name; any other name is taken as it is."""
        # lazy for lightness: the listing type loads when models are listed, not at load()
        from llmplug.types._model_info import ModelInfo

        return [
            ModelInfo(
                id="mock-echo",
                context_window=cls.model_fields["context_window"].default,
                description="scripted replies, then echoes the last user message",
            )
        ]

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

    @property
    def call_options(self) -> list[dict[str, Any]]:
        """The per-call options of every call so far (``tools``, ``tool_choice``...)."""
        with self._lock:
            return [dict(options) for options in self._options]

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The tools as OpenAI-style specs and the resolved choice, recorded per call."""
        choice = resolve_tool_choice(tools, tool_choice, tool_required, self.provider_label)
        return {
            "messages": tool_chat_messages(user_msg, chat_history),
            "tools": [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools],
            "tool_choice": choice,
            "parallel_tool_calls": allow_parallel_tool_calls,
            **kwargs,
        }

    def _structured_request_kwargs(self, schema: OutputSchema) -> dict[str, Any] | None:
        """An OpenAI-style ``response_format`` when ``native_json_schema`` is set."""
        if not self.native_json_schema:
            return None
        strict_schema, strict = schema.strict_json_schema()
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema.name, "schema": strict_schema, "strict": strict},
            }
        }

    def _reply(self, messages: Sequence[ChatMessage], options: dict[str, Any]) -> ChatResponse:
        with self._lock:
            self._calls.append(list(messages))
            self._options.append(dict(options))
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
        only_text = all(isinstance(b, TextBlock) for b in response.message.blocks)
        if self.max_tokens is not None and only_text and response.message.content is not None:
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
        return self._reply(messages, kwargs)

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream the reply word by word (or char by char); the last chunk has usage.

        Tool calls follow the text as partial :class:`~llmplug.ToolCallBlock` s; the
        last chunk's message holds every block of the scripted reply.
        """
        response = self._reply(messages, kwargs)
        role = response.message.role
        text = response.message.content or ""
        calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        steps: list[tuple[str, list[Any]]] = []
        sofar = ""
        for piece in _split(text, self.stream_unit) if text or not calls else []:
            sofar += piece
            steps.append((piece, [TextBlock(text=sofar)]))
        text_blocks = [TextBlock(text=sofar)] if sofar else []
        done: list[Any] = []
        for call in calls:
            arguments = _arguments_text(call.tool_kwargs)
            pieces = _json_pieces(arguments)
            partial = ""
            for piece in ["", *pieces]:
                partial += piece
                complete = partial == arguments and piece
                block = call if complete else call.model_copy(update={"tool_kwargs": partial})
                steps.append(("", [*text_blocks, *done, block]))
            done.append(call)
        if not steps:
            steps.append(("", [TextBlock(text="")]))
        last_index = len(steps) - 1
        for i, (delta, blocks) in enumerate(steps):
            if self.chunk_delay:
                time.sleep(self.chunk_delay)
            last = i == last_index
            if last and (calls or len(response.message.blocks) > 1):
                message = response.message
            else:
                extra = response.message.additional_kwargs if last else {}
                message = ChatMessage(role=role, blocks=blocks, additional_kwargs=extra)
            yield ChatResponse(
                message=message,
                delta=delta,
                usage=response.usage if last else None,
                raw=response.raw if last else None,
                additional_kwargs=response.additional_kwargs if last else {},
            )


def _arguments_text(kwargs: dict[str, Any] | str) -> str:
    return kwargs if isinstance(kwargs, str) else json.dumps(kwargs)


def _json_pieces(text: str, size: int = 8) -> list[str]:
    """The arguments' JSON text in pieces, as a provider streams them."""
    return [text[i : i + size] for i in range(0, len(text), size)]


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
