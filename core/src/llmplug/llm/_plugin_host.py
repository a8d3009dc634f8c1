"""The plugin host: the pluggy manager every plugin is registered with, and hook plugins.

Hook plugins (entry-point group ``llmplug``) are loaded once, lazily, before the first
call; the endpoint instrumentation asks :func:`plugin_host` for the lifecycle hookimpls
(:meth:`PluginHost.hookset`) on every call. Provider plugins are registered with the
same manager by the provider registry (``llmplug.plugins``), which sits above this layer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import pluggy

import llmplug.hookspecs as hookspecs
from llmplug._entry_points import (
    HOOKS_GROUP,
    NO_AUTOLOAD_ENV,
    EntryPointLike,
    allow_list,
    allowed,
    api_mismatch,
    dist_label,
    entry_point_error,
    flag,
    installed_entry_points,
    registered_name,
)
from llmplug.errors import LLMError, PluginLoadError

if TYPE_CHECKING:
    from pluggy import HookImpl

    from llmplug.types._conversation import Conversation

__all__ = [
    "LIFECYCLE_HOOKS",
    "HookSet",
    "PluginHost",
    "plugin_host",
    "resume_conversation",
    "set_plugin_host",
]

#: The hooks fired around every call, in the order :class:`HookSet` holds them.
LIFECYCLE_HOOKS = ("before_call", "answer_call", "after_call", "on_stream_chunk", "on_call_error")


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


class PluginHost:
    """A pluggy PluginManager with llmplug's hookspecs, and the hook plugins loaded into it.

    Args:
        entry_points: ``group -> entry points``; defaults to the installed ones.
            Tests pass fake entry points here.
    """

    def __init__(
        self, entry_points: Callable[[str], Iterable[EntryPointLike]] | None = None
    ) -> None:
        self.entry_points = entry_points or installed_entry_points
        self.pm = _PluginManager("llmplug")
        self.pm.add_hookspecs(hookspecs)
        #: Guards loading: shared with the provider registry built on this host.
        self.lock = threading.RLock()
        self._hook_plugins_loaded = False
        self._hook_plugins_loading = False
        self._hook_plugin_errors: list[PluginLoadError] = []
        # entry point (group:name) -> "loaded", "failed", "blocked" or "disabled"
        self._hook_plugin_status: dict[str, str] = {}
        # the names of plugin settings already checked (one unknown is said once)
        self._checked_setting_names: set[str] = set()
        self._hookset: HookSet | None = None
        self._hookset_generation = -1

    def group(self, group: str) -> list[EntryPointLike]:
        """The entry points of ``group``, each once (a distribution may be found twice)."""
        seen: set[tuple[str, str, str | None]] = set()
        unique = []
        for ep in self.entry_points(group):
            key = (ep.name, ep.value, dist_label(ep)[0])
            if key not in seen:  # the same dist found twice on sys.path
                seen.add(key)
                unique.append(ep)
        return unique

    def import_plugin(self, ep: EntryPointLike) -> Any:
        """Import the module ``ep`` names.

        Raises:
            PluginLoadError: It failed to import (the cause is kept).
        """
        try:
            return ep.load()
        except Exception as exc:
            raise entry_point_error(
                ep,
                f" failed to import: {type(exc).__name__}: {exc}. Reinstall or upgrade that "
                f"distribution, or uninstall it.",
                detail=f", entry point {ep.value!r}",
            ) from exc

    def register_checked(self, module: Any, name: str, ep: EntryPointLike) -> None:
        """Register a plugin found by entry point, refusing another API version.

        Raises:
            PluginLoadError: Built for another plugin API, or not a valid plugin.
        """
        mismatch = api_mismatch(module)
        if mismatch is not None:
            raise entry_point_error(ep, f" {mismatch}")
        try:
            self.register_validated(module, name)
        except Exception as exc:  # pluggy validation: bad hook names or signatures
            raise entry_point_error(ep, f" is not a valid llmplug plugin: {exc}") from exc

    def register_validated(self, plugin: object, name: str | None) -> str:
        """Register with pluggy, refusing hookimpls whose name is no llmplug hook.

        pluggy would accept ``@hookimpl def after_cal(...)`` and never call it; a typo
        in a hook name is a bug the plugin's author wants to hear about.

        Raises:
            ValueError: An unknown hook name, or a lifecycle hook written as a wrapper.
        """
        registered = self.pm.register(plugin, name)
        assert registered is not None  # pluggy returns None only for blocked names
        callers = self.pm.get_hookcallers(plugin) or []
        wrapped = sorted(
            c.name
            for c in callers
            if c.name in LIFECYCLE_HOOKS
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

    # -- hook plugins ------------------------------------------------------------------

    def load_hook_plugins(self) -> None:
        """Load every ``llmplug`` entry point once; a failing one is logged, not fatal."""
        if self._hook_plugins_loaded:
            return
        with self.lock:
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
        status = self._hook_plugin_status
        if flag(NO_AUTOLOAD_ENV):
            for ep in self.group(HOOKS_GROUP):
                status[registered_name(ep)] = "disabled"
            return
        allow = allow_list()
        for ep in self.group(HOOKS_GROUP):
            if not allowed(allow, ep):
                status[registered_name(ep)] = "blocked"
                continue
            try:
                module = self.import_plugin(ep)
                if not self.pm.is_registered(module):
                    self.register_checked(module, registered_name(ep), ep)
            except PluginLoadError as exc:
                status[registered_name(ep)] = "failed"
                self._hook_plugin_errors.append(exc)
                import logging  # lazy for lightness: only when a hook plugin fails to load

                logging.getLogger("llmplug").error("hook plugin not loaded: %s", exc)
            else:
                status[registered_name(ep)] = "loaded"

    def known_plugin_names(self) -> set[str]:
        """Names a per-call or per-model plugin setting may use.

        Every registered plugin's name (an entry point's also without its ``llmplug:``
        prefix) and every installed hook plugin's, loaded or not.
        """
        names = {name for name, _ in self.pm.list_name_plugin()}
        names |= {name.removeprefix(f"{HOOKS_GROUP}:") for name in names}
        names |= {ep.name for ep in self.group(HOOKS_GROUP)}
        return names

    def check_setting_names(self, plugins: Mapping[str, Any]) -> None:
        """Warn, once per name, of a setting for a plugin that is not there (it does nothing)."""
        if plugins.keys() <= self._checked_setting_names:
            return
        known = self.known_plugin_names()
        shown = ", ".join(sorted(name for name in known if ":" not in name)) or "none"
        for name in plugins.keys() - self._checked_setting_names:
            self._checked_setting_names.add(name)
            if name not in known:
                import logging  # lazy for lightness: only when a setting names no plugin

                logging.getLogger("llmplug").warning(
                    "plugins setting %r names no installed or registered plugin, so it does "
                    "nothing (known: %s); check its spelling, or install the plugin",
                    name,
                    shown,
                )

    def hook_plugin_errors(self) -> list[PluginLoadError]:
        """The hook plugins that failed to load, each as a PluginLoadError."""
        return list(self._hook_plugin_errors)

    def hook_plugins(self) -> list[tuple[str, str | None, str | None]]:
        """The installed hook plugins: ``(name, distribution, version)``; imports nothing."""
        return [(ep.name, *dist_label(ep)) for ep in self.group(HOOKS_GROUP)]

    def hook_plugin_status(self) -> list[tuple[EntryPointLike, str, PluginLoadError | None]]:
        """Each installed hook plugin's entry point, status and load error (if it failed).

        The status is ``"available"`` until :meth:`load_hook_plugins` ran, then
        ``"loaded"``, ``"failed"``, ``"blocked"`` (not in ``LLMPLUG_PLUGINS``) or
        ``"disabled"`` (``LLMPLUG_DISABLE_PLUGIN_AUTOLOAD``).
        """
        errors = {error.plugin: error for error in self._hook_plugin_errors}
        result = []
        for ep in self.group(HOOKS_GROUP):
            status = self._hook_plugin_status.get(registered_name(ep), "available")
            result.append((ep, status, errors.get(ep.name) if status == "failed" else None))
        return result

    def hookset(self) -> HookSet | None:
        """The lifecycle hookimpls, or ``None`` when there are none (the fast path)."""
        if not self._hook_plugins_loaded:
            self.load_hook_plugins()
        generation = self.pm.generation
        if self._hookset_generation != generation:
            # the generation is read first: a plugin registered while the lists are built
            # bumps it again, so the next call rebuilds instead of missing that plugin
            lists = [
                tuple(reversed(getattr(self.pm.hook, name).get_hookimpls()))
                for name in LIFECYCLE_HOOKS
            ]
            self._hookset = HookSet(*lists) if any(lists) else None
            self._hookset_generation = generation
        return self._hookset


_host: PluginHost | None = None
_host_lock = threading.Lock()


def plugin_host() -> PluginHost:
    """The process-wide plugin host (created on first use)."""
    global _host
    if _host is None:
        with _host_lock:
            if _host is None:
                _host = PluginHost()
    return _host


def set_plugin_host(new: PluginHost | None) -> PluginHost | None:
    """Swap the process-wide plugin host; returns the previous one.

    For the provider registry (``llmplug.plugins.set_registry`` swaps both together).
    """
    global _host
    old, _host = _host, new
    return old


def resume_conversation(conversation_id: str | None = None) -> Conversation | None:
    """Ask the hook plugins for a conversation they kept (``llmplug chat -c``).

    Args:
        conversation_id: The conversation's id; ``None`` asks for the most recent one.

    Returns:
        The first plugin's answer (``resume_conversation`` hook), or ``None`` when no
        plugin has it.

    Raises:
        LLMError: A plugin answered with something that is not a ``Conversation``.
    """
    # lazy for lightness: the type is needed only when a conversation is resumed
    from llmplug.types._conversation import Conversation

    host = plugin_host()
    host.load_hook_plugins()
    found = host.pm.hook.resume_conversation(conversation_id=conversation_id)
    if found is not None and not isinstance(found, Conversation):
        raise LLMError(
            f"a plugin's resume_conversation returned a {type(found).__name__}, not a "
            f"llmplug.types.Conversation"
        )
    return found


def keeps_conversations() -> bool:
    """Whether any loaded hook plugin implements ``resume_conversation``."""
    host = plugin_host()
    host.load_hook_plugins()
    return bool(host.pm.hook.resume_conversation.get_hookimpls())
