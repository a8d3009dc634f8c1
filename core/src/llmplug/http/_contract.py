"""What an HTTP provider writes: pure functions from messages to requests and back.

A provider subclasses :class:`~llmplug.http.HTTPChatLLM` and implements four methods,
none of which does I/O:

* :meth:`build_request`: messages + options -> :class:`HTTPRequest`;
* :meth:`parse_response`: a decoded JSON body -> :class:`~llmplug.ChatResponse`;
* :meth:`start_stream` / :meth:`parse_event`: one :class:`ServerEvent` at a time ->
  zero or more chunks, with per-stream state the provider owns;
* optionally :meth:`error_class` to map an error body to a finer error class (a context
  window overflow), and :meth:`auth_headers` for a non-Bearer key header;
* optionally :meth:`sign_request` to sign each attempt over its final bytes
  (:class:`OutgoingRequest`), and :meth:`stream_decoder` for a stream framing other
  than SSE and NDJSON (a :class:`StreamDecoder`).

The core runs them over httpx2 for ``chat``, ``stream_chat``, ``achat`` and
``astream_chat`` (``complete`` and friends are derived), with one retry loop, timeouts,
connection pooling, SSE/NDJSON decoding and error mapping.
"""

from __future__ import annotations

import json as _json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote

from llmplug._untrusted import MAX_JSON_DEPTH, JSONDepthError, check_json_depth, loads_json

__all__ = [
    "STREAM_END",
    "HTTPRequest",
    "ServerEvent",
    "StreamDecoder",
    "StreamEnd",
    "has_dot_segment",
    "json_from_text",
    "json_loads",
    "multipart_form",
    "path_segment",
]


@dataclass(frozen=True, slots=True)
class HTTPRequest:
    """One request a provider wants sent.

    Attributes:
        path: Relative to the provider's ``base_url`` (``"/chat/completions"``), or an
            absolute ``https://`` URL.
        json: The JSON body (``None`` for none).
        method: The HTTP method.
        headers: Extra headers for this request (auth headers are added by the core).
        params: Query parameters (``{"api-version": "2024-10-21"}``).
        content: A body of raw bytes instead of ``json`` (a file upload built with
            :func:`multipart_form`); give its ``Content-Type`` in ``headers``.

    Raises:
        ValueError: Both ``json`` and ``content`` are given, or ``content`` is not bytes.
    """

    path: str
    json: Any = None
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None

    def __post_init__(self) -> None:
        if self.content is None:
            return
        if not isinstance(self.content, bytes | bytearray):
            raise ValueError(
                f"HTTPRequest(content=...) takes bytes, got {type(self.content).__name__}; "
                f"encode text first, or send JSON with json=..."
            )
        if self.json is not None:
            raise ValueError("an HTTPRequest has a json= body or a content= body, not both")


def multipart_form(
    fields: Mapping[str, str], files: Mapping[str, tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body (RFC 7578): its bytes and its ``Content-Type``.

    For file uploads, sent as ``HTTPRequest(path, content=body, headers={"Content-Type":
    content_type})``::

        body, content_type = multipart_form(
            {"purpose": "batch"}, {"file": ("requests.jsonl", data, "application/jsonl")}
        )

    The body is built once, so a retry sends the same bytes and a signing provider
    signs exactly what is sent.

    Args:
        fields: Text fields, by name.
        files: Files, by field name: ``(filename, content, content type)``.

    Raises:
        ValueError: A name, filename or content type holds a quote, a backslash or a
            line break, which would break the part's headers.
    """
    boundary = f"llmplug.{os.urandom(16).hex()}"
    parts: list[bytes] = []
    for name, value in fields.items():
        head = f'Content-Disposition: form-data; name="{_form_token(name)}"'
        parts.append(_part(boundary, head, value.encode("utf-8")))
    for name, (filename, data, kind) in files.items():
        head = (
            f'Content-Disposition: form-data; name="{_form_token(name)}"; '
            f'filename="{_form_token(filename)}"\r\nContent-Type: {_form_token(kind)}'
        )
        parts.append(_part(boundary, head, bytes(data)))
    body = b"".join(parts) + f"--{boundary}--\r\n".encode("ascii")
    return body, f"multipart/form-data; boundary={boundary}"


def _part(boundary: str, head: str, data: bytes) -> bytes:
    return f"--{boundary}\r\n{head}\r\n\r\n".encode() + data + b"\r\n"


def _form_token(text: str) -> str:
    if any(ch in text for ch in '"\\\r\n'):
        raise ValueError(
            f"a multipart name, filename or content type cannot hold quotes, backslashes "
            f"or line breaks: {text[:60]!r}"
        )
    return text


class StreamDecoder(Protocol):
    """Turns a stream's body bytes into events, incrementally (a framing).

    :class:`~llmplug.http.SSEDecoder` and :class:`~llmplug.http.NDJSONDecoder` are the
    built-in ones; a provider with another framing returns its own from
    :meth:`~llmplug.http.HTTPChatLLM.stream_decoder`, one per stream. It must be pure
    (bytes in, events out) and accept a body split at any byte boundary. Malformed
    bytes raise ``ValueError``: the caller gets an :class:`~llmplug.errors.APIError`.
    """

    def feed(self, chunk: bytes) -> list[ServerEvent]:
        """Decode ``chunk``; return the events it completes (often none or one)."""
        ...

    def flush(self) -> list[ServerEvent]:
        """Call at the end of the body: the events still held, if any are complete."""
        ...


_scan = _json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # json.loads's C scanner
# text this short cannot nest deeper than half its length: decoding it cannot recurse
# past Python's limit, and counting its brackets would cost a fifth of decoding it
_UNCHECKED = 4 * MAX_JSON_DEPTH


def json_loads(text: str) -> Any:
    """``json.loads(text)`` for one JSON document, without its Python-level wrappers.

    On the per-token path of every stream: the C scanner is called directly, and only
    text it does not consume whole (surrounding whitespace, trailing data, an error)
    goes through :func:`json.loads`, which then answers or raises exactly as usual.
    JSON nested too deeply raises ``ValueError``, as malformed JSON does (never
    ``RecursionError``): past 128 levels, or 256 for text under 512 characters, which
    is let through unchecked (the check costs more than decoding a short event).
    """
    if len(text) > _UNCHECKED:
        check_json_depth(text)
    try:
        value, end = _scan(text, 0)
        if end != len(text):
            return _json.loads(text)
    except StopIteration:
        return _json.loads(text)
    except RecursionError:  # unreachable past the check: a backstop
        raise JSONDepthError("JSON nested too deeply") from None
    return value


def json_from_text(value: Any) -> Any:
    """Parse text that looks like JSON (``[...]`` or ``{...}``); leave anything else.

    Options from a config string arrive as text (``"openai:m?stop=[%22a%22]"``);
    use it as a pydantic ``BeforeValidator``. Anything else, and text that is not valid
    JSON (or nests deeper than 128 levels), is returned as it is (the field's own
    validation then reports it).
    """
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            return loads_json(value)
        except ValueError:
            return value
    return value


# compiled on first use (and cached by re), so importing stays cheap
_DOT_SEGMENT = r"(?i)(?:^|/)(?:\.|%2e){1,2}(?:$|[/?#])"


def path_segment(value: str) -> str:
    """``value`` as one segment of a URL path: percent-encoded, never a way out of it.

    For path parts built from user input (a model or deployment name):
    ``f"/deployments/{path_segment(name)}/chat"``. ``/``, ``?``, ``#``, ``%`` and every
    other character that could end or change the segment are encoded.

    Raises:
        ValueError: ``value`` is empty, ``.`` or ``..`` (which would name the path
            itself or its parent), or holds control characters.
    """
    if not isinstance(value, str):
        raise ValueError(f"a path segment must be text, got {type(value).__name__}")
    if value in ("", ".", ".."):
        raise ValueError(
            f"{value!r} cannot be a name in a URL path (it would name the path itself or its "
            f"parent)"
        )
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("a name in a URL path cannot hold control characters")
    return quote(value, safe="")


def has_dot_segment(path: str) -> bool:
    """Whether a URL path has a ``.`` or ``..`` segment (``%2e`` counts as ``.``).

    Such a segment moves the request elsewhere on the server (httpx2 resolves ``..``
    before sending, and servers decode ``%2e%2e``); the runtime refuses the request.
    """
    return re.search(_DOT_SEGMENT, path) is not None


class ServerEvent(NamedTuple):
    r"""One decoded stream event: an SSE event, an NDJSON line, or another framing's message.

    A provider's own :class:`StreamDecoder` says how it fills the fields.

    A named tuple: built once per streamed token, so it costs a tuple.

    Attributes:
        data: The event's data (multi-line ``data:`` fields joined with ``\n``), or the
            NDJSON line.
        event: The SSE ``event:`` name, if the server sent one.
        id: The SSE ``id:``, if any.
    """

    data: str
    event: str | None = None
    id: str | None = None

    def json(self) -> Any:
        """The data decoded as JSON (raises ``ValueError`` if it is not JSON)."""
        return json_loads(self.data)


class StreamEnd:
    """Returned by ``parse_event`` (alone or last in a list) when the stream is complete.

    SSE streams ending with ``data: [DONE]`` need not return it: the core recognises
    ``[DONE]``. A body that ends before either is an ``IncompleteStreamError``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "StreamEnd"


#: The one :class:`StreamEnd` instance.
STREAM_END = StreamEnd()
