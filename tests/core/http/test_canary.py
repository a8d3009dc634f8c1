"""One canary secret of each kind, pushed through every error path, never shown.

A key (with and without a trailing newline), a secret header and credentials in
``base_url`` are sent to a real loopback server that echoes every request header and
the URL back (in error bodies, in stream error events, in response headers:
``Set-Cookie``, ``Location``, an ``X-Echo``), or misbehaves (a redirect, a body that is
not JSON or nests too deeply, a dropped or stalled stream, a trickle past the
deadline). With DEBUG logging on for every logger, no log record, exception message,
``repr``, chained exception (``__cause__``/``__context__``), formatted traceback,
pickled error or output of the real ``llmplug chat`` command shows any of them.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmplug.errors import LLMError
from llmplug.http import Timeout
from llmplug.http.testing import FakeClock

from .loopback import Handler, Server, serving
from .providers import Provider, run

KEY = "sk-CANARY-key-3f9d0b7e5a"
TOKEN = "tok-CANARY-header-c41e8a"
USER = "canary-user-7d2"
PASSWORD = "pw-CANARY-url-92b6f1"
COOKIE = "ck-CANARY-cookie-5e0a"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
SECRETS = (KEY, TOKEN, PASSWORD, USER, BASIC, COOKIE, "CANARY")


def shown_by(error: BaseException) -> list[str]:
    """Every text an error can show: its chain, its traceback, its pickled form."""
    texts = ["".join(traceback.format_exception(error))]
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        exc = pending.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        texts += [str(exc), repr(exc), repr(exc.args), repr(vars(exc))]
        texts += [repr(getattr(exc, "body", None)), *getattr(exc, "__notes__", ())]
        pending += [e for e in (exc.__cause__, exc.__context__) if e is not None]
    data = pickle.dumps(error)
    texts += [data.decode("latin-1"), repr(pickle.loads(data))]
    return texts


def assert_never_shown(texts: list[str]) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} shown in: {text[:2000]}"


# -- the echoing, misbehaving server -----------------------------------------------------


def echoed(handler: Handler) -> str:
    sent = "; ".join(f"{name}: {value}" for name, value in handler.headers.items())
    return f"you sent {sent} to {handler.path} with {handler.body.decode(errors='replace')}"


def leaky_head(handler: Handler, status: int, kind: str, size: int | None = None) -> None:
    """A status line and headers that echo the credentials back, as a bad proxy might."""
    handler.send_response(status)
    handler.send_header("content-type", kind)
    handler.send_header("set-cookie", f"session={COOKIE}; Path=/")
    handler.send_header("x-echo", handler.headers.get("authorization") or "")
    handler.send_header("x-echo-key", handler.headers.get("x-api-key") or "")
    handler.send_header("x-echo-token", handler.headers.get("x-custom-token") or "")
    host = handler.headers.get("host")
    handler.send_header("location", f"https://{USER}:{PASSWORD}@{host}/?api_key={KEY}")
    if size is None:
        handler.send_header("transfer-encoding", "chunked")
    else:
        handler.send_header("content-length", str(size))
    handler.end_headers()


def json_reply(status: int, data: Any) -> Callable[[Handler, Provider], None]:
    def script(handler: Handler, provider: Provider) -> None:
        body = json.dumps(data(handler, provider) if callable(data) else data).encode()
        leaky_head(handler, status, "application/json", len(body))
        handler.wfile.write(body)

    return script


def text_reply(status: int) -> Callable[[Handler, Provider], None]:
    def script(handler: Handler, provider: Provider) -> None:
        body = f"<html><pre>{echoed(handler)}</pre></html>".encode()
        leaky_head(handler, status, "text/html", len(body))
        handler.wfile.write(body)

    return script


def stream(after: Callable[[Handler, Provider], None]) -> Callable[[Handler, Provider], None]:
    def script(handler: Handler, provider: Provider) -> None:
        leaky_head(handler, 200, "text/event-stream")
        for item in provider.opening:
            handler.chunk(item)
        after(handler, provider)

    return script


def error_event(handler: Handler, provider: Provider) -> None:
    handler.chunk(provider.error_event(echoed(handler)))
    handler.end()


def drop(handler: Handler, provider: Provider) -> None:
    handler.close_connection = True
    handler.connection.shutdown(2)


def stop_early(handler: Handler, provider: Provider) -> None:
    handler.end()


def stall(handler: Handler, provider: Provider) -> None:
    handler.wait(5)


def trickle(handler: Handler, provider: Provider) -> None:
    body = json.dumps(provider.reply).encode()
    leaky_head(handler, 200, "application/json", len(body))
    for byte in body:
        if handler.wait(0.05):
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


FAULTS: dict[str, tuple[Callable[[Handler, Provider], None], tuple[str, ...]]] = {
    "401-echo": (
        json_reply(401, lambda h, p: {**p.error(echoed(h)), "api_key": KEY}),
        ("chat", "achat", "stream_chat", "astream_chat"),
    ),
    "500-echo-retried": (text_reply(500), ("chat", "astream_chat")),
    "302-redirect": (json_reply(302, {}), ("achat", "stream_chat")),
    "200-not-json": (text_reply(200), ("chat", "achat")),
    "200-not-an-object": (json_reply(200, lambda h, p: [echoed(h)]), ("chat", "achat")),
    "200-deep": (json_reply(200, lambda h, p: json.loads("[" * 200 + "]" * 200)), ("chat",)),
    "stream-error-event": (stream(error_event), ("stream_chat", "astream_chat")),
    "stream-dropped": (stream(drop), ("stream_chat", "astream_chat")),
    "stream-incomplete": (stream(stop_early), ("stream_chat", "astream_chat")),
    "stream-idle": (stream(stall), ("stream_chat", "astream_chat")),
    "total-trickle": (trickle, ("chat", "achat")),
}
CASES = [
    pytest.param(fault, mode, id=f"{fault}-{mode}")
    for fault, (_, modes) in FAULTS.items()
    for mode in modes
]


@pytest.fixture
def server() -> Iterator[Server]:
    with serving() as httpd:
        yield httpd


def setups(provider: Provider, server: Server) -> list[dict[str, Any]]:
    """The key (with and without a trailing newline) and a secret header, then URL
    credentials (with the key where the provider's key header allows it)."""
    host = server.url().removeprefix("http://")
    path = "/v1" if provider.name == "openai" else ""
    plain = server.url(path)
    creds = f"http://{USER}:{PASSWORD}@{host}{path}"
    header = {"X-Custom-Token": TOKEN}
    bearer = provider.key_header == "authorization"
    return [
        {"api_key": KEY, "extra_headers": header, "base_url": plain},
        {"api_key": f"{KEY}\n", "extra_headers": header, "base_url": plain},
        {"api_key": "" if bearer else f"{KEY}\n", "extra_headers": header, "base_url": creds},
    ]


@pytest.fixture
def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in list(logging.Logger.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    for name in ("httpx2", "httpcore2", "httpcore2.http11", "httpcore2.connection", "llmplug"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.mark.parametrize(("fault", "mode"), CASES)
async def test_canary_never_shown(
    provider: Provider,
    server: Server,
    every_logger_at_debug: pytest.LogCaptureFixture,
    fault: str,
    mode: str,
) -> None:
    script, _ = FAULTS[fault]
    server.script = lambda handler: script(handler, provider)
    caplog = every_logger_at_debug
    for fields in setups(provider, server):
        # a fake clock: retries do not wait; the timeouts still run on real time
        llm = provider.new(
            max_retries=1, timeout=Timeout(idle=0.2, total=0.4), clock=FakeClock(), **fields
        )
        with pytest.raises(LLMError) as caught:
            await run(llm, mode)
        assert_never_shown(shown_by(caught.value))
        assert_never_shown([repr(llm), str(llm), llm.model_dump_json(), str(llm.model_dump())])
        formatter = logging.Formatter("%(name)s %(message)s")
        assert_never_shown([formatter.format(record) for record in caplog.records])
        await llm.aclose()
        llm.close()
    # the records that could have shown them were there: httpcore2's response headers
    assert any(r.name == "httpcore2.http11" for r in caplog.records)
    assert any("<redacted>" in r.getMessage() for r in caplog.records)


async def test_canary_not_logged_on_success(
    provider: Provider, server: Server, every_logger_at_debug: pytest.LogCaptureFixture
) -> None:
    def ok(handler: Handler) -> None:
        body = json.dumps(provider.reply).encode()
        leaky_head(handler, 200, "application/json", len(body))
        handler.wfile.write(body)

    server.script = ok
    for fields in setups(provider, server):
        llm = provider.new(**fields)
        assert llm.chat(provider_messages()).message.content == "Hello"
        assert (await llm.achat(provider_messages())).message.content == "Hello"
        # the second request sends back the cookie the server set: a secret too
        llm.chat(provider_messages())
        await llm.aclose()
        llm.close()
    records = every_logger_at_debug.records
    assert_never_shown([logging.Formatter("%(message)s").format(r) for r in records])
    headers = [r.getMessage() for r in records if "receive_response_headers.complete" in r.msg]
    assert headers, "httpcore2 logged no response headers"
    assert all("(b'set-cookie', b'<redacted>')" in m.lower() for m in headers)


def provider_messages() -> Any:
    from .providers import HI

    return HI


# -- the real command line ----------------------------------------------------------------


CLI_CASES = [
    pytest.param("401-echo", True, id="401-echo-stream"),
    pytest.param("200-not-json", False, id="200-not-json-no-stream"),
    pytest.param("stream-error-event", True, id="stream-error-event"),
]


@pytest.mark.parametrize(("fault", "streamed"), CLI_CASES)
def test_canary_never_shown_by_llmplug_chat(
    provider: Provider, server: Server, tmp_path: Path, fault: str, streamed: bool
) -> None:
    script, _ = FAULTS[fault]
    server.script = lambda handler: script(handler, provider)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("LLMPLUG_") and not name.endswith("_API_KEY")
    }
    env.update(
        {
            provider.key_env: f"{KEY}\n",  # as read from a file or a mounted secret
            "XDG_CONFIG_HOME": str(tmp_path),
            "LLMPLUG_DISABLE_PLUGIN_AUTOLOAD": "1",
        }
    )
    for fields in setups(provider, server)[1:]:
        url = fields["base_url"]
        args = [sys.executable, "-m", "llmplug", "chat", "-m", f"{provider.name}:{provider.model}"]
        args += ["-o", f"base_url={url}", "-o", "max_retries=0"]
        args += ["-o", f"extra_headers={json.dumps(fields['extra_headers'])}"]
        if not fields["api_key"]:
            args += ["-o", "api_key="]
        if not streamed:
            args.append("--no-stream")
        args.append("Hi")
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("llmplug: error:"), done.stderr
        assert "Traceback" not in done.stderr
        assert_never_shown([done.stdout, done.stderr])
