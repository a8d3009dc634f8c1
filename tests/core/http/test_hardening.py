"""Hardening of secrets and retries, run against both HTTP provider plugins, sync and async.

Each section is one item of the hardening issue: API keys and headers that cannot be
sent, secrets a server echoes back, credentials in ``base_url`` next to the key, and
per-call ``max_retries``. Hostile input is in ``test_hostile_input``, deadlines and
sockets in ``test_deadlines``, the canary secret in ``test_canary``.
"""

from __future__ import annotations

import base64
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import ValidationError

import llmplug
from llmplug.errors import (
    APIError,
    InvalidOptionError,
)
from llmplug.http.testing import FakeClock, Reply
from llmplug.testing import fake_entry_point, isolated_registry

from .providers import MODES, STREAMS, Provider, run

KEY = "sk-hardening-5b2e9c0d71"


@pytest.fixture
def plugins() -> Iterator[None]:
    """A registry that sees the two plugins (and ``mock``), for ``llmplug.load``."""
    eps = [
        fake_entry_point("openai", "llmplug_openai", dist="llmplug-openai"),
        fake_entry_point("azure", "llmplug_openai", dist="llmplug-openai"),
        fake_entry_point("anthropic", "llmplug_anthropic", dist="llmplug-anthropic"),
    ]
    with isolated_registry(eps):
        yield


def shown(error: BaseException) -> str:
    """Everything an error shows: message, repr, args, body, pickled form, its chain."""
    parts = []
    current: BaseException | None = error
    while current is not None:
        parts += [str(current), repr(current), repr(current.args)]
        parts.append(repr(getattr(current, "body", None)))
        current = current.__cause__ or current.__context__
    parts.append(pickle.dumps(error).decode("latin-1"))
    return "\n".join(parts)


# -- 1. keys that cannot be sent as they are -------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("space", ["\n", "\r\n", " ", "\t\n"], ids=["lf", "crlf", "space", "tab"])
async def test_key_whitespace_is_stripped(provider: Provider, mode: str, space: str) -> None:
    llm, server = provider.mocked(provider.ok(mode), api_key=f"{KEY}{space}")
    await run(llm, mode)
    assert KEY in server.requests[0].headers[provider.key_header]
    assert server.requests[0].headers[provider.key_header].endswith(KEY)


def test_key_from_env_is_stripped(provider: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(provider.key_env, f"  {KEY}\n")
    llm = provider.new()
    assert llm.api_key.get_secret_value() == KEY


BAD_KEYS = [
    pytest.param(f"{KEY[:6]}\n{KEY[6:]}", "line break", id="inner-newline"),
    pytest.param(f"{KEY[:6]}\r{KEY[6:]}", "line break", id="inner-cr"),
    pytest.param(f"{KEY[:6]}\x00{KEY[6:]}", "control character", id="nul"),
    pytest.param(f"{KEY[:6]}\x1b{KEY[6:]}", "control character", id="escape"),
    pytest.param(f"{KEY[:6]}é{KEY[6:]}", "non-ASCII", id="non-ascii"),
    pytest.param(f"{KEY[:6]}\u200b{KEY[6:]}", "non-ASCII", id="zero-width-space"),
]


def assert_quiet(error: BaseException, *secrets: str) -> None:
    text = shown(error)
    for secret in secrets:
        for part in (secret, secret.strip(), repr(secret)[1:-1], KEY[6:]):
            assert part not in text


@pytest.mark.parametrize(("key", "problem"), BAD_KEYS)
def test_bad_key_is_refused_up_front(provider: Provider, key: str, problem: str) -> None:
    with pytest.raises(InvalidOptionError, match=problem) as caught:
        provider.new(api_key=key)
    assert caught.value.option == "api_key"
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert_quiet(caught.value, key)


@pytest.mark.parametrize(("key", "problem"), [p for p in BAD_KEYS if p.id != "nul"])
def test_bad_key_is_refused_from_env_and_assignment(
    provider: Provider, monkeypatch: pytest.MonkeyPatch, key: str, problem: str
) -> None:
    monkeypatch.setenv(provider.key_env, key)
    with pytest.raises(InvalidOptionError, match=problem) as caught:
        provider.new()
    assert provider.key_env in str(caught.value)
    assert_quiet(caught.value, key)
    llm = provider.new(api_key=KEY)
    with pytest.raises(InvalidOptionError, match=problem) as caught:
        llm.api_key = key
    assert_quiet(caught.value, key)


@pytest.mark.parametrize(("key", "problem"), BAD_KEYS[:3])
def test_bad_key_is_refused_by_load(
    provider: Provider, plugins: None, key: str, problem: str
) -> None:
    with pytest.raises(InvalidOptionError, match=problem) as caught:
        llmplug.load(f"{provider.name}:{provider.model}", api_key=key)
    assert caught.value.provider == provider.name
    assert_quiet(caught.value, key)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        pytest.param("X-Token", f"{KEY}\r\nX-Injected: 1", "line break", id="crlf-value"),
        pytest.param("X-Token", f"{KEY}\n", "line break", id="trailing-newline"),
        pytest.param("X-Token", f"{KEY}é", "non-ASCII", id="non-ascii-value"),
        pytest.param("X Token", KEY, "not a header name", id="space-in-name"),
        pytest.param("X-Token\n", KEY, "not a header name", id="newline-in-name"),
    ],
)
def test_bad_extra_header_is_refused_without_its_value(
    provider: Provider, name: str, value: str, problem: str
) -> None:
    with pytest.raises(InvalidOptionError, match=problem) as caught:
        provider.new(api_key=KEY, extra_headers={name: value})
    assert_quiet(caught.value, value)


@pytest.mark.parametrize("mode", MODES)
async def test_bad_per_call_header_is_refused_before_sending(provider: Provider, mode: str) -> None:
    llm, server = provider.mocked(provider.ok(mode), api_key=KEY)
    with pytest.raises(InvalidOptionError, match="line break") as caught:
        await run(llm, mode, extra_headers={"X-Token": f"{KEY}\r\nX-Injected: 1"})
    assert server.requests == []
    assert_quiet(caught.value, KEY)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(f"https://user:{KEY}@h.test".encode(), id="bytes"),
        pytest.param(Path(f"https:/user:{KEY}@h.test"), id="path"),
        pytest.param(12345, id="int"),
    ],
)
def test_a_base_url_that_is_not_text_is_not_echoed(provider: Provider, value: Any) -> None:
    with pytest.raises(InvalidOptionError, match="base_url must be a URL as text") as caught:
        provider.new(api_key=KEY, base_url=value)
    assert KEY not in shown(caught.value)


def test_a_url_object_is_read_as_text(provider: Provider) -> None:
    llm = provider.new(api_key=KEY, base_url=httpx2.URL("https://api.example.test/v1"))
    assert llm.base_url == "https://api.example.test/v1"


# -- 2. secrets echoed by a server are redacted by value -------------------------------

TOKEN = "tok-echoed-8d1f3a7c"
USER, PASSWORD = "svc-user", "pw-echoed-41c9e2"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def echo(status: int, provider: Provider, html: bool = False) -> httpx2.MockTransport:
    """A server that answers with every request header (and the URL) in its error body."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        sent = "; ".join(f"{k}: {v}" for k, v in request.headers.items())
        text = f"you sent {sent} to {request.url}"
        if html:
            return httpx2.Response(status, text=f"<html><pre>{text}</pre></html>")
        return httpx2.Response(status, json=provider.error(text))

    return httpx2.MockTransport(handle)


def secret_setups(provider: Provider) -> list[dict[str, Any]]:
    """Key, secret header and URL credentials, combined as the provider allows."""
    header = {"X-Custom-Token": TOKEN}
    creds = f"https://{USER}:{PASSWORD}@gateway.example.test"
    setups = [{"api_key": KEY, "extra_headers": header, "base_url": "https://h.example.test"}]
    if provider.key_header == "authorization":  # a Bearer key cannot go with Basic auth
        setups.append({"api_key": "", "extra_headers": header, "base_url": creds})
    else:
        setups.append({"api_key": KEY, "extra_headers": header, "base_url": creds})
    return setups


SECRETS = (KEY, TOKEN, PASSWORD, BASIC, f"{USER}:{PASSWORD}")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("status", "html"),
    [
        pytest.param(401, False, id="401-json"),
        pytest.param(400, True, id="400-html"),
        pytest.param(503, False, id="503-retried"),
    ],
)
async def test_echoed_secrets_are_redacted_everywhere(
    provider: Provider, mode: str, status: int, html: bool, caplog: pytest.LogCaptureFixture
) -> None:
    for fields in secret_setups(provider):
        transport = echo(status, provider, html)
        llm = provider.new(
            transport=transport,
            async_transport=transport,
            clock=FakeClock(),
            max_retries=1,
            **fields,
        )
        with caplog.at_level(logging.DEBUG), pytest.raises(APIError) as caught:
            await run(llm, mode)
        text = shown(caught.value)
        assert "you sent" in text  # the body did arrive...
        for secret in SECRETS:  # ...without the secrets it echoed
            assert secret not in text
        for record in caplog.records:
            for secret in SECRETS:
                assert secret not in record.getMessage(), record.name
        if status == 503:
            assert any("retrying" in r.getMessage() for r in caplog.records)
        caplog.clear()


@pytest.mark.parametrize("mode", STREAMS)
async def test_echoed_secrets_in_a_stream_error_event(provider: Provider, mode: str) -> None:
    llm, _ = provider.mocked(
        Reply(200, body=[*provider.opening, provider.error_event(f"you sent {KEY} and {TOKEN}")]),
        api_key=KEY,
        extra_headers={"X-Custom-Token": TOKEN},
    )
    with pytest.raises(APIError) as caught:
        await run(llm, mode)
    assert "you sent" in str(caught.value)
    assert KEY not in shown(caught.value)
    assert TOKEN not in shown(caught.value)


# -- 4. credentials in base_url and the API key: one Authorization -----------------------


def test_url_credentials_and_a_bearer_key_are_refused() -> None:
    openai = pytest.importorskip("llmplug_openai")
    with pytest.raises(InvalidOptionError, match="carries only one") as caught:
        openai.OpenAILLM(api_key=KEY, base_url=f"https://{USER}:{PASSWORD}@h.test/v1")
    assert caught.value.option == "base_url"
    assert PASSWORD not in shown(caught.value)
    assert KEY not in shown(caught.value)


def test_url_credentials_and_a_key_from_env_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    openai = pytest.importorskip("llmplug_openai")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with pytest.raises(InvalidOptionError, match=r"api_key=''"):
        openai.OpenAILLM(base_url=f"https://{USER}:{PASSWORD}@h.test/v1")
    llm = openai.OpenAILLM(api_key="", base_url=f"https://{USER}:{PASSWORD}@h.test/v1")
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == ""


def test_url_credentials_and_an_authorization_header_are_refused(provider: Provider) -> None:
    with pytest.raises(InvalidOptionError, match="carries only one"):
        provider.new(
            api_key="" if provider.key_header == "authorization" else KEY,
            base_url=f"https://{USER}:{PASSWORD}@h.test",
            extra_headers={"Authorization": f"Bearer {TOKEN}"},
        )


@pytest.mark.parametrize("mode", MODES)
async def test_url_credentials_are_sent_as_basic_auth(provider: Provider, mode: str) -> None:
    bearer = provider.key_header == "authorization"
    llm, server = provider.mocked(
        provider.ok(mode),
        api_key="" if bearer else KEY,
        base_url=f"https://{USER}:{PASSWORD}@gateway.example.test",
    )
    await run(llm, mode)
    sent = server.requests[0]
    assert sent.headers["authorization"] == f"Basic {BASIC}"
    assert sent.url.userinfo == b""  # the credentials travel in the header only
    if not bearer:
        assert sent.headers[provider.key_header] == KEY  # a key in its own header goes along


@pytest.mark.parametrize("mode", MODES)
async def test_an_empty_key_sends_no_key(provider: Provider, mode: str) -> None:
    llm, server = provider.mocked(provider.ok(mode), api_key="")
    await run(llm, mode)
    assert provider.key_header not in server.requests[0].headers


@pytest.mark.parametrize("mode", MODES)
async def test_a_per_call_authorization_with_url_credentials_is_refused(mode: str) -> None:
    from .providers import provider_named

    openai = provider_named("openai")
    llm, server = openai.mocked(
        openai.ok(mode), api_key="", base_url=f"https://{USER}:{PASSWORD}@h.test/v1"
    )
    with pytest.raises(InvalidOptionError, match="carries only one"):
        await run(llm, mode, extra_headers={"Authorization": f"Bearer {TOKEN}"})
    assert server.requests == []


# -- 7. per-call max_retries is capped like the instance's --------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_per_call_max_retries_is_capped(provider: Provider, mode: str) -> None:
    llm, server = provider.mocked(Reply(503))
    for bad in (21, 1000, -1, 2.5, True):
        with pytest.raises(InvalidOptionError, match="from 0 to 20"):
            await run(llm, mode, max_retries=bad)
    assert server.requests == []
    with pytest.raises(APIError):
        await run(llm, mode, max_retries=20)
    assert len(server.requests) == 21


def test_instance_max_retries_is_capped(provider: Provider) -> None:
    with pytest.raises(ValidationError, match="less than or equal to 20"):
        provider.new(api_key=KEY, max_retries=21)
