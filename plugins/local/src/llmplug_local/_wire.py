"""llmplug messages to llama.cpp's OpenAI-style requests, and its answers back.

Pure data transformation, no I/O: the request dict ``handle_chat_completions`` takes,
the response and ``chat.completion.chunk`` dicts it gives, and its error objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmplug import (
    CachePoint,
    ChatMessage,
    ChatResponse,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    Usage,
)
from llmplug.errors import (
    APIStatusError,
    BadRequestError,
    ContextWindowExceededError,
    InternalServerError,
    NotFoundError,
    UnsupportedContentError,
)
from llmplug_local._weights import PROVIDER

__all__ = ["StreamState", "build_request", "check_error", "parse_response"]

_ROLES = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
}


def _convert(message: ChatMessage, index: int) -> dict[str, str]:
    role = _ROLES.get(message.role)
    if role is None:
        raise UnsupportedContentError(
            f"messages[{index}] has role {message.role.value!r}: tool and function messages "
            f"need tool calling, which the local provider does not support yet",
            provider=PROVIDER,
            block_type=message.role.value,
        )
    texts = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, CachePoint | ThinkingBlock):
            # a cache hint has nothing to send; earlier reasoning is not sent back
            # (as with OpenAI), llama.cpp's chat templates drop it anyway
            continue
        else:
            kind = getattr(block, "block_type", type(block).__name__)
            raise UnsupportedContentError(
                f"messages[{index}] holds a {kind!r} block; the local provider takes text "
                f"only (use a provider with {kind} input, or send the text)",
                provider=PROVIDER,
                block_type=str(kind),
            )
    return {"role": role, "content": "\n".join(texts)}


def build_request(
    messages: Sequence[ChatMessage], options: dict[str, Any], *, stream: bool
) -> dict[str, Any]:
    """The OpenAI-style request for ``messages`` with sampling ``options``.

    Raises:
        UnsupportedContentError: A block or role the local provider cannot send.
    """
    request: dict[str, Any] = {
        "messages": [_convert(m, i) for i, m in enumerate(messages)],
        **{k: v for k, v in options.items() if v is not None},
    }
    if stream:
        request["stream"] = True
        request["stream_options"] = {"include_usage": True}
    return request


def check_error(body: dict[str, Any]) -> None:
    """Raise the llmplug error for an ``{"error": {...}}`` answer; else do nothing."""
    error = body.get("error")
    if error is None:
        return
    if not isinstance(error, dict):
        raise InternalServerError(f"llama.cpp failed: {error}", status_code=500, provider=PROVIDER)
    code = error.get("code")
    status = code if isinstance(code, int) else 500
    message = str(error.get("message") or error)
    if error.get("type") == "exceed_context_size_error":
        n_prompt, n_ctx = error.get("n_prompt_tokens"), error.get("n_ctx")
        raise ContextWindowExceededError(
            f"the prompt is {n_prompt} tokens, the context window is {n_ctx} tokens: "
            f"shorten the messages or load the model with a larger n_ctx "
            f"(e.g. 'local?n_ctx=4096'); llama.cpp said: {message}",
            status_code=status,
            provider=PROVIDER,
            body=error,
        )
    cls: type[APIStatusError] = (
        BadRequestError
        if status == 400
        else NotFoundError
        if status == 404
        else InternalServerError
        if status >= 500
        else APIStatusError
    )
    raise cls(
        f"llama.cpp refused the request: {message}",
        status_code=status,
        provider=PROVIDER,
        body=error,
    )


def _usage(body: dict[str, Any]) -> Usage | None:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None
    details = usage.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=usage.get("prompt_tokens") or 0,
        output_tokens=usage.get("completion_tokens") or 0,
        cached_tokens=details.get("cached_tokens") or 0,
    )


def _message(text: str, thinking: str | None) -> ChatMessage:
    blocks: list[Any] = []
    if thinking:
        blocks.append(ThinkingBlock(content=thinking))
    blocks.append(TextBlock(text=text))
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks)


def parse_response(body: dict[str, Any]) -> ChatResponse:
    """A non-streaming response dict as a :class:`ChatResponse`.

    Raises:
        APIStatusError: ``body`` is an error (``ContextWindowExceededError`` on overflow).
    """
    check_error(body)
    choice = body["choices"][0]
    message = choice.get("message") or {}
    return ChatResponse(
        message=_message(message.get("content") or "", message.get("reasoning_content")),
        raw=body,
        additional_kwargs={"finish_reason": choice.get("finish_reason")},
        usage=_usage(body),
    )


class StreamState:
    """Turns a request's chunk dicts into streamed :class:`ChatResponse` chunks.

    Every token becomes one response (``delta`` = its text, ``message`` = everything so
    far). llama.cpp sends the finish reason and the usage after the last token, so they
    arrive as a last response with an empty ``delta``.
    """

    __slots__ = ("finish_reason", "finished", "text", "thinking")

    def __init__(self) -> None:
        self.text = ""
        self.thinking = ""
        self.finish_reason: str | None = None
        self.finished = False

    def feed(self, chunk: dict[str, Any]) -> ChatResponse | None:
        """The response for ``chunk``, or ``None`` when it carries nothing to show.

        Raises:
            APIStatusError: ``chunk`` is an error.
        """
        if "error" in chunk:
            check_error(chunk)
        choices = chunk.get("choices")
        if choices:
            choice = choices[0]
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
            delta = choice.get("delta") or {}
            content = delta.get("content")
            reasoning = delta.get("reasoning_content")
            if not content and not reasoning:
                return None
            self.text += content or ""
            self.thinking += reasoning or ""
            extra = {"thinking_delta": reasoning} if reasoning else {}
            return ChatResponse(
                message=_message(self.text, self.thinking),
                delta=content or "",
                raw=chunk,
                additional_kwargs=extra,
            )
        usage = _usage(chunk)
        if usage is None:
            return None
        return self._final(chunk, usage)

    def end(self) -> ChatResponse | None:
        """The closing response, if the stream ended without sending its usage."""
        if self.finished or self.finish_reason is None:
            return None
        return self._final(None, None)

    def _final(self, chunk: dict[str, Any] | None, usage: Usage | None) -> ChatResponse:
        self.finished = True
        return ChatResponse(
            message=_message(self.text, self.thinking),
            delta="",
            raw=chunk,
            additional_kwargs={"finish_reason": self.finish_reason},
            usage=usage,
        )
