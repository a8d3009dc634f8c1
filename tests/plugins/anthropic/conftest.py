"""Fixtures for the Anthropic plugin's tests: the official SDK's types as validators, a
hermetic environment and registry, and the provider as ``load`` builds it.

Every request body a test builds goes through ``build`` (or ``check_body``), which
validates it with the ``anthropic`` SDK's request types
(``MessageCreateParamsNonStreaming`` / ``MessageCreateParamsStreaming``). The SDK is a
test-only dependency; the plugin never imports it.

Two things make that validation strict:

* the request types are TypedDicts whose list fields are ``Iterable[...]``, which
  pydantic validates lazily: every iterable in the result is walked (turned into a list,
  recursively) to force the validation of every nested block, with the ``TypeAdapter``
  kept alive meanwhile (iterating after it was garbage-collected crashed pydantic-core);
* TypedDicts ignore unknown keys, so each of the SDK's TypedDicts is configured with
  ``extra="forbid"`` for the session: a misspelt ``cache_contrl`` fails;
* message content also takes the SDK's response models (lenient about extra keys): a
  block only they accept fails the walk.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pytest

from llmplug.testing import fake_entry_point, isolated_registry

anthropic = pytest.importorskip("anthropic", reason="pip install anthropic (test group)")

import llmplug_anthropic  # noqa: E402
from llmplug_anthropic import AnthropicLLM  # noqa: E402

#: The API's sampling fields, which SDK 1.0 dropped from its typed parameters (the API
#: still takes them for models before Claude Opus 4.7): checked here instead.
SAMPLING_RANGES = {"temperature": (0.0, 1.0), "top_p": (0.0, 1.0), "top_k": (1, None)}

_ENV = ("ANTHROPIC_API_KEY", "LLMPLUG_MODEL", "LLMPLUG_CONFIG", "LLMPLUG_PLUGINS")


# -- the SDK's types ------------------------------------------------------------------


def _forbid_extra_keys() -> None:
    from typing_extensions import is_typeddict

    types = importlib.import_module("anthropic.types")
    for info in pkgutil.walk_packages(types.__path__, "anthropic.types."):
        if ".beta" in info.name:
            continue
        for value in vars(importlib.import_module(info.name)).values():
            if is_typeddict(value):
                config = dict(getattr(value, "__pydantic_config__", None) or {})
                config["extra"] = "forbid"
                value.__pydantic_config__ = config


def _walk(value: Any) -> Any:
    """``value`` with every iterable turned into a list, recursively (forces validation).

    Message content also accepts the SDK's *response* blocks (pydantic models, which
    take any extra key): a block that validated only as one of those is not a valid
    request block, so it fails here.
    """
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        raise AssertionError(
            f"not a valid request block (only a response model took it): {value!r}"
        )
    if isinstance(value, Mapping):
        return {key: _walk(item) for key, item in value.items()}
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, Iterable):
        return [_walk(item) for item in value]
    return value


class SDKTypes:
    """The SDK's request and response types, as validators."""

    def __init__(self) -> None:
        from pydantic import TypeAdapter

        _forbid_extra_keys()
        params = importlib.import_module("anthropic.types.message_create_params")
        types = importlib.import_module("anthropic.types")
        self.requests = {
            False: TypeAdapter(params.MessageCreateParamsNonStreaming),
            True: TypeAdapter(params.MessageCreateParamsStreaming),
        }
        self.message = types.Message
        self.events = TypeAdapter(types.RawMessageStreamEvent)
        self.error = types.ErrorResponse

    def check_request(self, body: dict[str, Any]) -> dict[str, Any]:
        """Validate a request body; return it as validated (lists, not iterables)."""
        body = dict(body)
        for name, (low, high) in SAMPLING_RANGES.items():
            if name in body:
                value = body.pop(name)
                assert isinstance(value, int | float), name
                assert not isinstance(value, bool), name
                assert value >= low, f"{name}={value}"
                assert high is None or value <= high, f"{name}={value}"
        adapter = self.requests[bool(body.get("stream"))]
        validated = adapter.validate_python(body)
        walked: dict[str, Any] = _walk(validated)  # while ``adapter`` is alive
        return walked

    def check_event(self, event: dict[str, Any]) -> Any:
        """Validate one stream event (``ping`` and ``error`` are not in the SDK's union)."""
        kind = event.get("type")
        if kind == "ping":
            assert event == {"type": "ping"}
            return event
        if kind == "error":
            return self.error.model_validate(event)
        return self.events.validate_python(event)


@pytest.fixture(scope="session")
def sdk() -> SDKTypes:
    """The SDK's types (strict: unknown keys refused)."""
    return SDKTypes()


@pytest.fixture(scope="session")
def check_body(sdk: SDKTypes) -> Callable[[Any], Any]:
    """Assert that a request body is one the SDK's request types accept; return it."""

    def check(body: Any) -> Any:
        sdk.check_request(body)
        return body

    return check


# -- the plugin, hermetic -------------------------------------------------------------


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No API key or llmplug setting from the developer's environment."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("LLMPLUG_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def make() -> Callable[..., AnthropicLLM]:
    """``make(model=...)``: the provider as ``load`` builds it, with a test key."""

    def new(**options: Any) -> AnthropicLLM:
        options.setdefault("api_key", "sk-ant-test")
        llm = AnthropicLLM(**options)
        llm._provider = "anthropic"
        return llm

    return new


@pytest.fixture
def registry() -> Iterator[Any]:
    """A fresh llmplug registry that sees this plugin's entry point only."""
    ep = fake_entry_point(
        "anthropic", "llmplug_anthropic", dist="llmplug-anthropic", version="0.1.0"
    )
    with isolated_registry([ep], with_mock=False) as reg:
        yield reg


@pytest.fixture
def plugin() -> Any:
    """The plugin module."""
    return llmplug_anthropic
