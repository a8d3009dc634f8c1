"""Messages API responses and stream events -> llmplug responses: pure functions.

Bodies and events arrive as decoded JSON (plain dicts) and are read as such. A stream
accumulates its content blocks in the shape of a response's ``content`` (text with its
citations, thinking with its signature, tool calls with their input), so one function,
:func:`content_blocks`, turns both into llmplug blocks:

* ``text`` -> :class:`~llmplug.TextBlock` (adjacent text blocks joined into one, so
  ``message.content`` is the answer's text as the model wrote it), each citation on it
  -> a :class:`~llmplug.CitationBlock` after it;
* ``thinking`` -> :class:`~llmplug.ThinkingBlock` with its ``signature``;
  ``redacted_thinking`` -> ``ThinkingBlock.from_redacted(data)``;
* ``tool_use`` -> :class:`~llmplug.ToolCallBlock`.

Other block types (server tools' results) have no llmplug block; they stay in ``raw``.
"""

from __future__ import annotations

import json
from typing import Any

from llmplug import (
    ChatMessage,
    ChatResponse,
    CitationBlock,
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

__all__ = ["StreamState", "content_blocks", "parse_event_data", "parse_message", "parse_usage"]

_ASSISTANT = MessageRole.ASSISTANT
# where a citation points, by its type: the integer fields kept as location info
_LOCATION_FIELDS = {
    "char_location": ("document_index", "start_char_index", "end_char_index"),
    "page_location": ("document_index", "start_page_number", "end_page_number"),
    "content_block_location": ("document_index", "start_block_index", "end_block_index"),
    "search_result_location": ("search_result_index", "start_block_index", "end_block_index"),
}


def parse_message(data: Any) -> ChatResponse:
    """Turn a ``message`` body into a ChatResponse.

    ``additional_kwargs`` holds ``stop_reason`` and ``stop_sequence``.

    Raises:
        ValueError: The body is not a message: not an object with a ``content`` list.
    """
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(content, list):
        raise ValueError("not a message: expected an object with a content list")
    usage = parse_usage(data.get("usage"))
    first = content[0] if len(content) == 1 else None
    if first is not None and first.get("type") == "text" and not first.get("citations"):
        # one text block: the usual answer, its message built unvalidated
        text = first.get("text")
        message = assistant_text_message(text if isinstance(text, str) else "")
    else:
        message = _message(content)
    return trusted_chat_response(
        message=message,
        raw=data,
        additional_kwargs={
            "stop_reason": data.get("stop_reason"),
            "stop_sequence": data.get("stop_sequence"),
        },
        usage=usage,
    )


def _message(content: list[Any]) -> ChatMessage:
    return ChatMessage(role=_ASSISTANT, blocks=content_blocks(content))


def content_blocks(content: list[Any]) -> list[Any]:
    """The llmplug blocks for a response's ``content`` (see the module docstring)."""
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
        kind = item.get("type")
        if kind == "text":
            text.append(item.get("text") or "")
            citations.extend(citation_block(c) for c in item.get("citations") or ())
            continue
        flush()
        if kind == "thinking":
            blocks.append(
                ThinkingBlock(content=item.get("thinking") or "", signature=item.get("signature"))
            )
        elif kind == "redacted_thinking":
            blocks.append(ThinkingBlock.from_redacted(item.get("data") or ""))
        elif kind == "tool_use":
            blocks.append(
                ToolCallBlock(
                    tool_call_id=item.get("id"),
                    tool_name=item.get("name") or "",
                    tool_kwargs=_input(item.get("input")),
                )
            )
    flush()
    return blocks


def citation_block(citation: dict[str, Any]) -> CitationBlock:
    """A citation of the response as a :class:`~llmplug.CitationBlock`.

    ``source`` and ``title`` are the cited search result's (a
    :class:`~llmplug.CitableBlock` sent as one), a web result's URL and title, or the
    cited document's title; ``additional_location_info`` holds the citation's integer
    location fields (``document_index``, ``start_char_index``...).
    """
    kind = citation.get("type", "")
    title = citation.get("title") or citation.get("document_title") or ""
    if kind == "search_result_location":
        source = citation.get("source") or ""
    elif kind == "web_search_result_location":
        source = citation.get("url") or ""
    else:
        source = title
    location = {
        name: citation[name]
        for name in _LOCATION_FIELDS.get(kind, ())
        if isinstance(citation.get(name), int)
    }
    return CitationBlock(
        cited_content=TextBlock(text=citation.get("cited_text") or ""),
        source=source,
        title=title,
        additional_location_info=location,
    )


def parse_usage(usage: Any, base: Usage | None = None) -> Usage | None:
    """The ``usage`` object as :class:`~llmplug.Usage` (``None`` when absent).

    Anthropic counts cache reads and writes apart from ``input_tokens``; llmplug's
    ``input_tokens`` counts every prompt token, so they are added to it. Fields missing
    from ``usage`` (a ``message_delta`` carries only some) keep ``base``'s counts.
    """
    if not isinstance(usage, dict):
        return base
    old = base.__dict__ if base is not None else {}
    read = _count(usage, "cache_read_input_tokens", old.get("cached_tokens"))
    written = _count(usage, "cache_creation_input_tokens", old.get("cache_creation_tokens"))
    fresh = usage.get("input_tokens")
    prompt = fresh + read + written if isinstance(fresh, int) else old.get("input_tokens", 0)
    details = usage.get("output_tokens_details")
    thinking = details.get("thinking_tokens") if isinstance(details, dict) else None
    return trusted_usage(
        input_tokens=prompt,
        output_tokens=_count(usage, "output_tokens", old.get("output_tokens")),
        cached_tokens=read,
        cache_creation_tokens=written,
        reasoning_tokens=(
            thinking if isinstance(thinking, int) else old.get("reasoning_tokens", 0)
        ),
    )


def _count(usage: dict[str, Any], key: str, default: int | None) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else (default or 0)


class StreamState:
    """What one stream has accumulated: its content blocks, stop reason and usage."""

    __slots__ = (
        "blocks",
        "finished",
        "stop_reason",
        "stop_sequence",
        "text",
        "text_only",
        "usage",
    )

    def __init__(self) -> None:
        # index -> the block so far, in a response's shape (tool input as partial JSON)
        self.blocks: dict[int, dict[str, Any]] = {}
        self.text = ""  # all text so far, while the content is one plain text block
        self.text_only = True
        self.finished = False  # the message_delta with the stop reason arrived
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None
        self.usage: Usage | None = None

    def response(self, delta: str, raw: Any) -> ChatResponse:
        """A chunk: the accumulated message, with ``delta`` the text that just arrived."""
        if self.text_only and not self.finished:
            # text only, before the end: the chunk of nearly every token
            return assistant_text_chunk(self.text, delta, raw, None)
        content = [self.blocks[index] for index in sorted(self.blocks)]
        extra: dict[str, Any] = {}
        usage = None  # until message_delta, only the prompt's side is known
        if self.finished:
            extra = {"stop_reason": self.stop_reason, "stop_sequence": self.stop_sequence}
            usage = self.usage
        return trusted_chat_response(
            message=_message(content), raw=raw, delta=delta, additional_kwargs=extra, usage=usage
        )


def parse_event_data(data: Any, state: StreamState) -> ChatResponse | None:
    """Fold one stream event (other than ``error`` and ``message_stop``) into ``state``.

    Returns the chunk to yield, if the event changed the message: text, thinking,
    tool input, signature and citation deltas and the ``message_delta`` (stop reason
    and usage, with an empty ``delta``) each yield one; ``message_start``, block starts
    and stops and ``ping`` yield none.
    """
    kind = data.get("type")
    if kind == "content_block_delta":
        delta = data["delta"]
        dtype = delta.get("type")
        if dtype == "text_delta":
            text = delta.get("text") or ""
            if not text:
                return None
            block = state.blocks[data["index"]]
            block["text"] = block.get("text", "") + text
            if state.text_only:
                state.text += text
            return state.response(text, data)
        block = state.blocks[data["index"]]
        state.text_only = False
        if dtype == "input_json_delta":
            # a server tool's call (web search...) starts with its input as an object
            # too: the JSON text replaces it, as a custom tool's does
            so_far = block.get("input")
            text = so_far if isinstance(so_far, str) else ""
            block["input"] = text + (delta.get("partial_json") or "")
        elif dtype == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + (delta.get("thinking") or "")
        elif dtype == "signature_delta":
            block["signature"] = delta.get("signature") or ""
        elif dtype == "citations_delta":
            # a new list: the old one may be the start event's own
            block["citations"] = [*(block.get("citations") or ()), delta["citation"]]
        else:
            return None  # a delta type this version does not know
        return state.response("", data)
    if kind == "content_block_start":
        block = dict(data["content_block"])
        if block.get("type") == "tool_use":
            # the input arrives as partial JSON; the start carries an empty object
            block["input"] = ""
        if block.get("type") != "text" or block.get("citations") or state.blocks:
            state.text_only = False
        elif block.get("text"):
            state.text += block["text"]
        state.blocks[data["index"]] = block
        return None
    if kind == "message_delta":
        delta = data.get("delta") or {}
        state.finished = True
        state.stop_reason = delta.get("stop_reason") or state.stop_reason
        state.stop_sequence = delta.get("stop_sequence")
        state.usage = parse_usage(data.get("usage"), state.usage)
        return state.response("", data)
    if kind == "message_start":
        message = data.get("message") or {}
        state.usage = parse_usage(message.get("usage"))
        return None
    if kind == "content_block_stop":
        stopped = state.blocks.get(data.get("index", -1))
        if stopped is not None and isinstance(stopped.get("input"), str):
            # a tool call's input is complete: parsed once, here, not on every delta
            stopped["input"] = _complete_input(stopped["input"])
        return None
    return None  # ping, and event types this version does not know


def _input(value: Any) -> dict[str, Any] | str:
    """A tool call's input: the object, or while streaming its JSON text so far.

    Streamed input is parsed once, when its block stops (:func:`_complete_input`):
    parsing the text so far on every delta would cost time quadratic in its length.
    """
    if isinstance(value, dict):
        return value
    if not value:
        return {}
    return value if isinstance(value, str) else str(value)


def _complete_input(text: str) -> dict[str, Any] | str:
    """A finished tool input's JSON text as its object (the text if it is not one)."""
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: a model looping on "[[[["
        return text
    return parsed if isinstance(parsed, dict) else text
