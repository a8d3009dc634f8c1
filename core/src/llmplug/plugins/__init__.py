"""Provider plugins: the registry that finds providers by entry point and loads them.

Listing providers reads distribution metadata only; ``load("name:...")`` imports just
the plugin that serves ``name``, inside its own error boundary; ``installed_plugins()``
loads each plugin to report whether it works. Plugins register with
the plugin host of ``llmplug.llm``. This layer imports ``llmplug.llm`` and below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "ProviderInfo": "llmplug.plugins._registry",
    "ProviderSpec": "llmplug.plugins._registry",
    "providers": "llmplug.plugins._registry",
    "plugin_manager": "llmplug.plugins._registry",
    "register_plugin": "llmplug.plugins._registry",
    "unregister_plugin": "llmplug.plugins._registry",
    "PluginInfo": "llmplug.plugins._status",
    "installed_plugins": "llmplug.plugins._status",
    "HOOKS_GROUP": "llmplug._entry_points",
    "PROVIDERS_GROUP": "llmplug._entry_points",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug._entry_points import (
        HOOKS_GROUP as HOOKS_GROUP,
        PROVIDERS_GROUP as PROVIDERS_GROUP,
    )
    from llmplug.plugins._registry import (
        ProviderInfo as ProviderInfo,
        ProviderSpec as ProviderSpec,
        plugin_manager as plugin_manager,
        providers as providers,
        register_plugin as register_plugin,
        unregister_plugin as unregister_plugin,
    )
    from llmplug.plugins._status import (
        PluginInfo as PluginInfo,
        installed_plugins as installed_plugins,
    )
