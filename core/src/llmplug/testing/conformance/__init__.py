"""The conformance suite for provider plugins, as a pytest plugin.

A provider plugin's tests subclass one of the suite's classes, name the provider and
say how its server answers, and get a parametrised suite checking the contract every
llmplug provider keeps::

    from llmplug.http.testing import Reply, ndjson
    from llmplug.testing.conformance import HTTPProviderConformance


    class TestAcme(HTTPProviderConformance):
        provider = "acme"

        def reply(self, text):
            return Reply(200, json={"output": text})

        def stream_reply(self, deltas):
            return Reply(200, body=ndjson(*({"delta": d} for d in deltas), {"done": True}))

        def error_reply(self, status, message):
            return Reply(status, json={"error": {"message": message}})

* :class:`ProviderConformance`: any provider (in-process ones too).
* :class:`HTTPProviderConformance`: an :class:`~llmplug.http.HTTPChatLLM` provider,
  run against a scripted :class:`~llmplug.http.testing.MockServer`.

This module is also the pytest plugin (entry point ``pytest11``, name
``llmplug.testing.conformance``): pytest imports it at start-up, and it stays off
until a test class derives from the suite. It registers the ``llmplug_conformance``
marker (every test of the suite carries it: ``pytest -m llmplug_conformance``), has
pytest rewrite the suite's asserts for readable failures, and adds a header line. With
``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``, enable it with ``-p llmplug.testing.conformance``.

Importing it imports only pytest; the suite's classes load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "CANARY_KEY": "llmplug.testing.conformance._checks",
    "ENDPOINTS": "llmplug.testing.conformance._checks",
    "HTTPProviderConformance": "llmplug.testing.conformance._http",
    "ProviderConformance": "llmplug.testing.conformance._suite",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

#: The marker every test of the suite carries.
MARKER = "llmplug_conformance"

# the suite's asserts are rewritten like test code, so a failure shows the values
pytest.register_assert_rewrite(
    "llmplug.testing.conformance._suite",
    "llmplug.testing.conformance._http",
    "llmplug.testing.conformance._checks",
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker."""
    config.addinivalue_line("markers", f"{MARKER}: a check of llmplug's provider conformance suite")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the suite's tests (those defined by its classes) with ``llmplug_conformance``."""
    for item in items:
        function = getattr(item, "function", None)
        module = getattr(function, "__module__", "") or ""
        if module.startswith("llmplug.testing.conformance."):
            item.add_marker(MARKER)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.testing.conformance._checks import (
        CANARY_KEY as CANARY_KEY,
        ENDPOINTS as ENDPOINTS,
    )
    from llmplug.testing.conformance._http import (
        HTTPProviderConformance as HTTPProviderConformance,
    )
    from llmplug.testing.conformance._suite import (
        ProviderConformance as ProviderConformance,
    )
