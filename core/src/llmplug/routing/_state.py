"""The routing state of the process: deployment health, rate limits, budgets, rotations.

Every route in the process shares it, keyed by name, so that two LLMs loaded from the
same config string -- or two routes naming the same model -- see one cooldown, one
rate limit and one budget. Tests swap in a fresh state (with a fake clock) through
:func:`set_routing_state`.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from llmplug.routing._health import DeploymentHealth
from llmplug.routing._limits import BudgetState, Clock, RateLimiter, shared

__all__ = ["SYSTEM_CLOCK", "Rotation", "RoutingState", "routing_state", "set_routing_state"]


class _SystemClock:
    """The real clock."""

    # the C functions themselves: read on every routed call
    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    async def asleep(self, seconds: float) -> None:
        import asyncio  # lazy for lightness; already loaded, since a loop runs this

        await asyncio.sleep(seconds)


#: The real clock.
SYSTEM_CLOCK: Clock = _SystemClock()


class Rotation:
    """Smooth weighted round-robin over a route's models (nginx's algorithm).

    Each pick adds every candidate's weight to its running score and takes the highest,
    then lowers that one by the candidates' total: over any run of picks each model is
    chosen in proportion to its weight, and never in long streaks.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scores: dict[int, float] = {}

    def pick(self, weights: list[tuple[int, float]]) -> int:
        """Choose among ``(index, weight)`` candidates; returns the index chosen."""
        with self._lock:
            total = 0.0
            best = -1
            best_score = float("-inf")
            for index, weight in weights:
                score = self._scores.get(index, 0.0) + weight
                self._scores[index] = score
                total += weight
                if score > best_score:
                    best, best_score = index, score
            self._scores[best] -= total
            return best


class RoutingState:
    """Health, rate limits, budgets and rotations of every route in the process.

    Args:
        clock: Where time is read and waited on (tests pass
            ``llmplug.http.testing.FakeClock()``); the real clock by default.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self._lock = threading.Lock()
        self._health: dict[str, DeploymentHealth] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self._budgets: dict[str, BudgetState] = {}
        self._rotations: dict[str, Rotation] = {}

    def health(self, name: str) -> DeploymentHealth:
        """The health of deployment ``name`` (created on first use)."""
        found = self._health.get(name)
        if found is None:
            with self._lock:
                found = self._health.setdefault(name, DeploymentHealth(name, self.clock))
        return found

    def rotation(self, route: str) -> Rotation:
        """The round-robin state of route ``route`` (created on first use)."""
        found = self._rotations.get(route)
        if found is None:
            with self._lock:
                found = self._rotations.setdefault(route, Rotation())
        return found

    def limiter(
        self, name: str, *, rpm: float | None, tpm: float | None, burst: float = 1.0
    ) -> RateLimiter:
        """The rate limit called ``name``, declared here on first use.

        Raises:
            ConfigError: ``name`` was declared before with other values.
        """
        return shared(  # type: ignore[no-any-return]
            self._limiters,
            self._lock,
            name,
            (rpm, tpm, burst),
            lambda: RateLimiter(name, rpm=rpm, tpm=tpm, burst=burst, clock=self.clock),
            "rate limit",
        )

    def budget(
        self,
        name: str,
        *,
        max_tokens: int | None,
        max_cost: float | None,
        period: float | None = None,
    ) -> BudgetState:
        """The budget called ``name``, declared here on first use.

        Raises:
            ConfigError: ``name`` was declared before with other values.
        """
        return shared(  # type: ignore[no-any-return]
            self._budgets,
            self._lock,
            name,
            (max_tokens, max_cost, period),
            lambda: BudgetState(
                name, max_tokens=max_tokens, max_cost=max_cost, period=period, clock=self.clock
            ),
            "budget",
        )

    def snapshot(self) -> dict[str, Any]:
        """What the state holds now, for a status page or a log line.

        Returns:
            ``{"deployments": {name: {...}}, "limits": {...}, "budgets": {...}}``.
        """
        now = self.clock.monotonic()
        deployments = {
            name: {
                "state": "open"
                if now < h.open_until
                else ("half-open" if h.open_until else "closed"),
                "in_flight": h.in_flight,
                "failures": h.failures,
                "cooldown_left": max(0.0, h.open_until - now),
                "latency": h.latency(float("inf")),
            }
            for name, h in list(self._health.items())
        }
        limits = {
            name: {"rpm": lim.rpm, "tpm": lim.tpm, "burst": lim.burst}
            for name, lim in list(self._limiters.items())
        }
        budgets = {
            name: {
                "tokens": b.tokens,
                "cost": b.cost,
                "max_tokens": b.max_tokens,
                "max_cost": b.max_cost,
            }
            for name, b in list(self._budgets.items())
        }
        return {"deployments": deployments, "limits": limits, "budgets": budgets}


_state: RoutingState | None = None
_state_lock = threading.Lock()


def routing_state() -> RoutingState:
    """The process-wide routing state (created on first use)."""
    global _state
    if _state is None:
        with _state_lock:
            if _state is None:
                _state = RoutingState()
    return _state


def set_routing_state(state: RoutingState | None) -> RoutingState | None:
    """Swap the process-wide routing state (tests); returns the previous one.

    Routes read the state on every call, so the swap applies to routes already built.
    """
    global _state
    with _state_lock:
        previous, _state = _state, state
    return previous
