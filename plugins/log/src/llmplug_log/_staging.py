"""Staged batches: how a batch of calls is kept from its write until a reader settles it.

The process that logs pays as little as it can: each call's row is packed with
:mod:`marshal` (CPython's own format for ``.pyc`` files: the row's strings, numbers and
containers, copied in C) when the call ends, so the queue holds bytes, which the garbage
collector never walks, and a batch is the rows' bytes one after the other, written as
one ``staged`` row. Packing a row that way costs about a sixth of encoding it as JSON,
which was most of what the log cost a call.

Whoever reads the log next unpacks the batch, checks its shape, encodes the JSON columns
(options, messages, tool calls, structured output) and inserts the rows into ``calls``.
Batches staged as JSON (schema version 2) are still read.

The log file is the user's own, written by their processes, like the ``.pyc`` files
Python loads from ``__pycache__`` (the same format): unpacking builds strings, numbers
and containers and runs no code, and a batch whose shape is not a log batch is left
where it is, with a warning, rather than read. As for ``.pyc`` files, :mod:`marshal`
does not defend against bytes crafted to break it: a file others can write to is no
place for a log (nor for a ``__pycache__``).
"""

from __future__ import annotations

import io
import json
import marshal
import re
from collections.abc import Sequence
from typing import Any

from llmplug_log._json import encode_json
from llmplug_log._records import expand_message, format_id, process_prefix

__all__ = ["FORMAT", "JSON_COLUMNS", "encode_json", "pack", "pack_row", "unpack"]

#: The ``staged.format`` of batches this module writes.
FORMAT = "marshal-4-ids"  # marshal 4; ids as numbers, the batch saying their prefix
_MARSHAL_VERSION = 4  # readable by every Python since 3.4

#: The positions (in :data:`~llmplug_log._store.COLUMNS` order) of the JSON columns.
JSON_COLUMNS = (7, 8, 11, 12)  # options, messages, tool_calls, structured
_ID, _CONVERSATION, _OPTIONS, _MESSAGES = 0, 2, 7, 8
_PREFIX = re.compile(r"[0-9a-f]{10}")


_SCALARS = (str, int, float, type(None))


def pack_row(row: tuple[Any, ...]) -> bytes:
    """One row as bytes.

    A row holding something :mod:`marshal` cannot pack (an object JSON would write as
    its ``str``, a subclass of ``str`` or ``dict``) is first made plain, as JSON would
    write it.
    """
    try:
        return marshal.dumps(row, _MARSHAL_VERSION)
    except ValueError:
        return marshal.dumps(tuple(json.loads(encode_json(row))), _MARSHAL_VERSION)


def pack(rows: Sequence[bytes]) -> bytes:
    """A batch: this process's id prefix, then the packed rows one after the other."""
    return marshal.dumps(process_prefix(), _MARSHAL_VERSION) + b"".join(rows)


def unpack(blob: bytes, columns: int) -> list[tuple[Any, ...]]:
    """The rows of a packed batch, each ready for ``INSERT INTO calls``.

    Raises:
        ValueError: The bytes are not a batch of rows of ``columns`` values.
    """
    if not isinstance(blob, bytes):
        raise ValueError(f"a staged batch is {type(blob).__name__}, not bytes")
    settled = []
    stream = io.BytesIO(blob)
    try:
        prefix = marshal.load(stream)
    except (EOFError, TypeError, ValueError) as exc:
        raise ValueError(f"not a packed batch: {exc}") from exc
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ValueError("not a packed batch: it does not start with its process's id prefix")
    while stream.tell() < len(blob):
        try:
            row = marshal.load(stream)
        except (EOFError, TypeError, ValueError) as exc:
            raise ValueError(f"not a packed batch: {exc}") from exc
        if not isinstance(row, tuple) or len(row) != columns:
            raise ValueError(f"a packed batch holds a row that is not {columns} values")
        values = list(row)
        for i, value in enumerate(values):
            if i in JSON_COLUMNS:
                if i == _MESSAGES and isinstance(value, list):
                    value = [expand_message(message) for message in value]
                elif i == _OPTIONS and isinstance(value, str):
                    continue  # kept as its JSON text already
                if value is not None:
                    values[i] = encode_json(value)
            elif not isinstance(value, _SCALARS):
                raise ValueError(f"a packed batch holds a {type(value).__name__} in column {i}")
        if isinstance(values[_ID], int):
            values[_ID] = format_id(values[_ID], prefix)
        if values[_CONVERSATION] is None:  # a call on its own is its own conversation
            values[_CONVERSATION] = values[_ID]
        settled.append(tuple(values))
    return settled
