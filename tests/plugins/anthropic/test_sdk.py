"""The SDK validators themselves, and every fixture parsed by the SDK's response types.

Without the first half, a validator that accepts everything would make every "the SDK
accepts it" check in the other modules pass.
"""

from __future__ import annotations

from typing import Any

import pytest

from . import wire_data as w

GOOD = {
    "model": "claude-haiku-5-5",
    "max_tokens": 10,
    "messages": [{"role": "user", "content": "Hi"}],
}


def with_content(*blocks: dict[str, Any], role: str = "user") -> dict[str, Any]:
    return {**GOOD, "messages": [{"role": role, "content": list(blocks)}]}


IMAGE = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}


def test_a_plain_body_passes(sdk: Any) -> None:
    assert sdk.check_request(GOOD)["messages"] == [{"role": "user", "content": "Hi"}]
    assert sdk.check_request({**GOOD, "stream": True, "temperature": 0.5, "top_k": 3})


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({**GOOD, "messages": [{"role": "wizard", "content": "x"}]}, id="unknown-role"),
        pytest.param({"model": "m", "messages": GOOD["messages"]}, id="no-max-tokens"),
        pytest.param({**GOOD, "max_tokns": 5}, id="unknown-top-level-key"),
        pytest.param({**GOOD, "temperature": 1.5}, id="temperature-1.5"),
        pytest.param({**GOOD, "top_k": 0}, id="top-k-0"),
        pytest.param(
            with_content({"type": "text", "text": "x", "cache_contrl": {"type": "ephemeral"}}),
            id="misspelt-nested-key",
        ),
        pytest.param(
            with_content({"type": "text", "text": "x", "cache_control": {"type": "forever"}}),
            id="cache-type",
        ),
        pytest.param(
            with_content(
                {"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "2h"}}
            ),
            id="cache-ttl",
        ),
        pytest.param(
            with_content({"type": "image", "source": {**IMAGE, "media_type": "image/bmp"}}),
            id="image-type",
        ),
        pytest.param(with_content({"type": "image", "source": "https://x/a.png"}), id="bare-url"),
        pytest.param(
            with_content({"type": "thinking", "thinking": "hm"}, role="assistant"),
            id="thinking-without-signature",
        ),
        pytest.param(
            with_content({"type": "tool_result", "content": "18C"}), id="tool-result-without-id"
        ),
        pytest.param(
            with_content({"type": "tool_use", "id": "t", "name": "f", "input": "{}"}),
            id="tool-input-as-text",
        ),
        pytest.param(
            with_content(
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/html", "data": "x"},
                }
            ),
            id="document-text-type",
        ),
        pytest.param(
            with_content({"type": "search_result", "source": "s", "content": []}),
            id="search-result-without-title",
        ),
        pytest.param(
            {**GOOD, "system": [{"type": "image", "source": IMAGE}]}, id="image-in-system"
        ),
        pytest.param({**GOOD, "stream": "yes"}, id="stream-not-bool"),
    ],
)
def test_the_request_validator_refuses(sdk: Any, body: dict[str, Any]) -> None:
    with pytest.raises((ValueError, AssertionError)):
        sdk.check_request(body)


RESPONSES = {
    "text": w.TEXT,
    "thinking": w.THINKING,
    "tool_use": w.TOOL_USE,
    "citations": w.CITATIONS,
    "cached": w.CACHED,
    "page_citation": w.message(w.text("Revenue grew.", citations=[w.PAGE_CITATION])),
    "web_citation": w.message(w.text("Paris.", citations=[w.WEB_CITATION])),
}


@pytest.mark.parametrize("body", [pytest.param(b, id=k) for k, b in RESPONSES.items()])
def test_response_fixtures_parse_with_the_sdk(sdk: Any, body: dict[str, Any]) -> None:
    parsed = sdk.message.model_validate(body)
    assert parsed.model_dump(exclude_unset=True)["content"] == body["content"]


STREAMS = {
    "text": w.TEXT_STREAM,
    "thinking_tool": w.THINKING_TOOL_STREAM,
    "citations": w.CITATION_STREAM,
    "cached": w.CACHED_STREAM,
    "web_search": w.WEB_SEARCH_STREAM,
}


@pytest.mark.parametrize("events", [pytest.param(e, id=k) for k, e in STREAMS.items()])
def test_stream_fixtures_parse_with_the_sdk(sdk: Any, events: list[dict[str, Any]]) -> None:
    for event in events:
        sdk.check_event(event)


@pytest.mark.parametrize("body", [w.OVERLOADED, w.CONTEXT_ERROR], ids=["overloaded", "context"])
def test_error_fixtures_parse_with_the_sdk(sdk: Any, body: dict[str, Any]) -> None:
    assert sdk.error.model_validate(body).error.type == body["error"]["type"]


def test_the_event_validator_refuses(sdk: Any) -> None:
    with pytest.raises(ValueError, match="nope"):
        sdk.check_event({"type": "content_block_delta", "index": 0, "delta": {"type": "nope"}})
    with pytest.raises(ValueError, match="bored"):
        sdk.check_event({"type": "message_delta", "delta": {"stop_reason": "bored"}, "usage": {}})
