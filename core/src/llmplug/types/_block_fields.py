"""The field types of the binary content blocks: their data and their URL.

* :data:`BinaryData`: bytes, base64 bytes or str, or a file-like buffer
  (``io.BytesIO``, a file opened ``"rb"``), whose bytes are read when the block is
  created, as LlamaIndex's blocks accept one.
* :data:`AnyUrlField`: a URL kept as pydantic's ``AnyUrl`` (LlamaIndex's image, audio
  and video blocks); :data:`Url`: a URL kept as text (its document block).

Both URL types check the scheme with a message saying what to do; nothing is fetched
until the block is resolved.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["AnyUrlField", "BinaryData", "Url"]


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _check_url(value: Any) -> Any:
    """Accept a URL as text (or any object whose str() is one, e.g. pydantic's AnyUrl)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    scheme, sep, rest = text.partition(":")
    if (
        not sep
        or not rest
        or not scheme[:1].isalpha()
        or not scheme.replace("+", "").replace("-", "").replace(".", "").isalnum()
    ):
        raise ValueError(
            f"{_shown(text)} is not a URL (expected scheme:..., e.g. https://...); "
            "give a local file as path= instead"
        )
    return text


def _any_url(value: Any) -> Any:
    """Keep a URL as pydantic's ``AnyUrl``, as LlamaIndex's image/audio/video blocks do."""
    # lazy for lightness: pydantic.networks (and its type adapters) load with the first
    # URL a block is given, not with every program that builds messages
    from pydantic import AnyUrl

    if value is None or isinstance(value, AnyUrl):
        return value
    text = _check_url(value)
    try:
        return AnyUrl(text)
    except ValueError as exc:  # pydantic's ValidationError, with its own long report
        reason = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
        raise ValueError(f"{_shown(text)} is not a valid URL: {reason}") from None


#: A URL kept as text (the scheme is checked; nothing is fetched until resolved).
Url = Annotated[str, BeforeValidator(_check_url)]

if TYPE_CHECKING:
    from pydantic import AnyUrl as AnyUrlField
else:
    #: A URL kept as pydantic's ``AnyUrl``; its JSON form is the URL's text.
    AnyUrlField = Annotated[
        Any,
        BeforeValidator(_any_url),
        PlainSerializer(str, return_type=str, when_used="json"),
        WithJsonSchema({"type": "string", "format": "uri", "minLength": 1}),
    ]


def _buffer_bytes(value: Any) -> Any:
    """The bytes of a file-like buffer (``io.BytesIO``, a file opened ``"rb"``).

    The whole buffer is read, from its start, as LlamaIndex does when it serialises
    one; the buffer's position is left where it was.
    """
    if not isinstance(value, io.IOBase):
        return value
    if isinstance(value, io.TextIOBase):
        raise ValueError(
            f"got a text buffer ({type(value).__name__}); binary content takes bytes or a "
            f"binary buffer: io.BytesIO(...), or a file opened with open(path, 'rb')"
        )
    start = value.tell() if value.seekable() else None
    if start is not None:
        value.seek(0)
    data = value.read()
    if start is not None:
        value.seek(start)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"the buffer's read() returned {type(data).__name__}, not bytes")
    return bytes(data)


#: Binary content: bytes, base64 bytes or str, or a file-like buffer (read on creation).
BinaryData = Annotated[bytes | None, BeforeValidator(_buffer_bytes)]
