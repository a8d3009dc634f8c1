"""Images, audio and documents from clients, made into blocks without trusting them.

A client's media becomes an llmplug block holding the bytes (decoded from a ``data:``
URL or base64), never a ``path``: a block with a path would make the gateway read its
own files. An http(s) URL is taken only with ``remote_media = true``: some providers
pass a URL on, others fetch it from the gateway's network (which a client could point
at internal addresses), so by default the gateway asks for inline data instead.
"""

from __future__ import annotations

import binascii
from typing import Any

from llmplug import AudioBlock, DocumentBlock, ImageBlock
from llmplug_server._errors import invalid

__all__ = ["Media"]


class Media:
    """Builds media blocks from what a client sent.

    Args:
        remote_media: Accept http(s) URLs (see the module docstring).
    """

    def __init__(self, remote_media: bool = False) -> None:
        self.remote_media = remote_media

    def _remote(self, url: str, where: str) -> str:
        if not url.startswith(("https://", "http://")):
            raise invalid(f"{where}: a URL must be a data: URL or an http(s) URL", where)
        if not self.remote_media:
            raise invalid(
                f"{where}: this gateway does not take media by URL; send it inline as a "
                f"data: URL (base64) instead (its operator may set remote_media = true)",
                where,
                "remote_media_disabled",
            )
        return url

    def image(self, url: Any, where: str, *, detail: Any = None) -> ImageBlock:
        """An image from an ``image_url.url`` (a ``data:`` URL, or http(s) if allowed)."""
        if not isinstance(url, str) or not url:
            raise invalid(f"{where}: image_url.url must be a data: or http(s) URL", where)
        hint = detail if isinstance(detail, str) else None
        if url.startswith("data:"):
            mimetype, data = _data_url(url, where)
            return ImageBlock(image=data, image_mimetype=mimetype, detail=hint)
        return ImageBlock(url=self._remote(url, where), detail=hint)

    def image_base64(self, data: Any, mimetype: Any, where: str) -> ImageBlock:
        """An image given as base64 text and a media type (Anthropic's ``source``)."""
        return ImageBlock(image=_base64(data, where), image_mimetype=_mimetype(mimetype, where))

    def image_url(self, url: Any, where: str) -> ImageBlock:
        """An image given by http(s) URL (Anthropic's ``source.type = "url"``)."""
        if not isinstance(url, str):
            raise invalid(f"{where}: source.url must be a string", where)
        return ImageBlock(url=self._remote(url, where))

    def audio(self, data: Any, fmt: Any, where: str) -> AudioBlock:
        """Audio from ``input_audio`` (base64 data and a format)."""
        if not isinstance(fmt, str):
            raise invalid(f"{where}: input_audio.format must be 'wav' or 'mp3'", where)
        return AudioBlock(audio=_base64(data, where), format=fmt)

    def document(self, data: Any, title: Any, where: str, mimetype: Any = None) -> DocumentBlock:
        """A document from base64 data or a ``data:`` URL."""
        if isinstance(data, str) and data.startswith("data:"):
            mimetype, raw = _data_url(data, where)
        else:
            raw = _base64(data, where)
        return DocumentBlock(
            data=raw,
            title=title if isinstance(title, str) else None,
            document_mimetype=_mimetype(mimetype, where) if mimetype is not None else None,
        )

    def document_url(self, url: Any, where: str) -> DocumentBlock:
        """A document by http(s) URL, if allowed."""
        if not isinstance(url, str):
            raise invalid(f"{where}: source.url must be a string", where)
        return DocumentBlock(url=self._remote(url, where))


def _mimetype(value: Any, where: str) -> str:
    if not isinstance(value, str) or "/" not in value:
        raise invalid(f"{where}: media_type must be a type such as 'image/png'", where)
    return value


def _base64(data: Any, where: str) -> bytes:
    if not isinstance(data, str) or not data:
        raise invalid(f"{where}: the data must be base64 text", where)
    try:
        return binascii.a2b_base64(data.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise invalid(f"{where}: the data is not valid base64", where) from None


def _data_url(url: str, where: str) -> tuple[str | None, bytes]:
    head, comma, payload = url.partition(",")
    if not comma or not head.endswith(";base64"):
        raise invalid(f"{where}: a data: URL must be data:<type>;base64,<data>", where)
    mimetype = head[len("data:") : -len(";base64")] or None
    return mimetype, _base64(payload, where)
