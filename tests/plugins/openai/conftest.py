"""Fixtures for the OpenAI plugin's tests: the official OpenAPI spec as a validator, a
hermetic environment and registry, and the plugin's providers as ``load`` builds them.

Every request body a test builds goes through ``build`` (or ``check_body``), which
validates it against ``CreateChatCompletionRequest`` of the official OpenAPI spec
(``/work/shared/specs/openai-openapi.yaml``, also found through ``OPENAI_OPENAPI_SPEC``).
The 3 MB YAML is parsed once and cached as JSON under pytest's cache directory, keyed
by the file's mtime and size, so later sessions load it in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmplug.testing import fake_entry_point, isolated_registry

jsonschema = pytest.importorskip("jsonschema", reason="pip install jsonschema (test group)")
pytest.importorskip("yaml", reason="pip install pyyaml (test group)")

import llmplug_openai  # noqa: E402
from llmplug_openai import PRESETS, OpenAILLM  # noqa: E402

_DEFAULT_SPEC = Path("/work/shared/specs/openai-openapi.yaml")
_SPEC_ENV = "OPENAI_OPENAPI_SPEC"
_URN = "urn:openai-openapi"

# every env var the plugin reads: tests start without any of them
_ENV = sorted(
    {p.key_env for p in PRESETS if p.key_env}
    | {"AZURE_OPENAI_ENDPOINT", "LLMPLUG_MODEL", "LLMPLUG_CONFIG", "LLMPLUG_PLUGINS"}
)


# -- the official spec ---------------------------------------------------------------


def _spec_path() -> Path:
    path = Path(os.environ.get(_SPEC_ENV) or _DEFAULT_SPEC)
    if not path.is_file():
        pytest.skip(f"the OpenAI OpenAPI spec is not at {path} (set {_SPEC_ENV})")
    return path


def _nullable_to_31(node: Any) -> Any:
    """Read OpenAPI 3.0's ``nullable: true`` (still used in places) as JSON Schema does.

    The spec is 3.1, but some schemas keep 3.0's ``nullable``, which JSON Schema 2020-12
    ignores: ``{"type": "string", "nullable": true}`` would refuse the ``null`` the
    spec means to allow (e.g. a stream chunk's ``finish_reason``).
    """
    if isinstance(node, list):
        return [_nullable_to_31(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_to_31(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def _load_spec(cache_dir: Path) -> dict[str, Any]:
    path = _spec_path()
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}:{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest()
    cached = cache_dir / f"openapi-{key[:16]}.json"
    if cached.is_file():
        loaded: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
        return loaded
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~15x faster
    with path.open(encoding="utf-8") as f:
        spec = _nullable_to_31(yaml.load(f, Loader=loader))
    # dates in examples become strings, as JSON has no dates
    text = json.dumps(spec, default=str)
    for old in cache_dir.glob("openapi-*.json"):
        old.unlink(missing_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(cached)
    loaded = json.loads(text)
    return loaded


@pytest.fixture(scope="session")
def openapi_spec(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The OpenAI OpenAPI document, as JSON (parsed once, cached across sessions)."""
    cache = getattr(request.config, "cache", None)
    cache_dir = cache.mkdir("llmplug-openai-spec") if cache is not None else None
    return _load_spec(Path(cache_dir) if cache_dir else tmp_path_factory.mktemp("spec"))


@pytest.fixture(scope="session")
def schema_validator(openapi_spec: Any) -> Callable[[str], Any]:
    """``schema_validator("CreateChatCompletionRequest")``: a Draft 2020-12 validator."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry: Registry[Any] = Registry().with_resource(
        _URN, Resource.from_contents(openapi_spec, default_specification=DRAFT202012)
    )
    validators: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in validators:
            schema = {"$ref": f"{_URN}#/components/schemas/{name}"}
            validators[name] = Draft202012Validator(schema, registry=registry)
        return validators[name]

    return get


@pytest.fixture(scope="session")
def spec_errors(schema_validator: Callable[[str], Any]) -> Callable[..., list[str]]:
    """Why ``data`` does not match a schema of the spec (``[]`` when it does)."""

    def errors(data: Any, schema: str = "CreateChatCompletionRequest") -> list[str]:
        found = schema_validator(schema).iter_errors(data)
        return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found]

    return errors


@pytest.fixture(scope="session")
def check_body(spec_errors: Callable[..., list[str]]) -> Callable[[Any], Any]:
    """Assert that a request body matches ``CreateChatCompletionRequest``; return it."""

    def check(body: Any) -> Any:
        problems = spec_errors(body)
        assert not problems, "body does not match the OpenAPI spec:\n" + "\n".join(problems[:10])
        return body

    return check


# -- the plugin's classes, hermetic --------------------------------------------------


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No API key, endpoint or llmplug setting from the developer's environment."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("LLMPLUG_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def make() -> Callable[..., OpenAILLM]:
    """``make("groq", model=...)``: the provider registered under that name, as ``load``
    would build it (its registered defaults applied, the provider label set), with a
    test key unless ``api_key`` is given."""

    def new(name: str = "openai", **options: Any) -> OpenAILLM:
        preset = next(p for p in PRESETS if p.name == name)
        values: dict[str, Any] = {"base_url": preset.base_url} if preset.base_url else {}
        values["api_key"] = "sk-test"
        values.update(options)
        llm = preset.cls(**values)
        llm._provider = name
        return llm

    return new


@pytest.fixture
def registry() -> Iterator[Any]:
    """A fresh llmplug registry that sees this plugin's twelve entry points only."""
    eps = [
        fake_entry_point(p.name, "llmplug_openai", dist="llmplug-openai", version="0.1.0")
        for p in PRESETS
    ]
    with isolated_registry(eps, with_mock=False) as reg:
        yield reg


@pytest.fixture
def plugin() -> Any:
    """The plugin module."""
    return llmplug_openai
