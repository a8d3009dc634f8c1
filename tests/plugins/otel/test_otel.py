"""llmplug-otel with the OpenTelemetry SDK's in-memory exporters: the GenAI conventions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import llmplug
import llmplug_otel
from llmplug import ChatMessage, ChatResponse, MessageRole
from llmplug.testing import isolated_registry, scripted
from llmplug_otel import Tracing


@dataclass
class Telemetry:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer_provider: TracerProvider
    plugin: Tracing

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        found = []
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found += list(metric.data.data_points)
        return found


def _telemetry(**options: Any) -> Iterator[Telemetry]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    plugin = Tracing(tracer_provider, MeterProvider(metric_readers=[reader]), **options)
    with isolated_registry(with_routes=True):
        name = llmplug.register_plugin(plugin, "otel")
        try:
            yield Telemetry(spans, reader, tracer_provider, plugin)
        finally:
            llmplug.unregister_plugin(name)


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    yield from _telemetry()


@pytest.fixture
def otel_content() -> Iterator[Telemetry]:
    yield from _telemetry(capture_content=True)


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


def openai_mock(*responses: Any, **options: Any) -> Any:
    llm = scripted(*responses, model="gpt-4o-mini", **options)
    llm._provider = "openai"
    return llm


async def _adeltas(llm: Any) -> list[str]:
    return [c.delta async for c in await llm.astream_chat(user("one two three"))]


ENDPOINTS = [
    pytest.param(lambda llm: llm.chat(user("one two three")), "chat", id="chat"),
    pytest.param(lambda llm: llm.complete("one two three"), "text_completion", id="complete"),
    pytest.param(lambda llm: list(llm.stream_chat(user("one two three"))), "chat",
                 id="stream_chat"),
    pytest.param(lambda llm: asyncio.run(llm.achat(user("one two three"))), "chat", id="achat"),
    pytest.param(lambda llm: asyncio.run(_adeltas(llm)), "chat", id="astream_chat"),
]  # fmt: skip


@pytest.mark.parametrize(("run", "operation"), ENDPOINTS)
def test_every_call_is_a_span_with_the_conventions_attributes(
    otel: Telemetry, run: Any, operation: str
) -> None:
    llm = llmplug.load("mock:gpt-4o-mini?temperature=0.5&max_tokens=10")
    llm._provider = "openai"
    run(llm)
    (span,) = otel.finished()
    assert span.name == f"{operation} gpt-4o-mini"
    assert span.kind == SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == operation
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.request.max_tokens"] == 10
    assert attributes["gen_ai.usage.input_tokens"] == 3
    assert attributes["gen_ai.usage.output_tokens"] == 3
    assert "gen_ai.input.messages" not in attributes  # content only when asked
    assert "gen_ai.output.messages" not in attributes
    assert span.status.status_code == StatusCode.UNSET


def test_provider_names_follow_the_conventions(otel: Telemetry) -> None:
    for provider, expected in [("bedrock", "aws.bedrock"), ("gemini", "gcp.gemini"),
                               ("vertex", "gcp.vertex_ai"), ("mock", "mock")]:  # fmt: skip
        llm = llmplug.load("mock")
        llm._provider = provider
        llm.complete("x")
        assert otel.finished()[-1].attributes["gen_ai.provider.name"] == expected  # type: ignore[index]


def test_finish_reasons_and_the_response_model_come_from_the_reply(otel: Telemetry) -> None:
    reply = ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, content="hi"),
        raw={"model": "gpt-4o-mini-2024-07-18"},
        additional_kwargs={"finish_reason": "length"},
    )
    openai_mock(reply).chat(user("hi"))
    (span,) = otel.finished()
    assert span.attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"  # type: ignore[index]
    assert span.attributes["gen_ai.response.finish_reasons"] == ("length",)  # type: ignore[index]


def test_an_error_ends_the_span_with_its_type(otel: Telemetry) -> None:
    with pytest.raises(ValueError, match="boom"):
        openai_mock(ValueError("boom")).chat(user("hi"))
    (span,) = otel.finished()
    assert span.attributes["error.type"] == "ValueError"  # type: ignore[index]
    assert span.status.status_code == StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]
    (point,) = otel.points("gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == "ValueError"


def test_a_stream_is_one_span_to_its_last_chunk_with_a_first_chunk_event(
    otel: Telemetry,
) -> None:
    llm = openai_mock("a b c d", chunk_delay=0.01)
    chunks = []
    for chunk in llm.stream_chat(user("x")):
        chunks.append(chunk)
        assert otel.finished() == []  # still open while chunks come
    (span,) = otel.finished()
    (event,) = span.events
    assert event.name == "gen_ai.first_chunk"
    assert span.start_time is not None
    assert span.end_time is not None
    assert span.start_time < event.timestamp < span.end_time
    ttfc = span.attributes["gen_ai.response.time_to_first_chunk"]  # type: ignore[index]
    assert 0 < ttfc < (span.end_time - span.start_time) / 1e9
    (point,) = otel.points("gen_ai.client.operation.time_to_first_chunk")
    assert point.count == 1


def test_a_stopped_stream_ends_its_span(otel: Telemetry) -> None:
    stream = openai_mock("a b c d").stream_chat(user("x"))
    next(stream)
    stream.close()
    (span,) = otel.finished()
    assert span.attributes["llmplug.cancelled"] is True  # type: ignore[index]


def test_token_usage_and_duration_metrics(otel: Telemetry) -> None:
    openai_mock("one two").chat(user("a b c"))
    points = otel.points("gen_ai.client.token.usage")
    by_type = {p.attributes["gen_ai.token.type"]: p for p in points}
    assert by_type["input"].sum == 3
    assert by_type["output"].sum == 2
    for point in points:
        assert point.attributes["gen_ai.operation.name"] == "chat"
        assert point.attributes["gen_ai.provider.name"] == "openai"
        assert point.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration.count == 1
    assert otel.points("gen_ai.client.operation.time_to_first_chunk") == []  # not a stream


def test_content_is_recorded_only_when_asked(otel: Telemetry, otel_content: Telemetry) -> None:
    messages = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="hello"),
    ]
    openai_mock("hi there").chat(messages)
    (span,) = otel_content.finished()
    attributes = dict(span.attributes or {})
    assert json.loads(attributes["gen_ai.input.messages"]) == [  # type: ignore[arg-type]
        {"role": "user", "parts": [{"type": "text", "content": "hello"}]}
    ]
    assert json.loads(attributes["gen_ai.system_instructions"]) == [  # type: ignore[arg-type]
        {"type": "text", "content": "Be brief."}
    ]
    (output,) = json.loads(attributes["gen_ai.output.messages"])  # type: ignore[arg-type]
    assert output["role"] == "assistant"
    assert output["parts"] == [{"type": "text", "content": "hi there"}]


def test_a_call_may_ask_for_content(otel: Telemetry) -> None:
    llm = openai_mock("secret answer", "secret answer")
    llm.chat(user("secret question"))
    llm.chat(user("secret question"), plugins={"otel": {"content": True}})
    plain, asked = otel.finished()
    assert "secret" not in json.dumps(dict(plain.attributes or {}))
    assert "gen_ai.input.messages" in (asked.attributes or {})


def test_a_call_may_switch_tracing_off(otel: Telemetry) -> None:
    openai_mock("x").chat(user("x"), plugins={"otel": False})
    assert otel.finished() == []


# -- context: parents, async, threads -------------------------------------------------------


def test_an_applications_span_is_the_parent(otel: Telemetry) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as outer:
        openai_mock("x").chat(user("x"))
    call, request = otel.finished()
    assert call.parent is not None
    assert call.parent.span_id == outer.get_span_context().span_id
    assert call.context.trace_id == request.context.trace_id


def test_concurrent_tasks_each_have_their_own_parent(otel: Telemetry) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    llm = openai_mock(*["x"] * 5)

    async def task(i: int) -> int:
        with tracer.start_as_current_span(f"task {i}") as span:
            await llm.achat(user(f"q{i}"))
            return span.get_span_context().span_id

    async def main() -> list[int]:
        return await asyncio.gather(*(task(i) for i in range(5)))

    ids = asyncio.run(main())
    calls = [s for s in otel.finished() if s.name.startswith("chat")]
    assert sorted(s.parent.span_id for s in calls) == sorted(ids)  # type: ignore[union-attr]


def test_context_reaches_a_worker_thread(otel: Telemetry) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    llm = openai_mock("x")

    async def main() -> int:
        with tracer.start_as_current_span("outer") as outer:
            await asyncio.to_thread(llm.chat, user("x"))  # context copied to the thread
            return outer.get_span_context().span_id

    outer_id = asyncio.run(main())
    call = next(s for s in otel.finished() if s.name.startswith("chat"))
    assert call.parent is not None
    assert call.parent.span_id == outer_id


def test_async_calls_of_a_sync_provider_keep_their_parent(otel: Telemetry) -> None:
    """achat on a provider with only sync code runs it in llmplug's worker thread."""
    tracer = otel.tracer_provider.get_tracer("app")

    async def main() -> int:
        with tracer.start_as_current_span("outer") as outer:
            stream = await llmplug.load("mock:gpt-4o-mini").astream_complete("x")
            assert [chunk.delta async for chunk in stream] == ["x"]
            return outer.get_span_context().span_id

    outer_id = asyncio.run(main())
    call = next(s for s in otel.finished() if s.name.startswith("text_completion"))
    assert call.parent is not None
    assert call.parent.span_id == outer_id


def test_a_routes_model_call_is_a_child_of_the_routes_span(otel: Telemetry) -> None:
    llmplug.load("fallback:mock:gpt-4o-mini").chat(user("x"))
    member, route = otel.finished()
    assert member.parent is not None
    assert member.parent.span_id == route.context.span_id


def test_without_an_sdk_nothing_is_recorded_and_nothing_breaks() -> None:
    plugin = Tracing(trace.NoOpTracerProvider())
    with isolated_registry():
        name = llmplug.register_plugin(plugin, "otel")
        try:
            assert llmplug.load("mock").complete("x").text == "x"
            assert [c.delta for c in llmplug.load("mock").stream_complete("a b")] == ["a", " b"]
        finally:
            llmplug.unregister_plugin(name)


def test_the_module_plugin_uses_the_global_providers() -> None:
    assert isinstance(llmplug_otel.Tracing(), Tracing)
    assert llmplug_otel.PROVIDER_NAMES["anthropic"] == "anthropic"


def test_two_tracing_plugins_each_make_their_own_spans(otel: Telemetry) -> None:
    other = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(other))
    name = llmplug.register_plugin(Tracing(provider), "second")
    try:
        openai_mock(*["x"] * 2).chat(user("x"))
    finally:
        llmplug.unregister_plugin(name)
    assert len(otel.finished()) == 1
    assert len(other.get_finished_spans()) == 1
