"""What a call is in the OpenTelemetry GenAI semantic conventions' terms.

Attribute names are the conventions' (``gen_ai.*``, ``error.type``); what they do not
name is under ``llmplug.*`` (cost, cache hit, cancelled, endpoint). Message content is
in the conventions' structured form (``gen_ai.input.messages``...), recorded only when
the user opts in.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from llmplug import ChatMessage, ChatResponse, MessageRole, TextBlock, ToolCallBlock

if TYPE_CHECKING:
    from llmplug import CallContext

__all__ = [
    "PROVIDER_NAMES",
    "finish_reason",
    "input_messages",
    "operation",
    "output_messages",
    "provider_name",
    "request_attributes",
    "response_id",
    "response_model",
]

#: llmplug provider -> the conventions' ``gen_ai.provider.name`` (others: as named).
PROVIDER_NAMES = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "vertex": "gcp.vertex_ai",
    "bedrock": "aws.bedrock",
    "aws": "aws.bedrock",
    "groq": "groq",
    "deepseek": "deepseek",
    "mistral": "mistral_ai",
    "xai": "x_ai",
}

# llmplug option -> gen_ai.request.* attribute
_REQUEST = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "num_predict": "gen_ai.request.max_tokens",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
    "stop": "gen_ai.request.stop_sequences",
    "stop_sequences": "gen_ai.request.stop_sequences",
}
_FINISH_KEYS = ("finish_reason", "stop_reason", "done_reason")


def operation(call: CallContext) -> str:
    """``gen_ai.operation.name``: ``chat`` or ``text_completion``."""
    return "chat" if call.is_chat else "text_completion"


def provider_name(call: CallContext) -> str:
    """``gen_ai.provider.name`` for the call's provider."""
    return PROVIDER_NAMES.get(call.provider, call.provider)


def request_attributes(call: CallContext) -> dict[str, Any]:
    """``gen_ai.request.*`` from the call's options (those the conventions name)."""
    found: dict[str, Any] = {}
    for option, value in call.options().items():
        name = _REQUEST.get(option)
        if name is None or value is None or name in found:
            continue
        if name == "gen_ai.request.stop_sequences":
            value = [value] if isinstance(value, str) else [str(v) for v in value]
        elif isinstance(value, bool) or not isinstance(value, int | float):
            continue
        found[name] = value
    return found


def response_model(call: CallContext, response: Any) -> str:
    """The model the provider says answered (its raw reply's ``model``), else the one asked."""
    for source in (getattr(response, "raw", None), getattr(response, "additional_kwargs", None)):
        model = source.get("model") if isinstance(source, dict) else None
        if isinstance(model, str) and model:
            return model
    return call.model


def response_id(response: Any) -> str | None:
    """``gen_ai.response.id``: the id the provider gave its reply, if it gave one.

    Where the providers put it: ``additional_kwargs["response_id"]`` (Gemini's
    ``responseId``), else the raw reply's ``id`` (OpenAI and compatible APIs, Anthropic;
    a stream's chunks each carry it on OpenAI's API). Bedrock and Ollama give none.
    """
    extra = getattr(response, "additional_kwargs", None)
    found = extra.get("response_id") if isinstance(extra, dict) else None
    if not (isinstance(found, str) and found):
        raw = getattr(response, "raw", None)
        found = raw.get("id") if isinstance(raw, dict) else None
    return found if isinstance(found, str) and found else None


def finish_reason(response: Any) -> str | None:
    """Why the model stopped, as its provider said (``stop``, ``end_turn``...)."""
    extra = getattr(response, "additional_kwargs", None)
    if isinstance(extra, dict):
        for key in _FINISH_KEYS:
            value = extra.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _parts(message: ChatMessage) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "content": block.text})
        elif isinstance(block, ToolCallBlock):
            parts.append(
                {
                    "type": "tool_call",
                    "id": block.tool_call_id,
                    "name": block.tool_name,
                    "arguments": block.tool_kwargs,
                }
            )
        else:  # attachments are not content the conventions ask for: say what they were
            parts.append({"type": block.block_type})
    return parts


def input_messages(call: CallContext) -> tuple[str | None, str]:
    """``(gen_ai.system_instructions, gen_ai.input.messages)`` as JSON text."""
    if not call.is_chat:
        return None, json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": call.prompt}]}]
        )
    system = [m for m in call.messages or [] if m.role == MessageRole.SYSTEM]
    others = [m for m in call.messages or [] if m.role != MessageRole.SYSTEM]
    instructions = (
        json.dumps([p for m in system for p in _parts(m)], ensure_ascii=False) if system else None
    )
    shown = [{"role": m.role.value, "parts": _parts(m)} for m in others]
    return instructions, json.dumps(shown, ensure_ascii=False, default=str)


def output_messages(response: Any, reason: str | None) -> str:
    """``gen_ai.output.messages`` as JSON text.

    The message's ``finish_reason`` is the provider's own (``reason``); when it gave none
    (a mock, a stream stopped early) the message has no ``finish_reason``: none is made up.
    """
    if isinstance(response, ChatResponse):
        parts = _parts(response.message)
    else:
        parts = [{"type": "text", "content": getattr(response, "text", "")}]
    message: dict[str, Any] = {"role": "assistant", "parts": parts}
    if reason is not None:
        message["finish_reason"] = reason
    return json.dumps([message], ensure_ascii=False, default=str)
