"""Reading input nobody vouches for: JSON with a depth limit, and quoting it in messages.

Response bodies, stream events and config-string values come from outside. Two things
about such text must never become a crash or a flood:

* JSON nested deeper than :data:`MAX_JSON_DEPTH` is refused with a ``ValueError`` (a
  ``JSONDecodeError`` has the same base), as malformed JSON is, instead of the
  ``RecursionError`` Python's decoder raises, or the one that code walking the decoded
  value raises later;
* :func:`shorten` cuts a value quoted in an error message to a readable length (a 1 MB
  provider name makes a one-line message, not a 2 MB one).
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "JSONDepthError", "check_json_depth", "loads_json", "shorten"]

#: The deepest nesting of arrays and objects accepted in JSON from outside (serde_json's
#: default too). Real API bodies nest a dozen levels; code that walks a decoded value
#: (redaction, a provider's parser, ``repr``) recurses once per level.
MAX_JSON_DEPTH = 128

# compiled on first use (and cached by re), so importing stays cheap
_STRINGS = r'(?s)"[^"\\]*(?:\\.[^"\\]*)*"'
_NOT_BRACKETS = r"[^\[\]{}]+"
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JSONDepthError(ValueError):
    """JSON nested deeper than :data:`MAX_JSON_DEPTH` (a ``ValueError``, as bad JSON is)."""


def check_json_depth(text: str | bytes) -> None:
    """Raise :class:`JSONDepthError` if ``text`` nests deeper than :data:`MAX_JSON_DEPTH`.

    Cheap for ordinary documents: text with fewer brackets than the limit cannot be too
    deep, and is let through after two counts.
    """
    if isinstance(text, bytes | bytearray):
        if text.count(b"[") + text.count(b"{") <= MAX_JSON_DEPTH:
            return
        text = bytes(text).decode("utf-8", "replace")
    elif text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return
    # brackets inside strings do not nest: drop the strings, then keep only brackets
    brackets = re.sub(_NOT_BRACKETS, "", re.sub(_STRINGS, "", text))
    if brackets and max(accumulate(map(_STEP.__getitem__, brackets))) > MAX_JSON_DEPTH:
        raise JSONDepthError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


def loads_json(text: str | bytes) -> Any:
    """``json.loads(text)``, refusing JSON nested deeper than :data:`MAX_JSON_DEPTH`.

    Raises:
        ValueError: The text is not JSON, or nests too deeply (:class:`JSONDepthError`).
    """
    check_json_depth(text)
    try:
        return json.loads(text)
    except RecursionError:  # the limit above makes this unreachable; kept as a backstop
        raise JSONDepthError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None


def shorten(value: object, limit: int = 80) -> str:
    """``repr(value)`` for an error message, cut to about ``limit`` characters.

    ``shorten("x" * 10**6)`` is ``'xxxx…' (1000000 characters)``: enough to recognise the
    value, with its size.
    """
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit + 2 else f"{text[:limit]}… ({len(text)} characters)"
