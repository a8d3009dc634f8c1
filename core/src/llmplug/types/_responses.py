"""What an LLM call returns: chat and completion responses, token usage, model metadata.

The responses are created once per streamed chunk, so they carry no custom validators.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from llmplug.types._base_model import Model
from llmplug.types._blocks import TextBlock
from llmplug.types._messages import ChatMessage, MessageRole

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "DEFAULT_NUM_OUTPUTS",
    "ChatResponse",
    "ChatResponseAsyncGen",
    "ChatResponseGen",
    "CompletionResponse",
    "CompletionResponseAsyncGen",
    "CompletionResponseGen",
    "LLMMetadata",
    "LogProb",
    "Usage",
]

DEFAULT_CONTEXT_WINDOW = 3900
"""Tokens of context assumed when a model does not say (LlamaIndex's default)."""
DEFAULT_NUM_OUTPUTS = 256
"""Output tokens assumed when a model does not say (LlamaIndex's default)."""


class LogProb(Model):
    """The log probability of one token.

    Attributes:
        token: The token.
        logprob: Its log probability.
        bytes: The token's UTF-8 bytes, as integers.
    """

    token: str = ""
    logprob: float = 0.0
    bytes: list[int] = Field(default=[])  # copied per instance (see ChatMessage.blocks)


class Usage(Model):
    """Token usage of one call, in one convention whatever the provider.

    Counts are 0 when the provider does not report them. Providers normalise to:
    ``input_tokens`` counts *every* prompt token, including ``cached_tokens`` (read from
    the prompt cache) and ``cache_creation_tokens`` (written to it); ``output_tokens``
    counts every generated token, including ``reasoning_tokens``. So
    ``total_tokens == input_tokens + output_tokens``. Usages add up with ``+`` and
    ``sum()``.

    ``cost`` is what the call cost, in US dollars, when a plugin that knows prices
    (``llmplug-cost``) is installed and knows the model's; ``None`` means "not known",
    never "free". A sum's cost is known only when every part's is.

    Attributes:
        input_tokens: Prompt tokens, cached ones included.
        output_tokens: Generated tokens, reasoning included.
        cached_tokens: Prompt tokens read from the provider's cache.
        cache_creation_tokens: Prompt tokens written to the provider's cache.
        reasoning_tokens: Generated tokens spent on hidden reasoning.
        cost: The call's cost in US dollars, if known (set by a cost plugin when the
            call ends).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_creation_tokens=self.cache_creation_tokens + other.cache_creation_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cost=(None if self.cost is None or other.cost is None else self.cost + other.cost),
        )

    def __radd__(self, other: Any) -> Usage:
        # lets ``sum(usages)`` start from its default 0
        if other == 0:
            return self
        return NotImplemented


class ChatResponse(Model):
    """The answer to a chat call, or one chunk of a streamed answer.

    Attributes:
        message: The assistant's message (when streaming: everything so far).
        raw: The provider's raw response or event, if kept.
        delta: The text that just arrived (streaming only).
        logprobs: Per-token log probabilities, if requested.
        additional_kwargs: Provider-specific extras.
        usage: Token usage, when the provider reports it (usually on the last chunk).
    """

    message: ChatMessage
    raw: Any | None = None
    delta: str | None = None
    logprobs: list[list[LogProb]] | None = None
    additional_kwargs: dict[str, Any] = Field(default_factory=dict)
    usage: Usage | None = None

    def __str__(self) -> str:
        return str(self.message)


ChatResponseGen = Generator[ChatResponse, None, None]
ChatResponseAsyncGen = AsyncGenerator[ChatResponse, None]

# -- trusted construction (the per-token path of HTTP providers) ------------------------

_new = object.__new__
# pydantic's own slots on every model, set directly (what model_construct does, minus
# its Python-level work): __dict__ holds the field values
_BASE_SLOTS = BaseModel.__dict__
_set_dict = _BASE_SLOTS["__dict__"].__set__
_set_fields = _BASE_SLOTS["__pydantic_fields_set__"].__set__
_set_extra = _BASE_SLOTS["__pydantic_extra__"].__set__
_set_private = _BASE_SLOTS["__pydantic_private__"].__set__
_ASSISTANT = MessageRole.ASSISTANT


def assistant_text_message(text: str) -> ChatMessage:
    """``ChatMessage(role=ASSISTANT, blocks=[TextBlock(text=text)])``, built without validation.

    For parsers that already hold a ``str`` (decoded JSON): the result equals the
    validated message (``==``, ``model_dump_json()``, ``model_fields_set``) at about a
    third of the cost. ``text`` must be a ``str``: nothing is checked.
    """
    block = _new(TextBlock)
    _set_dict(block, {"block_type": "text", "text": text})
    _set_fields(block, {"text"})
    _set_extra(block, None)
    _set_private(block, None)
    message = _new(ChatMessage)
    _set_dict(message, {"role": _ASSISTANT, "additional_kwargs": {}, "blocks": [block]})
    _set_fields(message, {"role", "blocks"})
    _set_extra(message, None)
    _set_private(message, None)
    return message


def assistant_text_chunk(text: str, delta: str, raw: Any, usage: Usage | None) -> ChatResponse:
    """A streamed chunk holding only text, built without validation.

    Equal to ``ChatResponse(message=ChatMessage(role=ASSISTANT,
    blocks=[TextBlock(text=text)]), raw=raw, delta=delta, usage=usage)`` (``==``,
    ``model_dump_json()``, ``model_fields_set``). ``text`` and ``delta`` must be
    ``str`` and ``usage`` a :class:`Usage` or ``None``: nothing is checked.
    """
    message = assistant_text_message(text)
    response = _new(ChatResponse)
    _set_dict(
        response,
        {
            "message": message,
            "raw": raw,
            "delta": delta,
            "logprobs": None,
            "additional_kwargs": {},
            "usage": usage,
        },
    )
    _set_fields(response, {"message", "raw", "delta", "usage"})
    _set_extra(response, None)
    _set_private(response, None)
    return response


_USAGE_DEFAULTS = {
    "input_tokens": 0,
    "output_tokens": 0,
    "cached_tokens": 0,
    "cache_creation_tokens": 0,
    "reasoning_tokens": 0,
    "cost": None,
}


def trusted_usage(**counts: int) -> Usage:
    """``Usage(**counts)``, built without validation.

    Equal to the validated one (``==``, ``model_dump_json()``, ``model_fields_set``).
    ``counts`` must be :class:`Usage` token-count field names with ``int`` values:
    nothing is checked.
    """
    usage = _new(Usage)
    _set_dict(usage, {**_USAGE_DEFAULTS, **counts})
    _set_fields(usage, set(counts))
    _set_extra(usage, None)
    _set_private(usage, None)
    return usage


def trusted_chat_response(**fields: Any) -> ChatResponse:
    """``ChatResponse(**fields)``, built without validation.

    Equal to the validated one (``==``, ``model_dump_json()``, ``model_fields_set``) when
    every value already has its field's type (``message`` a ``ChatMessage``, ``usage`` a
    :class:`Usage` or ``None``, ``logprobs`` lists of :class:`LogProb`...): nothing is
    checked.
    """
    values: dict[str, Any] = {
        "message": None,
        "raw": None,
        "delta": None,
        "logprobs": None,
        "additional_kwargs": {},
        "usage": None,
    }
    values.update(fields)
    response = _new(ChatResponse)
    _set_dict(response, values)
    _set_fields(response, set(fields))
    _set_extra(response, None)
    _set_private(response, None)
    return response


class CompletionResponse(Model):
    """The answer to a completion call, or one chunk of a streamed answer.

    Attributes:
        text: The text (when streaming: everything so far).
        additional_kwargs: Provider-specific extras.
        raw: The provider's raw response or event, if kept.
        logprobs: Per-token log probabilities, if requested.
        delta: The text that just arrived (streaming only).
        usage: Token usage, when the provider reports it (usually on the last chunk).
    """

    text: str
    additional_kwargs: dict[str, Any] = Field(default_factory=dict)
    raw: Any | None = None
    logprobs: list[list[LogProb]] | None = None
    delta: str | None = None
    usage: Usage | None = None

    def __str__(self) -> str:
        return self.text


CompletionResponseGen = Generator[CompletionResponse, None, None]
CompletionResponseAsyncGen = AsyncGenerator[CompletionResponse, None]


class LLMMetadata(Model):
    """What a model is and can do, as LlamaIndex's ``LLMMetadata``.

    Attributes:
        context_window: Tokens the model takes in and puts out in one call, in total.
        num_output: Tokens the model may generate in one response.
        is_chat_model: The model takes a list of messages (a chat endpoint).
        is_function_calling_model: The model can call tools.
        model_name: The model's name, for logs and tests.
        system_role: The role the provider expects for the system prompt.
    """

    model_config = ConfigDict(protected_namespaces=())

    context_window: int = DEFAULT_CONTEXT_WINDOW
    num_output: int = DEFAULT_NUM_OUTPUTS
    is_chat_model: bool = False
    is_function_calling_model: bool = False
    model_name: str = "unknown"
    system_role: MessageRole = MessageRole.SYSTEM
