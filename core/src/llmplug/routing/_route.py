"""``RoutedLLM``: the base of every route, an LLM made of other LLMs.

A route offers all eight endpoints and calls the same endpoint of one of its models at
a time (:mod:`llmplug.routing._engine`), so everything built on the endpoints -- the
seed API's ``predict``, ``structured_predict``, ``predict_and_call``,
``as_structured_llm``... -- works through it. Two things differ from model to model and
are therefore done per model, at the last moment: the wire format of tools (a route of
function-calling models calls tools natively, each in its own format), and the
per-call options that ask a model for output in a JSON schema.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from pydantic import Field, PrivateAttr, field_validator, model_validator

from llmplug.llm._base import Capabilities
from llmplug.llm._instrument import flat_stream, via_chat
from llmplug.prompts._formatting import completion_to_prompt as default_completion_to_prompt
from llmplug.routing._call import SCHEMA_KEY, TOOLS_KEY, ToolRequest
from llmplug.routing._engine import arun, astream, run, stream
from llmplug.routing._limits import BudgetState, RateLimiter, parse_period
from llmplug.routing._members import Member, Slot, resolve
from llmplug.routing._plan import RoutePlan
from llmplug.routing._state import RoutingState, routing_state
from llmplug.tools._function_calling import (
    FunctionCallingLLM,
    resolve_tool_choice,
    tool_chat_messages,
)
from llmplug.types._messages import ChatMessage
from llmplug.types._responses import (
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
)

__all__ = ["RoutedLLM"]


class RoutedLLM(FunctionCallingLLM):
    """The base of the routes (:class:`FallbackLLM`, :class:`BalancedLLM`, :class:`LimitedLLM`).

    Its fields are what every route takes: its name, a rate limit and a budget for the
    route as a whole, how a failing model cools down, and which errors to move on for.
    A route's metadata is its first model's, except ``is_function_calling_model``: true
    only when every model calls tools natively.

    Attributes:
        name: The route's name in records and logs (default: the kind and its models,
            ``"fallback:fast,smart"``).
        group: The name its own rate limit and budget are shared under in the process
            (default: ``name``). Routes naming the same group share one limit.
        rpm: Requests per minute through the whole route (client-side).
        tpm: Tokens per minute through the whole route (estimated before each call,
            corrected from the real usage after it).
        burst: Seconds of ``rpm``/``tpm`` that may be used at once (1: evenly spread).
        max_wait: The longest a call waits for a rate limit, in seconds, once no model
            has room (``None``: as long as it takes; ``0``: fail fast with
            :class:`~llmplug.errors.ClientRateLimitError`).
        budget_tokens: Tokens the route may use (per ``budget_period``).
        budget_cost: What the route may cost (per ``budget_period``); every model needs
            a ``price``.
        budget_period: When budgets start again (seconds, or ``"1h"``, ``"1d"``...).
        cooldown: Seconds a model is passed over once it keeps failing (0: never).
        failure_threshold: Failures in a row that start a cooldown (a rate limit with a
            ``Retry-After`` starts one at once, for at least that long).
        fallback_on_content_policy: Move on when a model's content filter refuses the
            prompt (:class:`~llmplug.errors.ContentPolicyError`).
        member_max_retries: Pass ``max_retries=`` to each model that takes it (HTTP
            providers), e.g. 0 to move on at a model's first failure instead of
            retrying it; ``None`` keeps each model's own setting.
        token_estimator: Counts a call's prompt tokens for ``tpm`` limits (given the
            messages, or the prompt); the default counts about four characters a token.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(
        chat=True,
        streaming=True,
        native_async=True,
        tools=True,
        json_schema=True,
        vision=True,
        audio=True,
        video=True,
        documents=True,
    )
    #: ``"fallback"``, ``"balance"`` or ``"limit"``.
    kind: ClassVar[str] = "route"
    #: A route of one model raises that model's error as it is.
    single_model: ClassVar[bool] = False

    name: str | None = None
    group: str | None = None
    rpm: float | None = Field(default=None, gt=0)
    tpm: float | None = Field(default=None, gt=0)
    burst: float = Field(default=1.0, gt=0)
    max_wait: float | None = Field(default=None, ge=0)
    budget_tokens: int | None = Field(default=None, gt=0)
    budget_cost: float | None = Field(default=None, gt=0)
    budget_period: float | None = None
    cooldown: float = Field(default=10.0, ge=0)
    failure_threshold: int = Field(default=3, ge=1)
    fallback_on_content_policy: bool = False
    member_max_retries: int | None = Field(default=None, ge=0)
    token_estimator: Callable[[Any], int] | None = Field(default=None, exclude=True, repr=False)

    _plan: RoutePlan | None = PrivateAttr(default=None)
    _built_from: tuple[Any, ...] = PrivateAttr(default=())
    _metadata: LLMMetadata | None = PrivateAttr(default=None)

    @field_validator("budget_period", mode="before")
    @classmethod
    def _period(cls, value: Any) -> float | None:
        return parse_period(value)

    # -- building ---------------------------------------------------------------------

    @abstractmethod
    def _members(self) -> tuple[list[Member], list[Member]]:
        """The route's models, and the ones tried only for a prompt too long."""

    def _slot_weights(self) -> list[float] | None:
        """Weights that replace the members' own, in order (``None``: keep theirs)."""
        return None

    def _default_limit_key(self, name: str, slots: list[Slot]) -> str:
        """The name of the route's own limit and budget when ``group`` is not given."""
        return name

    @model_validator(mode="after")
    def _build(self) -> RoutedLLM:
        main, context = self._members()
        weights = self._slot_weights()
        built_from = (
            *map(id, (*main, *context)),
            *(weights or ()),
            self.rpm,
            self.tpm,
            self.burst,
            self.budget_tokens,
            self.budget_cost,
            self.budget_period,
            self.name,
            self.group,
            self.strategy_name,
        )
        if built_from == self._built_from:
            return self  # another field was assigned: the plan is the same
        if not main:
            raise ValueError(f"a {self.kind} route needs at least one model")
        slots = [resolve(member) for member in main]
        for slot, weight in zip(slots, weights or (), strict=False):
            slot.weight = weight
        context_slots = [resolve(m, only_for_context=True) for m in context]
        if self.budget_cost is not None:
            unpriced = [slot.name for slot in (*slots, *context_slots) if slot.price is None]
            if unpriced:
                raise ValueError(
                    f"budget_cost needs a price for every model; {', '.join(unpriced)} has "
                    f"none: give it as a member, Member(spec, price=(input, output)) per "
                    f"million tokens"
                )
        name = self.name or f"{self.kind}:{','.join(slot.name for slot in slots)}"
        has_limit = self.rpm is not None or self.tpm is not None
        has_budget = self.budget_tokens is not None or self.budget_cost is not None
        plan = RoutePlan(
            name=name,
            kind=self.kind,
            strategy=self.strategy_name,
            slots=slots,
            context_slots=context_slots,
            single=self.single_model or (len(slots) == 1 and not context_slots),
            limit_key=self.group or self._default_limit_key(name, slots),
            route_limit=(self.rpm, self.tpm, self.burst) if has_limit else None,
            route_budget=(
                (self.budget_tokens, self.budget_cost, self.budget_period) if has_budget else None
            ),
        )
        plan.bind(routing_state())  # declares limits and budgets: a conflict fails at once
        self._plan = plan
        self._built_from = built_from
        self._metadata = None
        return self

    def _plan_now(self) -> RoutePlan:
        # read from pydantic's private dict: ``self._plan`` goes through the slow
        # ``BaseModel.__getattr__`` fallback, and this is read on every call
        return self.__pydantic_private__["_plan"]  # type: ignore[index,no-any-return]

    @property
    def route_name(self) -> str:
        """The route's name in records and logs."""
        return self._plan_now().name

    @property
    def strategy_name(self) -> str:
        """How the route orders its models (``"order"`` unless it balances load)."""
        return "order"

    def limiter(self, model: str | None = None) -> RateLimiter | None:
        """The client-side rate limit of the route, or of one of its models (by name).

        Read its room with ``available()``; ``None`` when there is no such limit.

        Raises:
            KeyError: No model of the route has that name.
        """
        plan = self._plan_now()
        plan.bind(routing_state())
        return plan.limiter(None if model is None else self._slot(model))

    def budget(self, model: str | None = None) -> BudgetState | None:
        """The budget of the route, or of one of its models (by name); ``None``: none.

        Raises:
            KeyError: No model of the route has that name.
        """
        plan = self._plan_now()
        plan.bind(routing_state())
        return plan.budget(None if model is None else self._slot(model))

    def _slot(self, model: str) -> Slot:
        slots = self._plan_now().everyone
        for slot in slots:
            if model in (slot.name, slot.key):
                return slot
        raise KeyError(
            f"route {self.route_name!r} has no model {model!r}; its models: "
            f"{', '.join(slot.name for slot in slots)}"
        )

    @property
    def llms(self) -> list[Any]:
        """The route's LLMs, in their order (context-window fallbacks last)."""
        return [slot.llm for slot in self._plan_now().everyone]

    def _order(
        self, state: RoutingState, plan: RoutePlan
    ) -> tuple[list[Slot], Callable[[], list[Slot]] | None]:
        """The models of one call in order: the first ones, and how to get the others.

        Returns:
            The models to try first, and a function giving the rest (called only if
            those fail), or ``None`` when the first list holds them all.
        """
        return list(plan.slots), None

    # -- what the route says about itself ---------------------------------------------

    @property
    def metadata(self) -> LLMMetadata:
        """The first model's metadata; function calling only if every model calls tools."""
        private = self.__pydantic_private__ or {}
        metadata: LLMMetadata | None = private.get("_metadata")
        if metadata is None:
            plan = self._plan_now()
            metadata = plan.slots[0].llm.metadata.model_copy(
                update={"is_function_calling_model": all(s.calls_tools for s in plan.everyone)}
            )
            self._metadata = metadata
        return metadata

    def __repr_args__(self) -> Any:
        yield "route", self.route_name
        for key, value in super().__repr_args__():
            if key != "name" and value is not None and key not in _QUIET:
                yield key, value

    # -- tools and structured output, per model ---------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[Any],
        user_msg: str | ChatMessage | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Keep the tools for each model to put in its own format when it is called."""
        resolve_tool_choice(tools, tool_choice, tool_required, self.provider_label)
        request = ToolRequest(
            list(tools), verbose, allow_parallel_tool_calls, tool_required, tool_choice
        )
        return {
            "messages": tool_chat_messages(user_msg, chat_history),
            TOOLS_KEY: request,
            **kwargs,
        }

    def _structured_request_kwargs(self, schema: Any) -> dict[str, Any] | None:
        """Native JSON-schema output when every model offers it (each asks in its format)."""
        for slot in self._plan_now().everyone:
            llm = slot.llm
            if not type(llm).capabilities.json_schema:
                return None
            if llm._structured_request_kwargs(schema) is None:
                return None
        return {SCHEMA_KEY: schema}

    # -- the eight endpoints ----------------------------------------------------------

    def _own_prompt(self, prompt: Any, formatted: bool) -> tuple[Any, bool]:
        # the models format a prompt their own way (completion_to_prompt) unless this
        # route was given a formatter of its own; its system prompt goes first either way
        if formatted or not isinstance(prompt, str):
            return prompt, formatted
        prompt = self._extend_prompt(prompt)
        if self.completion_to_prompt is not default_completion_to_prompt:
            return self.completion_to_prompt(prompt), True
        return prompt, False

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Chat with the first model that answers."""
        return run(self, "chat", (messages,), kwargs)  # type: ignore[no-any-return]

    @via_chat
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Complete with the first model that answers."""
        prompt, formatted = self._own_prompt(prompt, formatted)
        return run(self, "complete", (prompt,), {**kwargs, "formatted": formatted})  # type: ignore[no-any-return]

    @flat_stream
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream from the first model whose stream starts (moving on only before a chunk)."""
        return stream(self, "stream_chat", (messages,), kwargs)  # type: ignore[return-value]

    @via_chat
    @flat_stream
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream a completion from the first model whose stream starts."""
        prompt, formatted = self._own_prompt(prompt, formatted)
        return stream(  # type: ignore[return-value]
            self, "stream_complete", (prompt,), {**kwargs, "formatted": formatted}
        )

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async :meth:`chat`."""
        return await arun(self, "achat", (messages,), kwargs)  # type: ignore[no-any-return]

    @via_chat
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Async :meth:`complete`."""
        prompt, formatted = self._own_prompt(prompt, formatted)
        return await arun(  # type: ignore[no-any-return]
            self, "acomplete", (prompt,), {**kwargs, "formatted": formatted}
        )

    @flat_stream
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat`: ``gen = await route.astream_chat(...)``."""
        return astream(self, "astream_chat", (messages,), kwargs)  # type: ignore[return-value]

    @via_chat
    @flat_stream
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Async :meth:`stream_complete`."""
        prompt, formatted = self._own_prompt(prompt, formatted)
        return astream(  # type: ignore[return-value]
            self, "astream_complete", (prompt,), {**kwargs, "formatted": formatted}
        )

    # -- resources ----------------------------------------------------------------------

    def close(self) -> None:
        """Close every model that holds connections (``close()``)."""
        for llm in self.llms:
            close = getattr(llm, "close", None)
            if callable(close):
                close()

    async def aclose(self) -> None:
        """Close every model's async connections (``aclose()``)."""
        for llm in self.llms:
            aclose = getattr(llm, "aclose", None)
            if callable(aclose):
                await aclose()


_QUIET = frozenset({"burst", "cooldown", "failure_threshold", "fallback_on_content_policy"})
