"""Hostile input and secrets, the plugin's own part (the core's is in tests/core/http).

Bodies and events that are not the documented shape are refused by the plugin's
parsers (the runtime reports them as ``APIError``), a key with a trailing newline is
sent stripped, and credentials in ``base_url`` go along with the ``x-api-key``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from llmplug import ChatMessage
from llmplug.errors import APIError, InvalidOptionError
from llmplug.http import ServerEvent
from llmplug.http.testing import MockServer, Reply
from llmplug_anthropic import AnthropicLLM

from . import wire_data as w

HI = [ChatMessage(role="user", content="Hi")]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(None, id="null"),
        pytest.param([w.TEXT], id="list"),
        pytest.param("Hello", id="string"),
        pytest.param(3, id="number"),
        pytest.param({"type": "message"}, id="no-content"),
        pytest.param({**w.TEXT, "content": "Hello"}, id="content-not-a-list"),
    ],
)
def test_parse_response_refuses_other_shapes(make: Callable[..., AnthropicLLM], body: Any) -> None:
    with pytest.raises(ValueError, match="not a message"):
        make().parse_response(body)


@pytest.mark.parametrize("data", ["null", "[1]", '"ping"', "7"])
def test_parse_event_refuses_other_shapes(make: Callable[..., AnthropicLLM], data: str) -> None:
    llm = make()
    with pytest.raises(ValueError, match="not a JSON object"):
        llm.parse_event(ServerEvent(data), llm.start_stream())


@pytest.mark.parametrize("body", [None, [w.TEXT], "Hello", 3])
async def test_such_a_body_is_an_api_error(body: Any) -> None:
    server = MockServer(Reply(200, json=body) if body is not None else Reply(200, body=[b"null"]))
    llm = AnthropicLLM(
        api_key="k", transport=server.transport(), async_transport=server.async_transport()
    )
    with pytest.raises(APIError):
        llm.chat(HI)
    with pytest.raises(APIError):
        await llm.achat(HI)


def test_key_is_stripped(
    make: Callable[..., AnthropicLLM], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert make(api_key="sk-ant-1\n").headers()["x-api-key"] == "sk-ant-1"
    monkeypatch.setenv("ANTHROPIC_API_KEY", " sk-ant-2\r\n")
    assert AnthropicLLM().headers()["x-api-key"] == "sk-ant-2"


def test_key_with_a_line_break_inside_is_refused(make: Callable[..., AnthropicLLM]) -> None:
    with pytest.raises(InvalidOptionError, match="line break") as caught:
        make(api_key="sk-ant\n-1234567")
    assert "1234567" not in str(caught.value)


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_url_credentials_go_along_with_the_key(mode: str) -> None:
    server = MockServer(Reply(200, json=w.TEXT))
    llm = AnthropicLLM(
        api_key="sk-ant-1",
        base_url="https://gw-user:gw-pass@gateway.example.test",
        transport=server.transport(),
        async_transport=server.async_transport(),
    )
    if mode == "chat":
        llm.chat(HI)
    else:
        await llm.achat(HI)
    sent = server.requests[0].headers
    assert sent["x-api-key"] == "sk-ant-1"
    assert sent["authorization"] == "Basic " + base64.b64encode(b"gw-user:gw-pass").decode()
