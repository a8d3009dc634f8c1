"""Helpers for testing code that uses llmplug, and for testing plugins.

* :func:`scripted` builds a ``mock`` LLM answering with the given replies;
  :func:`tool_call` and :func:`react_reply` script tool calls (native and ReAct text);
  :func:`json_reply` scripts a structured answer (bare, in prose or in a code fence).
* :class:`HookRecorder` is a hook plugin that records every lifecycle event;
  :func:`recording_hooks` registers one for the duration of a ``with`` block.
* :func:`fake_entry_point` and :func:`isolated_registry` let plugin tests run entry-point
  discovery against fake distributions, without installing anything;
  :func:`isolated_routing` gives the routes (``llmplug.routing``) a fresh process state.
* :mod:`llmplug.testing.conformance` is the conformance suite for provider plugins (a
  pytest plugin); :mod:`llmplug.http.testing` scripts an HTTP server.

The names are imported on first use: importing this package (as pytest does for the
conformance plugin) costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "FakeDistribution": "llmplug.testing._helpers",
    "FakeEntryPoint": "llmplug.testing._helpers",
    "HookEvent": "llmplug.testing._helpers",
    "HookRecorder": "llmplug.testing._helpers",
    "fake_entry_point": "llmplug.testing._helpers",
    "isolated_registry": "llmplug.testing._helpers",
    "isolated_routing": "llmplug.testing._helpers",
    "json_reply": "llmplug.testing._helpers",
    "react_reply": "llmplug.testing._helpers",
    "recording_hooks": "llmplug.testing._helpers",
    "scripted": "llmplug.testing._helpers",
    "tool_call": "llmplug.testing._helpers",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.testing._helpers import (
        FakeDistribution as FakeDistribution,
        FakeEntryPoint as FakeEntryPoint,
        HookEvent as HookEvent,
        HookRecorder as HookRecorder,
        fake_entry_point as fake_entry_point,
        isolated_registry as isolated_registry,
        isolated_routing as isolated_routing,
        json_reply as json_reply,
        react_reply as react_reply,
        recording_hooks as recording_hooks,
        scripted as scripted,
        tool_call as tool_call,
    )
