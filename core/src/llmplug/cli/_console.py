"""What every command writes through: streams, colour, tables, errors and secrets.

Colour and progress lines appear only on a terminal: colour never when ``NO_COLOR`` is
set (to anything but "") or with ``TERM=dumb``, progress lines never with ``TERM=dumb``.
Everything that reaches stderr as an error or a warning passes through
:meth:`Console.redact`: the values of secret options given on the command line, every
stored API key and every secret-named environment variable are replaced by
``<redacted>`` wherever they appear.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from llmplug._secrets import REDACTED, is_secret_name, redact_text

__all__ = ["DEBUG_ENV", "PROG", "Console"]

PROG = "llmplug"
#: Set to anything but "", "0", "false", "no" for tracebacks of errors and plugin failures.
DEBUG_ENV = "LLMPLUG_DEBUG"
_STYLES = {"error": "1;31", "warning": "33", "bold": "1", "dim": "2", "ok": "32"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed, detached or replaced streams
        return False


def _colour_allowed() -> bool:
    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


class Console:
    """The streams a command reads and writes, and how it may style them.

    Args:
        stdin: Where input comes from (``sys.stdin`` by default; may be ``None`` when
            the process has no standard input).
        stdout: Where results go.
        stderr: Where errors, warnings, prompts and progress go.
    """

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        #: Print tracebacks (``LLMPLUG_DEBUG=1``).
        self.debug = _flag(DEBUG_ENV)
        allowed = _colour_allowed()
        self.colour_out = allowed and _is_tty(self.stdout)
        self.colour_err = allowed and _is_tty(self.stderr)
        #: Progress lines: on a terminal that can erase a line (not ``TERM=dumb``).
        self.progress = _is_tty(self.stderr) and os.environ.get("TERM") != "dumb"
        self._secrets: list[str] = []
        self._status = False

    # -- terminals -------------------------------------------------------------------------

    def stdin_is_tty(self) -> bool:
        """Whether input comes from a person at a terminal."""
        return self.stdin is not None and _is_tty(self.stdin)

    def style(self, text: str, style: str, *, err: bool = False) -> str:
        """``text`` in ``style`` (``error``, ``warning``, ``bold``, ``dim``, ``ok``) if allowed."""
        if not (self.colour_err if err else self.colour_out):
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"

    def status(self, text: str) -> None:
        """A progress line on a terminal's stderr, replaced by the next output."""
        if self.progress:
            self.stderr.write(f"\r\x1b[K{self.style(text, 'dim', err=True)}")
            self.stderr.flush()
            self._status = True

    def clear_status(self) -> None:
        """Remove the progress line, if one is shown."""
        if self._status:
            self.stderr.write("\r\x1b[K")
            self.stderr.flush()
            self._status = False

    # -- output ----------------------------------------------------------------------------

    def out(self, text: str = "", *, end: str = "\n") -> None:
        """Write a result line to stdout."""
        self.stdout.write(text + end)

    def table(self, header: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "") -> None:
        """Left-aligned columns on stdout, the header in bold."""
        rows = [list(row) for row in rows]
        widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        self.out(indent + self.style(line(header), "bold"))
        for row in rows:
            self.out(indent + line(row))

    def note(self, text: str) -> None:
        """An informational line on stderr (not part of the result)."""
        self.clear_status()
        self.stderr.write(self.style(self.redact(text), "dim", err=True) + "\n")
        self.stderr.flush()

    def warning(self, text: str) -> None:
        """``llmplug: warning: ...`` on stderr."""
        self.clear_status()
        prefix = self.style(f"{PROG}: warning:", "warning", err=True)
        self.stderr.write(f"{prefix} {self.redact(text)}\n")
        self.stderr.flush()

    def error(self, text: str) -> None:
        """``llmplug: error: ...`` on stderr."""
        self.clear_status()
        prefix = self.style(f"{PROG}: error:", "error", err=True)
        self.stderr.write(f"{prefix} {self.redact(text)}\n")
        self.stderr.flush()

    def traceback(self, exc: BaseException) -> None:
        """The traceback of ``exc`` (and its causes) on stderr, secrets redacted."""
        import traceback  # lazy for lightness: only with LLMPLUG_DEBUG

        self.clear_status()
        text = "".join(traceback.format_exception(exc))
        self.stderr.write(self.redact(text))
        self.stderr.flush()

    # -- secrets ---------------------------------------------------------------------------

    def add_secrets(self, values: Iterable[str]) -> None:
        """Values to redact from everything written to stderr (keys given as options)."""
        self._secrets.extend(value for value in values if value)

    def redact(self, text: str) -> str:
        """``text`` without any known secret (see the module docstring)."""
        given = [value for value in self._secrets if len(value) >= 4]
        # keys are long; short values of secret-named variables ("1", "true") are flags
        found = [value for value in (*_environment_secrets(), *_stored_keys()) if len(value) >= 8]
        for value in sorted({*given, *found}, key=len, reverse=True):
            text = text.replace(value, REDACTED)
        return redact_text(text)


def _environment_secrets() -> list[str]:
    return [value for name, value in os.environ.items() if is_secret_name(name)]


def _stored_keys() -> list[str]:
    """Every key in the key store, if it can be read (only on error and warning paths)."""
    from llmplug.config._keys import KeyStore  # lazy for lightness: only when reporting

    try:
        store = KeyStore()
        return [key.get_secret_value() for name in store.names() if (key := store.get(name))]
    except Exception:  # an unreadable store must not hide the error being reported
        return []
