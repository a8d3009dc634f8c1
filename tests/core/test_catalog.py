"""What installed providers offer (models, options) and whether each plugin loads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import Field, SecretStr

from llmplug import Capabilities, ChatLLM, ChatMessage, ChatResponse, LLMMetadata, ModelInfo
from llmplug.config import (
    CONFIG_ENV,
    alist_models,
    known_models,
    list_models,
    models,
    provider_options,
    set_alias,
)
from llmplug.errors import PluginLoadError, UnknownProviderError, UnsupportedFeatureError
from llmplug.hookspecs import hookimpl
from llmplug.plugins import installed_plugins
from llmplug.testing import fake_entry_point, isolated_registry


class TableLLM(ChatLLM):
    """A provider with a model table and a listing endpoint.

    Attributes:
        model: The model to use.
        temperature: How random: 0 is
            deterministic.
        api_key: The key.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(model_listing=True)
    per_call_options: ClassVar[tuple[str, ...]] = ("temperature",)

    model: str = "t-small"
    temperature: float = Field(default=0.5, ge=0, le=1)
    label: str = Field(default="x", description="From the field itself.")
    api_key: SecretStr | None = None
    flavour: str

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        return [ModelInfo(id="t-small", context_window=1000), ModelInfo(id="t-big")]

    def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(id=f"live-{self.flavour}")]

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.model)

    def chat(self, messages: Any, **kwargs: Any) -> ChatResponse:
        return ChatResponse(message=ChatMessage(role="assistant", content="hi"))

    def stream_chat(self, messages: Any, **kwargs: Any) -> Any:
        yield self.chat(messages)


class TablePlugin:
    @hookimpl
    def register_providers(self, register: Any) -> None:
        register("table", TableLLM, key_env="TABLE_KEY", defaults={"flavour": "vanilla"})


class Hooks:
    @hookimpl
    def after_call(self, call: Any, response: Any) -> None:
        pass


@pytest.fixture(autouse=True)
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    entry_points = [
        fake_entry_point("table", "llmplug_table", dist="llmplug-table", target=TablePlugin()),
        fake_entry_point("broken", "llmplug_broken", target=ImportError("no module 'zzz'")),
        fake_entry_point("audit", "llmplug_audit", group="llmplug", dist="audit", target=Hooks()),
        fake_entry_point(
            "crash", "llmplug_crash", group="llmplug", dist="crash", target=RuntimeError("boom")
        ),
    ]
    with isolated_registry(entry_points):
        yield


def test_known_models_by_name_or_alias() -> None:
    assert [m.id for m in known_models("table")] == ["t-small", "t-big"]
    set_alias("tiny", "table:t-small")
    assert [m.id for m in known_models("tiny")] == ["t-small", "t-big"]
    with pytest.raises(UnknownProviderError):
        known_models("nope")


async def test_live_listing_loads_the_provider_with_its_options() -> None:
    assert [m.id for m in list_models("table")] == ["live-vanilla"]
    assert [m.id for m in list_models("table?flavour=mint")] == ["live-mint"]
    assert [m.id for m in await alist_models("table", flavour="lemon")] == ["live-lemon"]
    with pytest.raises(UnsupportedFeatureError, match="no model-listing endpoint"):
        list_models("mock")


def test_models_keeps_each_failure() -> None:
    listed = {entry.provider: entry for entry in models()}
    assert set(listed) == {"broken", "mock", "table"}
    assert [m.id for m in listed["table"].models] == ["t-small", "t-big"]
    assert isinstance(listed["broken"].error, PluginLoadError)
    assert listed["broken"].models == []
    live = models(["table", "mock"], live=True)
    assert [m.id for m in live[0].models] == ["live-vanilla"]
    assert isinstance(live[1].error, UnsupportedFeatureError)


def test_provider_options_describe_fields() -> None:
    options = {option.name: option for option in provider_options("table")}
    assert list(options)[:5] == ["model", "temperature", "label", "api_key", "flavour"]
    temperature = options["temperature"]
    assert temperature.type == "float (>= 0, <= 1)"
    assert temperature.default == 0.5
    assert temperature.description == "How random: 0 is deterministic."  # docstring, joined
    assert temperature.per_call
    assert not options["model"].per_call
    assert options["label"].description == "From the field itself."
    assert options["api_key"].secret
    assert options["api_key"].default is None
    # a required field the plugin registered a default for
    assert options["flavour"].default == "vanilla"
    assert not options["flavour"].required
    assert "system_prompt" in options  # inherited from the LLM base, after the provider's


def test_installed_plugins_report_real_status() -> None:
    found = {p.name: p for p in installed_plugins()}
    table = found["llmplug-table"]
    assert (table.kind, table.status, table.provides) == ("providers", "loaded", ("table",))
    broken = found["fake-dist"]
    assert broken.status == "failed"
    assert "no module 'zzz'" in (broken.error or "")
    audit = found["audit"]
    assert (audit.kind, audit.status, audit.provides) == ("hooks", "loaded", ("after_call",))
    crash = found["crash"]
    assert crash.kind == "hooks"
    assert crash.status == "failed"
    assert "boom" in (crash.error or "")


def test_installed_plugins_without_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    found = {p.name: p for p in installed_plugins(load=False)}
    assert found["llmplug-table"].status == "available"
    assert found["crash"].status == "available"


@pytest.mark.parametrize(
    ("env", "value", "status"),
    [
        pytest.param("LLMPLUG_PLUGINS", "table", "blocked", id="allow-list"),
        pytest.param("LLMPLUG_DISABLE_PLUGIN_AUTOLOAD", "1", "disabled", id="autoload-off"),
    ],
)
def test_hook_plugins_blocked_or_disabled(
    env: str, value: str, status: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env, value)
    with isolated_registry(
        [fake_entry_point("audit", "llmplug_audit", group="llmplug", dist="audit", target=Hooks())]
    ):
        (audit,) = [p for p in installed_plugins() if p.kind == "hooks"]
    assert audit.status == status
    assert audit.error is not None
    assert env in audit.error
