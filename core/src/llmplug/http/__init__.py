"""The HTTP layer for providers: subclass :class:`HTTPChatLLM`, write pure functions.

An API with a completion endpoint of its own subclasses :class:`HTTPCompletionLLM`.

Imported only by HTTP providers; ``import llmplug`` never imports it, and importing it
does not import httpx2 (that happens on the first request).
"""

from __future__ import annotations

from llmplug.http._base import ChunkResult
from llmplug.http._completion import HTTPCompletionLLM
from llmplug.http._config import (
    DEFAULT_LIMITS,
    DEFAULT_RETRY_POLICY,
    DEFAULT_TIMEOUT,
    Limits,
    RetryPolicy,
    Timeout,
)
from llmplug.http._contract import (
    STREAM_END,
    HTTPRequest,
    OutgoingRequest,
    ServerEvent,
    StreamDecoder,
    StreamEnd,
    json_from_text,
    json_loads,
    multipart_form,
    path_segment,
)
from llmplug.http._errors import parse_retry_after
from llmplug.http._retry import Clock
from llmplug.http._runtime import HTTPChatLLM
from llmplug.http._sse import NDJSONDecoder, SSEDecoder

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_RETRY_POLICY",
    "DEFAULT_TIMEOUT",
    "STREAM_END",
    "ChunkResult",
    "Clock",
    "HTTPChatLLM",
    "HTTPCompletionLLM",
    "HTTPRequest",
    "Limits",
    "NDJSONDecoder",
    "OutgoingRequest",
    "RetryPolicy",
    "SSEDecoder",
    "ServerEvent",
    "StreamDecoder",
    "StreamEnd",
    "Timeout",
    "json_from_text",
    "json_loads",
    "multipart_form",
    "parse_retry_after",
    "path_segment",
]
