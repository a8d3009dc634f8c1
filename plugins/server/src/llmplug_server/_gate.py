"""Who may ask what: the gateway's keys, its model table, and each key's limits.

:class:`Gate` answers three questions for every request: which key sent it
(:meth:`Gate.authenticate`, else 401), which model it names and whether that key may use
it (:meth:`Gate.model`, else 404 or 403), and whether the key has room in its rate limit
and budget (:meth:`Gate.admit`, else 429 with ``Retry-After``). Limits and budgets are
llmplug.routing's own (:func:`llmplug.routing.routing_state`), one per key, shared by
every worker task of the process; an :class:`Admission` settles a call's real token
usage (and cost, at the model's price) once it ends.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmplug import LLM, Usage
from llmplug.errors import ConfigError, LLMError
from llmplug.routing import (
    BudgetState,
    Reservation,
    estimate_input_tokens,
    estimate_output_tokens,
    routing_state,
)
from llmplug_server._calls import CallPlan
from llmplug_server._config import ModelEntry
from llmplug_server._errors import GatewayError, invalid
from llmplug_server._keys import GatewayKey, GatewayKeys, parse_period

__all__ = ["Admission", "Gate", "ModelTable"]

_LIMIT_PREFIX = "llmplug-server:key:"
_BURST = 60.0  # a key may use a minute's worth of its rate at once, refilled steadily


class ModelTable:
    """The public model names and the LLMs behind them, loaded once at start-up.

    Args:
        entries: Public name -> :class:`ModelEntry` (a config string or alias, options).
        llms: Public name -> an LLM built in code (tests, embedding the gateway).
    """

    def __init__(
        self, entries: Mapping[str, ModelEntry], llms: Mapping[str, LLM] | None = None
    ) -> None:
        self.entries = dict(entries)
        self._llms: dict[str, LLM] = dict(llms or {})
        for name in self._llms:
            self.entries.setdefault(name, ModelEntry(name, f"<{type(self._llms[name]).__name__}>"))
        self.loaded = False

    def load(self) -> None:
        """Load every model from its config string (``llmplug.load``), in order.

        Raises:
            ConfigError: A model failed to load; the message names the public model.
        """
        import llmplug

        if not self.entries:
            raise ConfigError(
                "the gateway has no models to serve: add a [models] table to its config "
                '(e.g. [models] fast = "openai:gpt-4o-mini"), or aliases to llmplug\'s '
                "config file (llmplug aliases set NAME SPEC)"
            )
        for name, entry in self.entries.items():
            if name in self._llms:
                continue
            try:
                self._llms[name] = llmplug.load(entry.spec, **entry.options)
            except LLMError as exc:
                raise ConfigError(f"gateway model {name!r} ({entry.spec!r}): {exc}") from exc
        self.loaded = True

    def names(self) -> list[str]:
        """The public model names, in the config's order."""
        return list(self.entries)

    def get(self, name: str) -> tuple[ModelEntry, LLM] | None:
        """The entry and LLM of public model ``name``, if the gateway serves it."""
        llm = self._llms.get(name)
        return None if llm is None else (self.entries[name], llm)

    async def aclose(self) -> None:
        """Close the models' connections."""
        for llm in self._llms.values():
            aclose = getattr(llm, "aclose", None)
            if callable(aclose):
                try:
                    await aclose()
                except Exception:  # a model that fails to close must not stop the others
                    continue


@dataclass
class Admission:
    """What one admitted call took from its key's limits, settled when it ends.

    A call whose provider reports no usage, or that the client cancelled part-way, is
    counted from estimates (the prompt's tokens, about four characters a token of the
    answer so far): leaving before the end is not a way around a budget.
    """

    entry: ModelEntry
    reservation: Reservation | None = None
    budget: BudgetState | None = None
    input_estimate: int = 0
    settled: bool = False

    def settle(self, usage: Usage | None, *, failed: bool = False, output_chars: int = 0) -> None:
        """Count the call's usage; ``failed``: give its tokens back (nothing was made).

        Args:
            usage: What the provider reported (``None`` or zeros: estimated instead).
            failed: The call failed before it produced anything.
            output_chars: Characters of answer delivered so far (for the estimate).
        """
        if self.settled:
            return
        self.settled = True
        if failed:
            if self.reservation is not None:
                self.reservation.cancel(sent=True)
            return
        if usage is None or usage.input_tokens + usage.output_tokens == 0:
            usage = Usage(input_tokens=self.input_estimate, output_tokens=(output_chars + 3) // 4)
        total = usage.input_tokens + usage.output_tokens
        if self.reservation is not None:
            self.reservation.settle(total)
        if self.budget is not None:
            self.budget.add(total, self.entry.cost(usage.input_tokens, usage.output_tokens))


class Gate:
    """Authentication, model access and key limits (see the module docstring).

    Args:
        keys: The gateway's key file.
        models: The model table.
    """

    def __init__(self, keys: GatewayKeys, models: ModelTable) -> None:
        self.keys = keys
        self.models = models
        self._periods: dict[str, float | None] = {}
        self._lock = threading.Lock()

    def authenticate(self, headers: Mapping[str, str]) -> GatewayKey:
        """The key a request carries (``Authorization: Bearer`` or ``x-api-key``).

        Raises:
            GatewayError: 401, no key or an unknown one.
        """
        key = headers.get("x-api-key")
        if not key:
            auth = headers.get("authorization", "")
            scheme, _, value = auth.partition(" ")
            key = value.strip() if scheme.lower() == "bearer" else ""
        if not key:
            raise GatewayError(
                401,
                "authentication",
                "no API key: send the gateway key as 'Authorization: Bearer <key>' or "
                "'x-api-key: <key>' (create one with: llmplug serve keys create)",
                code="missing_api_key",
            )
        record = self.keys.lookup(key)
        if record is None:
            raise GatewayError(
                401,
                "authentication",
                "invalid API key: this gateway has no such key (it may have been revoked)",
                code="invalid_api_key",
            )
        return record

    def visible(self, key: GatewayKey) -> list[str]:
        """The public model names ``key`` may use."""
        return [name for name in self.models.names() if key.allows(name)]

    def model(self, key: GatewayKey, name: Any) -> tuple[ModelEntry, LLM]:
        """The model a request names, if it exists and ``key`` may use it.

        Raises:
            GatewayError: 400 (no model given), 404 (no such model), 403 (not this key's).
        """
        if not isinstance(name, str) or not name:
            raise invalid("model is required: the name of one of the gateway's models", "model")
        found = self.models.get(name)
        if found is None:
            shown = ", ".join(self.visible(key)) or "none"
            raise GatewayError(
                404,
                "not_found",
                f"the model {name!r} does not exist on this gateway; models: {shown}",
                param="model",
                code="model_not_found",
            )
        if not key.allows(name):
            raise GatewayError(
                403,
                "permission",
                f"this API key may not use the model {name!r}; it may use: "
                f"{', '.join(self.visible(key)) or 'none'}",
                param="model",
                code="model_not_allowed",
            )
        return found

    def admit(self, key: GatewayKey, entry: ModelEntry, plan: CallPlan) -> Admission:
        """Take room for one call in the key's rate limit; check its budget.

        Raises:
            GatewayError: 429 with ``retry_after``: over the rate limit or the budget.
        """
        admission = Admission(entry)
        if not key.limited:
            return admission
        admission.input_estimate = estimate_input_tokens(plan.messages)
        state = routing_state()
        name = _LIMIT_PREFIX + key.id
        if key.budget_tokens is not None or key.budget_cost is not None:
            budget = state.budget(
                name,
                max_tokens=key.budget_tokens,
                max_cost=key.budget_cost,
                period=self._period(key),
            )
            over = budget.exceeded()
            if over is not None:
                raise GatewayError(
                    429,
                    "rate_limit",
                    f"this API key's budget is used up ({over.spent:g} of {over.limit:g} "
                    f"{'tokens' if over.unit == 'tokens' else 'spent'})"
                    + (
                        f"; it starts again in {over.retry_after:.0f} s" if over.retry_after else ""
                    ),
                    code="budget_exceeded",
                    retry_after=over.retry_after,
                )
            admission.budget = budget
        if key.rpm is not None or key.tpm is not None:
            limiter = state.limiter(name, rpm=key.rpm, tpm=key.tpm, burst=_BURST)
            tokens = 0
            if limiter.counts_tokens:
                tokens = admission.input_estimate + estimate_output_tokens(plan.options, plan.llm)
            reserved = limiter.reserve(tokens, max_wait=0.0)
            if not isinstance(reserved, Reservation):
                raise GatewayError(
                    429,
                    "rate_limit",
                    f"this API key is over its rate limit ({_rate(key)}); try again in "
                    f"{reserved:.1f} s",
                    code="rate_limit_exceeded",
                    retry_after=reserved,
                )
            admission.reservation = reserved
        return admission

    def _period(self, key: GatewayKey) -> float | None:
        if key.budget_period is None:
            return None
        found = self._periods.get(key.budget_period)
        if found is None:
            found = self._periods[key.budget_period] = parse_period(key.budget_period)
        return found

    def key_status(self, key: GatewayKey) -> dict[str, Any]:
        """What a key may do and has used (for ``GET /v1/status``)."""
        snapshot = routing_state().snapshot()
        name = _LIMIT_PREFIX + key.id
        return {
            "key": key.describe(),
            "limit": snapshot["limits"].get(name),
            "budget": snapshot["budgets"].get(name),
            "models": self.visible(key),
            "deployments": snapshot["deployments"],
        }


def _rate(key: GatewayKey) -> str:
    parts = []
    if key.rpm is not None:
        parts.append(f"{key.rpm:g} requests")
    if key.tpm is not None:
        parts.append(f"{key.tpm:g} tokens")
    return " and ".join(parts) + " per minute"
