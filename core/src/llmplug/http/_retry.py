"""The retry decision both request loops (sync and async) share, and the clock they use.

The loops themselves are tiny: try an attempt, turn what went wrong into a
:class:`Failure`, ask :meth:`Retries.next_wait` how long to wait (``None``: give up,
raise ``failure.error``), wait on the :class:`Clock`, go again.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmplug.http._config import DEFAULT_RETRY_POLICY, RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from llmplug.errors import LLMError

__all__ = ["RETRYABLE_STATUSES", "Clock", "Failure", "Retries", "status_is_retryable"]

#: Statuses retried unless the server says ``x-should-retry: false`` (and >= 500).
RETRYABLE_STATUSES = frozenset({408, 409, 429})


class Clock:
    """Time as the HTTP runtime reads it and waits on it.

    Pass a fake one (``HTTPChatLLM(clock=...)``) to test retries and deadlines without
    real waiting: override all five methods.
    """

    def monotonic(self) -> float:
        """Seconds on a monotonic clock (deadlines)."""
        return time.monotonic()

    def time(self) -> float:
        """Wall-clock seconds since the epoch (``retry-after`` HTTP dates)."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (between sync attempts)."""
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking the event loop (between async attempts)."""
        import asyncio

        await asyncio.sleep(seconds)

    def random(self) -> float:
        """A random number in ``[0, 1)`` (the backoff jitter)."""
        return random.random()


#: The real clock.
SYSTEM_CLOCK = Clock()


def status_is_retryable(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a response with this status is worth another attempt.

    ``x-should-retry: true``/``false`` decides when present; otherwise 408, 409, 429 and
    every status from 500 (529 "overloaded" included) are retried.
    """
    hint = headers.get("x-should-retry")
    if hint is not None:
        hint = hint.strip().lower()
        if hint == "true":
            return True
        if hint == "false":
            return False
    return status in RETRYABLE_STATUSES or status >= 500


@dataclass(slots=True)
class Failure:
    """One failed attempt.

    Attributes:
        error: The error the caller gets if there is no further attempt.
        retryable: Whether another attempt may succeed.
        retry_after: The wait the server asked for (seconds), if it asked.
    """

    error: LLMError
    retryable: bool
    retry_after: float | None = None


class Retries:
    """The retry budget of one call and the decision made after each failure.

    Args:
        max_retries: Attempts allowed after the first.
        deadline: ``clock.monotonic()`` value the call must end by (``None``: none).
        clock: The clock to read.
        policy: The backoff policy.
        where: Says which request this is, for the log (``POST https://...``, redacted).
    """

    __slots__ = ("clock", "deadline", "max_retries", "policy", "retries", "where")

    def __init__(
        self,
        *,
        max_retries: int,
        deadline: float | None,
        clock: Clock,
        policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        where: Callable[[], str] = lambda: "the request",
    ) -> None:
        self.max_retries = max_retries
        self.deadline = deadline
        self.clock = clock
        self.policy = policy
        self.where = where
        self.retries = 0

    def remaining(self) -> float | None:
        """Seconds left before the deadline (``None``: no deadline; may be <= 0)."""
        if self.deadline is None:
            return None
        return self.deadline - self.clock.monotonic()

    def next_wait(self, failure: Failure) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to raise ``failure.error``.

        No retry when the failure is not retryable, the budget is spent, the server asks
        for longer than ``policy.max_retry_after``, or the wait would pass the deadline.
        """
        if not failure.retryable or self.retries >= self.max_retries:
            return None
        if failure.retry_after is not None:
            if failure.retry_after > self.policy.max_retry_after:
                return None
            wait = failure.retry_after
        else:
            wait = self.policy.backoff(self.retries, self.clock.random())
        if self.deadline is not None and self.clock.monotonic() + wait >= self.deadline:
            return None
        self.retries += 1
        _log_retry(self, wait, failure.error)
        return wait


def _log_retry(retries: Retries, wait: float, error: LLMError) -> None:
    import logging

    logger = logging.getLogger("llmplug.http")
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "retrying %s in %.2f s (retry %d of %d) after %s: %s",
            retries.where(),
            wait,
            retries.retries,
            retries.max_retries,
            type(error).__name__,
            error,
        )
