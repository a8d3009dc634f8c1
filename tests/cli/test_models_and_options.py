"""``llmplug models`` and ``llmplug options``, run for real."""

from __future__ import annotations

import json

import pytest

from .conftest import Env, Loopback

TABLE_PLUGIN = '''
from typing import ClassVar
import llmplug
from llmplug import Capabilities, ChatLLM, ChatMessage, ChatResponse, LLMMetadata, ModelInfo
from llmplug.errors import APIError

LLMPLUG_PLUGIN_API = 1


class TableLLM(ChatLLM):
    """A provider with a model table.

    Attributes:
        model: Which model.
        depth: How deep to think, 1 to 3.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(model_listing=True)
    per_call_options: ClassVar[tuple[str, ...]] = ("depth",)
    model: str = "t-1"
    depth: int = 1
    fail: bool = False

    @classmethod
    def known_models(cls):
        return [ModelInfo(id="t-1", context_window=8192, max_output_tokens=1024,
                          display_name="Table One"), ModelInfo(id="t-2")]

    def list_models(self):
        if self.fail:
            raise APIError("the listing is down", provider="table")
        return [ModelInfo(id="t-live")]

    @property
    def metadata(self):
        return LLMMetadata(model_name=self.model)

    def chat(self, messages, **kwargs):
        return ChatResponse(message=ChatMessage(role="assistant", content="hi"))

    def stream_chat(self, messages, **kwargs):
        yield self.chat(messages)


@llmplug.hookimpl
def register_providers(register):
    register("table", TableLLM, description="A provider with a model table.")
'''


@pytest.fixture
def table(env: Env) -> Env:
    modules = {"llmplug_table.py": TABLE_PLUGIN}
    env.install("llmplug-table", modules, {"llmplug.providers": {"table": "llmplug_table"}})
    return env


def test_models_lists_every_installed_providers_table(table: Env) -> None:
    result = table.run("models")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["MODEL", "CONTEXT", "OUTPUT", "ABOUT"]
    assert ["table:t-1", "8,192", "1,024", "Table", "One"] in [line.split() for line in lines]
    assert "table:t-2" in result.out
    assert "mock:mock-echo" in result.out


def test_models_of_one_provider_as_json(table: Env) -> None:
    result = table.run("models", "-p", "table", "--json")
    assert result.code == 0, result.err
    (entry,) = json.loads(result.out)
    assert entry["provider"] == "table"
    assert entry["live"] is False
    assert entry["error"] is None
    assert [m["id"] for m in entry["models"]] == ["t-1", "t-2"]
    assert entry["models"][0]["context_window"] == 8192
    assert "raw" not in entry["models"][0]


def test_models_live_asks_the_provider(table: Env) -> None:
    result = table.run("models", "--live", "-p", "table")
    assert result.code == 0, result.err
    assert "table:t-live" in result.out
    assert "t-1" not in result.out


def test_models_live_over_http(env: Env, loopback: Loopback) -> None:
    spec = f"openai?base_url={loopback.url}"
    result = env.run("models", "--live", "-p", spec, "--json")
    assert result.code == 0, result.err
    (entry,) = json.loads(result.out)
    assert [m["id"] for m in entry["models"]] == ["loop-large", "loop-small"]
    request = loopback.requests[0]
    assert (request["method"], request["path"]) == ("GET", "/v1/models")
    table = env.run("models", "--live", "-p", spec)
    assert (
        f"openai:loop-small?base_url={loopback.url.replace(':', '%3A').replace('/', '%2F')}"
        in table.out
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["--live"], 2, "name the provider", id="live-needs-p"),
        pytest.param(["--live", "-p", "mock"], 2, "no model-listing endpoint", id="no-listing"),
        pytest.param(["--live", "-p", "table?fail=true"], 1, "the listing is down", id="api-error"),
        pytest.param(["-p", "nosuch"], 2, "unknown provider 'nosuch'", id="unknown"),
        pytest.param(["--live", "-p", "groq"], 2, "GROQ_API_KEY", id="no-key"),
        pytest.param(["-o", "depth", "2"], 2, "-o options are for --live", id="options-not-live"),
    ],
)
def test_models_errors(table: Env, args: list[str], code: int, message: str) -> None:
    result = table.run("models", *args)
    assert result.code == code
    assert message in result.err


def test_a_broken_provider_does_not_hide_the_others(table: Env) -> None:
    table.install(
        "llmplug-crashing",
        {"llmplug_crashing.py": "raise RuntimeError('crashing on import')\n"},
        {"llmplug.providers": {"crashing": "llmplug_crashing"}},
    )
    result = table.run("models")
    assert result.code == 0
    assert "table:t-1" in result.out
    assert "llmplug: warning: crashing: plugin 'crashing'" in result.err
    assert "crashing on import" in result.err


def test_options_shows_fields_defaults_and_descriptions(table: Env) -> None:
    result = table.run("options", "table")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "table: A provider with a model table."
    assert "model: str = 't-1'" in lines
    assert "depth: int = 1  [per call]" in lines
    assert "    How deep to think, 1 to 3." in lines
    assert "system_prompt: str | None = None" in lines
    assert lines[-1] == "A call may override: depth (llm.chat(messages, NAME=...))."


def test_options_of_an_http_provider(env: Env) -> None:
    result = env.run("options", "openai")
    assert result.code == 0, result.err
    assert "API key: OPENAI_API_KEY (not set; llmplug keys set OPENAI_API_KEY)" in result.out
    assert "temperature: float | None (>= 0.0, <= 2.0) = None  [per call]" in result.out
    assert "api_key: SecretStr | None = None  [secret]" in result.out
    assert "timeout, max_retries" in result.out.splitlines()[-1]


def test_options_as_json(table: Env) -> None:
    data = json.loads(table.run("options", "table", "--json").out)
    assert data["provider"] == "table"
    depth = next(o for o in data["options"] if o["name"] == "depth")
    assert depth == {
        "name": "depth",
        "type": "int",
        "required": False,
        "default": 1,
        "description": "How deep to think, 1 to 3.",
        "per_call": True,
        "secret": False,
    }


def test_options_of_an_unknown_provider(env: Env) -> None:
    result = env.run("options", "mokc")
    assert result.code == 2
    assert "Did you mean 'mock'?" in result.err
