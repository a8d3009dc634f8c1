"""The health of one deployment: a circuit breaker, calls in flight, and its latency.

Shared by every route in the process that uses the deployment (keyed by its name).

The breaker is **closed** while calls succeed. ``failure_threshold`` failures in a row
(rate limits, server errors, timeouts, lost connections) **open** it for ``cooldown``
seconds -- at once for a rate limit whose ``Retry-After`` says how long, and then for at
least that long. Open, the deployment is passed over. Once the cooldown is over it is
**half-open**: one call (a probe) goes through while other callers keep passing it over;
the probe's success closes the breaker, its failure opens it again.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from llmplug.routing._limits import Clock
from llmplug.routing._policy import COOLDOWN, PROBE_IN_FLIGHT, RATE_LIMIT

__all__ = ["Admission", "DeploymentHealth"]

#: How much each new latency sample weighs in the moving average.
LATENCY_WEIGHT = 0.3


class Admission(NamedTuple):
    """Whether a call may go to a deployment now.

    Attributes:
        allowed: It may.
        probe: It is the half-open probe (its outcome closes or reopens the breaker).
        reason: Why not (``"cooldown"``, ``"probe_in_flight"``), when not allowed.
        retry_after: Seconds until the cooldown ends, when cooling down.
    """

    allowed: bool
    probe: bool = False
    reason: str | None = None
    retry_after: float | None = None


_ALLOWED = Admission(True)


class DeploymentHealth:
    """Circuit breaker, in-flight count and latency of one deployment.

    Thread- and task-safe: every change happens under one lock, never across an await.

    Attributes:
        name: The deployment's name.
        in_flight: Calls started and not yet ended.
        failures: Failures in a row.
        latency: Moving average of call latency (streams: time to the first chunk), in
            seconds; ``None`` until measured, or once older than ``latency_ttl``.
        last_error: The last failure, kept to say why the deployment is cooling down.
    """

    def __init__(self, name: str, clock: Clock) -> None:
        self.name = name
        self.clock = clock
        self._lock = threading.Lock()
        self.in_flight = 0
        self.failures = 0
        self.open_until = 0.0
        self.probing = False
        self._latency: float | None = None
        self._latency_at = 0.0
        self.last_error: BaseException | None = None

    @property
    def is_open(self) -> bool:
        """Whether the deployment is cooling down now."""
        return self.clock.monotonic() < self.open_until

    def latency(self, ttl: float) -> float | None:
        """The latency average, or ``None`` if never measured or older than ``ttl`` s."""
        if self._latency is None or self.clock.monotonic() - self._latency_at > ttl:
            return None
        return self._latency

    def admit(self) -> Admission:
        """Start a call if the breaker lets it through (counts it in flight).

        Every admitted call ends with :meth:`release`, after :meth:`succeeded` or
        :meth:`failed` when there is a verdict on the deployment.
        """
        with self._lock:
            if self.open_until:
                now = self.clock.monotonic()
                if now < self.open_until:
                    return Admission(False, reason=COOLDOWN, retry_after=self.open_until - now)
                if self.probing:
                    return Admission(False, reason=PROBE_IN_FLIGHT)
                self.probing = True
                self.in_flight += 1
                return Admission(True, probe=True)
            self.in_flight += 1
            return _ALLOWED

    def succeeded(self, latency: float | None, *, release: bool = False) -> bool:
        """Record that a call worked (closing the breaker); returns whether it was open.

        Args:
            latency: Seconds the call took (a stream: to its first chunk).
            release: The call ended too (as :meth:`release`); else it stays in flight
                until :meth:`release` (a stream, until its end).
        """
        with self._lock:
            if release:
                self.in_flight -= 1
            recovered = bool(self.open_until)
            self.failures = 0
            self.open_until = 0.0
            self.probing = False
            if latency is not None:
                now = self.clock.monotonic()
                if self._latency is None or now - self._latency_at > 60.0:
                    self._latency = latency
                else:
                    self._latency += LATENCY_WEIGHT * (latency - self._latency)
                self._latency_at = now
            return recovered

    def failed(
        self,
        reason: str,
        error: BaseException,
        *,
        probe: bool,
        threshold: int,
        cooldown: float,
        retry_after: float | None,
    ) -> float | None:
        """Record a failure that says the deployment is unwell.

        Returns the cooldown started, if the failure opened the breaker.

        Args:
            reason: Why it failed (a reason name of ``llmplug.routing``).
            error: The error.
            probe: The call was the half-open probe.
            threshold: Failures in a row that open the breaker.
            cooldown: Seconds it stays open (0: no breaker).
            retry_after: The wait the server asked for, if any.
        """
        with self._lock:
            if probe:
                self.probing = False
            if cooldown <= 0:
                return None
            self.failures += 1
            self.last_error = error
            told = retry_after if reason == RATE_LIMIT and retry_after else None
            if not (probe or told is not None or self.failures >= threshold):
                return None
            seconds = max(cooldown, told or 0.0)
            self.open_until = self.clock.monotonic() + seconds
            return seconds

    def release(self, probe: bool) -> None:
        """End a call started by :meth:`admit`, whatever its outcome.

        Args:
            probe: The call was the half-open probe (another may now go).
        """
        with self._lock:
            self.in_flight -= 1
            if probe:
                self.probing = False

    def __repr__(self) -> str:
        state = "open" if self.is_open else ("half-open" if self.open_until else "closed")
        return (
            f"DeploymentHealth({self.name!r}, {state}, in_flight={self.in_flight}, "
            f"failures={self.failures})"
        )
