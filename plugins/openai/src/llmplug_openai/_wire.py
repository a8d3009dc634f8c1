"""llmplug messages -> Chat Completions ``messages``: pure functions.

Nothing here touches the network. Binary blocks given as bytes or ``data:`` URLs are
inlined as they are; a block given as a local ``path`` is read from disk; an image
``url`` is passed on for OpenAI to fetch. Audio and documents given as an http(s) URL
are refused (the API takes them inline only, and fetching here would block an event
loop): give their bytes or a path.

Every block the API cannot take raises :class:`~llmplug.errors.UnsupportedContentError`
naming the provider and the block type, before any request is made.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from llmplug import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llmplug.errors import UnsupportedContentError

__all__ = ["messages_to_wire", "tool_call_to_wire"]

Wire = dict[str, Any]

_ASSISTANT_ROLES = frozenset({MessageRole.ASSISTANT, MessageRole.MODEL, MessageRole.CHATBOT})
_INSTRUCTION_ROLES = frozenset({MessageRole.SYSTEM, MessageRole.DEVELOPER})
_AUDIO_FORMATS = frozenset({"wav", "mp3"})  # input_audio.format in the OpenAPI spec
_BREAKPOINT = {"mode": "explicit"}
# why a block type cannot be sent, where it never can
_WHY = {
    "video": "the Chat Completions API takes no video",
    "citable": "the Chat Completions API has no citation input; send the text as a TextBlock",
    "citation": "the Chat Completions API has no citation blocks; send the text as a TextBlock",
    "thinking": "only assistant messages hold the model's thinking",
    "tool_call": "tool calls belong in assistant messages",
}


def messages_to_wire(
    messages: Sequence[ChatMessage],
    *,
    provider: str,
    instructions_role: str = "system",
    cache_breakpoints: bool = False,
    refused: frozenset[str] = frozenset(),
) -> list[Wire]:
    """Convert messages to the ``messages`` array of a chat completion request.

    Args:
        messages: The conversation, system prompt included.
        provider: The provider name, for errors.
        instructions_role: The role system and developer messages are sent as
            (``"system"``, or ``"developer"`` for reasoning models).
        cache_breakpoints: Send each :class:`~llmplug.CachePoint` as a
            ``prompt_cache_breakpoint`` on the content part before it (models that
            take explicit breakpoints); otherwise cache points are left out, the
            service caching prompt prefixes on its own.
        refused: Block types the service does not take (``"image"``, ``"audio"``,
            ``"document"``), refused before anything is sent.

    Raises:
        UnsupportedContentError: A block the API cannot take in that message.
    """
    converter = _Converter(provider, cache_breakpoints, refused)
    wire = converter.wire
    for message in messages:
        role = message.role
        blocks = message.blocks
        extra = message.additional_kwargs
        if role == MessageRole.USER and len(blocks) == 1 and type(blocks[0]) is TextBlock:
            # the common case, kept short
            item: Wire = {"role": "user", "content": blocks[0].text}
        elif role in _INSTRUCTION_ROLES:
            item = {"role": instructions_role, "content": converter.text_content(message)}
        elif role == MessageRole.USER:
            item = {"role": "user", "content": converter.user_content(message)}
        elif role in _ASSISTANT_ROLES:
            item = converter.assistant(message)
        elif role == MessageRole.TOOL:
            item = {
                "role": "tool",
                "tool_call_id": _required(extra, "tool_call_id", message, provider),
                "content": converter.text_content(message),
            }
        elif role == MessageRole.FUNCTION:  # the deprecated predecessor of tool messages
            item = {
                "role": "function",
                "name": _required(extra, "name", message, provider),
                "content": message.content or "",
            }
        else:
            raise UnsupportedContentError(
                f"{provider} has no message role {role!r}",
                provider=provider,
                block_type=str(role),
            )
        name = extra.get("name") if extra else None
        if name and item["role"] not in ("tool", "function"):
            item["name"] = name
        wire.append(item)
    return wire


def tool_call_to_wire(block: ToolCallBlock, provider: str) -> Wire:
    """An assistant ``tool_calls`` entry for ``block``.

    Raises:
        UnsupportedContentError: The block has no ``tool_call_id``, which the API needs
            to match the tool's result to the call.
    """
    if not block.tool_call_id:
        raise UnsupportedContentError(
            f"a ToolCallBlock sent to {provider} needs its tool_call_id (the id the model "
            f"gave the call), so the tool message answering it can refer to it; "
            f"tool {block.tool_name!r} has none",
            provider=provider,
            block_type=block.block_type,
        )
    kwargs = block.tool_kwargs
    arguments = kwargs if isinstance(kwargs, str) else json.dumps(kwargs, ensure_ascii=False)
    return {
        "id": block.tool_call_id,
        "type": "function",
        "function": {"name": block.tool_name, "arguments": arguments},
    }


class _Converter:
    """The content of each role; keeps the messages converted so far for cache points."""

    __slots__ = ("breakpoints", "provider", "refused", "wire")

    def __init__(self, provider: str, breakpoints: bool, refused: frozenset[str]) -> None:
        self.provider = provider
        self.breakpoints = breakpoints
        # block types the service does not take (its capabilities say so)
        self.refused = refused
        self.wire: list[Wire] = []

    def text_content(self, message: ChatMessage) -> str | list[Wire]:
        """Content for system, developer and tool messages: text parts only."""
        parts: list[Wire] = []
        for block in message.blocks:
            if isinstance(block, TextBlock):
                parts.append({"type": "text", "text": block.text})
            elif isinstance(block, CachePoint):
                self.cache_point(parts)
            else:
                raise _unsupported(
                    self.provider,
                    block.block_type,
                    _WHY.get(block.block_type, f"{message.role} messages take text only"),
                )
        return _collapse(parts)

    def user_content(self, message: ChatMessage) -> str | list[Wire]:
        """Content for user messages: text, images, audio and documents."""
        parts: list[Wire] = []
        for block in message.blocks:
            if block.block_type in self.refused:
                raise _unsupported(
                    self.provider,
                    block.block_type,
                    f"{self.provider} does not take {block.block_type} input",
                )
            if isinstance(block, TextBlock):
                parts.append({"type": "text", "text": block.text})
            elif isinstance(block, ImageBlock):
                parts.append(_image(block, self.provider))
            elif isinstance(block, AudioBlock):
                parts.append(_audio(block, self.provider))
            elif isinstance(block, DocumentBlock):
                parts.append(_document(block, self.provider))
            elif isinstance(block, CachePoint):
                self.cache_point(parts)
            else:
                raise _unsupported(
                    self.provider,
                    block.block_type,
                    _WHY.get(block.block_type, "user messages cannot carry it"),
                )
        return _collapse(parts)

    def assistant(self, message: ChatMessage) -> Wire:
        """An assistant message: text and tool calls."""
        parts: list[Wire] = []
        tool_calls: list[Wire] = []
        for block in message.blocks:
            if isinstance(block, TextBlock):
                parts.append({"type": "text", "text": block.text})
            elif isinstance(block, ToolCallBlock):
                tool_calls.append(tool_call_to_wire(block, self.provider))
            elif isinstance(block, ThinkingBlock):
                # Chat Completions takes no reasoning as input (DeepSeek even rejects
                # reasoning_content in a request): a reply's own thinking, sent back as
                # history, stays out
                continue
            elif isinstance(block, CachePoint):
                self.cache_point(parts)
            else:
                raise _unsupported(
                    self.provider,
                    block.block_type,
                    _WHY.get(block.block_type, "assistant messages take text and tool calls"),
                )
        if not tool_calls:
            # LlamaIndex keeps a reply's raw tool calls here
            raw = message.additional_kwargs.get("tool_calls")
            if isinstance(raw, list) and raw:
                tool_calls = [dict(call) for call in raw]
        item: Wire = {"role": "assistant"}
        if parts or not tool_calls:
            item["content"] = _collapse(parts)
        if tool_calls:
            item["tool_calls"] = tool_calls
        return item

    def cache_point(self, parts: list[Wire]) -> None:
        """Mark the end of the prompt prefix to cache, where the model takes markers.

        Elsewhere a cache point has no wire form and is left out: OpenAI caches prompt
        prefixes automatically (no marker needed), and compatible servers either do the
        same (vLLM, llama.cpp, DeepSeek) or have no per-block cache control in this API.
        """
        if not self.breakpoints:
            return
        if parts:
            parts[-1]["prompt_cache_breakpoint"] = dict(_BREAKPOINT)
            return
        # a cache point opening a message ends the prefix at the message before it
        for item in reversed(self.wire):
            content = item.get("content")
            if isinstance(content, str) and content:
                item["content"] = content = [{"type": "text", "text": content}]
            if isinstance(content, list) and content:
                content[-1]["prompt_cache_breakpoint"] = dict(_BREAKPOINT)
                return


def _collapse(parts: list[Wire]) -> str | list[Wire]:
    """One plain text part as a string (what every compatible server takes), else parts."""
    if not parts:
        return ""
    if len(parts) == 1 and len(parts[0]) == 2 and parts[0]["type"] == "text":
        text: str = parts[0]["text"]
        return text
    return parts


# -- blocks --------------------------------------------------------------------------


def _image(block: ImageBlock, provider: str) -> Wire:
    image_url: Wire = {}
    if block.image is None and block.path is None and block.url is not None:
        image_url["url"] = str(block.url)  # an http(s) URL OpenAI fetches, or data: as is
    else:
        data, mimetype = block.image, block.image_mimetype
        if data is None:  # a path: read it (the type is sniffed if the name did not say)
            loaded = ImageBlock(image=_read(block, provider), image_mimetype=mimetype)
            data, mimetype = loaded.image, loaded.image_mimetype
        if not mimetype or not mimetype.startswith("image/"):
            raise _unsupported(
                provider,
                "image",
                "its image format is not recognised; set image_mimetype (e.g. 'image/png')",
            )
        assert data is not None
        image_url["url"] = f"data:{mimetype};base64,{data.decode('ascii')}"
    if block.detail:
        image_url["detail"] = block.detail
    return {"type": "image_url", "image_url": image_url}


def _audio(block: AudioBlock, provider: str) -> Wire:
    if block.audio is None:
        block = AudioBlock(audio=_read(block, provider), format=block.format)
    fmt = (block.format or "").lower()
    if fmt not in _AUDIO_FORMATS:
        shown = repr(fmt) if fmt else "an unrecognised format"
        raise _unsupported(
            provider,
            "audio",
            f"the API takes wav or mp3 audio, got {shown}; convert it, or set format= if "
            f"it is wav or mp3",
        )
    assert block.audio is not None
    return {
        "type": "input_audio",
        "input_audio": {"data": block.audio.decode("ascii"), "format": fmt},
    }


def _document(block: DocumentBlock, provider: str) -> Wire:
    if block.data is None:
        block = DocumentBlock(
            data=_read(block, provider),
            title=_filename(block),
            document_mimetype=block.document_mimetype,
        )
    assert block.data is not None
    mimetype = block.document_mimetype or ""
    if mimetype == "application/pdf":
        filename = _filename(block)
        if "." not in filename:
            filename += ".pdf"
        return {
            "type": "file",
            "file": {
                "filename": filename,
                "file_data": f"data:application/pdf;base64,{block.data.decode('ascii')}",
            },
        }
    if mimetype.startswith("text/") or mimetype in ("application/json", "application/xml"):
        # the file part takes PDFs; a text document is its text
        raw = block.resolve_document().getvalue()
        return {"type": "text", "text": raw.decode("utf-8", errors="replace")}
    raise _unsupported(
        provider,
        "document",
        f"the API takes PDF and text documents, not {mimetype or 'an unrecognised type'!r}",
    )


def _filename(block: DocumentBlock) -> str:
    title = block.title or "input_document"
    if title == "input_document" and block.path is not None:
        return block.path.name
    return title


def _read(block: ImageBlock | AudioBlock | DocumentBlock, provider: str) -> bytes:
    """The raw bytes of a block given as a path or a ``data:`` URL (no network)."""
    url = str(block.url) if block.url is not None else ""
    if block.path is None and url and not url.startswith("data:"):
        kind = block.block_type
        raise _unsupported(
            provider,
            kind,
            f"the API takes {kind} inline, not as a URL; fetch it and give the bytes "
            f"({type(block).__name__}({'data' if kind == 'document' else kind}=...)) "
            f"or a path",
        )
    try:
        if isinstance(block, ImageBlock):
            return block.resolve_image().getvalue()
        if isinstance(block, AudioBlock):
            return block.resolve_audio().getvalue()
        return block.resolve_document().getvalue()
    except ValueError as exc:
        raise _unsupported(provider, block.block_type, str(exc)) from exc


# -- errors --------------------------------------------------------------------------


def _required(extra: dict[str, Any], key: str, message: ChatMessage, provider: str) -> str:
    value = extra.get(key) if extra else None
    if not value:
        role = str(message.role)
        raise UnsupportedContentError(
            f"a {role} message sent to {provider} needs additional_kwargs[{key!r}] "
            f"(e.g. ChatMessage(role={role!r}, content=..., additional_kwargs="
            f"{{{key!r}: ...}}))",
            provider=provider,
            block_type=role,
        )
    return str(value)


def _unsupported(provider: str, block_type: str, why: str) -> UnsupportedContentError:
    return UnsupportedContentError(
        f"{provider} cannot take a {block_type} block here: {why}",
        provider=provider,
        block_type=block_type,
    )
