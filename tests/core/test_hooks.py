"""Lifecycle hooks fire once per call on all eight endpoints, with pluggy's semantics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

import llmplug
from llmplug import CallContext, ChatMessage, ChatResponse, CompletionResponse, MockLLM
from llmplug.errors import CallRefusedError, HookError
from llmplug.plugins._registry import registry
from llmplug.testing import HookRecorder, isolated_registry, recording_hooks, scripted


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    with isolated_registry():
        yield


@pytest.fixture
def recorder() -> Iterator[HookRecorder]:
    with recording_hooks() as rec:
        yield rec


@pytest.fixture
def plugin() -> Iterator[Any]:
    """Register hook plugins made in a test; unregister them afterwards."""
    names: list[str] = []

    def add(obj: object, name: str | None = None) -> object:
        names.append(llmplug.register_plugin(obj, name))
        return obj

    yield add
    for name in names:
        llmplug.unregister_plugin(name)


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


def run(llm: Any, endpoint: str, text: str = "hello world") -> Any:
    """Call one endpoint to completion; return the final response."""
    arg: Any = [user(text)] if "chat" in endpoint else text

    async def consume_async() -> Any:
        result = await getattr(llm, endpoint)(arg)
        if "stream" not in endpoint:
            return result
        last = None
        async for last in result:  # noqa: B007
            pass
        return last

    if endpoint.startswith("a"):
        return asyncio.run(consume_async())
    result = getattr(llm, endpoint)(arg)
    if "stream" in endpoint:
        return list(result)[-1]
    return result


ENDPOINTS = [
    "chat",
    "complete",
    "stream_chat",
    "stream_complete",
    "achat",
    "acomplete",
    "astream_chat",
    "astream_complete",
]
LLMS = [
    pytest.param(lambda: scripted(echo=True), id="chat-first"),
    pytest.param(lambda: MockLLM(), id="completion-first"),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("make", LLMS)
def test_hooks_fire_once_per_call(recorder: HookRecorder, make: Any, endpoint: str) -> None:
    llm = make()
    final = run(llm, endpoint)
    hooks = recorder.hooks()
    chunks = hooks.count("on_stream_chunk")
    assert hooks[0] == "before_call"
    assert hooks[-1] == "after_call"
    assert hooks.count("before_call") == hooks.count("after_call") == 1
    assert (chunks > 1) == ("stream" in endpoint)
    assert {e.endpoint for e in recorder.events} == {endpoint}
    call = recorder.events[-1].call
    assert call.is_async == endpoint.startswith("a")
    assert call.is_stream == ("stream" in endpoint)
    assert call.chunks == chunks
    assert call.latency is not None
    assert call.latency >= 0
    assert recorder.events[-1].payload is final
    assert call.response is final


def test_call_context_carries_provider_model_usage(recorder: HookRecorder) -> None:
    llm = llmplug.load("mock:my-model")
    llm.chat([user("one two three")])
    call = recorder.events[-1].call
    assert call.provider == "mock"
    assert call.model == "my-model"
    assert call.usage is not None
    assert call.usage.input_tokens == 3
    assert call.messages is not None
    assert call.prompt is None
    assert call.is_chat


def test_before_call_sees_prepared_messages(recorder: HookRecorder) -> None:
    llm = scripted(system_prompt="Sys")
    llm.complete("hi")
    call = recorder.events[0].call
    assert call.prompt == "hi"  # a chat-first model formats completions as messages
    llm.chat([user("x")])
    assert [m.content for m in recorder.events[-1].call.messages or []] == ["Sys", "x"]


def test_before_call_may_rewrite_messages_and_options(plugin: Any) -> None:
    class Redact:
        @llmplug.hookimpl
        def before_call(self, call: CallContext) -> None:
            assert call.messages is not None
            call.messages[-1] = user((call.messages[-1].content or "").replace("secret", "***"))
            call.kwargs["extra"] = 1

    plugin(Redact())
    llm = scripted()
    assert llm.chat([user("my secret")]).message.content == "my ***"
    gen = llm.stream_chat([user("a secret")])
    assert list(gen)[-1].message.content == "a ***"


def test_before_call_may_rewrite_prompt(plugin: Any) -> None:
    class Upper:
        @llmplug.hookimpl
        def before_call(self, call: CallContext) -> None:
            if call.prompt is not None:
                call.prompt = call.prompt.upper()

    plugin(Upper())
    assert MockLLM().complete("abc").text == "ABC"
    assert asyncio.run(MockLLM().acomplete("abc")).text == "ABC"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_guardrail_refuses_call(plugin: Any, endpoint: str) -> None:
    class Guard:
        @llmplug.hookimpl
        def before_call(self, call: CallContext) -> None:
            raise CallRefusedError("no shouting")

    plugin(Guard(), "guard-plugin")
    llm = scripted("never")
    with pytest.raises(CallRefusedError, match="no shouting") as info:
        run(llm, endpoint)
    assert info.value.plugin == "guard-plugin"
    assert info.value.provider == "mock"
    assert llm.calls == []  # the provider was never called


def test_buggy_before_call_is_a_hook_error_naming_the_plugin(plugin: Any) -> None:
    class Buggy:
        @llmplug.hookimpl
        def before_call(self, call: CallContext) -> None:
            raise KeyError("oops")

    name = llmplug.register_plugin(Buggy(), name="buggy-plugin")
    try:
        with pytest.raises(HookError, match="buggy-plugin") as info:
            scripted().chat([user("x")])
        assert info.value.plugin == "buggy-plugin"
        assert info.value.hook == "before_call"
        assert isinstance(info.value.__cause__, KeyError)
    finally:
        llmplug.unregister_plugin(name)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_answer_call_answers_without_provider(
    plugin: Any, recorder: HookRecorder, endpoint: str
) -> None:
    class Cache:
        @llmplug.hookimpl
        def answer_call(self, call: CallContext) -> Any:
            if call.is_chat:
                return ChatResponse(message=ChatMessage(role="assistant", content="cached"))
            return CompletionResponse(text="cached")

    plugin(Cache())
    llm = scripted(echo=False)
    final = run(llm, endpoint)
    text = final.message.content if "chat" in endpoint else final.text
    assert text == "cached"
    assert final.delta == ("cached" if "stream" in endpoint else None)
    assert llm.calls == []
    assert recorder.hooks()[-1] == "after_call"
    assert recorder.events[-1].call.answered_by is not None


def test_answer_call_none_lets_provider_answer(plugin: Any) -> None:
    class Miss:
        @llmplug.hookimpl
        def answer_call(self, call: CallContext) -> Any:
            return None

    plugin(Miss())
    assert scripted("real").chat([user("x")]).message.content == "real"


def test_answer_of_wrong_type_is_a_hook_error(plugin: Any) -> None:
    class Wrong:
        @llmplug.hookimpl
        def answer_call(self, call: CallContext) -> Any:
            return "a plain string"

    plugin(Wrong())
    with pytest.raises(HookError, match="must return a ChatResponse"):
        scripted().chat([user("x")])


@pytest.mark.parametrize("hook", ["after_call", "on_stream_chunk", "on_call_error"])
def test_failing_observer_never_loses_the_result(
    plugin: Any, caplog: pytest.LogCaptureFixture, hook: str
) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("observer bug")

    observer = type("Observer", (), {hook: staticmethod(llmplug.hookimpl(boom))})
    # pluggy matches hookimpls by name; give the function the hook's name
    boom.__name__ = hook
    plugin(observer())
    llm = scripted("fine", ValueError("provider failed"))
    with caplog.at_level(logging.ERROR, logger="llmplug"):
        assert list(llm.stream_chat([user("x")]))[-1].message.content == "fine"
        with pytest.raises(ValueError, match="provider failed"):
            llm.chat([user("x")])
    assert any("observer bug" in (r.exc_text or "") for r in caplog.records)
    assert any(hook in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_errors_reach_on_call_error_then_the_caller(recorder: HookRecorder, endpoint: str) -> None:
    llm = scripted(ConnectionError("down"))
    with pytest.raises(ConnectionError, match="down"):
        run(llm, endpoint)
    assert recorder.hooks() == ["before_call", "on_call_error"]
    assert isinstance(recorder.events[-1].payload, ConnectionError)
    assert recorder.events[-1].call.error is recorder.events[-1].payload


def test_stream_stopped_early_reports_cancelled(recorder: HookRecorder) -> None:
    llm = scripted("one two three four")
    gen = llm.stream_chat([user("x")])
    first = next(gen)
    gen.close()
    assert recorder.hooks() == ["before_call", "on_stream_chunk", "after_call"]
    call = recorder.events[-1].call
    assert call.cancelled
    assert recorder.events[-1].payload is first


async def test_async_stream_stopped_early_reports_cancelled(recorder: HookRecorder) -> None:
    llm = scripted("one two three four")
    gen = await llm.astream_chat([user("x")])
    async for _ in gen:
        break
    await gen.aclose()
    assert recorder.hooks()[-1] == "after_call"
    assert recorder.events[-1].call.cancelled


class _CtrlC(llmplug.ChatLLM):
    """Streams two words, then the user presses Ctrl-C while the next one is produced."""

    @property
    def metadata(self) -> llmplug.LLMMetadata:
        return llmplug.LLMMetadata(is_chat_model=True)

    def chat(self, messages: Any, **kwargs: Any) -> Any:
        raise AssertionError("only streamed here")

    def stream_chat(self, messages: Any, **kwargs: Any) -> Any:
        text = ""
        for word in ("one", " two"):
            text += word
            yield llmplug.ChatResponse(
                message=llmplug.ChatMessage(role="assistant", content=text), delta=word
            )
        raise KeyboardInterrupt  # where SIGINT lands: inside the provider's next chunk


def test_ctrl_c_in_a_stream_is_a_cancelled_call_with_the_partial_text(
    recorder: HookRecorder,
) -> None:
    received: list[str | None] = []
    stream = _CtrlC().stream_chat([user("x")])
    received += [next(stream).delta, next(stream).delta]
    with pytest.raises(KeyboardInterrupt):
        next(stream)
    assert received == ["one", " two"]
    assert recorder.hooks() == ["before_call", "on_stream_chunk", "on_stream_chunk", "after_call"]
    call = recorder.events[-1].call
    assert call.cancelled
    assert call.error is None
    assert recorder.events[-1].payload.message.content == "one two"


async def test_ctrl_c_in_an_async_stream_is_a_cancelled_call(recorder: HookRecorder) -> None:
    gen = await _CtrlC().astream_chat([user("x")])
    assert [(await anext(gen)).delta, (await anext(gen)).delta] == ["one", " two"]
    with pytest.raises(KeyboardInterrupt):
        await anext(gen)
    assert recorder.hooks()[-1] == "after_call"
    assert recorder.events[-1].call.cancelled
    assert recorder.events[-1].payload.message.content == "one two"


def test_hookimpl_may_take_a_subset_of_arguments(plugin: Any) -> None:
    seen: list[Any] = []

    class Minimal:
        @llmplug.hookimpl
        def after_call(self, response: Any) -> None:
            seen.append(response)

    plugin(Minimal())
    scripted("r").chat([user("x")])
    assert seen[0].message.content == "r"


def test_hooks_of_nested_llms_fire_for_each_llm(recorder: HookRecorder) -> None:
    inner = scripted("inner")

    class Outer:
        @llmplug.hookimpl
        def answer_call(self, call: CallContext) -> Any:
            if call.llm is not inner and call.is_chat:
                return inner.chat(call.messages or [])
            return None

    name = llmplug.register_plugin(Outer())
    try:
        scripted().chat([user("x")])
    finally:
        llmplug.unregister_plugin(name)
    assert [e.call.llm is inner for e in recorder.events if e.hook == "before_call"] == [
        False,
        True,
    ]


def test_no_hooks_means_no_call_context() -> None:
    assert registry().hookset() is None
    llm = scripted("r")
    assert llm.chat([user("x")]).message.content == "r"


def test_hook_list_refreshed_after_register_and_unregister() -> None:
    assert registry().hookset() is None
    with recording_hooks() as rec:
        assert registry().hookset() is not None
        scripted().chat([user("x")])
    assert registry().hookset() is None
    scripted().chat([user("x")])
    assert len(rec.events) == 2


def test_provider_module_hookimpls_are_active_once_loaded(recorder: HookRecorder) -> None:
    # the mock module is registered with the plugin manager when loaded by name
    llmplug.load("mock")
    assert registry().pm.has_plugin("llmplug.providers:mock")


def test_observers_see_the_messages_sent_in_a_list_of_their_own(plugin: Any) -> None:
    # with only observers (no before_call/answer_call), the messages are not copied: the
    # call's list holds the caller's messages (the provider got them as they are)
    seen: list[list[ChatMessage]] = []

    class Observer:
        @llmplug.hookimpl
        def after_call(self, call: CallContext) -> None:
            assert call.messages is not None
            seen.append(call.messages)

    plugin(Observer())
    history = [user("original")]
    scripted().chat(history)
    asyncio.run(scripted().achat(history))
    assert len(seen) == 2
    for messages in seen:
        assert messages is not history
        assert messages[0] is history[0]
        messages.append(user("appended by an observer"))
    assert len(history) == 1


def test_hook_editing_messages_never_changes_the_callers_history(plugin: Any) -> None:
    class Rewriter:
        @llmplug.hookimpl
        def before_call(self, call: CallContext) -> None:
            assert call.messages is not None
            call.messages[-1].content = "rewritten"
            call.messages.append(user("added"))

    plugin(Rewriter())
    history = [user("original")]
    llm = scripted()
    assert llm.chat(history).message.content == "added"
    assert [m.content for m in history] == ["original"]


def test_refused_call_reaches_on_call_error(plugin: Any, recorder: HookRecorder) -> None:
    class Guard:
        @llmplug.hookimpl
        def before_call(self, call: CallContext) -> None:
            raise CallRefusedError("no")

    plugin(Guard(), "guard")
    with pytest.raises(CallRefusedError):
        scripted().chat([user("x")])
    # the guard, registered last, runs first (pluggy's LIFO order) and stops the others
    assert recorder.hooks() == ["on_call_error"]
    assert isinstance(recorder.events[-1].payload, CallRefusedError)


def test_misspelled_hook_name_is_refused() -> None:
    class Typo:
        @llmplug.hookimpl
        def after_cal(self, call: CallContext) -> None:
            pass

    with pytest.raises(llmplug.errors.PluginLoadError, match=r"after_cal.*after_call"):
        llmplug.register_plugin(Typo(), "typo")
    assert not registry().pm.has_plugin("typo")


def test_stream_never_read_opens_no_call(recorder: HookRecorder) -> None:
    llm = scripted("unused")
    gen = llm.stream_chat([user("x")])
    del gen
    assert recorder.events == []
    assert llm.calls == []


async def test_async_stream_never_read_opens_no_call(recorder: HookRecorder) -> None:
    llm = scripted("unused")
    gen = await llm.astream_chat([user("x")])
    await gen.aclose()
    assert recorder.events == []


@pytest.mark.parametrize("hooked", [False, True], ids=["no-hooks", "hooks"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("make", LLMS)
def test_first_argument_by_keyword(make: Any, endpoint: str, hooked: bool) -> None:
    # llm.chat(messages=[...]) raised IndexError in the endpoint wrapper (it read args[0])
    llm = make()
    name = "messages" if "chat" in endpoint else "prompt"
    value: Any = [user("hello world")] if "chat" in endpoint else "hello world"

    async def consume_async() -> Any:
        result = await getattr(llm, endpoint)(**{name: value})
        return [c async for c in result][-1] if "stream" in endpoint else result

    with recording_hooks() if hooked else isolated_registry() as recorder:
        if endpoint.startswith("a"):
            last = asyncio.run(consume_async())
        else:
            result = getattr(llm, endpoint)(**{name: value})
            last = list(result)[-1] if "stream" in endpoint else result
        if hooked:
            assert recorder.hooks()[0] == "before_call"
    text = last.message.content if "chat" in endpoint else last.text
    assert "hello world" in text


@pytest.mark.parametrize(
    ("endpoint", "error", "match"),
    [
        # LlamaIndex's types: TypeError without messages, ValueError without a prompt
        pytest.param("chat", TypeError, "missing its first argument", id="chat"),
        pytest.param("stream_chat", TypeError, "missing its first argument", id="stream_chat"),
        pytest.param("achat", TypeError, "missing its first argument", id="achat"),
        pytest.param("complete", ValueError, "got no prompt", id="complete"),
        pytest.param("acomplete", ValueError, "got no prompt", id="acomplete"),
    ],
)
def test_missing_first_argument_is_a_clear_error(
    endpoint: str, error: type[Exception], match: str
) -> None:
    def call() -> Any:
        result = getattr(scripted(echo=True), endpoint)()
        return asyncio.run(result) if endpoint.startswith("a") else result

    with pytest.raises(error, match=rf"{endpoint}\(\) {match}"):
        call()
