"""The three routes: a fallback chain, a load balancer and a rate limiter.

Each is an LLM made of other LLMs, loadable by config string::

    llmplug.load("fallback:fast,smart")                        # aliases, in order
    llmplug.load("fallback:openai:gpt-4o-mini,anthropic:claude-haiku-4-5")
    llmplug.load("balance:azure-eu,azure-us?strategy=least_busy&weights=2,1")
    llmplug.load("limit:openai:gpt-4o-mini?rpm=500&tpm=200000")

The model part is a comma-separated list of config strings (``provider[:model]``) or
aliases of the config file; give a model options through an alias (a config string's
own options would read as the route's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from llmplug.routing._members import Member, Slot, as_members
from llmplug.routing._plan import RoutePlan
from llmplug.routing._route import RoutedLLM
from llmplug.routing._state import RoutingState
from llmplug.routing._strategies import choose_first, order_rest

__all__ = ["BalancedLLM", "FallbackLLM", "LimitedLLM"]


class FallbackLLM(RoutedLLM):
    """A fallback chain: the first of its models that answers.

    Each call tries the models in order. It moves on for errors another model can fix
    (rate limits, overload and server errors, timeouts, lost connections, a stream
    broken before its first chunk, content the model cannot take, and content-policy
    refusals if ``fallback_on_content_policy``); any other error (a bad request, a
    wrong key, an invalid option) ends the call as it is. When the prompt is too long
    for a model, only larger models are tried next: the chain's own, then
    ``context_window_fallbacks``. A stream moves on only before its first chunk.
    When every model fails, :class:`~llmplug.errors.AllModelsFailedError` holds each
    attempt's error.

    A model that keeps failing cools down (``cooldown``): later calls pass over it until
    a probe finds it answering again.

    Args:
        models: The chain, in order (positional too): config strings, aliases, LLMs or
            :class:`Member` s; a comma-separated string from a config string.

    Attributes:
        models: The chain.
        context_window_fallbacks: Models tried only when a prompt was too long for the
            chain's models (each only if its context window is larger).
    """

    kind: ClassVar[str] = "fallback"
    model_field: ClassVar[str | None] = "models"

    models: list[Member] = Field(min_length=1)
    context_window_fallbacks: list[Member] = Field(default_factory=list)

    def __init__(self, models: Any = None, /, **data: Any) -> None:
        if models is not None:
            data["models"] = models
        super().__init__(**data)

    @field_validator("models", "context_window_fallbacks", mode="before")
    @classmethod
    def _read_members(cls, value: Any) -> Any:
        return as_members(value)

    def _members(self) -> tuple[list[Member], list[Member]]:
        return self.models, self.context_window_fallbacks


class BalancedLLM(RoutedLLM):
    """One logical model over several deployments, with load balancing and failover.

    Each call goes to the deployment the ``strategy`` picks; if it fails with an error
    another deployment can fix, the others are tried (as a fallback chain would).
    Strategies: ``round_robin`` (in turn, in proportion to the weights), ``weighted``
    (at random, in proportion to the weights), ``least_busy`` (fewest calls in flight in
    this process) and ``latency`` (lowest moving average; streams: time to first chunk).
    A deployment that keeps failing cools down and is passed over until a half-open
    probe succeeds. A deployment whose client-side rate limit has no room is passed
    over while another has room.

    Args:
        deployments: The deployments (positional too): config strings, aliases, LLMs
            or :class:`Member` s; a comma-separated string from a config string.

    Attributes:
        deployments: The deployments.
        strategy: How a deployment is chosen.
        weights: Each deployment's weight, in order (instead of the members' own).
    """

    kind: ClassVar[str] = "balance"
    model_field: ClassVar[str | None] = "deployments"

    deployments: list[Member] = Field(min_length=1)
    strategy: Literal["round_robin", "weighted", "least_busy", "latency"] = "round_robin"
    weights: list[float] | None = None

    def __init__(self, deployments: Any = None, /, **data: Any) -> None:
        if deployments is not None:
            data["deployments"] = deployments
        super().__init__(**data)

    @field_validator("deployments", mode="before")
    @classmethod
    def _read_members(cls, value: Any) -> Any:
        return as_members(value)

    @field_validator("weights", mode="before")
    @classmethod
    def _read_weights(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",")]
        return value

    @field_validator("weights")
    @classmethod
    def _positive(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(w <= 0 for w in value):
            raise ValueError(f"weights must be positive numbers, got {value}")
        return value

    def _members(self) -> tuple[list[Member], list[Member]]:
        return self.deployments, []

    def _slot_weights(self) -> list[float] | None:
        if self.weights is not None and len(self.weights) != len(self.deployments):
            raise ValueError(
                f"weights has {len(self.weights)} value(s) for {len(self.deployments)} "
                f"deployment(s); give one weight per deployment, in order"
            )
        return self.weights

    @property
    def strategy_name(self) -> str:
        """The strategy."""
        return self.strategy

    def _order(
        self, state: RoutingState, plan: RoutePlan
    ) -> tuple[list[Slot], Callable[[], list[Slot]] | None]:
        slots = plan.slots
        if len(slots) == 1:
            return list(slots), None
        first = choose_first(self.strategy, plan)
        return [first], lambda: order_rest(self.strategy, plan, first)


class LimitedLLM(RoutedLLM):
    """One model behind client-side rate limits and a budget.

    ``rpm`` and ``tpm`` are shared by every LLM in the process limiting the same model
    (or the same ``group``): a sync caller sleeps until there is room, an async caller
    awaits without blocking the loop; with ``max_wait`` a call that would wait longer
    raises :class:`~llmplug.errors.ClientRateLimitError` instead (``max_wait=0``: fail
    fast). Token counts are estimated before each call and corrected from the usage
    the model reports. Once ``budget_tokens`` or ``budget_cost`` is used up, calls raise
    :class:`~llmplug.errors.BudgetExceededError` without calling the model. Errors of
    the model are raised as they are.

    Args:
        model: The model (positional too): a config string, an alias, an LLM or a
            :class:`Member`.

    Attributes:
        model: The model.
    """

    kind: ClassVar[str] = "limit"
    model_field: ClassVar[str | None] = "model"
    single_model: ClassVar[bool] = True

    model: Member
    cooldown: float = Field(default=0.0, ge=0)

    def __init__(self, model: Any = None, /, **data: Any) -> None:
        if model is not None:
            data["model"] = model
        super().__init__(**data)

    @field_validator("model", mode="before")
    @classmethod
    def _read_member(cls, value: Any) -> Any:
        members = as_members(value)
        if isinstance(members, list) and len(members) != 1:
            raise ValueError(
                f"limit takes one model, got {len(members)}; for several, use balance "
                f"or fallback with rpm/tpm on the route or on each member"
            )
        return members[0] if isinstance(members, list) else members

    def _members(self) -> tuple[list[Member], list[Member]]:
        return [self.model], []

    def _default_limit_key(self, name: str, slots: list[Slot]) -> str:
        # the limit is the model's: every LLM limiting this deployment shares it
        return slots[0].key
