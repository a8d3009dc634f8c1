"""The conformance suite catches broken providers: each one below breaks one rule.

Each case runs the suite in a child pytest session (``pytester``) against a small
NDJSON provider, whole or with one fault, and checks which tests fail. The sound
provider passing everything shows the failures come from the faults.
"""

from __future__ import annotations

import pytest

PROVIDERS = '''
from typing import Any, ClassVar, Literal

from pydantic import PrivateAttr

import llmplug
from llmplug import ChatMessage, ChatResponse, LLMMetadata, MessageRole, TextBlock
from llmplug.errors import UnsupportedContentError
from llmplug.http import STREAM_END, HTTPChatLLM, HTTPRequest
from llmplug.http.testing import Reply, ndjson
from llmplug.testing.conformance import HTTPProviderConformance


class Sound(HTTPChatLLM):
    key_env: ClassVar[str | None] = "BROKEN_API_KEY"
    stream_format: ClassVar[Literal["sse", "ndjson"]] = "ndjson"
    base_url: str = "https://api.broken.test/v1"
    model: str = "b-1"
    temperature: float | None = None

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=4096, is_chat_model=True, model_name=self.model)

    def build_request(self, messages, options, *, stream):
        self.check_call_options(options, ["temperature"])
        for message in messages:
            for block in message.blocks:
                if not isinstance(block, TextBlock):
                    raise UnsupportedContentError(
                        f"text only, not {block.block_type}",
                        provider=self.provider_label,
                        block_type=block.block_type,
                    )
        body = {"model": self.model, "stream": stream,
                "messages": [{"role": m.role.value, "text": m.content} for m in messages]}
        return HTTPRequest("/chat", json=body)

    def parse_response(self, data: Any) -> ChatResponse:
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=data["text"]))

    def start_stream(self) -> Any:
        return {"text": ""}

    def parse_event(self, event, state):
        data = event.json()
        if data.get("done"):
            return STREAM_END
        state["text"] += data["delta"]
        message = ChatMessage(role=MessageRole.ASSISTANT, content=state["text"])
        return ChatResponse(message=message, delta=data["delta"])


class LeaksItsStream(Sound):
    """Keeps the inner stream alive when the caller stops: its response stays open."""

    _held: list[Any] = PrivateAttr(default_factory=list)

    def stream_chat(self, messages, **kwargs):
        inner = super().stream_chat(messages, **kwargs)
        self._held.append(inner)
        for chunk in inner:
            yield chunk


class ErrorsWithoutItsName(Sound):
    """Raises API errors that do not say which provider failed."""

    def error_from_body(self, body, status=None, headers=None):
        error = super().error_from_body(body, status, headers)
        error.provider = None
        return error


class ShowsItsKey(Sound):
    """Puts the key in its repr."""

    def __repr_args__(self):
        yield from super().__repr_args__()
        yield "key", self.api_key.get_secret_value() if self.api_key else None


class Plugin:
    def __init__(self, cls):
        self.cls = cls

    @llmplug.hookimpl
    def register_providers(self, register):
        register("broken", self.cls, key_env="BROKEN_API_KEY")


class Suite(HTTPProviderConformance):
    provider = "broken"

    def reply(self, text):
        return Reply(200, json={"text": text})

    def stream_reply(self, deltas):
        return Reply(200, body=ndjson(*({"delta": d} for d in deltas), {"done": True}))
'''


def run_suite(pytester: pytest.Pytester, cls: str) -> pytest.RunResult:
    pytester.makepyfile(
        test_provider=PROVIDERS + f"\n\nclass TestIt(Suite):\n    plugin = Plugin({cls})\n"
    )
    return pytester.runpytest_subprocess(
        "-p", "llmplug.testing.conformance", "-p", "no:asyncio", "-q", "-rf"
    )


def failed(result: pytest.RunResult) -> set[str]:
    return {
        line.split("::")[-1].split(" ")[0] for line in result.outlines if line.startswith("FAILED ")
    }


def test_a_sound_provider_passes(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "Sound")
    assert failed(result) == set(), result.stdout.str()
    assert result.ret == 0


@pytest.mark.parametrize(
    ("cls", "caught"),
    [
        pytest.param(
            "LeaksItsStream",
            {"test_stopped_stream_releases[break]", "test_stopped_stream_releases[close]"},
            id="stream-leaks-its-connection",
        ),
        pytest.param(
            "ErrorsWithoutItsName",
            {
                "test_error_maps_to_the_tree[chat-401]",
                "test_error_maps_to_the_tree[astream_chat-500]",
            },
            id="error-without-provider-name",
        ),
        pytest.param(
            "ShowsItsKey",
            {"test_key_never_shown[chat]", "test_key_never_shown[astream_chat]"},
            id="key-in-repr",
        ),
    ],
)
def test_a_broken_provider_fails(pytester: pytest.Pytester, cls: str, caught: set[str]) -> None:
    result = run_suite(pytester, cls)
    found = failed(result)
    assert caught <= found, result.stdout.str()
    assert result.ret == 1
