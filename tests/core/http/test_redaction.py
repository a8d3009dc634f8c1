"""The redaction pieces on their own: secret forms, header pairs in log text, scrubbing an
exception chain, and the log filter reaching loggers created after it was installed."""

from __future__ import annotations

import logging
import pickle
import traceback
from typing import Any

import pytest

from llmplug._secrets import REDACTED, redact_header_pairs, redact_text, secret_forms, url_secrets
from llmplug.errors import APIConnectionError, APIStatusError
from llmplug.http._auth import split_credentials
from llmplug.http._errors import RedactedError, redacted_excerpt, scrub_error
from llmplug.http.testing import Reply

from .conftest import CANARY, HI, Make


def test_secret_forms_cover_a_trailing_newline() -> None:
    forms = secret_forms(f"{CANARY}\n")
    assert CANARY in forms
    assert f"{CANARY}\\n" in forms  # as an exception quoting the header shows it
    assert redact_text(f"Illegal header value b'Bearer {CANARY}\\n'", [f"{CANARY}\n"]) == (
        f"Illegal header value b'Bearer {REDACTED}'"
    )


def test_short_secrets_are_not_redacted() -> None:
    # a 3-character "secret" would redact every "abc" in a message
    assert redact_text("abc abc", ["abc"]) == "abc abc"


def test_url_secrets_and_basic_auth() -> None:
    found = url_secrets("https://svc-user:pa%40ss-word@h.test/v1?key=query-key&alt=sse")
    assert "pa@ss-word" in found
    assert "svc-user:pa@ss-word" in found
    assert "query-key" in found
    assert "sse" not in found
    url, basic = split_credentials("https://svc-user:pa%40ss-word@h.test/v1")
    assert url == "https://h.test/v1"
    assert basic is not None
    assert basic.split()[1] in found


def test_header_pairs_in_log_text() -> None:
    text = (
        "receive_response_headers.complete return_value=(b'HTTP/1.1', 200, b'OK', "
        "[(b'Content-Type', b'application/json'), (b'Set-Cookie', b'id=abc; Path=/'), "
        "(b'X-Api-Key', b'k-123'), ('authorization', 'Bearer t-1')])"
    )
    redacted = redact_header_pairs(text)
    assert "(b'Set-Cookie', b'<redacted>')" in redacted
    assert "(b'X-Api-Key', b'<redacted>')" in redacted
    assert "('authorization', '<redacted>')" in redacted
    assert "(b'Content-Type', b'application/json')" in redacted


def test_excerpt_is_redacted_before_it_is_cut() -> None:
    text = "x" * 295 + CANARY
    assert CANARY[:5] not in redacted_excerpt(text, [CANARY])
    assert len(redacted_excerpt(text, [CANARY])) == 300


class Opaque(Exception):
    """An exception whose text comes from an attribute ``args`` cannot change."""

    def __init__(self, value: str) -> None:
        super().__init__()
        self.__dict__["_hidden"] = value

    def __str__(self) -> str:
        return f"failed on {self._hidden[::-1][::-1]}"

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_hidden":
            raise AttributeError(name)
        super().__setattr__(name, value)


def test_scrub_reaches_the_whole_chain() -> None:
    root = UnicodeEncodeError("ascii", f"Bearer {CANARY}é", 0, 1, "bad")
    middle = ValueError(f"header value {CANARY!r}")
    middle.__context__ = root
    opaque = Opaque(CANARY)
    opaque.__cause__ = middle
    error = APIConnectionError(f"failed: {CANARY}", provider="p")
    error.__cause__ = opaque
    error.add_note(f"note {CANARY}")
    scrub_error(error, [CANARY])
    texts = ["".join(traceback.format_exception(error)), pickle.dumps(error).decode("latin-1")]
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None:
        chain.append(current)
        texts += [str(current), repr(current), repr(vars(current))]
        current = current.__cause__ or current.__context__
    assert all(CANARY not in text for text in texts)
    assert isinstance(chain[1], RedactedError)  # Opaque could not be changed: replaced
    assert "Opaque: failed on <redacted>" in str(chain[1])
    assert chain[2] is middle  # the rest of the chain is kept, redacted in place


def test_scrub_redacts_the_body_before_it_is_shown() -> None:
    error = APIStatusError(
        f"HTTP 400: {CANARY}", status_code=400, body={"echo": CANARY, "n": [f"x {CANARY}"]}
    )
    scrub_error(error, [CANARY])
    assert error.body == {"echo": REDACTED, "n": [f"x {REDACTED}"]}
    assert CANARY not in str(error)
    assert CANARY not in pickle.dumps(error).decode("latin-1")


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_loggers_created_later_get_the_filter(
    make: Make, run: Any, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    late = logging.getLogger("httpcore2.created-later")
    model, _ = make(Reply(200, json={"text": "ok"}))
    await run(model, mode, HI)  # a call notices the new logger
    with caplog.at_level(logging.DEBUG, logger="httpcore2.created-later"):
        late.debug("headers=[(b'set-cookie', b'sid=%s')] auth %s", CANARY, CANARY)
    (record,) = [r for r in caplog.records if r.name == "httpcore2.created-later"]
    assert CANARY not in record.getMessage()
    assert "(b'set-cookie', b'<redacted>')" in record.getMessage()
