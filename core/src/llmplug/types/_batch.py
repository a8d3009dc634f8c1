"""Provider batch APIs: what is sent, the batch as the provider reports it, each result.

A provider with an asynchronous batch endpoint (OpenAI's Batch API, Anthropic's Message
Batches: half the price, answers within 24 hours) implements the optional batch methods
of :class:`~llmplug.LLM` with these types; ``llmplug batch --provider-batch`` drives them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from llmplug.errors import LLMError
from llmplug.types._base_model import Model
from llmplug.types._batch_limits import BatchLimits
from llmplug.types._messages import ChatMessage
from llmplug.types._responses import ChatResponse

__all__ = ["BatchLimits", "BatchRequest", "BatchResult", "ProviderBatch"]


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One chat call of a provider batch.

    Attributes:
        custom_id: The request's id, unique in its batch; each result carries it.
            Providers restrict it (Anthropic: 1 to 64 letters, digits, ``_`` and ``-``).
        messages: The messages, as for ``llm.chat(messages)`` (the LLM's system prompt
            is applied by the provider when building the request).
        options: Per-call options, as for ``llm.chat(messages, **options)``.
    """

    custom_id: str
    messages: Sequence[ChatMessage]
    options: Mapping[str, Any] = field(default_factory=dict)


class ProviderBatch(Model):
    """A batch as the provider reports it.

    Attributes:
        id: The provider's id of the batch (``batch_abc123``, ``msgbatch_01...``).
        provider: The provider name.
        status: The provider's own status (``validating``, ``in_progress``,
            ``completed``, ``expired``... for OpenAI; ``in_progress``, ``canceling``,
            ``ended`` for Anthropic).
        ended: Whether processing is over: results (of the requests that ran) can be
            read.
        requests: How many requests the batch holds (0 while the provider does not say).
        succeeded: How many have succeeded so far.
        failed: How many have failed so far (errors, and expired or cancelled requests
            once the batch ended).
        created_at: When it was created (Unix seconds), if known.
        expires_at: When the provider stops processing it (Unix seconds), if known.
        error: Why the whole batch failed (its input refused), if it did; no request ran.
        raw: The provider's batch object, as received (file ids, result URLs...).
    """

    id: str
    provider: str
    status: str
    ended: bool = False
    requests: int = 0
    succeeded: int = 0
    failed: int = 0
    created_at: float | None = None
    expires_at: float | None = None
    error: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)


#: What became of one request of a provider batch.
BatchOutcome = Literal["succeeded", "errored", "expired", "cancelled"]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The result of one request of a provider batch.

    Attributes:
        custom_id: The request's ``custom_id``.
        outcome: ``"succeeded"`` (``response`` is set), ``"errored"`` (``error`` is
            set), or ``"expired"`` / ``"cancelled"``: the request never ran (the batch
            expired, or was cancelled, first) and may be sent again.
        response: The answer, parsed as the provider's ``chat`` parses one.
        error: The request's error, of the class a ``chat`` call would raise for it
            (a 400 body is a ``BadRequestError``...).
    """

    custom_id: str
    outcome: BatchOutcome
    response: ChatResponse | None = None
    error: LLMError | None = None
