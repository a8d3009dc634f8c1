"""The validators themselves, and every fixture read by the ``ollama`` package's types.

Without the first half, a validator that accepts everything would make every "the
package accepts it" check in the other modules pass.
"""

from __future__ import annotations

from typing import Any

import pytest

from . import wire_data as w
from .conftest import SDKTypes, ollama_types

CHAT = {"model": "llama3.2", "messages": [{"role": "user", "content": "Hi"}], "stream": False}
GENERATE = {"model": "llama3.2", "prompt": "Hi", "stream": False}


def test_plain_bodies_pass(sdk: SDKTypes) -> None:
    sdk.check_chat(CHAT)
    sdk.check_generate(GENERATE)
    sdk.check_chat({**CHAT, "options": {"temperature": 0.2, "min_p": 0.05, "stop": ["\n"]}})
    sdk.check_generate({**GENERATE, "images": ["iVBORw0KGgo="], "suffix": "x", "raw": True})


def _message(**fields: Any) -> dict[str, Any]:
    return {**CHAT, "messages": [{"role": "user", "content": "x", **fields}]}


@pytest.mark.parametrize(
    ("check", "body"),
    [
        pytest.param("chat", {**CHAT, "stram": False}, id="unknown-top-level-key"),
        pytest.param("chat", {**CHAT, "options": {"temprature": 0}}, id="unknown-option"),
        pytest.param("chat", {**CHAT, "options": {"num_ctx": "big"}}, id="option-type"),
        pytest.param("chat", {**CHAT, "options": {"min_p": 2}}, id="min-p-range"),
        pytest.param("chat", _message(tool_call_id="c1"), id="unknown-message-key"),
        pytest.param("chat", _message(images=["not base64!"]), id="image-not-base64"),
        pytest.param(
            "chat", {**CHAT, "messages": [{"role": "wizard", "content": "x"}]}, id="unknown-role"
        ),
        pytest.param("chat", {**CHAT, "think": "maximum"}, id="think-level"),
        pytest.param(
            "chat",
            {
                **CHAT,
                "messages": [
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}],
                    }
                ],
            },
            id="tool-arguments-as-text",
        ),
        pytest.param(
            "chat",
            {**CHAT, "tools": [{"type": "function", "function": {"name": "f", "params": {}}}]},
            id="tool-misspelt-parameters",
        ),
        pytest.param("chat", {**CHAT, "stream": None}, id="stream-unset"),
        pytest.param("generate", {**GENERATE, "sufix": "x"}, id="generate-unknown-key"),
        pytest.param("generate", {**GENERATE, "raw": "yes"}, id="generate-raw-type"),
    ],
)
def test_bad_bodies_fail(sdk: SDKTypes, check: str, body: dict[str, Any]) -> None:
    with pytest.raises((AssertionError, ValueError)):
        (sdk.check_chat if check == "chat" else sdk.check_generate)(body)


@pytest.mark.parametrize(
    "fixture",
    [
        pytest.param(w.CHAT, id="chat"),
        pytest.param(w.CHAT_TOOL_CALL, id="chat-tool-call"),
        pytest.param(w.CHAT_THINKING, id="chat-thinking"),
        pytest.param(w.CHAT_STRUCTURED, id="chat-structured"),
        pytest.param(w.CHAT_LOGPROBS, id="chat-logprobs"),
        pytest.param(w.CHAT_DONE, id="chat-done"),
        *(pytest.param(e, id=f"chat-stream-{i}") for i, e in enumerate(w.CHAT_STREAM)),
        *(pytest.param(e, id=f"thinking-stream-{i}") for i, e in enumerate(w.THINKING_STREAM)),
        *(pytest.param(e, id=f"tool-stream-{i}") for i, e in enumerate(w.TOOL_STREAM)),
        pytest.param(w.GENERATE, id="generate"),
        pytest.param(w.GENERATE_SUFFIX, id="generate-suffix"),
        *(pytest.param(e, id=f"generate-stream-{i}") for i, e in enumerate(w.GENERATE_STREAM)),
    ],
)
def test_response_fixtures_are_what_the_package_reads(sdk: SDKTypes, fixture: Any) -> None:
    sdk.check_response(fixture)


def test_a_response_with_an_unknown_key_fails(sdk: SDKTypes) -> None:
    with pytest.raises(AssertionError):
        sdk.check_response({**w.CHAT, "finish_reason": "stop"})


def _exact(cls: Any, data: Any) -> None:
    dumped = cls.model_validate(data).model_dump(mode="json", exclude_unset=True, by_alias=True)
    # timestamps come back in microseconds (Python's datetime); every key must survive
    assert set(dumped) == set(data)
    assert {k: v for k, v in dumped.items() if k != "modified_at"} == {
        k: v for k, v in data.items() if k != "modified_at"
    }


def test_model_fixtures_are_what_the_package_reads() -> None:
    _exact(ollama_types.ShowResponse, w.SHOW)
    _exact(ollama_types.ShowResponse, w.SHOW_TOOLS)
    for entry in w.TAGS["models"]:
        validated = ollama_types.ListResponse.Model.model_validate(entry)
        assert validated.model == entry["model"]
        assert validated.details is not None
    for event in w.PULL_STREAM:
        _exact(ollama_types.ProgressResponse, event)
    for error in (w.NOT_PULLED, w.SHOW_NOT_FOUND, w.STREAM_ERROR, w.PULL_ERROR):
        assert set(error) == {"error"}
        assert ollama_types.ResponseError(str(error["error"])).error == error["error"]
