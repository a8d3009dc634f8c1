"""How a load balancer orders its deployments for one call.

The first is chosen by the strategy among the deployments not cooling down; the others
follow as fallbacks, in the strategy's order of preference, and the ones cooling down
come last (a route passes over them, and its record says why).

* ``round_robin``: in turn, in proportion to the weights (smooth weighted round-robin);
* ``weighted``: at random, in proportion to the weights;
* ``least_busy``: the fewest calls in flight (in this process), ties in turn;
* ``latency``: the lowest moving average of latency (streams: time to first chunk);
  a deployment not measured in the last minute is tried first, so a slow one that
  recovered is found again.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from llmplug.routing._members import Slot
from llmplug.routing._plan import RoutePlan

__all__ = ["LATENCY_TTL", "STRATEGIES", "Strategy", "choose_first", "order_rest"]

Strategy = Literal["round_robin", "weighted", "least_busy", "latency"]
STRATEGIES: tuple[str, ...] = ("round_robin", "weighted", "least_busy", "latency")
#: Seconds a latency measurement stays valid.
LATENCY_TTL = 60.0


def _weighted_shuffle(indexes: list[int], slots: Sequence[Slot]) -> list[int]:
    # Efraimidis-Spirakis: each key u**(1/w), highest first, is a weighted random order
    keyed = [(random.random() ** (1.0 / slots[i].weight), i) for i in indexes]
    return [i for _, i in sorted(keyed, reverse=True)]


def choose_first(strategy: str, plan: RoutePlan) -> Slot:
    """The deployment the strategy picks for a call, among those not cooling down.

    Args:
        strategy: One of :data:`STRATEGIES`.
        plan: The route's plan, bound to the process's routing state.
    """
    slots = plan.slots
    health = [plan.health(slot) for slot in slots]
    now = plan.clock().monotonic()
    ready = [i for i, h in enumerate(health) if h.open_until <= now] or list(range(len(slots)))
    if strategy == "weighted":
        return slots[_weighted_shuffle(ready, slots)[0]]
    if strategy == "least_busy":
        least = min(health[i].in_flight for i in ready)
        ready = [i for i in ready if health[i].in_flight == least]
    elif strategy == "latency":
        latency = {i: health[i].latency(LATENCY_TTL) for i in ready}
        unknown = [i for i in ready if latency[i] is None]
        if not unknown:
            return slots[min(ready, key=lambda i: latency[i] or 0.0)]
        ready = unknown
    return slots[plan.rotation.pick([(i, slots[i].weight) for i in ready])]


def order_rest(strategy: str, plan: RoutePlan, first: Slot) -> list[Slot]:
    """The deployments to fall back on after ``first``, best first; cooling ones last."""
    slots = plan.slots
    n = len(slots)
    start = next(i for i, slot in enumerate(slots) if slot is first)
    health = {i: plan.health(slots[i]) for i in range(n)}
    others = [(start + k) % n for k in range(1, n)]  # in turn after the first
    if strategy == "weighted":
        others = _weighted_shuffle(others, slots)
    elif strategy == "least_busy":
        others.sort(key=lambda i: health[i].in_flight)
    elif strategy == "latency":
        others.sort(key=lambda i: health[i].latency(LATENCY_TTL) or 0.0)
    others.sort(key=lambda i: health[i].is_open)  # stable: cooling ones go last
    return [slots[i] for i in others]
