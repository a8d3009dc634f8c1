"""An HTTP provider's key: explicit > environment > key store; none is an error up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmplug.config import KEYS_ENV, KeyStore
from llmplug.errors import MissingKeyError
from llmplug.http import HTTPRequest
from llmplug.http.testing import MockServer, Reply

from .conftest import CANARY, HI, EchoLLM, call

MODES = ["chat", "achat", "sync", "async"]
STORED = "sk-stored-0123456789"


@pytest.fixture(autouse=True)
def _store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEYS_ENV, str(tmp_path / "keys.json"))


def _llm(server: MockServer, **fields: object) -> EchoLLM:
    return EchoLLM(transport=server.transport(), async_transport=server.async_transport(), **fields)


@pytest.mark.parametrize("mode", [*MODES, "list", "alist"])
async def test_a_stored_key_is_used_when_the_environment_has_none(mode: str) -> None:
    KeyStore().set("LLMPLUG_TEST_KEY", STORED)
    server = MockServer(Reply(200, json={"text": "ok"}))
    await _use(_llm(server), mode)
    assert server.requests[0].headers["authorization"] == f"Bearer {STORED}"


async def _use(llm: EchoLLM, mode: str) -> object:
    """A chat or stream (``call``'s modes), or a request other than a chat."""
    request = HTTPRequest("/models", method="GET")
    if mode == "list":
        return llm.request_json(request)
    if mode == "alist":
        return await llm.arequest_json(request)
    return await call(llm, mode)


def test_the_environment_wins_over_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    KeyStore().set("LLMPLUG_TEST_KEY", STORED)
    monkeypatch.setenv("LLMPLUG_TEST_KEY", CANARY)
    llm = EchoLLM()
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == CANARY


def test_an_explicit_key_wins_over_both(monkeypatch: pytest.MonkeyPatch) -> None:
    KeyStore().set("LLMPLUG_TEST_KEY", STORED)
    monkeypatch.setenv("LLMPLUG_TEST_KEY", "sk-env-0123456789")
    llm = EchoLLM(api_key="sk-explicit-0123456789")
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == "sk-explicit-0123456789"


@pytest.mark.parametrize("mode", [*MODES, "list", "alist"])
async def test_no_key_fails_before_any_request(mode: str) -> None:
    server = MockServer(Reply(200, json={"text": "never"}))
    llm = _llm(server)
    with pytest.raises(MissingKeyError) as caught:
        await _use(llm, mode)
    error = caught.value
    assert server.requests == []
    assert error.key_env == "LLMPLUG_TEST_KEY"
    assert error.provider == "EchoLLM"
    message = str(error)
    assert "LLMPLUG_TEST_KEY" in message
    assert "llmplug keys set LLMPLUG_TEST_KEY" in message


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"extra_headers": {"Authorization": "Bearer gw-0123456789"}}, id="header"),
        pytest.param({"extra_headers": {"x-api-key": "gw-0123456789"}}, id="key-header"),
        pytest.param({"base_url": "https://user:pw@gateway.example.test/v1"}, id="userinfo"),
    ],
)
def test_other_credentials_need_no_key(fields: dict[str, object]) -> None:
    server = MockServer(Reply(200, json={"text": "ok"}))
    llm = _llm(server, **fields)
    assert not llm.key_required()
    assert llm.chat(HI).message.content == "ok"


def test_a_provider_without_key_env_needs_no_key() -> None:
    class Keyless(EchoLLM):
        key_env = None

    server = MockServer(Reply(200, json={"text": "ok"}))
    llm = Keyless(transport=server.transport())
    assert llm.chat(HI).message.content == "ok"
    assert "authorization" not in server.requests[0].headers
