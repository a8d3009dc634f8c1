"""The models of a route: how each is given, loaded and named.

A route's model is a config string or an alias from the config file (loaded with
``llmplug.load``), an LLM built in code, or a :class:`Member` that adds a weight, a
name, rate limits, a budget or a price to either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from llmplug._secrets import redact_query, redact_url
from llmplug.config._load import load
from llmplug.errors import ConfigError
from llmplug.llm._base import LLM
from llmplug.routing._limits import parse_period
from llmplug.tools._function_calling import FunctionCallingLLM

__all__ = ["Member", "Slot", "as_members", "deployment_name", "loading", "resolve"]


class Member(BaseModel):
    """One model of a route, with what the route needs to know about it.

    Give the model as a config string or alias (``spec``) or as an LLM (``llm``); the
    first positional argument may be either: ``Member("openai:gpt-4o", rpm=500)``. In
    the config file a member is a table: ``{spec = "azure-eu", weight = 2, rpm = 600}``.

    Attributes:
        spec: A config string or an alias from the config file.
        llm: An LLM built in code (instead of ``spec``).
        name: The model's name in the route's records and logs, and the key its health,
            rate limit and budget are shared under in the process. By default records
            show the spec as written, and the state is shared by deployment:
            ``provider:model``, with the base URL when there is one.
        weight: Its share of the calls (load balancing: weighted and round-robin).
        rpm: Client-side limit of requests per minute to this model.
        tpm: Client-side limit of tokens per minute to this model.
        burst: Seconds of ``rpm``/``tpm`` that may be used at once.
        budget_tokens: Tokens it may use (per ``budget_period``), then it is passed over.
        budget_cost: What it may cost (per ``budget_period``), computed from ``price``.
        budget_period: When the budget starts again: seconds or ``"1h"``, ``"1d"``...
        price: ``(input, output)`` cost per million tokens, for ``budget_cost``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", frozen=True)

    spec: str | None = None
    llm: LLM | None = None
    name: str | None = None
    weight: float = Field(default=1.0, gt=0)
    rpm: float | None = Field(default=None, gt=0)
    tpm: float | None = Field(default=None, gt=0)
    burst: float = Field(default=1.0, gt=0)
    budget_tokens: int | None = Field(default=None, gt=0)
    budget_cost: float | None = Field(default=None, gt=0)
    budget_period: float | None = None
    price: tuple[float, float] | None = None

    def __init__(self, model: str | LLM | None = None, /, **data: Any) -> None:
        if model is not None:
            data["llm" if isinstance(model, LLM) else "spec"] = model
        super().__init__(**data)

    @field_validator("budget_period", mode="before")
    @classmethod
    def _period(cls, value: Any) -> float | None:
        return parse_period(value)

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(","))
        return value

    @model_validator(mode="after")
    def _one_model(self) -> Member:
        if (self.spec is None) == (self.llm is None):
            raise ValueError(
                "a route member needs exactly one of spec (a config string or an alias) "
                "and llm (an LLM instance)"
            )
        if self.budget_cost is not None and self.price is None:
            raise ValueError(
                "budget_cost needs the member's price: price=(input, output) per million "
                "tokens, e.g. price=(0.15, 0.60)"
            )
        return self

    def __repr_args__(self) -> Any:
        for key, value in super().__repr_args__():
            if value is not None and not (key in ("weight", "burst") and value == 1.0):
                yield key, (redact_query(value) if key == "spec" else value)


def as_members(value: Any) -> Any:
    """Read a route's model list: a comma-separated string, or a list of models.

    Each model is a config string or alias, an LLM, a :class:`Member` or a mapping of
    its fields (a config file's table). Anything else is left to pydantic to refuse.
    """
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, LLM | Member | dict):
        value = [value]
    if not isinstance(value, list | tuple):
        return value
    members: list[Any] = []
    for item in value:
        if isinstance(item, str):
            members.append(Member(spec=item.strip()))
        elif isinstance(item, LLM):
            members.append(Member(llm=item))
        else:
            members.append(item)
    return members


def deployment_name(llm: LLM) -> str:
    """``provider:model``, plus ``@base_url`` when the LLM has one (credentials redacted)."""
    name = f"{llm.provider_label}:{llm.metadata.model_name}"
    base_url = getattr(llm, "base_url", None)
    if isinstance(base_url, str) and base_url:
        name += f"@{redact_url(base_url)}"
    return name


@dataclass(slots=True)
class Slot:
    """A member made ready: its LLM and what the route reads on each call.

    Attributes:
        llm: The loaded LLM.
        name: Its name in the route's records and logs (the spec as written).
        key: The name its health, rate limit and budget are shared under in the process.
        weight: Its weight.
        limit: ``(rpm, tpm, burst)`` when it has a client-side rate limit.
        budget: ``(max_tokens, max_cost, period)`` when it has a budget.
        price: ``(input, output)`` per million tokens, when given.
        context_window: Its context window (for context-window fallbacks).
        calls_tools: It calls tools natively.
        takes_max_retries: It takes ``max_retries=`` per call (an HTTP provider).
        has_max_tokens: It has a ``max_tokens`` option (read for token estimates).
        only_for_context: It is tried only after a prompt was too long for another.
    """

    llm: LLM
    name: str
    key: str
    weight: float
    limit: tuple[float | None, float | None, float] | None
    budget: tuple[int | None, float | None, float | None] | None
    price: tuple[float, float] | None
    context_window: int
    calls_tools: bool
    takes_max_retries: bool
    has_max_tokens: bool
    only_for_context: bool = False


_LOADING: ContextVar[tuple[str, ...]] = ContextVar("llmplug_routing_loading", default=())


@contextmanager
def loading(route: str) -> Iterator[None]:
    """Mark ``route`` as being built, so a route that contains itself is refused.

    Raises:
        ConfigError: ``route`` is being built already (an alias loop through routes).
    """
    chain = _LOADING.get()
    if route in chain:
        raise ConfigError(
            f"route loop: {' -> '.join([*chain, route])}; a route cannot contain itself "
            f"(check the aliases in the config file)"
        )
    token = _LOADING.set((*chain, route))
    try:
        yield
    finally:
        _LOADING.reset(token)


def resolve(member: Member, *, only_for_context: bool = False) -> Slot:
    """Load a member's LLM (from its spec) and read what the route needs of it.

    Raises:
        ConfigError: A bad config string or alias (and every error of ``llmplug.load``).
    """
    if member.llm is not None:
        llm = member.llm
        key = member.name or deployment_name(llm)
        name = key
    else:
        assert member.spec is not None
        spec = redact_query(member.spec)
        with loading(spec):
            llm = load(member.spec)
        key = member.name or deployment_name(llm)
        name = member.name or spec
    limit = (member.rpm, member.tpm, member.burst) if member.rpm or member.tpm else None
    has_budget = member.budget_tokens is not None or member.budget_cost is not None
    budget = (
        (member.budget_tokens, member.budget_cost, member.budget_period) if has_budget else None
    )
    metadata = llm.metadata
    return Slot(
        llm=llm,
        name=name,
        key=key,
        weight=member.weight,
        limit=limit,
        budget=budget,
        price=member.price,
        context_window=metadata.context_window,
        calls_tools=isinstance(llm, FunctionCallingLLM) and metadata.is_function_calling_model,
        takes_max_retries="max_retries" in type(llm).model_fields,
        has_max_tokens="max_tokens" in type(llm).model_fields,
        only_for_context=only_for_context,
    )
