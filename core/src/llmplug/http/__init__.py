"""The HTTP layer for providers: subclass :class:`HTTPChatLLM`, write pure functions.

An API with a completion endpoint of its own subclasses :class:`HTTPCompletionLLM`.

Imported only by HTTP providers; ``import llmplug`` never imports it, and importing it
does not import httpx2 (that happens on the first request). Names are imported on first
use: a chat provider does not pay for the completion base class or the stream decoders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "ChunkResult": "llmplug.http._base",
    "HTTPCompletionLLM": "llmplug.http._completion",
    "DEFAULT_LIMITS": "llmplug.http._config",
    "DEFAULT_RETRY_POLICY": "llmplug.http._config",
    "DEFAULT_TIMEOUT": "llmplug.http._config",
    "Limits": "llmplug.http._config",
    "RetryPolicy": "llmplug.http._config",
    "Timeout": "llmplug.http._config",
    "STREAM_END": "llmplug.http._contract",
    "HTTPRequest": "llmplug.http._contract",
    "OutgoingRequest": "llmplug.http._signing",
    "ServerEvent": "llmplug.http._contract",
    "StreamDecoder": "llmplug.http._contract",
    "StreamEnd": "llmplug.http._contract",
    "json_from_text": "llmplug.http._contract",
    "json_loads": "llmplug.http._contract",
    "multipart_form": "llmplug.http._contract",
    "path_segment": "llmplug.http._contract",
    "parse_retry_after": "llmplug.http._errors",
    "Clock": "llmplug.http._retry",
    "HTTPChatLLM": "llmplug.http._runtime",
    "NDJSONDecoder": "llmplug.http._sse",
    "SSEDecoder": "llmplug.http._sse",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.http._base import (
        ChunkResult as ChunkResult,
    )
    from llmplug.http._completion import (
        HTTPCompletionLLM as HTTPCompletionLLM,
    )
    from llmplug.http._config import (
        DEFAULT_LIMITS as DEFAULT_LIMITS,
        DEFAULT_RETRY_POLICY as DEFAULT_RETRY_POLICY,
        DEFAULT_TIMEOUT as DEFAULT_TIMEOUT,
        Limits as Limits,
        RetryPolicy as RetryPolicy,
        Timeout as Timeout,
    )
    from llmplug.http._contract import (
        STREAM_END as STREAM_END,
        HTTPRequest as HTTPRequest,
        ServerEvent as ServerEvent,
        StreamDecoder as StreamDecoder,
        StreamEnd as StreamEnd,
        json_from_text as json_from_text,
        json_loads as json_loads,
        multipart_form as multipart_form,
        path_segment as path_segment,
    )
    from llmplug.http._errors import (
        parse_retry_after as parse_retry_after,
    )
    from llmplug.http._retry import (
        Clock as Clock,
    )
    from llmplug.http._runtime import (
        HTTPChatLLM as HTTPChatLLM,
    )
    from llmplug.http._signing import (
        OutgoingRequest as OutgoingRequest,
    )
    from llmplug.http._sse import (
        NDJSONDecoder as NDJSONDecoder,
        SSEDecoder as SSEDecoder,
    )
