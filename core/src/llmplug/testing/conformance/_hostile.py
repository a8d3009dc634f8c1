"""Hostile input and secrets: the HTTP suite's checks of what a server or a user sends.

A mixin of :class:`~llmplug.testing.conformance.HTTPProviderConformance`. The core's HTTP
layer guards every provider against these (``docs/security.md``); the checks make sure
a provider's own wire code does not undo it: a body of the wrong shape or nested too
deep is an llmplug error (never an empty answer or a ``RecursionError``), a key read
from a file keeps no newline, a key unfit for a header is refused without being shown,
a config string cannot set the transport, and a per-call ``max_retries`` is capped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from llmplug.errors import APIError, APIStatusError, ConfigError, InvalidOptionError
from llmplug.http.testing import Reply
from llmplug.testing.conformance._checks import CANARY_KEY, call_endpoint, error_texts
from llmplug.testing.conformance._suite import ANSWER

if TYPE_CHECKING:
    from llmplug.http._runtime import HTTPChatLLM
    from llmplug.http.testing import MockServer

__all__ = ["HostileInputChecks"]

_CALLS = ("chat", "achat", "stream_chat", "astream_chat")
_JSON = {"content-type": "application/json"}
#: 200 bodies that are JSON but not an answer object.
NOT_AN_OBJECT = {"null": b"null", "list": b"[]", "string": b'"hello"', "number": b"42"}
#: JSON nested deeper than any answer (and deeper than Python's recursion limit).
DEEP = b"[" * 5000 + b"]" * 5000
#: The most characters an error may take to quote a huge name.
LONGEST_MESSAGE = 2000


class HostileInputChecks:
    """Checks of :class:`HTTPProviderConformance` about hostile input (see the module)."""

    provider: str

    if TYPE_CHECKING:

        def served(self, *replies: Reply, **options: Any) -> tuple[HTTPChatLLM, MockServer]: ...
        def reply(self, text: str) -> Reply: ...
        def load(self, spec: str | None = None, **options: Any) -> Any: ...
        def _key_env(self) -> str | None: ...
        @property
        def spec(self) -> str: ...

    @pytest.mark.parametrize("body", sorted(NOT_AN_OBJECT))
    @pytest.mark.parametrize("endpoint", _CALLS)
    def test_a_body_that_is_not_an_object_is_an_error(self, body: str, endpoint: str) -> None:
        """A 200 whose JSON is ``null``, a list, text or a number is an APIError, not a reply."""
        reply = Reply(200, body=[NOT_AN_OBJECT[body]], headers=_JSON)
        llm, server = self.served(reply, max_retries=0)
        with pytest.raises(APIError) as info:
            call_endpoint(llm, endpoint, "Hi")
        assert info.value.provider == self.provider
        assert server.open_bodies == []

    @pytest.mark.parametrize("endpoint", _CALLS)
    def test_deeply_nested_json_is_an_error(self, endpoint: str) -> None:
        """A body nested thousands of levels deep is an APIError, never a RecursionError."""
        llm, server = self.served(Reply(200, body=[DEEP], headers=_JSON), max_retries=0)
        with pytest.raises(APIError) as info:
            call_endpoint(llm, endpoint, "Hi")
        assert info.value.provider == self.provider
        failing, _ = self.served(Reply(400, body=[DEEP], headers=_JSON), max_retries=0)
        with pytest.raises(APIStatusError) as status:
            call_endpoint(failing, endpoint, "Hi")
        assert status.value.status_code == 400
        assert server.open_bodies == []

    def test_a_key_read_with_a_newline_is_sent_without_it(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A key read from a file or a mounted secret, with its newline, is sent stripped."""
        key_env = self._key_env()
        if not key_env:
            pytest.skip(f"{self.provider} registers no key variable (key_env)")
        monkeypatch.setenv(key_env, f"{CANARY_KEY}\n")
        llm, server = self.served(self.reply(ANSWER))
        assert call_endpoint(llm, "chat", "Hi").text == ANSWER
        request = server.requests[0]
        sent = " ".join([str(request.url), *request.headers.values()])
        assert CANARY_KEY in sent, "the key was not sent"
        assert f"{CANARY_KEY}\n" not in sent

    @pytest.mark.parametrize("bad", ["\x07", "\r\n", "é"], ids=["control", "crlf", "non-ascii"])
    def test_a_key_unfit_for_a_header_is_refused_unseen(
        self, monkeypatch: pytest.MonkeyPatch, bad: str
    ) -> None:
        """A key holding a control or non-ASCII character is refused, without being shown."""
        key_env = self._key_env()
        if not key_env:
            pytest.skip(f"{self.provider} registers no key variable (key_env)")
        monkeypatch.setenv(key_env, f"{CANARY_KEY[:8]}{bad}{CANARY_KEY[8:]}")
        with pytest.raises(InvalidOptionError) as info:  # when loading: before any call
            self.served(self.reply(ANSWER))
        for text in error_texts(info.value):
            assert CANARY_KEY[8:] not in text, f"the key is in the error: {text[:200]}"

    @pytest.mark.parametrize("field", ["transport", "async_transport", "clock"])
    def test_a_config_string_cannot_set_internal_fields(self, field: str) -> None:
        """``?transport=...`` is refused when loading: internal fields are not options."""
        joiner = "&" if "?" in self.spec else "?"
        with pytest.raises(ConfigError):
            self.load(f"{self.spec}{joiner}{field}=anything")

    @pytest.mark.parametrize("endpoint", _CALLS)
    def test_per_call_max_retries_is_capped(self, endpoint: str) -> None:
        """``max_retries=1000`` on one call is refused, before any request."""
        llm, server = self.served(self.reply(ANSWER))
        with pytest.raises(InvalidOptionError):
            call_endpoint(llm, endpoint, "Hi", max_retries=1000)
        assert server.requests == []

    def test_a_huge_option_name_is_quoted_short(self) -> None:
        """An error quoting a 1 MB option name stays short."""
        joiner = "&" if "?" in self.spec else "?"
        with pytest.raises(ConfigError) as info:
            self.load(f"{self.spec}{joiner}{'x' * 1_000_000}=1")
        assert len(str(info.value)) < LONGEST_MESSAGE
