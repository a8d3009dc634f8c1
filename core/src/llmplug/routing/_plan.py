"""A route's plan: its models made ready, and the shared state they are bound to.

Built once when the route is built; every call reads it (one dict lookup), never the
pydantic model's private attributes, which are slow to reach.
"""

from __future__ import annotations

from typing import Any

from llmplug.routing._health import DeploymentHealth
from llmplug.routing._limits import BudgetState, Clock, RateLimiter
from llmplug.routing._members import Slot
from llmplug.routing._state import Rotation, RoutingState

__all__ = ["RoutePlan"]


class RoutePlan:
    """The models of a route and what its calls need, bound to the routing state.

    Attributes:
        name: The route's name.
        kind: ``"fallback"``, ``"balance"`` or ``"limit"``.
        strategy: How models are ordered.
        slots: The models, in order.
        context_slots: The models tried only for a prompt too long.
        single: A route of one model (its errors are raised as they are).
        limit_key: The name of the route's own limit and budget.
        route_limit: ``(rpm, tpm, burst)`` of the route, if it has a limit.
        route_budget: ``(max_tokens, max_cost, period)`` of the route, if it has one.
    """

    __slots__ = (
        "_budget",
        "_health",
        "_limiter",
        "_rotation",
        "_slot_budgets",
        "_slot_limiters",
        "_state",
        "context_slots",
        "kind",
        "limit_key",
        "name",
        "route_budget",
        "route_limit",
        "single",
        "slots",
        "strategy",
    )

    def __init__(
        self,
        *,
        name: str,
        kind: str,
        strategy: str,
        slots: list[Slot],
        context_slots: list[Slot],
        single: bool,
        limit_key: str,
        route_limit: tuple[float | None, float | None, float] | None,
        route_budget: tuple[int | None, float | None, float | None] | None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.strategy = strategy
        self.slots = slots
        self.context_slots = context_slots
        self.single = single
        self.limit_key = limit_key
        self.route_limit = route_limit
        self.route_budget = route_budget
        self._state: RoutingState | None = None
        self._limiter: RateLimiter | None = None
        self._budget: BudgetState | None = None
        self._slot_limiters: dict[int, RateLimiter] = {}
        self._slot_budgets: dict[int, BudgetState] = {}
        self._health: dict[int, DeploymentHealth] = {}
        self._rotation: Rotation | None = None

    @property
    def everyone(self) -> list[Slot]:
        """Every model: the route's, then the context-window fallbacks."""
        return [*self.slots, *self.context_slots]

    def bind(self, state: RoutingState) -> None:
        """Look up (declaring them) the limits and budgets of ``state`` this route uses.

        Raises:
            ConfigError: One of them was declared before with other values.
        """
        if self._state is state:
            return
        limiters: dict[int, RateLimiter] = {}
        budgets: dict[int, BudgetState] = {}
        for slot in self.everyone:
            if slot.limit is not None:
                rpm, tpm, burst = slot.limit
                limiters[id(slot)] = state.limiter(slot.key, rpm=rpm, tpm=tpm, burst=burst)
            if slot.budget is not None:
                max_tokens, max_cost, period = slot.budget
                budgets[id(slot)] = state.budget(
                    slot.key, max_tokens=max_tokens, max_cost=max_cost, period=period
                )
        limiter = budget = None
        if self.route_limit is not None:
            rpm, tpm, burst = self.route_limit
            limiter = state.limiter(self.limit_key, rpm=rpm, tpm=tpm, burst=burst)
        if self.route_budget is not None:
            max_tokens, max_cost, period = self.route_budget
            budget = state.budget(
                self.limit_key, max_tokens=max_tokens, max_cost=max_cost, period=period
            )
        self._slot_limiters, self._slot_budgets = limiters, budgets
        self._limiter, self._budget = limiter, budget
        self._health = {id(slot): state.health(slot.key) for slot in self.everyone}
        self._rotation = state.rotation(self.name)
        self._state = state  # last: another thread binding meanwhile finds the same objects

    def health(self, slot: Slot) -> DeploymentHealth:
        """The health of ``slot``'s deployment, once bound."""
        return self._health[id(slot)]

    def clock(self) -> Clock:
        """The clock of the state the plan is bound to."""
        assert self._state is not None
        return self._state.clock

    @property
    def rotation(self) -> Rotation:
        """The route's round-robin state, once bound."""
        assert self._rotation is not None
        return self._rotation

    def limiter(self, slot: Slot | None = None) -> RateLimiter | None:
        """The rate limit of ``slot`` (of the route, for ``None``), once bound."""
        return self._limiter if slot is None else self._slot_limiters.get(id(slot))

    def budget(self, slot: Slot | None = None) -> BudgetState | None:
        """The budget of ``slot`` (of the route, for ``None``), once bound."""
        return self._budget if slot is None else self._slot_budgets.get(id(slot))

    def __getstate__(self) -> dict[str, Any]:
        # the bound state holds locks and belongs to this process: a copy binds anew
        state = {name: getattr(self, name) for name in self.__slots__}
        state.update(
            _state=None,
            _limiter=None,
            _budget=None,
            _slot_limiters={},
            _slot_budgets={},
            _health={},
            _rotation=None,
        )
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
