"""Converse responses and ConverseStream events -> llmplug responses: pure functions.

Bodies and event payloads arrive as decoded JSON and are read as such. A stream
accumulates its content blocks in the shape of a response's ``content``, so one
function, :func:`content_blocks`, turns both into llmplug blocks:

* ``text`` -> :class:`~llmplug.TextBlock` (adjacent text joined into one, so
  ``message.content`` is the answer's text as the model wrote it);
* ``citationsContent`` -> its text as a :class:`~llmplug.TextBlock`, then each citation
  as a :class:`~llmplug.CitationBlock`;
* ``reasoningContent`` -> :class:`~llmplug.ThinkingBlock` (``reasoningText`` with its
  ``signature``; ``redactedContent`` -> ``ThinkingBlock.from_redacted``);
* ``toolUse`` -> :class:`~llmplug.ToolCallBlock`;
* ``image`` -> :class:`~llmplug.ImageBlock`.

Other blocks (a server tool's result) have no llmplug block; they stay in ``raw``.
``additional_kwargs`` holds ``stop_reason`` (``end_turn``, ``tool_use``,
``max_tokens``, ``stop_sequence``, ``guardrail_intervened``, ``content_filtered``...),
``latency_ms`` and, when the response has them, ``additional_model_response_fields``,
``trace``, ``performance_config`` and ``service_tier``.
"""

from __future__ import annotations

import json
from typing import Any

from llmplug import (
    ChatMessage,
    ChatResponse,
    CitationBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    Usage,
)
from llmplug.types import (
    assistant_text_chunk,
    assistant_text_message,
    trusted_chat_response,
    trusted_usage,
)

__all__ = ["StreamState", "content_blocks", "parse_converse", "parse_stream_event", "parse_usage"]

_ASSISTANT = MessageRole.ASSISTANT
# response fields kept in additional_kwargs, under these names
_EXTRAS = {
    "additionalModelResponseFields": "additional_model_response_fields",
    "trace": "trace",
    "performanceConfig": "performance_config",
    "serviceTier": "service_tier",
}
# where a citation points, by its location type
_LOCATION_FIELDS = {
    "documentChar": ("documentIndex", "start", "end"),
    "documentPage": ("documentIndex", "start", "end"),
    "documentChunk": ("documentIndex", "start", "end"),
    "searchResultLocation": ("searchResultIndex", "start", "end"),
}


def parse_converse(data: Any) -> ChatResponse:
    """Turn a Converse response body into a ChatResponse with ``usage``."""
    output = data.get("output") or {}
    content = (output.get("message") or {}).get("content") or []
    first = content[0] if len(content) == 1 else None
    if first is not None and set(first) == {"text"} and isinstance(first["text"], str):
        message = assistant_text_message(first["text"])  # the usual answer: one text block
    else:
        message = ChatMessage(role=_ASSISTANT, blocks=content_blocks(content))
    return trusted_chat_response(
        message=message,
        raw=data,
        additional_kwargs=_extras(data, data.get("stopReason"), data.get("metrics")),
        usage=parse_usage(data.get("usage")),
    )


def _extras(data: dict[str, Any], stop_reason: Any, metrics: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {"stop_reason": stop_reason}
    latency = metrics.get("latencyMs") if isinstance(metrics, dict) else None
    if isinstance(latency, int):
        extra["latency_ms"] = latency
    for key, name in _EXTRAS.items():
        if data.get(key) is not None:
            extra[name] = data[key]
    return extra


def content_blocks(content: list[Any]) -> list[Any]:
    """The llmplug blocks for a message's ``content`` (see the module docstring)."""
    blocks: list[Any] = []
    text: list[str] = []
    citations: list[CitationBlock] = []

    def flush() -> None:
        if text:
            blocks.append(TextBlock(text="".join(text)))
            blocks.extend(citations)
            text.clear()
            citations.clear()

    for item in content:
        if "text" in item:
            text.append(item["text"] or "")
            continue
        if "citationsContent" in item:
            cited = item["citationsContent"] or {}
            text.append("".join(part.get("text") or "" for part in cited.get("content") or ()))
            citations.extend(citation_block(c) for c in cited.get("citations") or ())
            continue
        flush()
        if "reasoningContent" in item:
            blocks.append(_thinking(item["reasoningContent"] or {}))
        elif "toolUse" in item:
            call = item["toolUse"]
            blocks.append(
                ToolCallBlock(
                    tool_call_id=call.get("toolUseId"),
                    tool_name=call.get("name") or "",
                    tool_kwargs=_input(call.get("input")),
                )
            )
        elif "image" in item:
            image = _image(item["image"] or {})
            if image is not None:
                blocks.append(image)
    flush()
    return blocks


def _thinking(reasoning: dict[str, Any]) -> ThinkingBlock:
    if "redactedContent" in reasoning:
        return ThinkingBlock.from_redacted(reasoning["redactedContent"] or "")
    text = reasoning.get("reasoningText") or {}
    return ThinkingBlock(content=text.get("text") or "", signature=text.get("signature"))


def _image(image: dict[str, Any]) -> ImageBlock | None:
    data = (image.get("source") or {}).get("bytes")
    if not isinstance(data, str) or not data:
        return None
    fmt = image.get("format") or ""
    return ImageBlock(image=data.encode("ascii"), image_mimetype=f"image/{fmt}" if fmt else None)


def citation_block(citation: dict[str, Any]) -> CitationBlock:
    """A citation of the response as a :class:`~llmplug.CitationBlock`.

    ``source`` is the cited search result's or web page's source (else the title);
    ``additional_location_info`` holds the location's integers (``documentIndex``,
    ``start``, ``end``...).
    """
    title = citation.get("title") or ""
    location = citation.get("location") or {}
    kind = next(iter(location), "") if isinstance(location, dict) else ""
    where = location.get(kind) or {} if kind else {}
    source = citation.get("source") or (where.get("url") if kind == "web" else None) or title
    cited = "".join(part.get("text") or "" for part in citation.get("sourceContent") or ())
    info = {
        name: where[name]
        for name in _LOCATION_FIELDS.get(kind, ())
        if isinstance(where.get(name), int)
    }
    return CitationBlock(
        cited_content=TextBlock(text=cited),
        source=source,
        title=title,
        additional_location_info=info,
    )


def parse_usage(usage: Any) -> Usage | None:
    """Converse's ``usage`` as :class:`~llmplug.Usage` (``None`` when absent).

    Converse counts cache reads and writes apart from ``inputTokens``; llmplug's
    ``input_tokens`` counts every prompt token, so they are added to it.
    """
    if not isinstance(usage, dict):
        return None
    read = _count(usage, "cacheReadInputTokens")
    written = _count(usage, "cacheWriteInputTokens")
    return trusted_usage(
        input_tokens=_count(usage, "inputTokens") + read + written,
        output_tokens=_count(usage, "outputTokens"),
        cached_tokens=read,
        cache_creation_tokens=written,
    )


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _input(value: Any) -> dict[str, Any] | str:
    """A tool call's input: the object, or while streaming its JSON text so far."""
    if isinstance(value, dict):
        return value
    if not value:
        return {}
    return value if isinstance(value, str) else json.dumps(value)


def _complete_input(text: str) -> dict[str, Any] | str:
    """A finished tool input's JSON text as its object (the text if it is not one)."""
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: a model looping on "[[[["
        return text
    return parsed if isinstance(parsed, dict) else text


class StreamState:
    """What one stream has accumulated: its content blocks, stop reason and usage."""

    __slots__ = ("blocks", "citations", "stop_fields", "stop_reason", "text", "text_only")

    def __init__(self) -> None:
        # index -> the block so far, in a response's shape (tool input as JSON text)
        self.blocks: dict[int, dict[str, Any]] = {}
        self.citations: dict[int, list[Any]] = {}  # index -> the text block's citations
        self.text = ""  # all text so far, while the content is plain text
        self.text_only = True
        self.stop_reason: str | None = None
        self.stop_fields: Any = None  # messageStop's additionalModelResponseFields

    def content(self) -> list[dict[str, Any]]:
        """The content so far, in a response's shape."""
        content = []
        for index in sorted(self.blocks):
            block = self.blocks[index]
            cited = self.citations.get(index)
            if cited and "text" in block:
                block = {"citationsContent": {"content": [block], "citations": cited}}
            content.append(block)
        return content

    def chunk(self, delta: str, raw: Any) -> ChatResponse:
        """A chunk: the accumulated message, with ``delta`` the text that just arrived."""
        if self.text_only:
            return assistant_text_chunk(self.text, delta, raw, None)
        message = ChatMessage(role=_ASSISTANT, blocks=content_blocks(self.content()))
        return trusted_chat_response(message=message, raw=raw, delta=delta)

    def last_chunk(self, data: dict[str, Any]) -> ChatResponse:
        """The closing chunk, from the ``metadata`` event: stop reason, usage, latency."""
        extra = _extras(data, self.stop_reason, data.get("metrics"))
        if self.stop_fields is not None:
            extra["additional_model_response_fields"] = self.stop_fields
        if self.text_only:
            message = assistant_text_message(self.text)
        else:
            message = ChatMessage(role=_ASSISTANT, blocks=content_blocks(self.content()))
        return trusted_chat_response(
            message=message,
            raw=data,
            delta="",
            additional_kwargs=extra,
            usage=parse_usage(data.get("usage")),
        )

    def block(self, index: int) -> dict[str, Any]:
        """The block at ``index`` (a text block when none was started: text has no start)."""
        block = self.blocks.get(index)
        if block is None:
            block = self.blocks[index] = {"text": ""}
        return block


def parse_stream_event(kind: str, data: Any, state: StreamState) -> ChatResponse | None:
    """Fold one ConverseStream event (other than ``metadata``) into ``state``.

    Returns the chunk to yield if the event changed the message: each text, tool input,
    reasoning, citation or image delta yields one; ``messageStart``, block starts and
    stops and ``messageStop`` yield none (the closing chunk comes with ``metadata``).
    """
    if kind == "contentBlockDelta":
        index = data["contentBlockIndex"]
        delta = data["delta"]
        if "text" in delta:
            text = delta["text"] or ""
            block = state.block(index)
            if "text" not in block:
                return None  # text for a block of another kind: not Converse's
            block["text"] += text
            if state.text_only:
                if len(state.blocks) > 1:
                    state.text_only = False
                else:
                    state.text += text
            return state.chunk(text, data) if text else None
        state.text_only = False
        return _other_delta(index, delta, data, state)
    if kind == "contentBlockStart":
        index = data["contentBlockIndex"]
        start = data.get("start") or {}
        if "toolUse" in start:
            state.blocks[index] = {"toolUse": {**start["toolUse"], "input": ""}}
        elif "image" in start:
            state.blocks[index] = {"image": {**start["image"], "source": {"bytes": ""}}}
        elif "toolResult" in start:
            state.blocks[index] = {"toolResult": dict(start["toolResult"])}
        else:
            state.block(index)
            if len(state.blocks) == 1:
                return None
        state.text_only = False
        return None
    if kind == "contentBlockStop":
        stopped = state.blocks.get(data.get("contentBlockIndex", -1))
        if stopped is not None and "toolUse" in stopped:
            call = stopped["toolUse"]
            if isinstance(call.get("input"), str):
                # the input is complete: parsed once, here, not on every delta
                call["input"] = _complete_input(call["input"])
        return None
    if kind == "messageStop":
        state.stop_reason = data.get("stopReason")
        state.stop_fields = data.get("additionalModelResponseFields")
        return None
    return None  # messageStart, and events this version does not know


def _other_delta(
    index: int, delta: dict[str, Any], data: Any, state: StreamState
) -> ChatResponse | None:
    if "toolUse" in delta:
        block = state.blocks.get(index) or state.blocks.setdefault(
            index, {"toolUse": {"toolUseId": "", "name": "", "input": ""}}
        )
        call = block["toolUse"]
        so_far = call.get("input")
        call["input"] = (so_far if isinstance(so_far, str) else "") + (
            delta["toolUse"].get("input") or ""
        )
    elif "reasoningContent" in delta:
        reasoning = delta["reasoningContent"]
        block = state.blocks.setdefault(index, {"reasoningContent": {}})
        content = block.setdefault("reasoningContent", {})
        if "redactedContent" in reasoning:
            content["redactedContent"] = (content.get("redactedContent") or "") + (
                reasoning["redactedContent"] or ""
            )
        else:
            text = content.setdefault("reasoningText", {"text": ""})
            if "text" in reasoning:
                text["text"] = (text.get("text") or "") + (reasoning["text"] or "")
            if "signature" in reasoning:
                text["signature"] = reasoning["signature"]
    elif "citation" in delta:
        state.block(index)
        state.citations[index] = [*state.citations.get(index, ()), delta["citation"]]
    elif "image" in delta:
        block = state.blocks.setdefault(index, {"image": {"source": {"bytes": ""}}})
        source = (delta["image"].get("source") or {}).get("bytes") or ""
        image = block.setdefault("image", {})
        image["source"] = {"bytes": (image.get("source") or {}).get("bytes", "") + source}
    else:
        return None  # a tool result's delta, or a delta type this version does not know
    return state.chunk("", data)
