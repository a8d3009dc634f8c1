"""The conformance suite against ``llmplug-ollama``, scripted in Ollama's native format."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from llmplug.http.testing import Reply, ndjson

pytest.importorskip("llmplug_ollama", reason="pip install ./plugins/ollama")

from llmplug.testing.conformance import HTTPProviderConformance

_MODEL = "llama3.2:1b"


def _chunk(content: str, *, done: bool = False) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "model": _MODEL,
        "created_at": "2026-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": content},
        "done": done,
    }
    if done:
        chunk.update(done_reason="stop", prompt_eval_count=3, eval_count=2)
    return chunk


class TestOllamaConformance(HTTPProviderConformance):
    provider = "ollama"
    model = _MODEL
    # metadata from the options, not /api/show: the scripted server answers chats only
    options: ClassVar[dict[str, Any]] = {"fetch_metadata": False}

    def reply(self, text: str) -> Reply:
        return Reply(200, json=_chunk(text, done=True))

    def stream_reply(self, deltas: list[str]) -> Reply:
        return Reply(200, body=ndjson(*(_chunk(d) for d in deltas), _chunk("", done=True)))

    def error_reply(self, status: int, message: str) -> Reply:
        return Reply(status, json={"error": message})
