"""llmplug messages -> the Messages API's ``system`` and ``messages``: pure functions.

Nothing here touches the network. Images and PDFs given as an http(s) URL are sent as
URL sources (Anthropic fetches them); bytes, ``data:`` URLs and local paths are inlined
as base64 (a path is read from disk). How each llmplug block is sent:

* system and developer messages -> the ``system`` parameter (text blocks) when they
  open the conversation; a later one is sent where it is (a ``system`` turn, which the
  API applies from that point on, keeping the prompt cache of the turns before it);
* consecutive messages of one role -> one turn (the API alternates user and assistant);
* ``role="tool"`` messages -> ``tool_result`` blocks in a user turn, matched to the call
  by ``additional_kwargs["tool_call_id"]``;
* :class:`~llmplug.CitableBlock` -> a ``search_result`` block (text content) or a
  ``document`` (one document) with citations enabled;
* :class:`~llmplug.CachePoint` -> ``cache_control`` on the block before it;
* :class:`~llmplug.ThinkingBlock` -> ``thinking`` (with its signature) or
  ``redacted_thinking``; a block without a signature (another provider's reasoning) is
  left out, as the API takes back only thinking it signed;
* :class:`~llmplug.ToolCallBlock` -> ``tool_use``;
* :class:`~llmplug.CitationBlock` in an assistant turn is left out: it annotates text
  the turn already holds.

Every block the API cannot take (audio, video...) raises
:class:`~llmplug.errors.UnsupportedContentError` naming the provider and the block
type, before any request is made.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from llmplug import (
    CachePoint,
    ChatMessage,
    CitableBlock,
    CitationBlock,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llmplug.errors import UnsupportedContentError
from llmplug.tools import tool_call_arguments

__all__ = ["MAX_CACHE_POINTS", "Wire", "messages_to_wire"]

Wire = dict[str, Any]

#: Cache breakpoints the API takes per request.
MAX_CACHE_POINTS = 4

_ASSISTANT_ROLES = frozenset({MessageRole.ASSISTANT, MessageRole.MODEL, MessageRole.CHATBOT})
_SYSTEM_ROLES = frozenset({MessageRole.SYSTEM, MessageRole.DEVELOPER})
_TOOL_ROLES = frozenset({MessageRole.TOOL, MessageRole.FUNCTION})
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_TEXT_DOCUMENT_TYPES = frozenset({"application/json", "application/xml"})
_CACHE_TTLS = ("5m", "1h")
_UNCACHEABLE = frozenset({"thinking", "redacted_thinking"})
_HTTP = ("http://", "https://")
# why a block type cannot be sent where it was found
_WHY = {
    "audio": "the Messages API takes no audio; transcribe it and send the text",
    "video": "the Messages API takes no video; send frames as images",
    "thinking": "only assistant messages hold the model's thinking",
    "tool_call": "tool calls belong in assistant messages",
    "citation": (
        "citations are the model's output; send the cited text as a TextBlock, or its "
        "source as a CitableBlock"
    ),
}


def messages_to_wire(
    messages: Sequence[ChatMessage], *, provider: str
) -> tuple[str | list[Wire] | None, list[Wire]]:
    """Convert messages to the request's ``system`` and ``messages``.

    Args:
        messages: The conversation, system prompt included.
        provider: The provider name, for errors.

    Returns:
        The ``system`` parameter (``None`` when there is no system message; a string
        for plain text) and the ``messages`` array.

    Raises:
        UnsupportedContentError: A block the API cannot take in that message.
    """
    converter = _Converter(provider)
    for message in messages:
        role = message.role
        if role == MessageRole.USER:
            converter.add("user", converter.content(message.blocks, "user"))
        elif role in _ASSISTANT_ROLES:
            converter.add("assistant", converter.assistant(message))
        elif role in _SYSTEM_ROLES:
            if converter.wire:
                converter.add("system", converter.instructions(message, []))
            else:
                converter.instructions(message, converter.system, top=True)
        elif role in _TOOL_ROLES:
            converter.add("user", [converter.tool_result(message)])
        else:
            raise UnsupportedContentError(
                f"{provider} has no message role {role!r}",
                provider=provider,
                block_type=str(role),
            )
    wire = converter.wire
    for item in wire:
        item["content"] = _collapse(item["content"])
    system = converter.system
    return (_collapse(system) if system else None), wire


class _Converter:
    """The content of each role; keeps what was converted so far for cache points."""

    __slots__ = ("cache_points", "provider", "system", "wire")

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.system: list[Wire] = []
        self.wire: list[Wire] = []
        self.cache_points = 0

    def add(self, role: str, parts: list[Wire]) -> None:
        """Append a turn, merged into the one before when both have ``role``."""
        wire = self.wire
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(parts)
        elif parts:
            wire.append({"role": role, "content": parts})

    # -- content of each role ----------------------------------------------------------

    def instructions(
        self, message: ChatMessage, parts: list[Wire], *, top: bool = False
    ) -> list[Wire]:
        """Add a system (or developer) message's text to ``parts``; return them.

        Args:
            message: The message.
            parts: Where its blocks go: the ``system`` parameter, or a new turn.
            top: ``parts`` is the ``system`` parameter.
        """
        for block in message.blocks:
            if isinstance(block, TextBlock):
                parts.append({"type": "text", "text": block.text})
            elif isinstance(block, CachePoint):
                self.cache_point(block, parts, system=top)
            else:
                raise self.unsupported(block.block_type, "system messages take text only")
        return parts

    def content(self, blocks: Sequence[Any], role: str) -> list[Wire]:
        """Content of a user turn or a tool result: text, images, documents, sources."""
        parts: list[Wire] = []
        provider = self.provider
        for block in blocks:
            if isinstance(block, TextBlock):
                parts.append({"type": "text", "text": block.text})
            elif isinstance(block, ImageBlock):
                parts.append(_image(block, provider))
            elif isinstance(block, DocumentBlock):
                parts.append(_document(block, provider))
            elif isinstance(block, CitableBlock):
                parts.append(_citable(block, provider))
            elif isinstance(block, CachePoint):
                self.cache_point(block, parts)
            else:
                why = _WHY.get(block.block_type, f"{role} messages cannot carry it")
                raise self.unsupported(block.block_type, why)
        return parts

    def assistant(self, message: ChatMessage) -> list[Wire]:
        """Content of an assistant turn: thinking, text and tool calls."""
        parts: list[Wire] = []
        for block in message.blocks:
            if isinstance(block, TextBlock):
                parts.append({"type": "text", "text": block.text})
            elif isinstance(block, ToolCallBlock):
                parts.append(_tool_use(block, self.provider))
            elif isinstance(block, ThinkingBlock):
                thinking = _thinking(block, self.provider)
                if thinking is not None:
                    parts.append(thinking)
            elif isinstance(block, CitationBlock):
                continue  # an annotation of the text before it, which is sent
            elif isinstance(block, CachePoint):
                self.cache_point(block, parts)
            else:
                why = _WHY.get(block.block_type, "assistant messages take text and tool calls")
                raise self.unsupported(block.block_type, why)
        return parts

    def tool_result(self, message: ChatMessage) -> Wire:
        """A ``tool_result`` block answering the tool call named in ``additional_kwargs``."""
        extra = message.additional_kwargs
        call_id = extra.get("tool_call_id") or extra.get("tool_use_id")
        if not call_id:
            role = str(message.role)
            raise UnsupportedContentError(
                f"a {role} message sent to {self.provider} needs "
                f"additional_kwargs['tool_call_id'], the id of the tool call it answers "
                f"(e.g. ChatMessage(role={role!r}, content=..., "
                f"additional_kwargs={{'tool_call_id': 'toolu_...'}}))",
                provider=self.provider,
                block_type=role,
            )
        result: Wire = {"type": "tool_result", "tool_use_id": str(call_id)}
        parts = self.content(message.blocks, "tool")
        if parts:
            result["content"] = _collapse(parts)
        if extra.get("is_error"):
            result["is_error"] = True
        return result

    # -- cache points ------------------------------------------------------------------

    def cache_point(self, point: CachePoint, parts: list[Wire], *, system: bool = False) -> None:
        """Put ``cache_control`` on the block before ``point``.

        That is the last of ``parts``; for a cache point opening a message, the last
        block of the turn (or, before the first turn, of the system prompt) before it.
        """
        self.cache_points += 1
        if self.cache_points > MAX_CACHE_POINTS:
            raise self.unsupported(
                "cache",
                f"the API takes at most {MAX_CACHE_POINTS} cache points per request; "
                f"keep the last ones of the prefixes you reuse",
            )
        target: Wire | None = None
        if parts:
            target = parts[-1]
        elif not system and self.wire:
            target = self.wire[-1]["content"][-1]
        elif self.system:
            target = self.system[-1]
        if target is None:
            raise self.unsupported(
                "cache", "a CachePoint marks the end of the content to cache, and none is before it"
            )
        if target["type"] in _UNCACHEABLE:
            raise self.unsupported(
                "cache", "a thinking block cannot carry cache_control; put the CachePoint elsewhere"
            )
        target["cache_control"] = _cache_control(point, self.provider)

    def unsupported(self, block_type: str, why: str) -> UnsupportedContentError:
        """The error for a block the API cannot take here."""
        return _unsupported(self.provider, block_type, why)


def _collapse(parts: list[Wire]) -> str | list[Wire]:
    """One plain text part as a string, else the parts."""
    if len(parts) == 1 and len(parts[0]) == 2 and parts[0]["type"] == "text":
        text: str = parts[0]["text"]
        return text
    return parts


def _cache_control(point: CachePoint, provider: str) -> Wire:
    control = point.cache_control
    if control.type != "ephemeral":
        raise _unsupported(
            provider, "cache", f"the only cache type is 'ephemeral', not {control.type!r}"
        )
    if control.ttl not in _CACHE_TTLS:
        raise _unsupported(provider, "cache", f"the cache ttl is '5m' or '1h', not {control.ttl!r}")
    return {"type": "ephemeral", "ttl": control.ttl}


# -- blocks --------------------------------------------------------------------------


def _image(block: ImageBlock, provider: str) -> Wire:
    url = str(block.url) if block.url is not None else None  # pydantic's AnyUrl
    if block.image is None and block.path is None and url is not None:
        if url.startswith(_HTTP):
            return {"type": "image", "source": {"type": "url", "url": url}}
        if not url.startswith("data:"):
            raise _unsupported(provider, "image", f"the API takes http(s) image URLs, not {url!r}")
    data, mimetype = block.image, block.image_mimetype
    if data is None:  # a path or a data: URL, read here (the type is sniffed if unknown)
        loaded = ImageBlock(image=_resolved(block, provider), image_mimetype=mimetype)
        data, mimetype = loaded.image, loaded.image_mimetype
    if mimetype == "image/jpg":
        mimetype = "image/jpeg"
    if mimetype not in _IMAGE_TYPES:
        shown = repr(mimetype) if mimetype else "an unrecognised format"
        raise _unsupported(
            provider,
            "image",
            f"the API takes JPEG, PNG, GIF and WebP images, got {shown}; convert it, or "
            f"set image_mimetype if it is one of those",
        )
    assert data is not None
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": mimetype, "data": data.decode("ascii")},
    }


def _document(
    block: DocumentBlock, provider: str, *, title: str | None = None, citations: bool = False
) -> Wire:
    url = block.url
    mimetype = block.document_mimetype
    source: Wire
    if block.data is None and block.path is None and url is not None and url.startswith(_HTTP):
        if mimetype not in (None, "application/pdf"):
            raise _unsupported(
                provider,
                "document",
                f"the API fetches only PDFs from a URL, not {mimetype!r}; give the "
                f"document's bytes (DocumentBlock(data=...)) or a path",
            )
        source = {"type": "url", "url": url}
    else:
        if block.data is None:  # a path or a data: URL, read here
            block = DocumentBlock(
                data=_resolved(block, provider), title=block.title, document_mimetype=mimetype
            )
            mimetype = block.document_mimetype
        assert block.data is not None
        if mimetype == "application/pdf":
            source = {
                "type": "base64",
                "media_type": "application/pdf",
                "data": block.data.decode("ascii"),
            }
        elif mimetype and (mimetype.startswith("text/") or mimetype in _TEXT_DOCUMENT_TYPES):
            text = base64.b64decode(block.data).decode("utf-8", errors="replace")
            source = {"type": "text", "media_type": "text/plain", "data": text}
        else:
            raise _unsupported(
                provider,
                "document",
                f"the API takes PDF and text documents, not "
                f"{mimetype or 'an unrecognised type'!r}; set document_mimetype if it is one",
            )
    wire: Wire = {"type": "document", "source": source}
    title = title or (block.title if block.title != "input_document" else None)
    if title:
        wire["title"] = title
    if citations:
        wire["citations"] = {"enabled": True}
    return wire


def _citable(block: CitableBlock, provider: str) -> Wire:
    content = block.content
    if content and all(isinstance(item, TextBlock) for item in content):
        return {
            "type": "search_result",
            "source": block.source,
            "title": block.title,
            "content": [{"type": "text", "text": item.text} for item in content],  # type: ignore[union-attr]
            "citations": {"enabled": True},
        }
    if len(content) == 1 and isinstance(content[0], DocumentBlock):
        return _document(content[0], provider, title=block.title, citations=True)
    raise _unsupported(
        provider,
        "citable",
        "a citable source holds text blocks, or one document (images cannot be cited); "
        "split it into several CitableBlocks",
    )


def _tool_use(block: ToolCallBlock, provider: str) -> Wire:
    if not block.tool_call_id:
        raise _unsupported(
            provider,
            block.block_type,
            f"a tool call needs its tool_call_id (the id the model gave it), so the tool "
            f"result can refer to it; tool {block.tool_name!r} has none",
        )
    kwargs = tool_call_arguments(block, provider)
    return {"type": "tool_use", "id": block.tool_call_id, "name": block.tool_name, "input": kwargs}


def _thinking(block: ThinkingBlock, provider: str) -> Wire | None:
    if block.redacted:
        data = block.redacted_data
        if not data:
            raise _unsupported(
                provider, "thinking", "a redacted thinking block needs its opaque data"
            )
        return {"type": "redacted_thinking", "data": data}
    signature = block.signature
    if not signature:
        return None  # not Anthropic's (no signature): the API would refuse it
    return {"type": "thinking", "thinking": block.content or "", "signature": signature}


def _resolved(block: ImageBlock | DocumentBlock, provider: str) -> bytes:
    """The raw bytes of a block given as a path or a ``data:`` URL (no network)."""
    try:
        if isinstance(block, ImageBlock):
            return block.resolve_image().getvalue()
        return block.resolve_document().getvalue()
    except ValueError as exc:
        raise _unsupported(provider, block.block_type, str(exc)) from exc


def _unsupported(provider: str, block_type: str, why: str) -> UnsupportedContentError:
    return UnsupportedContentError(
        f"{provider} cannot take a {block_type} block here: {why}",
        provider=provider,
        block_type=block_type,
    )
