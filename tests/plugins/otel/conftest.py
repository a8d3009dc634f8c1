"""The tracing plugin's tests: a :class:`Tracing` writing to the SDK's in-memory exporters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmplug
from llmplug.testing import isolated_registry
from llmplug_otel import Tracing


@dataclass
class Telemetry:
    """What one registered :class:`Tracing` recorded."""

    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer_provider: TracerProvider
    plugin: Tracing

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def named(self, name: str) -> ReadableSpan:
        (span,) = [s for s in self.finished() if s.name == name]
        return span

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


def telemetry(**options: Any) -> Iterator[Telemetry]:
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
    yield from telemetry()


@pytest.fixture
def otel_content() -> Iterator[Telemetry]:
    yield from telemetry(capture_content=True)
