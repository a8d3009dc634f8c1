"""LlamaIndex idioms a custom LLM brings with it, accepted so its code runs unchanged.

* ``@llm_completion_callback()`` / ``@llm_chat_callback()`` on the endpoints of a
  ``CustomLLM``: LlamaIndex's decorators for its callbacks and instrumentation. Every
  llmplug endpoint is instrumented already (hook plugins see each call), so here they
  return the endpoint as it is.
* ``super().__init__(callback_manager=None)``: LlamaIndex's ``callback_manager`` field.
  ``None``, or a LlamaIndex ``CallbackManager`` with no handlers (recognised by its
  class, without importing LlamaIndex), is accepted and dropped: it would do nothing.
  A manager with handlers is refused, pointing to llmplug's hook plugins, since its
  handlers would never be called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from llmplug.errors import InvalidOptionError

__all__ = ["check_callback_manager", "llm_chat_callback", "llm_completion_callback"]

F = TypeVar("F", bound=Callable[..., Any])

_HOOKS_HINT = (
    "to observe calls, write a hook plugin with after_call, on_stream_chunk and "
    "on_call_error hookimpls (docs/plugins/hooks.md): every llmplug call reaches them"
)


def llm_completion_callback() -> Callable[[F], F]:
    """LlamaIndex's decorator for completion endpoints; llmplug's endpoints need none.

    Kept so a ``CustomLLM`` written for LlamaIndex runs with only its imports changed:
    the endpoint is returned unchanged, and llmplug instruments it as any other (the
    lifecycle hooks of hook plugins see its calls).
    """

    def decorate(fn: F) -> F:
        return fn

    return decorate


def llm_chat_callback() -> Callable[[F], F]:
    """LlamaIndex's decorator for chat endpoints; see :func:`llm_completion_callback`."""

    def decorate(fn: F) -> F:
        return fn

    return decorate


def _is_llamaindex_callback_manager(value: object) -> bool:
    return any(
        cls.__name__ == "CallbackManager" and cls.__module__.startswith("llama_index.")
        for cls in type(value).__mro__
    )


def check_callback_manager(value: object, owner: str) -> None:
    """Accept LlamaIndex's ``callback_manager`` when it would do nothing; refuse it otherwise.

    Args:
        value: The ``callback_manager`` given to the LLM's constructor.
        owner: The LLM class's name, for the error.

    Raises:
        InvalidOptionError: ``value`` is not ``None`` nor an empty LlamaIndex
            ``CallbackManager``.
    """
    if value is None:
        return
    if _is_llamaindex_callback_manager(value):
        handlers = getattr(value, "handlers", None)
        if isinstance(handlers, list) and not handlers:
            return
        names = ", ".join(sorted({type(h).__name__ for h in handlers or ()})) or "?"
        raise InvalidOptionError(
            f"{owner}: callback_manager has LlamaIndex callback handlers ({names}), which "
            f"llmplug never calls; {_HOOKS_HINT}, and pass callback_manager=None",
            option="callback_manager",
        )
    raise InvalidOptionError(
        f"{owner}: callback_manager={type(value).__name__}(...) is not used by llmplug, "
        f"which accepts callback_manager=None (or an empty LlamaIndex CallbackManager) so "
        f"LlamaIndex code runs unchanged; {_HOOKS_HINT}",
        option="callback_manager",
    )
