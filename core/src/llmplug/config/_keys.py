"""API keys kept for the user (the key store), and the order in which a key is found.

A provider's key is named by the environment variable that holds it
(``OPENAI_API_KEY``); the key store keeps keys under the same names, so one name works
in both places. For a provider whose key lives in ``OPENAI_API_KEY``, the key is:

1. the one given explicitly (``load("openai?api_key=...")``, ``api_key=`` in code);
2. else the environment variable ``OPENAI_API_KEY``;
3. else ``OPENAI_API_KEY`` in the key store.

The key store is ``keys.json`` in the user's config directory (or ``$LLMPLUG_KEYS``):
a JSON object of names to keys, readable and writable by the user only (mode 0600),
written atomically. Values are handed out as :class:`pydantic.SecretStr` and never
appear in an error message or a listing.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from llmplug.config._user_files import atomic_write, user_config_dir
from llmplug.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["KEYS_ENV", "KeyStore", "key_source", "keys_path", "resolve_key"]

#: Set it to a file path to keep the key store there instead.
KEYS_ENV = "LLMPLUG_KEYS"
#: Names are environment variable names: letters, digits and ``_``.
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FILE_MODE = 0o600


def keys_path() -> Path:
    """Where the key store is: ``$LLMPLUG_KEYS``, else ``keys.json`` in the config dir."""
    explicit = os.environ.get(KEYS_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return user_config_dir() / "keys.json"


# path -> ((mtime_ns, size), keys): providers read the store each time one is built
_cache: dict[Path, tuple[tuple[int, int], dict[str, str]]] = {}
_lock = threading.Lock()


class KeyStore:
    """The user's stored API keys, one JSON file (see the module docstring).

    Args:
        path: The file; :func:`keys_path` when not given (read each time, so a changed
            ``$LLMPLUG_KEYS`` is seen).
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        """The key store's file."""
        return self._path if self._path is not None else keys_path()

    def __repr__(self) -> str:
        return f"KeyStore({str(self.path)!r})"

    def names(self) -> list[str]:
        """The names of the stored keys, sorted (never the keys)."""
        return sorted(self._read())

    def get(self, name: str) -> SecretStr | None:
        """The key stored under ``name``, or ``None``."""
        value = self._read().get(name)
        if not value:
            return None
        from pydantic import SecretStr  # lazy for lightness: `llmplug keys list` needs none

        return SecretStr(value)

    def set(self, name: str, value: str | SecretStr) -> None:
        """Store ``value`` under ``name``, replacing any key stored there.

        Raises:
            ConfigError: A name that is not an environment variable name, or an empty key.
            OSError: The file cannot be written.
        """
        _check_name(name)
        text = value if isinstance(value, str) else value.get_secret_value()
        text = text.strip()
        if not text:
            raise ConfigError(f"the key for {name} is empty; nothing was stored")
        if any(ch.isspace() for ch in text):
            raise ConfigError(
                f"the key for {name} contains whitespace, which no API key does; "
                f"nothing was stored (was more than the key pasted?)"
            )
        with _lock:
            keys = dict(self._read())
            keys[name] = text
            self._write(keys)

    def remove(self, name: str) -> bool:
        """Forget the key stored under ``name``; ``False`` if there was none.

        Raises:
            OSError: The file cannot be written.
        """
        with _lock:
            keys = dict(self._read())
            if name not in keys:
                return False
            del keys[name]
            self._write(keys)
            return True

    # -- the file ------------------------------------------------------------------------

    def _read(self) -> dict[str, str]:
        path = self.path
        try:
            stat = path.stat()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"cannot read the key store {str(path)!r}: {exc}") from exc
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            # the parser's error holds the document: keep the keys out of the chain
            data = None
        except OSError as exc:
            raise ConfigError(f"cannot read the key store {str(path)!r}: {exc}") from exc
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise ConfigError(
                f"the key store {str(path)!r} is not a JSON object of names to keys; fix it "
                f"or delete it and store the keys again (llmplug keys set NAME)"
            )
        _cache[path] = (stamp, data)
        return data

    def _write(self, keys: dict[str, str]) -> None:
        text = json.dumps(dict(sorted(keys.items())), indent=2) + "\n"
        atomic_write(self.path, text, mode=_FILE_MODE)
        _cache.pop(self.path, None)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(
            f"{name!r} cannot name a key: use the environment variable that holds it, "
            f"e.g. OPENAI_API_KEY (letters, digits and '_')"
        )


def resolve_key(env: str | None, explicit: str | SecretStr | None = None) -> SecretStr | None:
    """Find a key: ``explicit``, else the environment variable ``env``, else the key store.

    Args:
        env: The environment variable (and key store name) holding the key.
        explicit: A key given directly; wins when set.

    Returns:
        The key, or ``None`` when none is set anywhere.

    Raises:
        ConfigError: The key store exists but cannot be read.
    """
    from pydantic import SecretStr  # lazy for lightness (see KeyStore.get)

    if explicit:
        return SecretStr(explicit) if isinstance(explicit, str) else explicit
    if not env:
        return None
    value = os.environ.get(env)
    if value:
        return SecretStr(value)
    return KeyStore().get(env)


def key_source(env: str) -> Literal["environment", "key store"] | None:
    """Where a key named ``env`` would come from now: the environment, the store, or nowhere."""
    if os.environ.get(env):
        return "environment"
    if KeyStore().get(env) is not None:
        return "key store"
    return None
