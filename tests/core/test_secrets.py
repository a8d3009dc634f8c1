"""Secret names are recognised by whole words; secrets never reach error messages."""

from __future__ import annotations

import pytest
from pydantic import Field

from llmplug._secrets import is_secret_name, redact_query
from llmplug.config._spec import parse_spec
from llmplug.errors import ConfigError

CANARY = "sk-CANARY-0123456789"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        pytest.param("api_key", True, id="api_key"),
        pytest.param("apiKey", True, id="camel"),
        pytest.param("OPENAI_API_KEY", True, id="env"),
        pytest.param("x-api-key", True, id="header"),
        pytest.param("access_token", True, id="token"),
        pytest.param("client_secret", True, id="secret"),
        pytest.param("password", True, id="password"),
        pytest.param("max_tokens", False, id="max_tokens"),
        pytest.param("top_k", False, id="top_k"),
        pytest.param("keyword", False, id="keyword"),
        pytest.param("temperature", False, id="temperature"),
    ],
)
def test_is_secret_name(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_redact_query_keeps_other_options() -> None:
    text = f"openai:gpt-4o?api_key={CANARY}&temperature=0&token={CANARY}"
    assert redact_query(text) == "openai:gpt-4o?api_key=<redacted>&temperature=0&token=<redacted>"


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(f"openai:gpt?api_key={CANARY}&oops", id="bad-option"),
        pytest.param(f"openai:gpt?api_key={CANARY}&api_key=x", id="duplicate"),
        pytest.param(f"Openai?api_key={CANARY}", id="bad-provider"),
        pytest.param(f"openai:?api_key={CANARY}", id="empty-model"),
    ],
)
def test_parse_errors_never_echo_a_secret(spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_spec(spec)
    assert CANARY not in str(info.value)


@pytest.mark.parametrize(
    "name", ["auth", "authorization", "credentials", "passwd", "api_keys", "cookie"]
)
def test_more_secret_names(name: str) -> None:
    assert is_secret_name(name)


def test_bad_option_part_is_redacted() -> None:
    with pytest.raises(ConfigError) as info:
        parse_spec(f"mock?api-key={CANARY}")
    assert CANARY not in str(info.value)


def test_model_spec_repr_hides_secret_options() -> None:
    from llmplug.config._spec import ModelSpec

    spec = parse_spec(f"openai:gpt-4o?api_key={CANARY}&temperature=0")
    assert CANARY not in repr(spec)
    assert "temperature" in repr(spec)
    assert isinstance(spec, ModelSpec)


def test_nested_secret_in_a_bad_option_value_is_redacted() -> None:
    from typing import Any

    import llmplug
    from llmplug import ChatLLM, LLMMetadata
    from llmplug.errors import InvalidOptionError
    from llmplug.testing import isolated_registry

    class Http(ChatLLM):
        default_headers: dict[str, str] = Field(default_factory=dict)

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata()

        def chat(self, messages: Any, **kwargs: Any) -> Any:
            raise AssertionError

        def stream_chat(self, messages: Any, **kwargs: Any) -> Any:
            raise AssertionError

    class Plugin:
        @llmplug.hookimpl
        def register_providers(self, register: Any) -> None:
            register("http", Http)

    with isolated_registry():
        name = llmplug.register_plugin(Plugin())
        try:
            spec = 'http?default_headers={"Authorization": "Bearer ' + CANARY + '", "X-Retry": 3}'
            with pytest.raises(InvalidOptionError) as info:
                llmplug.load(spec)
        finally:
            llmplug.unregister_plugin(name)
    error: BaseException | None = info.value
    while error is not None:
        assert CANARY not in str(error)
        error = error.__cause__ or error.__context__
