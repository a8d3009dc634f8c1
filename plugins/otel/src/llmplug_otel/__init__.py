"""llmplug-otel: OpenTelemetry spans and token-usage metrics for every llmplug call.

Follows the OpenTelemetry GenAI semantic conventions: a ``CLIENT`` span named
``{operation} {model}`` (``chat gpt-4o-mini``) with ``gen_ai.operation.name``,
``gen_ai.provider.name``, ``gen_ai.request.model`` (and the request's temperature,
max tokens..., ``gen_ai.request.stream``), ``gen_ai.response.model``,
``gen_ai.response.id``, ``gen_ai.response.finish_reasons``,
``gen_ai.usage.input_tokens`` and ``gen_ai.usage.output_tokens`` (and the cache-read,
cache-creation and reasoning counts), ``gen_ai.conversation.id``; a failed call has
``error.type``, the exception and an error status. Metrics:
``gen_ai.client.token.usage``, ``gen_ai.client.operation.duration`` and, for streams,
``gen_ai.client.operation.time_to_first_chunk``. A stream is one span from the call to
its last chunk, with a ``gen_ai.first_chunk`` event. While a plain call runs, its span
is the current OpenTelemetry span (the provider's own spans are its children).

Message content (``gen_ai.input.messages``, ``gen_ai.output.messages``,
``gen_ai.system_instructions``) is recorded only when asked:
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``, or
``plugins={"otel": {"content": True}}`` on a call or model.

This distribution needs only ``opentelemetry-api``: set up the SDK and an exporter in
your application (``TracerProvider``, ``MeterProvider``) and the spans go there. Off
with ``LLMPLUG_OTEL=0`` or per call (``plugins={"otel": False}``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import llmplug
from llmplug_otel._attributes import PROVIDER_NAMES
from llmplug_otel._tracing import CONTENT_ENV, NAME, Tracing

if TYPE_CHECKING:
    from llmplug import CallContext

__all__ = [
    "CONTENT_ENV",
    "ENV",
    "NAME",
    "PROVIDER_NAMES",
    "Tracing",
    "after_call",
    "before_call",
    "on_call_error",
    "on_stream_chunk",
]

LLMPLUG_PLUGIN_API = 1
#: ``LLMPLUG_OTEL=0`` switches the plugin off for the process (read when it loads).
ENV = "LLMPLUG_OTEL"

_on = os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")
_default = Tracing()


@llmplug.hookimpl
def before_call(call: CallContext) -> None:
    """Start the call's span (with the global tracer provider)."""
    if _on:
        _default.before_call(call)


@llmplug.hookimpl
def on_stream_chunk(call: CallContext, chunk: Any) -> None:
    """Keep a stream's finish reason."""
    if _default.key in call.state:
        _default.on_stream_chunk(call, chunk)


@llmplug.hookimpl
def after_call(call: CallContext, response: Any) -> None:
    """End the call's span."""
    _default.after_call(call, response)


@llmplug.hookimpl
def on_call_error(call: CallContext, error: BaseException) -> None:
    """End the call's span as failed."""
    _default.on_call_error(call, error)
