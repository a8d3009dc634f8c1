"""The AWS event stream framing (``application/vnd.amazon.eventstream``): a pure decoder.

ConverseStream answers with a body of binary messages, each laid out as::

    prelude   total length (uint32) | headers length (uint32) | CRC32 of those 8 bytes
    headers   name length (uint8) | name (UTF-8) | value type (uint8) | value ...
    payload   total length - headers length - 16 bytes (JSON, for Bedrock)
    CRC32     of every byte of the message before it

All integers are big-endian. A header value is, by its type: 0 true, 1 false (no
bytes), 2 an int8, 3 an int16, 4 an int32, 5 an int64, 6 bytes (uint16 length), 7 a
UTF-8 string (uint16 length), 8 a timestamp (int64 milliseconds), 9 a UUID (16 bytes).

:class:`EventStreamDecoder` takes the body in chunks split anywhere (a prelude or a
header cut in two included) and returns each message once it is whole and both of its
checksums hold; values are decoded as botocore decodes them (a timestamp as its int, a
UUID as its 16 bytes). Anything malformed raises :class:`EventStreamError`, a
``ValueError``. :class:`ConverseStreamDecoder` turns the messages into the
:class:`~llmplug.http.ServerEvent` s the provider parses. No I/O, no botocore.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import NamedTuple

from llmplug.http import ServerEvent

__all__ = [
    "MAX_HEADERS_LENGTH",
    "MAX_PAYLOAD_LENGTH",
    "ConverseStreamDecoder",
    "EventStreamDecoder",
    "EventStreamError",
    "EventStreamMessage",
    "HeaderValue",
]

#: The most header bytes a message may hold (as botocore allows).
MAX_HEADERS_LENGTH = 128 * 1024
#: The most payload bytes a message may hold (as botocore allows).
MAX_PAYLOAD_LENGTH = 24 * 1024 * 1024

_PRELUDE = struct.Struct("!III")
_PRELUDE_LENGTH = 12
_OVERHEAD = _PRELUDE_LENGTH + 4  # prelude and the message CRC
_UINT16 = struct.Struct("!H")
_UINT32 = struct.Struct("!I")
# fixed-size header values: type -> (struct, size)
_FIXED = {
    2: struct.Struct("!b"),
    3: struct.Struct("!h"),
    4: struct.Struct("!i"),
    5: struct.Struct("!q"),
    8: struct.Struct("!q"),
}

HeaderValue = bool | int | bytes | str


class EventStreamError(ValueError):
    """The body is not a well-formed event stream (a checksum, a length, a header)."""


class EventStreamMessage(NamedTuple):
    """One decoded message.

    Attributes:
        headers: Header names and values (``{":event-type": "messageStart", ...}``).
        payload: The payload bytes.
    """

    headers: dict[str, HeaderValue]
    payload: bytes


class EventStreamDecoder:
    """Decode an event stream body incrementally: chunks in, whole messages out."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""  # the start of a message not complete yet

    @property
    def pending(self) -> int:
        """Bytes held of a message not complete yet (0 between messages)."""
        return len(self._buffer)

    def feed(self, chunk: bytes) -> list[EventStreamMessage]:
        """Decode ``chunk``; return the messages it completes, in order.

        Raises:
            EventStreamError: A checksum does not match, a length is impossible or too
                large, or the headers are malformed.
        """
        data = self._buffer + chunk if self._buffer else bytes(chunk)
        messages: list[EventStreamMessage] = []
        offset = 0
        size = len(data)
        while size - offset >= _PRELUDE_LENGTH:
            total, headers_length, prelude_crc = _PRELUDE.unpack_from(data, offset)
            if zlib.crc32(data[offset : offset + 8]) != prelude_crc:
                raise EventStreamError(
                    f"prelude checksum mismatch: the message says {prelude_crc:#010x}, its "
                    f"bytes give {zlib.crc32(data[offset : offset + 8]):#010x}"
                )
            _check_lengths(total, headers_length)
            end = offset + total
            if end > size:
                break
            expected = _UINT32.unpack_from(data, end - 4)[0]
            actual = zlib.crc32(data[offset + 8 : end - 4], prelude_crc)
            if actual != expected:
                raise EventStreamError(
                    f"message checksum mismatch: the message says {expected:#010x}, its "
                    f"bytes give {actual:#010x}"
                )
            start = offset + _PRELUDE_LENGTH
            headers = _headers(data[start : start + headers_length])
            messages.append(EventStreamMessage(headers, data[start + headers_length : end - 4]))
            offset = end
        self._buffer = data[offset:]
        return messages


def _check_lengths(total: int, headers_length: int) -> None:
    if headers_length > MAX_HEADERS_LENGTH:
        raise EventStreamError(
            f"headers of {headers_length} bytes exceed the maximum of {MAX_HEADERS_LENGTH}"
        )
    payload_length = total - headers_length - _OVERHEAD
    if payload_length < 0:
        raise EventStreamError(
            f"a message of {total} bytes cannot hold {headers_length} bytes of headers"
        )
    if payload_length > MAX_PAYLOAD_LENGTH:
        raise EventStreamError(
            f"a payload of {payload_length} bytes exceeds the maximum of {MAX_PAYLOAD_LENGTH}"
        )


def _headers(data: bytes) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    offset = 0
    size = len(data)
    try:
        while offset < size:
            name_length = data[offset]
            name = data[offset + 1 : offset + 1 + name_length].decode("utf-8")
            offset += 1 + name_length
            kind = data[offset]
            offset += 1
            value: HeaderValue
            if kind == 0:
                value = True
            elif kind == 1:
                value = False
            elif kind in _FIXED:
                fixed = _FIXED[kind]
                value = fixed.unpack_from(data, offset)[0]
                offset += fixed.size
            elif kind in (6, 7):
                (length,) = _UINT16.unpack_from(data, offset)
                raw = data[offset + 2 : offset + 2 + length]
                if len(raw) != length:
                    raise EventStreamError(f"header {name!r}: its value is cut short")
                value = raw.decode("utf-8") if kind == 7 else raw
                offset += 2 + length
            elif kind == 9:
                value = data[offset : offset + 16]
                if len(value) != 16:
                    raise EventStreamError(f"header {name!r}: its UUID is cut short")
                offset += 16
            else:
                raise EventStreamError(f"header {name!r} has an unknown value type {kind}")
            if name in headers:
                raise EventStreamError(f"header {name!r} appears twice")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise EventStreamError(f"malformed headers ({exc})") from exc
    if offset != size:
        raise EventStreamError("the headers run past their declared length")
    return headers


class ConverseStreamDecoder:
    """ConverseStream's body as :class:`~llmplug.http.ServerEvent` s.

    One event per message, by its ``:message-type`` header:

    * ``event``: ``event`` is the ``:event-type`` (``messageStart``,
      ``contentBlockDelta``...) and ``data`` the JSON payload;
    * ``exception``: ``event`` is the ``:exception-type`` (``throttlingException``...)
      and ``data`` the JSON payload (``{"message": ...}``);
    * ``error``: ``event`` is the ``:error-code`` and ``data`` is
      ``{"message": <:error-message>}`` as JSON.

    ``id`` holds the message type. A message of any other type is an
    :class:`EventStreamError`.
    """

    __slots__ = ("_messages",)

    def __init__(self) -> None:
        self._messages = EventStreamDecoder()

    def feed(self, chunk: bytes) -> list[ServerEvent]:
        """Decode ``chunk``; return an event per message it completes."""
        return [_event(message) for message in self._messages.feed(chunk)]

    def flush(self) -> list[ServerEvent]:
        """Nothing: a message cut short at the end of the body is incomplete, not an event."""
        return []


def _event(message: EventStreamMessage) -> ServerEvent:
    headers = message.headers
    kind = headers.get(":message-type", "event")
    if kind == "event":
        return ServerEvent(message.payload.decode("utf-8"), _text(headers, ":event-type"), kind)
    if kind == "exception":
        name = _text(headers, ":exception-type")
        return ServerEvent(message.payload.decode("utf-8") or "{}", name, kind)
    if kind == "error":
        text = json.dumps({"message": _text(headers, ":error-message")})
        return ServerEvent(text, _text(headers, ":error-code"), kind)
    raise EventStreamError(f"a message of unknown type {kind!r}")


def _text(headers: dict[str, HeaderValue], name: str) -> str:
    value = headers.get(name)
    if not isinstance(value, str):
        raise EventStreamError(f"the message has no {name} header")
    return value
