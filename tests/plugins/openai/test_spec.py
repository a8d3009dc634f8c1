"""The spec validator itself: it accepts what the API takes and refuses what it does not.

Without these, a validator that accepts everything would make every "matches the spec"
check in the other modules pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

GOOD = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}


def with_message(message: dict[str, Any]) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [message]}


def test_a_plain_body_matches(spec_errors: Any) -> None:
    assert spec_errors(GOOD) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(with_message({"role": "wizard", "content": "Hi"}), id="unknown-role"),
        pytest.param({**GOOD, "temperature": 9}, id="temperature-9"),
        pytest.param({**GOOD, "top_logprobs": 21}, id="top-logprobs-21"),
        pytest.param({**GOOD, "messages": []}, id="no-messages"),
        pytest.param({"messages": GOOD["messages"]}, id="no-model"),
        pytest.param({**GOOD, "stop": ["a", "b", "c", "d", "e"]}, id="five-stops"),
        pytest.param({**GOOD, "reasoning_effort": "extreme"}, id="reasoning-effort"),
        pytest.param(
            with_message(
                {"role": "user", "content": [{"type": "image_url", "image_url": "https://x/a.png"}]}
            ),
            id="image-url-as-bare-string",
        ),
        pytest.param(
            with_message(
                {
                    "role": "user",
                    "content": [
                        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "ogg"}}
                    ],
                }
            ),
            id="audio-format",
        ),
        pytest.param(with_message({"role": "tool", "content": "18C"}), id="tool-without-id"),
        pytest.param(
            with_message(
                {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
            ),
            id="image-in-system",
        ),
        pytest.param(
            with_message(
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f"}}],
                }
            ),
            id="tool-call-without-arguments",
        ),
    ],
)
def test_the_validator_refuses(spec_errors: Any, body: dict[str, Any]) -> None:
    assert spec_errors(body)


def test_check_body_raises_on_a_bad_body(check_body: Any) -> None:
    with pytest.raises(AssertionError, match="does not match the OpenAPI spec"):
        check_body(with_message({"role": "wizard", "content": "Hi"}))


def test_nullable_fields_of_responses(spec_errors: Any) -> None:
    # 3.0-style ``nullable`` in the spec is read as JSON Schema null
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}],
    }
    assert spec_errors(chunk, "CreateChatCompletionStreamResponse") == []
    chunk["choices"][0]["finish_reason"] = "exploded"
    assert spec_errors(chunk, "CreateChatCompletionStreamResponse")


def test_spec_is_cached_as_json(openapi_spec: Any, request: pytest.FixtureRequest) -> None:
    assert "CreateChatCompletionRequest" in openapi_spec["components"]["schemas"]
    if getattr(request.config, "cache", None) is None:
        pytest.skip("pytest's cache is disabled (-p no:cacheprovider)")
    cache_dir = Path(request.config.cache.mkdir("llmplug-openai-spec"))
    assert len(list(cache_dir.glob("openapi-*.json"))) == 1
