"""Entry points and what is known of providers.

Finding plugins, the rules for which may load, and the records the registry keeps
(ProviderSpec) and lists (ProviderInfo). Reads distribution metadata only; importing a
plugin is the registry's job.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from llmplug.hookspecs import PLUGIN_API_VERSION

if TYPE_CHECKING:
    from llmplug._llm import LLM

__all__ = [
    "ALLOW_ENV",
    "HOOKS_GROUP",
    "NO_AUTOLOAD_ENV",
    "PROVIDERS_GROUP",
    "EntryPointLike",
    "ProviderInfo",
    "ProviderSpec",
    "allowed",
    "api_mismatch",
    "canonical",
    "claimant",
    "dist_label",
    "flag",
    "allow_list",
    "installed_entry_points",
]

PROVIDERS_GROUP = "llmplug.providers"
HOOKS_GROUP = "llmplug"
#: Comma-separated entry-point or distribution names; when set, only these plugins load.
ALLOW_ENV = "LLMPLUG_PLUGINS"
#: When set (to anything but "", "0", "false", "no"), hook plugins are not autoloaded.
NO_AUTOLOAD_ENV = "LLMPLUG_DISABLE_PLUGIN_AUTOLOAD"
_CORE_DIST = "llmplug"


class EntryPointLike(Protocol):
    """What the registry needs of an entry point (``importlib_metadata.EntryPoint``)."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def dist(self) -> Any: ...
    def load(self) -> Any: ...


def installed_entry_points(group: str) -> list[EntryPointLike]:
    import importlib_metadata  # lazy: ~20 ms, paid only when a plugin is looked up

    return list(importlib_metadata.entry_points(group=group))


def dist_label(ep: EntryPointLike) -> tuple[str | None, str | None]:
    """The name and version of the distribution declaring ``ep``, if known."""
    dist = ep.dist
    if dist is None:
        return None, None
    label = _from_dist_info(getattr(dist, "_path", None))
    if label is not None:
        return label
    name = getattr(dist, "name", None) or dist.metadata["Name"]
    return name, getattr(dist, "version", None)


def _from_dist_info(path: Any) -> tuple[str, str] | None:
    # An installed wheel's metadata directory is named "{name}-{version}.dist-info", the
    # name normalized with "_" (PEP 427/503): reading it there spares parsing every
    # METADATA file with the email package (~20 ms at start-up). Anything else
    # (egg-info, zip or custom distributions) falls back to the metadata.
    stem = getattr(path, "name", None)
    if not isinstance(stem, str) or not stem.endswith(".dist-info"):
        return None
    name, sep, version = stem[: -len(".dist-info")].partition("-")
    if not sep or not name or not version or "-" in version:
        return None
    return name.replace("_", "-").lower(), version


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares it (``LLMPlug_OpenAI`` -> ``llmplug-openai``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def flag(env: str) -> bool:
    return os.environ.get(env, "").strip().lower() not in ("", "0", "false", "no")


def allow_list() -> set[str] | None:
    raw = os.environ.get(ALLOW_ENV)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def api_mismatch(plugin: object) -> str | None:
    """Why ``plugin`` cannot be used with this plugin API version, or ``None``."""
    declared = getattr(plugin, "LLMPLUG_PLUGIN_API", PLUGIN_API_VERSION)
    supported = declared if isinstance(declared, tuple | list | set) else (declared,)
    if PLUGIN_API_VERSION in supported:
        return None
    return (
        f"is built for llmplug plugin API {declared!r}, but this llmplug speaks version "
        f"{PLUGIN_API_VERSION}; install a version of the plugin made for it."
    )


def claimant(ep: EntryPointLike) -> str:
    dist, version = dist_label(ep)
    if dist is None:
        return f"entry point {ep.value!r}"
    return f"{dist} {version}" if version else dist


def allowed(allow: set[str] | None, ep: EntryPointLike) -> bool:
    if allow is None:
        return True
    dist = dist_label(ep)[0]
    if dist is None:
        return ep.name in allow
    dist = canonical(dist)
    return dist == _CORE_DIST or ep.name in allow or dist in {canonical(a) for a in allow}


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
