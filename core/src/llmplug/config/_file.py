"""The TOML config file: the default model, the aliases, and plugins' own settings.

Found at ``$LLMPLUG_CONFIG``, else ``config.toml`` in the user's config directory
(``$XDG_CONFIG_HOME/llmplug``, else ``~/.config/llmplug`` on Linux; platformdirs' choice
elsewhere)::

    default = "fast"
    [aliases]
    fast = "openai:gpt-4o-mini?temperature=0"
    [aliases.smart]
    spec = "anthropic:claude-sonnet-4-5"
    max_tokens = 2048
    [plugins.cost.prices."openai:gpt-4o-mini"]   # a table per plugin, read by the plugin
    input = 0.15

A ``[plugins.NAME]`` table belongs to the plugin ``NAME``: llmplug checks only that it
is a table and hands it over (:attr:`ConfigFile.plugins`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmplug.config._spec import NAME_RE
from llmplug.config._user_files import user_config_dir
from llmplug.errors import ConfigError

__all__ = ["CONFIG_ENV", "ConfigFile", "check_config", "config_path", "read_config"]

CONFIG_ENV = "LLMPLUG_CONFIG"


@dataclass(frozen=True)
class ConfigFile:
    """The parsed config file.

    Attributes:
        path: Where it was read from (``None`` when there is no file).
        default: The default spec or alias, if set.
        aliases: Alias name -> (spec string, extra options).
        plugins: Plugin name -> its ``[plugins.NAME]`` table, as written (each plugin
            checks its own).
    """

    path: Path | None = None
    default: str | None = None
    aliases: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)


def config_path() -> Path:
    """Where the config file is looked for."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return user_config_dir() / "config.toml"


_cache: dict[Path, tuple[tuple[int, int], ConfigFile]] = {}


def check_config(path: Path, data: dict[str, Any]) -> ConfigFile:
    """Check a config file's parsed TOML; return what it says.

    Raises:
        ConfigError: Unknown or mistyped keys, or an alias name a config string cannot use.
    """
    return _check_config(path, data)


def read_config(path: Path | None = None) -> ConfigFile:
    """Read and check the config file; a missing file is an empty config.

    Raises:
        ConfigError: The file is not valid TOML or has unknown or mistyped keys.
    """
    path = path or config_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        if os.environ.get(CONFIG_ENV):
            raise ConfigError(
                f"{CONFIG_ENV} points at {str(path)!r}, which does not exist; create it or "
                f"unset {CONFIG_ENV}"
            ) from None
        return ConfigFile()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    import tomllib  # lazy for lightness: only when a config file exists

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from exc
    config = _check_config(path, data)
    _cache[path] = (stamp, config)
    return config


def _check_config(path: Path, data: dict[str, Any]) -> ConfigFile:
    where = f"config file {str(path)!r}"
    unknown = sorted(set(data) - {"default", "aliases", "plugins"})
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown}; valid keys: 'default', 'aliases', 'plugins'"
        )
    plugins = data.get("plugins", {})
    if not isinstance(plugins, dict) or not all(isinstance(v, dict) for v in plugins.values()):
        raise ConfigError(
            f"{where}: [plugins] holds one table per plugin, e.g. [plugins.cache] ttl = 3600"
        )
    default = data.get("default")
    if default is not None and not isinstance(default, str):
        raise ConfigError(f"{where}: 'default' must be a string (a config string or an alias)")
    raw_aliases = data.get("aliases", {})
    if not isinstance(raw_aliases, dict):
        raise ConfigError(f"{where}: [aliases] must be a table")
    aliases: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, value in raw_aliases.items():
        if not re.match(NAME_RE, name):
            raise ConfigError(
                f"{where}: alias name {name!r} cannot be used in a config string; use "
                f"lower-case letters, digits, '.', '_' or '-'"
            )
        if isinstance(value, str):
            aliases[name] = (value, {})
        elif isinstance(value, dict) and isinstance(value.get("spec"), str):
            options = {k: v for k, v in value.items() if k != "spec"}
            aliases[name] = (value["spec"], options)
        else:
            raise ConfigError(
                f"{where}: alias {name!r} must be a config string, or a table with a 'spec' "
                f'string and options (e.g. [aliases.{name}] spec = "openai:gpt-4o" '
                f"temperature = 0)"
            )
    return ConfigFile(path=path, default=default, aliases=aliases, plugins=plugins)
