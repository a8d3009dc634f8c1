"""llmplug messages -> ``systemInstruction`` and ``contents``: pure functions.

Nothing here touches the network: media given as bytes, a path or a ``data:`` URL is
inlined (``inlineData``, base64; a path is read from disk), and media given as a URL is
sent as a file URI (``fileData``) for Google to read. How each llmplug block is sent:

* system and developer messages -> ``systemInstruction`` (text only), wherever they are
  in the conversation: Gemini has no system turn;
* user messages -> ``user`` contents; assistant messages -> ``model`` contents;
  consecutive messages of one role -> one content;
* ``role="tool"`` messages -> ``functionResponse`` parts (in a ``user`` content), the
  call matched by ``additional_kwargs["tool_call_id"]`` to a :class:`~llmplug.ToolCallBlock`
  of the conversation, whose name and id the response carries (or by
  ``additional_kwargs["name"]``); the text goes in ``response.output`` (``error`` with
  ``additional_kwargs["is_error"]``), media blocks in the response's ``parts``;
* :class:`~llmplug.ImageBlock`, :class:`~llmplug.AudioBlock`,
  :class:`~llmplug.VideoBlock` (with ``fps`` as ``videoMetadata``) and
  :class:`~llmplug.DocumentBlock` (PDF and text) -> ``inlineData`` or ``fileData``;
  ``gs://`` URIs are taken by Vertex AI only;
  an image's ``detail`` and a document's ``title`` have no field in this API (the
  ``mediaResolution`` of ``generationConfig`` applies to all media) and are not sent;
* :class:`~llmplug.ToolCallBlock` -> ``functionCall``;
* :class:`~llmplug.ThinkingBlock` -> a thought part (``"thought": true``) with its
  ``thoughtSignature``. A Gemini signature is kept in
  ``additional_information["thought_signature"]``; a thinking block holding only a
  signature stands for the signature of the part after it (a ``functionCall`` or text
  the model signed), and is sent on that part, as the API requires. Thinking without
  text or Gemini signature (another provider's opaque reasoning) is left out;
* :class:`~llmplug.CachePoint` has no per-block equivalent in this API and is left out:
  Gemini 2.5 and later cache repeated prompt prefixes implicitly (``usage.cached_tokens``
  reports the hits), and explicit caches are made ahead of time and named with the
  ``cached_content`` option;
* :class:`~llmplug.CitationBlock` in an assistant message is left out: it annotates text
  the message already holds.

Every block the API cannot take (a citable source, an unsupported media type, a
``gs://`` URI on the Gemini API...) raises :class:`~llmplug.errors.UnsupportedContentError`
naming the provider and the block type, before any request is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmplug import (
    AudioBlock,
    CachePoint,
    ChatMessage,
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

__all__ = [
    "LOCAL_CALL_ID_PREFIX",
    "THOUGHT_SIGNATURE",
    "Wire",
    "is_local_call_id",
    "messages_to_wire",
]

Wire = dict[str, Any]

#: Where a :class:`~llmplug.ThinkingBlock` keeps Gemini's ``thoughtSignature``.
THOUGHT_SIGNATURE = "thought_signature"
#: The prefix of the ids given to function calls the API sent without one; such ids are
#: llmplug's own, never sent back.
LOCAL_CALL_ID_PREFIX = "gemini-local-call-"

_ASSISTANT_ROLES = frozenset({MessageRole.ASSISTANT, MessageRole.MODEL, MessageRole.CHATBOT})
_SYSTEM_ROLES = frozenset({MessageRole.SYSTEM, MessageRole.DEVELOPER})
_TOOL_ROLES = frozenset({MessageRole.TOOL, MessageRole.FUNCTION})
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"})
_AUDIO_TYPES = {"mp3": "audio/mpeg", "m4a": "audio/mp4", "oga": "audio/ogg", "weba": "audio/webm"}
_TEXT_AS_PLAIN = frozenset({"application/json", "application/xml"})
_MediaBlock = ImageBlock | AudioBlock | VideoBlock | DocumentBlock
_WHY = {
    "citable": (
        "Gemini has no citable source blocks; send the content as TextBlock or "
        "DocumentBlock (grounding citations come back in additional_kwargs)"
    ),
    "thinking": "only assistant messages hold the model's thinking",
    "tool_call": "tool calls belong in assistant messages",
    "citation": "citations are the model's output; send the cited text as a TextBlock",
}


def is_local_call_id(call_id: str | None) -> bool:
    """Whether ``call_id`` was made up here for a function call the API gave no id."""
    return bool(call_id) and str(call_id).startswith(LOCAL_CALL_ID_PREFIX)


def messages_to_wire(
    messages: Sequence[ChatMessage], *, provider: str, vertex: bool = False
) -> tuple[Wire | None, list[Wire]]:
    """Convert messages to the request's ``systemInstruction`` and ``contents``.

    Args:
        messages: The conversation, system prompt included.
        provider: The provider name, for errors.
        vertex: The request goes to Vertex AI (which also reads ``gs://`` URIs).

    Returns:
        The ``systemInstruction`` (``None`` without system messages) and ``contents``.

    Raises:
        UnsupportedContentError: A block the API cannot take in that message.
    """
    converter = _Converter(provider, vertex)
    for message in messages:
        role = message.role
        if role == MessageRole.USER:
            converter.add("user", converter.content(message.blocks, "user"))
        elif role in _ASSISTANT_ROLES:
            converter.add("model", converter.assistant(message))
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
    system = {"parts": converter.system} if converter.system else None
    return system, converter.contents


class _Converter:
    """The contents so far, and the tool calls they hold (to answer them by id)."""

    __slots__ = ("calls", "contents", "provider", "system", "vertex")

    def __init__(self, provider: str, vertex: bool) -> None:
        self.provider = provider
        self.vertex = vertex
        self.system: list[Wire] = []
        self.contents: list[Wire] = []
        self.calls: dict[str, str] = {}  # tool_call_id -> function name

    def add(self, role: str, parts: list[Wire]) -> None:
        """Append a content, merged into the one before when both have ``role``."""
        contents = self.contents
        if not parts:
            return
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    def instructions(self, message: ChatMessage) -> None:
        """Add a system (or developer) message's text to ``systemInstruction``."""
        for block in message.blocks:
            if isinstance(block, TextBlock):
                self.system.append({"text": block.text})
            elif not isinstance(block, CachePoint):
                raise self.unsupported(
                    block.block_type, "system instructions take text only; put it in a user message"
                )

    def content(self, blocks: Sequence[Any], role: str) -> list[Wire]:
        """Parts of a user message: text and media."""
        parts: list[Wire] = []
        for block in blocks:
            if isinstance(block, TextBlock):
                parts.append({"text": block.text})
            elif isinstance(block, _MediaBlock):
                parts.append(media_part(block, self.provider, vertex=self.vertex))
            elif not isinstance(block, CachePoint):
                why = _WHY.get(block.block_type, f"{role} messages cannot carry it")
                raise self.unsupported(block.block_type, why)
        return parts

    def assistant(self, message: ChatMessage) -> list[Wire]:
        """Parts of a model content: thoughts, text, function calls (and media)."""
        parts: list[Wire] = []
        signature: str | None = None  # a signature-only thinking block: for the next part
        for block in message.blocks:
            part: Wire | None
            if isinstance(block, ThinkingBlock):
                sig = block.additional_information.get(THOUGHT_SIGNATURE)
                sig = sig if isinstance(sig, str) and sig else None
                if block.content:
                    part = {"text": block.content, "thought": True}
                    if sig:
                        part["thoughtSignature"] = sig
                    parts.append(part)
                elif sig:
                    if signature is not None:  # two in a row: the first signed an empty part
                        parts.append({"text": "", "thoughtSignature": signature})
                    signature = sig
                continue
            if isinstance(block, TextBlock):
                part = {"text": block.text}
            elif isinstance(block, ToolCallBlock):
                part = self.function_call(block)
            elif isinstance(block, _MediaBlock):
                part = media_part(block, self.provider, vertex=self.vertex)
            elif isinstance(block, CitationBlock | CachePoint):
                continue
            else:
                why = _WHY.get(block.block_type, "assistant messages take text and tool calls")
                raise self.unsupported(block.block_type, why)
            if signature is not None:
                part["thoughtSignature"] = signature
                signature = None
            parts.append(part)
        if signature is not None:  # the model signed an empty last part
            parts.append({"text": "", "thoughtSignature": signature})
        return parts

    def function_call(self, block: ToolCallBlock) -> Wire:
        """A ``functionCall`` part (the id sent only if the API gave one)."""
        args = tool_call_arguments(block, self.provider)
        call: Wire = {"name": block.tool_name, "args": args}
        call_id = block.tool_call_id
        if call_id:
            self.calls[call_id] = block.tool_name
            if not is_local_call_id(call_id):
                call["id"] = call_id
        return {"functionCall": call}

    def tool_result(self, message: ChatMessage) -> Wire:
        """A ``functionResponse`` part answering the call named in ``additional_kwargs``."""
        extra = message.additional_kwargs
        call_id = extra.get("tool_call_id") or extra.get("tool_use_id")
        call_id = str(call_id) if call_id else None
        name = self.calls.get(call_id) if call_id else None
        given = extra.get("name") or extra.get("tool_name")
        if name is None and isinstance(given, str) and given:
            name = given
        if name is None:
            role = str(message.role)
            if call_id:
                why = (
                    f"its tool_call_id {call_id!r} matches no tool call of the conversation, "
                    f"and Gemini needs the function's name: give "
                    f"additional_kwargs['name'] too"
                )
            else:
                why = (
                    "it needs additional_kwargs['tool_call_id'] (the id of the tool call it "
                    "answers) or additional_kwargs['name'] (the function's name)"
                )
            raise UnsupportedContentError(
                f"a {role} message sent to {self.provider}: {why}",
                provider=self.provider,
                block_type=role,
            )
        texts: list[str] = []
        media: list[Wire] = []
        for block in message.blocks:
            if isinstance(block, TextBlock):
                texts.append(block.text)
            elif isinstance(block, _MediaBlock):
                media.append(media_part(block, self.provider, vertex=self.vertex))
            elif not isinstance(block, CachePoint):
                raise self.unsupported(
                    block.block_type, "a tool result holds text and media (images, documents)"
                )
        key = "error" if extra.get("is_error") else "output"
        response: Wire = {"name": name, "response": {key: "\n".join(texts)}}
        if call_id and not is_local_call_id(call_id):
            response["id"] = call_id
        if media:
            response["parts"] = media
        return {"functionResponse": response}

    def unsupported(self, block_type: str, why: str) -> UnsupportedContentError:
        """The error for a block the API cannot take here."""
        return unsupported(self.provider, block_type, why)


# -- media ---------------------------------------------------------------------------


def media_part(block: _MediaBlock, provider: str, *, vertex: bool) -> Wire:
    """An ``inlineData`` or ``fileData`` part for an image, audio, video or document."""
    kind = block.block_type
    url = str(block.url) if block.url is not None else None  # AnyUrl, but a document's
    part: Wire
    if _data(block) is None and block.path is None and url is not None and not _is_data(url):
        scheme = url.partition(":")[0].lower()
        if scheme == "gs" and not vertex:
            raise unsupported(
                provider,
                kind,
                f"gs:// URIs are read by Vertex AI only ({url!r}); use the vertex provider, "
                f"upload the file with the Files API, or give the bytes",
            )
        if scheme not in ("http", "https", "gs"):
            raise unsupported(
                provider, kind, f"the API reads http(s) and gs:// file URIs, not {url!r}"
            )
        mimetype = _checked_type(block, _mimetype(block), provider)
        file_data: Wire = {"fileUri": url}
        if mimetype is not None:
            file_data = {"mimeType": mimetype, "fileUri": url}
        elif not _is_youtube(url):
            raise unsupported(
                provider,
                kind,
                f"the API needs the media type of {url!r}; set it on the block "
                f"({_TYPE_FIELD[kind]}=...)",
            )
        part = {"fileData": file_data}
    else:
        try:
            inline = block.inline_url()  # reads a path, decodes a data: URL; no network
        except (OSError, ValueError) as exc:
            raise unsupported(provider, kind, str(exc)) from exc
        header, _, data = inline.partition(",")
        mimetype = header.removeprefix("data:").removesuffix(";base64")
        if mimetype == "application/octet-stream":
            mimetype = ""
        checked = _checked_type(block, mimetype or None, provider)
        if checked is None:
            raise unsupported(
                provider,
                kind,
                f"the media type could not be recognised; set it on the block "
                f"({_TYPE_FIELD[kind]}=...)",
            )
        part = {"inlineData": {"mimeType": checked, "data": data}}
    if isinstance(block, VideoBlock) and block.fps:
        part["videoMetadata"] = {"fps": block.fps}
    return part


_TYPE_FIELD = {
    "image": "image_mimetype",
    "audio": "format",
    "video": "video_mimetype",
    "document": "document_mimetype",
}


def _data(block: _MediaBlock) -> bytes | None:
    if isinstance(block, ImageBlock):
        return block.image
    if isinstance(block, AudioBlock):
        return block.audio
    if isinstance(block, VideoBlock):
        return block.video
    return block.data


def _is_data(url: str) -> bool:
    return url[:5].lower() == "data:"


def _is_youtube(url: str) -> bool:
    host = url.partition("://")[2].partition("/")[0].lower()
    return host.removeprefix("www.").removeprefix("m.") in ("youtube.com", "youtu.be")


def _mimetype(block: _MediaBlock) -> str | None:
    """The block's media type as known without reading it."""
    if isinstance(block, ImageBlock):
        return block.image_mimetype
    if isinstance(block, VideoBlock):
        return block.video_mimetype
    if isinstance(block, DocumentBlock):
        return block.document_mimetype
    fmt = (block.format or "").lower()
    return (_AUDIO_TYPES.get(fmt) or f"audio/{fmt}") if fmt else None


def _checked_type(block: _MediaBlock, mimetype: str | None, provider: str) -> str | None:
    """The media type to send (normalised), or ``None`` when unknown.

    Raises:
        UnsupportedContentError: A type the API does not take for this kind of block.
    """
    if not mimetype:
        return None
    mimetype = mimetype.lower()
    kind = block.block_type
    if kind == "image":
        mimetype = "image/jpeg" if mimetype == "image/jpg" else mimetype
        if mimetype not in _IMAGE_TYPES:
            raise unsupported(
                provider,
                kind,
                f"the API takes PNG, JPEG, WebP, HEIC and HEIF images, not {mimetype!r}; "
                f"convert it, or set image_mimetype if it is one of those",
            )
    elif kind in ("audio", "video"):
        if not mimetype.startswith(f"{kind}/"):
            raise unsupported(provider, kind, f"{mimetype!r} is not a {kind} type")
    elif mimetype in _TEXT_AS_PLAIN:
        mimetype = "text/plain"
    elif mimetype != "application/pdf" and not mimetype.startswith("text/"):
        raise unsupported(
            provider,
            kind,
            f"the API takes PDF and text documents, not {mimetype!r}; convert it, or set "
            f"document_mimetype if it is one of those",
        )
    return mimetype


def unsupported(provider: str, block_type: str, why: str) -> UnsupportedContentError:
    """The error for a block the API cannot take."""
    return UnsupportedContentError(
        f"{provider} cannot take a {block_type} block here: {why}",
        provider=provider,
        block_type=block_type,
    )
