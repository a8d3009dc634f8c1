"""Fixtures every provider plugin's tests share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from llmplug import ChatMessage
from llmplug.http import HTTPChatLLM, HTTPRequest


@pytest.fixture
def build(check_body: Callable[[Any], Any]) -> Callable[..., HTTPRequest]:
    """Build a request with ``llm`` and check its body (each plugin's ``check_body``).

    ``build(llm, messages, stream=False, **options)``; messages may be a str (one user
    message).
    """

    def run(
        llm: HTTPChatLLM,
        messages: str | Sequence[ChatMessage] = "Hi",
        *,
        stream: bool = False,
        **options: Any,
    ) -> HTTPRequest:
        if isinstance(messages, str):
            messages = [ChatMessage(role="user", content=messages)]
        request = llm.build_request(messages, options, stream=stream)
        check_body(request.json)
        return request

    return run
