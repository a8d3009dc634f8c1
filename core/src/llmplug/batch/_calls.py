"""One row's call: tried again when another try may succeed, stopped when none can.

A row is one ``achat`` of the model (a route, with its fallbacks and rate limits, is an
ordinary model here). Each try is a whole call, with the model's own retry loop inside
it; the row is tried again only for errors that say "later" (the policy of
``llmplug.routing``: rate limits, overloaded or failing servers, timeouts, lost
connections, a route whose models are all cooling down or out of rate limit room),
after the wait the error asks for (``retry_after``) or a growing backoff. Errors that
every row would hit -- a wrong key, a missing model, a bad option, a budget used up --
stop the job (:func:`is_fatal`); any other error is that row's.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmplug.errors import (
    AuthenticationError,
    BudgetExceededError,
    ConfigError,
    NotFoundError,
    PermissionDeniedError,
    PluginLoadError,
)
from llmplug.routing._policy import fallback_reason
from llmplug.types._responses import Usage

if TYPE_CHECKING:
    from llmplug.llm._base import LLM
    from llmplug.types._messages import ChatMessage
    from llmplug.types._responses import ChatResponse

__all__ = [
    "MAX_BACKOFF",
    "RowOutcome",
    "acall_row",
    "answer_of",
    "call_target",
    "cost_of",
    "error_record",
    "is_fatal",
    "retry_wait",
]

#: The longest wait between two tries of a row, in seconds.
MAX_BACKOFF = 60.0
_FATAL = (
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    ConfigError,
    PluginLoadError,
    BudgetExceededError,
)


def is_fatal(error: BaseException) -> bool:
    """Whether ``error`` would fail every row alike: the job stops rather than record it.

    A wrong or missing key (401, 403), a model or endpoint that does not exist (404), a
    configuration error (an invalid option, an unknown provider), a plugin that does
    not load, and a budget that is used up.
    """
    return isinstance(error, _FATAL)


def retry_wait(attempt: int, error: BaseException, backoff: float) -> float:
    """Seconds to wait before try ``attempt + 1`` of a row that failed with ``error``.

    The error's ``retry_after`` when it says (a ``Retry-After`` header, a route's
    cooldown or rate limit), else ``backoff`` doubled each try, with jitter; at most
    :data:`MAX_BACKOFF`.
    """
    said = getattr(error, "retry_after", None)
    if isinstance(said, int | float) and said >= 0:
        return float(min(said, MAX_BACKOFF))
    wait = backoff * 2.0 ** (attempt - 1) * (0.5 + random.random() / 2)
    return min(wait, MAX_BACKOFF)


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What became of one row's call.

    Attributes:
        response: The answer, when the row succeeded.
        answer: What the output records: the text, or the validated object dumped as
            JSON data with ``output_cls``.
        error: The row's error, when it failed.
        attempts: How many tries it took.
    """

    response: ChatResponse | None = None
    answer: Any = None
    error: BaseException | None = None
    attempts: int = 1

    @property
    def usage(self) -> Usage | None:
        """The call's token usage, if the provider reported it."""
        return self.response.usage if self.response is not None else None


def answer_of(response: ChatResponse, output_cls: Any | None) -> Any:
    """The answer a row records: the text, or the structured object as JSON data."""
    if output_cls is None:
        return response.message.content or ""
    value: Any = response.raw
    if value is None:
        raise ValueError("the structured answer holds no object")
    if isinstance(value, list):
        return [item.model_dump(mode="json", by_alias=True) for item in value]
    return value.model_dump(mode="json", by_alias=True)


def cost_of(response: ChatResponse | None) -> float | None:
    """The call's cost, when something computed it (a cost plugin sets ``usage.cost``).

    ``None`` otherwise: llmplug itself knows no prices, and never guesses one.
    """
    usage = response.usage if response is not None else None
    cost = getattr(usage, "cost", None)
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        return float(cost)
    return None


def error_record(error: BaseException) -> dict[str, Any]:
    """The output's ``error`` object: the error's class, message and HTTP status."""
    record: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        record["status_code"] = status
    return record


def call_target(llm: LLM, output_cls: Any | None) -> LLM:
    """The LLM a row calls: ``llm``, or its structured form answering ``output_cls``."""
    return llm if output_cls is None else llm.as_structured_llm(output_cls)


async def acall_row(
    target: LLM,
    messages: Sequence[ChatMessage],
    *,
    output_cls: Any | None = None,
    retries: int = 2,
    backoff: float = 1.0,
) -> RowOutcome:
    """Call ``target`` for one row, trying again while another try may succeed.

    Args:
        target: The model (any LLM: a provider, a route), or with ``output_cls`` its
            structured form (:func:`call_target`), made once per job.
        messages: The row's messages.
        output_cls: The pydantic class (or ``list[cls]``) ``target`` answers with.
        retries: Tries after the first, for errors that say "later".
        backoff: The first wait, in seconds, when an error does not say how long.

    Returns:
        The outcome: the answer, or the last error.

    Raises:
        LLMError: An error every row would hit (:func:`is_fatal`).
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            response = await target.achat(messages)
        except Exception as exc:
            if is_fatal(exc):
                raise
            if attempt > retries or fallback_reason(exc) is None:
                return RowOutcome(error=exc, attempts=attempt)
            await asyncio.sleep(retry_wait(attempt, exc, backoff))
            continue
        try:
            answer = answer_of(response, output_cls)
        except (AttributeError, TypeError, ValueError) as exc:  # not the object asked for
            return RowOutcome(error=exc, attempts=attempt)
        return RowOutcome(response=response, answer=answer, attempts=attempt)
