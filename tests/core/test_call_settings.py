"""What a call carries for plugins: settings, conversation id, parent, flags, cost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmplug
from llmplug import CallContext, ChatMessage, ChatResponse, CompletionResponse, Usage
from llmplug.config import read_config
from llmplug.errors import ConfigError, HookError, InvalidOptionError
from llmplug.llm import plugin_settings, resume_conversation
from llmplug.testing import isolated_registry, scripted
from llmplug.types import Conversation


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    with isolated_registry(with_routes=True):
        yield


class Seen:
    """Records the calls it sees end."""

    def __init__(self) -> None:
        self.calls: list[CallContext] = []
        self.chunks = 0

    @llmplug.hookimpl
    def after_call(self, call: CallContext) -> None:
        self.calls.append(call)

    @llmplug.hookimpl
    def on_stream_chunk(self) -> None:
        self.chunks += 1


@pytest.fixture
def seen() -> Iterator[Seen]:
    plugin = Seen()
    name = llmplug.register_plugin(plugin, "seen")
    yield plugin
    llmplug.unregister_plugin(name)


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


async def _drain(gen: Any) -> list[Any]:
    return [chunk async for chunk in gen]


def call_endpoint(llm: Any, endpoint: str, **kwargs: Any) -> Any:
    arg: Any = user("hello world") if "chat" in endpoint else "hello world"
    if endpoint.startswith("a"):

        async def run() -> Any:
            result = await getattr(llm, endpoint)(arg, **kwargs)
            return await _drain(result) if "stream" in endpoint else result

        return asyncio.run(run())
    result = getattr(llm, endpoint)(arg, **kwargs)
    return list(result) if "stream" in endpoint else result


ENDPOINTS = [
    pytest.param(name, id=name)
    for name in (
        "chat",
        "complete",
        "stream_chat",
        "stream_complete",
        "achat",
        "acomplete",
        "astream_chat",
        "astream_complete",
    )
]


# -- reading settings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(None, {}, id="none"),
        pytest.param("cache", {"cache": True}, id="one-on"),
        pytest.param("-log", {"log": False}, id="one-off"),
        pytest.param("cache, -log,+otel", {"cache": True, "log": False, "otel": True}, id="list"),
        pytest.param('{"cache": {"ttl": 60}}', {"cache": {"ttl": 60}}, id="json"),
        pytest.param({"cache": False}, {"cache": False}, id="mapping"),
    ],
)
def test_plugin_settings_forms(given: Any, expected: dict[str, Any]) -> None:
    assert plugin_settings(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        pytest.param(3, "must be a mapping or text", id="int"),
        pytest.param({"cache": 1}, "must be true, false or a mapping", id="int-setting"),
        pytest.param("{oops", "not valid JSON", id="bad-json"),
        pytest.param({"bad name": True}, "bad plugin name", id="bad-name"),
    ],
)
def test_bad_plugin_settings_say_what_is_accepted(given: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plugin_settings(given)


def test_a_model_spec_carries_settings_for_plugins() -> None:
    llm = llmplug.load("mock?plugins=cache,-log")
    assert llm.plugins == {"cache": True, "log": False}
    with pytest.raises(InvalidOptionError, match="plugins"):
        llmplug.load("mock?plugins=ca%20che")


# -- per-call settings never reach the provider --------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_call_settings_reach_the_hooks_not_the_provider(endpoint: str, seen: Seen) -> None:
    llm = llmplug.load("mock?plugins=cache")
    call_endpoint(llm, endpoint, plugins={"otel": {"content": True}}, conversation_id="c-1")
    (call,) = seen.calls
    assert call.plugins == {"cache": True, "otel": {"content": True}}
    assert call.conversation_id == "c-1"
    assert llm.call_options[-1] == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_call_settings_are_taken_out_with_no_hooks_registered(endpoint: str) -> None:
    llm = llmplug.load("mock")
    call_endpoint(llm, endpoint, plugins={"log": False}, conversation_id="c-1")
    assert llm.call_options[-1] == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_plugin_switched_off_for_a_call_sees_nothing(endpoint: str, seen: Seen) -> None:
    llm = llmplug.load("mock")
    call_endpoint(llm, endpoint, plugins={"seen": False})
    assert seen.calls == []
    assert seen.chunks == 0
    call_endpoint(llm, endpoint)
    assert len(seen.calls) == 1


def test_a_model_can_switch_a_plugin_off_and_a_call_back_on(seen: Seen) -> None:
    llm = llmplug.load("mock?plugins=-seen")
    llm.complete("x")
    assert seen.calls == []
    llm.complete("x", plugins="seen")
    assert len(seen.calls) == 1


def test_entry_point_plugins_are_switched_off_by_their_entry_point_name() -> None:
    plugin = Seen()
    name = llmplug.register_plugin(plugin, "llmplug:recorder")
    try:
        llmplug.load("mock").complete("x", plugins="-recorder")
        assert plugin.calls == []
    finally:
        llmplug.unregister_plugin(name)


def test_a_setting_for_a_plugin_not_there_is_said_once(
    seen: Seen, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="llmplug"):
        llmplug.load("mock?plugins=-seeen").complete("x")
        assert len(seen.calls) == 1  # the typo switched nothing off
        llmplug.load("mock?plugins=-seeen").complete("x")  # said once
        asyncio.run(llmplug.load("mock").acomplete("x", plugins={"seen": False}))  # known
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1
    assert "'seeen' names no installed or registered plugin" in said[0]
    assert "seen" in said[0].split("known: ")[1]


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        pytest.param({"plugins": 5}, "plugins", id="plugins"),
        pytest.param({"conversation_id": ""}, "conversation_id", id="empty-conversation"),
        pytest.param({"conversation_id": 7}, "conversation_id", id="int-conversation"),
    ],
)
def test_bad_call_settings_fail_at_the_call(kwargs: dict[str, Any], option: str) -> None:
    llm = llmplug.load("mock")
    with pytest.raises(InvalidOptionError) as info:
        llm.stream_chat(user("x"), **kwargs)  # a stream: before its first next()
    assert info.value.option == option
    assert llm.calls == []


# -- nested calls: parent, inherited settings ------------------------------------------


def test_a_routes_member_call_has_the_route_call_as_parent(seen: Seen) -> None:
    route = llmplug.load("fallback:mock")
    route.chat(user("hi"), plugins={"cache": True}, conversation_id="conv")
    member, outer = seen.calls  # the member's call ends first
    assert outer.parent is None
    assert member.parent is outer
    assert member.plugins == {"cache": True}
    assert member.conversation_id == "conv"


def test_a_structured_call_passes_its_settings_to_the_model_call(seen: Seen) -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        value: int

    llm = scripted('{"value": 3}')
    llm.as_structured_llm(Answer).chat(user("x"), plugins={"seen": False})
    assert seen.calls == []  # neither the structured call nor the model's


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
def test_streams_record_the_time_of_their_first_chunk(endpoint: str, seen: Seen) -> None:
    call_endpoint(llmplug.load("mock"), endpoint)
    (call,) = seen.calls
    assert call.first_chunk_at is not None
    assert call.time_to_first_chunk is not None
    assert 0 <= call.time_to_first_chunk <= call.latency  # type: ignore[operator]


def test_call_options_are_shown_without_secrets(seen: Seen) -> None:
    llm = llmplug.load("mock?max_tokens=3")
    llm.chat(user("x"), api_key="sk-canary-123")
    options = seen.calls[0].options()
    assert options == {"model": "mock-echo", "max_tokens": 3, "api_key": "<redacted>"}


# -- answer_call: a stream replayed piece by piece, the cache flag ----------------------


class Replay:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    @llmplug.hookimpl
    def answer_call(self, call: CallContext) -> Any:
        call.cache_hit = True
        return self.answer


def _chunks(*pieces: str) -> list[ChatResponse]:
    text = ""
    out = []
    for piece in pieces:
        text += piece
        out.append(ChatResponse(message=ChatMessage(role="assistant", content=text), delta=piece))
    return out


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
def test_answer_call_may_replay_a_stream_chunk_by_chunk(endpoint: str, seen: Seen) -> None:
    name = llmplug.register_plugin(Replay(_chunks("He", "llo", "!")), "replay")
    try:
        chunks = call_endpoint(llmplug.load("mock"), endpoint)
    finally:
        llmplug.unregister_plugin(name)
    assert [c.delta for c in chunks] == ["He", "llo", "!"]
    (call,) = seen.calls
    assert call.cache_hit
    assert call.answered_by == "replay"
    assert seen.chunks == 3


@pytest.mark.parametrize(
    ("endpoint", "answer", "message"),
    [
        pytest.param("chat", _chunks("a"), "with list", id="list-for-a-plain-call"),
        pytest.param("stream_chat", [], "with an empty list", id="empty"),
        pytest.param(
            "stream_complete", _chunks("a"), "a list holding other things", id="wrong-type"
        ),
    ],
)
def test_answer_call_lists_are_checked(endpoint: str, answer: Any, message: str) -> None:
    name = llmplug.register_plugin(Replay(answer), "replay")
    try:
        with pytest.raises(HookError, match=message):
            call_endpoint(llmplug.load("mock"), endpoint)
    finally:
        llmplug.unregister_plugin(name)


def test_completion_streams_replay_completion_chunks() -> None:
    pieces = [CompletionResponse(text="ab"[: i + 1], delta=c) for i, c in enumerate("ab")]
    name = llmplug.register_plugin(Replay(pieces), "replay")
    try:
        chunks = call_endpoint(llmplug.load("mock"), "stream_complete")
    finally:
        llmplug.unregister_plugin(name)
    assert [c.delta for c in chunks] == ["a", "b"]


# -- usage cost ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param(0.5, 0.25, 0.75, id="both-known"),
        pytest.param(0.5, None, None, id="one-unknown"),
        pytest.param(None, None, None, id="both-unknown"),
    ],
)
def test_a_sums_cost_is_known_only_when_every_parts_is(
    a: float | None, b: float | None, expected: float | None
) -> None:
    total = Usage(input_tokens=1, cost=a) + Usage(output_tokens=2, cost=b)
    assert total.cost == expected
    assert sum([Usage(cost=a), Usage(cost=b)]).cost == expected  # type: ignore[union-attr]
    assert total.total_tokens == 3


# -- the config file's plugin tables, conversations kept by plugins --------------------


def test_the_config_file_hands_each_plugin_its_table(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[plugins.cache]\nttl = 60\n[plugins.cost.prices."mock:x"]\ninput = 1\n')
    config = read_config(path)
    assert config.plugins == {"cache": {"ttl": 60}, "cost": {"prices": {"mock:x": {"input": 1}}}}
    path.write_text("[plugins]\ncache = 3\n")
    with pytest.raises(ConfigError, match="one table per plugin"):
        read_config(path)


class Keeper:
    @llmplug.hookimpl
    def resume_conversation(self, conversation_id: str | None) -> Any:
        if conversation_id in (None, "c1"):
            return Conversation("c1", user("hi"), "mock")
        return None


def test_resume_conversation_asks_the_plugins() -> None:
    assert resume_conversation() is None  # no plugin keeps them
    name = llmplug.register_plugin(Keeper(), "keeper")
    try:
        assert resume_conversation() == Conversation("c1", user("hi"), "mock")
        assert resume_conversation("c1") is not None
        assert resume_conversation("other") is None
    finally:
        llmplug.unregister_plugin(name)
