"""The tracing plugin: :class:`Tracing`, one span (and metrics) per call.

The span starts in ``before_call`` and ends in ``after_call`` or ``on_call_error``; for
a stream that is from the call to its last chunk (or to the consumer stopping). Its
parent is the span of the llmplug call that made this one (a route's, a structured
call's), else the caller's current OpenTelemetry context: a span the application has
open around ``await llm.achat(...)`` or around code run in a worker thread with the
context copied (``asyncio.to_thread``, llmplug's own bridges) is the parent.

Each instance keeps a call's span in ``call.state`` under a key of its own, so that several (the
installed plugin and one of your own) never mix their spans.

With only the OpenTelemetry API installed (no SDK set up) spans do not record, and the
plugin does nothing beyond asking the tracer for one.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

import llmplug
from llmplug_otel._attributes import (
    finish_reason,
    input_messages,
    operation,
    output_messages,
    provider_name,
    request_attributes,
    response_model,
)

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider

    from llmplug import CallContext

__all__ = ["CONTENT_ENV", "NAME", "Tracing"]

#: The plugin's name in ``plugins={...}`` settings.
NAME = "otel"
#: The conventions' switch for recording message content (``true`` records it).
CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_SCOPE = "llmplug_otel"
# the conventions' advice for token counts and durations
_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304]
_SECOND_BUCKETS = [
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
]


class _Open:
    """A call's span, its attributes for metrics, and what its stream showed."""

    __slots__ = ("attributes", "finish", "span", "start_ns")

    def __init__(self, span: Span, attributes: dict[str, Any], start_ns: int) -> None:
        self.span = span
        self.attributes = attributes
        self.start_ns = start_ns
        self.finish: str | None = None


class Tracing:
    """A hook plugin making OpenTelemetry spans and metrics of every call.

    Args:
        tracer_provider: Where spans go; ``None``: the global one (set by the SDK).
        meter_provider: Where metrics go; ``None``: the global one.
        capture_content: Record messages (``gen_ai.input.messages``...); ``None``: as
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` says (off unless
            ``true``). A call's ``plugins={"otel": {"content": True}}`` overrides it.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        *,
        capture_content: bool | None = None,
    ) -> None:
        version = _version()
        self.tracer = trace.get_tracer(_SCOPE, version, tracer_provider=tracer_provider)
        meter = metrics.get_meter(_SCOPE, version, meter_provider=meter_provider)
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=_SECOND_BUCKETS,
        )
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed response",
            explicit_bucket_boundaries_advisory=_SECOND_BUCKETS,
        )
        if capture_content is None:
            capture_content = os.environ.get(CONTENT_ENV, "").strip().lower() == "true"
        self.capture_content = capture_content
        #: This instance's key in ``call.state`` (several instances never mix their data).
        self.key = f"llmplug-otel:{id(self):x}"

    def _content(self, call: CallContext) -> bool:
        setting = call.plugins.get(NAME)
        if isinstance(setting, dict) and "content" in setting:
            return bool(setting["content"])
        return self.capture_content

    @llmplug.hookimpl
    def before_call(self, call: CallContext) -> None:
        """Start the call's span."""
        parent = call.parent.state.get(self.key) if call.parent is not None else None
        context = trace.set_span_in_context(parent.span) if parent is not None else None
        op = operation(call)
        base = {
            "gen_ai.operation.name": op,
            "gen_ai.provider.name": provider_name(call),
            "gen_ai.request.model": call.model,
        }
        start_ns = time.time_ns()
        span = self.tracer.start_span(
            f"{op} {call.model}",
            context=context,
            kind=SpanKind.CLIENT,
            attributes=base,
            start_time=start_ns,
        )
        if not span.is_recording():
            call.state[self.key] = _Open(span, base, start_ns)  # ended, to free it, at the end
            return
        attributes: dict[str, Any] = {"llmplug.endpoint": call.endpoint}
        attributes.update(request_attributes(call))
        if call.conversation_id is not None:
            attributes["gen_ai.conversation.id"] = call.conversation_id
        if self._content(call):
            instructions, messages = input_messages(call)
            attributes["gen_ai.input.messages"] = messages
            if instructions is not None:
                attributes["gen_ai.system_instructions"] = instructions
        span.set_attributes(attributes)
        call.state[self.key] = _Open(span, base, start_ns)

    @llmplug.hookimpl
    def on_stream_chunk(self, call: CallContext, chunk: Any) -> None:
        """Keep the finish reason a stream's chunk carries (it may not be the last)."""
        opened = call.state.get(self.key)
        if opened is not None and chunk.additional_kwargs:
            reason = finish_reason(chunk)
            if reason is not None:
                opened.finish = reason

    @llmplug.hookimpl
    def after_call(self, call: CallContext, response: Any) -> None:
        """End the span with the response's model, usage, finish reason (and content)."""
        opened: _Open | None = call.state.pop(self.key, None)
        if opened is None:
            return
        span = opened.span
        if not span.is_recording():
            span.end()
            return
        base = dict(opened.attributes)
        model = response_model(call, response) if response is not None else call.model
        base["gen_ai.response.model"] = model
        attributes: dict[str, Any] = {"gen_ai.response.model": model}
        reason = (finish_reason(response) if response is not None else None) or opened.finish
        if reason is not None:
            attributes["gen_ai.response.finish_reasons"] = [reason]
        usage = call.usage
        if usage is not None:
            attributes["gen_ai.usage.input_tokens"] = usage.input_tokens
            attributes["gen_ai.usage.output_tokens"] = usage.output_tokens
            if usage.cached_tokens:
                attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cached_tokens
            if usage.cache_creation_tokens:
                attributes["gen_ai.usage.cache_creation.input_tokens"] = usage.cache_creation_tokens
            if usage.reasoning_tokens:
                attributes["llmplug.usage.reasoning_tokens"] = usage.reasoning_tokens
            if usage.cost is not None:
                attributes["llmplug.usage.cost"] = usage.cost
        if call.cancelled:
            attributes["llmplug.cancelled"] = True
        if call.cache_hit:
            attributes["llmplug.cache_hit"] = True
        if response is not None and self._content(call):
            attributes["gen_ai.output.messages"] = output_messages(response, reason)
        ttfc = call.time_to_first_chunk
        if ttfc is not None:
            attributes["gen_ai.response.time_to_first_chunk"] = ttfc
            span.add_event("gen_ai.first_chunk", timestamp=opened.start_ns + int(ttfc * 1e9))
            self.first_chunk.record(ttfc, base)
        span.set_attributes(attributes)
        span.end()
        self._record(call, base, usage)

    @llmplug.hookimpl
    def on_call_error(self, call: CallContext, error: BaseException) -> None:
        """End the span as failed: ``error.type``, the exception, an error status."""
        opened: _Open | None = call.state.pop(self.key, None)
        if opened is None:
            return
        span = opened.span
        if span.is_recording():
            kind = type(error).__qualname__
            span.set_attribute("error.type", kind)
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{kind}: {error}"))
            self._record(call, {**opened.attributes, "error.type": kind}, None)
        span.end()

    def _record(self, call: CallContext, base: dict[str, Any], usage: Any) -> None:
        if call.latency is not None:
            self.duration.record(call.latency, base)
        if usage is not None and not call.cache_hit:  # a cache hit used no tokens
            self.token_usage.record(usage.input_tokens, {**base, "gen_ai.token.type": "input"})
            self.token_usage.record(usage.output_tokens, {**base, "gen_ai.token.type": "output"})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llmplug-otel")
    except PackageNotFoundError:  # run from a source tree
        return "0"
