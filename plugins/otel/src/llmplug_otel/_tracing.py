"""The tracing plugin: :class:`Tracing`, one span (and metrics) per call.

The span starts in ``before_call`` and ends in ``after_call`` or ``on_call_error``; for
a stream that is from the call to its last chunk (or to the consumer stopping). Its
parent is the span of the llmplug call that made this one (a route's, a structured
call's), else the caller's current OpenTelemetry context: a span the application has
open around ``await llm.achat(...)`` or around code run in a worker thread with the
context copied (``asyncio.to_thread``, llmplug's own bridges) is the parent.

While a plain (not streamed) call runs, its span is the current OpenTelemetry span: the
spans the provider's code makes (HTTP instrumentation, its own spans, in asyncio tasks
or worker threads started during the call) are its children. llmplug runs
``before_call``, the provider and ``after_call`` (or ``on_call_error``) of such a call
in one context, so the span is attached in the first and detached in the other. A
stream's steps run in its consumer's context, between the consumer's own code: its span
is never made current there (the consumer's spans would become its children, and a
stream left unfinished would leave it current), so spans made while a stream is read
are siblings of its span.

What the call sent (the ``gen_ai.request.*`` options and, when asked, the messages) is
read when the call ends: after every ``before_call`` hook (a redacting plugin's too)
changed it, as the provider got it.

Each instance keeps a call's span in ``call.state`` under a key of its own, so that
several (the installed plugin and one of your own) never mix their spans; of several,
the first to see a call makes its span current.

With only the OpenTelemetry API installed (no SDK set up) spans do not record, and the
plugin does nothing beyond asking the tracer for one.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context, metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

import llmplug
from llmplug.errors import HookError
from llmplug_otel._attributes import (
    finish_reason,
    input_messages,
    operation,
    output_messages,
    provider_name,
    request_attributes,
    response_id,
    response_model,
)

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider

    from llmplug import CallContext

__all__ = ["CONTENT_ENV", "NAME", "Tracing"]

#: The plugin's name in ``plugins={...}`` settings.
NAME = "otel"
#: The conventions' switch for recording message content (``true`` records it).
CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_SCOPE = "llmplug_otel"
# in ``call.state``, shared by every instance: the token of the one context attached for
# the call (whoever ends first detaches it), and the context from before it
_ATTACHED = "llmplug-otel:attached"
_OUTER = "llmplug-otel:outer"
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
        """Start the call's span; a plain call's is current until the call ends."""
        parent = call.parent.state.get(self.key) if call.parent is not None else None
        context: Context | None
        if parent is not None:
            context = trace.set_span_in_context(parent.span)
        else:  # the caller's, not another instance's span made current for this call
            context = call.state.get(_OUTER)
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
        call.state[self.key] = _Open(span, base, start_ns)  # ended, to free it, at the end
        if span.is_recording():
            attributes: dict[str, Any] = {
                "llmplug.endpoint": call.endpoint,
                "gen_ai.request.stream": call.is_stream,
            }
            if call.conversation_id is not None:
                attributes["gen_ai.conversation.id"] = call.conversation_id
            span.set_attributes(attributes)
        if not call.is_stream and _ATTACHED not in call.state and span.get_span_context().is_valid:
            # last: nothing may fail once it is attached (after_call or on_call_error,
            # which always follow, detach it)
            call.state[_OUTER] = otel_context.get_current()
            call.state[_ATTACHED] = otel_context.attach(trace.set_span_in_context(span))

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
        """End the span with what was sent, the response's model, usage, finish reason."""
        _detach(call)
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
        content = self._content(call)
        attributes = self._sent(call, content)
        attributes["gen_ai.response.model"] = model
        reason = (finish_reason(response) if response is not None else None) or opened.finish
        if reason is not None:
            attributes["gen_ai.response.finish_reasons"] = [reason]
        answer_id = response_id(response) if response is not None else None
        if answer_id is not None:
            attributes["gen_ai.response.id"] = answer_id
        usage = call.usage
        if usage is not None:
            attributes["gen_ai.usage.input_tokens"] = usage.input_tokens
            attributes["gen_ai.usage.output_tokens"] = usage.output_tokens
            if usage.cached_tokens:
                attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cached_tokens
            if usage.cache_creation_tokens:
                attributes["gen_ai.usage.cache_creation.input_tokens"] = usage.cache_creation_tokens
            if usage.reasoning_tokens:
                attributes["gen_ai.usage.reasoning.output_tokens"] = usage.reasoning_tokens
            if usage.cost is not None:
                attributes["llmplug.usage.cost"] = usage.cost
        if call.cancelled:
            attributes["llmplug.cancelled"] = True
        if call.cache_hit:
            attributes["llmplug.cache_hit"] = True
        if response is not None and content:
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
        _detach(call)
        opened: _Open | None = call.state.pop(self.key, None)
        if opened is None:
            return
        span = opened.span
        if span.is_recording():
            # a before_call hook stopped the call: the hooks after it (a redacting one)
            # did not run, so the messages are not shown as they are
            stopped = isinstance(error, HookError) and error.hook == "before_call"
            attributes = self._sent(call, self._content(call) and not stopped)
            kind = type(error).__qualname__
            attributes["error.type"] = kind
            span.set_attributes(attributes)
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{kind}: {error}"))
            self._record(call, {**opened.attributes, "error.type": kind}, None)
        span.end()

    def _sent(self, call: CallContext, content: bool) -> dict[str, Any]:
        """What the provider was sent, as the ``before_call`` hooks left it."""
        attributes = request_attributes(call)
        if content:
            instructions, messages = input_messages(call)
            attributes["gen_ai.input.messages"] = messages
            if instructions is not None:
                attributes["gen_ai.system_instructions"] = instructions
        return attributes

    def _record(self, call: CallContext, base: dict[str, Any], usage: Any) -> None:
        if call.latency is not None:
            self.duration.record(call.latency, base)
        if usage is not None and not call.cache_hit:  # a cache hit used no tokens
            self.token_usage.record(usage.input_tokens, {**base, "gen_ai.token.type": "input"})
            self.token_usage.record(usage.output_tokens, {**base, "gen_ai.token.type": "output"})


def _detach(call: CallContext) -> None:
    """Make the context from before the call current again (once, whichever instance)."""
    token = call.state.pop(_ATTACHED, None)
    if token is not None:
        call.state.pop(_OUTER, None)
        # never raises: a token from another context is logged by OpenTelemetry (which
        # llmplug's plain calls never give: their hooks run in one context)
        otel_context.detach(token)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llmplug-otel")
    except PackageNotFoundError:  # run from a source tree
        return "0"
