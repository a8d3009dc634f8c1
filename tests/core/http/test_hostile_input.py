"""Hostile input, run against both HTTP provider plugins, sync and async.

Each section is one item of the hardening issue: deeply nested JSON, 200 bodies that
are not the documented shape, internal fields in config strings, path segments from
user input, and user input quoted in error messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

import llmplug
from llmplug import ChatMessage
from llmplug._untrusted import MAX_JSON_DEPTH, JSONDepthError, loads_json, shorten
from llmplug.errors import (
    APIError,
    BadRequestError,
    ConfigError,
    InvalidOptionError,
    LLMError,
    UnknownProviderError,
)
from llmplug.http import HTTPRequest, json_from_text, json_loads, path_segment
from llmplug.http.testing import Reply
from llmplug.testing import fake_entry_point, isolated_registry

from .conftest import EchoLLM
from .providers import HI, MODES, STREAMS, Provider, run

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def plugins() -> Iterator[None]:
    """A registry that sees the two plugins (and ``mock``), for ``llmplug.load``."""
    eps = [
        fake_entry_point("openai", "llmplug_openai", dist="llmplug-openai"),
        fake_entry_point("azure", "llmplug_openai", dist="llmplug-openai"),
        fake_entry_point("anthropic", "llmplug_anthropic", dist="llmplug-anthropic"),
    ]
    with isolated_registry(eps):
        yield


# -- 8. deeply nested JSON is a typed error, never RecursionError -------------------------


def test_json_depth_limit() -> None:
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert loads_json(ok) is not None
    assert json_loads(ok) is not None
    for text in (DEEP, DEEP.encode(), '{"a":' * 200 + "1" + "}" * 200):
        with pytest.raises(JSONDepthError):
            loads_json(text)
    with pytest.raises(ValueError, match="nested deeper"):
        json_loads(DEEP)
    # brackets inside strings do not count
    assert loads_json(f'{{"a": "{"[" * 1000}"}}') == {"a": "[" * 1000}
    assert json_from_text(DEEP) == DEEP  # left as text, for the field to refuse


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_deep_200_body(provider: Provider, mode: str) -> None:
    llm, _ = provider.mocked(
        Reply(200, body=[DEEP.encode()], headers={"content-type": "application/json"})
    )
    with pytest.raises(APIError, match="not JSON"):
        await run(llm, mode)


@pytest.mark.parametrize("mode", MODES)
async def test_deep_error_body(provider: Provider, mode: str) -> None:
    llm, _ = provider.mocked(Reply(400, body=[DEEP.encode()]))
    with pytest.raises(BadRequestError) as caught:
        await run(llm, mode)
    assert len(str(caught.value)) < 1000


@pytest.mark.parametrize("mode", STREAMS)
async def test_deep_stream_event(provider: Provider, mode: str) -> None:
    event = f"data: {DEEP}\n\n".encode()
    llm, _ = provider.mocked(
        Reply(200, body=[*provider.opening, event], headers={"content-type": "text/event-stream"})
    )
    with pytest.raises(APIError, match="could not parse"):
        await run(llm, mode)


@pytest.mark.parametrize("option", ["extra_body", "extra_headers"])
def test_deep_config_string_value(provider: Provider, plugins: None, option: str) -> None:
    with pytest.raises(ConfigError) as caught:
        llmplug.load(f"{provider.name}:{provider.model}?api_key=k&{option}={DEEP}")
    assert len(str(caught.value)) < 2000


# -- 9. a 200 body that is not the documented shape is an error --------------------------

NOT_OBJECTS = [
    pytest.param(None, id="null"),
    pytest.param([], id="empty-list"),
    pytest.param([{"choices": []}], id="list"),
    pytest.param("hello", id="string"),
    pytest.param(42, id="number"),
    pytest.param(True, id="boolean"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("body", NOT_OBJECTS)
async def test_a_body_that_is_not_an_object_is_an_error(
    provider: Provider, mode: str, body: Any
) -> None:
    # a stream request answered with plain JSON goes the same way
    import json

    reply = Reply(
        200, body=[json.dumps(body).encode()], headers={"content-type": "application/json"}
    )
    llm, _ = provider.mocked(reply)
    with pytest.raises(APIError, match="not an object"):
        await run(llm, mode)


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_an_object_without_the_reply_is_an_error(provider: Provider, mode: str) -> None:
    llm, _ = provider.mocked(Reply(200, json={"id": "x", "object": "something.else"}))
    with pytest.raises(APIError, match="could not parse"):
        await run(llm, mode)


@pytest.mark.parametrize("mode", STREAMS)
@pytest.mark.parametrize("event", ["null", "[1, 2]", '"text"', "7"])
async def test_a_stream_event_that_is_not_an_object_is_an_error(
    provider: Provider, mode: str, event: str
) -> None:
    body = [*provider.opening, f"data: {event}\n\n".encode(), *provider.closing]
    llm, _ = provider.mocked(Reply(200, body=body, headers={"content-type": "text/event-stream"}))
    with pytest.raises(APIError, match="could not parse"):
        await run(llm, mode)


# -- 10. internal fields are not options --------------------------------------------------


@pytest.mark.parametrize("field", ["transport", "async_transport", "clock"])
def test_a_config_string_cannot_set_internal_fields(
    provider: Provider, plugins: None, field: str
) -> None:
    with pytest.raises(InvalidOptionError, match="does not accept option") as caught:
        llmplug.load(f"{provider.name}:{provider.model}?api_key=k&{field}=x")
    assert caught.value.option == field
    assert field not in caught.value.valid_options


def test_an_alias_cannot_set_internal_fields(
    provider: Provider, plugins: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "llmplug.toml"
    config.write_text(f'[aliases]\nfast = "{provider.name}:{provider.model}?clock=x"\n')
    monkeypatch.setenv("LLMPLUG_CONFIG", str(config))
    with pytest.raises(InvalidOptionError, match="does not accept option 'clock'"):
        llmplug.load("fast", api_key="k")


def test_code_may_still_pass_a_transport(provider: Provider, plugins: None) -> None:
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=provider.reply))
    llm = llmplug.load(f"{provider.name}:{provider.model}", api_key="k", transport=transport)
    assert llm.chat(HI).message.content == "Hello"


# -- 11. path segments from user input --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("gpt-4o", "gpt-4o", id="plain"),
        pytest.param("a/b", "a%2Fb", id="slash"),
        pytest.param("a?b#c", "a%3Fb%23c", id="query-and-fragment"),
        pytest.param("50%", "50%25", id="percent"),
        pytest.param("...", "...", id="three-dots"),
    ],
)
def test_path_segment_encodes(value: str, expected: str) -> None:
    assert path_segment(value) == expected


@pytest.mark.parametrize("value", ["", ".", "..", "a\nb", "a\x00b"])
def test_path_segment_refuses(value: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is checked elsewhere
        path_segment(value)


class ModelInPathLLM(EchoLLM):
    """Puts the model in the path unencoded, as a careless provider might."""

    def build_request(self, messages: Any, options: dict[str, Any], *, stream: bool) -> HTTPRequest:
        request = super().build_request(messages, options, stream=stream)
        return HTTPRequest(f"/models/{self.model}/chat", json=request.json)


@pytest.mark.parametrize("mode", ["chat", "achat", "sync", "async"])
@pytest.mark.parametrize("model", ["..", "../../admin", ".", "a/%2e%2E/b", "a/./b"])
async def test_dot_segments_never_reach_the_server(
    make: Any, run: Any, mode: str, model: str
) -> None:
    llm, server = make(Reply(200, json={"text": "ok"}), cls=ModelInPathLLM, model=model)
    with pytest.raises(InvalidOptionError, match=r"'\.' or '\.\.' segment"):
        await run(llm, mode)
    assert server.requests == []


@pytest.mark.parametrize("deployment", ["..", ".", ""])
def test_azure_deployment_cannot_leave_its_path(plugins: None, deployment: str) -> None:
    pytest.importorskip("llmplug_openai")
    with pytest.raises(ConfigError):
        llmplug.load(f"azure:{deployment}?azure_endpoint=https://r.openai.azure.com", api_key="k")


@pytest.mark.parametrize("mode", MODES)
async def test_azure_per_call_deployment_is_checked(mode: str) -> None:
    from .providers import provider_named

    openai = provider_named("openai")
    from llmplug_openai import AzureOpenAILLM

    server_llm, server = openai.mocked(openai.ok(mode))
    llm = AzureOpenAILLM(
        model="dep",
        azure_endpoint="https://r.openai.azure.com",
        api_key="k",
        transport=server_llm.transport,
        async_transport=server_llm.async_transport,
    )
    with pytest.raises(InvalidOptionError, match="cannot be a name in a URL path"):
        await run(llm, mode, model="..")
    await run(llm, mode, model="team/dep")
    assert server.requests[0].url.raw_path.startswith(b"/openai/deployments/team%2Fdep/")


# -- 12. user input quoted in error messages is cut short ----------------------------------

HUGE = "a" * 1_000_000


def test_shorten() -> None:
    assert shorten("abc") == "'abc'"
    text = shorten(HUGE)
    assert len(text) < 120
    assert "1000000 characters" in text


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(HUGE, id="provider-name"),
        pytest.param(f"{HUGE.upper()}:m", id="bad-provider-name"),
        pytest.param(f"mock?{HUGE}=1", id="option-name"),
        pytest.param(f"mock?{HUGE}", id="option-without-value"),
        pytest.param(f"mock?a=1&a={HUGE}", id="option-twice"),
    ],
)
def test_huge_input_in_a_config_string(plugins: None, spec: str) -> None:
    with pytest.raises(ConfigError) as caught:
        llmplug.load(spec)
    assert len(str(caught.value)) < 2000


def test_huge_provider_name_is_unknown_quickly(plugins: None) -> None:
    with pytest.raises(UnknownProviderError) as caught:
        llmplug.load(HUGE)
    assert len(str(caught.value)) < 2000
    assert caught.value.name == HUGE  # the attribute keeps the whole name


def test_huge_option_name_as_a_keyword(provider: Provider, plugins: None) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        llmplug.load(f"{provider.name}:{provider.model}", api_key="k", **{HUGE: 1})
    assert len(str(caught.value)) < 2000


@pytest.mark.parametrize("mode", MODES)
async def test_huge_per_call_option_name(provider: Provider, mode: str) -> None:
    llm, _ = provider.mocked(provider.ok(mode))
    with pytest.raises(InvalidOptionError) as caught:
        await run(llm, mode, **{HUGE: 1})
    assert len(str(caught.value)) < 2000


def test_huge_model_name_with_a_bad_option(plugins: None) -> None:
    with pytest.raises(LLMError) as caught:
        llmplug.load(f"mock:{HUGE}?nope=1")
    assert len(str(caught.value)) < 2000


def test_messages_still_name_short_input(plugins: None) -> None:
    with pytest.raises(InvalidOptionError, match=r"'temprature' \(did you mean 'temperature'\?\)"):
        llmplug.load("openai:gpt-4o-mini?temprature=0", api_key="k")


def test_chat_message_is_unaffected() -> None:
    # the limits are on what errors quote, not on what is sent
    assert ChatMessage(role="user", content=HUGE).content == HUGE
