"""Fixtures for the Ollama plugin's tests: the official ``ollama`` package's types as
validators, a hermetic environment, and the provider as ``load`` builds it.

Every request body a test builds goes through ``build`` / ``build_completion`` (or
``check_body``), which validates it with the ``ollama`` package's request types
(``ChatRequest``, ``GenerateRequest``, ``Message``, ``Options``, ``Tool``). The package is
a test-only dependency; the plugin never imports it.

The types are pydantic models that ignore unknown keys, and some fields are unions with
a plain ``Mapping`` that a dict always matches (``messages``, ``options``). So a body is
checked by a round trip: validated, dumped again (set fields only), and compared with
what was sent. A misspelt or unknown key is dropped by the round trip and fails the
comparison; each message and the ``options`` object are checked the same way with their
own types. Two documented exceptions are checked by hand: ``min_p`` (in the API's option
list and OpenAPI file, not in the package's ``Options``) and the JSON schema inside a
tool's ``parameters``, whose keys the package's narrow ``Property`` type does not know
(the server reads what it knows of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llmplug import ChatMessage
from llmplug.testing import fake_entry_point, isolated_registry

ollama_types = pytest.importorskip("ollama._types", reason="pip install ollama (test group)")

import llmplug_ollama  # noqa: E402
from llmplug_ollama import OllamaLLM  # noqa: E402

_ENV = (
    "OLLAMA_HOST",
    "OLLAMA_API_KEY",
    "LLMPLUG_MODEL",
    "LLMPLUG_CONFIG",
    "LLMPLUG_PLUGINS",
)
_THINK_LEVELS = ("low", "medium", "high")
_SCHEMA_KEYS = {"type", "$defs", "items", "required", "properties"}


def _round_trip(cls: Any, data: dict[str, Any]) -> Any:
    """Validate ``data`` with ``cls``; assert that nothing was dropped or changed."""
    validated = cls.model_validate(data)
    dumped = validated.model_dump(mode="json", exclude_unset=True, by_alias=True)
    assert dumped == data, f"{cls.__name__} does not take this as it is:\n{data}\n{dumped}"
    return validated


def _with_images(data: dict[str, Any]) -> dict[str, Any]:
    # the package's Image type wraps each base64 string; it dumps back to the string
    if "images" not in data:
        return data
    return {**data, "images": [ollama_types.Image(value=i) for i in data["images"]]}


class SDKTypes:
    """The ``ollama`` package's types, as strict validators."""

    def check_message(self, message: dict[str, Any]) -> None:
        assert isinstance(message.get("content"), str), message
        assert message["role"] in ("system", "user", "assistant", "tool"), message
        validated = ollama_types.Message.model_validate(_with_images(message))
        dumped = validated.model_dump(mode="json", exclude_unset=True, by_alias=True)
        assert dumped == message, f"Message does not take {message}: {dumped}"

    def check_options(self, options: dict[str, Any]) -> None:
        options = dict(options)
        min_p = options.pop("min_p", None)
        if min_p is not None:  # the API's option list and OpenAPI file: a number, 0 to 1
            assert isinstance(min_p, float | int)
            assert not isinstance(min_p, bool)
            assert 0 <= min_p <= 1
        _round_trip(ollama_types.Options, options)

    def check_tool(self, tool: dict[str, Any]) -> None:
        ollama_types.Tool.model_validate(tool)
        assert set(tool) == {"type", "function"}, tool
        assert tool["type"] == "function", tool
        function = tool["function"]
        assert set(function) <= {"name", "description", "parameters"}, function
        assert isinstance(function["name"], str)
        assert function["name"]
        assert set(function.get("parameters", {})) <= _SCHEMA_KEYS, function

    def _common(self, body: dict[str, Any]) -> None:
        assert isinstance(body["stream"], bool), (
            "stream is always sent (the API streams by default)"
        )
        if "options" in body:
            self.check_options(body["options"])
        think = body.get("think")
        assert think is None or isinstance(think, bool) or think in _THINK_LEVELS, think
        fmt = body.get("format")
        assert fmt is None or fmt == "json" or isinstance(fmt, dict), fmt

    def check_chat(self, body: dict[str, Any]) -> None:
        # tools: the JSON schema in their parameters is checked by check_tool
        _round_trip(ollama_types.ChatRequest, {k: v for k, v in body.items() if k != "tools"})
        for message in body["messages"]:
            self.check_message(message)
        for tool in body.get("tools") or ():
            self.check_tool(tool)
        self._common(body)

    def check_generate(self, body: dict[str, Any]) -> None:
        validated = ollama_types.GenerateRequest.model_validate(_with_images(body))
        dumped = validated.model_dump(mode="json", exclude_unset=True, by_alias=True)
        assert dumped == body, f"GenerateRequest does not take {body}: {dumped}"
        self._common(body)

    def check_response(self, data: dict[str, Any]) -> None:
        kind = ollama_types.ChatResponse if "message" in data else ollama_types.GenerateResponse
        validated = kind.model_validate(data)
        dumped = validated.model_dump(mode="json", exclude_unset=True, by_alias=True)
        if "message" in data:  # its images, when null, stay null; its own keys are checked
            self.check_message({k: v for k, v in data["message"].items() if v is not None})
            dumped["message"] = data["message"]
        assert dumped == data, f"{kind.__name__} does not take {data}: {dumped}"


@pytest.fixture(scope="session")
def sdk() -> SDKTypes:
    """The package's types (strict: unknown keys refused)."""
    return SDKTypes()


@pytest.fixture(scope="session")
def check_body(sdk: SDKTypes) -> Callable[[Any], Any]:
    """Assert that a chat or generate body is one the package's types accept."""

    def check(body: Any) -> Any:
        if "messages" in body:
            sdk.check_chat(body)
        else:
            sdk.check_generate(body)
        return body

    return check


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No Ollama or llmplug setting from the developer's environment."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("LLMPLUG_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture(autouse=True)
def _no_cached_details() -> Iterator[None]:
    """Each test starts with no /api/show answer cached."""
    from llmplug_ollama import _server

    _server._details.clear()
    yield
    _server._details.clear()


@pytest.fixture
def make() -> Callable[..., OllamaLLM]:
    """``make(model=...)``: the provider as ``load`` builds it (no metadata requests)."""

    def new(**options: Any) -> OllamaLLM:
        options.setdefault("fetch_metadata", False)
        llm = OllamaLLM(**options)
        llm._provider = "ollama"
        return llm

    return new


@pytest.fixture
def build_completion(check_body: Callable[[Any], Any]) -> Callable[..., Any]:
    """``build_completion(llm, prompt, stream=False, formatted=False, **options)``."""

    def run(
        llm: OllamaLLM,
        prompt: str = "Hi",
        *,
        stream: bool = False,
        formatted: bool = False,
        **options: Any,
    ) -> Any:
        request = llm.build_completion_request(prompt, options, stream=stream, formatted=formatted)
        check_body(request.json)
        return request

    return run


@pytest.fixture
def registry() -> Iterator[Any]:
    """A fresh llmplug registry that sees this plugin's entry point only."""
    ep = fake_entry_point("ollama", "llmplug_ollama", dist="llmplug-ollama", version="0.1.0")
    with isolated_registry([ep], with_mock=False) as reg:
        yield reg


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


@pytest.fixture
def plugin() -> Any:
    """The plugin module."""
    return llmplug_ollama
