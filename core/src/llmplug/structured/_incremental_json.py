"""An incremental parser for JSON that arrives in pieces (a model's streamed output).

:class:`PartialJSONParser` keeps its state between pieces: each :meth:`~PartialJSONParser.feed`
reads only the new text, so parsing a whole stream costs time linear in its length.
Re-parsing the whole buffer on every piece, even with a fast parser, costs time
quadratic in it (the ``bench/bench_structured.py`` table shows both).

The value is built as it is read, in plain dicts and lists. A string still arriving is
shown as far as it has come; a number or ``true``/``false``/``null`` appears once it is
complete; a key appears once its value has started. Text before the value (prose, a
```` ```json ```` fence) and after it is skipped.

:meth:`PartialJSONParser.open_extent` says, in constant time, how much of the value is
still open (nesting depth, entries of open objects and arrays, characters of an open
string): what a view of the value costs to copy, so that a reader can decide how often
to take one (:class:`~llmplug.structured.PartialBuilder` copies exactly the open part).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PartialJSONError", "PartialJSONParser"]

_SPACE = re.compile(r"[ \t\r\n]*")
_BLANKS = " \t\r\n"
_KEY_COLON = re.compile(r'"([^"\\]*)"[ \t\r\n]*:')
_STRING_RUN = re.compile(r'[^"\\]*')
_NUMBER_RUN = re.compile(r"[-+0-9.eE]*")
_WORD_RUN = re.compile(r"[a-zA-Z]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_WORDS = {"true": True, "false": False, "null": None}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

# what a container frame expects next
_KEY, _COLON, _VALUE, _COMMA = range(4)
_MISSING = object()


class PartialJSONError(ValueError):
    """The text is not JSON (and no more of it could make it JSON).

    Attributes:
        position: Where, in all the text fed so far, the parser stopped.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position})")
        self.position = position


class _Frame:
    """An open object or array, and what it expects next."""

    __slots__ = ("container", "expect", "key")

    def __init__(self, container: dict[str, Any] | list[Any]) -> None:
        self.container = container
        self.expect = _KEY if isinstance(container, dict) else _VALUE
        self.key: str | None = None


class PartialJSONParser:
    """Parse one JSON value from text fed in pieces, keeping the state between them.

    Example:
        >>> parser = PartialJSONParser()
        >>> parser.feed('Here: {"name": "Ad')
        >>> parser.value
        {'name': 'Ad'}
        >>> parser.feed('a", "tags": ["x", 1')
        >>> parser.value
        {'name': 'Ada', 'tags': ['x']}
        >>> parser.feed("2]}")
        >>> parser.value, parser.done
        ({'name': 'Ada', 'tags': ['x', 12]}, True)

    Args:
        start: Where the value may start: ``"{"`` (an object), ``"["`` (an array) or
            ``"{["`` (either). Text before the first of these is skipped.
        max_depth: Fail (:class:`PartialJSONError`) on objects and arrays nested
            deeper than this, so that what walks the value recursively cannot
            overflow the stack (``None``: no limit).

    Attributes:
        done: The value is complete; later text is ignored.
        version: Grows whenever :attr:`value` changes (compare it to skip repaints).
        closed: The ``id()`` of every object and array that is complete: they never
            change again, so what is built from one may be cached.

    Objects and arrays only grow at their end: every entry but the last is complete. A
    key seen twice keeps its last value (as :func:`json.loads` does) and moves to the
    end of its object.
    """

    def __init__(self, start: str = "{[", max_depth: int | None = None) -> None:
        self._openers = start
        self._max_depth = max_depth
        self._stack: list[_Frame] = []
        self._root: Any = _MISSING
        self._started = False
        self.done = False
        self.version = 0
        self.closed: set[int] = set()
        self._consumed = 0  # characters of earlier pieces, for error positions
        # a token spanning pieces: a string's decoded parts, or a number/word's text
        self._string: list[str] | None = None
        self._string_is_key = False
        self._escape = ""  # an escape sequence cut by the end of a piece
        self._high_surrogate = ""
        self._scalar: str | None = None
        # what is open, kept as the text is read (see open_extent)
        self._open_entries = 0  # entries of open objects
        self._open_items = 0  # items of open arrays
        self._string_length = 0  # characters of the string value still arriving

    @property
    def started(self) -> bool:
        """Whether the value has started (its first ``{`` or ``[`` was seen)."""
        return self._started

    @property
    def value(self) -> Any:
        """The value so far (``None`` before it starts).

        A string value still arriving is included as far as it has come. The dicts
        and lists are the parser's own: they keep changing until :attr:`done`.
        """
        if self._string is not None and not self._string_is_key and self._stack:
            self._show_string()
        return None if self._root is _MISSING else self._root

    def open_extent(self) -> tuple[int, int, int, int]:
        """How much of the value is still open, in constant time.

        Returns:
            ``(depth, entries, items, characters)``: open objects and arrays (the path
            from the root to where the text stops), the entries of those objects, the
            items of those arrays, and the characters of a string value still arriving.
            A view that copies the open part of the value costs about that much.
        """
        string = self._string_length if self._string is not None and not self._string_is_key else 0
        return len(self._stack), self._open_entries, self._open_items, string

    def feed(self, text: str) -> None:
        """Read the next piece of the text.

        Raises:
            PartialJSONError: The text cannot be JSON; the parser then stays stopped.
        """
        if self.done or not text:
            self._consumed += len(text)
            return
        i = 0
        n = len(text)
        if not self._started:
            i = self._skip_to_start(text)
            if i < 0:
                self._consumed += n
                return
        while i < n and not self.done:
            if self._string is not None:
                i = self._read_string(text, i)
            elif self._scalar is not None:
                i = self._read_scalar(text, i)
            else:
                i = self._read_structure(text, i)
        self._consumed += n

    def _skip_to_start(self, text: str) -> int:
        found = [at for at in (text.find(c) for c in self._openers) if at >= 0]
        if not found:
            return -1
        i = min(found)
        container: dict[str, Any] | list[Any] = {} if text[i] == "{" else []
        self._root = container
        self._stack.append(_Frame(container))
        self._started = True
        self.version += 1
        return i + 1

    def _fail(self, message: str, at: int) -> PartialJSONError:
        self.done = True
        return PartialJSONError(message, self._consumed + at)

    # -- structure -------------------------------------------------------------------------

    def _read_structure(self, text: str, i: int) -> int:
        ch = text[i]
        if ch in _BLANKS:
            i = _SPACE.match(text, i).end()  # type: ignore[union-attr]
            if i >= len(text):
                return i
            ch = text[i]
        frame = self._stack[-1]
        expect = frame.expect
        if expect == _VALUE:
            if ch == '"':
                self._string = []
                self._string_is_key = False
                self._string_length = 0
                self._place("")
                return i + 1
            if ch in "{[":
                container: dict[str, Any] | list[Any] = {} if ch == "{" else []
                if self._max_depth is not None and len(self._stack) >= self._max_depth:
                    raise self._fail(f"more than {self._max_depth} nested objects or arrays", i)
                self._place(container)
                self._stack.append(_Frame(container))
                return i + 1
            if ch == "]" and isinstance(frame.container, list) and not frame.container:
                return self._close(i)
            if ch in "-0123456789" or ch.isalpha():
                self._scalar = ""
                return i
            raise self._fail(f"unexpected {ch!r} where a value should be", i)
        if expect == _KEY:
            if ch == '"':
                whole = _KEY_COLON.match(text, i)
                if whole is not None:  # the usual case: the key and its colon in this piece
                    frame.key = whole.group(1)
                    frame.expect = _VALUE
                    return whole.end()
                self._string = []
                self._string_is_key = True
                return i + 1
            if ch == "}" and not frame.container:
                return self._close(i)
            raise self._fail(f"unexpected {ch!r} where a key should be", i)
        if expect == _COLON:
            if ch != ":":
                raise self._fail(f"expected ':' after a key, got {ch!r}", i)
            frame.expect = _VALUE
            return i + 1
        # after a value: a comma or the end of the container
        if ch == ",":
            frame.expect = _KEY if isinstance(frame.container, dict) else _VALUE
            return i + 1
        if ch == ("}" if isinstance(frame.container, dict) else "]"):
            return self._close(i)
        raise self._fail(f"expected ',' or the container's end, got {ch!r}", i)

    def _place(self, value: Any) -> None:
        """Put a value (or a string's start) at the end of the open container."""
        frame = self._stack[-1]
        container = frame.container
        if isinstance(container, dict):
            key: str = frame.key  # type: ignore[assignment]
            if key in container:
                del container[key]  # the last value wins, at the end: earlier entries stay complete
            else:
                self._open_entries += 1
            container[key] = value
        else:
            container.append(value)
            self._open_items += 1
        frame.expect = _COMMA
        self.version += 1

    def _replace_last(self, value: Any) -> None:
        frame = self._stack[-1]
        container = frame.container
        if isinstance(container, dict):
            container[frame.key] = value  # type: ignore[index]
        else:
            container[-1] = value

    def _close(self, i: int) -> int:
        frame = self._stack.pop()
        container = frame.container
        self.closed.add(id(container))  # its contents were counted as they came
        if isinstance(container, dict):
            self._open_entries -= len(container)
        else:
            self._open_items -= len(container)
        if not self._stack:
            self.done = True
        return i + 1

    # -- strings ---------------------------------------------------------------------------

    def _read_string(self, text: str, i: int) -> int:
        parts = self._string
        assert parts is not None
        if not parts and not self._escape and not self._high_surrogate:
            # the usual key or short value: the whole string in this piece, no escapes
            end = text.find('"', i)
            if end >= 0 and text.find("\\", i, end) < 0:
                if end > i and not self._string_is_key:
                    self.version += 1
                self._end_string(text[i:end])
                return end + 1
        n = len(text)
        while i < n:
            if self._escape:
                i = self._read_escape(text, i)
                continue
            end = _STRING_RUN.match(text, i).end()  # type: ignore[union-attr]
            if end > i:
                if self._high_surrogate:
                    self._flush_surrogate(parts)
                parts.append(text[i:end])
                self._string_length += end - i
                if not self._string_is_key:
                    self.version += 1
            if end >= n:
                return end
            if text[end] == '"':
                self._flush_surrogate(parts)
                self._end_string("".join(parts))
                return end + 1
            self._escape = "\\"
            i = end + 1
        return i

    def _read_escape(self, text: str, i: int) -> int:
        parts = self._string
        assert parts is not None
        need = 6 if (self._escape + text[i : i + 1])[:2] == "\\u" else 2
        take = need - len(self._escape)
        self._escape += text[i : i + take]
        i += take
        if len(self._escape) < need:
            return len(text)  # the escape continues in the next piece
        escape, self._escape = self._escape, ""
        if need == 2:
            char = _ESCAPES.get(escape[1])
            if char is None:
                raise self._fail(f"invalid escape {escape!r} in a string", i)
            self._flush_surrogate(parts)
            parts.append(char)
        else:
            try:
                code = int(escape[2:], 16)
            except ValueError:
                raise self._fail(f"invalid escape {escape!r} in a string", i) from None
            if 0xD800 <= code < 0xDC00:
                self._flush_surrogate(parts)
                self._high_surrogate = chr(code)
                return i
            if 0xDC00 <= code < 0xE000 and self._high_surrogate:
                high = ord(self._high_surrogate) - 0xD800
                self._high_surrogate = ""
                parts.append(chr(0x10000 + (high << 10) + (code - 0xDC00)))
            else:
                self._flush_surrogate(parts)
                parts.append(chr(code))
        self._string_length += 1
        if not self._string_is_key:
            self.version += 1
        return i

    def _flush_surrogate(self, parts: list[str]) -> None:
        # a lone high surrogate is kept as it is, as the json module does
        if self._high_surrogate:
            parts.append(self._high_surrogate)
            self._high_surrogate = ""

    def _show_string(self) -> None:
        parts = self._string
        assert parts is not None
        if len(parts) > 1:
            parts[:] = ["".join(parts)]  # later views join only what is new
        self._replace_last(parts[0] if parts else "")

    def _end_string(self, value: str) -> None:
        self._string = None
        frame = self._stack[-1]
        if self._string_is_key:
            frame.key = value
            frame.expect = _COLON
        else:
            self._replace_last(value)  # as shown already: the version stays

    # -- numbers, true, false, null ----------------------------------------------------------

    def _read_scalar(self, text: str, i: int) -> int:
        assert self._scalar is not None
        first = (self._scalar or text[i])[0]
        run = _WORD_RUN if first.isalpha() else _NUMBER_RUN
        end = run.match(text, i).end()  # type: ignore[union-attr]
        self._scalar += text[i:end]
        if end >= len(text):
            return end  # may continue in the next piece
        token, self._scalar = self._scalar, None
        if first.isalpha():
            if token not in _WORDS:
                raise self._fail(f"unexpected word {token!r}", end)
            self._place(_WORDS[token])
            return end
        match = _NUMBER.fullmatch(token)
        if match is None:
            raise self._fail(f"invalid number {token!r}", end)
        self._place(float(token) if match.group(1) or match.group(2) else int(token))
        return end
