r"""Incremental stream decoders: bytes in, :class:`~llmplug.http.ServerEvent` out.

* :class:`SSEDecoder` follows the WHATWG ``text/event-stream`` parsing rules: ``\n``,
  ``\r\n`` and ``\r`` line endings (a ``\r\n`` split across chunks included),
  multi-line ``data:``, comments, ``event:``/``id:``/``retry:``, a field with no colon,
  one leading space after the colon removed, a leading BOM ignored, and multi-byte
  UTF-8 characters split across chunks.
* :class:`NDJSONDecoder`: one event per non-blank line.

Both are on the per-token path, so they work on whole chunks with ``str`` methods and
build nothing but the events (plain strings; JSON is decoded by the provider).
"""

from __future__ import annotations

import codecs
from typing import Final

from llmplug.http._contract import ServerEvent

__all__ = ["DONE", "NDJSONDecoder", "SSEDecoder"]

#: The data of the event that ends an OpenAI-style stream (``data: [DONE]``).
DONE: Final = "[DONE]"

_utf8 = codecs.getincrementaldecoder("utf-8")


def _decode(decoder: SSEDecoder | NDJSONDecoder, chunk: bytes) -> str:
    """``chunk`` as text: one C call, unless a UTF-8 character is split across chunks."""
    if not decoder._text.buffer:  # no part of a character pending
        try:
            return chunk.decode()
        except UnicodeDecodeError:
            pass  # a split character (or invalid bytes): the incremental decoder sorts it out
    return decoder._text.decode(chunk)


class SSEDecoder:
    """Decode a ``text/event-stream`` body incrementally.

    Feed it the body's chunks as they arrive; it returns the events completed so far.

    Attributes:
        last_event_id: The last ``id:`` seen (carried by every following event, as the
            spec's ``lastEventId``).
        retry: The last ``retry:`` value (the server's reconnection time, milliseconds).
    """

    __slots__ = (
        "_buffer",
        "_cr",
        "_data",
        "_event",
        "_started",
        "_text",
        "last_event_id",
        "retry",
    )

    def __init__(self) -> None:
        self._text = _utf8("replace")
        self._buffer = ""  # an unterminated line
        self._cr = False  # the last chunk ended with "\r": a "\n" opening the next is its pair
        self._started = False
        self._data: str | None = None
        self._event: str | None = None
        self.last_event_id: str | None = None
        self.retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerEvent]:
        """Decode ``chunk``; return the events it completes (often none or one)."""
        text = _decode(self, chunk)
        if not text:
            return []
        if (  # the chunk of nearly every token: exactly one "data: ...\n\n" event
            self._started
            and self._data is None
            and self._event is None
            and not self._buffer
            and not self._cr
            and text[:6] == "data: "
            and text[-2:] == "\n\n"
            and text.find("\n") == len(text) - 2
            and "\r" not in text
        ):
            return [ServerEvent(text[6:-2], None, self.last_event_id)]
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        if self._cr:
            self._cr = False
            if text[:1] == "\n":
                text = text[1:]
        if self._buffer:
            text = self._buffer + text
        if "\r" in text:
            self._cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        self._buffer = lines.pop()
        return self._lines(lines) if lines else []

    def flush(self) -> list[ServerEvent]:
        """Call at the end of the body: return a final ``[DONE]`` not closed by a blank line.

        An event not closed by a blank line is incomplete and dropped, as the spec says;
        only a final ``data: [DONE]`` is honoured without its blank line.
        """
        line = self._buffer + self._text.decode(b"", True)  # never holds a line ending
        self._buffer = ""
        if line:
            self._lines([line])
        done = self._data == DONE
        self._data = self._event = None
        return [ServerEvent(DONE, None, self.last_event_id)] if done else []

    def _lines(self, lines: list[str]) -> list[ServerEvent]:
        events: list[ServerEvent] = []
        for line in lines:
            if not line:
                if self._data is not None:
                    events.append(ServerEvent(self._data, self._event, self.last_event_id))
                    self._data = None
                self._event = None
            elif line[0] == ":":
                continue
            elif line[:5] == "data:":
                value = line[6:] if line[5:6] == " " else line[5:]
                self._data = value if self._data is None else f"{self._data}\n{value}"
            else:
                self._field(line)
        return events

    def _field(self, line: str) -> None:
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":  # "data" alone: a field with no colon has an empty value
            self._data = value if self._data is None else f"{self._data}\n{value}"
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        # any other field is ignored


class NDJSONDecoder:
    """Decode a newline-delimited JSON body incrementally: one event per non-blank line."""

    __slots__ = ("_buffer", "_text")

    def __init__(self) -> None:
        self._text = _utf8("replace")
        self._buffer = ""

    def feed(self, chunk: bytes) -> list[ServerEvent]:
        """Decode ``chunk``; return an event for each line it completes."""
        text = _decode(self, chunk)
        if "\n" not in text:
            self._buffer += text
            return []
        lines = (self._buffer + text).split("\n")
        self._buffer = lines.pop()
        return [ServerEvent(s) for line in lines if (s := line.strip())]

    def flush(self) -> list[ServerEvent]:
        """Call at the end of the body: the last line, if it had no newline."""
        line = (self._buffer + self._text.decode(b"", True)).strip()
        self._buffer = ""
        return [ServerEvent(line)] if line else []
