"""Converse responses and ConverseStream bodies, in the shapes Bedrock sends them.

The event stream encoder here is the tests' own, written from the framing's
specification (not from the plugin's decoder); botocore's parser reads every body it
makes (``test_eventstream.py`` checks), so the bodies are ones an AWS SDK accepts.
Stream events carry the ``p`` padding field Bedrock adds to each payload.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

#: A signature as Claude's reasoning carries it (opaque to clients).
SIGNATURE = "EqQBCkgIARABGAIiQL2m7sTQZ2Ea5cKvXm0yZkE3ouZ9Yp1RdCtzwVcAjUz9vGNqcY8"
TOOL_ID = "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"


# -- the event stream framing -------------------------------------------------------------


def _header(name: str, value: Any, kind: int | None = None) -> bytes:
    raw_name = name.encode()
    out = struct.pack("!B", len(raw_name)) + raw_name
    if kind is None:
        kind = 0 if value is True else 1 if value is False else 7 if isinstance(value, str) else 6
    out += struct.pack("!B", kind)
    if kind in (0, 1):
        return out
    if kind == 2:
        return out + struct.pack("!b", value)
    if kind == 3:
        return out + struct.pack("!h", value)
    if kind == 4:
        return out + struct.pack("!i", value)
    if kind in (5, 8):
        return out + struct.pack("!q", value)
    if kind == 9:
        assert len(value) == 16
        return out + bytes(value)
    data = value.encode() if isinstance(value, str) else bytes(value)
    return out + struct.pack("!H", len(data)) + data


def message(headers: list[tuple[Any, ...]], payload: bytes = b"") -> bytes:
    """One event stream message: ``headers`` as ``(name, value[, type])`` tuples."""
    header_bytes = b"".join(_header(*header) for header in headers)
    total = 16 + len(header_bytes) + len(payload)
    prelude = struct.pack("!II", total, len(header_bytes))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    body = prelude + header_bytes + payload
    return body + struct.pack("!I", zlib.crc32(body))


def event(kind: str, payload: dict[str, Any], *, padding: str = "abcdefghijklmnopqrstuvw") -> bytes:
    """A ConverseStream event message (``:message-type: event``), padded as Bedrock pads."""
    data = {**payload, "p": padding} if padding else payload
    return message(
        [
            (":event-type", kind),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        json.dumps(data, separators=(",", ":")).encode(),
    )


def exception(kind: str, text: str, **fields: Any) -> bytes:
    """An exception message (``:message-type: exception``), as a stream's fault."""
    return message(
        [
            (":exception-type", kind),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        json.dumps({"message": text, **fields}).encode(),
    )


def error_message(code: str, text: str) -> bytes:
    """An error message (``:message-type: error``): code and text in headers, no payload."""
    return message([(":error-code", code), (":error-message", text), (":message-type", "error")])


# -- ConverseStream bodies ------------------------------------------------------------------

START = ("messageStart", {"role": "assistant"})


def usage(inp: int = 12, out: int = 6, **cache: int) -> dict[str, Any]:
    return {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out, **cache}


def metadata(inp: int = 12, out: int = 6, latency: int = 321, **extra: Any) -> tuple[str, Any]:
    return ("metadata", {"usage": usage(inp, out), "metrics": {"latencyMs": latency}, **extra})


def text_events(*pieces: str, stop: str = "end_turn") -> list[tuple[str, Any]]:
    deltas = [("contentBlockDelta", {"delta": {"text": p}, "contentBlockIndex": 0}) for p in pieces]
    return [
        START,
        *deltas,
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": stop}),
        metadata(),
    ]


def stream(events: list[tuple[str, Any]]) -> bytes:
    """The body of a ConverseStream response holding ``events``."""
    return b"".join(event(kind, payload) for kind, payload in events)


TEXT_STREAM = text_events("Hel", "lo", "!")

REASONING_TOOL_STREAM: list[tuple[str, Any]] = [
    START,
    (
        "contentBlockDelta",
        {"delta": {"reasoningContent": {"text": "The user wants "}}, "contentBlockIndex": 0},
    ),
    (
        "contentBlockDelta",
        {"delta": {"reasoningContent": {"text": "the weather."}}, "contentBlockIndex": 0},
    ),
    (
        "contentBlockDelta",
        {"delta": {"reasoningContent": {"signature": SIGNATURE}}, "contentBlockIndex": 0},
    ),
    ("contentBlockStop", {"contentBlockIndex": 0}),
    ("contentBlockDelta", {"delta": {"text": "Let me check."}, "contentBlockIndex": 1}),
    ("contentBlockStop", {"contentBlockIndex": 1}),
    (
        "contentBlockStart",
        {
            "start": {"toolUse": {"toolUseId": TOOL_ID, "name": "get_weather"}},
            "contentBlockIndex": 2,
        },
    ),
    (
        "contentBlockDelta",
        {"delta": {"toolUse": {"input": '{"city": "Par'}}, "contentBlockIndex": 2},
    ),
    ("contentBlockDelta", {"delta": {"toolUse": {"input": 'is"}'}}, "contentBlockIndex": 2}),
    ("contentBlockStop", {"contentBlockIndex": 2}),
    ("messageStop", {"stopReason": "tool_use"}),
    metadata(
        40,
        30,
        trace={"guardrail": {"modelOutput": ["Let me check."]}},
        performanceConfig={"latency": "standard"},
    ),
]

CITATION_STREAM: list[tuple[str, Any]] = [
    START,
    ("contentBlockDelta", {"delta": {"text": "Grass is green."}, "contentBlockIndex": 0}),
    (
        "contentBlockDelta",
        {
            "delta": {
                "citation": {
                    "title": "Handbook",
                    "source": "https://example.com/handbook",
                    "sourceContent": [{"text": "The grass is green."}],
                    "location": {
                        "searchResultLocation": {"searchResultIndex": 0, "start": 0, "end": 1}
                    },
                }
            },
            "contentBlockIndex": 0,
        },
    ),
    ("contentBlockStop", {"contentBlockIndex": 0}),
    ("messageStop", {"stopReason": "end_turn"}),
    (
        "metadata",
        {
            "usage": usage(30, 5, cacheReadInputTokens=100, cacheWriteInputTokens=20),
            "metrics": {"latencyMs": 90},
        },
    ),
]


# -- Converse responses ---------------------------------------------------------------------


def converse(*content: dict[str, Any], stop: str = "end_turn", **extra: Any) -> dict[str, Any]:
    """A Converse response holding ``content``."""
    return {
        "output": {"message": {"role": "assistant", "content": list(content)}},
        "stopReason": stop,
        "usage": extra.pop("usage", usage()),
        "metrics": {"latencyMs": 412},
        **extra,
    }


TEXT = converse({"text": "Hello! How can I help you today?"})
TOOL_USE = converse(
    {
        "reasoningContent": {
            "reasoningText": {"text": "The user wants the weather.", "signature": SIGNATURE}
        }
    },
    {"text": "Let me check."},
    {"toolUse": {"toolUseId": TOOL_ID, "name": "get_weather", "input": {"city": "Paris"}}},
    stop="tool_use",
)
CITATIONS = converse(
    {
        "citationsContent": {
            "content": [{"text": "Grass is green."}],
            "citations": [
                {
                    "title": "Handbook",
                    "source": "https://example.com/handbook",
                    "sourceContent": [{"text": "The grass is green."}],
                    "location": {
                        "searchResultLocation": {"searchResultIndex": 0, "start": 0, "end": 1}
                    },
                }
            ],
        }
    },
    usage=usage(30, 5, cacheReadInputTokens=100, cacheWriteInputTokens=20),
)


def tool_call(name: str, arguments: dict[str, Any], call_id: str = TOOL_ID) -> dict[str, Any]:
    """A Converse response whose answer is one tool call."""
    return converse(
        {"toolUse": {"toolUseId": call_id, "name": name, "input": arguments}}, stop="tool_use"
    )


def error_body(message_text: str) -> dict[str, Any]:
    """An error response's JSON body (its type is in the x-amzn-ErrorType header)."""
    return {"message": message_text}
