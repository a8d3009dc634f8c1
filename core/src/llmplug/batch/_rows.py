"""Reading a batch's input one row at a time: JSONL, CSV/TSV, Parquet (with pyarrow).

Rows are streamed (memory does not grow with the file) and numbered from 0 in file
order, skipping blank JSONL lines; the number is a row's place in the input, which is
how a resumed job finds the rows it has done. Each row needs an id (the ``id`` field,
or another named by ``id_field``): a text or an integer, echoed in the output.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple

from llmplug._untrusted import shorten
from llmplug.batch._prompting import field_names
from llmplug.errors import ConfigError

__all__ = ["FORMATS", "InputRow", "count_rows", "input_format", "read_rows"]

#: Input formats, by file extension.
FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# rows of a Parquet file decoded at a time: bounds memory whatever the file's row groups
_PARQUET_BATCH = 1024


class InputRow(NamedTuple):
    """One row of the input.

    Attributes:
        row: Its place in the input, from 0.
        id: Its id (``None`` when it has none: then ``problem`` says so).
        fields: Its fields (``{}`` when the row could not be read).
        problem: Why the row cannot be sent, if it cannot (malformed, no id...).
    """

    row: int
    id: Any
    fields: dict[str, Any]
    problem: str | None = None


def input_format(path: str | PathLike[str], given: str | None = None) -> str:
    """The format of ``path``: ``given``, else from its extension.

    Raises:
        ConfigError: An unknown format, or an extension that names none.
    """
    names = sorted(set(FORMATS.values()))
    if given is not None:
        if given not in names:
            raise ConfigError(f"unknown input format {given!r}: use one of {', '.join(names)}")
        return given
    suffix = Path(path).suffix.lower()
    found = FORMATS.get(suffix)
    if found is None:
        raise ConfigError(
            f"cannot tell the format of {shorten(str(path), 100)} from its extension "
            f"{suffix or '(none)'!r}: name it .jsonl, .csv, .tsv or .parquet, or give "
            f"--input-format ({', '.join(names)})"
        )
    return found


def read_rows(
    path: str | PathLike[str], *, id_field: str = "id", format: str | None = None
) -> Iterator[InputRow]:
    """The rows of the input file ``path``, one at a time.

    A row that cannot be read (a JSONL line that is not a JSON object, a row without
    an id) comes with its ``problem`` set: the caller records it and goes on.

    Raises:
        ConfigError: The file cannot be opened, its format is unknown, or reading
            Parquet without pyarrow installed.
    """
    kind = input_format(path, format)
    try:
        if kind == "jsonl":
            yield from _identified(_jsonl(path), id_field)
        elif kind == "parquet":
            yield from _identified(_parquet(path), id_field)
        else:
            yield from _identified(_csv(path, "\t" if kind == "tsv" else ","), id_field)
    except OSError as exc:
        raise ConfigError(f"cannot read the input {shorten(str(path), 100)}: {exc}") from exc


def count_rows(path: str | PathLike[str], *, format: str | None = None) -> int:
    """How many rows ``path`` holds (for a progress bar's total), read as cheaply as can be.

    Raises:
        ConfigError: As :func:`read_rows`.
    """
    kind = input_format(path, format)
    try:
        if kind == "jsonl":
            with open(path, "rb") as file:
                return sum(1 for line in file if line.strip())
        if kind == "parquet":
            return int(_parquet_file(path).metadata.num_rows)
        return sum(1 for _ in _csv(path, "\t" if kind == "tsv" else ","))
    except OSError as exc:
        raise ConfigError(f"cannot read the input {shorten(str(path), 100)}: {exc}") from exc


# -- formats ---------------------------------------------------------------------------

_Raw = tuple[dict[str, Any] | None, str | None]


def _jsonl(path: str | PathLike[str]) -> Iterator[_Raw]:
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                yield None, f"line {number} is not JSON ({exc})"
                continue
            if not isinstance(value, dict):
                yield None, f"line {number} is a JSON {type(value).__name__}, not an object"
                continue
            yield value, None


def _csv(path: str | PathLike[str], delimiter: str) -> Iterator[_Raw]:
    # utf-8-sig: a byte-order mark (spreadsheet exports) is not part of the first name
    with open(path, encoding="utf-8-sig", newline="") as file:
        reader = csv.DictReader(file, delimiter=delimiter)
        for record in reader:
            if None in record:  # more cells than the header has names
                yield None, f"line {reader.line_num} has more cells than the header"
                continue
            yield dict(record), None


def _parquet_file(path: str | PathLike[str]) -> Any:
    try:
        import pyarrow.parquet  # lazy for lightness: an optional dependency
    except ImportError as exc:
        raise ConfigError(
            "reading Parquet needs pyarrow, which is not installed: pip install pyarrow "
            "(or give the input as JSONL or CSV)"
        ) from exc
    return pyarrow.parquet.ParquetFile(path)


def _parquet(path: str | PathLike[str]) -> Iterator[_Raw]:
    for batch in _parquet_file(path).iter_batches(batch_size=_PARQUET_BATCH):
        for record in batch.to_pylist():
            yield record, None


def _identified(raw: Iterator[_Raw], id_field: str) -> Iterator[InputRow]:
    for row, (fields, problem) in enumerate(raw):
        if fields is None:
            yield InputRow(row, None, {}, problem)
            continue
        value = fields.get(id_field)
        if value is None or value == "":
            yield InputRow(
                row,
                None,
                fields,
                f"row {row} has no {id_field!r} (its fields: {field_names(fields)}); give "
                f"each row an id, or name the id field with --id-field",
            )
        elif isinstance(value, bool) or not isinstance(value, str | int):
            yield InputRow(
                row,
                None,
                fields,
                f"row {row}: its id must be a text or an integer, not a {type(value).__name__}",
            )
        else:
            yield InputRow(row, value, fields)
