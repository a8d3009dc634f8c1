"""The gateway's config file: where it listens, what it serves, how it guards itself.

A TOML file (``llmplug serve --config FILE``; else ``$LLMPLUG_SERVER_CONFIG``; else
``server.toml`` in llmplug's config directory, when it exists)::

    [server]
    host = "127.0.0.1"
    port = 8080

    [models]
    gpt-4o-mini = "openai:gpt-4o-mini"
    claude = "anthropic:claude-sonnet-4-5"
    reliable = "fallback:openai:gpt-4o-mini,anthropic:claude-haiku-4-5"

    [models.cheap]
    spec = "openai:gpt-4o-mini"
    temperature = 0
    price = [0.15, 0.60]

Each public model name maps to a config string or an alias of llmplug's own config
file (routes included: ``fallback:``, ``balance:``, ``limit:``); a table adds load
options, a description and a price. With no ``[models]`` table, the aliases of
llmplug's config file are served under their own names.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmplug.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "GatewayConfig",
    "ModelEntry",
    "default_config_path",
    "read_gateway_config",
]

#: Set it to the gateway's config file.
CONFIG_ENV = "LLMPLUG_SERVER_CONFIG"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
_DEFAULT_MAX_REQUEST = 20 * 1024 * 1024
# public model names: what OpenAI's and Anthropic's model ids look like, and Ollama tags
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$")
_SERVER_KEYS = {
    "host": "the address to listen on (127.0.0.1: this machine only)",
    "port": "the TCP port",
    "keys_file": "the gateway's API keys (hashed), default gateway-keys.json in the config dir",
    "cors_origins": "browser origins allowed to call the gateway (none by default)",
    "remote_media": "pass image and document URLs from clients on to providers (false)",
    "max_request_bytes": "the largest request body accepted",
    "shutdown_timeout": "seconds in-flight requests get to finish on shutdown",
}
_ENTRY_KEYS = ("spec", "description", "price")


@dataclass(frozen=True)
class ModelEntry:
    """One public model name of the gateway.

    Attributes:
        name: The name clients send as ``model``.
        spec: The config string or alias it is loaded from (``llmplug.load(spec)``).
        options: Load options given beside the spec (``llmplug.load(spec, **options)``).
        description: Shown by ``GET /v1/models``.
        price: Cost per million input and output tokens, for keys with a cost budget.
    """

    name: str
    spec: str
    options: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    price: tuple[float, float] | None = None

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """The cost of a call's tokens at this model's price (0 without a price)."""
        if self.price is None:
            return 0.0
        return (input_tokens * self.price[0] + output_tokens * self.price[1]) / 1_000_000


@dataclass(frozen=True)
class GatewayConfig:
    """What the gateway serves and how (see the module docstring for the file).

    Attributes:
        path: The file it was read from (``None``: built in code).
        host: The address to listen on.
        port: The TCP port (0: any free port).
        models: Public model name -> :class:`ModelEntry`.
        keys_file: The gateway's key file (``None``: ``gateway-keys.json`` in llmplug's
            config directory, or ``$LLMPLUG_SERVER_KEYS``).
        cors_origins: Browser origins allowed to call the gateway; none by default.
        remote_media: Pass image and document URLs on to providers (which may fetch
            them from the gateway's network); by default only inline data is taken.
        max_request_bytes: The largest request body accepted (413 above it).
        shutdown_timeout: Seconds in-flight requests and streams get to finish once
            the server is asked to stop.
    """

    path: Path | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    models: dict[str, ModelEntry] = field(default_factory=dict)
    keys_file: Path | None = None
    cors_origins: tuple[str, ...] = ()
    remote_media: bool = False
    max_request_bytes: int = _DEFAULT_MAX_REQUEST
    shutdown_timeout: float = 30.0


def default_config_path() -> Path | None:
    """``$LLMPLUG_SERVER_CONFIG``, else ``server.toml`` in llmplug's config dir if present."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    from llmplug.config import user_config_dir

    path = user_config_dir() / "server.toml"
    return path if path.is_file() else None


def read_gateway_config(path: Path | str | None = None) -> GatewayConfig:
    """Read and check the gateway's config file.

    Args:
        path: The file; :func:`default_config_path` when not given.

    Returns:
        The config; with no file at all, the defaults (and no ``[models]``: the
        aliases of llmplug's config file are served).

    Raises:
        ConfigError: The file is missing, not TOML, or has unknown or mistyped keys.
    """
    if path is None:
        path = default_config_path()
        if path is None:
            return GatewayConfig()
    path = Path(path).expanduser()
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"gateway config file {str(path)!r} does not exist; create it (see the "
            f"Gateway page of the docs) or leave --config out"
        ) from None
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"gateway config file {str(path)!r} is not valid TOML: {exc}") from exc
    return config_from_dict(data, path)


def config_from_dict(data: dict[str, Any], path: Path | None = None) -> GatewayConfig:
    """Check a parsed config (the TOML file's tables) and build the :class:`GatewayConfig`.

    Raises:
        ConfigError: Unknown or mistyped keys, naming the file and the key.
    """
    where = f"gateway config {str(path)!r}" if path else "gateway config"
    unknown = sorted(set(data) - {"server", "models"})
    if unknown:
        raise ConfigError(f"{where}: unknown table(s) {unknown}; valid: [server], [models]")
    server = data.get("server", {})
    if not isinstance(server, dict):
        raise ConfigError(f"{where}: [server] must be a table")
    bad = sorted(set(server) - set(_SERVER_KEYS))
    if bad:
        valid = "; ".join(f"{k}: {v}" for k, v in _SERVER_KEYS.items())
        raise ConfigError(f"{where}: unknown key(s) {bad} in [server]; valid keys: {valid}")
    values: dict[str, Any] = {"path": path}
    if "host" in server:
        values["host"] = _string(server["host"], "host", where)
    if "port" in server:
        values["port"] = _port(server["port"], where)
    if "keys_file" in server:
        keys_file = Path(_string(server["keys_file"], "keys_file", where)).expanduser()
        if path is not None and not keys_file.is_absolute():
            keys_file = path.parent / keys_file
        values["keys_file"] = keys_file
    if "cors_origins" in server:
        origins = server["cors_origins"]
        if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
            raise ConfigError(f"{where}: cors_origins must be a list of origins (strings)")
        if "*" in origins:
            raise ConfigError(
                f"{where}: cors_origins may not be '*' (any web page could spend your keys "
                f"through a visitor's browser); list the origins, e.g. 'https://app.example.com'"
            )
        values["cors_origins"] = tuple(origins)
    if "remote_media" in server:
        if not isinstance(server["remote_media"], bool):
            raise ConfigError(f"{where}: remote_media must be true or false")
        values["remote_media"] = server["remote_media"]
    if "max_request_bytes" in server:
        size = server["max_request_bytes"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1024:
            raise ConfigError(f"{where}: max_request_bytes must be an integer >= 1024")
        values["max_request_bytes"] = size
    if "shutdown_timeout" in server:
        values["shutdown_timeout"] = _seconds(server["shutdown_timeout"], where)
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise ConfigError(f"{where}: [models] must be a table of public name = config string")
    values["models"] = {name: model_entry(name, value, where) for name, value in models.items()}
    return GatewayConfig(**values)


def model_entry(name: str, value: Any, where: str = "gateway config") -> ModelEntry:
    """The :class:`ModelEntry` of ``name = value`` in ``[models]``.

    Raises:
        ConfigError: A name clients could not send, or a value that is neither a config
            string nor a table with a ``spec``.
    """
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise ConfigError(
            f"{where}: model name {name!r}: use letters, digits and . _ : / @ - "
            f"(at most 128 characters, starting with a letter or digit)"
        )
    if isinstance(value, str):
        return ModelEntry(name, value)
    if not isinstance(value, dict) or not isinstance(value.get("spec"), str):
        raise ConfigError(
            f"{where}: model {name!r} must be a config string or a table with a 'spec' "
            f'(e.g. [models.{name}] spec = "openai:gpt-4o-mini" temperature = 0)'
        )
    description = value.get("description")
    if description is not None and not isinstance(description, str):
        raise ConfigError(f"{where}: model {name!r}: description must be a string")
    price = value.get("price")
    if price is not None:
        ok = isinstance(price, list) and len(price) == 2 and all(_non_negative(p) for p in price)
        if not ok:
            raise ConfigError(
                f"{where}: model {name!r}: price is [input, output] cost per million "
                f"tokens, e.g. [0.15, 0.60]"
            )
        price = (float(price[0]), float(price[1]))
    options = {k: v for k, v in value.items() if k not in _ENTRY_KEYS}
    return ModelEntry(name, value["spec"], options, description, price)


def _non_negative(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _string(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key} must be a non-empty string")
    return value


def _port(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise ConfigError(f"{where}: port must be an integer from 0 to 65535")
    return value


def _seconds(value: Any, where: str) -> float:
    if not _non_negative(value):
        raise ConfigError(f"{where}: shutdown_timeout must be a number of seconds >= 0")
    return float(value)
