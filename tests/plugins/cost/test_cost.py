"""llmplug-cost: real genai-prices lookups, the user's prices, the cost on every call."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import genai_prices
import pytest

import llmplug
import llmplug_cost
from llmplug import CallContext, ChatMessage, ChatResponse, Usage
from llmplug.errors import ConfigError
from llmplug.testing import isolated_registry


@pytest.fixture(autouse=True)
def priced_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated registry with the plugin registered and on; an empty config file."""
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("LLMPLUG_CONFIG", str(config))
    monkeypatch.setitem(llmplug_cost._overrides, "checked", -1.0)  # read the file anew
    monkeypatch.setattr(llmplug_cost, "_resolved", {})  # and look the prices up anew
    with isolated_registry():
        name = llmplug.register_plugin(llmplug_cost, "cost")
        llmplug_cost.enable()
        try:
            yield config
        finally:
            llmplug_cost.disable()
            llmplug.unregister_plugin(name)


def _genai(usage: Usage, model: str, provider_id: str) -> float:
    priced = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cached_tokens or None,
            cache_write_tokens=usage.cache_creation_tokens or None,
            output_reasoning_tokens=usage.reasoning_tokens or None,
        ),
        model,
        provider_id=provider_id,
    )
    return float(priced.total_price)


KNOWN = [
    pytest.param("openai", "gpt-4o-mini", "openai",
                 Usage(input_tokens=1200, output_tokens=300, cached_tokens=1000),
                 id="openai-cached-input"),
    pytest.param("anthropic", "claude-sonnet-4-5", "anthropic",
                 Usage(input_tokens=50_000, output_tokens=2_000, cached_tokens=30_000,
                       cache_creation_tokens=10_000),
                 id="anthropic-cache-read-and-write"),
    pytest.param("openai", "o3-mini", "openai",
                 Usage(input_tokens=500, output_tokens=4_000, reasoning_tokens=3_500),
                 id="openai-reasoning"),
    pytest.param("gemini", "gemini-2.5-pro", "google",
                 Usage(input_tokens=300_000, output_tokens=1_000),
                 id="gemini-tiered-long-prompt"),
    pytest.param("vertex", "gemini-2.5-flash", "google",
                 Usage(input_tokens=10_000, output_tokens=500),
                 id="vertex"),
    pytest.param("groq", "llama-3.3-70b-versatile", "groq",
                 Usage(input_tokens=10_000, output_tokens=500), id="groq"),
]  # fmt: skip


@pytest.mark.parametrize(("provider", "model", "provider_id", "usage"), KNOWN)
def test_known_models_cost_what_genai_prices_says(
    provider: str, model: str, provider_id: str, usage: Usage
) -> None:
    cost = llmplug_cost.cost_of(provider, model, usage)
    assert cost is not None
    assert cost > 0
    assert cost == pytest.approx(_genai(usage, model, provider_id), rel=1e-9)


def test_cached_and_reasoning_tokens_are_priced_as_such() -> None:
    plain = llmplug_cost.cost_of("openai", "gpt-4o-mini", Usage(input_tokens=1_000_000))
    cached = llmplug_cost.cost_of(
        "openai", "gpt-4o-mini", Usage(input_tokens=1_000_000, cached_tokens=1_000_000)
    )
    assert plain == pytest.approx(0.15)  # gpt-4o-mini: $0.15 per million prompt tokens
    assert cached == pytest.approx(0.075)  # and half that read from the cache
    written = llmplug_cost.cost_of(
        "anthropic",
        "claude-sonnet-4-5",
        Usage(input_tokens=1_000_000, cache_creation_tokens=1_000_000),
    )
    unwritten = llmplug_cost.cost_of(
        "anthropic", "claude-sonnet-4-5", Usage(input_tokens=1_000_000)
    )
    assert written is not None
    assert unwritten is not None
    assert written > unwritten


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        pytest.param("openai", "no-such-model-xyz", id="unknown-model"),
        pytest.param("ollama", "llama3.2", id="local-server"),
        pytest.param("vllm", "gpt-4o-mini", id="self-hosted-under-a-known-name"),
        pytest.param("mock", "mock-echo", id="mock"),
        pytest.param("fallback", "gpt-4o-mini", id="route"),
    ],
)
def test_unknown_prices_give_no_cost_never_a_guess(provider: str, model: str) -> None:
    assert llmplug_cost.cost_of(provider, model, Usage(input_tokens=100)) is None


def test_the_config_file_sets_prices(priced_config: Path) -> None:
    priced_config.write_text(
        '[plugins.cost.prices."ollama:*"]\ninput = 0\noutput = 0\n'
        '[plugins.cost.prices."openai:gpt-4o-mini"]\ninput = 1\noutput = 2\ncached_input = 0.5\n'
        '[plugins.cost.providers]\nmy-proxy = "openai"\n'
    )
    usage = Usage(input_tokens=2_000_000, output_tokens=1_000_000, cached_tokens=1_000_000)
    assert llmplug_cost.cost_of("ollama", "anything", usage) == 0.0
    assert llmplug_cost.cost_of("openai", "gpt-4o-mini", usage) == pytest.approx(1 + 0.5 + 2)
    proxied = llmplug_cost.cost_of("my-proxy", "gpt-4o", usage)
    assert proxied == pytest.approx(_genai(usage, "gpt-4o", "openai"))


def test_a_changed_config_file_is_priced_within_a_second(
    priced_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(llmplug_cost, "_clock", lambda: now[0])
    usage = Usage(input_tokens=1_000_000, output_tokens=0)
    priced_config.write_text('[plugins.cost.prices."acme:m"]\ninput = 1\noutput = 1\n')
    assert llmplug_cost.cost_of("acme", "m", usage) == pytest.approx(1.0)
    priced_config.write_text('[plugins.cost.prices."acme:m"]\ninput = 3\noutput = 1\n')
    now[0] += 0.5  # the prices found are kept a second
    assert llmplug_cost.cost_of("acme", "m", usage) == pytest.approx(1.0)
    now[0] += 0.6
    assert llmplug_cost.cost_of("acme", "m", usage) == pytest.approx(3.0)


def test_a_bad_config_file_leaves_calls_unpriced_and_is_said_once(
    priced_config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    priced_config.write_text('[plugins.cost.prices."a:b"]\ninput = -1\noutput = 1\n')
    llm = priced_mock()
    with caplog.at_level(logging.ERROR, logger="llmplug_cost"):
        for _ in range(3):
            assert llm.complete("x").usage.cost is None
    said = [r.getMessage() for r in caplog.records if r.name == "llmplug_cost"]
    assert len(said) == 1
    assert "not priced until the config file is fixed" in said[0]
    assert "input must be a number >= 0" in said[0]
    assert "raised in after_call" not in caplog.text  # not a plugin failure on every call


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        pytest.param("[plugins.cost]\nprice = 1\n", "unknown key(s) ['price']", id="unknown"),
        pytest.param('[plugins.cost.prices."gpt-4o"]\ninput = 1\noutput = 1\n',
                     "provider:model", id="no-provider"),
        pytest.param('[plugins.cost.prices."a:b"]\ninput = -1\noutput = 1\n',
                     "input must be a number >= 0", id="negative"),
        pytest.param('[plugins.cost.prices."a:b"]\ninput = 1\n', "give at least input and output",
                     id="no-output"),
        pytest.param('[plugins.cost.prices."a:b"]\ninput = 1\noutput = 1\ncache = 1\n',
                     "unknown key(s) ['cache']", id="unknown-price-key"),
    ],
)  # fmt: skip
def test_bad_prices_in_the_config_file_say_what_is_wrong(
    priced_config: Path, toml: str, message: str
) -> None:
    priced_config.write_text(toml)
    with pytest.raises(ConfigError, match=re.escape(message)):
        llmplug_cost.cost_of("a", "b", Usage())


# -- the hook: every call's usage gets its cost ---------------------------------------------


def priced_mock(**options: Any) -> Any:
    """A mock answering as OpenAI's gpt-4o-mini (the plugin prices it by provider name)."""
    llm = llmplug.load("mock:gpt-4o-mini", **options)
    llm._provider = "openai"
    return llm


async def _astream(llm: Any) -> Any:
    last = None
    async for chunk in await llm.astream_chat([ChatMessage(role="user", content="a b c")]):
        last = chunk
    return last


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param(lambda llm: llm.chat([ChatMessage(role="user", content="a b c")]), id="chat"),
        pytest.param(lambda llm: llm.complete("a b c"), id="complete"),
        pytest.param(lambda llm: list(llm.stream_complete("a b c"))[-1], id="stream"),
        pytest.param(lambda llm: asyncio.run(llm.acomplete("a b c")), id="acomplete"),
        pytest.param(lambda llm: asyncio.run(_astream(llm)), id="astream_chat"),
    ],
)
def test_every_call_gets_its_cost(endpoint: Any) -> None:
    response = endpoint(priced_mock())
    usage = response.usage
    assert usage is not None
    assert usage.total_tokens > 0
    assert usage.cost == pytest.approx(_genai(usage, "gpt-4o-mini", "openai"))


def test_a_call_with_an_unknown_price_keeps_no_cost() -> None:
    assert llmplug.load("mock").complete("a b").usage.cost is None


def test_switching_off_per_call_and_per_process() -> None:
    llm = priced_mock()
    assert llm.complete("x", plugins={"cost": False}).usage.cost is None
    llmplug_cost.disable()
    assert llm.complete("x").usage.cost is None
    llmplug_cost.enable()
    assert llm.complete("x").usage.cost is not None


class CacheHit:
    @llmplug.hookimpl
    def answer_call(self, call: CallContext) -> Any:
        call.cache_hit = True
        usage = Usage(input_tokens=10, output_tokens=10, cost=0.5)
        return ChatResponse(message=ChatMessage(role="assistant", content="hi"), usage=usage)


def test_a_call_answered_from_a_cache_costs_nothing() -> None:
    name = llmplug.register_plugin(CacheHit(), "hit")
    try:
        response = priced_mock().chat([ChatMessage(role="user", content="x")])
    finally:
        llmplug.unregister_plugin(name)
    assert response.usage is not None
    assert response.usage.cost == 0.0


def test_the_cost_is_there_before_other_observers_see_the_call() -> None:
    seen: list[float | None] = []

    class Reader:
        @llmplug.hookimpl
        def after_call(self, call: CallContext) -> None:
            seen.append(call.usage.cost if call.usage else None)

    name = llmplug.register_plugin(Reader(), "reader")  # registered last: would run first
    try:
        priced_mock().complete("a b")
    finally:
        llmplug.unregister_plugin(name)
    assert seen[0] is not None
