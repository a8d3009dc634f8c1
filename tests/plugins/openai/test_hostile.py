"""Hostile input and secrets, the plugin's own part (the core's is in tests/core/http).

Bodies and chunks that are not the documented shape are refused by the plugin's
parsers (the runtime reports them as ``APIError``); a Bearer key and credentials in
``base_url`` cannot both be sent; an Azure deployment name never leaves its path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import llmplug
from llmplug import ChatMessage
from llmplug.errors import APIError, ConfigError, InvalidOptionError
from llmplug.http import ServerEvent
from llmplug.http.testing import MockServer, Reply
from llmplug_openai import AzureOpenAILLM, OpenAILLM

from . import wire_data as w

HI = [ChatMessage(role="user", content="Hi")]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(None, id="null"),
        pytest.param([w.TEXT], id="list"),
        pytest.param("Hello", id="string"),
        pytest.param(3, id="number"),
        pytest.param({"object": "chat.completion"}, id="no-choices"),
        pytest.param({"choices": "Hello"}, id="choices-not-a-list"),
        pytest.param({"choices": ["Hello"]}, id="choice-not-an-object"),
        pytest.param({"choices": [{"message": None}]}, id="message-null"),
    ],
)
def test_parse_response_refuses_other_shapes(make: Callable[..., OpenAILLM], body: Any) -> None:
    with pytest.raises(ValueError, match=r"not a chat\.completion"):
        make().parse_response(body)


def test_an_empty_choices_list_stays_an_empty_reply(make: Callable[..., OpenAILLM]) -> None:
    assert make().parse_response({"choices": []}).message.blocks == []


@pytest.mark.parametrize("data", ["null", "[1]", '"text"', "7"])
def test_parse_event_refuses_other_shapes(make: Callable[..., OpenAILLM], data: str) -> None:
    llm = make()
    with pytest.raises(ValueError, match=r"not a chat\.completion\.chunk"):
        llm.parse_event(ServerEvent(data), llm.start_stream())


@pytest.mark.parametrize("body", [[w.TEXT], "Hello", 3])
async def test_such_a_body_is_an_api_error(body: Any) -> None:
    server = MockServer(Reply(200, json=body))
    llm = OpenAILLM(
        api_key="k", transport=server.transport(), async_transport=server.async_transport()
    )
    with pytest.raises(APIError):
        llm.chat(HI)
    with pytest.raises(APIError):
        await llm.achat(HI)


@pytest.mark.parametrize("name", ["openai", "groq", "vllm"])
def test_bearer_key_and_url_credentials_are_refused(
    make: Callable[..., OpenAILLM], name: str
) -> None:
    with pytest.raises(InvalidOptionError, match="carries only one") as caught:
        make(name, model="m", api_key="sk-1", base_url="https://u:secret-pw@h.test/v1")
    assert "secret-pw" not in str(caught.value)


def test_url_credentials_without_a_key(make: Callable[..., OpenAILLM]) -> None:
    llm = make(api_key="", base_url="https://u:pw@h.test/v1")
    assert "Authorization" not in llm.headers()  # the runtime adds Basic when sending


def test_key_is_stripped(make: Callable[..., OpenAILLM], monkeypatch: pytest.MonkeyPatch) -> None:
    assert make(api_key="sk-1\n").headers()["Authorization"] == "Bearer sk-1"
    monkeypatch.setenv("GROQ_API_KEY", "gsk-2\n")
    assert make("groq", model="m", api_key=None).headers()["Authorization"] == "Bearer gsk-2"


@pytest.mark.parametrize("deployment", ["..", "."])
def test_azure_deployment_cannot_be_a_dot_segment(registry: Any, deployment: str) -> None:
    with pytest.raises(ConfigError, match="cannot be a name in a URL path"):
        llmplug.load(f"azure:{deployment}?azure_endpoint=https://r.openai.azure.com&api_key=k")


def test_azure_deployment_with_a_slash_is_encoded(registry: Any) -> None:
    llm = llmplug.load("azure:a/b?azure_endpoint=https://r.openai.azure.com&api_key=k")
    assert llm.base_url == "https://r.openai.azure.com/openai/deployments/a%2Fb"


def test_azure_per_call_deployment_is_checked() -> None:
    llm = AzureOpenAILLM(model="dep", azure_endpoint="https://r.openai.azure.com", api_key="k")
    with pytest.raises(InvalidOptionError, match="cannot be a name in a URL path"):
        llm.build_request(HI, {"model": ".."}, stream=False)
