"""The conformance suite against ``llmplug-bedrock``: Converse replies, ConverseStream bodies.

The suite authenticates with the provider's key variable, a Bedrock API key
(``AWS_BEARER_TOKEN_BEDROCK``): requests then carry a bearer token instead of a SigV4
signature, which the plugin's own tests check against botocore.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, ClassVar

import pytest

from llmplug.http.testing import Reply

pytest.importorskip("llmplug_bedrock", reason="pip install ./plugins/bedrock")

from llmplug.testing.conformance import HTTPProviderConformance

# the event-stream encoder of the plugin's tests, written from the framing's specification
_spec = importlib.util.spec_from_file_location(
    "bedrock_wire_data", Path(__file__).parents[1] / "plugins" / "bedrock" / "wire_data.py"
)
assert _spec is not None
assert _spec.loader is not None
wire = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wire)


class TestBedrockConformance(HTTPProviderConformance):
    provider = "bedrock"
    model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    options: ClassVar[dict[str, Any]] = {"region": "us-east-1"}

    def reply(self, text: str) -> Reply:
        return Reply(200, json=wire.converse({"text": text}))

    def stream_reply(self, deltas: list[str]) -> Reply:
        events = [wire.event(kind, payload) for kind, payload in wire.text_events(*deltas)]
        # the suite cuts streams after the first item: make it one that carries text
        return Reply(
            200,
            body=[events[0] + events[1], *events[2:]],
            headers={"content-type": "application/vnd.amazon.eventstream"},
        )

    def error_reply(self, status: int, message: str) -> Reply:
        kinds = {
            400: "ValidationException",
            403: "AccessDeniedException",
            404: "ResourceNotFoundException",
            429: "ThrottlingException",
        }
        kind = kinds.get(status, "InternalServerException")
        return Reply(status, json=wire.error_body(message), headers={"x-amzn-errortype": kind})
