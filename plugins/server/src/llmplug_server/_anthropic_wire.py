"""Anthropic Messages on the wire: a request to a :class:`CallPlan`, replies back.

Messages: ``user`` and ``assistant`` turns of ``text``, ``image`` and ``document``
blocks (base64, plain text, or by URL when allowed), ``tool_use`` and ``tool_result``
blocks, ``thinking`` blocks sent back; ``system`` as text or text blocks;
``cache_control`` marks become cache points. Options: ``max_tokens`` (required, as in
the API), ``temperature``, ``top_p``, ``top_k``, ``stop_sequences``, ``tools``,
``tool_choice``, ``output_config.format`` (``json_schema``), ``stream``. Streams use the
API's events: ``message_start``, ``content_block_start``/``_delta``/``_stop``,
``message_delta``, ``message_stop`` (and ``error``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmplug import (
    LLM,
    CacheControl,
    CachePoint,
    ChatMessage,
    ChatResponse,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    Usage,
)
from llmplug_server._calls import (
    CallPlan,
    SchemaTool,
    check_number,
    finish_reason,
    parse_schema,
    tool_arguments,
)
from llmplug_server._errors import invalid
from llmplug_server._media import Media

__all__ = ["MessageStreamWriter", "message_body", "parse_messages_request"]

# labels of a request, for the API's own accounting: accepted, not used
_IGNORED = frozenset(
    {"metadata", "service_tier", "inference_geo", "user_profile_id", "workspace_id", "diagnostics"}
)
_HANDLED = frozenset(
    {
        "model",
        "messages",
        "system",
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "stream",
        "tools",
        "tool_choice",
        "output_config",
        "thinking",
    }
)
_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}


def parse_messages_request(body: Mapping[str, Any], model: str, llm: LLM, media: Media) -> CallPlan:
    """The :class:`CallPlan` of a ``POST /v1/messages`` body.

    Raises:
        GatewayError: 400 naming the field at fault and what it must be.
    """
    unknown = sorted(set(body) - _HANDLED - _IGNORED)
    if unknown:
        raise invalid(
            f"{unknown[0]}: Extra inputs are not permitted (this gateway does not support "
            f"{', '.join(unknown)}; leave them out)",
            unknown[0],
        )
    max_tokens = check_number(body, "max_tokens", 1, 10**7, integer=True)
    if max_tokens is None:
        raise invalid("max_tokens: Field required", "max_tokens")
    options: dict[str, Any] = {"max_tokens": max_tokens}
    for key, high in (("temperature", 1), ("top_p", 1)):
        value = check_number(body, key, 0, high)
        if value is not None:
            options[key] = value
    top_k = check_number(body, "top_k", 0, 10**6, integer=True)
    if top_k is not None:
        options["top_k"] = top_k
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise invalid("stop_sequences must be a list of strings", "stop_sequences")
        if stops:
            options["stop"] = stops
    thinking = body.get("thinking")
    if thinking is not None:
        if not isinstance(thinking, Mapping):
            raise invalid("thinking must be an object such as {'type': 'adaptive'}", "thinking")
        options["thinking"] = dict(thinking)  # for models that take it (the anthropic provider)
    messages = _system(body.get("system")) + _messages(body.get("messages"), media)
    plan = CallPlan(model, llm, messages, options)
    _tools(body, plan)
    _output_config(body.get("output_config"), plan)
    return plan


def _system(raw: Any) -> list[ChatMessage]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [ChatMessage(role=MessageRole.SYSTEM, content=raw)] if raw else []
    if not isinstance(raw, list):
        raise invalid("system must be a string or a list of text blocks", "system")
    blocks: list[Any] = []
    for i, block in enumerate(raw):
        if not isinstance(block, Mapping) or block.get("type") != "text":
            raise invalid(f"system[{i}] must be a text block", f"system[{i}]")
        blocks += _with_cache(TextBlock(text=str(block.get("text", ""))), block)
    return [ChatMessage(role=MessageRole.SYSTEM, blocks=blocks)]


def _with_cache(block: Any, raw: Mapping[str, Any]) -> list[Any]:
    control = raw.get("cache_control")
    if not isinstance(control, Mapping):
        return [block]
    cache = CacheControl(
        type=str(control.get("type", "ephemeral")), ttl=str(control.get("ttl", "5m"))
    )
    return [block, CachePoint(cache_control=cache)]


def _messages(raw: Any, media: Media) -> list[ChatMessage]:
    if not isinstance(raw, list) or not raw:
        raise invalid("messages: at least one message is required", "messages")
    messages: list[ChatMessage] = []
    for i, item in enumerate(raw):
        where = f"messages.{i}"
        role = item.get("role") if isinstance(item, Mapping) else None
        if role not in ("user", "assistant"):
            raise invalid(f"{where}.role must be 'user' or 'assistant'", f"{where}.role")
        content = item["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise invalid(f"{where}.content must be a string or a list of blocks", where)
        if role == "assistant":
            messages.append(_assistant(content, where))
        else:
            messages += _user(content, where, media)
    return messages


def _assistant(content: list[Any], where: str) -> ChatMessage:
    blocks: list[Any] = []
    for j, block in enumerate(content):
        at = f"{where}.content.{j}"
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text":
            blocks += _with_cache(TextBlock(text=str(block.get("text", ""))), block)
        elif kind == "tool_use":
            if not isinstance(block.get("name"), str) or not isinstance(block.get("id"), str):
                raise invalid(f"{at}: a tool_use block needs an id and a name", at)
            tool_input = block.get("input")
            blocks.append(
                ToolCallBlock(
                    tool_call_id=block["id"],
                    tool_name=block["name"],
                    tool_kwargs=tool_input if isinstance(tool_input, dict) else {},
                )
            )
        elif kind == "thinking":
            blocks.append(
                ThinkingBlock(content=block.get("thinking"), signature=block.get("signature"))
            )
        elif kind == "redacted_thinking" and isinstance(block.get("data"), str):
            blocks.append(ThinkingBlock.from_redacted(block["data"]))
        else:
            raise invalid(
                f"{at}: assistant turns take text, tool_use and thinking blocks; got {kind!r}", at
            )
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks)


def _user(content: list[Any], where: str, media: Media) -> list[ChatMessage]:
    results: list[ChatMessage] = []
    blocks: list[Any] = []
    for j, block in enumerate(content):
        at = f"{where}.content.{j}"
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "tool_result":
            results.append(_tool_result(block, at, media))
            continue
        blocks += _with_cache(_user_block(block, kind, at, media), block)
    if blocks:
        results.append(ChatMessage(role=MessageRole.USER, blocks=blocks))
    return results


def _user_block(block: Mapping[str, Any], kind: Any, at: str, media: Media) -> Any:
    if kind == "text":
        return TextBlock(text=str(block.get("text", "")))
    source = block.get("source")
    if kind in ("image", "document") and isinstance(source, Mapping):
        source_type = source.get("type")
        if kind == "image" and source_type == "base64":
            return media.image_base64(source.get("data"), source.get("media_type"), at)
        if kind == "image" and source_type == "url":
            return media.image_url(source.get("url"), at)
        if kind == "document" and source_type == "base64":
            return media.document(
                source.get("data"), block.get("title"), at, source.get("media_type")
            )
        if kind == "document" and source_type == "text":
            text = source.get("data")
            if not isinstance(text, str):
                raise invalid(f"{at}: a text document's source.data must be a string", at)
            import base64

            return media.document(
                base64.b64encode(text.encode()).decode(), block.get("title"), at, "text/plain"
            )
        if kind == "document" and source_type == "url":
            return media.document_url(source.get("url"), at)
    raise invalid(
        f"{at}: user turns take text, image, document and tool_result blocks; got {kind!r} "
        f"(images and documents need a base64, text or url source)",
        at,
    )


def _tool_result(block: Mapping[str, Any], at: str, media: Media) -> ChatMessage:
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str):
        raise invalid(f"{at}: a tool_result needs tool_use_id", at)
    extra: dict[str, Any] = {"tool_call_id": call_id}
    if block.get("is_error"):
        extra["is_error"] = True
    content = block.get("content")
    if content is None:
        blocks: list[Any] = [TextBlock(text="")]
    elif isinstance(content, str):
        blocks = [TextBlock(text=content)]
    elif isinstance(content, list):
        blocks = [
            _user_block(part, part.get("type") if isinstance(part, Mapping) else None, at, media)
            for part in content
        ]
    else:
        raise invalid(f"{at}: tool_result content must be a string or a list of blocks", at)
    return ChatMessage(role=MessageRole.TOOL, blocks=blocks, additional_kwargs=extra)


def _tools(body: Mapping[str, Any], plan: CallPlan) -> None:
    raw = body.get("tools")
    choice = body.get("tool_choice")
    if raw is None:
        if choice is not None and not (
            isinstance(choice, Mapping) and choice.get("type") == "none"
        ):
            raise invalid("tool_choice needs tools", "tool_choice")
        return
    if not isinstance(raw, list):
        raise invalid("tools must be a list of tools", "tools")
    tools = []
    for i, tool in enumerate(raw):
        if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
            raise invalid(f"tools.{i} must have a name and an input_schema", f"tools.{i}")
        if tool.get("type") not in (None, "custom"):
            raise invalid(
                f"tools.{i}: server tools ({tool.get('type')!r}) are not supported by this "
                f"gateway; declare client tools (name, description, input_schema)",
                f"tools.{i}",
            )
        schema = tool.get("input_schema")
        if not isinstance(schema, Mapping):
            raise invalid(f"tools.{i}.input_schema: Field required", f"tools.{i}.input_schema")
        tools.append(SchemaTool(tool["name"], str(tool.get("description") or ""), dict(schema)))
    if not tools:
        return
    names = [t.metadata.get_name() for t in tools]
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    if choice is not None and kind not in ("auto", "any", "tool", "none"):
        raise invalid("tool_choice.type must be 'auto', 'any', 'tool' or 'none'", "tool_choice")
    if kind == "none":
        return
    if isinstance(choice, Mapping) and choice.get("disable_parallel_tool_use"):
        plan.parallel_tool_calls = False
    if kind == "any":
        plan.tool_choice = "required"
    elif kind == "tool":
        name = choice.get("name") if isinstance(choice, Mapping) else None
        if name not in names:
            raise invalid(f"tool_choice.name must be one of {', '.join(names)}", "tool_choice")
        plan.tool_choice = name
    else:
        plan.tool_choice = "auto"
    plan.tools = tools


def _output_config(raw: Any, plan: CallPlan) -> None:
    if raw is None:
        return
    if not isinstance(raw, Mapping) or set(raw) - {"format"}:
        raise invalid(
            "output_config takes only format ({'type': 'json_schema', 'schema': {...}}) here",
            "output_config",
        )
    fmt = raw.get("format")
    if fmt is None:
        return
    if not isinstance(fmt, Mapping) or fmt.get("type") != "json_schema":
        raise invalid("output_config.format.type must be 'json_schema'", "output_config.format")
    plan.output = parse_schema(fmt.get("schema"), "Output", "output_config.format.schema")


# -- replies ------------------------------------------------------------------------------


def usage_body(usage: Usage) -> dict[str, Any]:
    """Anthropic's ``usage``: input tokens not read from or written to the cache."""
    fresh = max(0, usage.input_tokens - usage.cached_tokens - usage.cache_creation_tokens)
    return {
        "input_tokens": fresh,
        "output_tokens": usage.output_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
    }


def stop_reason(response: ChatResponse | None) -> str:
    """Anthropic's ``stop_reason`` of a reply."""
    extra = response.additional_kwargs if response is not None else {}
    native = extra.get("stop_reason")
    if native in ("end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn"):
        return str(native)
    return _STOP_REASONS[finish_reason(response)]


def _content(message: ChatMessage) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            if content and content[-1]["type"] == "text":
                content[-1]["text"] += block.text
            else:
                content.append({"type": "text", "text": block.text})
        elif isinstance(block, ToolCallBlock):
            kwargs = block.tool_kwargs
            content.append(
                {
                    "type": "tool_use",
                    "id": block.tool_call_id or f"toolu_{len(content)}",
                    "name": block.tool_name,
                    "input": kwargs if isinstance(kwargs, dict) else _loose_json(kwargs),
                }
            )
        elif isinstance(block, ThinkingBlock):
            if block.redacted:
                content.append({"type": "redacted_thinking", "data": block.redacted_data or ""})
            else:
                content.append(
                    {
                        "type": "thinking",
                        "thinking": block.content or "",
                        "signature": block.signature or "",
                    }
                )
    return content


def _loose_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def message_body(
    response: ChatResponse, model: str, message_id: str, usage: Usage
) -> dict[str, Any]:
    """The ``message`` object of a reply."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _content(response.message),
        "stop_reason": stop_reason(response),
        "stop_sequence": response.additional_kwargs.get("stop_sequence"),
        "usage": usage_body(usage),
    }


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class MessageStreamWriter:
    """Turns llmplug's stream chunks into the Messages API's stream events.

    Text and tool calls become content blocks in the order they arrive; a tool call's
    arguments go out as ``input_json_delta`` pieces of its raw JSON text.
    """

    def __init__(self, model: str, message_id: str) -> None:
        self.model = model
        self.message_id = message_id
        self._index = -1
        self._open: str | None = None  # "text" or "tool_use"
        self._calls: list[str] = []  # arguments sent, per tool call

    def start(self) -> bytes:
        """``message_start``: an empty message (usage is known at the end)."""
        message: dict[str, Any] = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return _event("message_start", {"type": "message_start", "message": message})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        return _event("content_block_stop", {"type": "content_block_stop", "index": self._index})

    def _begin(self, block: dict[str, Any], kind: str) -> bytes:
        out = self._close()
        self._index += 1
        self._open = kind
        start = {"type": "content_block_start", "index": self._index, "content_block": block}
        return out + _event("content_block_start", start)

    def _delta(self, delta: dict[str, Any]) -> bytes:
        event = {"type": "content_block_delta", "index": self._index, "delta": delta}
        return _event("content_block_delta", event)

    def chunk(self, chunk: ChatResponse) -> bytes:
        """The events of one llmplug chunk (empty when it brings nothing new)."""
        out = b""
        if chunk.delta:
            if self._open != "text":
                out += self._begin({"type": "text", "text": ""}, "text")
            out += self._delta({"type": "text_delta", "text": chunk.delta})
        calls = [b for b in chunk.message.blocks if isinstance(b, ToolCallBlock)]
        for index, call in enumerate(calls):
            text = call.tool_kwargs if isinstance(call.tool_kwargs, str) else None
            if index == len(self._calls):
                self._calls.append("")
                block = {
                    "type": "tool_use",
                    "id": call.tool_call_id or f"toolu_{index}",
                    "name": call.tool_name,
                    "input": {},
                }
                out += self._begin(block, "tool_use")
            sent = self._calls[index]
            if text is None:
                full = tool_arguments(call)
                if sent and not full.startswith(sent):
                    continue  # the raw text already sent is the whole call
                text = full
            if text.startswith(sent) and text != sent and index == len(self._calls) - 1:
                self._calls[index] = text
                out += self._delta({"type": "input_json_delta", "partial_json": text[len(sent) :]})
        return out

    def finish(self, last: ChatResponse | None, usage: Usage) -> bytes:
        """``content_block_stop``, ``message_delta`` (stop reason, usage), ``message_stop``."""
        out = self._close()
        reason = stop_reason(last)
        if self._calls and reason != "tool_use":
            reason = "tool_use"
        extra = last.additional_kwargs if last is not None else {}
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": extra.get("stop_sequence")},
            "usage": usage_body(usage),
        }
        return (
            out + _event("message_delta", delta) + _event("message_stop", {"type": "message_stop"})
        )


def stream_error_event(body: dict[str, Any]) -> bytes:
    """An ``error`` event in the middle of a stream (the SDK raises on it)."""
    return _event("error", body)
