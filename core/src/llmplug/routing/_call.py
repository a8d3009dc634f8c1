"""One routed call: which model is next, what it took from the limits, what happened.

:class:`RoutedCall` goes through the route's models in the order the route gives: a
model cooling down, over its budget, unable to call the tools asked for or too small
for a prompt that was too long for another is passed over; a model whose rate limit
has no room now is put aside while another one has room, and waited for only when none
has. It keeps the route's record, turns each model's error into a decision (move on or
stop), and counts usage against the limits and budgets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmplug.errors import (
    AllModelsFailedError,
    BudgetExceededError,
    ClientRateLimitError,
    RoutingError,
)
from llmplug.llm._instrument import _CALL
from llmplug.routing._estimate import estimate_input_tokens, estimate_output_tokens
from llmplug.routing._health import DeploymentHealth
from llmplug.routing._limits import RateLimiter, Reservation
from llmplug.routing._members import Slot
from llmplug.routing._plan import RoutePlan
from llmplug.routing._policy import (
    BUDGET,
    CONTEXT_WINDOW,
    HEALTH_REASONS,
    LOCAL_RATE_LIMIT,
    NO_TOOLS,
    SMALLER_CONTEXT,
    UNSUPPORTED_CONTENT,
    fallback_reason,
)
from llmplug.routing._record import RESPONSE_KEY, STATE_KEY, RouteAttempt, RouteRecord
from llmplug.routing._state import routing_state
from llmplug.tools._function_calling import split_messages
from llmplug.types._responses import DEFAULT_NUM_OUTPUTS

if TYPE_CHECKING:
    from llmplug.routing._route import RoutedLLM

__all__ = ["SCHEMA_KEY", "TOOLS_KEY", "RoutedCall", "Step", "ToolRequest"]

logger = logging.getLogger("llmplug.routing")

#: Per-call option carrying a tool call's tools to each model (see ``_prepare_chat_with_tools``).
TOOLS_KEY = "_route_tools"
#: Per-call option carrying a structured call's schema to each model.
SCHEMA_KEY = "_route_schema"


@dataclass(frozen=True, slots=True)
class ToolRequest:
    """A tool call's arguments, kept until the model it goes to is known.

    Each model turns them into its own wire format (``_prepare_chat_with_tools``), so
    a chain of function-calling models of different providers calls tools natively.
    """

    tools: list[Any]
    verbose: bool
    allow_parallel_tool_calls: bool
    tool_required: bool
    tool_choice: Any


@dataclass(slots=True)
class Step:
    """One model about to be called: what it took from the limits, and its attempt."""

    slot: Slot
    attempt: RouteAttempt
    health: DeploymentHealth
    probe: bool
    reservations: list[Reservation]
    wait: float


class RoutedCall:
    """One call through a route: the models left to try, and what happened so far.

    Args:
        route: The route.
        plan: The route's plan (its models, bound to the process's routing state).
        endpoint: The endpoint called on each model (``"chat"``, ``"astream_complete"``...).
        args: The endpoint's positional arguments (messages or prompt first).
        kwargs: Its keyword arguments (per-call options).
    """

    __slots__ = (
        "_input_tokens",
        "args",
        "deferred",
        "endpoint",
        "errors",
        "kwargs",
        "min_context",
        "more",
        "plain",
        "plan",
        "queue",
        "record",
        "route",
        "sent",
        "state",
    )

    def __init__(
        self,
        route: RoutedLLM,
        plan: RoutePlan,
        endpoint: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.route = route
        self.plan = plan
        self.endpoint = endpoint
        self.args = args
        self.kwargs = kwargs
        self.state = state = routing_state()
        plan.bind(state)
        self.record = RouteRecord(plan.name, plan.kind, plan.strategy, endpoint)
        call = _CALL.get()  # the route's own call, while hooks are registered
        if call is not None and call.llm is route:
            call.state[STATE_KEY] = self.record
        self.errors: list[BaseException] = []
        self.queue, self.more = route._order(state, plan)
        self.deferred: list[tuple[float, int, Slot]] = []
        self.min_context: int | None = None
        self.sent = False
        self.plain = not (
            (kwargs and (TOOLS_KEY in kwargs or SCHEMA_KEY in kwargs))
            or route.member_max_retries is not None
        )
        self._input_tokens: int | None = None

    # -- choosing the next model ---------------------------------------------------------

    def next(self) -> Step | None:
        """The next model to call, or ``None`` when every model was tried or passed over.

        Models with room in their rate limits come first; the ones without are put
        aside, and the one whose room comes soonest is waited for (up to the route's
        ``max_wait``) once no other is left.
        """
        while True:
            if self.queue:
                step = self._admit(self.queue.pop(0), final=False)
            elif self.more is not None:
                self.queue, self.more = self.more(), None
                continue
            elif self.deferred:
                self.deferred.sort(key=lambda item: item[:2])
                step = self._admit(self.deferred.pop(0)[2], final=True)
            else:
                return None
            if step is not None:
                return step

    def _skip(self, slot: Slot, reason: str, error: BaseException) -> None:
        self.record.skip(slot.name, reason, f"{type(error).__name__}: {error}")
        self.errors.append(error)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("route %s: passing over %s (%s)", self.record.route, slot.name, error)

    def _admit(self, slot: Slot, *, final: bool) -> Step | None:
        plan = self.plan
        if self.min_context is not None and slot.context_window <= self.min_context:
            error = RoutingError(
                f"{slot.name} has a context window of {slot.context_window} tokens, no larger "
                f"than the {self.min_context} of the model the prompt did not fit",
                route=plan.name,
            )
            self._skip(slot, SMALLER_CONTEXT, error)
            return None
        if slot.only_for_context and self.min_context is None:
            return None
        if not self.plain and TOOLS_KEY in self.kwargs and not slot.calls_tools:
            error = RoutingError(
                f"{slot.name} cannot call tools natively "
                f"(metadata.is_function_calling_model is false)",
                route=plan.name,
            )
            self._skip(slot, NO_TOOLS, error)
            return None
        if slot.budget is not None or plan.route_budget is not None:
            for budget in (plan.budget(slot), plan.budget()):
                exceeded = budget.exceeded(plan.name) if budget is not None else None
                if exceeded is not None:
                    self._skip(slot, BUDGET, exceeded)
                    return None
        health = plan.health(slot)
        admission = health.admit()
        if not admission.allowed:
            assert admission.reason is not None
            self._skip(slot, admission.reason, self._cooling_error(slot, health, admission))
            return None
        reservations: list[Reservation] = []
        wait = 0.0
        if slot.limit is not None or plan.route_limit is not None:
            limiters = [lim for lim in (plan.limiter(slot), plan.limiter()) if lim is not None]
            counts_tokens = False
            for limiter in limiters:
                counts_tokens = counts_tokens or limiter.counts_tokens
            tokens = self._estimate(slot) if counts_tokens else 0
            max_wait = self.route.max_wait if final else 0.0
            for limiter in limiters:
                taken = limiter.reserve(tokens, max_wait)
                if isinstance(taken, Reservation):
                    reservations.append(taken)
                    wait = max(wait, taken.wait)
                    continue
                for done in reservations:
                    done.cancel(sent=False)
                health.release(admission.probe)
                if not final:
                    self.deferred.append((taken, len(self.deferred), slot))
                else:
                    self._skip(slot, LOCAL_RATE_LIMIT, self._limit_error(limiter, taken))
                return None
        attempt = self.record.start(slot.name)
        if admission.probe:
            attempt.probe = True
        if wait > 0:
            attempt.waited = wait
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("route %s: waiting %.3f s for %s's limit", plan.name, wait, slot.name)
        return Step(slot, attempt, health, admission.probe, reservations, wait)

    def _cooling_error(self, slot: Slot, health: DeploymentHealth, admission: Any) -> RoutingError:
        if admission.retry_after is None:
            return RoutingError(
                f"{slot.name} is half-open: another call is probing whether it recovered",
                route=self.plan.name,
            )
        last = health.last_error
        error = RoutingError(
            f"{slot.name} is cooling down for {admission.retry_after:.1f} s more after "
            f"{health.failures} failure(s)"
            + (f"; the last: {type(last).__name__}: {last}" if last is not None else ""),
            route=self.plan.name,
            retry_after=admission.retry_after,
        )
        error.__cause__ = last
        return error

    def _limit_error(self, limiter: RateLimiter, wait: float) -> ClientRateLimitError:
        limit = self.route.max_wait
        allowed = "not allowed to wait (max_wait=0)" if not limit else f"max_wait is {limit:g} s"
        return ClientRateLimitError(
            f"client-side rate limit {limiter.name!r} (rpm={limiter.rpm}, tpm={limiter.tpm}) "
            f"has no room for {wait:.2f} s and the route is {allowed}",
            limit=limiter.name,
            route=self.plan.name,
            retry_after=wait,
        )

    def _estimate(self, slot: Slot) -> int:
        if self._input_tokens is None:
            estimator = self.route.token_estimator
            first = self.args[0]
            self._input_tokens = (
                int(estimator(first)) if estimator is not None else estimate_input_tokens(first)
            )
        if not slot.has_max_tokens and "max_tokens" not in self.kwargs:
            return self._input_tokens + DEFAULT_NUM_OUTPUTS
        return self._input_tokens + estimate_output_tokens(self.kwargs, slot.llm)

    # -- the call to a model -------------------------------------------------------------

    def member_args(self, slot: Slot) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments for this model's endpoint: tools and schemas in its own format."""
        if self.plain:
            return self.args, self.kwargs
        args = self.args
        kwargs = dict(self.kwargs)
        tools: ToolRequest | None = kwargs.pop(TOOLS_KEY, None)
        schema = kwargs.pop(SCHEMA_KEY, None)
        retries = self.route.member_max_retries
        if retries is not None and slot.takes_max_retries:
            kwargs.setdefault("max_retries", retries)
        if schema is not None:
            kwargs = {**(slot.llm._structured_request_kwargs(schema) or {}), **kwargs}
        if tools is not None:
            prepared = slot.llm._prepare_chat_with_tools(  # type: ignore[attr-defined]
                tools.tools,
                chat_history=args[0],
                verbose=tools.verbose,
                allow_parallel_tool_calls=tools.allow_parallel_tool_calls,
                tool_required=tools.tool_required,
                tool_choice=tools.tool_choice,
                **kwargs,
            )
            messages, kwargs = split_messages(prepared)
            args = (messages, *args[1:])
        return args, kwargs

    def answered(self, step: Step, response: Any, latency: float) -> Any:
        """The model answered a call: count its usage; the answer, with the record."""
        if step.reservations or step.slot.budget is not None or self.plan.route_budget:
            self._count(step, getattr(response, "usage", None))
        self.succeeded(step, latency, release=True)
        return self.annotate(step, response)

    def succeeded(self, step: Step, latency: float, *, release: bool = False) -> None:
        """The model answered (a stream: its first chunk arrived; ``release``: and ended)."""
        self.sent = True
        attempt = step.attempt
        attempt.outcome = "ok"
        attempt.latency = latency
        if attempt.index == 0 and self.plan.kind == "balance":
            attempt.reason = self.plan.strategy
        self.record.model = step.slot.name
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "route %s: %s answered (attempt %d, %.3f s)",
                attempt.route,
                attempt.model,
                attempt.index + 1,
                latency,
            )
        if step.health.succeeded(latency, release=release):
            logger.info(
                "route %s: %s answered again; it is back in use", attempt.route, attempt.model
            )

    def finished(self, step: Step, response: Any) -> None:
        """The call to the model ended: count its usage, release its slot."""
        if step.reservations or step.slot.budget is not None or self.plan.route_budget:
            self._count(step, getattr(response, "usage", None))
        step.health.release(step.probe)

    def _count(self, step: Step, usage: Any) -> None:
        tokens = usage.total_tokens if usage is not None and usage.total_tokens else None
        for reservation in step.reservations:
            reservation.settle(tokens)
        plan = self.plan
        if usage is None or (step.slot.budget is None and plan.route_budget is None):
            return
        budgets = [b for b in (plan.budget(step.slot), plan.budget()) if b is not None]
        if budgets:
            price = step.slot.price
            cost = (
                (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1e6
                if price is not None
                else 0.0
            )
            for budget in budgets:
                budget.add(usage.total_tokens, cost)

    def tracks_usage(self, step: Step) -> bool:
        """Whether the stream's usage is needed at its end (token limits, budgets)."""
        return bool(
            any(r.limiter.counts_tokens for r in step.reservations)
            or step.slot.budget is not None
            or self.plan.route_budget is not None
        )

    def failed(self, step: Step, error: BaseException, *, delivered: bool = False) -> bool:
        """The model failed: returns whether the route moves on to the next one.

        Args:
            step: The attempt.
            error: What it raised.
            delivered: A stream had delivered chunks already (then it never moves on).
        """
        self.sent = True
        route = self.route
        reason = fallback_reason(error, content_policy=route.fallback_on_content_policy)
        attempt = step.attempt
        attempt.reason = reason
        attempt.error = f"{type(error).__name__}: {error}"
        if not delivered:  # a stream cut short used tokens: its estimate stays counted
            for reservation in step.reservations:
                reservation.cancel(sent=reason != UNSUPPORTED_CONTENT)
        if reason in HEALTH_REASONS:
            opened = step.health.failed(
                reason,
                error,
                probe=step.probe,
                threshold=route.failure_threshold,
                cooldown=route.cooldown,
                retry_after=getattr(error, "retry_after", None),
            )
            if opened is not None:
                logger.warning(
                    "route %s: %s cooling down for %.1f s after %s",
                    attempt.route,
                    attempt.model,
                    opened,
                    attempt.error,
                )
        step.health.release(step.probe)
        self.errors.append(error)
        if reason is None or delivered:
            attempt.outcome = "stopped" if reason is None else "failed"
            if len(self.record.attempts) > 1 and reason is None:
                error.add_note(f"route {self.record.summary()}")
            return False
        attempt.outcome = "failed"
        if reason == CONTEXT_WINDOW:
            self.min_context = max(self.min_context or 0, step.slot.context_window)
            if self.more is not None:
                self.queue, self.more = self.more(), None
            self.queue.extend(s for s in self.plan.context_slots if s not in self.queue)
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "route %s: %s failed (%s: %s); trying the next model",
                attempt.route,
                attempt.model,
                reason,
                attempt.error,
            )
        return True

    def cancelled(self, step: Step, *, sent: bool = True) -> None:
        """The caller went away (cancellation, interrupt) during the attempt.

        Args:
            step: The attempt.
            sent: The request may have gone out (else it was still waiting for its turn,
                which is given back).
        """
        step.attempt.outcome = "cancelled"
        for reservation in step.reservations:
            reservation.cancel(sent=sent)
        step.health.release(step.probe)

    def annotate(self, step: Step, response: Any) -> Any:
        """A copy of ``response`` carrying the route's record (the model's own kept inside)."""
        extra = response.additional_kwargs
        if extra:
            inner = extra.get(RESPONSE_KEY)
            if isinstance(inner, RouteRecord):
                step.attempt.inner = inner
            return _with_extra(response, {**extra, RESPONSE_KEY: self.record})
        return _with_extra(response, {RESPONSE_KEY: self.record})

    def error(self) -> BaseException:
        """The error to raise once no model is left."""
        errors = self.errors
        plan = self.plan
        if plan.single and errors:
            return errors[-1]
        if not self.sent and errors:
            if all(isinstance(e, ClientRateLimitError) for e in errors):
                return min(errors, key=lambda e: getattr(e, "retry_after", None) or 0.0)
            if all(isinstance(e, BudgetExceededError) for e in errors):
                return errors[0]
        waits = [w for e in errors if (w := getattr(e, "retry_after", None)) is not None]
        lines = [
            f"  {a.index + 1}. {a.model}: {a.outcome} ({a.reason}): {a.error}"
            for a in self.record.attempts
        ]
        failure = AllModelsFailedError(
            f"no model of route {plan.name!r} could answer:\n" + "\n".join(lines),
            errors=list(errors),
            attempts=list(self.record.attempts),
            route=plan.name,
            retry_after=min(waits) if waits else None,
        )
        failure.__cause__ = errors[-1] if errors else None
        return failure


def _with_extra(response: Any, extra: dict[str, Any]) -> Any:
    """A shallow copy of a response with other ``additional_kwargs`` (as ``model_copy``).

    Written out because it runs on every routed answer: pydantic's ``model_copy``
    costs twice as much for the same copy.
    """
    copy = object.__new__(type(response))
    fields = response.__dict__.copy()
    fields["additional_kwargs"] = extra
    object.__setattr__(copy, "__dict__", fields)
    object.__setattr__(copy, "__pydantic_fields_set__", response.__pydantic_fields_set__ | _EXTRA)
    object.__setattr__(copy, "__pydantic_extra__", response.__pydantic_extra__)
    object.__setattr__(copy, "__pydantic_private__", response.__pydantic_private__)
    return copy


_EXTRA = frozenset({"additional_kwargs"})
