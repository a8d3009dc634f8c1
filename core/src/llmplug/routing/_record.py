"""What a route did for one call: each attempt, its outcome and why.

The record is on the answer (``response.additional_kwargs["llmplug_route"]``; for a
stream, on its first chunk), in ``call.state["llmplug.routing"]`` for the hooks that
see the route's own call end, and on an :class:`~llmplug.errors.AllModelsFailedError`
(``attempts``). While a route calls one of its models, :func:`current_attempt` tells
the hooks of that model's call which attempt it is.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "RESPONSE_KEY",
    "STATE_KEY",
    "Outcome",
    "RouteAttempt",
    "RouteRecord",
    "current_attempt",
]

#: Where the record is on an answer: ``response.additional_kwargs[RESPONSE_KEY]``.
RESPONSE_KEY = "llmplug_route"
#: Where the record is for hooks: ``call.state[STATE_KEY]`` of the route's own call.
STATE_KEY = "llmplug.routing"

Outcome = Literal["ok", "failed", "skipped", "stopped", "cancelled", "running"]


@dataclass(slots=True)
class RouteAttempt:
    """One model a route tried, or passed over.

    Attributes:
        route: The route's name.
        index: The attempt's position in this call (0 first).
        model: The model's name in the route.
        outcome: ``"ok"`` (it answered), ``"failed"`` (an error the route moved on
            for), ``"skipped"`` (passed over without a call), ``"stopped"`` (an error
            that ended the call), ``"cancelled"`` (the caller went away), or
            ``"running"``.
        reason: Why it failed or was passed over (``"rate_limit"``, ``"timeout"``,
            ``"cooldown"``, ``"client_rate_limit"``, ``"budget"``...); for the first
            attempt of a balancer, the strategy that chose it.
        error: The error, as ``"Type: message"``.
        probe: It was the half-open probe of a deployment cooling down.
        waited: Seconds waited for a client-side rate limit before the call.
        latency: Seconds the call took (streams: to the first chunk).
        inner: The record of the model's own route, when the model is itself a route.
    """

    route: str
    index: int
    model: str
    outcome: Outcome = "running"
    reason: str | None = None
    error: str | None = None
    probe: bool = False
    waited: float = 0.0
    latency: float | None = None
    inner: RouteRecord | None = None


@dataclass(slots=True)
class RouteRecord:
    """Everything a route did for one call.

    Attributes:
        route: The route's name.
        kind: ``"fallback"``, ``"balance"`` or ``"limit"``.
        strategy: How models were ordered (``"order"``, ``"round_robin"``...).
        endpoint: The endpoint called (``"chat"``, ``"astream_complete"``...).
        attempts: Every attempt, in order.
        model: The model that answered, once one did.
    """

    route: str
    kind: str
    strategy: str
    endpoint: str
    attempts: list[RouteAttempt] = field(default_factory=list)
    model: str | None = None

    def start(self, model: str) -> RouteAttempt:
        """Record a new attempt on ``model``."""
        attempt = RouteAttempt(self.route, len(self.attempts), model)
        self.attempts.append(attempt)
        return attempt

    def skip(self, model: str, reason: str, error: str | None = None) -> RouteAttempt:
        """Record that ``model`` was passed over."""
        attempt = self.start(model)
        attempt.outcome, attempt.reason, attempt.error = "skipped", reason, error
        return attempt

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data (JSON-ready)."""
        return asdict(self)

    def summary(self) -> str:
        """One line: each attempt as ``model: outcome (reason)``."""
        parts = []
        for a in self.attempts:
            why = f" ({a.reason})" if a.reason and a.outcome != "ok" else ""
            parts.append(f"{a.model}: {a.outcome}{why}")
        return f"{self.route}: " + ", ".join(parts)


_ATTEMPT: ContextVar[RouteAttempt | None] = ContextVar("llmplug_route_attempt", default=None)


def current_attempt() -> RouteAttempt | None:
    """The route attempt being made now, for the hooks of a routed model's call.

    A route calls each model through its ordinary endpoint, so the model's own hooks
    fire for every attempt; in its ``before_call`` a hook reads here which route, which
    attempt and which model this is. ``None`` outside a route's call to a model.
    """
    return _ATTEMPT.get()
