"""The conformance suite against ``llmplug-gemini`` (the Gemini API), scripted in its format."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from llmplug.http.testing import Reply, sse

pytest.importorskip("llmplug_gemini", reason="pip install ./plugins/gemini")

from llmplug.testing.conformance import HTTPProviderConformance

_USAGE = {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}


def _candidate(text: str, finish: str | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish is not None:
        candidate["finishReason"] = finish
    return candidate


class TestGeminiConformance(HTTPProviderConformance):
    provider = "gemini"
    model = "gemini-2.5-flash"

    def reply(self, text: str) -> Reply:
        return Reply(
            200,
            json={
                "candidates": [_candidate(text, "STOP")],
                "usageMetadata": _USAGE,
                "modelVersion": self.model,
            },
        )

    def stream_reply(self, deltas: list[str]) -> Reply:
        # Gemini streams have no end marker: the chunk with finishReason ends the stream
        chunks = [{"candidates": [_candidate(d, None)], "modelVersion": self.model} for d in deltas]
        chunks[-1] = {
            "candidates": [_candidate(deltas[-1], "STOP")],
            "usageMetadata": _USAGE,
            "modelVersion": self.model,
        }
        return Reply(200, body=sse(*chunks, done=False))

    def error_reply(self, status: int, message: str) -> Reply:
        return Reply(
            status,
            json={"error": {"code": status, "message": message, "status": "INVALID_ARGUMENT"}},
        )


class TestVertexConformance(TestGeminiConformance):
    provider = "vertex"
    # a fixed access token: no Application Default Credentials (no metadata server)
    options: ClassVar[dict[str, Any]] = {
        "project": "demo",
        "location": "us-central1",
        "access_token": "ya29.conformance-token",
    }
