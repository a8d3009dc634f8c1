"""A call's arguments: checked against the implementation, and the settings taken out.

A stream's implementation runs on the first ``next()``, so its arguments are bound to
its signature at the call (:class:`Binder`). The reserved per-call keywords
``plugins=`` and ``conversation_id=`` are taken out before the provider sees them
(:func:`take_settings`); plugins set to ``False`` have their hooks skipped for the call
(:func:`switched_off`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmplug.errors import InvalidOptionError
from llmplug.llm._call import (
    CONVERSATION_KEYWORD,
    PLUGINS_KEYWORD,
    check_conversation_id,
    plugin_settings,
)
from llmplug.llm._plugin_host import HookSet

if TYPE_CHECKING:
    from llmplug.llm._base import LLM

__all__ = ["Binder", "Settings", "switched_off", "take_settings"]

#: A call's own settings: ``(plugins, conversation_id)``.
Settings = tuple[dict[str, Any], str | None]


def take_settings(llm: LLM, kwargs: dict[str, Any]) -> Settings | None:
    """Take ``plugins=`` and ``conversation_id=`` out of a call's keyword arguments."""
    if PLUGINS_KEYWORD not in kwargs and CONVERSATION_KEYWORD not in kwargs:
        return None
    option = PLUGINS_KEYWORD
    try:
        plugins = plugin_settings(kwargs.pop(PLUGINS_KEYWORD, None))
        option = CONVERSATION_KEYWORD
        conversation = check_conversation_id(kwargs.pop(CONVERSATION_KEYWORD, None))
    except ValueError as exc:
        raise InvalidOptionError(
            f"bad per-call setting {option}=...: {exc}", provider=llm.provider_label, option=option
        ) from None
    return plugins, conversation


def switched_off(hooks: HookSet, plugins: dict[str, Any]) -> HookSet:
    """``hooks`` without the hookimpls of the plugins set to ``False``."""
    off = {name for name, setting in plugins.items() if setting is False}
    # entry-point plugins are registered as "llmplug:<entry point name>"
    off |= {f"llmplug:{name}" for name in off}
    return HookSet(*(tuple(i for i in impls if i.plugin_name not in off) for impls in hooks))


class Binder:
    """Checks a call's arguments against the implementation's signature, as a call would.

    The signature is read on the first call (``inspect.signature`` is slow) and kept.
    """

    __slots__ = ("endpoint", "impl", "read", "signature")

    def __init__(self, endpoint: str, impl: Callable[..., Any]) -> None:
        self.endpoint = endpoint
        self.impl = impl
        self.read = False
        self.signature: inspect.Signature | None = None

    def check(self, llm: LLM, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not self.read:
            try:
                self.signature = inspect.signature(self.impl)
            except (TypeError, ValueError):  # no signature to read: the call itself will say
                self.signature = None
            self.read = True
        if self.signature is None:
            return
        try:
            self.signature.bind(llm, *args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.endpoint}(): {exc}") from None
