"""llmplug-server: a gateway serving llmplug's providers over the OpenAI and Anthropic APIs.

``llmplug serve`` runs it; in code::

    from llmplug_server import GatewayConfig, serve

    serve(GatewayConfig(models={...}))

Names are imported on first use: the hook plugin that adds ``llmplug serve`` imports
this package, and it must not load Starlette or uvicorn until the gateway runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_LAZY: dict[str, str] = {
    "Gateway": "llmplug_server._app",
    "create_app": "llmplug_server._app",
    "GatewayConfig": "llmplug_server._config",
    "ModelEntry": "llmplug_server._config",
    "read_gateway_config": "llmplug_server._config",
    "GatewayError": "llmplug_server._errors",
    "GatewayKey": "llmplug_server._keys",
    "GatewayKeys": "llmplug_server._keys",
    "GatewayServer": "llmplug_server._server",
    "serve": "llmplug_server._server",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmplug_server' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug_server._app import Gateway as Gateway, create_app as create_app
    from llmplug_server._config import (
        GatewayConfig as GatewayConfig,
        ModelEntry as ModelEntry,
        read_gateway_config as read_gateway_config,
    )
    from llmplug_server._errors import GatewayError as GatewayError
    from llmplug_server._keys import GatewayKey as GatewayKey, GatewayKeys as GatewayKeys
    from llmplug_server._server import GatewayServer as GatewayServer, serve as serve
