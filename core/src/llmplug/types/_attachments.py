"""A file or URL as the content block its type calls for (``llmplug chat -a``).

The type is sniffed from the content's first bytes, not only from the name: a PNG
named ``scan.dat`` is an image. Failing that, the name's extension decides; failing
that, UTF-8 text is a ``text/plain`` document. ``image/*`` becomes an
:class:`~llmplug.ImageBlock`, ``audio/*`` an :class:`~llmplug.AudioBlock`, ``video/*``
a :class:`~llmplug.VideoBlock`, and anything else (PDF, text, JSON...) a
:class:`~llmplug.DocumentBlock`.
"""

from __future__ import annotations

from pathlib import Path

from llmplug.types._blocks import (
    DEFAULT_FETCH_TIMEOUT,
    AudioBlock,
    DocumentBlock,
    ImageBlock,
    VideoBlock,
)
from llmplug.types._media import EXT_MIMETYPES, fetch, location_type, looks_like_text, sniff

__all__ = ["Attachment", "KINDS", "attachment", "block_for"]

Attachment = ImageBlock | AudioBlock | VideoBlock | DocumentBlock

#: The kinds a type may be given as instead of a mimetype (``--at FILE image``).
KINDS = ("image", "audio", "video", "document")
_HEAD = 256


def block_for(
    mimetype: str, *, path: Path | None = None, url: str | None = None, data: bytes | None = None
) -> Attachment:
    """The block for content of ``mimetype``, from a path, a URL or the bytes."""
    kind, _, subtype = mimetype.partition("/")
    if kind == "image":
        return ImageBlock(path=path, url=url, image=data, image_mimetype=mimetype)
    if kind == "audio":
        # an AudioBlock names its format by extension: audio/mpeg is "mp3"
        ext = next((e for e, m in EXT_MIMETYPES.items() if m == mimetype), subtype)
        return AudioBlock(path=path, url=url, audio=data, format=ext)
    if kind == "video":
        return VideoBlock(path=path, url=url, video=data, video_mimetype=mimetype)
    title = path.name if path is not None else None
    return DocumentBlock(path=path, url=url, data=data, document_mimetype=mimetype, title=title)


def _is_url(source: str) -> bool:
    return source.split(":", 1)[0].lower() in ("http", "https", "data") and ":" in source


def attachment(
    source: str | Path, mimetype: str | None = None, *, timeout: float = DEFAULT_FETCH_TIMEOUT
) -> Attachment:
    """The content block for a file or an http(s)/``data:`` URL.

    Args:
        source: A local path, or a URL.
        mimetype: Its type when known (``"application/pdf"``), or one of :data:`KINDS`
            to choose the block and sniff the exact type; ``None`` to sniff both.
        timeout: Seconds for fetching a URL whose name does not tell its type.

    Raises:
        ValueError: The file does not exist, or its type cannot be told; a bad
            ``mimetype``.
        APIError: A URL that had to be fetched could not be.
    """
    if mimetype is not None and mimetype not in KINDS and "/" not in mimetype:
        raise ValueError(
            f"{mimetype!r} is not a content type: give a mimetype such as image/png or "
            f"application/pdf, or one of {', '.join(KINDS)}"
        )
    given = mimetype if mimetype is not None and "/" in mimetype else None
    if isinstance(source, str) and _is_url(source):
        return _from_url(source, mimetype, given, timeout)
    path = Path(source).expanduser()
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise ValueError(f"cannot attach {str(source)!r}: it {what}")
    if given is not None:
        return block_for(given, path=path)
    with path.open("rb") as handle:
        head = handle.read(_HEAD)
    found = _sniffed(head) or location_type(path, None)
    if found is None and looks_like_text(head):
        found = ("text/plain", "txt")
    found = _within(found, mimetype)
    if found is None:
        raise ValueError(
            f"cannot tell what kind of file {str(source)!r} is; give its type "
            f"(a mimetype such as application/pdf)"
        )
    return block_for(found[0], path=path)


def _from_url(source: str, kind: str | None, given: str | None, timeout: float) -> Attachment:
    if given is not None:
        return block_for(given, url=source)
    found = _within(location_type(None, source), kind)
    if found is not None:
        return block_for(found[0], url=source)
    data = fetch(source, kind or "attachment", timeout)  # the name does not say: look
    head = data[:_HEAD]
    found = _sniffed(head)
    if found is None and looks_like_text(head):
        found = ("text/plain", "txt")
    found = _within(found, kind)
    if found is None:
        raise ValueError(
            f"cannot tell what kind of content {source.split('?')[0]!r} is; give its type "
            f"(a mimetype such as application/pdf)"
        )
    return block_for(found[0], data=data)


def _sniffed(head: bytes) -> tuple[str, str] | None:
    found = sniff(head)
    # a zip is the container of docx/xlsx/epub...: the name says more
    return None if found is not None and found[0] == "application/zip" else found


def _within(found: tuple[str, str] | None, kind: str | None) -> tuple[str, str] | None:
    """``found``, checked against a kind the caller chose (``image``...).

    Raises:
        ValueError: The content is of another kind.
    """
    if found is None or kind is None:
        return found
    found_kind = found[0].split("/")[0]
    media = found_kind in ("image", "audio", "video")
    if (kind == "document" and media) or (kind != "document" and found_kind != kind):
        raise ValueError(f"the content is {found[0]}, not {kind}")
    return found
