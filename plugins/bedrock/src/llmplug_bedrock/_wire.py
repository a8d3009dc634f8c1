"""llmplug messages -> the Converse API's ``system`` and ``messages``: pure functions.

Nothing here touches the network (a block given as a local path is read from disk). How
each llmplug block is sent:

* system and developer messages -> ``system`` blocks, in order, wherever they stand
  (Converse has no system turn);
* consecutive messages of one role -> one turn (Converse alternates user and assistant);
* ``role="tool"`` messages -> ``toolResult`` blocks in a user turn, matched to the call
  by ``additional_kwargs["tool_call_id"]`` (``is_error`` -> ``status: "error"``);
* :class:`~llmplug.TextBlock` -> ``text`` (empty text is left out: Converse refuses a
  blank text block, and it carries nothing);
* :class:`~llmplug.ImageBlock`, :class:`~llmplug.DocumentBlock`,
  :class:`~llmplug.AudioBlock`, :class:`~llmplug.VideoBlock` -> ``image``, ``document``,
  ``audio``, ``video`` with their ``format``: the bytes inline (a path or ``data:`` URL
  read here), or an ``s3://`` URL as an ``s3Location``. Bedrock fetches no http(s) URL:
  those are refused (resolve the block first);
* :class:`~llmplug.CitableBlock` -> a ``searchResult`` (text content) or a ``document``
  (one document), citations enabled;
* :class:`~llmplug.CachePoint` -> a ``cachePoint`` block where it stands (left out for
  a model known to have no prompt caching);
* :class:`~llmplug.ThinkingBlock` -> ``reasoningContent`` (``reasoningText`` with its
  signature, or ``redactedContent``); a block without a signature (another provider's
  reasoning) is left out, as models take back only reasoning they signed;
* :class:`~llmplug.ToolCallBlock` -> ``toolUse``;
* :class:`~llmplug.CitationBlock` in an assistant turn is left out: it annotates text
  the turn already holds.

Every block Converse or the (known) model cannot take raises
:class:`~llmplug.errors.UnsupportedContentError` before any request is made.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any

from llmplug import (
    AudioBlock,
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
    VideoBlock,
)
from llmplug.errors import UnsupportedContentError
from llmplug.tools import tool_call_arguments
from llmplug_bedrock._models import UNKNOWN, Family

__all__ = ["Wire", "cache_point", "messages_to_wire"]

Wire = dict[str, Any]

_ASSISTANT_ROLES = frozenset({MessageRole.ASSISTANT, MessageRole.MODEL, MessageRole.CHATBOT})
_SYSTEM_ROLES = frozenset({MessageRole.SYSTEM, MessageRole.DEVELOPER})
_TOOL_ROLES = frozenset({MessageRole.TOOL, MessageRole.FUNCTION})
_IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg"}
_IMAGE_FORMATS |= {"image/gif": "gif", "image/webp": "webp"}
_DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
_AUDIO_FORMATS = frozenset(
    [
        "mp3",
        "opus",
        "wav",
        "aac",
        "flac",
        "mp4",
        "ogg",
        "mkv",
        "mka",
        "x-aac",
        "m4a",
        "mpeg",
        "mpga",
        "pcm",
        "webm",
    ]
)
_AUDIO_ALIASES = {"wave": "wav", "oga": "ogg", "weba": "webm", "mpg": "mpeg"}
_VIDEO_FORMATS = {
    "video/x-matroska": "mkv",
    "video/quicktime": "mov",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/x-flv": "flv",
    "video/mpeg": "mpeg",
    "video/x-ms-wmv": "wmv",
    "video/3gpp": "three_gp",
}
_CACHE_TTLS = ("5m", "1h")
_CACHE_TYPES = ("ephemeral", "default")
# a document name: letters, digits, single spaces, hyphens, parentheses, square brackets
_NAME_BAD = re.compile(r"[^A-Za-z0-9\s\-()\[\]]+")
_SPACES = re.compile(r"\s+")
_S3 = "s3://"
_WHY = {
    "thinking": "only assistant messages hold the model's reasoning",
    "tool_call": "tool calls belong in assistant messages",
    "citation": (
        "citations are the model's output; send the cited text as a TextBlock, or its "
        "source as a CitableBlock"
    ),
}


def messages_to_wire(
    messages: Sequence[ChatMessage], *, provider: str, model: Family = UNKNOWN
) -> tuple[list[Wire], list[Wire]]:
    """Convert messages to the request's ``system`` and ``messages``.

    Args:
        messages: The conversation, system prompt included.
        provider: The provider name, for errors.
        model: What the model takes (refusals for images, documents and system
            prompts a known model cannot take; cache points left out where it has no
            prompt caching).

    Returns:
        The ``system`` blocks (empty when there is no system message) and the turns.

    Raises:
        UnsupportedContentError: A block Converse or the model cannot take there.
    """
    converter = _Converter(provider, model)
    for message in messages:
        role = message.role
        if role == MessageRole.USER:
            converter.add("user", converter.content(message.blocks, "user"))
        elif role in _ASSISTANT_ROLES:
            converter.add("assistant", converter.assistant(message))
        elif role in _SYSTEM_ROLES:
            converter.instructions(message)
        elif role in _TOOL_ROLES:
            converter.add("user", [converter.tool_result(message)])
        else:
            raise UnsupportedContentError(
                f"{provider} has no message role {role!r}",
                provider=provider,
                block_type=str(role),
            )
    return converter.system, converter.wire


class _Converter:
    """The content of each role, turn by turn."""

    __slots__ = ("documents", "model", "provider", "system", "wire")

    def __init__(self, provider: str, model: Family) -> None:
        self.provider = provider
        self.model = model
        self.system: list[Wire] = []
        self.wire: list[Wire] = []
        self.documents: dict[str, int] = {}  # names given so far: Converse wants them unique

    def add(self, role: str, parts: list[Wire]) -> None:
        """Append a turn, merged into the one before when both have ``role``."""
        wire = self.wire
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(parts)
        elif parts:
            wire.append({"role": role, "content": parts})

    def instructions(self, message: ChatMessage) -> None:
        """Add a system (or developer) message's text to the ``system`` blocks."""
        for block in message.blocks:
            if isinstance(block, TextBlock):
                if block.text:
                    if not self.model.system:
                        raise self.unsupported(
                            "text",
                            f"{self.model.name} takes no system prompt; put the "
                            f"instructions in the first user message",
                        )
                    self.system.append({"text": block.text})
            elif isinstance(block, CachePoint):
                self.cache_point(block, self.system)
            else:
                raise self.unsupported(block.block_type, "system messages take text only")

    def content(self, blocks: Sequence[Any], role: str) -> list[Wire]:
        """Content of a user turn or a tool result."""
        parts: list[Wire] = []
        for block in blocks:
            if isinstance(block, TextBlock):
                if block.text:
                    parts.append({"text": block.text})
            elif isinstance(block, ImageBlock):
                parts.append({"image": self.image(block)})
            elif isinstance(block, DocumentBlock):
                parts.append({"document": self.document(block)})
            elif isinstance(block, AudioBlock):
                parts.append({"audio": _audio(block, self.provider)})
            elif isinstance(block, VideoBlock):
                parts.append({"video": _video(block, self.provider)})
            elif isinstance(block, CitableBlock):
                parts.append(self.citable(block))
            elif isinstance(block, CachePoint):
                self.cache_point(block, parts)
            else:
                why = _WHY.get(block.block_type, f"{role} messages cannot carry it")
                raise self.unsupported(block.block_type, why)
        return parts

    def assistant(self, message: ChatMessage) -> list[Wire]:
        """Content of an assistant turn: reasoning, text and tool calls."""
        parts: list[Wire] = []
        for block in message.blocks:
            if isinstance(block, TextBlock):
                if block.text:
                    parts.append({"text": block.text})
            elif isinstance(block, ToolCallBlock):
                parts.append({"toolUse": _tool_use(block, self.provider)})
            elif isinstance(block, ThinkingBlock):
                reasoning = _reasoning(block, self.provider)
                if reasoning is not None:
                    parts.append({"reasoningContent": reasoning})
            elif isinstance(block, CitationBlock):
                continue  # an annotation of the text before it, which is sent
            elif isinstance(block, CachePoint):
                self.cache_point(block, parts)
            else:
                why = _WHY.get(block.block_type, "assistant messages take text and tool calls")
                raise self.unsupported(block.block_type, why)
        return parts

    def tool_result(self, message: ChatMessage) -> Wire:
        """A ``toolResult`` block answering the tool call named in ``additional_kwargs``."""
        extra = message.additional_kwargs
        call_id = extra.get("tool_call_id") or extra.get("tool_use_id")
        if not call_id:
            role = str(message.role)
            raise UnsupportedContentError(
                f"a {role} message sent to {self.provider} needs "
                f"additional_kwargs['tool_call_id'], the id of the tool call it answers "
                f"(e.g. ChatMessage(role={role!r}, content=..., "
                f"additional_kwargs={{'tool_call_id': 'tooluse_...'}}))",
                provider=self.provider,
                block_type=role,
            )
        parts = self.content(message.blocks, "tool")
        for part in parts:
            if "audio" in part or "cachePoint" in part:
                kind = "audio" if "audio" in part else "cache"
                raise self.unsupported(kind, "a tool result holds text, images, documents, video")
        result: Wire = {"toolUseId": str(call_id), "content": parts}
        if extra.get("is_error"):
            result["status"] = "error"
        return {"toolResult": result}

    # -- blocks ------------------------------------------------------------------------

    def image(self, block: ImageBlock) -> Wire:
        """An ``image`` block: its format, and its bytes or S3 location."""
        if not self.model.vision:
            raise self.unsupported("image", f"{self.model.name} takes no images")
        url = str(block.url) if block.url is not None else None  # pydantic's AnyUrl
        mimetype = (block.image_mimetype or "").lower()
        if block.image is None and block.path is None and url is not None:
            if url.startswith(_S3):
                return {
                    "format": self.image_format(mimetype),
                    "source": {"s3Location": {"uri": url}},
                }
            if not url.startswith("data:"):
                raise self.unsupported("image", _NO_FETCH.format(kind="image"))
        data = block.image
        if data is None:  # a path or a data: URL, read here (the type is sniffed if unknown)
            loaded = ImageBlock(
                image=_resolved(block, self.provider), image_mimetype=mimetype or None
            )
            data, mimetype = loaded.image, (loaded.image_mimetype or "").lower()
        assert data is not None
        return {"format": self.image_format(mimetype), "source": {"bytes": data.decode("ascii")}}

    def image_format(self, mimetype: str) -> str:
        """The ``format`` of an image of this type."""
        fmt = _IMAGE_FORMATS.get(mimetype)
        if fmt is None:
            shown = repr(mimetype) if mimetype else "an unrecognised format"
            raise self.unsupported(
                "image",
                f"Converse takes PNG, JPEG, GIF and WebP images, got {shown}; convert it, "
                f"or set image_mimetype if it is one of those",
            )
        return fmt

    def document(self, block: DocumentBlock, *, citations: bool = False) -> Wire:
        """A ``document`` block: a unique name, its format, its bytes or S3 location."""
        if not self.model.documents:
            raise self.unsupported("document", f"{self.model.name} takes no documents")
        url = block.url
        source: Wire
        if block.data is None and block.path is None and url is not None:
            if not url.startswith(_S3):
                if not url.startswith("data:"):
                    raise self.unsupported("document", _NO_FETCH.format(kind="document"))
                block = DocumentBlock(
                    data=_resolved(block, self.provider),
                    title=block.title,
                    document_mimetype=block.document_mimetype,
                )
                source = {"bytes": (block.data or b"").decode("ascii")}
            else:
                source = {"s3Location": {"uri": url}}
        elif block.data is None:  # a path, read here
            block = DocumentBlock(
                data=_resolved(block, self.provider),
                title=block.title,
                document_mimetype=block.document_mimetype,
            )
            source = {"bytes": (block.data or b"").decode("ascii")}
        else:
            source = {"bytes": block.data.decode("ascii")}
        mimetype = (block.document_mimetype or "").lower()
        fmt = _DOCUMENT_FORMATS.get(mimetype) or (block.guess_format() or "").lower()
        if fmt not in _DOCUMENT_FORMATS.values():
            raise self.unsupported(
                "document",
                f"Converse takes pdf, csv, doc, docx, xls, xlsx, html, txt and md documents, "
                f"not {mimetype or 'an unrecognised type'!r}; set document_mimetype if it "
                f"is one of those",
            )
        wire: Wire = {"format": fmt, "name": self.document_name(block.title), "source": source}
        if citations:
            wire["citations"] = {"enabled": True}
        return wire

    def document_name(self, title: str | None) -> str:
        """A name Converse takes, unique in the request (``report``, ``report (2)``...)."""
        name = _SPACES.sub(" ", _NAME_BAD.sub(" ", title or "")).strip()[:190] or "document"
        count = self.documents.get(name, 0) + 1
        self.documents[name] = count
        return name if count == 1 else f"{name} ({count})"

    def citable(self, block: CitableBlock) -> Wire:
        """A ``searchResult`` for text content, a ``document`` for one document."""
        content = block.content
        if content and all(isinstance(item, TextBlock) for item in content):
            return {
                "searchResult": {
                    "source": block.source,
                    "title": block.title,
                    "content": [{"text": item.text} for item in content],  # type: ignore[union-attr]
                    "citations": {"enabled": True},
                }
            }
        if len(content) == 1 and isinstance(content[0], DocumentBlock):
            document = content[0]
            if block.title and document.title in (None, "input_document"):
                document = document.model_copy(update={"title": block.title})
            return {"document": self.document(document, citations=True)}
        raise self.unsupported(
            "citable",
            "a citable source holds text blocks, or one document (images cannot be cited); "
            "split it into several CitableBlocks",
        )

    def cache_point(self, point: CachePoint, parts: list[Wire]) -> None:
        """Add a ``cachePoint`` block where the CachePoint stands (if the model caches)."""
        if self.model.cache_points or self.model is UNKNOWN:
            parts.append({"cachePoint": cache_point(point, self.provider)})

    def unsupported(self, block_type: str, why: str) -> UnsupportedContentError:
        """The error for a block that cannot be sent here."""
        return _unsupported(self.provider, block_type, why)


_NO_FETCH = (
    "Bedrock does not fetch {kind}s from http(s) URLs; give the bytes (resolve the block "
    "first: its resolve_{kind}() method), a local path, or an s3:// URL"
)


def cache_point(point: CachePoint, provider: str) -> Wire:
    """The ``cachePoint`` object of a :class:`~llmplug.CachePoint`.

    Converse's only cache type is ``default`` (Anthropic's ``ephemeral`` is the same
    thing); a ``1h`` ttl is sent, the default ``5m`` is not.
    """
    control = point.cache_control
    if control.type not in _CACHE_TYPES:
        raise _unsupported(
            provider, "cache", f"the cache type is 'default' (or 'ephemeral'), not {control.type!r}"
        )
    if control.ttl not in _CACHE_TTLS:
        raise _unsupported(provider, "cache", f"the cache ttl is '5m' or '1h', not {control.ttl!r}")
    wire: Wire = {"type": "default"}
    if control.ttl != "5m":
        wire["ttl"] = control.ttl
    return wire


def _media_source(block: AudioBlock | VideoBlock, provider: str, data: bytes | None) -> Wire:
    url = str(block.url) if block.url is not None else None  # pydantic's AnyUrl
    if data is None and block.path is None and url is not None:
        if url.startswith(_S3):
            return {"s3Location": {"uri": url}}
        if not url.startswith("data:"):
            raise _unsupported(provider, block.block_type, _NO_FETCH.format(kind=block.block_type))
    if data is None:
        return {"bytes": base64.b64encode(_resolved(block, provider)).decode("ascii")}
    return {"bytes": data.decode("ascii")}


def _audio(block: AudioBlock, provider: str) -> Wire:
    fmt = (block.format or "").lower()
    fmt = _AUDIO_ALIASES.get(fmt, fmt)
    if fmt not in _AUDIO_FORMATS:
        raise _unsupported(
            provider,
            "audio",
            f"Converse takes audio as {', '.join(sorted(_AUDIO_FORMATS))}, not "
            f"{fmt or 'an unrecognised format'!r}; set the block's format if it is one",
        )
    return {"format": fmt, "source": _media_source(block, provider, block.audio)}


def _video(block: VideoBlock, provider: str) -> Wire:
    fmt = _VIDEO_FORMATS.get((block.video_mimetype or "").lower())
    if fmt is None:
        raise _unsupported(
            provider,
            "video",
            f"Converse takes video as mkv, mov, mp4, webm, flv, mpeg, wmv and 3gp, not "
            f"{block.video_mimetype or 'an unrecognised type'!r}; set video_mimetype if "
            f"it is one of those",
        )
    return {"format": fmt, "source": _media_source(block, provider, block.video)}


def _tool_use(block: ToolCallBlock, provider: str) -> Wire:
    if not block.tool_call_id:
        raise _unsupported(
            provider,
            block.block_type,
            f"a tool call needs its tool_call_id (the id the model gave it), so the tool "
            f"result can refer to it; tool {block.tool_name!r} has none",
        )
    kwargs = tool_call_arguments(block, provider)
    return {"toolUseId": block.tool_call_id, "name": block.tool_name, "input": kwargs}


def _reasoning(block: ThinkingBlock, provider: str) -> Wire | None:
    if block.redacted:
        data = block.redacted_data
        if not data:
            raise _unsupported(provider, "thinking", "a redacted reasoning block needs its data")
        return {"redactedContent": data}
    signature = block.signature
    if not signature:
        return None  # not signed by the model: it would be refused
    return {"reasoningText": {"text": block.content or "", "signature": signature}}


def _resolved(block: ImageBlock | DocumentBlock | AudioBlock | VideoBlock, provider: str) -> bytes:
    """The raw bytes of a block given as a path or a ``data:`` URL (no network)."""
    try:
        if isinstance(block, ImageBlock):
            return block.resolve_image().getvalue()
        if isinstance(block, DocumentBlock):
            return block.resolve_document().getvalue()
        if isinstance(block, AudioBlock):
            return block.resolve_audio().getvalue()
        return block.resolve_video().getvalue()
    except (ValueError, OSError) as exc:
        raise _unsupported(provider, block.block_type, str(exc)) from exc


def _unsupported(provider: str, block_type: str, why: str) -> UnsupportedContentError:
    return UnsupportedContentError(
        f"{provider} cannot take a {block_type} block here: {why}",
        provider=provider,
        block_type=block_type,
    )
