"""Call instrumentation: lifecycle hooks around the eight LLM endpoints.

``LLM.__pydantic_init_subclass__`` wraps every endpoint a class defines with one of the
four wrappers below (sync/async x plain/stream). A wrapper:

1. detects a nested call on the same LLM (``complete`` derived from ``chat``, a provider
   calling ``self.chat``) and passes it straight through, so hooks fire once per user
   call and the system prompt is applied once;
2. checks the arguments, at the call (a stream's too, though it starts on the first
   ``next()``), with LlamaIndex's exception types: no prompt is a ``ValueError``, no
   messages or arguments the implementation cannot take a ``TypeError``;
3. applies ``system_prompt`` / ``completion_to_prompt`` (the LLM's ``_prepare_*``);
4. runs the hooks: ``before_call`` (may change or refuse), ``answer_call`` (may answer),
   the provider, then ``on_stream_chunk`` per chunk and ``after_call`` or
   ``on_call_error``.

The two reserved per-call keywords, ``plugins=`` and ``conversation_id=``, are taken out
of the call's arguments before anything else (the provider never sees them) and become
the :class:`CallContext`'s settings; a plugin set to ``False`` there has its hooks
skipped for that call.

With no lifecycle hookimpls registered the cost is one context-variable set and reset
per call, and per chunk of a stream -- none per chunk for an implementation marked with
:func:`flat_stream`, whose stream the caller then iterates directly.

While hooks are registered, the implementation runs with its :class:`CallContext` as
:func:`current_call`, so an LLM built of other LLMs (a route) can leave a record of
what it did in ``call.state`` for the hooks that see the call end.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from llmplug.errors import CallRefusedError, HookError
from llmplug.llm._call import CHAT_ENDPOINTS, CallContext
from llmplug.llm._call_args import Binder, Settings, switched_off, take_settings
from llmplug.llm._plugin_host import HookSet, plugin_host
from llmplug.types._responses import ChatResponse, CompletionResponse

if TYPE_CHECKING:
    from pluggy import HookImpl

    from llmplug.llm._base import LLM

__all__ = [
    "ENDPOINTS",
    "current_call",
    "flat_stream",
    "instrument",
    "instrument_class",
    "via_chat",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The LLM currently inside an instrumented call in this context (for nesting).
_ACTIVE: ContextVar[object | None] = ContextVar("llmplug_active_llm", default=None)
#: The call whose implementation is running in this context (only while hooks exist).
_CALL: ContextVar[CallContext | None] = ContextVar("llmplug_current_call", default=None)


def current_call() -> CallContext | None:
    """The call whose implementation is running now, as the lifecycle hooks see it.

    For implementations that want to leave per-call data for hooks (in ``call.state``):
    while lifecycle hooks are registered, an endpoint's implementation (and each step of
    its stream) runs with its :class:`CallContext` here. ``None`` when no hookimpl is
    registered (no one would read it), or outside an endpoint's implementation.
    """
    return _CALL.get()


ENDPOINTS = (
    "chat",
    "complete",
    "stream_chat",
    "stream_complete",
    "achat",
    "acomplete",
    "astream_chat",
    "astream_complete",
)


# -- running hooks -----------------------------------------------------------------------


def _args(impl: HookImpl, values: dict[str, Any]) -> list[Any]:
    return list(map(values.__getitem__, impl.argnames))  # no comprehension frame per call


def _observe(impls: tuple[HookImpl, ...], hook: str, values: dict[str, Any]) -> None:
    """Run observer hooks; a failing observer is logged with its plugin's name."""
    for impl in impls:
        try:
            impl.function(*_args(impl, values))
        except Exception:
            import logging  # lazy for lightness: only when an observer fails

            logging.getLogger("llmplug").exception(
                "plugin %r raised in %s; the call's result is kept", impl.plugin_name, hook
            )


def _before(hooks: HookSet, call: CallContext) -> Any:
    """Run ``before_call`` then ``answer_call``; return an answer or ``None``.

    A refusal or a failing hook ends the call: ``on_call_error`` observers see it (so a
    span opened in ``before_call`` is closed), then the caller gets it.
    """
    if not (hooks.before_call or hooks.answer_call):
        return None
    try:
        return _run_before(hooks, call)
    except HookError as exc:
        _failed(hooks, call, exc)
        raise


def _run_before(hooks: HookSet, call: CallContext) -> Any:
    values = {"call": call}
    hook = "before_call"
    impls = hooks.before_call
    impl = None
    try:
        for impl in impls:
            impl.function(*_args(impl, values))
        hook, impls = "answer_call", hooks.answer_call
        for impl in impls:
            answer = impl.function(*_args(impl, values))
            if answer is not None:
                _check_answer(call, answer, impl.plugin_name)
                call.answered_by = impl.plugin_name
                return answer
    except CallRefusedError as exc:
        if impl is not None and not exc.plugin:
            exc.plugin = impl.plugin_name
        exc.provider = exc.provider or call.provider
        raise
    except HookError:
        raise
    except Exception as exc:
        name = impl.plugin_name if impl is not None else "?"
        raise HookError(
            f"plugin {name!r} raised in {hook}: {type(exc).__name__}: {exc}",
            plugin=name,
            hook=hook,
            provider=call.provider,
        ) from exc
    return None


def _check_answer(call: CallContext, answer: Any, plugin: str) -> None:
    expected = ChatResponse if call.is_chat else CompletionResponse
    if call.is_stream and isinstance(answer, list | tuple):
        if answer and all(isinstance(chunk, expected) for chunk in answer):
            return  # the chunks of a stream, replayed as they are
        problem = "an empty list" if not answer else "a list holding other things"
    elif isinstance(answer, expected):
        return
    else:
        problem = type(answer).__name__
    chunks = f", a list of {expected.__name__} chunks," if call.is_stream else ""
    raise HookError(
        f"plugin {plugin!r} answered {call.endpoint} with {problem}; "
        f"answer_call must return a {expected.__name__}{chunks} or None",
        plugin=plugin,
        hook="answer_call",
        provider=call.provider,
    )


def _finish(hooks: HookSet, call: CallContext, response: Any) -> None:
    call.ended = time.perf_counter()
    call.response = response
    if hooks.after_call:
        _observe(hooks.after_call, "after_call", {"call": call, "response": response})


def _failed(hooks: HookSet, call: CallContext, error: BaseException) -> None:
    call.ended = time.perf_counter()
    call.error = error
    _observe(hooks.on_call_error, "on_call_error", {"call": call, "error": error})


def _as_stream_chunk(answer: Any) -> Any:
    if answer.delta is None:
        text = answer.message.content if hasattr(answer, "message") else answer.text
        return answer.model_copy(update={"delta": text or ""})
    return answer


def _context(
    llm: LLM,
    endpoint: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    settings: Settings | None,
    hooks: HookSet,
) -> tuple[CallContext, HookSet]:
    """The call's context, and the hooks that run for it (some may be switched off)."""
    parent = _CALL.get()
    plugins: dict[str, Any] = {**llm.plugins} if llm.plugins else {}
    conversation = None
    if parent is not None:
        plugins.update(parent.plugins)
        conversation = parent.conversation_id
    if settings is not None:
        plugins.update(settings[0])
        conversation = settings[1] or conversation
    call = CallContext(
        llm=llm,
        endpoint=endpoint,
        kwargs=kwargs,
        provider=llm.provider_label,
        plugins=plugins,
        conversation_id=conversation,
        parent=parent,
    )
    if plugins:
        plugin_host().check_setting_names(plugins)
        if False in plugins.values():
            hooks = switched_off(hooks, plugins)
    if endpoint not in CHAT_ENDPOINTS:
        call.prompt = args[0]
    elif hooks.before_call or hooks.answer_call:
        # these hooks may rewrite messages: give them copies, so the caller's history is
        # never changed (a block list is copied too; blocks themselves are shared)
        call.messages = [m.model_copy(update={"blocks": list(m.blocks)}) for m in args[0]]
    else:
        # only observers run (after the call): they read the messages as sent
        call.messages = list(args[0])
    return call, hooks


def _call_args(call: CallContext, rest: tuple[Any, ...]) -> tuple[Any, ...]:
    return (call.messages if call.is_chat else call.prompt, *rest)


def via_chat(fn: F) -> F:
    """Mark a completion endpoint derived from chat: it formats its own prompt (as messages)."""
    fn.__llmplug_via_chat__ = True  # type: ignore[attr-defined]
    return fn


def flat_stream(impl: F) -> F:
    """Mark a stream endpoint that needs no per-chunk layer when no hooks are registered.

    For an implementation whose stream (the generator it returns, or the async generator
    its coroutine returns) does nothing before the first ``next()`` and never calls an
    endpoint of its own LLM while it is iterated -- as the HTTP runtime's streams. With no
    lifecycle hookimpls registered, the caller then iterates the provider's stream
    directly; with hooks, the stream is watched as any other.
    """
    impl.__llmplug_flat_stream__ = True  # type: ignore[attr-defined]
    return impl


# -- the four wrappers -------------------------------------------------------------------


def instrument(endpoint: str, impl: F) -> F:
    """Wrap one endpoint implementation with nesting detection, preparation and hooks."""
    if getattr(impl, "__llmplug_instrumented__", False):
        return impl
    is_chat = endpoint in CHAT_ENDPOINTS
    is_stream = "stream" in endpoint
    is_async = endpoint.startswith("a")
    # completion endpoints derived from chat format their own prompt (as messages)
    prepares = is_chat or not getattr(impl, "__llmplug_via_chat__", False)
    flat = is_stream and getattr(impl, "__llmplug_flat_stream__", False)

    first = "messages" if is_chat else "prompt"
    # a stream's implementation runs on the first next(): bind its arguments at the call
    binder = Binder(endpoint, impl) if is_stream else None

    def prepare(self: LLM, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        if not args and first not in kwargs:
            if is_chat:
                raise TypeError(f"{endpoint}() missing its first argument {first!r}")
            # LlamaIndex's completion endpoints raise ValueError here
            raise ValueError(
                f"{endpoint}() got no prompt: pass it as the first argument or as prompt=..."
            )
        if binder is not None:
            binder.check(self, args, kwargs)
        if not args:  # llm.chat(messages=...): the hooks and the preparation need it first
            args = (kwargs.pop(first),)
        if not prepares:
            self._check_prompt(args[0])
            return args
        if is_chat:
            return (self._prepare_messages(args[0]), *args[1:])
        return self._prepare_prompt(args, kwargs)

    if not is_stream and not is_async:

        @functools.wraps(impl)
        def sync_call(self: LLM, *args: Any, **kwargs: Any) -> Any:
            if _ACTIVE.get() is self:
                return impl(self, *args, **kwargs)
            token = _ACTIVE.set(self)
            try:
                settings = take_settings(self, kwargs) if kwargs else None
                args = prepare(self, args, kwargs)
                hooks = plugin_host().hookset()
                if hooks is None:
                    return impl(self, *args, **kwargs)
                call, hooks = _context(self, endpoint, args, kwargs, settings, hooks)
                answer = _before(hooks, call)
                try:
                    if answer is not None:
                        result = answer
                    else:
                        current = _CALL.set(call)
                        try:
                            result = impl(self, *_call_args(call, args[1:]), **call.kwargs)
                        finally:
                            _CALL.reset(current)
                except BaseException as exc:
                    _failed(hooks, call, exc)
                    raise
                _finish(hooks, call, result)
                return result
            finally:
                _ACTIVE.reset(token)

        wrapper: Any = sync_call

    elif not is_stream:

        @functools.wraps(impl)
        async def async_call(self: LLM, *args: Any, **kwargs: Any) -> Any:
            if _ACTIVE.get() is self:
                return await impl(self, *args, **kwargs)
            token = _ACTIVE.set(self)
            try:
                settings = take_settings(self, kwargs) if kwargs else None
                args = prepare(self, args, kwargs)
                hooks = plugin_host().hookset()
                if hooks is None:
                    return await impl(self, *args, **kwargs)
                call, hooks = _context(self, endpoint, args, kwargs, settings, hooks)
                answer = _before(hooks, call)
                try:
                    if answer is not None:
                        result = answer
                    else:
                        current = _CALL.set(call)
                        try:
                            result = await impl(self, *_call_args(call, args[1:]), **call.kwargs)
                        finally:
                            _CALL.reset(current)
                except BaseException as exc:
                    _failed(hooks, call, exc)
                    raise
                _finish(hooks, call, result)
                return result
            finally:
                _ACTIVE.reset(token)

        wrapper = async_call

    elif not is_async:

        @functools.wraps(impl)
        def stream_call(self: LLM, *args: Any, **kwargs: Any) -> Any:
            if _ACTIVE.get() is self:
                return impl(self, *args, **kwargs)
            token = _ACTIVE.set(self)
            try:
                settings = take_settings(self, kwargs) if kwargs else None
                args = prepare(self, args, kwargs)  # bad input fails at the call
                if flat and plugin_host().hookset() is None:
                    return impl(self, *args, **kwargs)  # the provider's stream, as it is
            finally:
                _ACTIVE.reset(token)
            # hooks and the provider start on the first next(): a stream never read
            # opens no call that would never end
            return _watch(self, endpoint, impl, args, kwargs, settings)

        wrapper = stream_call

    else:

        @functools.wraps(impl)
        async def astream_call(self: LLM, *args: Any, **kwargs: Any) -> Any:
            if _ACTIVE.get() is self:
                return await _maybe_await(impl(self, *args, **kwargs))
            token = _ACTIVE.set(self)
            try:
                settings = take_settings(self, kwargs) if kwargs else None
                args = prepare(self, args, kwargs)
                if flat and plugin_host().hookset() is None:
                    return await impl(self, *args, **kwargs)
            finally:
                _ACTIVE.reset(token)
            return _awatch(self, endpoint, impl, args, kwargs, settings)

        wrapper = astream_call

    wrapper.__llmplug_instrumented__ = True
    return wrapper  # type: ignore[no-any-return]


async def _maybe_await(value: Any) -> Any:
    # ``async def astream_chat(...)`` may return an async generator (LlamaIndex style)
    # or be an async generator function itself; accept both.
    if inspect.isawaitable(value):
        return await value
    return value


async def _replay(chunks: list[Any]) -> AsyncIterator[Any]:
    for chunk in chunks:
        yield chunk


class _StreamHooks:
    """The hook bookkeeping of one stream, shared by the sync and async watchers."""

    __slots__ = ("call", "hooks", "last")

    def __init__(self, hooks: HookSet | None, call: CallContext | None) -> None:
        self.hooks = hooks if call is not None else None
        self.call = call
        self.last: Any = None

    def chunk(self, chunk: Any) -> None:
        self.last = chunk
        call = self.call
        if self.hooks is not None and call is not None:
            call.chunks += 1
            if call.chunks == 1:
                call.first_chunk_at = time.perf_counter()
            if self.hooks.on_stream_chunk:  # none: a plugin that only sees the end costs nothing
                values = {"call": call, "chunk": chunk}
                _observe(self.hooks.on_stream_chunk, "on_stream_chunk", values)

    def ended(self, *, cancelled: bool = False) -> None:
        if self.hooks is not None and self.call is not None:
            self.call.cancelled = cancelled
            _finish(self.hooks, self.call, self.last)

    def failed(self, exc: BaseException) -> None:
        if self.hooks is not None and self.call is not None:
            _failed(self.hooks, self.call, exc)


def _start(
    llm: LLM,
    endpoint: str,
    impl: Callable[..., Any],
    args: Any,
    kwargs: dict[str, Any],
    settings: Settings | None,
) -> tuple[Any, HookSet | None, CallContext | None]:
    """Run the start hooks and call the provider: ``(its result, hooks, call)``.

    The result is the provider's stream, or an awaitable of it (async endpoints).
    """
    hooks = plugin_host().hookset()
    if hooks is None:
        return impl(llm, *args, **kwargs), None, None
    call, hooks = _context(llm, endpoint, args, kwargs, settings, hooks)
    answer = _before(hooks, call)
    if answer is not None:
        # a list is a stream's chunks, replayed one by one; one response is one chunk
        chunks = list(answer) if isinstance(answer, list | tuple) else [_as_stream_chunk(answer)]
        return (iter(chunks) if not call.is_async else _replay(chunks)), hooks, call
    current = _CALL.set(call)
    try:
        return impl(llm, *_call_args(call, args[1:]), **call.kwargs), hooks, call
    except BaseException as exc:
        _failed(hooks, call, exc)
        raise
    finally:
        _CALL.reset(current)


def _watch(
    llm: LLM,
    endpoint: str,
    impl: Callable[..., Any],
    args: Any,
    kwargs: dict[str, Any],
    settings: Settings | None,
) -> Iterator[Any]:
    """Start a provider's stream and re-yield it, marking nesting and firing the hooks."""
    token = _ACTIVE.set(llm)
    try:
        gen, hooks, call = _start(llm, endpoint, impl, args, kwargs, settings)
    finally:
        _ACTIVE.reset(token)
    watch = _StreamHooks(hooks, call)
    try:
        while True:
            token = _ACTIVE.set(llm)
            current = _CALL.set(call)
            try:
                chunk = next(gen)
            except StopIteration:
                break
            finally:
                _CALL.reset(current)
                _ACTIVE.reset(token)
            watch.chunk(chunk)
            yield chunk
    except (GeneratorExit, KeyboardInterrupt):
        # the consumer stopped: it closed the stream, or its user pressed Ctrl-C (which
        # lands wherever the main thread is, often inside the provider's next chunk)
        close = getattr(gen, "close", None)
        if close is not None:
            close()
        watch.ended(cancelled=True)
        raise
    except BaseException as exc:
        watch.failed(exc)
        raise
    watch.ended()


async def _awatch(
    llm: LLM,
    endpoint: str,
    impl: Callable[..., Any],
    args: Any,
    kwargs: dict[str, Any],
    settings: Settings | None,
) -> AsyncIterator[Any]:
    """The async twin of :func:`_watch`; task cancellation counts as the consumer stopping.

    As on the sync path, so does Ctrl-C (``KeyboardInterrupt``).
    """
    token = _ACTIVE.set(llm)
    try:
        started, hooks, call = _start(llm, endpoint, impl, args, kwargs, settings)
        current = _CALL.set(call)
        try:
            agen = await _maybe_await(started)
        except BaseException as exc:
            if hooks is not None and call is not None:
                _failed(hooks, call, exc)
            raise
        finally:
            _CALL.reset(current)
    finally:
        _ACTIVE.reset(token)
    watch = _StreamHooks(hooks, call)
    try:
        while True:
            token = _ACTIVE.set(llm)
            current = _CALL.set(call)
            try:
                chunk = await agen.__anext__()
            except StopAsyncIteration:
                break
            finally:
                _CALL.reset(current)
                _ACTIVE.reset(token)
            watch.chunk(chunk)
            yield chunk
    except BaseException as exc:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            await aclose()
        if isinstance(exc, GeneratorExit | KeyboardInterrupt | _cancelled()):
            watch.ended(cancelled=True)
        else:
            watch.failed(exc)
        raise
    watch.ended()


def _cancelled() -> type[BaseException]:
    import asyncio  # lazy for lightness; already loaded, since a loop is running

    return asyncio.CancelledError


def instrument_class(cls: type[Any]) -> None:
    """Wrap every endpoint ``cls`` itself defines (``LLM.__pydantic_init_subclass__``)."""
    for name in ENDPOINTS:
        fn = cls.__dict__.get(name)
        if fn is None or getattr(fn, "__isabstractmethod__", False):
            continue
        setattr(cls, name, instrument(name, fn))
