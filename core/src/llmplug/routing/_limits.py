"""Client-side rate limits (requests and tokens per minute) and budgets.

**Why our own token bucket.** The limit must be one count shared by every caller in the
process, sync and async alike: a sync caller sleeps, an async one awaits, and both draw
on the same bucket. It must take a weight (the tokens of a request), give tokens back
once the real usage is known (the estimate made before the call is corrected after
it), and tell a caller how long it would wait, so that it can fail fast or try another
model instead. ``aiolimiter`` is async only; ``limits`` keeps separate storages for its
sync and async APIs (no shared count) and only says yes or no (the caller would poll);
``pyrate-limiter`` stores one entry per unit of weight (a 100,000 tokens-per-minute
limit would hold that many entries) and cannot give tokens back. None fits, so this
module holds a small token bucket (:class:`TokenBucket`), driven under one lock per
limit by :class:`RateLimiter`.

A bucket lends on credit: a caller takes what it needs at once (the level may go below
zero) and waits until the debt is repaid at the bucket's rate, so waiting callers are
served in the order they came and nobody polls.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from llmplug.errors import BudgetExceededError, ConfigError

__all__ = [
    "BudgetState",
    "Clock",
    "RateLimiter",
    "Reservation",
    "TokenBucket",
    "parse_period",
]


class Clock(Protocol):
    """What routing reads time from (``llmplug.http.testing.FakeClock`` fits)."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking the event loop."""
        ...


class TokenBucket:
    """A token bucket that lends: ``level`` may go below zero, and is repaid at ``rate``.

    Not thread-safe by itself: :class:`RateLimiter` holds the lock.

    Args:
        rate: Tokens added per second.
        capacity: The most the bucket holds (what may be used at once).
        now: The clock's time at creation; the bucket starts full.
    """

    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.level = capacity
        self.updated = now

    def refill(self, now: float) -> None:
        """Add what the rate gave since the last look, up to the capacity."""
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
            self.updated = now

    def wait(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` could be taken without debt (0: now)."""
        self.refill(now)
        missing = amount - self.level
        return missing / self.rate if missing > 0 else 0.0

    def take(self, amount: float, now: float) -> None:
        """Take ``amount`` (the level may go below zero: a debt repaid at ``rate``)."""
        self.refill(now)
        self.level -= amount

    def give(self, amount: float, now: float) -> None:
        """Give ``amount`` back (an estimate that was too high), up to the capacity."""
        self.refill(now)
        self.level = min(self.capacity, self.level + amount)


@dataclass(slots=True)
class Reservation:
    """What one call took from a :class:`RateLimiter`.

    Attributes:
        limiter: The limiter it came from.
        tokens: The tokens taken (the estimate).
        wait: Seconds the caller must wait before sending.
    """

    limiter: RateLimiter
    tokens: int
    wait: float

    def settle(self, actual: int | None) -> None:
        """Correct the tokens taken with the real usage (``None``: keep the estimate)."""
        if actual is not None and actual != self.tokens:
            self.limiter.correct(self.tokens, actual)
            self.tokens = actual

    def cancel(self, *, sent: bool) -> None:
        """Undo the reservation: the call was not made (or failed without using tokens).

        Args:
            sent: The request reached the API: it still counts as a request, but its
                tokens are given back (a failed request uses none).
        """
        self.limiter.release(self.tokens, request=not sent)
        self.tokens = 0


class RateLimiter:
    """Requests and tokens per minute for one model spec or group, shared in the process.

    Args:
        name: The limit's name (a model spec or a group), for errors and logs.
        rpm: Requests per minute (``None``: no request limit).
        tpm: Tokens per minute (``None``: no token limit).
        burst: Seconds of the rate that may be used at once (the buckets' size): 1
            spreads calls evenly, 60 lets a whole minute's worth go at once.
        clock: Where time is read.
    """

    def __init__(
        self,
        name: str,
        *,
        rpm: float | None,
        tpm: float | None,
        burst: float,
        clock: Clock,
    ) -> None:
        self.name = name
        self.rpm = rpm
        self.tpm = tpm
        self.burst = burst
        self.clock = clock
        self._monotonic = clock.monotonic
        self._lock = threading.Lock()
        now = clock.monotonic()
        self._requests = TokenBucket(rpm / 60.0, max(1.0, rpm / 60.0 * burst), now) if rpm else None
        self._tokens = TokenBucket(tpm / 60.0, max(1.0, tpm / 60.0 * burst), now) if tpm else None

    @property
    def settings(self) -> tuple[float | None, float | None, float]:
        """``(rpm, tpm, burst)``: what a second declaration of this limit must repeat."""
        return (self.rpm, self.tpm, self.burst)

    @property
    def counts_tokens(self) -> bool:
        """Whether this limit has a token budget (calls then estimate their tokens)."""
        return self._tokens is not None

    def reserve(self, tokens: int, max_wait: float | None) -> Reservation | float:
        """Take one request and ``tokens`` if the wait is at most ``max_wait``.

        Returns:
            The :class:`Reservation` (wait its ``wait`` before sending), or, when the
            wait would be longer than ``max_wait``, that wait (nothing is taken).
        """
        # the buckets' arithmetic is written out: this runs before every limited call
        requests, counted = self._requests, self._tokens
        with self._lock:
            now = self._monotonic()
            wait = 0.0
            if requests is not None:
                level = requests.level
                if now > requests.updated:
                    level = min(requests.capacity, level + (now - requests.updated) * requests.rate)
                    requests.level, requests.updated = level, now
                if level < 1.0:
                    wait = (1.0 - level) / requests.rate
            if counted is not None:
                level = counted.level
                if now > counted.updated:
                    level = min(counted.capacity, level + (now - counted.updated) * counted.rate)
                    counted.level, counted.updated = level, now
                if level < tokens:
                    wait = max(wait, (tokens - level) / counted.rate)
            if max_wait is not None and wait > max_wait:
                return wait
            if requests is not None:
                requests.level -= 1.0
            if counted is not None:
                counted.level -= tokens
        return Reservation(self, tokens if counted is not None else 0, wait)

    def available(self) -> tuple[float | None, float | None]:
        """``(requests, tokens)`` that could be taken now (``None``: not limited).

        Negative while callers wait: the debt they took is still being repaid.
        """
        with self._lock:
            now = self._monotonic()
            levels: list[float | None] = []
            for bucket in (self._requests, self._tokens):
                if bucket is None:
                    levels.append(None)
                else:
                    bucket.refill(now)
                    levels.append(bucket.level)
        return levels[0], levels[1]

    def correct(self, estimated: int, actual: int) -> None:
        """Replace an estimate with the real token count (give back or take more)."""
        bucket = self._tokens
        if bucket is None:
            return
        with self._lock:
            # as in reserve(): refill, then add the difference (capped when giving back)
            now = self._monotonic()
            level = bucket.level
            if now > bucket.updated:
                level = min(bucket.capacity, level + (now - bucket.updated) * bucket.rate)
                bucket.updated = now
            level += estimated - actual
            bucket.level = min(bucket.capacity, level) if actual < estimated else level

    def release(self, tokens: int, *, request: bool) -> None:
        """Give back ``tokens`` (and the request, if ``request``) of a call not made."""
        with self._lock:
            now = self.clock.monotonic()
            if request and self._requests is not None:
                self._requests.give(1, now)
            if tokens and self._tokens is not None:
                self._tokens.give(tokens, now)

    def __repr__(self) -> str:
        return f"RateLimiter({self.name!r}, rpm={self.rpm}, tpm={self.tpm}, burst={self.burst})"


_PERIOD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_period(value: Any) -> float | None:
    """Seconds from ``3600``, ``"3600"``, ``"30s"``, ``"15m"``, ``"1h"``, ``"1d"``, ``"1w"``.

    Raises:
        ValueError: Anything else (the message shows what is accepted).
    """
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _PERIOD.match(str(value)) if isinstance(value, str) else None
        if match is None:
            raise ValueError(
                f"a budget period is seconds or a number with a unit (30s, 15m, 1h, 1d, 1w), "
                f"not {value!r}"
            )
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a budget period must be a positive duration, not {value!r}")
    return seconds


class BudgetState:
    """What a model (or group) has spent, against its budget, shared in the process.

    Checked before each call; calls already in flight when it is reached still finish
    (and count), so a budget may be passed by what they use.

    Args:
        name: The budget's name (a model spec or a group).
        max_tokens: Total tokens allowed (``None``: no token budget).
        max_cost: Total cost allowed, in the currency of the prices (``None``: none).
        period: Seconds after which spending starts again from zero (``None``: never).
        clock: Where time is read.
    """

    def __init__(
        self,
        name: str,
        *,
        max_tokens: int | None,
        max_cost: float | None,
        period: float | None,
        clock: Clock,
    ) -> None:
        self.name = name
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.period = period
        self.clock = clock
        self._lock = threading.Lock()
        self._start = clock.monotonic()
        self.tokens = 0
        self.cost = 0.0

    @property
    def settings(self) -> tuple[int | None, float | None, float | None]:
        """``(max_tokens, max_cost, period)``: what a second declaration must repeat."""
        return (self.max_tokens, self.max_cost, self.period)

    def _roll(self, now: float) -> None:
        if self.period is not None and now - self._start >= self.period:
            periods = (now - self._start) // self.period
            self._start += periods * self.period
            self.tokens = 0
            self.cost = 0.0

    def exceeded(self, route: str = "") -> BudgetExceededError | None:
        """The error to raise if the budget is used up, else ``None``."""
        with self._lock:
            now = self.clock.monotonic()
            self._roll(now)
            if self.max_tokens is not None and self.tokens >= self.max_tokens:
                spent, limit, unit = float(self.tokens), float(self.max_tokens), "tokens"
            elif self.max_cost is not None and self.cost >= self.max_cost:
                spent, limit, unit = self.cost, self.max_cost, "cost"
            else:
                return None
            reset = None if self.period is None else self._start + self.period - now
        again = f"; it starts again in {reset:.0f} s" if reset is not None else ""
        shown = (
            f"{spent:g} of {limit:g} tokens" if unit == "tokens" else f"{spent:.4g} of {limit:g}"
        )
        return BudgetExceededError(
            f"budget {self.name!r} is used up ({shown}){again}; raise it or wait",
            budget=self.name,
            spent=spent,
            limit=limit,
            unit=unit,
            route=route,
            retry_after=reset,
        )

    def add(self, tokens: int, cost: float) -> None:
        """Count a finished call's tokens and cost."""
        with self._lock:
            self._roll(self.clock.monotonic())
            self.tokens += tokens
            self.cost += cost

    def __repr__(self) -> str:
        return (
            f"BudgetState({self.name!r}, tokens={self.tokens}/{self.max_tokens}, "
            f"cost={self.cost:.4g}/{self.max_cost})"
        )


def shared(
    table: dict[str, Any],
    lock: threading.Lock,
    name: str,
    settings: tuple[Any, ...],
    make: Callable[[], Any],
    what: str,
) -> Any:
    """The process-wide object called ``name`` in ``table``, made on first use.

    Raises:
        ConfigError: ``name`` was declared before with other settings.
    """
    existing = table.get(name)
    if existing is None:
        with lock:
            existing = table.get(name)
            if existing is None:
                existing = table[name] = make()
                return existing
    if existing.settings != settings:
        raise ConfigError(
            f"{what} {name!r} is already declared in this process with {existing.settings}; "
            f"this declaration says {settings}. Declare it once with the same values, or give "
            f"one of them another name (group=... on a route, name=... on a model)"
        )
    return existing
