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

from llmplug import hookspecs
from llmplug._discovery import (
    ALLOW_ENV,
    HOOKS_GROUP,
    NO_AUTOLOAD_ENV,
    PROVIDERS_GROUP,
    EntryPointLike,
    ProviderInfo,
    ProviderSpec,
    allow_list,
    allowed,
    api_mismatch,
    claimant,
    dist_label,
    flag,
    installed_entry_points,
)
from llmplug.errors import DuplicateProviderError, PluginLoadError, UnknownProviderError
from llmplug.hookspecs import hookimpl

if TYPE_CHECKING:
    from pluggy import HookImpl

    from llmplug._llm import LLM

__all__ = [
    "PROVIDERS_GROUP",
    "HOOKS_GROUP",
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

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# a class registered lazily, by import path: "package.module:ClassName"
_CLASS_PATH_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_LIFECYCLE = ("before_call", "answer_call", "after_call", "on_stream_chunk", "on_call_error")


class HookSet(NamedTuple):
    """The lifecycle hookimpls in call order (empty tuples when none)."""

    before_call: tuple[HookImpl, ...]
    answer_call: tuple[HookImpl, ...]
    after_call: tuple[HookImpl, ...]
    on_stream_chunk: tuple[HookImpl, ...]
    on_call_error: tuple[HookImpl, ...]


class _PluginManager(pluggy.PluginManager):
    """A PluginManager that counts registrations, so hook lists can be cached."""

    generation = 0

    def register(self, plugin: object, name: str | None = None) -> str | None:
        result = super().register(plugin, name)
        self.generation += 1
        return result

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        result = super().unregister(plugin, name)
        self.generation += 1
        return result


class Registry:
    """The plugin host: a pluggy PluginManager plus the provider table.

    Args:
        entry_points: ``group -> entry points``; defaults to the installed ones.
            Tests pass fake entry points here.
    """

    def __init__(
        self, entry_points: Callable[[str], Iterable[EntryPointLike]] | None = None
    ) -> None:
        self._entry_points = entry_points or installed_entry_points
        self.pm = _PluginManager("llmplug")
        self.pm.add_hookspecs(hookspecs)
        self._lock = threading.RLock()
        self._specs: dict[str, ProviderSpec] = {}  # name and alias -> spec
        self._failed: dict[str, PluginLoadError] = {}  # entry point name -> error
        self._hook_plugins_loaded = False
        self._hook_plugins_loading = False
        self._hook_plugin_errors: list[PluginLoadError] = []
        # modules whose register_providers ran (kept alive so their ids stay unique)
        self._collected: dict[int, object] = {}
        self._hookset: HookSet | None = None
        self._hookset_generation = -1

    # -- discovery -------------------------------------------------------------------

    def _group(self, group: str) -> list[EntryPointLike]:
        seen: set[tuple[str, str, str | None]] = set()
        unique = []
        for ep in self._entry_points(group):
            key = (ep.name, ep.value, dist_label(ep)[0])
            if key not in seen:  # the same dist found twice on sys.path
                seen.add(key)
                unique.append(ep)
        return unique

    def providers(self) -> list[ProviderInfo]:
        """List installed providers from entry-point metadata, importing nothing."""
        allow = allow_list()
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
                        key_env=spec.key_env if spec else None,
                    )
                )
        return infos

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
        from llmplug._llm import LLM

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
            if not (isinstance(cls, type) and issubclass(cls, LLM)):
                error = PluginLoadError(
                    f"plugin {spec.plugin!r} registered {name!r} as {path!r}, which is "
                    f"{cls!r}, not a subclass of llmplug.LLM.",
                    plugin=spec.plugin,
                )
                self._failed[name] = error
                raise error
            resolved = current._replace(cls=cls)
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
                    s.name for s in self._specs.values() if s.plugin == self._plugin_name(ep)
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
        available = self.names()
        import difflib

        close = difflib.get_close_matches(name, available, n=1, cutoff=0.6)
        suggestion = close[0] if close else None
        parts = [f"unknown provider {name!r}."]
        if suggestion:
            parts.append(f"Did you mean {suggestion!r}?")
        parts.append(f"Installed providers: {', '.join(available) or 'none'}.")
        parts.append(f"If it is a plugin, install it: pip install llmplug-{name}")
        return UnknownProviderError(
            " ".join(parts), name=name, available=available, suggestion=suggestion
        )

    @staticmethod
    def _conflict_message(name: str, eps: Sequence[EntryPointLike]) -> str:
        who = " and ".join(claimant(ep) for ep in eps)
        return (
            f"provider name {name!r} is claimed by {who}; uninstall one of them "
            f"(pip uninstall ...) so the name means one thing."
        )

    @staticmethod
    def _plugin_name(ep: EntryPointLike) -> str:
        return f"{ep.group}:{ep.name}"

    def _load_provider_plugin(self, ep: EntryPointLike) -> None:
        if not allowed(allow_list(), ep):
            raise _ep_error(
                ep,
                f" is not loaded because it is not in "
                f"{ALLOW_ENV}={os.environ.get(ALLOW_ENV, '')!r}; add {ep.name!r} to it.",
            )
        module = self._import(ep)
        if id(module) in self._collected:
            # one module serving several names registered them all the first time
            return
        if self.pm.is_registered(module):
            # the module is also a hook plugin (group "llmplug"), already registered
            plugin_name = self.pm.get_name(module) or self._plugin_name(ep)
        else:
            plugin_name = self._plugin_name(ep)
            self._register_checked(module, plugin_name, ep)
        try:
            self._collect_providers(module, plugin_name)
        except PluginLoadError:
            raise
        except Exception as exc:
            raise _ep_error(
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

    def _import(self, ep: EntryPointLike) -> Any:
        try:
            return ep.load()
        except Exception as exc:
            raise _ep_error(
                ep,
                f" failed to import: {type(exc).__name__}: {exc}. Reinstall or upgrade that "
                f"distribution, or uninstall it.",
                detail=f", entry point {ep.value!r}",
            ) from exc

    def _register_checked(self, module: Any, plugin_name: str, ep: EntryPointLike) -> None:
        mismatch = api_mismatch(module)
        if mismatch is not None:
            raise _ep_error(ep, f" {mismatch}")
        try:
            self._register_validated(module, plugin_name)
        except Exception as exc:  # pluggy validation: bad hook names or signatures
            raise _ep_error(ep, f" is not a valid llmplug plugin: {exc}") from exc

    def _register_validated(self, plugin: object, name: str | None) -> str:
        """Register with pluggy, refusing hookimpls whose name is no llmplug hook.

        pluggy would accept ``@hookimpl def after_cal(...)`` and never call it; a typo
        in a hook name is a bug the plugin's author wants to hear about.
        """
        registered = self.pm.register(plugin, name)
        assert registered is not None  # pluggy returns None only for blocked names
        callers = self.pm.get_hookcallers(plugin) or []
        wrapped = sorted(
            c.name
            for c in callers
            if c.name in _LIFECYCLE
            for i in c.get_hookimpls()
            if i.plugin is plugin and (i.hookwrapper or i.wrapper)
        )
        if wrapped:
            self.pm.unregister(plugin)
            raise ValueError(
                f"{', '.join(wrapped)} may not be a wrapper (hookwrapper/wrapper=True): "
                f"llmplug calls lifecycle hooks one by one and would skip it; write a plain "
                f"hookimpl (before_call may change call.messages and call.kwargs in place)"
            )
        unknown = sorted(c.name for c in callers if c.spec is None)
        if unknown:
            self.pm.unregister(plugin)
            known = sorted(
                n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "llmplug_spec")
            )
            raise ValueError(
                f"unknown hook name(s) {', '.join(unknown)}; llmplug's hooks are {', '.join(known)}"
            )
        return registered

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
        from llmplug._llm import LLM

        for name in (spec.name, *spec.aliases):
            if not isinstance(name, str) or not _NAME_RE.match(name):
                raise PluginLoadError(
                    f"plugin {spec.plugin!r} registered the provider name {name!r}; names "
                    f"are lower-case letters, digits, '.', '_' or '-'.",
                    plugin=spec.plugin,
                )
        if isinstance(spec.cls, str):
            if not _CLASS_PATH_RE.match(spec.cls):
                raise PluginLoadError(
                    f"plugin {spec.plugin!r} registered {spec.name!r} with the class path "
                    f"{spec.cls!r}; write it as 'package.module:ClassName'.",
                    plugin=spec.plugin,
                )
        elif not (isinstance(spec.cls, type) and issubclass(spec.cls, LLM)):
            raise PluginLoadError(
                f"plugin {spec.plugin!r} registered {spec.name!r} with {spec.cls!r}, which "
                f"is not a subclass of llmplug.LLM.",
                plugin=spec.plugin,
            )
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

    # -- hook plugins ------------------------------------------------------------------

    def load_hook_plugins(self) -> None:
        """Load every ``llmplug`` entry point once; a failing one is logged, not fatal."""
        if self._hook_plugins_loaded:
            return
        with self._lock:
            # "loaded" is set only once all are in, so a concurrent first call waits on the
            # lock rather than running without hooks; "loading" stops same-thread re-entry
            if self._hook_plugins_loaded or self._hook_plugins_loading:
                return
            self._hook_plugins_loading = True
            try:
                self._load_hook_entry_points()
            finally:
                self._hook_plugins_loaded = True

    def _load_hook_entry_points(self) -> None:
        if flag(NO_AUTOLOAD_ENV):
            return
        allow = allow_list()
        for ep in self._group(HOOKS_GROUP):
            if not allowed(allow, ep):
                continue
            try:
                module = self._import(ep)
                if not self.pm.is_registered(module):
                    self._register_checked(module, self._plugin_name(ep), ep)
            except PluginLoadError as exc:
                self._hook_plugin_errors.append(exc)
                import logging

                logging.getLogger("llmplug").error("hook plugin not loaded: %s", exc)

    def hook_plugin_errors(self) -> list[PluginLoadError]:
        """The hook plugins that failed to load, each as a PluginLoadError."""
        return list(self._hook_plugin_errors)

    def hook_plugins(self) -> list[tuple[str, str | None, str | None]]:
        """The installed hook plugins: ``(name, distribution, version)``; imports nothing."""
        return [(ep.name, *dist_label(ep)) for ep in self._group(HOOKS_GROUP)]

    def hookset(self) -> HookSet | None:
        """The lifecycle hookimpls, or ``None`` when there are none (the fast path)."""
        if not self._hook_plugins_loaded:
            self.load_hook_plugins()
        generation = self.pm.generation
        if self._hookset_generation != generation:
            # the generation is read first: a plugin registered while the lists are built
            # bumps it again, so the next call rebuilds instead of missing that plugin
            lists = [
                tuple(reversed(getattr(self.pm.hook, name).get_hookimpls())) for name in _LIFECYCLE
            ]
            self._hookset = HookSet(*lists) if any(lists) else None
            self._hookset_generation = generation
        return self._hookset


def _ep_error(ep: EntryPointLike, problem: str, *, detail: str = "") -> PluginLoadError:
    """``plugin 'name' (dist version<detail>)<problem>`` as a PluginLoadError."""
    return PluginLoadError(
        f"plugin {ep.name!r} ({claimant(ep)}{detail}){problem}",
        plugin=ep.name,
        distribution=dist_label(ep)[0],
        entry_point=ep.value,
    )


_registry: Registry | None = None
_registry_lock = threading.Lock()


def registry() -> Registry:
    """The process-wide registry (created on first use)."""
    global _registry
    if _registry is None:
        with _registry_lock:
            if _registry is None:
                _registry = Registry()
    return _registry


def set_registry(new: Registry | None) -> Registry | None:
    """Swap the process-wide registry (for tests); returns the previous one."""
    global _registry
    old, _registry = _registry, new
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
        registered = reg._register_validated(plugin, name)
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
