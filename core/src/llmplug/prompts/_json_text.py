"""Reading JSON in a model's text: in prose, in code fences, or written Python-style.

Shared by structured output (the answer object) and ReAct tool calling (the arguments).
Lenient with what models write: single quotes, ``True``/``None``, trailing commas (read
as Python literals when not JSON), prose before and after.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

__all__ = ["FENCE", "balanced_end", "extract_json", "loads_lenient"]

#: A fenced code block (its language tag skipped); group 1 is the code.
FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)


def balanced_end(text: str, start: int) -> int:
    """The index after the bracket closing the one at ``start`` (-1 if it never closes)."""
    depth = 0
    quote: str | None = None
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


_JSON_WORDS = re.compile(r"\b(true|false|null)\b")


def loads_lenient(text: str) -> Any:
    """JSON, else a Python literal (single quotes, True/None, trailing commas); or None."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # deep nesting (a model looping on "[[[["): not JSON
        pass
    for candidate in (
        text,
        _JSON_WORDS.sub(lambda m: {"true": "True", "false": "False", "null": "None"}[m[1]], text),
    ):
        try:
            return ast.literal_eval(candidate)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None


def extract_json(text: str, expected: str = "object") -> Any:
    """The first JSON value of the expected kind in a model's text, else ``None``.

    Tries the whole text, then each fenced code block, then each balanced ``{...}``
    or ``[...]`` in the prose. Lenient with what models write: single quotes,
    ``True``/``None``, trailing commas (read as Python literals when not JSON).

    Args:
        text: The model's answer.
        expected: ``"object"`` (a dict) or ``"array"`` (a list; an object is also
            returned, for ``{"items": [...]}`` answers).
    """
    kinds: tuple[type, ...] = (dict,) if expected == "object" else (list, dict)
    stripped = text.strip()
    candidates = [stripped, *(m.group(1).strip() for m in FENCE.finditer(stripped))]
    for candidate in candidates:
        if candidate[:1] in ("{", "["):
            value = loads_lenient(candidate)
            if isinstance(value, kinds):
                return value
    at = 0
    while True:
        starts = [i for i in (stripped.find("{", at), stripped.find("[", at)) if i >= 0]
        if not starts:
            return None
        start = min(starts)
        end = balanced_end(stripped, start)
        if end > 0:
            value = loads_lenient(stripped[start:end])
            if isinstance(value, kinds):
                return value
        at = start + 1
