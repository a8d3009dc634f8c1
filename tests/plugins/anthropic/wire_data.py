"""Messages API bodies and stream events, as Anthropic's API reference documents them.

Shared by the parsing, transport and fault tests; ``test_sdk`` parses every one of them
with the official SDK's response types (``anthropic.types.Message`` and the raw stream
event types), so a fixture the API could not send fails there.
"""

from __future__ import annotations

import json
from typing import Any

MODEL = "claude-sonnet-4-5-20250929"


def message(*content: dict[str, Any], stop: str = "end_turn", **usage: Any) -> dict[str, Any]:
    """A ``message`` response body holding ``content``."""
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": list(content),
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 12,
            "output_tokens": 6,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            **usage,
        },
    }


def text(value: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **extra}


SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"

TEXT = message(text("Hello! How can I help you today?"))
THINKING = message(
    {"type": "thinking", "thinking": "The user says hi. I greet back.", "signature": SIGNATURE},
    {"type": "redacted_thinking", "data": REDACTED},
    text("Hi there!"),
    output_tokens=120,
    output_tokens_details={"thinking_tokens": 96},
)
TOOL_USE = message(
    text("I'll check the weather."),
    {
        "type": "tool_use",
        "id": "toolu_01A09q90qw90lq917835lq9",
        "name": "get_weather",
        "input": {"location": "Paris"},
    },
    stop="tool_use",
)
CITATIONS = message(
    text("According to the handbook, "),
    text(
        "the grass is green",
        citations=[
            {
                "type": "search_result_location",
                "cited_text": "The grass is green.",
                "source": "https://example.com/handbook",
                "title": "Handbook",
                "search_result_index": 0,
                "start_block_index": 0,
                "end_block_index": 1,
            },
            {
                "type": "char_location",
                "cited_text": "The grass is green.",
                "document_index": 1,
                "document_title": "Notes",
                "start_char_index": 0,
                "end_char_index": 19,
                "file_id": None,
            },
        ],
    ),
    text("."),
)
PAGE_CITATION = {
    "type": "page_location",
    "cited_text": "Revenue grew 12%.",
    "document_index": 0,
    "document_title": "Report",
    "start_page_number": 3,
    "end_page_number": 4,
}
WEB_CITATION = {
    "type": "web_search_result_location",
    "cited_text": "Paris is the capital.",
    "url": "https://en.wikipedia.org/wiki/Paris",
    "title": "Paris",
    "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm",
}
CACHED = message(
    text("Cached."),
    input_tokens=21,
    cache_creation_input_tokens=188086,
    cache_read_input_tokens=1024,
    output_tokens=393,
)

# -- errors ----------------------------------------------------------------------------


def error(kind: str, text: str) -> dict[str, Any]:
    """An error body (and ``error`` stream event), with the request id the API adds."""
    return {
        "type": "error",
        "error": {"type": kind, "message": text},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }


OVERLOADED = error("overloaded_error", "Overloaded")
CONTEXT_ERROR = error("invalid_request_error", "prompt is too long: 210034 tokens > 200000 maximum")

# -- streams ---------------------------------------------------------------------------


def start(**usage: Any) -> dict[str, Any]:
    body = message(**usage)
    body["stop_reason"] = None
    body["usage"]["output_tokens"] = 1
    return {"type": "message_start", "message": body}


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, **value: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": value}


def block_stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def message_delta(stop: str = "end_turn", **usage: Any) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": None},
        "usage": {"output_tokens": 15, **usage},
    }


PING = {"type": "ping"}
STOP = {"type": "message_stop"}


def text_delta(index: int, value: str) -> dict[str, Any]:
    return delta(index, type="text_delta", text=value)


TEXT_STREAM = [
    start(),
    block_start(0, text("")),
    PING,
    text_delta(0, "Hello"),
    text_delta(0, "!"),
    block_stop(0),
    message_delta(),
    STOP,
]

THINKING_TOOL_STREAM = [
    start(),
    block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
    delta(0, type="thinking_delta", thinking="Let me check "),
    delta(0, type="thinking_delta", thinking="the weather."),
    delta(0, type="signature_delta", signature=SIGNATURE),
    block_stop(0),
    block_start(1, {"type": "redacted_thinking", "data": REDACTED}),
    block_stop(1),
    block_start(2, text("")),
    text_delta(2, "Checking."),
    block_stop(2),
    block_start(
        3,
        {
            "type": "tool_use",
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "name": "get_weather",
            "input": {},
        },
    ),
    delta(3, type="input_json_delta", partial_json=""),
    delta(3, type="input_json_delta", partial_json='{"location": "San Fra'),
    delta(3, type="input_json_delta", partial_json='ncisco, CA"}'),
    block_stop(3),
    message_delta("tool_use", output_tokens=89, output_tokens_details={"thinking_tokens": 40}),
    STOP,
]

CITATION_STREAM = [
    start(),
    block_start(0, text("", citations=[])),
    delta(0, type="citations_delta", citation=CITATIONS["content"][1]["citations"][0]),
    text_delta(0, "the grass is green"),
    block_stop(0),
    message_delta(),
    STOP,
]

WEB_CITATION_IN_STREAM = {
    "type": "web_search_result_location",
    "url": "https://example.com/weather/paris",
    "title": "Paris weather",
    "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm",
    "cited_text": "Sunny in Paris today",
}

# a server tool (web search): its call's input arrives as partial JSON too
WEB_SEARCH_STREAM = [
    start(),
    block_start(
        0, {"type": "server_tool_use", "id": "srvtoolu_014", "name": "web_search", "input": {}}
    ),
    delta(0, type="input_json_delta", partial_json=""),
    delta(0, type="input_json_delta", partial_json='{"query": "weather'),
    delta(0, type="input_json_delta", partial_json=' Paris"}'),
    block_stop(0),
    block_start(
        1,
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_014",
            "content": [
                {
                    "type": "web_search_result",
                    "url": "https://example.com/weather/paris",
                    "title": "Paris weather",
                    "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1m",
                    "page_age": None,
                }
            ],
        },
    ),
    block_stop(1),
    block_start(2, text("", citations=[])),
    delta(2, type="citations_delta", citation=WEB_CITATION_IN_STREAM),
    text_delta(2, "It is sunny."),
    block_stop(2),
    message_delta(),
    STOP,
]

CACHED_STREAM = [
    start(input_tokens=21, cache_creation_input_tokens=188086, cache_read_input_tokens=1024),
    block_start(0, text("")),
    text_delta(0, "Cached."),
    block_stop(0),
    message_delta(output_tokens=393),
    STOP,
]


def sse(events: list[Any]) -> bytes:
    """An SSE body as the API sends it: each event named by its ``type``."""
    out = []
    for event in events:
        name = event.get("type", "message") if isinstance(event, dict) else "message"
        data = event if isinstance(event, str) else json.dumps(event)
        out.append(f"event: {name}\ndata: {data}\n\n")
    return "".join(out).encode()


def sse_items(events: list[Any]) -> list[bytes]:
    """The body of :func:`sse`, one item per event (as a network might deliver it)."""
    return [sse([event]) for event in events]
