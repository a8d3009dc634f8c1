"""Bytes behind binary content blocks: base64 storage, mimetype sniffing, URL fetching.

Cheap to import (the standard library and ``llmplug.errors``); the HTTP client is
imported on the first fetch.
"""

from __future__ import annotations

import binascii
import codecs
import io
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes, urlsplit

from llmplug._version import __version__
from llmplug.errors import APIConnectionError, APIStatusError, APITimeoutError

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "EXT_MIMETYPES",
    "afetch",
    "fetch",
    "finish",
    "from_data",
    "location_type",
    "looks_like_text",
    "sniff",
    "store_base64",
]

_HEAD = 256  # bytes of decoded data the sniffer looks at


# base64 shorter than this that decodes to nothing recognisable is taken as raw bytes
_SHORT = 64


def _b64encode(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False)


def _b64decode_strict(data: bytes) -> bytes | None:
    """Decode ``data`` if it is valid base64 (strict: no stray characters), else None."""
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except binascii.Error:
        return None


def store_base64(data: bytes) -> tuple[bytes, bytes]:
    """Return ``(base64 form, head of the decoded bytes)`` of raw or base64 ``data``.

    Like LlamaIndex, data that decodes as strict base64 is taken to be base64 already;
    anything else is raw bytes and gets encoded. Unlike LlamaIndex, a short word such as
    ``b"Test"`` (valid base64 by accident) is raw when its decoding is neither a known
    format nor text: base64 of real content is long, or decodes to something recognisable.
    """
    decoded = _b64decode_strict(data)
    if decoded is None:
        return _b64encode(data), data[:_HEAD]
    head = decoded[:_HEAD]
    if len(data) < _SHORT and sniff(head) is None and not looks_like_text(head):
        return _b64encode(data), data[:_HEAD]
    return data, head


# fmt: off
# (magic prefix, mimetype, extension): the formats recognised by their first bytes alone
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"), (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"), (b"GIF89a", "image/gif", "gif"),
    (b"II*\x00", "image/tiff", "tiff"), (b"MM\x00*", "image/tiff", "tiff"),
    (b"%PDF-", "application/pdf", "pdf"), (b"OggS", "audio/ogg", "ogg"),
    (b"fLaC", "audio/flac", "flac"), (b"ID3", "audio/mpeg", "mp3"),
    (b"PK\x03\x04", "application/zip", "zip"), (b"{\\rtf", "application/rtf", "rtf"),
]
# RIFF and ISO-BMFF ("ftyp") containers: the sub-type or brand says what is inside
_RIFF = {b"WEBP": ("image/webp", "webp"), b"WAVE": ("audio/wav", "wav"),
         b"AVI ": ("video/x-msvideo", "avi")}
_BRANDS = {
    b"heic": ("image/heic", "heic"), b"heix": ("image/heic", "heic"),
    b"mif1": ("image/heif", "heif"), b"msf1": ("image/heif", "heif"),
    b"avif": ("image/avif", "avif"), b"avis": ("image/avif", "avif"),
    b"M4A ": ("audio/mp4", "m4a"), b"M4B ": ("audio/mp4", "m4a"),
    b"qt  ": ("video/quicktime", "mov"), b"3gp4": ("video/3gpp", "3gp"),
}
# fmt: on


def sniff(head: bytes) -> tuple[str, str] | None:
    """Guess ``(mimetype, extension)`` from the first bytes of a file."""
    for magic, mime, ext in _MAGIC:
        if head.startswith(magic):
            return mime, ext
    if head.startswith(b"RIFF"):
        return _RIFF.get(head[8:12])
    if head[4:8] == b"ftyp":
        return _BRANDS.get(head[8:12], ("video/mp4", "mp4"))
    if head.startswith(b"BM") and head[6:10] == b"\x00\x00\x00\x00":
        return "image/bmp", "bmp"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM or Matroska
        return ("video/webm", "webm") if b"webm" in head else ("video/x-matroska", "mkv")
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:  # ADTS (AAC) sync word
            return "audio/aac", "aac"
        if head[1] & 0xE0 == 0xE0 and head[1] & 0x06:  # MPEG audio frame sync
            return "audio/mpeg", "mp3"
    return None


def looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:  # an incremental decoder tolerates a character cut at the end of the head
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


# Common extensions first: the system mime.types tables differ between machines.
_EXT_TABLE = """
    png=image/png jpg=image/jpeg jpeg=image/jpeg gif=image/gif webp=image/webp bmp=image/bmp
    tif=image/tiff tiff=image/tiff heic=image/heic heif=image/heif avif=image/avif
    svg=image/svg+xml wav=audio/wav mp3=audio/mpeg ogg=audio/ogg oga=audio/ogg opus=audio/opus
    flac=audio/flac m4a=audio/mp4 aac=audio/aac weba=audio/webm mp4=video/mp4 m4v=video/mp4
    mov=video/quicktime webm=video/webm mkv=video/x-matroska avi=video/x-msvideo
    mpeg=video/mpeg mpg=video/mpeg 3gp=video/3gpp pdf=application/pdf txt=text/plain
    md=text/markdown csv=text/csv html=text/html htm=text/html json=application/json
    xml=application/xml rtf=application/rtf zip=application/zip doc=application/msword
    docx=application/vnd.openxmlformats-officedocument.wordprocessingml.document
    xlsx=application/vnd.openxmlformats-officedocument.spreadsheetml.sheet
    pptx=application/vnd.openxmlformats-officedocument.presentationml.presentation
"""
EXT_MIMETYPES = dict(pair.split("=", 1) for pair in _EXT_TABLE.split())


def _mimetypes() -> ModuleType:
    # lazy for lightness: the stdlib's tables load only for a type ours does not know
    import mimetypes

    return mimetypes


def location_type(path: Path | None, url: object) -> tuple[str, str] | None:
    """Guess ``(mimetype, extension)`` of a path or URL from its name alone (no I/O)."""
    if path is not None:
        suffix = path.suffix
    elif url is not None:
        text = str(url)
        if text.startswith("data:"):
            mime = text[5:].split(",", 1)[0].split(";", 1)[0].strip().lower()
            ext = (_mimetypes().guess_extension(mime, strict=False) or "").lstrip(".")
            return (mime, ext) if mime else None
        suffix = PurePosixPath(urlsplit(text).path).suffix
    else:
        return None
    ext = suffix[1:].lower()
    if not ext:
        return None
    found = EXT_MIMETYPES.get(ext) or _mimetypes().guess_type(f"x.{ext}", strict=False)[0]
    return (found, ext) if found else None


def _redact_url(url: str) -> str:
    """The URL without credentials, query or fragment: signed URLs carry secrets there."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    hidden = "?..." if parts.query else ""
    return f"{parts.scheme}://{host}{parts.path}{hidden}"


def _decode_data_url(url: str) -> bytes:
    header, sep, payload = url[5:].partition(",")
    if not sep:
        raise ValueError("malformed data: URL (no comma)")
    if header.endswith(";base64"):
        decoded = _b64decode_strict(payload.encode("ascii"))
        if decoded is None:
            raise ValueError("malformed data: URL (invalid base64)")
        return decoded
    return unquote_to_bytes(payload)


def _is_data_url(url: str, kind: str) -> bool:
    """Whether ``url`` is a ``data:`` URL; raise if it is not one we can fetch either."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "data":
        return True
    if scheme not in ("http", "https"):
        raise ValueError(
            f"cannot resolve {kind} from a {scheme!r} URL: only http, https and data "
            "URLs are fetched (give a local file as `path=` instead)"
        )
    return False


def _fetch_error(url: str, kind: str, timeout: float, exc: Exception) -> Exception:
    """Translate httpx2's error into llmplug's, naming the URL (without its secrets)."""
    import httpx2  # lazy for lightness: only when a block's URL is fetched

    where = f"the {kind} at {_redact_url(url)}"
    if isinstance(exc, httpx2.HTTPStatusError):
        status, phrase = exc.response.status_code, exc.response.reason_phrase
        msg = f"could not fetch {where}: HTTP {status} {phrase}".rstrip()
        return APIStatusError(msg, status_code=status)
    if isinstance(exc, httpx2.TimeoutException):
        return APITimeoutError(f"timed out after {timeout:g} s fetching {where}")
    return APIConnectionError(f"could not fetch {where}: {exc!r}")


def _headers() -> dict[str, str]:
    return {"User-Agent": f"llmplug/{__version__}"}


def fetch(url: str, kind: str, timeout: float) -> bytes:
    if _is_data_url(url, kind):
        return _decode_data_url(url)
    import httpx2  # lazy for lightness: only when a block's URL is fetched

    try:
        response = httpx2.get(url, timeout=timeout, follow_redirects=True, headers=_headers())
        return response.raise_for_status().content
    except httpx2.HTTPError as exc:
        raise _fetch_error(url, kind, timeout, exc) from exc


# The async twins take ``timeout`` like the sync ones: it is the HTTP client's timeout
# (as in httpx), not an overall deadline, hence the ASYNC109 exemptions.
async def afetch(url: str, kind: str, timeout: float) -> bytes:  # noqa: ASYNC109
    if _is_data_url(url, kind):
        return _decode_data_url(url)
    import httpx2  # lazy for lightness: only when a block's URL is fetched

    try:
        async with httpx2.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            response = await client.get(url, headers=_headers())
        return response.raise_for_status().content
    except httpx2.HTTPError as exc:
        raise _fetch_error(url, kind, timeout, exc) from exc


def finish(raw: bytes, kind: str, as_base64: bool, b64: bytes | None = None) -> io.BytesIO:
    if not raw:
        raise ValueError(f"resolve_{kind} returned zero bytes")
    if as_base64:
        return io.BytesIO(b64 if b64 is not None else _b64encode(raw))
    return io.BytesIO(raw)


def from_data(data: bytes, kind: str, as_base64: bool) -> io.BytesIO:
    decoded = _b64decode_strict(data)
    if decoded is None:  # raw bytes assigned to the field after creation
        return finish(data, kind, as_base64)
    return finish(decoded, kind, as_base64, data)
