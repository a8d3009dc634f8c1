"""End to end through llmplug's HTTP runtime against a loopback Bedrock Runtime.

``llmplug.load(...)`` -> the four endpoints -> the runtime -> this plugin's pure methods
-> a server that checks every body with botocore's service model, every signature with
botocore's SigV4, and answers JSON or a binary event stream. No network.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import llmplug
from llmplug import ChatMessage, ImageBlock, TextBlock, ThinkingBlock, ToolCallBlock, Usage
from llmplug.errors import ConfigError

from . import wire_data as w
from .conftest import ACCESS_KEY, ENDPOINTS, MODEL, SECRET_KEY, SESSION_TOKEN, call

DATE = "20250601T120000Z"  # the fake clock's time
PATH = "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0"


def load(server: Any, spec: str = f"bedrock:{MODEL}", **options: Any) -> Any:
    options.setdefault("region", "us-east-1")
    if "api_key" not in options:
        options.setdefault("aws_access_key_id", ACCESS_KEY)
        options.setdefault("aws_secret_access_key", SECRET_KEY)
    return llmplug.load(spec, **server.transports(), **options)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_converse_signed(registry: Any, server: Any, clock: Any, endpoint: str) -> None:
    llm = load(server, f"bedrock:{MODEL}?temperature=0&max_tokens=100", clock=clock)
    responses = await call(llm, endpoint)
    (request,) = server.requests
    stream = "stream" in endpoint
    assert request.method == "POST"
    assert request.url.raw_path.decode() == f"{PATH}/{'converse-stream' if stream else 'converse'}"
    assert request.url.host == "bedrock-runtime.us-east-1.amazonaws.com"
    assert request.headers["x-amz-date"] == DATE
    assert request.headers["content-type"] == "application/json"
    authorization = request.headers["authorization"]
    assert authorization.startswith(
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20250601/us-east-1/bedrock/aws4_request, "
        f"SignedHeaders=content-type;host;x-amz-date, Signature="
    )
    assert "x-amz-security-token" not in request.headers
    assert server.bodies[0]["inferenceConfig"] == {"maxTokens": 100, "temperature": 0.0}
    last = responses[-1]
    if stream:
        assert "".join(r.delta or "" for r in responses) == "Hello!"
        assert last.usage == Usage(input_tokens=12, output_tokens=6)
        assert last.additional_kwargs == {"stop_reason": "end_turn", "latency_ms": 321}
    else:
        assert last.message.content == "Hello! How can I help you today?"
        assert last.additional_kwargs["stop_reason"] == "end_turn"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_temporary_credentials_sign_the_session_token(
    registry: Any, server: Any, endpoint: str
) -> None:
    server.token = SESSION_TOKEN
    llm = load(server, aws_session_token=SESSION_TOKEN)
    await call(llm, endpoint)
    request = server.requests[0]
    assert request.headers["x-amz-security-token"] == SESSION_TOKEN
    assert "x-amz-security-token" in request.headers["authorization"].split("SignedHeaders=")[1]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_credentials_from_the_environment(
    registry: Any, server: Any, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    server.token = SESSION_TOKEN
    llm = llmplug.load(f"bedrock:{MODEL}", **server.transports())
    await call(llm, endpoint)
    assert server.requests[0].headers["x-amz-security-token"] == SESSION_TOKEN


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_credentials_of_a_named_profile(
    registry: Any, server: Any, tmp_path: Path, endpoint: str
) -> None:
    (tmp_path / "aws-credentials").write_text(
        f"[default]\naws_access_key_id = AKIAWRONGWRONGWRONG0\naws_secret_access_key = wrong\n"
        f"[work]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    (tmp_path / "aws-config").write_text("[profile work]\nregion = us-east-1\n")
    llm = llmplug.load(f"bedrock:{MODEL}?profile=work", **server.transports())
    await call(llm, endpoint)
    assert f"Credential={ACCESS_KEY}/" in server.requests[0].headers["authorization"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_no_credentials_is_a_clear_error_before_any_request(
    registry: Any, server: Any, endpoint: str
) -> None:
    llm = llmplug.load(f"bedrock:{MODEL}?region=us-east-1", **server.transports())
    with pytest.raises(ConfigError, match=r"no AWS credentials found.*AWS_BEARER_TOKEN_BEDROCK"):
        await call(llm, endpoint)
    assert server.requests == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_bedrock_api_key_is_a_bearer_token(
    registry: Any, server: Any, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "ABSK-bearer-CANARY")
    llm = llmplug.load(f"bedrock:{MODEL}?region=us-east-1", **server.transports())
    await call(llm, endpoint)
    request = server.requests[0]
    assert request.headers["authorization"] == "Bearer ABSK-bearer-CANARY"
    assert "x-amz-date" not in request.headers


async def test_async_credentials_are_resolved_off_the_event_loop(
    registry: Any, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmplug_bedrock._auth import CredentialCache

    threads: list[bool] = []
    real = CredentialCache.frozen

    def spy(self: CredentialCache, **options: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return real(self, **options)

    monkeypatch.setattr(CredentialCache, "frozen", spy)
    llm = load(server)
    await call(llm, "achat")
    await call(llm, "achat")  # resolved already: no worker thread needed
    assert threads == [False]
    llm.chat([ChatMessage(role="user", content="Hi")])  # the sync path resolves inline
    assert threads == [False, True]


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
@pytest.mark.parametrize("size", [1, 7, 64, 1000])
async def test_a_stream_split_anywhere(
    registry: Any, server: Any, endpoint: str, size: int
) -> None:
    body = w.stream(w.REASONING_TOOL_STREAM)
    server.reply(200, [body[i : i + size] for i in range(0, len(body), size)])
    chunks = await call(load(server), endpoint)
    last = chunks[-1]
    assert [type(b) for b in last.message.blocks] == [ThinkingBlock, TextBlock, ToolCallBlock]
    assert last.message.blocks[2].tool_kwargs == {"city": "Paris"}
    assert last.usage == Usage(input_tokens=40, output_tokens=30)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_tool_loop_round_trip(registry: Any, server: Any, endpoint: str) -> None:
    # the reply, sent back with the tool's result, is a body botocore validates
    stream = "stream" in endpoint
    server.reply(200, w.stream(w.REASONING_TOOL_STREAM) if stream else w.TOOL_USE)
    tools = [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]
    llm = load(server)
    hi = [ChatMessage(role="user", content="Weather in Paris?")]
    reply = (await call(llm, endpoint, hi, tools=tools))[-1].message
    (tool_call,) = [b for b in reply.blocks if isinstance(b, ToolCallBlock)]
    result = ChatMessage(
        role="tool", content="18C", additional_kwargs={"tool_call_id": tool_call.tool_call_id}
    )
    await call(llm, endpoint, [*hi, reply, result], tools=tools)
    sent = server.bodies[1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"][0]["reasoningContent"]["reasoningText"]["signature"] == w.SIGNATURE
    assert sent[2]["content"][0]["toolResult"]["toolUseId"] == w.TOOL_ID


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_media_and_citations_through_the_wire(
    registry: Any, server: Any, endpoint: str
) -> None:
    stream = "stream" in endpoint
    server.reply(200, w.stream(w.CITATION_STREAM) if stream else w.CITATIONS)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    message = ChatMessage(
        role="user",
        blocks=[ImageBlock(image=png), ImageBlock(url="s3://bucket/x.jpeg"), TextBlock(text="?")],
    )
    last = (await call(load(server), endpoint, [message]))[-1]
    content = server.bodies[0]["messages"][0]["content"]
    assert content[1]["image"]["source"] == {"s3Location": {"uri": "s3://bucket/x.jpeg"}}
    assert last.usage == Usage(
        input_tokens=150, output_tokens=5, cached_tokens=100, cache_creation_tokens=20
    )


def test_importing_and_a_bearer_call_never_import_botocore(tmp_path: Path) -> None:
    code = """
import sys, httpx2, json
import llmplug, llmplug_bedrock
assert "botocore" not in sys.modules, "import llmplug_bedrock imported botocore"
from llmplug_bedrock import BedrockLLM
def reply(request):
    body = {"output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
            "stopReason": "end_turn", "usage": {"inputTokens": 1, "outputTokens": 1,
            "totalTokens": 2}, "metrics": {"latencyMs": 1}}
    return httpx2.Response(200, json=body)
llm = BedrockLLM(api_key="k", region="us-east-1", transport=httpx2.MockTransport(reply))
assert llm.complete("hi").text == "ok"
assert "botocore" not in sys.modules, "a call with an API key imported botocore"
print("ok")
"""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LLMPLUG_DISABLE_PLUGIN_AUTOLOAD": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert out.stdout.strip() == "ok", out.stderr
