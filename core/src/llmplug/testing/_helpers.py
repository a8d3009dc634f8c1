"""Helpers for testing code that uses llmplug, and for testing plugins (``llmplug.testing``).

* :func:`scripted` builds a ``mock`` LLM answering with the given replies;
  :func:`tool_call` and :func:`react_reply` script tool calls (native and ReAct text);
  :func:`json_reply` scripts a structured answer (bare, in prose or in a code fence).
* :class:`HookRecorder` is a hook plugin that records every lifecycle event;
  :func:`recording_hooks` registers one for the duration of a ``with`` block.
* :func:`fake_entry_point` and :func:`isolated_registry` let plugin tests run entry-point
  discovery against fake distributions, without installing anything.
* :func:`isolated_routing` gives the routes (``llmplug.routing``) a fresh process state,
  on a clock a test controls.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from llmplug.hookspecs import hookimpl
from llmplug.llm._call import CallContext
from llmplug.mock import MockChatLLM
from llmplug.plugins._registry import (
    EntryPointLike,
    Registry,
    register_plugin,
    set_registry,
    unregister_plugin as _unregister,
)
from llmplug.routing._state import RoutingState, set_routing_state
from llmplug.types._blocks import TextBlock, ToolCallBlock
from llmplug.types._messages import ChatMessage, MessageRole

__all__ = [
    "FakeDistribution",
    "FakeEntryPoint",
    "HookEvent",
    "HookRecorder",
    "fake_entry_point",
    "isolated_registry",
    "isolated_routing",
    "json_reply",
    "react_reply",
    "recording_hooks",
    "scripted",
    "tool_call",
]


def scripted(*responses: Any, **options: Any) -> MockChatLLM:
    """A ``mock`` LLM that answers with ``responses`` in order.

    Each response is a string, a ChatMessage, a ChatResponse, or an exception to raise.
    Options are :class:`~llmplug.mock.MockChatLLM` fields (``echo=False`` makes an
    exhausted script an error; ``chunk_delay`` slows streams).
    """
    llm = MockChatLLM(responses=list(responses), **options)
    llm._provider = "mock"
    return llm


@dataclass
class HookEvent:
    """One lifecycle event seen by :class:`HookRecorder`.

    Attributes:
        hook: ``"before_call"``, ``"after_call"``, ``"on_stream_chunk"`` or
            ``"on_call_error"``.
        endpoint: The endpoint called.
        call: The call's context.
        payload: The response, chunk or error (``None`` for ``before_call``).
    """

    hook: str
    endpoint: str
    call: CallContext
    payload: Any = None


@dataclass
class HookRecorder:
    """A hook plugin recording every lifecycle event, in order.

    Attributes:
        events: Everything seen so far.
    """

    events: list[HookEvent] = field(default_factory=list)

    @hookimpl
    def before_call(self, call: CallContext) -> None:
        """Record the start of a call."""
        self.events.append(HookEvent("before_call", call.endpoint, call))

    @hookimpl
    def after_call(self, call: CallContext, response: Any) -> None:
        """Record the end of a call."""
        self.events.append(HookEvent("after_call", call.endpoint, call, response))

    @hookimpl
    def on_stream_chunk(self, call: CallContext, chunk: Any) -> None:
        """Record a streamed chunk."""
        self.events.append(HookEvent("on_stream_chunk", call.endpoint, call, chunk))

    @hookimpl
    def on_call_error(self, call: CallContext, error: BaseException) -> None:
        """Record a failed call."""
        self.events.append(HookEvent("on_call_error", call.endpoint, call, error))

    def hooks(self) -> list[str]:
        """The hook names seen, in order."""
        return [event.hook for event in self.events]

    def clear(self) -> None:
        """Forget the events seen so far."""
        self.events.clear()


@contextmanager
def recording_hooks() -> Iterator[HookRecorder]:
    """Register a :class:`HookRecorder` for the ``with`` block."""
    recorder = HookRecorder()
    name = register_plugin(recorder)
    try:
        yield recorder
    finally:
        _unregister(name)


@dataclass(frozen=True)
class FakeDistribution:
    """A stand-in for ``importlib.metadata.Distribution`` (name and version)."""

    name: str
    version: str = "1.0"


@dataclass(frozen=True)
class FakeEntryPoint:
    """A stand-in for ``importlib.metadata.EntryPoint``.

    ``load()`` imports ``value`` (``module`` or ``module:attr``) unless ``target`` is
    given: an object to return, or an exception instance to raise.
    """

    name: str
    value: str
    group: str
    dist: FakeDistribution | None = None
    target: Any = None

    def load(self) -> Any:
        """Return the target, raise it, or import ``value``."""
        if isinstance(self.target, BaseException):
            raise self.target
        if self.target is not None:
            return self.target
        module, _, attr = self.value.partition(":")
        obj: Any = importlib.import_module(module)
        for part in filter(None, attr.split(".")):
            obj = getattr(obj, part)
        return obj


def fake_entry_point(
    name: str,
    value: str,
    *,
    group: str = "llmplug.providers",
    dist: str | None = "fake-dist",
    version: str = "1.0",
    target: Any = None,
) -> FakeEntryPoint:
    """Build a fake entry point (``group`` defaults to the providers group)."""
    distribution = FakeDistribution(dist, version) if dist is not None else None
    return FakeEntryPoint(name=name, value=value, group=group, dist=distribution, target=target)


@contextmanager
def isolated_registry(
    entry_points: Iterable[FakeEntryPoint | EntryPointLike] = (),
    *,
    with_mock: bool = True,
    with_routes: bool = False,
) -> Iterator[Registry]:
    """Run the ``with`` block against a fresh registry seeing only ``entry_points``.

    Args:
        entry_points: The entry points (any group) the registry discovers.
        with_mock: Also discover core's ``mock`` provider.
        with_routes: Also discover core's routes (``fallback``, ``balance``, ``limit``).
    """
    eps = list(entry_points)
    if with_mock:
        eps.append(fake_entry_point("mock", "llmplug.mock", dist="llmplug"))
    if with_routes:
        eps.extend(
            fake_entry_point(name, "llmplug.routing._providers", dist="llmplug")
            for name in ("fallback", "balance", "limit")
        )

    def listing(group: str) -> list[Any]:
        return [ep for ep in eps if ep.group == group]

    reg = Registry(entry_points=listing)
    previous = set_registry(reg)
    try:
        yield reg
    finally:
        set_registry(previous)


@contextmanager
def isolated_routing(clock: Any = None) -> Iterator[RoutingState]:
    """Run the ``with`` block against a fresh routing state (health, limits, budgets).

    Routes read the state on every call, so routes built before the block use it too.

    Args:
        clock: The clock cooldowns and rate limits read and wait on, e.g.
            ``llmplug.http.testing.FakeClock()`` (its ``sleep`` advances it at once);
            the real clock by default.
    """
    state = RoutingState(clock=clock)
    previous = set_routing_state(state)
    try:
        yield state
    finally:
        set_routing_state(previous)


def tool_call(
    tool_name: str,
    tool_kwargs: dict[str, Any] | str | None = None,
    *,
    tool_call_id: str | None = None,
    text: str | None = None,
    more: Iterable[ToolCallBlock] = (),
) -> ChatMessage:
    """A scripted assistant reply calling ``tool_name`` natively (for :func:`scripted`).

    Args:
        tool_name: The tool to call (any name: invented ones test error handling).
        tool_kwargs: The arguments; a str is sent as raw (possibly invalid) JSON text.
        tool_call_id: The call's id (default: ``"call_<tool_name>"``).
        text: Text the reply holds before the call.
        more: Further calls in the same reply (parallel calls); build them with
            ``ToolCallBlock(tool_call_id=..., tool_name=..., tool_kwargs=...)``.
    """
    blocks: list[Any] = [TextBlock(text=text)] if text else []
    blocks.append(
        ToolCallBlock(
            tool_call_id=tool_call_id or f"call_{tool_name}",
            tool_name=tool_name,
            tool_kwargs={} if tool_kwargs is None else tool_kwargs,
        )
    )
    blocks.extend(more)
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks)


def react_reply(
    tool_name: str, arguments: str | dict[str, Any], thought: str = "I need a tool."
) -> str:
    """A scripted ReAct text reply calling ``tool_name`` (for models without native calls).

    Args:
        tool_name: The tool to call.
        arguments: The Action Input: a dict (written as JSON) or the text as the model
            would write it.
        thought: The Thought line.
    """
    import json

    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return f"Thought: {thought}\nAction: {tool_name}\nAction Input: {text}"


def json_reply(value: Any, style: str = "bare", *, indent: int | None = None) -> str:
    """A scripted text reply holding ``value`` as JSON, as models write it.

    Args:
        value: A dict, a list, a pydantic model (or a list of them), or a str sent as
            it is (malformed JSON, to test retries).
        style: ``"bare"`` (only the JSON), ``"prose"`` (sentences around it) or
            ``"fence"`` (in a ```` ```json ```` block after a sentence).
        indent: Indent the JSON (it is one line by default).
    """
    import json

    from pydantic import BaseModel

    if isinstance(value, str):
        text = value
    else:
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        elif isinstance(value, list):
            value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
        text = json.dumps(value, indent=indent)
    if style == "prose":
        return f"Sure! Here is the answer: {text} I hope this helps."
    if style == "fence":
        return f"Here you go:\n\n```json\n{text}\n```\n"
    if style != "bare":
        raise ValueError(f"style must be 'bare', 'prose' or 'fence', not {style!r}")
    return text
