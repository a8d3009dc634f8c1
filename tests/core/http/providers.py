"""The in-repo HTTP providers (openai, anthropic) as the hardening tests drive them.

Each :class:`Provider` says how to make the plugin's LLM against a scripted
``MockServer`` or a real loopback server, and what its API sends on the wire: a
reply, a stream (``Hel`` then ``lo``), an error body, an in-stream error event. A test
takes the ``provider`` fixture and runs once per plugin; the plugins are skipped if
not installed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from llmplug import ChatMessage, ChatResponse
from llmplug.http import HTTPChatLLM
from llmplug.http.testing import FakeClock, MockServer, Reply

HI = [ChatMessage(role="user", content="Hi")]
MODES = ["chat", "achat", "stream_chat", "astream_chat"]
STREAMS = ["stream_chat", "astream_chat"]


def _openai_completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }


def _openai_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _openai_events(*texts: str) -> list[bytes]:
    return [f"data: {json.dumps(_openai_chunk({'content': t}))}\n\n".encode() for t in texts]


def _anthropic_message(text: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 2},
    }


def _anthropic_event(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def _anthropic_events(*texts: str) -> list[bytes]:
    return [
        _anthropic_event(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}
        )
        for t in texts
    ]


_ANTHROPIC_START = [
    _anthropic_event(
        {
            "type": "message_start",
            "message": {**_anthropic_message(""), "content": [], "stop_reason": None},
        }
    ),
    _anthropic_event(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    ),
]
_ANTHROPIC_END = [
    _anthropic_event({"type": "content_block_stop", "index": 0}),
    _anthropic_event(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 2},
        }
    ),
    _anthropic_event({"type": "message_stop"}),
]


@dataclass(frozen=True)
class Provider:
    """One plugin's provider, and its API's wire format.

    Attributes:
        name: The provider name (``load("NAME:...")``).
        cls: The provider class.
        model: A model name it takes.
        key_env: The env var holding its key.
        key_header: The header its key goes in (lower case).
        reply: A successful response body whose text is ``"Hello"``.
        opening: Stream items up to (and including) a first text delta ``"Hel"``.
        closing: Stream items from a second delta ``"lo"`` to the end marker.
        error: ``error(message)``: an error body (the status says which error).
        error_event: ``error(message)``: an in-stream error event.
    """

    name: str
    cls: type[HTTPChatLLM]
    model: str
    key_env: str
    key_header: str
    reply: dict[str, Any]
    opening: list[bytes]
    closing: list[bytes]
    error: Callable[[str], dict[str, Any]]
    error_event: Callable[[str], bytes]

    @property
    def stream(self) -> list[bytes]:
        """A whole stream: ``Hel``, ``lo``, the end."""
        return [*self.opening, *self.closing]

    def ok(self, mode: str) -> Reply:
        """A successful reply for ``mode`` (a stream for the stream modes)."""
        if "stream" in mode:
            return Reply(200, body=self.stream, headers={"content-type": "text/event-stream"})
        return Reply(200, json=self.reply)

    def new(self, **fields: Any) -> Any:
        """The provider's LLM, as ``load`` makes it (labelled with its name)."""
        fields.setdefault("model", self.model)
        llm = self.cls(**fields)
        llm._provider = self.name
        return llm

    def mocked(
        self, *replies: Reply, clock: FakeClock | None = None, **fields: Any
    ) -> tuple[Any, MockServer]:
        """The LLM answered by a ``MockServer`` scripted with ``replies``."""
        server = MockServer(*replies)
        fields.setdefault("api_key", "sk-test-key")
        fields.setdefault("base_url", "https://api.example.test")
        llm = self.new(
            transport=server.transport(),
            async_transport=server.async_transport(),
            clock=clock or FakeClock(),
            **fields,
        )
        return llm, server


def _openai() -> Provider:
    from llmplug_openai import OpenAILLM

    return Provider(
        name="openai",
        cls=OpenAILLM,
        model="gpt-4o-mini",
        key_env="OPENAI_API_KEY",
        key_header="authorization",
        reply=_openai_completion("Hello"),
        opening=_openai_events("Hel"),
        closing=[
            *_openai_events("lo"),
            f"data: {json.dumps(_openai_chunk({}, 'stop'))}\n\n".encode(),
            b"data: [DONE]\n\n",
        ],
        error=lambda message: {"error": {"message": message, "type": "invalid_request_error"}},
        error_event=lambda message: (
            f"data: {json.dumps({'error': {'message': message, 'type': 'server_error'}})}\n\n"
        ).encode(),
    )


def _anthropic() -> Provider:
    from llmplug_anthropic import AnthropicLLM

    def error(message: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}

    return Provider(
        name="anthropic",
        cls=AnthropicLLM,
        model="claude-sonnet-4-5",
        key_env="ANTHROPIC_API_KEY",
        key_header="x-api-key",
        reply=_anthropic_message("Hello"),
        opening=[*_ANTHROPIC_START, *_anthropic_events("Hel")],
        closing=[*_anthropic_events("lo"), *_ANTHROPIC_END],
        error=error,
        error_event=lambda message: _anthropic_event(
            {"type": "error", "error": {"type": "api_error", "message": message}}
        ),
    )


_FACTORIES = {"openai": _openai, "anthropic": _anthropic}
PROVIDERS = [pytest.param(name, id=name) for name in _FACTORIES]


def provider_named(name: str) -> Provider:
    """The :class:`Provider` of an installed plugin (the test is skipped otherwise)."""
    pytest.importorskip(f"llmplug_{name}", reason=f"the {name} plugin is not installed")
    return _FACTORIES[name]()


async def run(llm: Any, mode: str, messages: Any = HI, **options: Any) -> list[ChatResponse]:
    """The reply of ``chat``/``achat``, or every chunk of ``stream_chat``/``astream_chat``."""
    if mode == "chat":
        return [llm.chat(messages, **options)]
    if mode == "achat":
        return [await llm.achat(messages, **options)]
    if mode == "stream_chat":
        return list(llm.stream_chat(messages, **options))
    return [chunk async for chunk in await llm.astream_chat(messages, **options)]
