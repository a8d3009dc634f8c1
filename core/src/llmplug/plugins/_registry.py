"""Entry-point discovery, the plugin manager, and the provider registry.

Two entry-point groups:

* ``llmplug.providers``: one entry point per provider name; the module is imported only
  when that provider is asked for, inside its own error boundary.
* ``llmplug``: hook plugins; all loaded once, lazily, before the first call.

Listing providers reads entry-point metadata only; nothing is imported.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any, NamedTuple

import pluggy

from llmplug._entry_points import (
    ALLOW_ENV,
    HOOKS_GROUP,
    KEY_ENV_GROUP,
    PROVIDERS_GROUP,
    EntryPointLike,
    allow_list,
    allowed,
    api_mismatch,
    claimant,
    dist_label,
    entry_point_error,
    registered_name,
)
from llmplug.errors import DuplicateProviderError, PluginLoadError, UnknownProviderError
from llmplug.hookspecs import hookimpl
from llmplug.llm._plugin_host import HookSet, PluginHost, plugin_host, set_plugin_host

if TYPE_CHECKING:
    from llmplug.llm._base import LLM

__all__ = [
    "HOOKS_GROUP",
    "KEY_ENV_GROUP",
    "PROVIDERS_GROUP",
    "EntryPointLike",
    "HookSet",
    "ProviderInfo",
    "ProviderSpec",
    "Registry",
    "hookimpl",
    "plugin_manager",
    "providers",
    "register_plugin",
    "registry",
    "set_registry",
    "unregister_plugin",
]

# compiled on first use (and cached by re), so importing stays cheap
_NAME_RE = r"^[a-z0-9][a-z0-9._-]*$"
_ENV_NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]*$"
# a class registered lazily, by import path: "package.module:ClassName"
_CLASS_PATH_RE = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"  # compiled on first use


def _llm_base() -> type[LLM]:
    """The LLM base class, imported on first use (lazy for lightness).

    Listing providers (``llmplug providers``) must not pay for importing it: the base
    brings pydantic and the instrumentation, about 60 ms.
    """
    from llmplug.llm._base import LLM

    return LLM


class ProviderSpec(NamedTuple):
    """A registered provider: what ``register(...)`` recorded.

    Attributes:
        name: The provider name used in config strings.
        cls: The :class:`~llmplug.LLM` subclass; its pydantic fields are the options. A
            plugin may register it by import path (``"package.module:ClassName"``), to
            be imported when the provider is first loaded; ``Registry.get`` returns
            the spec with the class.
        aliases: Other names for the same provider.
        key_env: The env var holding its API key, if it needs one.
        description: One line for ``llmplug providers``.
        plugin: The plugin (entry point) that registered it.
        defaults: Options applied before the user's (presets of one class use these).
    """

    name: str
    cls: type[LLM] | str
    aliases: tuple[str, ...] = ()
    key_env: str | None = None
    description: str = ""
    plugin: str = ""
    defaults: dict[str, Any] | None = None


class ProviderInfo(NamedTuple):
    """One installed provider, as listed without importing it.

    Attributes:
        name: The provider name (the entry point's name).
        distribution: The distribution that declares it.
        version: That distribution's version.
        module: The entry point's value (the plugin module).
        status: ``"available"`` (not imported yet), ``"loaded"``, ``"failed"``,
            ``"blocked"`` (not in ``LLMPLUG_PLUGINS``) or ``"conflict"`` (claimed twice).
        error: Why it failed or is blocked, if it did or is.
        description: The provider's one-liner, once loaded.
        key_env: The env var holding its key, once loaded.
    """

    name: str
    distribution: str | None
    version: str | None
    module: str
    status: str
    error: str | None = None
    description: str = ""
    key_env: str | None = None


class Registry:
    """The provider table, on a plugin host (``llmplug.llm``'s pluggy manager).

    Args:
        entry_points: ``group -> entry points``; defaults to the installed ones.
            Tests pass fake entry points here.
        host: The plugin host whose manager plugins are registered with; a new one
            (reading ``entry_points``) by default.
    """

    def __init__(
        self,
        entry_points: Callable[[str], Iterable[EntryPointLike]] | None = None,
        host: PluginHost | None = None,
    ) -> None:
        self.host = host if host is not None else PluginHost(entry_points)
        self.pm = self.host.pm
        self._lock = self.host.lock
        self._specs: dict[str, ProviderSpec] = {}  # name and alias -> spec
        self._failed: dict[str, PluginLoadError] = {}  # entry point name -> error
        # modules whose register_providers ran (kept alive so their ids stay unique)
        self._collected: dict[int, object] = {}

    # -- discovery -------------------------------------------------------------------

    def _group(self, group: str) -> list[EntryPointLike]:
        return self.host.group(group)

    def providers(self) -> list[ProviderInfo]:
        """List installed providers from entry-point metadata, importing nothing.

        Each provider's key variable comes from its ``llmplug.key_env`` entry point
        (declared in the plugin's metadata), else from its registration once loaded.
        """
        allow = allow_list()
        declared = self.declared_key_envs()
        by_name: dict[str, list[EntryPointLike]] = {}
        for ep in self._group(PROVIDERS_GROUP):
            by_name.setdefault(ep.name, []).append(ep)
        infos = []
        for name in sorted(by_name):
            eps = by_name[name]
            for ep in eps:
                dist, version = dist_label(ep)
                spec = self._specs.get(name)
                failed = self._failed.get(name)
                error = None
                if len(eps) > 1:
                    status, error = "conflict", self._conflict_message(name, eps)
                elif not allowed(allow, ep):
                    status, error = "blocked", f"not in {ALLOW_ENV}"
                elif failed is not None:
                    status, error = "failed", str(failed)
                elif spec is not None:
                    status = "loaded"
                else:
                    status = "available"
                infos.append(
                    ProviderInfo(
                        name=name,
                        distribution=dist,
                        version=version,
                        module=ep.value,
                        status=status,
                        error=error,
                        description=spec.description if spec else "",
                        key_env=declared.get(name) or (spec.key_env if spec else None),
                    )
                )
        return infos

    def declared_key_envs(self) -> dict[str, str]:
        """``provider name -> env var`` from the ``llmplug.key_env`` entry points.

        A plugin declares the variable holding each provider's key in its metadata,
        so listings show it without importing the plugin::

            [project.entry-points."llmplug.key_env"]
            acme = "ACME_API_KEY"

        Values that are not environment variable names are ignored.
        """
        return {
            ep.name: ep.value.strip()
            for ep in self._group(KEY_ENV_GROUP)
            if re.match(_ENV_NAME_RE, ep.value.strip())
        }

    def names(self) -> list[str]:
        """Every provider name known: installed entry points, registered names, aliases."""
        names = {ep.name for ep in self._group(PROVIDERS_GROUP)}
        names.update(self._specs)
        return sorted(names)

    # -- provider lookup ---------------------------------------------------------------

    def get(self, name: str) -> ProviderSpec:
        """Return the provider called ``name``, importing its plugin (and class) if needed.

        Raises:
            UnknownProviderError: No installed provider has that name.
            DuplicateProviderError: Two distributions claim the name.
            PluginLoadError: Its plugin failed to import, register, or is blocked; or the
                class it registered by import path failed to import.
        """
        spec = self._specs.get(name)
        if spec is not None and not isinstance(spec.cls, str):
            return spec
        spec = self._find(name)
        return spec if not isinstance(spec.cls, str) else self._resolve(name, spec)

    def _resolve(self, name: str, spec: ProviderSpec) -> ProviderSpec:
        """Import the class a plugin registered by its import path (``"module:Class"``)."""
        with self._lock:
            current = self._specs.get(name, spec)
            if not isinstance(current.cls, str):
                return current
            if name in self._failed:
                raise self._failed[name]
            path = current.cls
            module, _, attr = path.partition(":")
            try:
                cls = getattr(import_module(module), attr)
            except Exception as exc:
                error = PluginLoadError(
                    f"plugin {spec.plugin!r} registered provider {name!r} as {path!r}, which "
                    f"failed to import ({type(exc).__name__}: {exc}). Reinstall the plugin, "
                    f"or report this to its authors.",
                    plugin=spec.plugin,
                )
                self._failed[name] = error
                raise error from exc
            if not (isinstance(cls, type) and issubclass(cls, _llm_base())):
                error = PluginLoadError(
                    f"plugin {spec.plugin!r} registered {name!r} as {path!r}, which is "
                    f"{cls!r}, not a subclass of llmplug.LLM.",
                    plugin=spec.plugin,
                )
                self._failed[name] = error
                raise error
            try:
                resolved = _agreed_key_env(current._replace(cls=cls), cls)
            except PluginLoadError as error:
                self._failed[name] = error
                raise
            for each in (current.name, *current.aliases):
                if self._specs.get(each) is current:
                    self._specs[each] = resolved
            return resolved

    def _find(self, name: str) -> ProviderSpec:
        """The provider called ``name``, its class perhaps not imported yet."""
        spec = self._specs.get(name)
        if spec is not None:
            return spec
        with self._lock:
            spec = self._specs.get(name)
            if spec is not None:
                return spec
            if name in self._failed:
                raise self._failed[name]
            eps = [ep for ep in self._group(PROVIDERS_GROUP) if ep.name == name]
            if not eps:
                spec = self._search_aliases(name)
                if spec is not None:
                    return spec
                raise self._unknown(name)
            if len(eps) > 1:
                raise DuplicateProviderError(
                    self._conflict_message(name, eps),
                    plugin=name,
                    claimants=[claimant(ep) for ep in eps],
                )
            ep = eps[0]
            try:
                self._load_provider_plugin(ep)
            except PluginLoadError as exc:
                self._failed[name] = exc
                raise
            spec = self._specs.get(name)
            if spec is None:
                registered = sorted(
                    s.name for s in self._specs.values() if s.plugin == registered_name(ep)
                )
                missing = PluginLoadError(
                    f"plugin {ep.value!r} (entry point {name!r} of {claimant(ep)}) loaded but "
                    f"registered no provider named {name!r}; it registered: "
                    f"{', '.join(registered) or 'nothing'}. Report this to the plugin's authors.",
                    plugin=name,
                    distribution=dist_label(ep)[0],
                    entry_point=ep.value,
                )
                self._failed[name] = missing
                raise missing
            return spec

    def _search_aliases(self, name: str) -> ProviderSpec | None:
        """Find an alias that a plugin registers without an entry point of its own.

        Only for a name no entry point has: the provider plugins not loaded yet are
        imported, each inside its own error boundary, until one registers ``name``.
        """
        eps = self._group(PROVIDERS_GROUP)
        counts: dict[str, int] = {}
        for ep in eps:
            counts[ep.name] = counts.get(ep.name, 0) + 1
        for ep in eps:
            if counts[ep.name] > 1 or ep.name in self._specs or ep.name in self._failed:
                continue
            try:
                self._load_provider_plugin(ep)
            except PluginLoadError as exc:
                self._failed[ep.name] = exc
            if name in self._specs:
                return self._specs[name]
        return None

    def _unknown(self, name: str) -> UnknownProviderError:
        # lazy for lightness: the directory of known plugins is read only on this error path
        from llmplug.plugins._directory import unknown_provider

        return unknown_provider(name, self.names())

    @staticmethod
    def _conflict_message(name: str, eps: Sequence[EntryPointLike]) -> str:
        who = " and ".join(claimant(ep) for ep in eps)
        return (
            f"provider name {name!r} is claimed by {who}; uninstall one of them "
            f"(pip uninstall ...) so the name means one thing."
        )

    def _load_provider_plugin(self, ep: EntryPointLike) -> None:
        if not allowed(allow_list(), ep):
            raise entry_point_error(
                ep,
                f" is not loaded because it is not in "
                f"{ALLOW_ENV}={os.environ.get(ALLOW_ENV, '')!r}; add {ep.name!r} to it.",
            )
        module = self.host.import_plugin(ep)
        if id(module) in self._collected:
            # one module serving several names registered them all the first time
            return
        if self.pm.is_registered(module):
            # the module is also a hook plugin (group "llmplug"), already registered
            plugin_name = self.pm.get_name(module) or registered_name(ep)
        else:
            plugin_name = registered_name(ep)
            self.host.register_checked(module, plugin_name, ep)
        try:
            self._collect_providers(module, plugin_name)
        except PluginLoadError:
            raise
        except Exception as exc:
            raise entry_point_error(
                ep, f": its register_providers hook raised {type(exc).__name__}: {exc}"
            ) from exc

    def _collect_providers(self, plugin: object, plugin_name: str) -> None:
        """Run ``plugin``'s register_providers; a failure undoes its registration."""
        register = self._register_callback(plugin_name)
        try:
            for impl in self.pm.hook.register_providers.get_hookimpls():
                if impl.plugin is plugin:
                    impl.function(register)
        except Exception:
            self._drop(plugin, plugin_name)  # a refused plugin is not left half-registered
            raise
        self._collected[id(plugin)] = plugin

    def _drop(self, plugin: object, plugin_name: str) -> None:
        """Undo a failed registration: the plugin's hooks and every name it registered."""
        with self._lock:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            for key in [k for k, s in self._specs.items() if s.plugin == plugin_name]:
                del self._specs[key]

    def _register_callback(self, plugin_name: str) -> Any:
        def register(
            name: str,
            cls: type[LLM] | str,
            *,
            aliases: Sequence[str] = (),
            key_env: str | None = None,
            description: str = "",
            defaults: dict[str, Any] | None = None,
        ) -> None:
            self.add_provider(
                ProviderSpec(
                    name=name,
                    cls=cls,
                    aliases=tuple(aliases),
                    key_env=key_env,
                    description=description,
                    plugin=plugin_name,
                    defaults=dict(defaults or {}),
                )
            )

        return register

    def add_provider(self, spec: ProviderSpec) -> None:
        """Add a provider directly (what the ``register`` callback does).

        Raises:
            PluginLoadError: The name is malformed or ``cls`` is not an LLM subclass.
            DuplicateProviderError: Another plugin already registered the name.
        """
        for name in (spec.name, *spec.aliases):
            if not isinstance(name, str) or not re.match(_NAME_RE, name):
                raise PluginLoadError(
                    f"plugin {spec.plugin!r} registered the provider name {name!r}; names "
                    f"are lower-case letters, digits, '.', '_' or '-'.",
                    plugin=spec.plugin,
                )
        if isinstance(spec.cls, str):
            if not re.match(_CLASS_PATH_RE, spec.cls):
                raise PluginLoadError(
                    f"plugin {spec.plugin!r} registered {spec.name!r} with the class path "
                    f"{spec.cls!r}; write it as 'package.module:ClassName'.",
                    plugin=spec.plugin,
                )
        elif not (isinstance(spec.cls, type) and issubclass(spec.cls, _llm_base())):
            raise PluginLoadError(
                f"plugin {spec.plugin!r} registered {spec.name!r} with {spec.cls!r}, which "
                f"is not a subclass of llmplug.LLM.",
                plugin=spec.plugin,
            )
        else:
            spec = _agreed_key_env(spec, spec.cls)
        with self._lock:
            for name in (spec.name, *spec.aliases):
                existing = self._specs.get(name)
                if existing is not None and existing.plugin != spec.plugin:
                    raise DuplicateProviderError(
                        f"provider name {name!r} is registered by both {existing.plugin!r} "
                        f"and {spec.plugin!r}; uninstall or disable one of them.",
                        plugin=spec.plugin,
                        claimants=[existing.plugin, spec.plugin],
                    )
            for name in (spec.name, *spec.aliases):
                self._specs[name] = spec

    # -- hook plugins (kept by the host) -----------------------------------------------

    def load_hook_plugins(self) -> None:
        """Load every ``llmplug`` entry point once; a failing one is logged, not fatal."""
        self.host.load_hook_plugins()

    def hook_plugin_errors(self) -> list[PluginLoadError]:
        """The hook plugins that failed to load, each as a PluginLoadError."""
        return self.host.hook_plugin_errors()

    def hook_plugins(self) -> list[tuple[str, str | None, str | None]]:
        """The installed hook plugins: ``(name, distribution, version)``; imports nothing."""
        return self.host.hook_plugins()

    def hookset(self) -> HookSet | None:
        """The lifecycle hookimpls, or ``None`` when there are none (the fast path)."""
        return self.host.hookset()


def _agreed_key_env(spec: ProviderSpec, cls: type[LLM]) -> ProviderSpec:
    """``spec`` with the key variable its class reads, which must agree with the one given.

    ``key_env`` means one thing everywhere: the environment variable a provider reads
    its API key from when none is given. An HTTP provider's class reads it
    (``HTTPChatLLM.key_env``); the registration records it for listings.
    """
    read = getattr(cls, "key_env", None)
    if not isinstance(read, str) or not read:
        return spec
    if spec.key_env is None:
        return spec._replace(key_env=read)
    if spec.key_env != read:
        raise PluginLoadError(
            f"plugin {spec.plugin!r} registered {spec.name!r} with key_env="
            f"{spec.key_env!r}, but its class {cls.__name__} reads the key from {read!r}; "
            f"make them the same (register(..., key_env={read!r})).",
            plugin=spec.plugin,
        )
    return spec


_registry: Registry | None = None
_registry_lock = threading.Lock()


def registry() -> Registry:
    """The process-wide registry (created on first use)."""
    global _registry
    if _registry is None:
        with _registry_lock:
            if _registry is None:
                _registry = Registry(host=plugin_host())
    return _registry


def set_registry(new: Registry | None) -> Registry | None:
    """Swap the process-wide registry and its plugin host (for tests); returns the old one."""
    global _registry
    with _registry_lock:
        old, _registry = _registry, new
        set_plugin_host(new.host if new is not None else None)
    return old


def providers() -> list[ProviderInfo]:
    """List the installed providers without importing any plugin."""
    return registry().providers()


def plugin_manager() -> pluggy.PluginManager:
    """The pluggy PluginManager behind llmplug (for advanced use)."""
    return registry().pm


def register_plugin(plugin: object, name: str | None = None) -> str:
    """Register a hook plugin object (a module, class instance...) for this process.

    Providers it registers through ``register_providers`` become loadable by name.

    Returns:
        The name it was registered under (for :func:`unregister_plugin`).
    """
    reg = registry()
    reg.load_hook_plugins()  # installed plugins first, so the order is stable
    label = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    mismatch = api_mismatch(plugin)
    if mismatch is not None:
        raise PluginLoadError(f"plugin {label!r} {mismatch}", plugin=label)

    try:
        registered = reg.host.register_validated(plugin, name)
    except Exception as exc:
        raise PluginLoadError(
            f"plugin {label!r} is not a valid llmplug plugin: {exc}", plugin=label
        ) from exc
    reg._collect_providers(plugin, registered)
    return registered


def unregister_plugin(plugin: object | str) -> None:
    """Remove a plugin registered with :func:`register_plugin` (by object or name)."""
    reg = registry()
    if isinstance(plugin, str):
        name = plugin
        if not reg.pm.has_plugin(name):
            raise ValueError(
                f"no plugin named {name!r} is registered; registered: "
                f"{', '.join(sorted(n for n, _ in reg.pm.list_name_plugin())) or 'none'}"
            )
        reg.pm.unregister(name=plugin)
    else:
        name = reg.pm.get_name(plugin) or ""
        reg.pm.unregister(plugin)
    with reg._lock:
        for key in [k for k, s in reg._specs.items() if s.plugin == name]:
            del reg._specs[key]
