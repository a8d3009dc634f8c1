"""The conformance suite against ``llmplug-openai``: ``openai`` and every preset.

The plugin's tests script the server in the Chat Completions format; each provider
name gets the whole suite, as installed (through its entry point).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from llmplug.http.testing import Reply, sse
from llmplug.testing.conformance import HTTPProviderConformance

llmplug_openai = pytest.importorskip("llmplug_openai", reason="pip install ./plugins/openai")


class OpenAIConformance(HTTPProviderConformance):
    """Chat Completions replies, shared by every provider name of the plugin."""

    model: ClassVar[str | None] = "gpt-4o-mini"

    def reply(self, text: str) -> Reply:
        return Reply(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1741569952,
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            },
        )

    def stream_reply(self, deltas: list[str]) -> Reply:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1741569952,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        events = [chunk({"role": "assistant", "content": d}) for d in deltas]
        return Reply(200, body=sse(*events, chunk({}, "stop")))

    def error_reply(self, status: int, message: str) -> Reply:
        error = {"message": message, "type": "invalid_request_error", "code": None}
        return Reply(status, json={"error": error})


# one class per provider name the plugin registers
for _row in llmplug_openai.REGISTRATIONS:
    _options: dict[str, Any] = {}
    if _row.name == "azure":
        _options = {"azure_endpoint": "https://conformance.openai.azure.com"}
    _name = "TestConformance_" + _row.name.replace("-", "_")
    globals()[_name] = type(
        _name, (OpenAIConformance,), {"provider": _row.name, "options": _options}
    )
