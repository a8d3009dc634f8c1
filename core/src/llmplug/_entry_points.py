"""Entry points: finding plugins, and the rules for which of them may load.

Reads distribution metadata only; importing a plugin is the job of the plugin host
(``llmplug.llm``, hook plugins) and the provider registry (``llmplug.plugins``).
"""

from __future__ import annotations

import os
import re
from typing import Any, Protocol

from llmplug.errors import PluginLoadError
from llmplug.hookspecs import PLUGIN_API_VERSION

__all__ = [
    "ALLOW_ENV",
    "HOOKS_GROUP",
    "KEY_ENV_GROUP",
    "NO_AUTOLOAD_ENV",
    "PROVIDERS_GROUP",
    "EntryPointLike",
    "allowed",
    "api_mismatch",
    "canonical",
    "claimant",
    "dist_label",
    "entry_point_error",
    "flag",
    "allow_list",
    "installed_entry_points",
    "registered_name",
]

PROVIDERS_GROUP = "llmplug.providers"
HOOKS_GROUP = "llmplug"
#: ``provider name = "ENV_VAR"``: the variable holding each provider's API key, read by
#: listings without importing the plugin.
KEY_ENV_GROUP = "llmplug.key_env"
#: Comma-separated entry-point or distribution names; when set, only these plugins load.
ALLOW_ENV = "LLMPLUG_PLUGINS"
#: When set (to anything but "", "0", "false", "no"), hook plugins are not autoloaded.
NO_AUTOLOAD_ENV = "LLMPLUG_DISABLE_PLUGIN_AUTOLOAD"
_CORE_DIST = "llmplug"


class EntryPointLike(Protocol):
    """What the registry needs of an entry point (``importlib.metadata.EntryPoint``)."""

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
    """The entry points of ``group`` in the installed distributions (first of a name wins).

    What ``importlib.metadata.entry_points(group=group)`` returns, for a fraction of its
    cost at start-up: only the distributions whose ``entry_points.txt`` names the group
    are parsed (parsing every distribution's entry points is most of that function's
    work), files in a directory on disk are read with ``os.read`` (a buffered text file
    object per distribution costs more than the reading), and the standard library's
    module is the one pydantic imports anyway.
    """
    # lazy: paid only when a plugin is looked up (pathlib comes with importlib.metadata)
    import importlib.metadata
    from pathlib import PurePath

    header = f"[{group}]"
    raw_header = header.encode("utf-8")
    seen: set[str] = set()
    found: list[EntryPointLike] = []
    for dist in importlib.metadata.distributions():
        path = getattr(dist, "_path", None)
        where = str(path) if isinstance(path, PurePath) else None  # else a zip, or a finder's
        # a distribution found twice on sys.path counts once, as entry_points() does
        key = _dist_key(dist, where)
        if key in seen:
            continue
        seen.add(key)
        if where is None:
            text: str | None = dist.read_text("entry_points.txt")
            names_group = text is not None and header in text
        else:
            names_group = raw_header in _read_file(os.path.join(where, "entry_points.txt"))
        if names_group:
            found.extend(dist.entry_points.select(group=group))
    return found


def _dist_key(dist: Any, where: str | None) -> str:
    """The name ``importlib.metadata`` tells distributions apart by (``_normalized_name``).

    The name part of a ``.dist-info``/``.egg-info`` directory (``where``), else the
    metadata's ``Name``; PEP 503-normalized with ``_`` for each run of ``-``, ``_`` and
    ``.`` (string operations: a regular expression per distribution costs more).
    """
    name = ""
    if where is not None:
        base, ext = os.path.splitext(os.path.basename(where))
        if ext in (".dist-info", ".egg-info"):
            name = base.partition("-")[0]
    if not name:
        name = dist.metadata["Name"] or ""
    key: str = name.lower().replace("-", "_").replace(".", "_")
    while "__" in key:
        key = key.replace("__", "_")
    return key


def _read_file(path: str) -> bytes:
    """The bytes of the file at ``path``; ``b""`` if there is none (as ``read_text``'s None)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return b""
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    except IsADirectoryError:
        return b""
    finally:
        os.close(fd)
    return b"".join(chunks)


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


def registered_name(ep: EntryPointLike) -> str:
    """The name a plugin loaded from ``ep`` is registered under (``group:name``)."""
    return f"{ep.group}:{ep.name}"


def entry_point_error(ep: EntryPointLike, problem: str, *, detail: str = "") -> PluginLoadError:
    """``plugin 'name' (dist version<detail>)<problem>`` as a PluginLoadError."""
    return PluginLoadError(
        f"plugin {ep.name!r} ({claimant(ep)}{detail}){problem}",
        plugin=ep.name,
        distribution=dist_label(ep)[0],
        entry_point=ep.value,
    )
