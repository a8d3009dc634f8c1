"""The gateway in front of a real HTTP upstream: faults, cancellation, draining, hooks.

The upstream (``_upstream.Upstream``) is an OpenAI-compatible server on loopback that
records a client closing its connection before the answer ended; the gateway reaches it
through the ``openai`` provider, as it would reach OpenAI.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from llmplug.testing import recording_hooks, scripted

from ._upstream import Upstream
from .conftest import Running

HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.release()
    server.close()


def spec(upstream: Upstream, model: str = "up") -> str:
    return f"openai:{model}?base_url={upstream.url}&api_key=sk-CANARY-upstream&max_retries=0"


def headers(running: Running) -> dict[str, str]:
    return {"authorization": f"Bearer {running.key}"}


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_openai_and_anthropic_clients_reach_the_upstream(
    serve: Callable[..., Running], upstream: Upstream, mode: str
) -> None:
    running = serve({"up": spec(upstream)})
    if mode == "sync":
        with openai.OpenAI(base_url=running.v1, api_key=running.key, max_retries=0) as api:
            reply = api.chat.completions.create(model="up", messages=HI)
            chunks = list(api.chat.completions.create(model="up", messages=HI, stream=True))
        with anthropic.Anthropic(base_url=running.url, api_key=running.key) as claude:
            message = claude.messages.create(model="up", max_tokens=10, messages=HI)
    else:
        async with openai.AsyncOpenAI(base_url=running.v1, api_key=running.key) as api:
            reply = await api.chat.completions.create(model="up", messages=HI)
            stream = await api.chat.completions.create(model="up", messages=HI, stream=True)
            chunks = [chunk async for chunk in stream]
        async with anthropic.AsyncAnthropic(base_url=running.url, api_key=running.key) as claude:
            message = await claude.messages.create(model="up", max_tokens=10, messages=HI)
    assert reply.choices[0].message.content == "upstream says hi"
    assert reply.usage.total_tokens == 8
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "upstream streams words"
    assert message.content[0].text == "upstream says hi"
    assert message.usage.input_tokens == 5
    # the upstream got the provider's request: the gateway's key never went to the client
    assert [r["model"] for r in upstream.requests] == ["up", "up", "up"]


async def test_client_leaving_mid_stream_cancels_the_upstream(
    serve: Callable[..., Running], upstream: Upstream
) -> None:
    running = serve({"slow": spec(upstream, "slow")})
    async with (
        httpx.AsyncClient() as http,
        http.stream(
            "POST",
            running.v1 + "/chat/completions",
            json={"model": "slow", "messages": HI, "stream": True},
            headers=headers(running),
        ) as response,
    ):
        assert response.status_code == 200
        lines = response.aiter_lines()
        seen = [await anext(lines) for _ in range(6)]
        assert any("upstream" in line for line in seen)
    # the client hung up after a few words of 400: the upstream sees its request dropped
    assert await asyncio.to_thread(upstream.dropped.wait, 10)


async def test_client_leaving_before_the_answer_cancels_the_upstream(
    serve: Callable[..., Running], upstream: Upstream
) -> None:
    running = serve({"slow": spec(upstream, "slow")})
    body = b'{"model": "slow", "messages": [{"role": "user", "content": "Hi"}]}'
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer {running.key}\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    port = int(running.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        assert await asyncio.to_thread(upstream.received.wait, 10)  # the gateway sent it on
    assert await asyncio.to_thread(upstream.dropped.wait, 10)


async def test_hooks_see_gateway_calls_as_library_calls(
    serve: Callable[..., Running], upstream: Upstream
) -> None:
    running = serve({"up": spec(upstream)})
    with recording_hooks() as recorder:
        async with openai.AsyncOpenAI(base_url=running.v1, api_key=running.key) as api:
            await api.chat.completions.create(model="up", messages=HI)
            stream = await api.chat.completions.create(model="up", messages=HI, stream=True)
            [chunk async for chunk in stream]
    hooks = recorder.hooks()
    assert hooks[:2] == ["before_call", "after_call"]
    assert recorder.events[0].endpoint == "achat"
    assert recorder.events[2].endpoint == "astream_chat"
    assert hooks[2] == "before_call"
    assert hooks[-1] == "after_call"
    assert hooks.count("on_stream_chunk") >= 3
    assert recorder.events[-1].call.usage.output_tokens == 3


async def test_graceful_shutdown_drains_a_stream(
    serve: Callable[..., Running], upstream: Upstream
) -> None:
    upstream.words = ["word"] * 30
    running = serve({"up": spec(upstream), "slow": scripted("a b c d e f", chunk_delay=0.05)})
    gateway = running.server.gateway
    async with (
        httpx.AsyncClient() as http,
        http.stream(
            "POST",
            running.v1 + "/chat/completions",
            json={"model": "slow", "messages": HI, "stream": True},
            headers=headers(running),
        ) as response,
    ):
        lines = response.aiter_lines()
        await anext(lines)
        running.server.stop()  # while the stream is in flight
        assert gateway.draining
        with pytest.raises(httpx.TransportError):  # no new connections while draining
            await _until_refused(running.url + "/ready")
        rest = [line async for line in lines]
    assert rest[-2:] == ["data: [DONE]", ""]
    text = "".join(line for line in rest if '"content"' in line)
    assert text.count('"content":') >= 5  # every word arrived


async def _until_refused(url: str) -> None:
    # uvicorn notices a stop request on its next tick (0.1 s) and then closes its socket:
    # there is no event to wait for, so try a few times
    async with httpx.AsyncClient() as late:
        for _ in range(100):
            await late.get(url)
            await asyncio.sleep(0.01)


async def test_health_and_readiness(serve: Callable[..., Running]) -> None:
    running = serve({"m": scripted()})
    async with httpx.AsyncClient() as http:
        health = await http.get(running.url + "/health")
        ready = await http.get(running.url + "/ready")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "models": 1})


async def test_cors_is_off_by_default_and_listed_origins_only(
    serve: Callable[..., Running],
) -> None:
    preflight = {
        "origin": "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
    }
    closed = serve({"m": scripted()})
    opened = serve({"m": scripted()}, cors_origins=("https://app.example.com",))
    async with httpx.AsyncClient() as http:
        refused = await http.options(closed.v1 + "/chat/completions", headers=preflight)
        allowed = await http.options(opened.v1 + "/chat/completions", headers=preflight)
        other = await http.options(
            opened.v1 + "/chat/completions", headers={**preflight, "origin": "https://evil.test"}
        )
    assert "access-control-allow-origin" not in refused.headers
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in other.headers


async def test_status_shows_the_keys_own_limits(serve: Callable[..., Running], keys: Any) -> None:
    running = serve({"m": scripted("a b")})
    key, record = keys.create("limited", rpm=60, budget_tokens=1000)
    async with openai.AsyncOpenAI(base_url=running.v1, api_key=key) as api:
        await api.chat.completions.create(model="m", messages=HI)
    async with httpx.AsyncClient() as http:
        status = (await http.get(running.v1 + "/status", headers={"x-api-key": key})).json()
    assert status["key"]["id"] == record.id
    assert "hash" not in status["key"]
    assert status["limit"]["rpm"] == 60
    assert status["budget"]["tokens"] == 3  # 1 prompt word + 2 answer words


def test_threads_share_one_limit(serve: Callable[..., Running], keys: Any) -> None:
    """Concurrent requests with one key: exactly its burst gets through."""
    running = serve({"m": scripted()})
    key, _ = keys.create("burst", rpm=5)  # a minute's worth (5) at once
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        with httpx.Client() as http:
            answer = http.post(
                running.v1 + "/chat/completions",
                json={"model": "m", "messages": HI},
                headers={"authorization": f"Bearer {key}"},
            )
        with lock:
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [429] * 7


def test_server_refuses_to_start_with_a_broken_model(keys: Any) -> None:
    from llmplug_server import GatewayConfig, GatewayServer

    server = GatewayServer(
        GatewayConfig(port=0),
        models={"bad": "mock?temperatur=1"},
        keys=keys,
        access_log=False,
        log_level="critical",
    )
    with pytest.raises(RuntimeError, match="did not start"):
        server.run_in_thread(timeout=30)
    with contextlib.suppress(Exception):
        server.stop()


async def test_a_stream_cut_short_still_counts_against_the_budget(
    serve: Callable[..., Running], keys: Any
) -> None:
    running = serve({"slow": scripted("w " * 200, chunk_delay=0.02)})
    key, record = keys.create("budgeted", budget_tokens=100_000)
    async with (
        httpx.AsyncClient() as http,
        http.stream(
            "POST",
            running.v1 + "/chat/completions",
            json={"model": "slow", "messages": HI, "stream": True},
            headers={"authorization": f"Bearer {key}"},
        ) as response,
    ):
        lines = response.aiter_lines()
        for _ in range(6):
            await anext(lines)
    from llmplug.routing import routing_state

    name = f"llmplug-server:key:{record.id}"
    for _ in range(200):  # the gateway settles once it has seen the client leave
        spent = routing_state().snapshot()["budgets"][name]["tokens"]
        if spent:
            break
        await asyncio.sleep(0.01)
    assert spent >= 5  # the prompt (~5 tokens estimated) and the words delivered


def test_no_models_is_a_clear_error(keys: Any, tmp_path: Any, monkeypatch: Any) -> None:
    from llmplug.errors import ConfigError
    from llmplug_server import Gateway

    monkeypatch.setenv("LLMPLUG_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    gateway = Gateway(keys=keys)
    with pytest.raises(ConfigError, match="no models to serve"):
        gateway.table.load()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_provider_keys_never_reach_the_client(
    serve: Callable[..., Running], upstream: Upstream, stream: bool, caplog: Any
) -> None:
    running = serve({"up": spec(upstream, "unauthorized")})
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            running.v1 + "/chat/completions",
            json={"model": "up", "messages": HI, "stream": stream},
            headers=headers(running),
        )
    assert answer.status_code == 502
    assert "credentials" in answer.json()["error"]["message"]
    assert "CANARY" not in answer.text
    assert "CANARY" not in caplog.text  # nor the gateway's log
