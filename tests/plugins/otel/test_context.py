"""The call's span as the current OpenTelemetry context: what the provider's code sees.

While a plain call runs, spans the provider makes (as HTTP instrumentation would), in
asyncio tasks and worker threads it starts, are children of the call's span; when the
call ends, however it ends, the caller's context is current again. A stream's span is
never made current (its steps run in the consumer's context).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import llmplug
from llmplug import CallContext, ChatMessage, ChatResponse
from llmplug.errors import HookError
from llmplug.mock import MockChatLLM
from llmplug_otel import Tracing

from .conftest import Telemetry


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


class Instrumented(MockChatLLM):
    """A provider whose own code makes spans, in the ways a real client's code does."""

    #: Where the provider's spans go (set by the ``provider`` fixture).
    tracer: ClassVar[Any] = None
    #: How the provider's code makes its span: inline, in a task or in a worker thread.
    way: ClassVar[str] = "inline"

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        if self.way == "thread":  # a worker thread started during the call, context copied
            with ThreadPoolExecutor(1) as pool:
                context = contextvars.copy_context()
                pool.submit(context.run, self._work, "thread").result()
        else:
            self._work("chat")
        return super().chat(messages, **kwargs)

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        if self.way == "to_thread":
            await asyncio.to_thread(self._work, "to_thread")
        elif self.way == "task":
            await asyncio.create_task(self._awork("task"))
        else:
            await self._awork("achat")
        return super().chat(messages, **kwargs)

    def _work(self, name: str) -> None:
        with self.tracer.start_as_current_span(f"provider {name}"):
            pass

    async def _awork(self, name: str) -> None:
        with self.tracer.start_as_current_span(f"provider {name}"):
            await asyncio.sleep(0)


@pytest.fixture
def provider(otel: Telemetry) -> Iterator[type[Instrumented]]:
    Instrumented.tracer = otel.tracer_provider.get_tracer("provider")
    yield Instrumented
    Instrumented.way = "inline"


def _run_chat(llm: Any) -> Any:
    return llm.chat(user("hi"))


def _run_achat(llm: Any) -> Any:
    return asyncio.run(llm.achat(user("hi")))


WAYS = [
    pytest.param(_run_chat, "inline", "provider chat", id="chat"),
    pytest.param(_run_chat, "thread", "provider thread", id="chat-worker-thread"),
    pytest.param(_run_achat, "inline", "provider achat", id="achat"),
    pytest.param(_run_achat, "task", "provider task", id="achat-task"),
    pytest.param(_run_achat, "to_thread", "provider to_thread", id="achat-to_thread"),
]


@pytest.mark.parametrize(("run", "way", "inner"), WAYS)
def test_spans_the_provider_makes_are_children_of_the_calls_span(
    otel: Telemetry, provider: type[Instrumented], run: Any, way: str, inner: str
) -> None:
    provider.way = way
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("app") as app:
        run(provider())
        assert trace.get_current_span() is app  # the caller's context is back
    call = otel.named("chat mock-echo")
    made = otel.named(inner)
    assert made.parent is not None
    assert made.parent.span_id == call.context.span_id
    assert call.parent is not None
    assert call.parent.span_id == app.get_span_context().span_id


async def test_concurrent_calls_each_make_their_own_span_current(
    otel: Telemetry, provider: type[Instrumented]
) -> None:
    provider.way = "task"
    llm = provider()
    await asyncio.gather(*(llm.achat(user(f"q{i}")) for i in range(5)))
    calls = {s.context.span_id for s in otel.finished() if s.name == "chat mock-echo"}
    made = [s for s in otel.finished() if s.name == "provider task"]
    assert len(calls) == len(made) == 5
    assert {s.parent.span_id for s in made if s.parent is not None} == calls
    assert trace.get_current_span() is trace.INVALID_SPAN


async def _achat_then_current(llm: Any) -> Any:
    """``llm.achat(...)``, then the span current in this task (asyncio.run's own context)."""
    try:
        await llm.achat(user("x"))
    finally:
        assert trace.get_current_span() is trace.INVALID_SPAN


def _current_after(run: Any) -> Any:
    """Run ``run`` in a fresh context; the span current afterwards, there."""
    context = contextvars.copy_context()
    return context.run(lambda: (run(), trace.get_current_span())[1])


class Answers:
    """A plugin answering every call (as a cache does)."""

    @llmplug.hookimpl
    def answer_call(self, call: CallContext) -> Any:
        return ChatResponse(message=ChatMessage(role="assistant", content="kept"))


class FailsLater:
    """A before_call hook running after the tracing plugin's, and failing."""

    @llmplug.hookimpl(trylast=True)
    def before_call(self, call: CallContext) -> None:
        raise RuntimeError("no")


def _raises(run: Any, error: type[BaseException]) -> Any:
    def go(llm: Any) -> None:
        with pytest.raises(error):
            run(llm)

    return go


ENDINGS = [
    pytest.param(None, lambda llm: llm.chat(user("x")), "", id="chat"),
    pytest.param(None, lambda llm: asyncio.run(_achat_then_current(llm)), "", id="achat"),
    pytest.param(Answers, lambda llm: llm.chat(user("x")), "", id="answered"),
    pytest.param(Answers, lambda llm: asyncio.run(_achat_then_current(llm)), "",
                 id="answered-async"),
    pytest.param(FailsLater, _raises(lambda llm: llm.chat(user("x")), HookError), "HookError",
                 id="before_call-fails"),
    pytest.param(FailsLater, _raises(lambda llm: asyncio.run(_achat_then_current(llm)),
                                     HookError), "HookError", id="before_call-fails-async"),
]  # fmt: skip


@pytest.mark.parametrize(("other", "run", "error"), ENDINGS)
def test_the_callers_context_is_back_however_the_call_ends(
    otel: Telemetry, other: Any, run: Any, error: str
) -> None:
    name = llmplug.register_plugin(other(), "other") if other is not None else None
    try:
        llm = llmplug.load("mock")
        assert _current_after(lambda: run(llm)) is trace.INVALID_SPAN
    finally:
        if name is not None:
            llmplug.unregister_plugin(name)
    (span,) = otel.finished()
    assert span.attributes.get("error.type", "") == error  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "run",
    [
        pytest.param(lambda llm: llm.chat(user("x")), id="chat"),
        pytest.param(lambda llm: asyncio.run(_achat_then_current(llm)), id="achat"),
    ],
)
def test_a_failing_provider_leaves_the_callers_context(otel: Telemetry, run: Any) -> None:
    class Fails(MockChatLLM):
        def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
            assert trace.get_current_span() is not trace.INVALID_SPAN  # the call's
            raise ConnectionError("down")

    def go() -> None:
        with pytest.raises(ConnectionError):
            run(Fails())

    assert _current_after(go) is trace.INVALID_SPAN
    (span,) = otel.finished()
    assert span.status.status_code == StatusCode.ERROR


def test_two_tracing_plugins_leave_the_callers_context(otel: Telemetry) -> None:
    other = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(other))
    name = llmplug.register_plugin(Tracing(tracer_provider), "second")
    app = otel.tracer_provider.get_tracer("app")
    try:
        with app.start_as_current_span("app") as outer:
            llmplug.load("mock").chat(user("x"))
            assert trace.get_current_span() is outer
            asyncio.run(llmplug.load("mock").achat(user("x")))
            assert trace.get_current_span() is outer
    finally:
        llmplug.unregister_plugin(name)
    # each plugin's spans are children of the caller's span, not of the other's
    spans: list[ReadableSpan] = [*otel.finished(), *other.get_finished_spans()]
    calls = [s for s in spans if s.name == "chat mock-echo"]
    assert len(calls) == 4
    for span in calls:
        assert span.parent is not None
        assert span.parent.span_id == outer.get_span_context().span_id


def test_a_streams_span_is_not_current_while_its_consumer_reads_it(otel: Telemetry) -> None:
    """The consumer's code between chunks stays in its own context (documented)."""
    tracer = otel.tracer_provider.get_tracer("app")
    llm = llmplug.load("mock")
    with tracer.start_as_current_span("app") as app:
        for _chunk in llm.stream_chat(user("a b c")):
            assert trace.get_current_span() is app
            with tracer.start_as_current_span("consumer"):
                pass
    stream = otel.named("chat mock-echo")
    for span in otel.finished():
        if span.name == "consumer":
            assert span.parent is not None
            assert span.parent.span_id == app.get_span_context().span_id
    assert stream.parent is not None
    assert stream.parent.span_id == app.get_span_context().span_id


async def test_an_async_streams_span_is_not_current_while_its_consumer_reads_it(
    otel: Telemetry,
) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("app") as app:
        async for _chunk in await llmplug.load("mock").astream_chat(user("a b c")):
            assert trace.get_current_span() is app
    stream = otel.named("chat mock-echo")
    assert stream.parent is not None
    assert stream.parent.span_id == app.get_span_context().span_id


def test_a_stream_left_unread_in_another_thread_leaves_no_context_behind(
    otel: Telemetry,
) -> None:
    stream = llmplug.load("mock").stream_chat(user("a b c"))
    seen: list[Any] = []

    def read_one() -> None:
        next(stream)
        seen.append(trace.get_current_span())

    worker = threading.Thread(target=read_one)
    worker.start()
    worker.join()
    stream.close()
    assert seen == [trace.INVALID_SPAN]
    (span,) = otel.finished()
    assert span.attributes["llmplug.cancelled"] is True  # type: ignore[index]
