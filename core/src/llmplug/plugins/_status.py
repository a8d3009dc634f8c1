"""Every installed plugin and whether it works: provider plugins and hook plugins.

Where :func:`~llmplug.providers` reads metadata only, :func:`installed_plugins` may
load each plugin (inside its own error boundary) to say whether it really loads: the
``llmplug plugins`` command.
"""

from __future__ import annotations

from contextlib import suppress
from typing import NamedTuple

from llmplug._entry_points import ALLOW_ENV, NO_AUTOLOAD_ENV, dist_label, registered_name
from llmplug.errors import LLMError
from llmplug.plugins._registry import Registry, registry

__all__ = ["PluginInfo", "installed_plugins"]

_WHY = {"blocked": f"not in {ALLOW_ENV}", "disabled": f"{NO_AUTOLOAD_ENV} is set"}
# the worst status of a plugin's provider names wins
_SEVERITY = ("conflict", "failed", "available", "loaded", "blocked")


class PluginInfo(NamedTuple):
    """One installed plugin (an entry-point module of a distribution).

    Attributes:
        name: The distribution's name (the entry point's module when unknown).
        kind: ``"providers"`` (group ``llmplug.providers``) or ``"hooks"`` (``llmplug``).
        distribution: The distribution declaring it, if known.
        version: That distribution's version.
        module: The module its entry points name.
        status: ``"loaded"``, ``"failed"`` (see ``error``), ``"blocked"`` (not in
            ``LLMPLUG_PLUGINS``), ``"conflict"`` (a provider name claimed twice),
            ``"disabled"`` (hook plugins with ``LLMPLUG_DISABLE_PLUGIN_AUTOLOAD``) or
            ``"available"`` (not loaded yet).
        error: Why it failed, is blocked or conflicts.
        provides: Its provider names, or for a hook plugin the hooks it implements
            (its entry point's name until it is loaded).
        entry_points: The names of its entry points (what plugins are registered as).
    """

    name: str
    kind: str
    distribution: str | None
    version: str | None
    module: str
    status: str
    error: str | None
    provides: tuple[str, ...]
    entry_points: tuple[str, ...]


def installed_plugins(*, load: bool = True) -> list[PluginInfo]:
    """The installed provider plugins, then hook plugins, with their status.

    Args:
        load: Load every plugin first (each in its own error boundary), so the status
            says whether it loads; ``False`` reports what is known without importing.
    """
    reg = registry()
    return _provider_plugins(reg, load) + _hook_plugins(reg, load)


def _provider_plugins(reg: Registry, load: bool) -> list[PluginInfo]:
    if load:
        for info in reg.providers():
            if info.status == "available":
                with suppress(LLMError):  # recorded by the registry: providers() reports it
                    reg.get(info.name)
    by_plugin: dict[tuple[str | None, str], list[tuple[str, str, str | None]]] = {}
    labels: dict[tuple[str | None, str], tuple[str | None, str | None]] = {}
    for info in reg.providers():
        key = (info.distribution, info.module.partition(":")[0])
        by_plugin.setdefault(key, []).append((info.name, info.status, info.error))
        labels[key] = (info.distribution, info.version)
    plugins = []
    for key, names in by_plugin.items():
        status = min((s for _, s, _ in names), key=_SEVERITY.index)
        error = next((e for _, s, e in names if s == status and e), None)
        dist, version = labels[key]
        plugins.append(
            PluginInfo(
                name=dist or key[1],
                kind="providers",
                distribution=dist,
                version=version,
                module=key[1],
                status=status,
                error=error,
                provides=tuple(sorted(name for name, _, _ in names)),
                entry_points=tuple(sorted(name for name, _, _ in names)),
            )
        )
    return sorted(plugins, key=lambda p: p.name)


def _hook_plugins(reg: Registry, load: bool) -> list[PluginInfo]:
    if load:
        reg.load_hook_plugins()
    plugins = []
    for ep, status, error in reg.host.hook_plugin_status():
        dist, version = dist_label(ep)
        module = reg.pm.get_plugin(registered_name(ep))
        hooks = sorted(c.name for c in reg.pm.get_hookcallers(module) or ()) if module else []
        why = _WHY.get(status)
        plugins.append(
            PluginInfo(
                name=dist or ep.value,
                kind="hooks",
                distribution=dist,
                version=version,
                module=ep.value,
                status=status,
                error=str(error) if error is not None else why,
                provides=tuple(hooks) or (ep.name,),
                entry_points=(ep.name,),
            )
        )
    return sorted(plugins, key=lambda p: p.name)
