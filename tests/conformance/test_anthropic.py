"""The conformance suite against ``llmplug-anthropic``, scripted in the Messages format."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmplug.http.testing import Reply
from llmplug.testing.conformance import HTTPProviderConformance

pytest.importorskip("llmplug_anthropic", reason="pip install ./plugins/anthropic")


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()


class TestAnthropicConformance(HTTPProviderConformance):
    provider = "anthropic"
    model = "claude-sonnet-4-5"

    def reply(self, text: str) -> Reply:
        return Reply(
            200,
            json={
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 3, "output_tokens": 2},
            },
        )

    def stream_reply(self, deltas: list[str]) -> Reply:
        message = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 1},
        }
        body = [
            _event("message_start", {"message": message}),
            _event(
                "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
            ),
            *(
                _event(
                    "content_block_delta",
                    {"index": 0, "delta": {"type": "text_delta", "text": d}},
                )
                for d in deltas
            ),
            _event("content_block_stop", {"index": 0}),
            _event(
                "message_delta",
                {
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": len(deltas)},
                },
            ),
            _event("message_stop", {}),
        ]
        # the suite cuts streams after the first item: make it one that carries text
        return Reply(200, body=[b"".join(body[:3]), *body[3:]])

    def error_reply(self, status: int, message: str) -> Reply:
        return Reply(
            status,
            json={"type": "error", "error": {"type": "invalid_request_error", "message": message}},
        )
