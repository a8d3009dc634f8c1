"""llmplug-otel with the OpenTelemetry SDK's in-memory exporters: the GenAI conventions."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import llmplug
from llmplug import CallContext, ChatMessage, ChatResponse, MessageRole, Usage
from llmplug.errors import CallRefusedError
from llmplug.testing import isolated_registry, scripted
from llmplug_otel import Tracing

from .conftest import Telemetry


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
    otel: Telemetry, run: Any, operation: str, request: pytest.FixtureRequest
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
    assert attributes["gen_ai.request.stream"] is ("stream" in request.node.callspec.id)
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


_MODULE = """
import json, sys
import llmplug

llm = llmplug.load("mock:gpt-4o-mini")
llm.complete("before the SDK")  # hook plugins load now, before the SDK is set up

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(tracer_provider)
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

llm.complete("after")
llm.complete("switched off for one call", plugins={"otel": False})
data = reader.get_metrics_data()
print(json.dumps({
    "hooks": [getattr(p, "__name__", "?") for n, p in llmplug.plugin_manager().list_name_plugin()
              if n.startswith("llmplug:")],
    "spans": [[s.name, s.attributes["gen_ai.request.model"]]
              for s in exporter.get_finished_spans()],
    "metrics": sorted({m.name for r in (data.resource_metrics if data else [])
                       for s in r.scope_metrics for m in s.metrics}),
}))
"""


@pytest.mark.parametrize(
    ("switch", "spans"),
    [
        pytest.param(None, [["text_completion gpt-4o-mini", "gpt-4o-mini"]], id="on"),
        pytest.param("0", [], id="LLMPLUG_OTEL=0"),
    ],
)
def test_the_installed_plugin_records_with_the_global_providers(
    switch: str | None, spans: list[Any]
) -> None:
    """The entry point's module, loaded as llmplug loads it, with the SDK set globally."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMPLUG_")}
    env["LLMPLUG_PLUGINS"] = "otel"  # of the installed hook plugins, only this one
    if switch is not None:
        env["LLMPLUG_OTEL"] = switch
    done = subprocess.run(
        [sys.executable, "-c", _MODULE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["hooks"] == ["llmplug_otel"]
    assert seen["spans"] == spans
    expected = ["gen_ai.client.operation.duration", "gen_ai.client.token.usage"]
    assert seen["metrics"] == (expected if spans else [])


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


# -- what was sent: after every before_call hook -----------------------------------------------


class Redact:
    """A plugin redacting card numbers and lowering the temperature (before_call)."""

    @llmplug.hookimpl
    def before_call(self, call: CallContext) -> None:
        for message in call.messages or []:
            message.content = (message.content or "").replace("4111-1111", "[CARD]")
        call.kwargs["temperature"] = 0.0


class Refuse:
    """A guardrail refusing every call."""

    @llmplug.hookimpl
    def before_call(self, call: CallContext) -> None:
        raise CallRefusedError("not today")


async def _adeltas_of(llm: Any, text: str) -> list[str]:
    return [c.delta async for c in await llm.astream_chat(user(text))]


SENT = [
    pytest.param(lambda llm, text: llm.chat(user(text)), id="chat"),
    pytest.param(lambda llm, text: asyncio.run(llm.achat(user(text))), id="achat"),
    pytest.param(lambda llm, text: list(llm.stream_chat(user(text))), id="stream_chat"),
    pytest.param(lambda llm, text: asyncio.run(_adeltas_of(llm, text)), id="astream_chat"),
]


def _texts(attributes: dict[str, Any]) -> list[str]:
    """The text in span attributes (where message content goes): numbers, such as ids
    and times, may hold any digits."""
    texts: list[str] = []
    for value in attributes.values():
        values = value if isinstance(value, list | tuple) else [value]
        texts += [item for item in values if isinstance(item, str)]
    return texts


@pytest.mark.parametrize("run", SENT)
def test_the_span_shows_what_the_provider_was_sent(run: Any) -> None:
    """A redacting plugin registered before the tracing plugin: its before_call runs after."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    with isolated_registry():
        llmplug.register_plugin(Redact(), "redact")
        llmplug.register_plugin(Tracing(tracer_provider, capture_content=True), "otel")
        llm = llmplug.load("mock?temperature=0.9")
        run(llm, "my card 4111-1111")
    assert llm.calls == [user("my card [CARD]")]
    (span,) = spans.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert not [text for text in _texts(attributes) if "4111" in text]
    assert json.loads(attributes["gen_ai.input.messages"]) == [  # type: ignore[arg-type]
        {"role": "user", "parts": [{"type": "text", "content": "my card [CARD]"}]}
    ]
    assert attributes["gen_ai.request.temperature"] == 0.0


def test_a_refused_call_is_a_failed_span_without_the_unredacted_messages() -> None:
    """The guardrail ran before the redacting plugin could: the messages are not shown."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    with isolated_registry():
        # the hook registered last runs first: tracing, the guardrail, then the redaction
        llmplug.register_plugin(Redact(), "redact")
        llmplug.register_plugin(Refuse(), "guard")
        llmplug.register_plugin(Tracing(tracer_provider, capture_content=True), "otel")
        with pytest.raises(CallRefusedError):
            llmplug.load("mock").chat(user("my card 4111-1111"))
    (span,) = spans.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "CallRefusedError"
    assert "gen_ai.input.messages" not in attributes
    assert not [text for text in _texts(attributes) if "4111" in text]


def test_a_failed_provider_call_shows_what_was_sent(otel_content: Telemetry) -> None:
    with pytest.raises(ConnectionError):
        openai_mock(ConnectionError("down"), temperature=0.3).chat(user("hello"))
    (span,) = otel_content.finished()
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.request.temperature"] == 0.3
    assert "hello" in attributes["gen_ai.input.messages"]  # type: ignore[operator]


# -- the conventions' names for usage, response id, finish reasons ------------------------------


def test_reasoning_tokens_have_the_conventions_name(otel: Telemetry) -> None:
    usage = Usage(input_tokens=4, output_tokens=30, reasoning_tokens=20, cost=0.25)
    reply = ChatResponse(message=ChatMessage(role="assistant", content="42"), usage=usage)
    openai_mock(reply).chat(user("think"))
    (span,) = otel.finished()
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 20
    assert attributes["gen_ai.usage.output_tokens"] == 30
    assert attributes["llmplug.usage.cost"] == 0.25
    assert not [key for key in attributes if "reasoning_tokens" in key]


@pytest.mark.parametrize(
    ("raw", "extra", "expected"),
    [
        pytest.param({"id": "chatcmpl-1", "model": "gpt-4o-mini"}, {}, "chatcmpl-1",
                     id="openai-raw-id"),
        pytest.param({"id": "msg_01", "type": "message"}, {"stop_reason": "end_turn"}, "msg_01",
                     id="anthropic-raw-id"),
        pytest.param({"responseId": "r-1"}, {"response_id": "r-1"}, "r-1", id="gemini"),
        pytest.param({"stopReason": "end_turn"}, {"stop_reason": "end_turn"}, None,
                     id="bedrock-none"),
        pytest.param({"id": 7}, {}, None, id="not-text"),
    ],
)  # fmt: skip
def test_the_response_id_is_the_providers(
    otel: Telemetry, raw: dict[str, Any], extra: dict[str, Any], expected: str | None
) -> None:
    reply = ChatResponse(
        message=ChatMessage(role="assistant", content="hi"), raw=raw, additional_kwargs=extra
    )
    openai_mock(reply).chat(user("hi"))
    (span,) = otel.finished()
    assert (span.attributes or {}).get("gen_ai.response.id") == expected


def test_a_streams_response_id_comes_from_its_last_chunk(otel: Telemetry) -> None:
    reply = ChatResponse(
        message=ChatMessage(role="assistant", content="a b"), raw={"id": "chatcmpl-9"}
    )
    assert [c.delta for c in openai_mock(reply).stream_chat(user("hi"))] == ["a", " b"]
    (span,) = otel.finished()
    assert span.attributes["gen_ai.response.id"] == "chatcmpl-9"  # type: ignore[index]


@pytest.mark.parametrize(
    ("extra", "reasons", "in_message"),
    [
        pytest.param({"stop_reason": "end_turn"}, ("end_turn",), "end_turn", id="anthropic"),
        pytest.param({"finish_reason": "MAX_TOKENS"}, ("MAX_TOKENS",), "MAX_TOKENS",
                     id="gemini"),
        pytest.param({"finish_reason": "pause_turn"}, ("pause_turn",), "pause_turn",
                     id="unknown-value-kept"),
        pytest.param({}, None, None, id="none-given"),
    ],
)  # fmt: skip
def test_the_finish_reason_is_the_providers_own_and_never_made_up(
    otel_content: Telemetry, extra: dict[str, Any], reasons: Any, in_message: str | None
) -> None:
    reply = ChatResponse(
        message=ChatMessage(role="assistant", content="hi"), additional_kwargs=extra
    )
    openai_mock(reply).chat(user("hi"))
    (span,) = otel_content.finished()
    attributes = dict(span.attributes or {})
    assert attributes.get("gen_ai.response.finish_reasons") == reasons
    (output,) = json.loads(attributes["gen_ai.output.messages"])  # type: ignore[arg-type]
    assert output.get("finish_reason") == in_message
