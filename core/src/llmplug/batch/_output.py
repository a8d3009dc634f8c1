"""The output of a batch job: one JSON line per row, appended whole, read back on resume.

Each finished row is one line, written with a single ``write`` on a file opened for
appending, so rows never interleave. A job killed mid-write (SIGKILL, a full disk) can
leave a last line cut short; the next run drops that piece and does the row again, so
every row of the input is in the output exactly once. Lines are never rewritten.

Resuming reads the output once and keeps, per row already done, one bit and a CRC-32
of its id (to notice an output written from another input): about 4 bytes per row,
nothing per row of a job started afresh.
"""

from __future__ import annotations

import json
import os
import zlib
from array import array
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any

from llmplug._untrusted import shorten
from llmplug.errors import ConfigError

__all__ = ["Finished", "ResultFile", "dumps_line", "id_checksum"]


def id_checksum(value: Any) -> int:
    """A CRC-32 of an id's JSON form (``7`` and ``"7"`` differ)."""
    return zlib.crc32(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def dumps_line(record: dict[str, Any]) -> bytes:
    """One output line: compact JSON, UTF-8, ending in a newline."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
    return (text + "\n").encode("utf-8")


class Finished:
    """The rows already in the output: a bit and an id checksum per row number."""

    def __init__(self) -> None:
        self._bits = bytearray()
        self._ids = array("I")
        #: How many rows are done.
        self.count = 0

    def __contains__(self, row: int) -> bool:
        bits = self._bits
        return row >> 3 < len(bits) and bool(bits[row >> 3] & (1 << (row & 7)))

    def add(self, row: int, checksum: int) -> bool:
        """Mark ``row`` done (``False`` if it already was)."""
        if row in self:
            return False
        need = (row >> 3) + 1
        if need > len(self._bits):
            self._bits.extend(bytes(max(need, 2 * len(self._bits)) - len(self._bits)))
        if row >= len(self._ids):
            grow = max(row + 1, 2 * len(self._ids)) - len(self._ids)
            self._ids.frombytes(bytes(grow * self._ids.itemsize))
        self._bits[row >> 3] |= 1 << (row & 7)
        self._ids[row] = checksum
        self.count += 1
        return True

    def same_id(self, row: int, value: Any) -> bool:
        """Whether the done ``row`` was written for the id ``value``."""
        return self._ids[row] == id_checksum(value)


class ResultFile:
    """The output JSONL file of a job.

    Args:
        path: The file; created if missing, resumed if not.
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        #: Bytes of a cut-short last line dropped when the file was opened.
        self.dropped = 0
        #: The rows in the file when it was opened.
        self.finished = Finished()

    def open(self) -> Finished:
        """Read the rows already done, drop a cut-short last line, open for appending.

        Raises:
            ConfigError: The file holds a line that is not a row of ``llmplug batch``
                (another file given as the output), or the same row twice.
        """
        finished = self.finished = Finished()
        if self.path.exists():
            end = 0
            for number, (line, after) in enumerate(_lines(self.path), 1):
                if not line.endswith(b"\n"):
                    break  # a last line cut short: dropped below
                end = after
                self._read_line(line, number, finished)
            size = self.path.stat().st_size
            if end < size:
                self.dropped = size - end
                os.truncate(self.path, end)
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"cannot write the output {shorten(str(self.path), 100)}: {exc}"
            ) from exc
        return finished

    def _read_line(self, line: bytes, number: int, finished: Finished) -> None:
        try:
            record = json.loads(line)
            row, value = record["row"], record["id"]
            if not isinstance(row, int) or row < 0:
                raise TypeError(row)
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"the output {shorten(str(self.path), 100)} has a line that is not a result "
                f"of llmplug batch (line {number}: {shorten(line.decode('utf-8', 'replace'))}); "
                f"give another output file"
            ) from exc
        if not finished.add(row, id_checksum(value)):
            raise ConfigError(
                f"the output {shorten(str(self.path), 100)} holds row {row} twice (line "
                f"{number}); it was not written by one job: give another output file"
            )

    def write(self, record: dict[str, Any]) -> None:
        """Append one row's line, whole."""
        data = dumps_line(record)
        fd = self._fd
        if fd is None:
            raise RuntimeError("ResultFile.write before open()")
        while data:
            written = os.write(fd, data)
            data = data[written:]

    def close(self) -> None:
        """Flush the rows to disk and close the file."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _lines(path: Path) -> Iterator[tuple[bytes, int]]:
    """Each line of ``path`` (with its newline, if it has one) and the offset after it."""
    offset = 0
    with open(path, "rb") as file:
        for line in file:
            offset += len(line)
            yield line, offset
