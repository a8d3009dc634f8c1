"""The attempt loops of a route, sync and async, for calls and for streams.

Each model is called once, through its own endpoint (its own retry loop, its own
hooks); an error another model can fix moves on to the next (:class:`RoutedCall`
decides), any other error ends the call. A stream moves on only before its first
chunk: once output was delivered it is never repeated.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from llmplug.routing._call import RoutedCall, Step
from llmplug.routing._record import _ATTEMPT

if TYPE_CHECKING:
    from llmplug.routing._route import RoutedLLM

__all__ = ["arun", "astream", "run", "stream"]

_EMPTY = object()


# -- the four loops ------------------------------------------------------------------------


def _wait(call: RoutedCall, step: Step) -> None:
    """Sleep until the step's turn under its rate limits (giving it back if interrupted)."""
    try:
        call.state.clock.sleep(step.wait)
    except BaseException:
        call.cancelled(step, sent=False)
        raise


async def _await(call: RoutedCall, step: Step) -> None:
    """Await the step's turn without blocking the loop (giving it back if cancelled)."""
    try:
        await call.state.clock.asleep(step.wait)
    except BaseException:
        call.cancelled(step, sent=False)
        raise


def run(route: RoutedLLM, endpoint: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call ``endpoint`` on the route's models until one answers (sync)."""
    call = RoutedCall(route, route._plan_now(), endpoint, args, kwargs)
    while (step := call.next()) is not None:
        if step.wait > 0:
            _wait(call, step)
        token = _ATTEMPT.set(step.attempt)
        try:
            margs, mkwargs = call.member_args(step.slot)
            start = time.perf_counter()
            response = getattr(step.slot.llm, endpoint)(*margs, **mkwargs)
        except Exception as exc:
            if call.failed(step, exc):
                continue
            raise
        except BaseException:
            call.cancelled(step)
            raise
        finally:
            _ATTEMPT.reset(token)
        return call.answered(step, response, time.perf_counter() - start)
    raise call.error()


async def arun(
    route: RoutedLLM, endpoint: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Call ``endpoint`` on the route's models until one answers (async)."""
    call = RoutedCall(route, route._plan_now(), endpoint, args, kwargs)
    while (step := call.next()) is not None:
        if step.wait > 0:
            await _await(call, step)
        token = _ATTEMPT.set(step.attempt)
        try:
            margs, mkwargs = call.member_args(step.slot)
            start = time.perf_counter()
            response = await getattr(step.slot.llm, endpoint)(*margs, **mkwargs)
        except Exception as exc:
            if call.failed(step, exc):
                continue
            raise
        except BaseException:
            call.cancelled(step)
            raise
        finally:
            _ATTEMPT.reset(token)
        return call.answered(step, response, time.perf_counter() - start)
    raise call.error()


def stream(
    route: RoutedLLM, endpoint: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Iterator[Any]:
    """Stream from the first model whose stream starts; move on only before a chunk."""
    call = RoutedCall(route, route._plan_now(), endpoint, args, kwargs)
    while (step := call.next()) is not None:
        if step.wait > 0:
            _wait(call, step)
        gen: Any = None
        token = _ATTEMPT.set(step.attempt)
        try:
            margs, mkwargs = call.member_args(step.slot)
            start = time.perf_counter()
            gen = getattr(step.slot.llm, endpoint)(*margs, **mkwargs)
            first = next(gen, _EMPTY)
        except Exception as exc:
            _close(gen)
            if call.failed(step, exc):
                continue
            raise
        except BaseException:
            _close(gen)
            call.cancelled(step)
            raise
        finally:
            _ATTEMPT.reset(token)
        call.succeeded(step, time.perf_counter() - start)
        yield from _rest(call, step, gen, first)
        return
    raise call.error()


def _rest(call: RoutedCall, step: Step, gen: Iterator[Any], first: Any) -> Iterator[Any]:
    """Yield a started stream to its end; a failure now ends the call (no moving on)."""
    last = None if first is _EMPTY else first
    failed = False
    try:
        if first is not _EMPTY:
            yield call.annotate(step, first)
            if call.tracks_usage(step):
                for chunk in gen:
                    last = chunk
                    yield chunk
            else:
                yield from gen
    except GeneratorExit:
        step.attempt.outcome = "cancelled"
        raise
    except Exception as exc:
        failed = True
        call.failed(step, exc, delivered=True)
        raise
    finally:
        _close(gen)
        if not failed:
            call.finished(step, last)


def _close(gen: Any) -> None:
    close = getattr(gen, "close", None)
    if close is not None:
        close()


async def astream(
    route: RoutedLLM, endpoint: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> AsyncIterator[Any]:
    """The async twin of :func:`stream`."""
    call = RoutedCall(route, route._plan_now(), endpoint, args, kwargs)
    while (step := call.next()) is not None:
        if step.wait > 0:
            await _await(call, step)
        agen: Any = None
        token = _ATTEMPT.set(step.attempt)
        try:
            margs, mkwargs = call.member_args(step.slot)
            start = time.perf_counter()
            agen = await getattr(step.slot.llm, endpoint)(*margs, **mkwargs)
            try:
                first = await agen.__anext__()
            except StopAsyncIteration:
                first = _EMPTY
        except Exception as exc:
            await _aclose(agen)
            if call.failed(step, exc):
                continue
            raise
        except BaseException:
            await _aclose(agen)
            call.cancelled(step)
            raise
        finally:
            _ATTEMPT.reset(token)
        call.succeeded(step, time.perf_counter() - start)
        last = None if first is _EMPTY else first
        failed = False
        try:
            if first is not _EMPTY:
                yield call.annotate(step, first)
                track = call.tracks_usage(step)
                async for chunk in agen:
                    if track:
                        last = chunk
                    yield chunk
        except Exception as exc:
            failed = True
            call.failed(step, exc, delivered=True)
            raise
        except BaseException:
            step.attempt.outcome = "cancelled"
            raise
        finally:
            await _aclose(agen)
            if not failed:
                call.finished(step, last)
        return
    raise call.error()


async def _aclose(agen: Any) -> None:
    aclose = getattr(agen, "aclose", None)
    if aclose is not None:
        await aclose()
