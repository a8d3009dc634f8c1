"""What the conformance suite's tests share: calling each endpoint, finding a secret."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from llmplug.llm._base import LLM
from llmplug.types._messages import ChatMessage, MessageRole

__all__ = [
    "CANARY_KEY",
    "ENDPOINTS",
    "STREAM_ENDPOINTS",
    "Answer",
    "LogCapture",
    "call_endpoint",
    "capture_logs",
    "error_texts",
    "split_deltas",
]

#: The key the suite gives a provider; it must never show anywhere but the request.
CANARY_KEY = "sk-llmplug-CANARY-9f2c41d7e0"
#: The eight endpoints every provider offers.
ENDPOINTS = (
    "chat",
    "complete",
    "stream_chat",
    "stream_complete",
    "achat",
    "acomplete",
    "astream_chat",
    "astream_complete",
)
STREAM_ENDPOINTS = tuple(e for e in ENDPOINTS if "stream" in e)


class Answer(NamedTuple):
    """What one endpoint call gave.

    Attributes:
        text: The final text (a stream's last chunk).
        deltas: The streamed deltas (``None`` for a non-streaming endpoint).
        texts: Each chunk's accumulated text (``None`` for a non-streaming endpoint).
    """

    text: str
    deltas: list[str] | None
    texts: list[str] | None


def _is_chat(endpoint: str) -> bool:
    return endpoint.removeprefix("a").removeprefix("stream_") == "chat"


def _text(response: Any) -> str:
    message = getattr(response, "message", None)
    if message is not None:
        return message.content or ""
    return response.text or ""


def call_endpoint(llm: LLM, endpoint: str, prompt: str, **options: Any) -> Answer:
    """Call ``endpoint`` of ``llm`` with ``prompt`` (as one user message for chat ones).

    Async endpoints run in a new event loop (``asyncio.run``), so the suite needs no
    async test plugin.
    """
    payload: Any = (
        [ChatMessage(role=MessageRole.USER, content=prompt)] if _is_chat(endpoint) else prompt
    )
    method = getattr(llm, endpoint)
    if endpoint.startswith("a"):
        return asyncio.run(_acall(method, endpoint, payload, options))
    if "stream" not in endpoint:
        return Answer(_text(method(payload, **options)), None, None)
    return _collect(list(method(payload, **options)))


async def _acall(method: Any, endpoint: str, payload: Any, options: dict[str, Any]) -> Answer:
    if "stream" not in endpoint:
        return Answer(_text(await method(payload, **options)), None, None)
    chunks = [chunk async for chunk in await method(payload, **options)]
    return _collect(chunks)


def _collect(chunks: list[Any]) -> Answer:
    deltas = [chunk.delta or "" for chunk in chunks]
    texts = [_text(chunk) for chunk in chunks]
    return Answer(texts[-1] if texts else "", deltas, texts)


def split_deltas(text: str) -> list[str]:
    """``text`` as a server streams it: a word at a time, the space before each word."""
    words = text.split(" ")
    return [w if i == 0 else f" {w}" for i, w in enumerate(words)]


def error_texts(error: BaseException) -> Iterator[str]:
    """Every text an error carries: message, repr, args, attributes, causes, traceback.

    What a log handler, an error tracker or a crash report could show.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield from (repr(arg) for arg in current.args)
        yield from (repr(value) for value in vars(current).values())
        yield from (str(note) for note in getattr(current, "__notes__", ()))
        current = current.__cause__ or current.__context__
    yield "".join(traceback.format_exception(error))


class LogCapture(logging.Handler):
    """Keeps every record logged at any level, formatted as a handler would."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record."""
        self.records.append(record)

    def texts(self) -> Iterator[str]:
        """Each record formatted, with its exception and extra attributes."""
        for record in self.records:
            yield self.format(record)
            yield repr(vars(record))


@contextmanager
def capture_logs() -> Iterator[LogCapture]:
    """Capture every log record of every logger (the root at DEBUG) in the block."""
    handler = LogCapture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
