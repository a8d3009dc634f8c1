"""Requests about models rather than chats: show, list, pull; and what is cached of them.

``/api/show`` answers are cached per server and model for the process (a model's
context length and capabilities do not change while it keeps its name); a pull drops
the model's entry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from llmplug.errors import APIError
from llmplug.http import HTTPRequest, Timeout
from llmplug_ollama._models import ModelDetails, PullProgress, parse_show

if TYPE_CHECKING:
    from llmplug_ollama._llm import OllamaLLM

__all__ = [
    "METADATA_TIMEOUT",
    "apull_events",
    "cached_details",
    "forget",
    "pull_events",
    "remember",
    "show_request",
    "tags_request",
]

logger = logging.getLogger("llmplug.ollama")

#: How long ``metadata`` waits for ``/api/show`` before using its offline default: a
#: property read should not hang on a server that is down.
METADATA_TIMEOUT = Timeout(connect=2.0, read=10.0, total=10.0)

_lock = threading.Lock()
_details: dict[tuple[str, str], ModelDetails] = {}


def cached_details(base_url: str, model: str) -> ModelDetails | None:
    """What ``/api/show`` said about ``model`` on that server, if it was asked."""
    return _details.get((base_url, model))


def remember(base_url: str, details: ModelDetails) -> ModelDetails:
    """Cache ``details`` for its model on that server."""
    with _lock:
        _details[(base_url, details.name)] = details
    return details


def forget(base_url: str, model: str) -> None:
    """Drop the cached details of ``model`` (it was pulled again)."""
    with _lock:
        _details.pop((base_url, model), None)


def show_request(model: str) -> HTTPRequest:
    """``POST /api/show`` for ``model``."""
    return HTTPRequest("/api/show", {"model": model})


def tags_request() -> HTTPRequest:
    """``GET /api/tags``: the models on the server."""
    return HTTPRequest("/api/tags", method="GET")


def details_from(model: str, data: Any) -> ModelDetails:
    """Parse a ``/api/show`` answer."""
    return parse_show(model, data)


def _pull_request(model: str) -> HTTPRequest:
    return HTTPRequest("/api/pull", {"model": model, "stream": True})


def _progress(llm: OllamaLLM, model: str, data: Any) -> PullProgress:
    if not isinstance(data, dict):
        raise APIError(
            f"the download of {model!r} sent {data!r}, not a progress object",
            provider=llm.provider_label,
            body=data,
        )
    if data.get("error"):
        raise llm.error_from_body(data)
    return PullProgress.from_event(model, data)


def _unfinished(llm: OllamaLLM, model: str, last: PullProgress | None) -> APIError:
    said = f" (last: {last.status!r})" if last is not None else ""
    return APIError(
        f"the download of {model!r} ended before the server said 'success'{said}; run "
        f"`ollama pull {model}` to see what went wrong",
        provider=llm.provider_label,
    )


def pull_events(llm: OllamaLLM, model: str) -> Iterator[PullProgress]:
    """Pull ``model``, yielding its progress events (see ``OllamaLLM.pull_model``)."""
    last: PullProgress | None = None
    for data in llm.stream_json(_pull_request(model)):
        last = _progress(llm, model, data)
        yield last
    if last is None or last.status != "success":
        raise _unfinished(llm, model, last)
    forget(llm.base_url, model)


async def apull_events(llm: OllamaLLM, model: str) -> AsyncIterator[PullProgress]:
    """Async :func:`pull_events`."""
    last: PullProgress | None = None
    async for data in llm.astream_json(_pull_request(model)):
        last = _progress(llm, model, data)
        yield last
    if last is None or last.status != "success":
        raise _unfinished(llm, model, last)
    forget(llm.base_url, model)


def report(llm: OllamaLLM, event: PullProgress) -> None:
    """Hand a progress event of an automatic pull to ``on_pull_progress``, and log it."""
    if logger.isEnabledFor(logging.INFO):
        done = f" {event.fraction:.0%}" if event.fraction is not None else ""
        logger.info("pulling %s: %s%s", event.model, event.status, done)
    if llm.on_pull_progress is not None:
        llm.on_pull_progress(event)
