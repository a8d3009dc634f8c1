"""The provider registry: entry-point discovery, lazy loading, error boundaries, hooks.

Every test runs against fake entry points (``llmplug.testing``) and plugin modules built
in the test and put in ``sys.modules`` through ``monkeypatch``: nothing is installed.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import llmplug
from llmplug import hookspecs
from llmplug.errors import (
    ConfigError,
    DuplicateProviderError,
    PluginLoadError,
    UnknownProviderError,
)
from llmplug.hookspecs import PLUGIN_API_VERSION, hookimpl
from llmplug.llm._derived import ChatLLM
from llmplug.mock import MockChatLLM
from llmplug.plugins._registry import HOOKS_GROUP, PROVIDERS_GROUP, HookSet, ProviderSpec
from llmplug.testing import (
    FakeDistribution,
    FakeEntryPoint,
    fake_entry_point,
    isolated_registry,
    scripted,
)
from llmplug.types._messages import ChatMessage, MessageRole
from llmplug.types._responses import ChatResponse, ChatResponseGen, LLMMetadata

ENV_VARS = ("LLMPLUG_MODEL", "LLMPLUG_CONFIG", "LLMPLUG_PLUGINS", "LLMPLUG_DISABLE_PLUGIN_AUTOLOAD")
MISSING_MODULE = "llmplug_test_module_that_does_not_exist"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


class Echo(ChatLLM):
    """A tiny provider class for registry tests."""

    model: str = "echo-1"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True, model_name=self.model)

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content="echo"))

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        yield self.chat(messages)


class Other(Echo):
    """A second provider class, to tell registrations apart."""


Register = Callable[..., None]


def plugin_module(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    body: Callable[[Register], None] | None = None,
    *,
    calls: list[str] | None = None,
    **attrs: Any,
) -> ModuleType:
    """A plugin module in ``sys.modules`` whose ``register_providers`` runs ``body``."""
    module = ModuleType(name)
    if body is not None:

        @hookimpl
        def register_providers(register: Register) -> None:
            if calls is not None:
                calls.append(name)
            body(register)

        module.register_providers = register_providers  # type: ignore[attr-defined]
    for key, value in attrs.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)
    return module


@hookimpl
def _after_call(call: Any, response: Any) -> None:
    call.state["seen"] = True


def registers(*names: str, cls: type = Echo, **kwargs: Any) -> Callable[[Register], None]:
    """A ``register_providers`` body registering ``names`` with ``cls``."""

    def body(register: Register) -> None:
        for name in names:
            register(name, cls, **kwargs)

    return body


def provider_ep(
    name: str, module: str, dist: str | None = "llmplug-fake", version: str = "1.0"
) -> FakeEntryPoint:
    return fake_entry_point(name, module, dist=dist, version=version)


def hook_ep(name: str, module: str, dist: str | None = "llmplug-hooks") -> FakeEntryPoint:
    return fake_entry_point(name, module, group=HOOKS_GROUP, dist=dist)


@dataclass(frozen=True)
class CountingEntryPoint(FakeEntryPoint):
    """A fake entry point that counts its ``load()`` calls."""

    loads: list[int] = field(default_factory=list, compare=False)

    def load(self) -> Any:
        self.loads.append(1)
        return super().load()


def statuses(reg: Any) -> dict[str, str]:
    return {info.name: info.status for info in reg.providers()}


def user(text: str = "hi") -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=text)]


# --------------------------------------------------------------------------- listing


def test_listing_imports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    present = plugin_module(monkeypatch, "llmplug_test_present", registers("present"), calls=calls)
    eps = [
        provider_ep("ghost", MISSING_MODULE, dist="llmplug-ghost", version="0.3"),
        provider_ep("present", "llmplug_test_present", dist="llmplug-present", version="2.0"),
    ]
    with isolated_registry(eps, with_mock=False) as reg:
        infos = {info.name: info for info in llmplug.providers()}
        assert reg.names() == ["ghost", "present"]
        assert not reg.pm.is_registered(present)
    assert MISSING_MODULE not in sys.modules
    assert calls == []
    assert infos["ghost"].distribution == "llmplug-ghost"
    assert infos["ghost"].version == "0.3"
    assert infos["ghost"].module == MISSING_MODULE
    assert infos["ghost"].status == "available"
    assert infos["ghost"].error is None
    assert infos["present"].version == "2.0"


def test_listing_statuses(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_module(
        monkeypatch,
        "llmplug_test_loaded",
        registers("loaded", description="Loaded one.", key_env="LOADED_KEY"),
    )
    eps = [
        provider_ep("available", MISSING_MODULE),
        provider_ep("loaded", "llmplug_test_loaded"),
        fake_entry_point("failed", "broken", target=ImportError("no such thing")),
        provider_ep("blocked", MISSING_MODULE, dist="llmplug-blocked"),
        provider_ep("conflict", MISSING_MODULE, dist="llmplug-one"),
        provider_ep("conflict", MISSING_MODULE, dist="llmplug-two"),
    ]
    monkeypatch.setenv("LLMPLUG_PLUGINS", "available,loaded,failed,conflict")
    with isolated_registry(eps) as reg:
        reg.get("loaded")
        with pytest.raises(PluginLoadError):
            reg.get("failed")
        infos = reg.providers()
    by_status = {(info.name, info.status) for info in infos}
    assert by_status == {
        ("available", "available"),
        ("blocked", "blocked"),
        ("conflict", "conflict"),
        ("failed", "failed"),
        ("loaded", "loaded"),
        ("mock", "available"),
    }
    info = {i.name: i for i in infos}
    assert info["loaded"].description == "Loaded one."
    assert info["loaded"].key_env == "LOADED_KEY"
    assert info["failed"].error is not None
    assert "no such thing" in info["failed"].error
    assert info["blocked"].error == "not in LLMPLUG_PLUGINS"
    assert [i.name for i in infos] == sorted(i.name for i in infos)


def test_blocked_provider_stays_blocked_in_listing_after_being_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMPLUG_PLUGINS", "someone-else")
    with isolated_registry([provider_ep("blocked", MISSING_MODULE)]) as reg:
        with pytest.raises(PluginLoadError, match="LLMPLUG_PLUGINS"):
            reg.get("blocked")
        assert statuses(reg)["blocked"] == "blocked"


# --------------------------------------------------------------------------- lazy loading


def test_loads_exactly_the_provider_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    alpha = plugin_module(monkeypatch, "llmplug_test_alpha", registers("alpha"), calls=calls)
    beta = plugin_module(
        monkeypatch, "llmplug_test_beta", registers("beta", cls=Other), calls=calls
    )
    eps = [provider_ep("alpha", "llmplug_test_alpha"), provider_ep("beta", "llmplug_test_beta")]
    with isolated_registry(eps) as reg:
        spec = reg.get("alpha")
        assert reg.get("alpha") is spec  # cached: register_providers ran once
        assert calls == ["llmplug_test_alpha"]
        assert reg.pm.is_registered(alpha)
        assert not reg.pm.is_registered(beta)
        assert statuses(reg) == {"alpha": "loaded", "beta": "available", "mock": "available"}
        assert reg.get("beta").cls is Other
        assert calls == ["llmplug_test_alpha", "llmplug_test_beta"]
    assert spec.name == "alpha"
    assert spec.cls is Echo
    assert spec.plugin == f"{PROVIDERS_GROUP}:alpha"


def test_load_by_name_goes_through_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_module(monkeypatch, "llmplug_test_alpha", registers("alpha"))
    with isolated_registry([provider_ep("alpha", "llmplug_test_alpha")]):
        llm = llmplug.load("alpha:echo-9")
    assert isinstance(llm, Echo)
    assert llm.model == "echo-9"
    assert llm.provider_label == "alpha"


def test_entry_point_with_attribute_value(monkeypatch: pytest.MonkeyPatch) -> None:
    module = plugin_module(monkeypatch, "llmplug_test_attr")
    module.plugin = plugin_module(monkeypatch, "llmplug_test_attr_inner", registers("attr"))  # type: ignore[attr-defined]
    with isolated_registry([provider_ep("attr", "llmplug_test_attr:plugin")]) as reg:
        assert reg.get("attr").cls is Echo


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(("compat-a", "compat-b"), id="a-first"),
        pytest.param(("compat-b", "compat-a"), id="b-first"),
    ],
)
def test_one_module_serves_several_names(
    monkeypatch: pytest.MonkeyPatch, order: tuple[str, str]
) -> None:
    calls: list[str] = []

    def body(register: Register) -> None:
        register("compat-a", Echo, defaults={"model": "a-model"}, description="A")
        register("compat-b", Echo, defaults={"model": "b-model"}, description="B")

    plugin_module(monkeypatch, "llmplug_test_compat", body, calls=calls)
    eps = [
        provider_ep("compat-a", "llmplug_test_compat", dist="llmplug-compat"),
        provider_ep("compat-b", "llmplug_test_compat", dist="llmplug-compat"),
    ]
    with isolated_registry(eps) as reg:
        specs = {name: reg.get(name) for name in order}
        models = {name: llmplug.load(name).model for name in order}
        listed = statuses(reg)
    assert calls == ["llmplug_test_compat"]
    assert specs["compat-a"].description == "A"
    assert specs["compat-b"].description == "B"
    assert models == {"compat-a": "a-model", "compat-b": "b-model"}
    assert listed == {"compat-a": "loaded", "compat-b": "loaded", "mock": "available"}


def test_registered_aliases_resolve_once_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_module(monkeypatch, "llmplug_test_alias", registers("long-name", aliases=["ln"]))
    with isolated_registry([provider_ep("long-name", "llmplug_test_alias")]) as reg:
        spec = reg.get("long-name")
        assert reg.get("ln") is spec
        assert "ln" in reg.names()


# --------------------------------------------------------------------------- error boundaries


@pytest.mark.parametrize(
    ("ep", "cause", "text"),
    [
        pytest.param(
            provider_ep("broken", MISSING_MODULE, dist="llmplug-broken", version="0.1"),
            ModuleNotFoundError,
            MISSING_MODULE,
            id="module-missing",
        ),
        pytest.param(
            fake_entry_point(
                "broken",
                "llmplug_broken",
                dist="llmplug-broken",
                version="0.1",
                target=RuntimeError("boom at import"),
            ),
            RuntimeError,
            "RuntimeError: boom at import",
            id="import-raises",
        ),
    ],
)
def test_import_failure_is_a_plugin_load_error(
    ep: FakeEntryPoint, cause: type[BaseException], text: str
) -> None:
    with isolated_registry([ep]) as reg:
        with pytest.raises(PluginLoadError) as info:
            reg.get("broken")
        err = info.value
        assert err.plugin == "broken"
        assert err.distribution == "llmplug-broken"
        assert err.entry_point == ep.value
        assert isinstance(err.__cause__, cause)
        assert "llmplug-broken 0.1" in str(err)
        assert "failed to import" in str(err)
        assert text in str(err)
        # the failure is cached, and every other provider keeps working
        with pytest.raises(PluginLoadError) as again:
            reg.get("broken")
        assert again.value is err
        assert isinstance(llmplug.load("mock"), MockChatLLM)
        assert statuses(reg) == {"broken": "failed", "mock": "loaded"}


def test_import_failure_is_not_retried() -> None:
    ep = CountingEntryPoint("broken", "x", PROVIDERS_GROUP, target=ImportError("nope"))
    with isolated_registry([ep]) as reg:
        for _ in range(3):
            with pytest.raises(PluginLoadError):
                reg.get("broken")
    assert len(ep.loads) == 1


def test_entry_point_without_distribution() -> None:
    with isolated_registry([provider_ep("nodist", MISSING_MODULE, dist=None)]) as reg:
        [info] = [i for i in reg.providers() if i.name == "nodist"]
        with pytest.raises(PluginLoadError) as err:
            reg.get("nodist")
    assert info.distribution is None
    assert info.version is None
    assert err.value.distribution is None
    assert f"entry point {MISSING_MODULE!r}" in str(err.value)


def test_register_providers_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    def body(register: Register) -> None:
        register("half", Echo)  # registered, then the hook fails: must not stick
        raise ValueError("bad plugin state")

    module = plugin_module(monkeypatch, "llmplug_test_raises", body)
    eps = [provider_ep("half", "llmplug_test_raises", dist="llmplug-half")]
    with isolated_registry(eps) as reg:
        with pytest.raises(PluginLoadError) as info:
            reg.get("half")
        assert not reg.pm.is_registered(module)
        with pytest.raises(PluginLoadError) as again:
            reg.get("half")
        assert "half" not in reg._specs
        assert reg.get("mock").cls is MockChatLLM
        assert statuses(reg)["half"] == "failed"
    err = info.value
    assert again.value is err
    assert isinstance(err.__cause__, ValueError)
    assert err.plugin == "half"
    assert err.distribution == "llmplug-half"
    assert "register_providers hook raised ValueError: bad plugin state" in str(err)


def test_plugin_registering_another_name(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_module(monkeypatch, "llmplug_test_misnamed", registers("something-else", "more"))
    eps = [provider_ep("misnamed", "llmplug_test_misnamed", dist="llmplug-misnamed")]
    with isolated_registry(eps) as reg:
        with pytest.raises(PluginLoadError) as info:
            reg.get("misnamed")
        with pytest.raises(PluginLoadError) as again:
            reg.get("misnamed")
    err = info.value
    assert again.value is err
    assert err.plugin == "misnamed"
    assert err.distribution == "llmplug-misnamed"
    assert err.entry_point == "llmplug_test_misnamed"
    assert "registered no provider named 'misnamed'" in str(err)
    assert "it registered: more, something-else" in str(err)


def test_plugin_registering_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_module(monkeypatch, "llmplug_test_empty")  # no hookimpl at all
    with (
        isolated_registry([provider_ep("empty", "llmplug_test_empty")]) as reg,
        pytest.raises(PluginLoadError, match="it registered: nothing"),
    ):
        reg.get("empty")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        pytest.param(
            registers("weird", cls=dict), "is not a subclass of llmplug.LLM", id="not-llm"
        ),
        pytest.param(
            registers("weird", cls=Echo()), "is not a subclass of llmplug.LLM", id="instance"
        ),
        pytest.param(registers("Weird"), "provider name 'Weird'", id="upper-case"),
        pytest.param(registers("we ird"), "provider name 'we ird'", id="space"),
        pytest.param(registers(""), "provider name ''", id="empty"),
        pytest.param(registers("-weird"), "provider name '-weird'", id="leading-dash"),
        pytest.param(
            registers("weird", aliases=["Bad:Alias"]), "provider name 'Bad:Alias'", id="alias"
        ),
        pytest.param(lambda register: register(42, Echo), "provider name 42", id="not-a-string"),
    ],
)
def test_plugin_registering_something_invalid(
    monkeypatch: pytest.MonkeyPatch, body: Callable[[Register], None], text: str
) -> None:
    module = plugin_module(monkeypatch, "llmplug_test_weird", body)
    with isolated_registry([provider_ep("weird", "llmplug_test_weird")]) as reg:
        with pytest.raises(PluginLoadError) as info:
            reg.get("weird")
        assert not reg.pm.is_registered(module)
        assert "weird" not in reg._specs
        with pytest.raises(PluginLoadError) as again:
            reg.get("weird")
        assert again.value is info.value
        assert reg.get("mock").cls is MockChatLLM
    assert text in str(info.value)
    assert "weird" in info.value.plugin


def test_plugin_with_invalid_hookimpl(monkeypatch: pytest.MonkeyPatch) -> None:
    def register_providers(register: Register, extra: int) -> None:
        """Asks for an argument the spec does not have."""

    plugin_module(
        monkeypatch, "llmplug_test_badhook", register_providers=hookimpl(register_providers)
    )
    with (
        isolated_registry([provider_ep("badhook", "llmplug_test_badhook")]) as reg,
        pytest.raises(PluginLoadError, match="is not a valid llmplug plugin") as info,
    ):
        reg.get("badhook")
    assert info.value.__cause__ is not None


# --------------------------------------------------------------------------- duplicates


def test_name_claimed_by_two_distributions() -> None:
    eps = [
        provider_ep("dup", MISSING_MODULE, dist="llmplug-dup", version="1.0"),
        provider_ep("dup", MISSING_MODULE + "_2", dist="other-dup", version="2.1"),
    ]
    with isolated_registry(eps) as reg:
        with pytest.raises(DuplicateProviderError) as info:
            reg.get("dup")
        infos = [i for i in reg.providers() if i.name == "dup"]
        # the conflict is not cached as a failure, and the others still load
        with pytest.raises(DuplicateProviderError):
            reg.get("dup")
        assert reg.get("mock").cls is MockChatLLM
    err = info.value
    assert isinstance(err, PluginLoadError)
    assert err.plugin == "dup"
    assert err.claimants == ["llmplug-dup 1.0", "other-dup 2.1"]
    assert "llmplug-dup 1.0 and other-dup 2.1" in str(err)
    assert "uninstall" in str(err)
    assert MISSING_MODULE not in sys.modules
    assert [(i.distribution, i.status) for i in infos] == [
        ("llmplug-dup", "conflict"),
        ("other-dup", "conflict"),
    ]
    for i in infos:
        assert i.error is not None
        assert "llmplug-dup 1.0" in i.error
        assert "other-dup 2.1" in i.error


def test_same_distribution_found_twice_is_not_a_duplicate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plugin_module(monkeypatch, "llmplug_test_twice", registers("twice"))
    ep = provider_ep("twice", "llmplug_test_twice", dist="llmplug-twice")
    copy = provider_ep("twice", "llmplug_test_twice", dist="llmplug-twice")
    with isolated_registry([ep, copy], with_mock=False) as reg:
        infos = reg.providers()
        spec = reg.get("twice")
        assert reg.names() == ["twice"]
    assert [(i.name, i.status) for i in infos] == [("twice", "available")]
    assert spec.cls is Echo


def test_duplicate_registration_across_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_module(monkeypatch, "llmplug_test_first", registers("first", "shared"))
    second = plugin_module(
        monkeypatch, "llmplug_test_second", registers("second", "shared", cls=Other)
    )
    eps = [
        provider_ep("first", "llmplug_test_first", dist="llmplug-first"),
        provider_ep("second", "llmplug_test_second", dist="llmplug-second"),
    ]
    with isolated_registry(eps) as reg:
        reg.get("first")
        with pytest.raises(DuplicateProviderError) as info:
            reg.get("second")
        # the failed plugin left nothing behind: no half-registered name, no hooks
        with pytest.raises(DuplicateProviderError) as again:
            reg.get("second")
        assert not reg.pm.is_registered(second)
        assert reg.get("shared").cls is Echo
    err = info.value
    assert again.value is err
    assert err.claimants == [f"{PROVIDERS_GROUP}:first", f"{PROVIDERS_GROUP}:second"]
    assert "'shared'" in str(err)
    assert f"{PROVIDERS_GROUP}:first" in str(err)
    assert f"{PROVIDERS_GROUP}:second" in str(err)


def test_duplicate_registration_by_in_process_plugins() -> None:
    class First:
        @hookimpl
        def register_providers(self, register: Register) -> None:
            register("inproc", Echo)

    class Second:
        @hookimpl
        def register_providers(self, register: Register) -> None:
            register("inproc", Other)

    first, second = First(), Second()
    with isolated_registry() as reg:
        llmplug.register_plugin(first, "first")
        with pytest.raises(DuplicateProviderError) as info:
            llmplug.register_plugin(second, "second")
        # the refused plugin is not left half-registered: it can come back later
        assert not reg.pm.is_registered(second)
        assert reg.get("inproc").cls is Echo
        llmplug.unregister_plugin(first)
        llmplug.register_plugin(second, "second")
        assert reg.get("inproc").cls is Other
    assert info.value.claimants == ["first", "second"]


def test_re_registering_the_same_spec_is_fine() -> None:
    with isolated_registry() as reg:
        spec = ProviderSpec(name="same", cls=Echo, plugin="p")
        reg.add_provider(spec)
        reg.add_provider(spec)
        assert reg.get("same") is spec


# --------------------------------------------------------------------------- plugin API version


@pytest.mark.parametrize(
    ("declared", "ok"),
    [
        pytest.param(None, True, id="undeclared"),
        pytest.param(PLUGIN_API_VERSION, True, id="current"),
        pytest.param((1, 2), True, id="tuple-with-1"),
        pytest.param([0, 1], True, id="list-with-1"),
        pytest.param(99, False, id="future"),
        pytest.param((2, 3), False, id="tuple-without-1"),
        pytest.param("1", False, id="string"),
    ],
)
def test_plugin_api_version(monkeypatch: pytest.MonkeyPatch, declared: Any, ok: bool) -> None:
    attrs = {} if declared is None else {"LLMPLUG_PLUGIN_API": declared}
    calls: list[str] = []
    plugin_module(monkeypatch, "llmplug_test_api", registers("api"), calls=calls, **attrs)
    with isolated_registry([provider_ep("api", "llmplug_test_api", dist="llmplug-api")]) as reg:
        if ok:
            assert reg.get("api").cls is Echo
            return
        with pytest.raises(PluginLoadError) as info:
            reg.get("api")
    assert calls == []
    message = str(info.value)
    assert f"plugin API {declared!r}" in message
    assert f"speaks version {PLUGIN_API_VERSION}" in message
    assert "llmplug-api" in message
    assert info.value.distribution == "llmplug-api"


def test_plugin_api_version_of_in_process_module(monkeypatch: pytest.MonkeyPatch) -> None:
    module = plugin_module(
        monkeypatch, "llmplug_test_api_inproc", registers("inproc"), LLMPLUG_PLUGIN_API=99
    )
    with isolated_registry() as reg:
        with pytest.raises(PluginLoadError, match="plugin API 99"):
            llmplug.register_plugin(module)
        assert not reg.pm.is_registered(module)


# --------------------------------------------------------------------------- unknown providers


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        pytest.param("opneai", "openai", id="typo"),
        pytest.param("anthropik", "anthropic", id="near"),
        pytest.param("mok", "mock", id="short"),
        pytest.param("zzzz", None, id="nothing-close"),
    ],
)
def test_unknown_provider(name: str, suggestion: str | None) -> None:
    eps = [provider_ep("openai", MISSING_MODULE), provider_ep("anthropic", MISSING_MODULE)]
    with isolated_registry(eps) as reg:
        with pytest.raises(UnknownProviderError) as info:
            reg.get(name)
        with pytest.raises(UnknownProviderError):
            llmplug.load(f"{name}:some-model")
    err = info.value
    assert isinstance(err, ConfigError)
    assert err.name == name
    assert err.available == ["anthropic", "mock", "openai"]
    assert err.suggestion == suggestion
    message = str(err)
    assert f"unknown provider {name!r}" in message
    assert "Installed providers: anthropic, mock, openai." in message
    assert "pip install" not in message  # never a package name made from what was typed
    assert "Known plugins: llmplug plugin list --available" in message
    if suggestion:
        assert f"Did you mean {suggestion!r}?" in message
    else:
        assert "Did you mean" not in message
    assert MISSING_MODULE not in sys.modules


def test_unknown_provider_with_nothing_installed() -> None:
    with isolated_registry(with_mock=False) as reg, pytest.raises(UnknownProviderError) as info:
        reg.get("openai")
    assert "Installed providers: none." in str(info.value)
    assert info.value.available == []


# --------------------------------------------------------------------------- env switches


@pytest.mark.parametrize(
    ("allow", "allowed"),
    [
        pytest.param("third", {"third"}, id="by-entry-point"),
        pytest.param("llmplug-third", {"third"}, id="by-distribution"),
        pytest.param(" third , extra-hooks ", {"third", "extra-hooks"}, id="spaces"),
        pytest.param("nothing-matches", set(), id="other"),
        pytest.param("", set(), id="empty-allows-only-core"),
        pytest.param(",", set(), id="only-commas"),
    ],
)
def test_allow_list(monkeypatch: pytest.MonkeyPatch, allow: str, allowed: set[str]) -> None:
    calls: list[str] = []
    third = plugin_module(monkeypatch, "llmplug_test_third", registers("third"), calls=calls)
    hooks = plugin_module(monkeypatch, "llmplug_test_extra_hooks", after_call=_after_call)
    eps = [
        provider_ep("third", "llmplug_test_third", dist="llmplug-third"),
        hook_ep("extra-hooks", "llmplug_test_extra_hooks", dist="llmplug-extra-hooks"),
    ]
    monkeypatch.setenv("LLMPLUG_PLUGINS", allow)
    with isolated_registry(eps) as reg:
        listed = statuses(reg)
        assert reg.get("mock").cls is MockChatLLM  # core's own provider is always allowed
        hookset = reg.hookset()
        assert reg.pm.is_registered(hooks) == ("extra-hooks" in allowed)
        assert (hookset is not None) == ("extra-hooks" in allowed)
        if "third" in allowed:
            assert reg.get("third").cls is Echo
            return
        with pytest.raises(PluginLoadError) as info:
            reg.get("third")
        assert not reg.pm.is_registered(third)
    assert calls == []
    assert listed == {"mock": "available", "third": "blocked"}
    err = info.value
    assert "LLMPLUG_PLUGINS" in str(err)
    assert "add 'third' to it" in str(err)
    assert err.distribution == "llmplug-third"
    assert reg.hook_plugin_errors() == []  # a blocked hook plugin is skipped, not an error


@pytest.mark.parametrize(
    ("value", "disabled"),
    [
        pytest.param("1", True, id="1"),
        pytest.param("true", True, id="true"),
        pytest.param("YES", True, id="YES"),
        pytest.param("0", False, id="0"),
        pytest.param("false", False, id="false"),
        pytest.param("no", False, id="no"),
        pytest.param("", False, id="empty"),
        pytest.param(None, False, id="unset"),
    ],
)
def test_disable_autoload(
    monkeypatch: pytest.MonkeyPatch, value: str | None, disabled: bool
) -> None:
    hooks = plugin_module(monkeypatch, "llmplug_test_auto_hooks", after_call=_after_call)
    plugin_module(monkeypatch, "llmplug_test_auto_provider", registers("auto"))
    if value is not None:
        monkeypatch.setenv("LLMPLUG_DISABLE_PLUGIN_AUTOLOAD", value)
    eps = [
        hook_ep("auto-hooks", "llmplug_test_auto_hooks"),
        provider_ep("auto", "llmplug_test_auto_provider"),
    ]
    with isolated_registry(eps) as reg:
        hookset = reg.hookset()
        assert reg.pm.is_registered(hooks) is not disabled
        assert (hookset is None) is disabled
        # providers are still loaded by name either way
        assert reg.get("auto").cls is Echo


# --------------------------------------------------------------------------- hook plugins


def test_hook_plugins_load_once_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def after_call(call: Any, response: Any) -> None:
        seen.append(response.message.content)

    plugin_module(monkeypatch, "llmplug_test_lazy_hooks", after_call=hookimpl(after_call))
    ep = CountingEntryPoint(
        "lazy-hooks", "llmplug_test_lazy_hooks", HOOKS_GROUP, FakeDistribution("llmplug-lazy")
    )
    with isolated_registry([ep]) as reg:
        reg.providers()
        reg.get("mock")
        llmplug.load("mock")
        assert reg.hook_plugins() == [("lazy-hooks", "llmplug-lazy", "1.0")]
        assert ep.loads == []  # nothing loaded before the first call
        first = reg.hookset()
        assert isinstance(first, HookSet)
        assert len(first.after_call) == 1
        assert reg.hookset() is first  # cached until a plugin is (un)registered
        scripted("one").chat(user())
        scripted("two").chat(user())
    assert len(ep.loads) == 1
    assert seen == ["one", "two"]


def test_hookset_is_none_without_lifecycle_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_module(monkeypatch, "llmplug_test_only_providers", registers("only"))
    eps = [hook_ep("only", "llmplug_test_only_providers")]
    with isolated_registry(eps) as reg:
        assert reg.hookset() is None
        assert reg.get("mock").cls is MockChatLLM


@pytest.mark.parametrize(
    ("ep_factory", "text"),
    [
        pytest.param(
            lambda: fake_entry_point(
                "bad-hooks",
                "llmplug_bad",
                group=HOOKS_GROUP,
                target=RuntimeError("hook import boom"),
            ),
            "hook import boom",
            id="import-raises",
        ),
        pytest.param(
            lambda: hook_ep("bad-hooks", MISSING_MODULE),
            MISSING_MODULE,
            id="module-missing",
        ),
        pytest.param(
            lambda: hook_ep("bad-hooks", "llmplug_test_future_hooks"),
            "plugin API 99",
            id="future-api",
        ),
    ],
)
def test_failing_hook_plugin_is_logged_and_does_not_break_calls(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    ep_factory: Callable[[], FakeEntryPoint],
    text: str,
) -> None:
    seen: list[str] = []

    def after_call(call: Any, response: Any) -> None:
        seen.append(call.provider)

    plugin_module(monkeypatch, "llmplug_test_good_hooks", after_call=hookimpl(after_call))
    plugin_module(
        monkeypatch,
        "llmplug_test_future_hooks",
        after_call=hookimpl(after_call),
        LLMPLUG_PLUGIN_API=99,
    )
    eps = [ep_factory(), hook_ep("good-hooks", "llmplug_test_good_hooks")]
    with (
        isolated_registry(eps) as reg,
        caplog.at_level(logging.ERROR, logger="llmplug"),
    ):
        llm = llmplug.load("mock")
        assert llm.chat(user("hello")).message.content == "hello"
        assert llm.chat(user("again")).message.content == "again"
        errors = reg.hook_plugin_errors()
    assert seen == ["mock", "mock"]  # the good hook plugin still runs
    [err] = errors
    assert err.plugin == "bad-hooks"
    assert text in str(err)
    records = [r for r in caplog.records if r.name == "llmplug"]
    assert len(records) == 1  # logged once, not once per call
    assert records[0].levelno == logging.ERROR
    assert "bad-hooks" in records[0].getMessage()
    assert text in records[0].getMessage()


def test_hook_plugins_load_before_a_concurrent_first_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second thread's first call waits for the hook plugins instead of skipping them."""
    entered, release = threading.Event(), threading.Event()
    module = plugin_module(monkeypatch, "llmplug_test_slow_hooks", after_call=_after_call)

    @dataclass(frozen=True)
    class SlowEntryPoint(FakeEntryPoint):
        def load(self) -> Any:
            entered.set()
            assert release.wait(timeout=10)
            return module

    ep = SlowEntryPoint("slow-hooks", "llmplug_test_slow_hooks", HOOKS_GROUP)
    results: dict[str, Any] = {}
    with isolated_registry([ep]) as reg:

        def first() -> None:
            results["first"] = reg.hookset()

        def second() -> None:
            results["second"] = reg.hookset()

        a = threading.Thread(target=first)
        a.start()
        assert entered.wait(timeout=10)
        b = threading.Thread(target=second)
        b.start()
        b.join(timeout=0.2)  # give the second thread its chance to skip ahead (it must not)
        release.set()
        a.join(timeout=10)
        b.join(timeout=10)
    assert isinstance(results["first"], HookSet)
    assert results["second"] is results["first"]


def test_hook_plugin_making_a_call_while_it_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hook plugin whose import makes a call does not load the hook plugins again."""
    module = plugin_module(monkeypatch, "llmplug_test_eager_hooks", after_call=_after_call)
    during: list[Any] = []

    @dataclass(frozen=True)
    class EagerEntryPoint(CountingEntryPoint):
        def load(self) -> Any:
            super().load()
            during.append(scripted("warm-up").chat(user()).message.content)
            return module

    ep = EagerEntryPoint("eager-hooks", "llmplug_test_eager_hooks", HOOKS_GROUP)
    with isolated_registry([ep]) as reg:
        hookset = reg.hookset()
        assert reg.hookset() is hookset
    assert during == ["warm-up"]
    assert len(ep.loads) == 1
    assert hookset is not None
    assert len(hookset.after_call) == 1


# --------------------------------------------------------------------------- in-process plugins


class InProcess:
    """A plugin object (not a module) registering a provider and observing calls."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def register_providers(self, register: Register) -> None:
        register("inproc", Echo, aliases=["ip"], key_env="INPROC_KEY", description="In process")

    @hookimpl
    def after_call(self, call: Any, response: Any) -> None:
        self.seen.append(call.endpoint)


@pytest.mark.parametrize(
    "by_name", [pytest.param(True, id="by-name"), pytest.param(False, id="by-object")]
)
def test_register_and_unregister_plugin(by_name: bool) -> None:
    plugin = InProcess()
    with isolated_registry() as reg:
        name = llmplug.register_plugin(plugin)
        assert reg.pm.get_name(plugin) == name
        assert llmplug.plugin_manager() is reg.pm
        spec = reg.get("inproc")
        assert reg.get("ip") is spec
        assert spec.plugin == name
        assert spec.key_env == "INPROC_KEY"
        assert {"inproc", "ip"} <= set(reg.names())
        llm = llmplug.load("inproc:x")
        assert llm.provider_label == "inproc"
        llm.chat(user())
        assert plugin.seen == ["chat"]
        llmplug.unregister_plugin(name if by_name else plugin)
        assert not reg.pm.is_registered(plugin)
        for gone in ("inproc", "ip"):
            with pytest.raises(UnknownProviderError):
                reg.get(gone)
        llm.chat(user())
        assert plugin.seen == ["chat"]  # its hooks are gone too
        assert reg.hookset() is None


def test_register_plugin_with_explicit_name() -> None:
    with isolated_registry() as reg:
        assert llmplug.register_plugin(InProcess(), "my-plugin") == "my-plugin"
        assert reg.get("inproc").plugin == "my-plugin"
        llmplug.unregister_plugin("my-plugin")
        assert "inproc" not in reg.names()


def test_register_plugin_loads_installed_hook_plugins_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooks = plugin_module(monkeypatch, "llmplug_test_first_hooks", after_call=_after_call)
    with isolated_registry([hook_ep("first-hooks", "llmplug_test_first_hooks")]) as reg:
        llmplug.register_plugin(InProcess())
        assert reg.pm.is_registered(hooks)


def test_hookimpl_is_re_exported() -> None:
    assert llmplug.hookimpl is hookimpl
    assert llmplug.hookimpl is hookspecs.hookimpl
    assert "hookimpl" in llmplug.__all__


# --------------------------------------------------------------------------- threads


def test_concurrent_first_get_loads_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    plugin_module(monkeypatch, "llmplug_test_threaded", registers("threaded"), calls=calls)
    ep = CountingEntryPoint(
        "threaded", "llmplug_test_threaded", PROVIDERS_GROUP, FakeDistribution("llmplug-t")
    )
    barrier = threading.Barrier(8)
    results: list[ProviderSpec] = []
    errors: list[BaseException] = []
    with isolated_registry([ep]) as reg:

        def worker() -> None:
            barrier.wait(timeout=10)
            try:
                results.append(reg.get("threaded"))
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert errors == []
    assert len(results) == 8
    assert all(spec is results[0] for spec in results)
    assert len(ep.loads) == 1
    assert calls == ["llmplug_test_threaded"]


# --------------------------------------------------------------------------- review fixes


def test_alias_resolves_before_its_plugin_was_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_module(monkeypatch, "llmplug_test_alias2", registers("long-name", aliases=["ln"]))
    plugin_module(monkeypatch, "llmplug_test_other", registers("other"))
    eps = [
        provider_ep("other", "llmplug_test_other"),
        provider_ep("long-name", "llmplug_test_alias2"),
    ]
    with isolated_registry(eps) as reg:
        assert reg.get("ln").name == "long-name"  # no entry point is called "ln"
        with pytest.raises(UnknownProviderError):
            reg.get("nothing-registers-this")


def test_module_in_both_groups_keeps_its_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    module = plugin_module(monkeypatch, "llmplug_test_dual", registers("dual"))
    module.after_call = _after_call  # type: ignore[attr-defined]
    eps = [provider_ep("dual", "llmplug_test_dual"), hook_ep("dual-hooks", "llmplug_test_dual")]
    with isolated_registry(eps) as reg:
        reg.load_hook_plugins()  # the hook group registers the module first
        assert reg.get("dual").name == "dual"
        llm = llmplug.load("dual")
        llm.chat(user())
        assert reg.pm.is_registered(module)


def test_wrapper_on_a_lifecycle_hook_is_refused() -> None:
    class Wrapping:
        @hookimpl(wrapper=True)
        def before_call(self, call: Any) -> Any:
            return (yield)

    with isolated_registry() as reg:
        with pytest.raises(PluginLoadError, match="before_call may not be a wrapper"):
            llmplug.register_plugin(Wrapping(), "wrapping")
        assert not reg.pm.has_plugin("wrapping")


def test_unregistering_an_unknown_name_says_so() -> None:
    with isolated_registry(), pytest.raises(ValueError, match="no plugin named 'nope'"):
        llmplug.unregister_plugin("nope")


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        pytest.param("llmplug_openai-0.1.0.dist-info", ("llmplug-openai", "0.1.0"), id="wheel"),
        pytest.param("Foo_Bar-2.0rc1.dist-info", ("foo-bar", "2.0rc1"), id="case"),
        pytest.param("foo-1.0-py3.11.egg-info", None, id="egg-info"),
        pytest.param("foo.dist-info", None, id="no-version"),
        pytest.param("foo-1.0-extra.dist-info", None, id="two-dashes"),
    ],
)
def test_distribution_label_from_the_metadata_directory(
    directory: str, expected: tuple[str, str] | None
) -> None:
    from pathlib import Path

    from llmplug._entry_points import _from_dist_info

    assert _from_dist_info(Path("/site-packages") / directory) == expected
    assert _from_dist_info(None) is None


# -- classes registered by import path ------------------------------------------------


def _by_path(path: str, **kwargs: Any) -> Callable[[Register], None]:
    return lambda register: register("lazy", path, aliases=["lazy-alias"], **kwargs)


def test_class_registered_by_path_is_imported_when_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plugin_module(monkeypatch, "llmplug_test_lazy", _by_path("llmplug_test_lazy_cls:Impl"))
    with isolated_registry([provider_ep("lazy", "llmplug_test_lazy")]) as reg:
        assert {i.name: i.status for i in reg.providers()}["lazy"] == "available"
        plugin_module(monkeypatch, "llmplug_test_lazy_cls", Impl=Other)  # now importable
        spec = reg.get("lazy")
        assert spec.cls is Other
        assert reg.get("lazy-alias") is spec  # resolved once, for every name
        assert llmplug.load("lazy:m").chat(user()).message.content == "echo"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        pytest.param(
            "llmplug_test_nowhere:Impl", "failed to import (ModuleNotFoundError", id="no-module"
        ),
        pytest.param(
            "llmplug_test_lazy_cls:Missing", "failed to import (AttributeError", id="no-attr"
        ),
        pytest.param("llmplug_test_lazy_cls:NotLLM", "not a subclass of llmplug.LLM", id="not-llm"),
    ],
)
def test_class_path_that_fails(monkeypatch: pytest.MonkeyPatch, path: str, text: str) -> None:
    plugin_module(monkeypatch, "llmplug_test_lazy", _by_path(path))
    plugin_module(monkeypatch, "llmplug_test_lazy_cls", NotLLM=dict)
    with isolated_registry([provider_ep("lazy", "llmplug_test_lazy")]) as reg:
        with pytest.raises(PluginLoadError, match=text.replace("(", r"\(")) as first:
            reg.get("lazy")
        assert "plugin 'llmplug.providers:lazy'" in str(first.value)
        with pytest.raises(PluginLoadError) as again:  # remembered, not retried
            reg.get("lazy")
        assert again.value is first.value


@pytest.mark.parametrize("path", ["no_colon", "a:b:c", "mod:", ":Cls", "mod:1x", "a b:C"])
def test_malformed_class_path_refused_at_registration(
    monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    plugin_module(monkeypatch, "llmplug_test_lazy", _by_path(path))
    with (
        isolated_registry([provider_ep("lazy", "llmplug_test_lazy")]) as reg,
        pytest.raises(PluginLoadError, match=r"'package\.module:ClassName'"),
    ):
        reg.get("lazy")
