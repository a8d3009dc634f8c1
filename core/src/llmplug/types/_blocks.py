"""Content blocks: the typed pieces a :class:`~llmplug.ChatMessage` is made of.

The blocks mirror LlamaIndex's (``llama_index.core.base.llms.types``): the same class
names, ``block_type`` discriminators, field names and defaults. Binary blocks (image,
audio, video, document) take raw bytes, already-base64 bytes or str, a file-like buffer
(``io.BytesIO``, a file opened ``"rb"``), a path or a URL. Given bytes or a buffer they
*store* base64, so a block survives ``model_dump_json()`` and back unchanged, and they
guess the mimetype from the magic bytes (or, for a path or URL, from the file extension,
without any I/O). Paths and URLs are only read when the block is resolved
(``resolve_image()`` and friends, or their async twins ``aresolve_image()``...).

As in LlamaIndex, the URL of an image, audio or video block is kept as pydantic's
``AnyUrl`` (``block.url.host``, ``block.url.scheme``); a document's stays a str.

Importing this module stays cheap: pydantic and the standard library only; the HTTP
client is imported on the first URL fetch, ``pydantic.networks`` on the first URL given.
"""

from __future__ import annotations

import io
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator, model_validator

from llmplug.types._base_model import Model
from llmplug.types._block_fields import AnyUrlField, BinaryData, Url
from llmplug.types._media import (
    EXT_MIMETYPES,
    afetch,
    fetch,
    finish,
    from_data,
    location_type,
    looks_like_text,
    sniff,
    store_base64,
)

__all__ = [
    "AudioBlock",
    "CacheControl",
    "CachePoint",
    "CitableBlock",
    "CitationBlock",
    "ContentBlock",
    "DocumentBlock",
    "ImageBlock",
    "TextBlock",
    "ThinkingBlock",
    "ToolCallBlock",
    "VideoBlock",
]

DEFAULT_FETCH_TIMEOUT = 30.0
"""Seconds allowed for fetching a block's URL when it is resolved."""


class _BinaryBlock(Model):
    """What the image, audio, video and document blocks share: getting their bytes."""

    _kind: ClassVar[str] = "data"  # in errors and in the name ``resolve_<kind>``

    def _data(self) -> bytes | None:
        raise NotImplementedError

    def _mimetype(self) -> str | None:
        raise NotImplementedError

    def _source(self) -> tuple[Path | None, str | None]:
        path: Path | None = getattr(self, "path", None)
        url = getattr(self, "url", None)
        return path, (str(url) if url is not None else None)

    def _resolve(self, as_base64: bool, timeout: float) -> io.BytesIO:
        data = self._data()
        if data is not None:
            return from_data(data, self._kind, as_base64)
        path, url = self._source()
        if path is not None:
            raw = Path(path).read_bytes()
        elif url is not None:
            raw = fetch(url, self._kind, timeout)
        else:
            raise _no_source(self, self._kind)
        return finish(raw, self._kind, as_base64)

    async def _aresolve(self, as_base64: bool, timeout: float) -> io.BytesIO:  # noqa: ASYNC109
        data = self._data()
        if data is not None:
            return from_data(data, self._kind, as_base64)
        path, url = self._source()
        if path is not None:
            import asyncio

            raw = await asyncio.to_thread(Path(path).read_bytes)
        elif url is not None:
            raw = await afetch(url, self._kind, timeout)
        else:
            raise _no_source(self, self._kind)
        return finish(raw, self._kind, as_base64)

    def inline_url(self, *, timeout: float = DEFAULT_FETCH_TIMEOUT) -> str:
        """Return the content as a ``data:<mimetype>;base64,...`` URL."""
        data = self._resolve(True, timeout).getvalue().decode("ascii")
        return f"data:{self._mimetype() or 'application/octet-stream'};base64,{data}"


def _no_source(owner: BaseModel, kind: str) -> ValueError:
    return ValueError(
        f"{type(owner).__name__} has nothing to resolve: set the {kind} data, a path or a url"
    )


# --------------------------------------------------------------------------- blocks


class TextBlock(Model):
    """Text passed to or from the LLM.

    Attributes:
        text: The text.
    """

    block_type: Literal["text"] = "text"
    text: str


class ImageBlock(_BinaryBlock):
    """An image: bytes (stored as base64), a local path or a URL.

    Attributes:
        image: The image as base64 bytes (raw bytes, or a file-like buffer's bytes, are
            encoded on creation).
        path: A local file, read when the block is resolved.
        url: An http(s) or ``data:`` URL (pydantic's ``AnyUrl``), fetched when the block
            is resolved.
        image_mimetype: e.g. ``"image/png"``; guessed from the bytes or the file name.
        detail: A provider hint such as ``"low"``, ``"high"`` or ``"auto"``.
    """

    block_type: Literal["image"] = "image"
    image: BinaryData = None
    path: Path | None = None
    url: AnyUrlField | None = None
    image_mimetype: str | None = None
    detail: str | None = None

    _kind: ClassVar[str] = "image"

    @model_validator(mode="after")
    def _image_to_base64(self) -> Self:
        if self.image:
            self.image, head = store_base64(self.image)
            if not self.image_mimetype:
                guess = sniff(head)
                self.image_mimetype = guess[0] if guess else None
        elif not self.image_mimetype:
            guess = location_type(self.path, self.url)
            if guess and guess[0].startswith("image/"):
                self.image_mimetype = guess[0]
        return self

    def _data(self) -> bytes | None:
        return self.image

    def _mimetype(self) -> str | None:
        return self.image_mimetype

    def resolve_image(
        self, as_base64: bool = False, *, timeout: float = DEFAULT_FETCH_TIMEOUT
    ) -> io.BytesIO:
        """Return the image's bytes: the stored data, else the file, else the URL's body.

        The block is not changed: a path or URL is read again on each call.

        Args:
            as_base64: Return the base64 form of the bytes.
            timeout: Seconds allowed for fetching an http(s) URL.

        Raises:
            ValueError: The block has no data, path or URL, they hold zero bytes, or the
                URL's scheme is not http, https or data.
            OSError: The file cannot be read.
            llmplug.errors.APIStatusError: The URL answered with an HTTP error status.
            llmplug.errors.APIConnectionError: The URL could not be fetched
                (``APITimeoutError`` when the timeout expired).
        """
        return self._resolve(as_base64, timeout)

    async def aresolve_image(
        self,
        as_base64: bool = False,
        *,
        timeout: float = DEFAULT_FETCH_TIMEOUT,  # noqa: ASYNC109
    ) -> io.BytesIO:
        """Async twin of :meth:`resolve_image`: the URL is fetched without blocking."""
        return await self._aresolve(as_base64, timeout)


class AudioBlock(_BinaryBlock):
    """Audio: bytes (stored as base64), a local path or a URL.

    Attributes:
        audio: The audio as base64 bytes (raw bytes, or a file-like buffer's bytes, are
            encoded on creation).
        path: A local file, read when the block is resolved.
        url: An http(s) or ``data:`` URL (pydantic's ``AnyUrl``), fetched when the block
            is resolved.
        format: The file format as an extension, e.g. ``"wav"`` or ``"mp3"``; guessed
            from the bytes or the file name.
    """

    block_type: Literal["audio"] = "audio"
    audio: BinaryData = None
    path: Path | None = None
    url: AnyUrlField | None = None
    format: str | None = None

    _kind: ClassVar[str] = "audio"

    @model_validator(mode="after")
    def _audio_to_base64(self) -> Self:
        if self.audio:
            self.audio, head = store_base64(self.audio)
            if not self.format:
                guess = sniff(head)
                self.format = guess[1] if guess else None
        elif not self.format:
            guess = location_type(self.path, self.url)
            if guess and guess[0].startswith(("audio/", "video/")) and guess[1]:
                self.format = guess[1]
        return self

    def _data(self) -> bytes | None:
        return self.audio

    def _mimetype(self) -> str | None:
        fmt = self.format
        return (EXT_MIMETYPES.get(fmt) or f"audio/{fmt}") if fmt else None

    def resolve_audio(
        self, as_base64: bool = False, *, timeout: float = DEFAULT_FETCH_TIMEOUT
    ) -> io.BytesIO:
        """Return the audio's bytes; as :meth:`ImageBlock.resolve_image` does for an image."""
        return self._resolve(as_base64, timeout)

    async def aresolve_audio(
        self,
        as_base64: bool = False,
        *,
        timeout: float = DEFAULT_FETCH_TIMEOUT,  # noqa: ASYNC109
    ) -> io.BytesIO:
        """Async twin of :meth:`resolve_audio`: the URL is fetched without blocking."""
        return await self._aresolve(as_base64, timeout)


class VideoBlock(_BinaryBlock):
    """Video: bytes (stored as base64), a local path or a URL.

    Attributes:
        video: The video as base64 bytes (raw bytes, or a file-like buffer's bytes, are
            encoded on creation).
        path: A local file, read when the block is resolved.
        url: An http(s) or ``data:`` URL (pydantic's ``AnyUrl``), fetched when the block
            is resolved.
        video_mimetype: e.g. ``"video/mp4"``; guessed from the bytes or the file name.
        detail: A provider hint about resolution.
        fps: Frames per second to sample, for providers that take it.
    """

    block_type: Literal["video"] = "video"
    video: BinaryData = None
    path: Path | None = None
    url: AnyUrlField | None = None
    video_mimetype: str | None = None
    detail: str | None = None
    fps: int | None = None

    _kind: ClassVar[str] = "video"

    @model_validator(mode="after")
    def _video_to_base64(self) -> Self:
        guess = None
        if self.video:
            self.video, head = store_base64(self.video)
            guess = None if self.video_mimetype else sniff(head)
        elif not self.video_mimetype:
            guess = location_type(self.path, self.url)
        if guess and guess[0].startswith("video/"):
            self.video_mimetype = guess[0]
        return self

    def _data(self) -> bytes | None:
        return self.video

    def _mimetype(self) -> str | None:
        return self.video_mimetype

    def resolve_video(
        self, as_base64: bool = False, *, timeout: float = DEFAULT_FETCH_TIMEOUT
    ) -> io.BytesIO:
        """Return the video's bytes; as :meth:`ImageBlock.resolve_image` does for an image."""
        return self._resolve(as_base64, timeout)

    async def aresolve_video(
        self,
        as_base64: bool = False,
        *,
        timeout: float = DEFAULT_FETCH_TIMEOUT,  # noqa: ASYNC109
    ) -> io.BytesIO:
        """Async twin of :meth:`resolve_video`: the URL is fetched without blocking."""
        return await self._aresolve(as_base64, timeout)


class DocumentBlock(_BinaryBlock):
    """A document (PDF, text, ...): bytes (stored as base64), a local path or a URL.

    Attributes:
        data: The document as base64 bytes (raw bytes, or a file-like buffer's bytes, are
            encoded on creation).
        path: A local file, read when the block is resolved.
        url: An http(s) or ``data:`` URL (a str, as in LlamaIndex), fetched when the
            block is resolved.
        title: The document's title; ``"input_document"`` when not given.
        document_mimetype: e.g. ``"application/pdf"``; guessed from the bytes (UTF-8
            text is ``"text/plain"``) or the file name.
    """

    block_type: Literal["document"] = "document"
    data: BinaryData = None
    path: Path | None = None
    url: Url | None = None
    title: str | None = None
    document_mimetype: str | None = None

    _kind: ClassVar[str] = "document"

    @model_validator(mode="after")
    def _document_validation(self) -> Self:
        if not self.title:
            self.title = "input_document"
        if self.data:
            self.data, head = store_base64(self.data)
            if not self.document_mimetype:
                guess = sniff(head)
                text = guess is None and looks_like_text(head)
                self.document_mimetype = guess[0] if guess else ("text/plain" if text else None)
        elif not self.document_mimetype:
            guess = location_type(self.path, self.url)
            self.document_mimetype = guess[0] if guess else None
        return self

    def _data(self) -> bytes | None:
        return self.data

    def _mimetype(self) -> str | None:
        return self.document_mimetype

    def resolve_document(self, *, timeout: float = DEFAULT_FETCH_TIMEOUT) -> io.BytesIO:
        """Return the document's raw bytes; as :meth:`ImageBlock.resolve_image` does."""
        return self._resolve(False, timeout)

    async def aresolve_document(
        self,
        *,
        timeout: float = DEFAULT_FETCH_TIMEOUT,  # noqa: ASYNC109
    ) -> io.BytesIO:
        """Async twin of :meth:`resolve_document`: the URL is fetched without blocking."""
        return await self._aresolve(False, timeout)

    def guess_format(self) -> str | None:
        """Return the extension of the path or URL (``"pdf"``), if there is one."""
        location = self.path or self.url
        if not location:
            return None
        return PurePosixPath(urlsplit(str(location)).path).suffix.lstrip(".")


class CacheControl(Model):
    """Cache settings of a :class:`CachePoint` (Anthropic-style prompt caching).

    Attributes:
        type: The cache type, e.g. ``"ephemeral"``.
        ttl: How long the cache lives, e.g. ``"5m"`` or ``"1h"``.
    """

    type: str
    ttl: str = "5m"


class CachePoint(Model):
    """Marks the point up to which the prompt may be cached, where the provider supports it.

    Attributes:
        cache_control: The cache settings.
    """

    block_type: Literal["cache"] = "cache"
    cache_control: CacheControl


class CitableBlock(Model):
    """Content the model may cite, for providers with built-in citations.

    Attributes:
        title: The source's title.
        source: Where the content comes from (a URL, a file name...).
        content: The citable text, image and document blocks (a str becomes one text block).
    """

    block_type: Literal["citable"] = "citable"
    title: str
    source: str
    content: list[
        Annotated[TextBlock | ImageBlock | DocumentBlock, Field(discriminator="block_type")]
    ]

    @field_validator("content", mode="before")
    @classmethod
    def _str_to_text(cls, value: Any) -> Any:
        return [TextBlock(text=value)] if isinstance(value, str) else value


class CitationBlock(Model):
    """A citation the model made of earlier content.

    Attributes:
        cited_content: The cited text or image (a str becomes a text block).
        source: Where the cited content comes from.
        title: The source's title.
        additional_location_info: Provider-specific location (e.g. block or page indexes).
    """

    block_type: Literal["citation"] = "citation"
    cited_content: Annotated[TextBlock | ImageBlock, Field(discriminator="block_type")]
    source: str
    title: str
    additional_location_info: dict[str, int]

    @field_validator("cited_content", mode="before")
    @classmethod
    def _str_to_text(cls, value: Any) -> Any:
        if isinstance(value, list):
            if len(value) != 1:
                raise ValueError("cited_content given as a list must hold exactly one block")
            value = value[0]
        return TextBlock(text=value) if isinstance(value, str) else value


class ThinkingBlock(Model):
    """The model's reasoning ("thinking"), as far as the provider exposes it.

    As in LlamaIndex, provider data lives in ``additional_information``; the Anthropic
    ``signature`` (which must be sent back unchanged on the next turn) is kept there
    under ``"signature"`` and read through :attr:`signature`. A redacted thinking block
    is ``additional_information={"type": "redacted_thinking", "data": ...}``, made
    with :meth:`from_redacted`. ``ThinkingBlock(content=..., signature=...)`` is
    accepted as a shortcut.

    Attributes:
        content: The reasoning text, if available.
        num_tokens: Tokens spent on reasoning, if known.
        additional_information: Provider-specific data (signature, redacted data...).
    """

    block_type: Literal["thinking"] = "thinking"
    content: str | None = None
    num_tokens: int | None = None
    additional_information: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _signature_shortcut(cls, data: Any) -> Any:
        if isinstance(data, dict) and "signature" in data:
            data = dict(data)
            info = dict(data.get("additional_information") or {})
            signature = data.pop("signature")
            if signature is not None:
                info["signature"] = signature
            data["additional_information"] = info
        return data

    @property
    def signature(self) -> str | None:
        """The provider's signature of this reasoning (Anthropic), if any."""
        value = self.additional_information.get("signature")
        return value if isinstance(value, str) else None

    @signature.setter
    def signature(self, value: str | None) -> None:
        if value is None:
            self.additional_information.pop("signature", None)
        else:
            self.additional_information["signature"] = value

    @property
    def redacted(self) -> bool:
        """Whether this is a redacted thinking block (opaque, encrypted reasoning)."""
        return self.additional_information.get("type") == "redacted_thinking"

    @property
    def redacted_data(self) -> str | None:
        """The opaque data of a redacted thinking block, to send back unchanged."""
        value = self.additional_information.get("data") if self.redacted else None
        return value if isinstance(value, str) else None

    @classmethod
    def from_redacted(cls, data: str) -> Self:
        """Make a redacted thinking block holding the provider's opaque ``data``."""
        return cls(additional_information={"type": "redacted_thinking", "data": data})


class ToolCallBlock(Model):
    """A tool call the model made.

    Attributes:
        tool_call_id: The call's id, if the provider gives one.
        tool_name: The called tool's name.
        tool_kwargs: The arguments: a dict, or the raw string when it is not valid JSON.
    """

    block_type: Literal["tool_call"] = "tool_call"
    tool_call_id: str | None = None
    tool_name: str
    tool_kwargs: dict[str, Any] | str = Field(default_factory=dict)


ContentBlock = Annotated[
    TextBlock
    | ImageBlock
    | AudioBlock
    | VideoBlock
    | DocumentBlock
    | CachePoint
    | CitableBlock
    | CitationBlock
    | ThinkingBlock
    | ToolCallBlock,
    Field(discriminator="block_type"),
]
"""Any content block; pydantic picks the class from the ``block_type`` field."""
