"""Clients (created lazily, pooled, reused, closed), headers, options, lazy imports."""

from __future__ import annotations

import asyncio
import base64
import copy
import pickle
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest

from llmplug import ChatMessage
from llmplug.errors import InvalidOptionError
from llmplug.http import HTTPRequest
from llmplug.http._client import async_client, sync_client
from llmplug.http.testing import Reply

from .conftest import CANARY, HI, EchoLLM, Make

OK = Reply(200, json={"text": "ok"})


def test_one_sync_client_is_reused(make: Make) -> None:
    model, server = make(OK)
    model.chat(HI)
    client = model._client
    model.chat(HI)
    assert model._client is client
    assert len(server.requests) == 2


def test_close_then_call_again(make: Make) -> None:
    model, _ = make(OK)
    model.chat(HI)
    first = model._client
    model.close()
    assert first.is_closed
    assert model.chat(HI).message.content == "ok"
    assert model._client is not first
    model.close()


def test_context_manager_closes(make: Make) -> None:
    model, _ = make(OK)
    with model as same:
        assert same is model
        model.chat(HI)
        client = model._client
    assert client.is_closed


async def test_async_context_manager_closes(make: Make) -> None:
    model, _ = make(OK)
    async with model:
        await model.achat(HI)
        model.chat(HI)
        aclient = model._alast[1]
        client = model._client
    assert aclient.is_closed
    assert client.is_closed
    assert model._aclients == {}


async def test_one_async_client_per_loop_is_reused(make: Make) -> None:
    model, _ = make(OK)
    await model.achat(HI)
    client = model._alast[1]
    await asyncio.gather(model.achat(HI), model.achat(HI))
    assert model._alast[1] is client
    await model.aclose()


def test_a_closed_loop_gets_its_client_replaced(make: Make) -> None:
    model, server = make(OK)
    asyncio.run(model.achat(HI))
    first = model._alast[1]
    asyncio.run(model.achat(HI))  # a new loop: the old one (and its client) is gone
    assert model._alast[1] is not first
    assert len(model._aclients) == 1
    assert len(server.requests) == 2

    async def close() -> None:
        await model.aclose()

    asyncio.run(close())
    assert model._aclients == {}


def test_close_of_an_unused_instance_imports_nothing() -> None:
    code = (
        "import sys\n"
        "from llmplug.http import HTTPChatLLM\n"
        "class P(HTTPChatLLM):\n"
        "    base_url: str = 'https://x.test'\n"
        "P.__abstractmethods__ = frozenset()\n"
        "p = P()\n"
        "p.close()\n"
        "assert 'httpx2' not in sys.modules, 'httpx2 imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("module", ["llmplug", "llmplug.http"])
def test_import_does_not_import_httpx2(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "heavy = sorted(m for m in ('httpx2', 'httpcore2', 'asyncio', 'ssl') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_default_pool_limits() -> None:
    model = EchoLLM()
    pool = sync_client(model)._transport._pool  # type: ignore[attr-defined]
    assert (pool._max_connections, pool._max_keepalive_connections) == (100, 20)
    assert pool._keepalive_expiry == 5.0
    model.close()


async def test_default_async_pool_limits() -> None:
    model = EchoLLM()
    pool = async_client(model, asyncio.get_running_loop())._transport._pool  # type: ignore[attr-defined]
    assert (pool._max_connections, pool._max_keepalive_connections) == (100, 20)
    await model.aclose()


def test_pickle_drops_clients() -> None:
    model = EchoLLM(api_key=CANARY)
    sync_client(model)
    copy = pickle.loads(pickle.dumps(model))
    assert copy._client is None
    assert copy.api_key is not None
    assert copy.api_key.get_secret_value() == CANARY
    model.close()


def test_headers_merge_in_order() -> None:
    model = EchoLLM(api_key=CANARY, extra_headers={"X-Org": "o1", "authorization": "Token t"})
    request = HTTPRequest("/chat", headers={"x-org": "o2", "X-Extra": "e"})
    headers = model.headers(request, stream=True)
    assert headers == {
        "User-Agent": "llmplug/0.1.0",
        "Accept": "text/event-stream",
        "authorization": "Token t",
        "x-org": "o2",
        "X-Extra": "e",
    }


def test_headers_without_a_key() -> None:
    assert "Authorization" not in EchoLLM().headers()


def test_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMPLUG_TEST_KEY", CANARY)
    assert EchoLLM().headers()["Authorization"] == f"Bearer {CANARY}"


class HeaderKeyLLM(EchoLLM):
    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-api-key": api_key}


def test_custom_auth_headers(make: Make) -> None:
    model, server = make(OK, cls=HeaderKeyLLM)
    model.chat(HI)
    sent = server.requests[0].headers
    assert sent["x-api-key"] == CANARY
    assert "authorization" not in sent


@pytest.mark.parametrize(
    ("base", "path", "url"),
    [
        ("https://h.test/v1", "/chat", "https://h.test/v1/chat"),
        ("https://h.test/v1/", "chat", "https://h.test/v1/chat"),
        ("https://h.test/v1/", "/chat", "https://h.test/v1/chat"),
        ("https://h.test/v1", "https://other.test/x", "https://other.test/x"),
    ],
)
def test_url(base: str, path: str, url: str) -> None:
    assert EchoLLM(base_url=base).url_for(path) == url


class ParamsLLM(EchoLLM):
    def build_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], *, stream: bool
    ) -> HTTPRequest:
        request = super().build_request(messages, options, stream=stream)
        return HTTPRequest(
            request.path,
            json=request.json,
            params={"api-version": "2024-10-21"},
            headers={"x-test": "1"},
        )


def test_request_params_and_headers(make: Make) -> None:
    model, server = make(OK, cls=ParamsLLM)
    model.chat(HI)
    sent = server.requests[0]
    assert str(sent.url) == "https://api.example.test/v1/chat?api-version=2024-10-21"
    assert sent.headers["x-test"] == "1"
    assert sent.headers["user-agent"] == "llmplug/0.1.0"


@pytest.mark.parametrize("mode", ["chat", "achat", "sync", "async"])
async def test_per_call_options_reach_build_request(make: Make, run: Any, mode: str) -> None:
    model, server = make(OK if mode in ("chat", "achat") else Reply(200, json={"text": "ok"}))
    await run(model, mode, header="h", temperature=0.1, timeout=30, max_retries=0)
    sent = server.requests[0]
    assert sent.headers["x-test"] == "h"
    assert b'"temperature":0.1' in sent.content
    with pytest.raises(InvalidOptionError, match="bogus"):
        await run(model, mode, bogus=1)
    assert len(server.requests) == 1


def test_capabilities_say_native_async() -> None:
    assert EchoLLM.capabilities.native_async


def test_deepcopy_drops_clients(make: Make) -> None:
    model, _ = make(OK)
    model.chat(HI)
    twin = copy.deepcopy(model)
    assert twin._client is None
    assert twin._aclients == {}
    assert model._client is not None
    assert twin.chat(HI).message.content == "ok"
    assert twin._client is not model._client


@pytest.mark.parametrize("mode", ["chat", "achat", "sync", "async"])
async def test_requests_carry_what_httpx2_would_send(make: Make, run: Any, mode: str) -> None:
    # llmplug builds each httpx2.Request itself: the same headers as client.build_request,
    # each once, whatever the case of the names
    model, server = make(OK, extra_headers={"ACCEPT-encoding": "identity"})
    await run(model, mode)
    sent = server.requests[0]
    import httpx2

    expected = httpx2.Client().build_request(
        "POST",
        sent.url,
        json={"x": 1},
        headers=model.headers(stream=mode in ("sync", "async")),
    )
    names = [name.lower() for name, _ in sent.headers.multi_items()]
    assert len(names) == len(set(names))
    assert sorted(set(names) - {"content-length"}) == sorted(
        {n.lower() for n in expected.headers} - {"content-length"}
    )
    assert sent.headers["accept-encoding"] == "identity"
    assert sent.headers["authorization"] == f"Bearer {CANARY}"
    assert sent.headers["connection"] == "keep-alive"


@pytest.mark.parametrize("mode", ["chat", "achat", "sync", "async"])
async def test_cookies_a_server_sets_are_sent_back(make: Make, run: Any, mode: str) -> None:
    # (a stream request answered with JSON is a stream of one chunk)
    first = Reply(200, json={"text": "ok"}, headers={"set-cookie": "__cf_bm=abc; Path=/"})
    model, server = make(first, Reply(200, json={"text": "ok"}))
    await run(model, mode)
    await run(model, mode)
    assert "cookie" not in server.requests[0].headers
    assert server.requests[1].headers["cookie"] == "__cf_bm=abc"


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_environment_proxies_still_apply(
    run: Any, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests go to the transport httpx2 would choose: with HTTP_PROXY set, the proxy
    import socket
    import threading

    seen: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    body = b'{"text": "via proxy"}'

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            seen.append(data.split(b"\r\n", 1)[0])
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
            )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{listener.getsockname()[1]}")
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    model = EchoLLM(base_url="http://upstream.invalid/v1", api_key=CANARY, max_retries=0)
    try:
        [reply] = await run(model, mode)
    finally:
        await model.aclose()
        listener.close()
    thread.join(5)
    assert reply.message.content == "via proxy"
    assert seen == [b"POST http://upstream.invalid/v1/chat HTTP/1.1"]


def test_httpx2_log_line_is_kept(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    model, _ = make(OK)
    with caplog.at_level(logging.INFO, logger="httpx2"):
        model.chat(HI)
    assert any(
        r.name == "httpx2"
        and "HTTP Request: POST https://api.example.test/v1/chat" in r.getMessage()
        for r in caplog.records
    )


@pytest.mark.parametrize("mode", ["chat", "achat", "sync", "async"])
async def test_credentials_in_the_base_url_are_sent_as_basic_auth(
    make: Make, run: Any, mode: str
) -> None:
    # as client.send does (a gateway behind Basic auth); the direct transport call lost it
    model, server = make(
        Reply(200, json={"text": "ok"}),
        base_url="https://user:p%40ss@gateway.example.test/v1",
        api_key=None,
    )
    [reply] = await run(model, mode)
    assert reply.message.content == "ok"
    expected = "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert server.requests[0].headers["authorization"] == expected
    assert server.open_bodies == []
