"""``HTTPProviderConformance``: the suite for providers built on ``HTTPChatLLM``.

The provider runs against a :class:`~llmplug.http.testing.MockServer` answering with
the replies the plugin's tests script (:meth:`reply`, :meth:`stream_reply`,
:meth:`error_reply`); every response it sends must be closed by the time a call, or a
stream stopped early, is over.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import httpx2
import pytest

from llmplug.errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
    UnprocessableEntityError,
)
from llmplug.http._runtime import HTTPChatLLM
from llmplug.http.testing import FakeClock, MockServer, Reply, Stall
from llmplug.llm._base import LLM
from llmplug.testing.conformance._checks import (
    CANARY_KEY,
    call_endpoint,
    capture_logs,
    error_texts,
    split_deltas,
)
from llmplug.testing.conformance._hostile import HostileInputChecks
from llmplug.testing.conformance._suite import ANSWER, LONG_TEXT, ProviderConformance
from llmplug.types._messages import ChatMessage, MessageRole

__all__ = ["HTTPProviderConformance"]

#: HTTP statuses and the llmplug errors they map to.
STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: InternalServerError,
    503: InternalServerError,
}
_CALLS = ("chat", "achat", "stream_chat", "astream_chat")


class _Served(MockServer):
    """A MockServer that also notes a sync request made on a thread running a loop."""

    def __init__(self, *replies: Reply) -> None:
        super().__init__(*replies)
        self.blocking: list[str] = []

    def transport(self) -> httpx2.MockTransport:
        def handle(request: httpx2.Request) -> httpx2.Response:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:  # sync I/O on the event loop's thread blocks every other task
                self.blocking.append(f"{request.method} {request.url.path}")
            return self.handle(request)

        return httpx2.MockTransport(handle)


class HTTPProviderConformance(HostileInputChecks, ProviderConformance):
    """The conformance suite for an :class:`~llmplug.http.HTTPChatLLM` provider.

    Set :attr:`provider` and implement :meth:`reply` and :meth:`stream_reply` (and
    :meth:`error_reply` if your API's error body is not ``{"error": {"message"}}``).
    Every call goes to a fresh :class:`~llmplug.http.testing.MockServer`; the key is
    :data:`~llmplug.testing.conformance.CANARY_KEY`, set in the provider's key
    variable.

    Attributes:
        stream_break: What cuts a stream mid-way in the fault tests.
    """

    stream_break: ClassVar[BaseException] = httpx2.RemoteProtocolError("peer closed connection")

    # -- what a plugin's tests implement -------------------------------------------------

    def reply(self, text: str) -> Reply:
        """The server's answer to a (non-streaming) chat whose reply is ``text``."""
        raise NotImplementedError(
            f"{type(self).__name__}.reply(text): return the Reply your API sends for a chat "
            f"answering text, e.g. Reply(200, json={{...}})"
        )

    def stream_reply(self, deltas: list[str]) -> Reply:
        """The server's streamed answer sending ``deltas`` one event each, then its end.

        Use one body item per event (``sse(...)`` and ``ndjson(...)`` do): the suite
        cuts and stalls streams between items.
        """
        raise NotImplementedError(
            f"{type(self).__name__}.stream_reply(deltas): return the Reply your API "
            f"streams, e.g. Reply(200, body=sse(*events))"
        )

    def error_reply(self, status: int, message: str) -> Reply:
        """The server's error answer with ``status`` whose message is ``message``."""
        return Reply(status, json={"error": {"message": message, "type": "error"}})

    # -- plumbing -------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _llmplug_http_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The canary key in the provider's key variable; servers checked afterwards."""
        self.servers: list[_Served] = []
        key_env = self._key_env()
        if key_env:
            monkeypatch.setenv(key_env, CANARY_KEY)

    def _key_env(self) -> str | None:
        from llmplug.plugins._registry import registry

        return registry().get(self.provider).key_env

    def served(self, *replies: Reply, **options: Any) -> tuple[HTTPChatLLM, _Served]:
        """The provider, loaded by name, talking to a new server with ``replies``."""
        server = _Served(*replies)
        self.servers.append(server)
        llm = self.load(
            transport=server.transport(),
            async_transport=server.async_transport(),
            clock=FakeClock(),
            **options,
        )
        assert isinstance(llm, HTTPChatLLM), f"{self.provider} is not an HTTPChatLLM"
        llm.__dict__["_conformance_server"] = server  # for assert_released
        return llm, server

    def llm_answering(self, text: str, *, stream: bool) -> LLM | None:
        """A provider answering ``text`` from a new server."""
        reply = self.stream_reply(split_deltas(text)) if stream else self.reply(text)
        return self.served(reply)[0]

    def _server(self, llm: LLM) -> _Served:
        server = llm.__dict__.get("_conformance_server")
        assert isinstance(server, _Served)
        return server

    def assert_released(self, llm: LLM) -> None:
        """Every response the server sent was closed: no connection is leaked."""
        server = self._server(llm)
        assert server.open_bodies == [], (
            f"{len(server.open_bodies)} response(s) left open: a stream that stopped early "
            f"must close its response (a leaked connection)"
        )

    def assert_no_request(self, llm: LLM) -> None:
        """The server received nothing."""
        requests = self._server(llm).requests
        assert requests == [], f"sent {len(requests)} request(s) before refusing"

    # -- every response closed ---------------------------------------------------------------

    @pytest.mark.parametrize("endpoint", _CALLS)
    def test_every_response_is_closed(self, endpoint: str) -> None:
        """After a call (streamed to its end or not) no response is left open."""
        llm = self.llm_answering(ANSWER, stream="stream" in endpoint)
        assert llm is not None
        call_endpoint(llm, endpoint, "Say hello.")
        self.assert_released(llm)

    # -- errors ---------------------------------------------------------------------------

    @pytest.mark.parametrize("status", sorted(STATUS_ERRORS))
    @pytest.mark.parametrize("endpoint", _CALLS)
    def test_error_maps_to_the_tree(self, status: int, endpoint: str) -> None:
        """An error status raises its llmplug error, naming the provider and the message."""
        message = f"conformance error {status}"
        llm, server = self.served(self.error_reply(status, message), max_retries=0)
        with pytest.raises(APIStatusError) as info:
            call_endpoint(llm, endpoint, "Hi")
        error = info.value
        expected = STATUS_ERRORS[status]
        assert isinstance(error, expected), f"{status} raised {type(error).__name__}"
        assert error.status_code == status
        assert error.provider == self.provider, f"the error names {error.provider!r}"
        assert f"[{self.provider}]" in str(error)
        assert message in str(error), "the server's message is lost"
        assert len(server.requests) == 1
        assert server.open_bodies == []

    @pytest.mark.parametrize("endpoint", _CALLS)
    def test_connection_error_names_the_provider(self, endpoint: str) -> None:
        """A server that cannot be reached is an APIConnectionError naming the provider."""
        refused = Reply(raises=httpx2.ConnectError("connection refused"))
        llm, server = self.served(refused, max_retries=1)
        with pytest.raises(APIConnectionError) as info:
            call_endpoint(llm, endpoint, "Hi")
        assert info.value.provider == self.provider
        assert len(server.requests) == 2, "a connection error is retried"

    # -- retries ----------------------------------------------------------------------------

    @pytest.mark.parametrize("endpoint", _CALLS)
    def test_retried_before_the_first_chunk(self, endpoint: str) -> None:
        """A transient failure before anything reached the caller is retried."""
        stream = "stream" in endpoint
        ok = self.stream_reply(split_deltas(ANSWER)) if stream else self.reply(ANSWER)
        llm, server = self.served(self.error_reply(503, "overloaded"), ok, max_retries=2)
        answer = call_endpoint(llm, endpoint, "Say hello.")
        assert answer.text == ANSWER
        assert len(server.requests) == 2
        assert server.open_bodies == []

    @pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
    def test_not_retried_after_the_first_chunk(self, endpoint: str) -> None:
        """A stream cut after its first chunk raises StreamError; it is not resent."""
        reply = self.stream_reply(split_deltas(LONG_TEXT))
        items = list(reply.body)
        assert len(items) > 2, "stream_reply must give one body item per event"
        cut = Reply(reply.status, body=[items[0], self.stream_break], headers=reply.headers)
        llm, server = self.served(cut, self.stream_reply(split_deltas(LONG_TEXT)), max_retries=2)
        received: list[str] = []
        with pytest.raises(StreamError):
            self._consume(llm, endpoint, received)
        assert received, "the first chunk reached the caller"
        assert len(server.requests) == 1, "a stream was retried after its first chunk"
        assert server.open_bodies == []

    def _consume(self, llm: LLM, endpoint: str, received: list[str]) -> None:
        messages = [ChatMessage(role=MessageRole.USER, content="Count.")]
        if endpoint == "stream_chat":
            for chunk in llm.stream_chat(messages):
                received.append(chunk.delta or "")
            return

        async def consume() -> None:
            async for chunk in await llm.astream_chat(messages):
                received.append(chunk.delta or "")

        asyncio.run(consume())

    # -- the key ---------------------------------------------------------------------------

    def test_key_is_read_from_its_variable_and_sent(self) -> None:
        """The key comes from the provider's key variable and reaches the server."""
        if not self._key_env():
            pytest.skip(f"{self.provider} registers no key variable (key_env)")
        llm, server = self.served(self.reply(ANSWER))
        llm.chat([ChatMessage(role=MessageRole.USER, content="Hi")])
        request = server.requests[0]
        sent = " ".join([str(request.url), *request.headers.values()])
        assert CANARY_KEY in sent, "the key from the environment was not sent"

    @pytest.mark.parametrize("endpoint", _CALLS)
    def test_key_never_shown(self, endpoint: str) -> None:
        """The key is in no repr, dump, log record or error, even one quoting it back."""
        if not self._key_env():
            pytest.skip(f"{self.provider} registers no key variable (key_env)")
        echoed = f"Incorrect API key provided: {CANARY_KEY}"
        with capture_logs() as logs:
            llm, _ = self.served(self.reply(ANSWER))
            call_endpoint(llm, "chat", "Hi")
            failing, _ = self.served(self.error_reply(401, echoed), max_retries=0)
            with pytest.raises(AuthenticationError) as info:
                call_endpoint(failing, endpoint, "Hi")
        shown = {
            "repr": repr(llm),
            "str": str(llm),
            "model_dump": repr(llm.model_dump()),
            "model_dump_json": llm.model_dump_json(),
        }
        for where, text in shown.items():
            assert CANARY_KEY not in text, f"the key is in the LLM's {where}"
        for text in error_texts(info.value):
            assert CANARY_KEY not in text, f"the key is in the error: {text[:200]}"
        for text in logs.texts():
            assert CANARY_KEY not in text, f"the key is in a log record: {text[:200]}"

    # -- async ------------------------------------------------------------------------------

    @pytest.mark.parametrize("endpoint", ["achat", "astream_chat"])
    def test_async_never_blocks_the_event_loop(self, endpoint: str) -> None:
        """Async endpoints use the async client, and wait without holding the loop."""
        stream = endpoint == "astream_chat"
        go_on = asyncio.Event() if stream else None
        if stream:
            reply = self.stream_reply(split_deltas(LONG_TEXT))
            items = list(reply.body)
            # the stream waits, mid-way, for another task to let it go on
            reply = Reply(reply.status, body=[items[0], Stall(go_on), *items[1:]])
        else:
            reply = self.reply(ANSWER)
        llm, server = self.served(reply)
        asyncio.run(self._run_beside(llm, endpoint, go_on))
        assert server.blocking == [], (
            f"{endpoint} sent {server.blocking} with the sync client on the event loop's "
            f"thread: it blocks every other task"
        )

    async def _run_beside(self, llm: LLM, endpoint: str, go_on: asyncio.Event | None) -> None:
        async def release() -> None:
            if go_on is not None:
                go_on.set()

        messages = [ChatMessage(role=MessageRole.USER, content="Count.")]
        helper = asyncio.create_task(release())
        if endpoint == "achat":
            await llm.achat(messages)
        else:
            async for _ in await llm.astream_chat(messages):
                pass
        await helper
