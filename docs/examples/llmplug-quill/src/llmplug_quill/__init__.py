"""llmplug-quill: the provider ``quill`` for the (made-up) Quill writing API.

The example of llmplug's tutorial "Write an HTTP provider" (``docs/plugins/http.md``),
which shows this file section by section.
"""

# --8<-- [start:imports]
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field

import llmplug
from llmplug import Capabilities, ChatMessage, ChatResponse, LLMMetadata, MessageRole, Usage
from llmplug.errors import ContextWindowExceededError, UnsupportedContentError
from llmplug.http import STREAM_END, ChunkResult, HTTPChatLLM, HTTPRequest, ServerEvent

# --8<-- [end:imports]

__all__ = ["LLMPLUG_PLUGIN_API", "QuillLLM", "register_providers"]

# --8<-- [start:class]
#: The llmplug plugin API this module is written for.
LLMPLUG_PLUGIN_API = 1

#: Options a call may override: llm.chat(messages, creativity=0.9).
CALL_OPTIONS = ("creativity", "max_words")
#: Quill's names for llmplug's roles.
ROLES = {MessageRole.SYSTEM: "brief", MessageRole.USER: "writer", MessageRole.ASSISTANT: "quill"}


class QuillLLM(HTTPChatLLM):
    """Quill's writing models.

    Attributes:
        model: The model name (``quill-1`` or ``quill-1-mini``).
        creativity: From 0 (plain) to 1 (florid); Quill's default when unset.
        max_words: The longest answer, in words; Quill's default when unset.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(chat=True, native_async=True)
    key_env: ClassVar[str | None] = "QUILL_API_KEY"
    stream_format: ClassVar[Literal["sse", "ndjson"]] = "ndjson"
    stream_end: ClassVar[str | None] = 'the {"done": true} line'

    base_url: str = "https://api.quill.example"
    model: str = "quill-1"
    creativity: float | None = Field(default=None, ge=0, le=1)
    max_words: int | None = Field(default=None, gt=0)

    @property
    def metadata(self) -> LLMMetadata:
        """A chat model with Quill's context window."""
        return LLMMetadata(
            context_window=16_000, num_output=2_000, is_chat_model=True, model_name=self.model
        )

    # --8<-- [end:class]

    # --8<-- [start:request]
    def auth_headers(self, api_key: str) -> dict[str, str]:
        """Quill takes its key in ``X-Quill-Key``, not ``Authorization``."""
        return {"X-Quill-Key": api_key}

    def build_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], *, stream: bool
    ) -> HTTPRequest:
        """``POST /v1/write`` with the messages (text only) and the options."""
        self.check_call_options(options, CALL_OPTIONS)
        wire = []
        for message in messages:
            for block in message.blocks:
                if block.block_type != "text":
                    raise UnsupportedContentError(
                        f"Quill takes text only, not {block.block_type} blocks",
                        provider=self.provider_label,
                        block_type=block.block_type,
                    )
            role = ROLES.get(message.role)
            if role is None:
                raise UnsupportedContentError(
                    f"Quill has no {message.role.value!r} messages",
                    provider=self.provider_label,
                )
            wire.append({"role": role, "text": message.content or ""})
        body: dict[str, Any] = {"model": self.model, "messages": wire, "stream": stream}
        for name in CALL_OPTIONS:
            value = options.get(name, getattr(self, name))
            if value is not None:
                body[name] = value
        return HTTPRequest("/v1/write", json=body)

    # --8<-- [end:request]

    # --8<-- [start:response]
    def parse_response(self, data: Any) -> ChatResponse:
        """``{"text": ..., "usage": {"words_in": n, "words_out": m}}``."""
        return ChatResponse(
            message=ChatMessage(role=MessageRole.ASSISTANT, content=data["text"]),
            usage=_usage(data.get("usage")),
            raw=data,
        )

    # --8<-- [end:response]

    # --8<-- [start:stream]
    def start_stream(self) -> Any:
        """Each stream's state: the text so far."""
        return {"text": ""}

    def parse_event(self, event: ServerEvent, state: Any) -> ChunkResult:
        """One NDJSON line: ``{"piece": ...}``, ``{"error": ...}`` or ``{"done": true}``."""
        data = event.json()
        if "error" in data:
            raise self.error_from_body(data)
        if data.get("done"):
            last = ChatMessage(role=MessageRole.ASSISTANT, content=state["text"])
            return [
                ChatResponse(message=last, delta="", usage=_usage(data.get("usage"))),
                STREAM_END,
            ]
        state["text"] += data["piece"]
        message = ChatMessage(role=MessageRole.ASSISTANT, content=state["text"])
        return ChatResponse(message=message, delta=data["piece"])

    # --8<-- [end:stream]

    # --8<-- [start:errors]
    def error_class(self, status: int | None, body: Any, message: str) -> type | None:
        """Quill's ``context_too_long`` code is a context-window overflow."""
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("code") == "context_too_long":
            return ContextWindowExceededError
        return None

    # --8<-- [end:errors]


# --8<-- [start:register]
def _usage(data: Any) -> Usage | None:
    if not data:
        return None
    return Usage(input_tokens=data["words_in"], output_tokens=data["words_out"])


@llmplug.hookimpl
def register_providers(register: Callable[..., None]) -> None:
    """Register ``quill``."""
    register("quill", QuillLLM, key_env="QUILL_API_KEY", description="Quill's writing models.")


# --8<-- [end:register]
