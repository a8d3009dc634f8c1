"""Fixtures for the Gemini plugin's tests: the official SDK's types as validators, a
hermetic environment and registry, and the providers as ``load`` builds them.

Every request body a test builds goes through ``build`` (or ``check_body``), which
validates it with the ``google-genai`` SDK's types, a test-only dependency the plugin
never imports. The SDK has no type for the wire request as a whole (its
``GenerateContentConfig`` is flattened), so each top-level field is validated with the
type the wire format uses for it (``contents`` -> ``list[Content]``,
``generationConfig`` -> ``GenerationConfig``...), and the top-level keys are checked
against the request's documented fields. Three things make that strict:

* the SDK's models refuse unknown fields (``extra="forbid"``);
* they accept snake_case names as well as the wire's camelCase: validation runs with
  ``by_alias=True, by_name=False``, so a snake_case key is an unknown field;
* the JSON text is validated (``validate_json``), so ``bytes`` fields
  (``inlineData.data``, ``thoughtSignature``) must hold valid base64, as on the wire.

The SDK's fields are plain lists (validated eagerly): nothing to walk.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llmplug.testing import fake_entry_point, isolated_registry

genai = pytest.importorskip("google.genai", reason="pip install google-genai (test group)")

from llmplug_gemini import GeminiLLM, VertexLLM  # noqa: E402

_ENV = (
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "VERTEXAI_PROJECT",
    "VERTEXAI_LOCATION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "LLMPLUG_MODEL",
    "LLMPLUG_CONFIG",
    "LLMPLUG_PLUGINS",
)

#: The top-level fields of a generateContent request body (Gemini API, Vertex AI).
REQUEST_FIELDS = frozenset(
    {
        "contents",
        "systemInstruction",
        "tools",
        "toolConfig",
        "safetySettings",
        "generationConfig",
        "cachedContent",
    }
)
VERTEX_FIELDS = REQUEST_FIELDS | {"labels"}
#: The fields of google.rpc.Status, the "error" object of every error body.
STATUS_FIELDS = frozenset({"code", "message", "status", "details"})


def _strict(adapter: Any, value: Any) -> Any:
    """Validate ``value``'s JSON text with camelCase names only.

    The SDK's enums take an unknown value with a warning (as a pseudo-member): that
    warning is a failure here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return adapter.validate_json(json.dumps(value), by_alias=True, by_name=False)
        except UserWarning as warning:
            raise AssertionError(f"the SDK warned: {warning}") from warning


class SDKTypes:
    """The SDK's types, as validators of the wire format."""

    def __init__(self) -> None:
        from pydantic import TypeAdapter

        types = genai.types
        self.types = types
        self.fields: dict[str, Any] = {
            "contents": TypeAdapter(list[types.Content]),
            "systemInstruction": TypeAdapter(types.Content),
            "tools": TypeAdapter(list[types.Tool]),
            "toolConfig": TypeAdapter(types.ToolConfig),
            "safetySettings": TypeAdapter(list[types.SafetySetting]),
            "generationConfig": TypeAdapter(types.GenerationConfig),
            "cachedContent": TypeAdapter(str),
            "labels": TypeAdapter(dict[str, str]),
        }
        self.response = TypeAdapter(types.GenerateContentResponse)

    def check_request(self, body: dict[str, Any], *, vertex: bool = False) -> dict[str, Any]:
        """Validate a request body field by field; return the validated fields."""
        allowed = VERTEX_FIELDS if vertex else REQUEST_FIELDS
        unknown = set(body) - allowed
        assert not unknown, f"unknown request fields {sorted(unknown)}"
        assert "contents" in body, "contents is required"
        return {key: _strict(self.fields[key], value) for key, value in body.items()}

    def check_response(self, data: dict[str, Any]) -> Any:
        """Validate a response body (or one stream chunk)."""
        return _strict(self.response, data)

    def check_error(self, data: dict[str, Any]) -> None:
        """Check an error body's shape: ``{"error": google.rpc.Status}``."""
        assert set(data) == {"error"}
        error = data["error"]
        assert set(error) <= STATUS_FIELDS, sorted(set(error) - STATUS_FIELDS)
        assert isinstance(error["code"], int)
        assert isinstance(error["message"], str)
        for detail in error.get("details", ()):
            assert detail["@type"].startswith("type.googleapis.com/google.rpc.")


@pytest.fixture(scope="session")
def sdk() -> SDKTypes:
    """The SDK's types (strict: unknown and snake_case keys refused)."""
    return SDKTypes()


@pytest.fixture(scope="session")
def check_body(sdk: SDKTypes) -> Callable[[Any], Any]:
    """Assert that a request body is one the SDK's types accept; return it."""

    def check(body: Any) -> Any:
        sdk.check_request(body, vertex="labels" in body)
        return body

    return check


# -- the plugin, hermetic -------------------------------------------------------------


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No API key, project or llmplug setting from the developer's environment."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("LLMPLUG_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def make() -> Callable[..., GeminiLLM]:
    """``make(model=...)``: the ``gemini`` provider as ``load`` builds it, with a test key."""

    def new(**options: Any) -> GeminiLLM:
        options.setdefault("api_key", "AIza-test-key")
        llm = GeminiLLM(**options)
        llm._provider = "gemini"
        return llm

    return new


@pytest.fixture
def make_vertex() -> Callable[..., VertexLLM]:
    """``make_vertex(...)``: the ``vertex`` provider with a fixed token and project."""

    def new(**options: Any) -> VertexLLM:
        options.setdefault("project", "my-project")
        options.setdefault("location", "us-central1")
        if not {"credentials", "token_provider", "api_key"} & set(options):
            options.setdefault("access_token", "ya29.test-token")
        llm = VertexLLM(**options)
        llm._provider = "vertex"
        return llm

    return new


@pytest.fixture
def registry() -> Iterator[Any]:
    """A fresh llmplug registry that sees this plugin's two entry points only."""
    eps = [
        fake_entry_point(name, "llmplug_gemini", dist="llmplug-gemini", version="0.1.0")
        for name in ("gemini", "vertex")
    ]
    with isolated_registry(eps, with_mock=False) as reg:
        yield reg
