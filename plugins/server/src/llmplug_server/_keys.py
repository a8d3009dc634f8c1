"""The gateway's own API keys: stored hashed, each with its models, rate limits and budget.

A key is ``llmp-`` and 43 random URL-safe characters (256 bits), shown once when it is
created. The file keeps its SHA-256 (a key is random, not a password: no slow hash is
needed to resist guessing) and what the key may do: the models it may use, requests and
tokens per minute, a token or cost budget. The file is JSON, readable by its owner only
(mode 0600), replaced atomically; a running gateway sees keys created or revoked within a
second.

Provider keys (``OPENAI_API_KEY``...) are another thing: they stay in the gateway's
environment or llmplug's key store and are never sent to a client.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from llmplug.errors import ConfigError

__all__ = [
    "KEYS_ENV",
    "GatewayKey",
    "GatewayKeys",
    "default_keys_path",
    "hash_key",
    "parse_period",
]

#: Set it to a file path to keep the gateway's keys there.
KEYS_ENV = "LLMPLUG_SERVER_KEYS"
KEY_PREFIX = "llmp-"
_FILE_MODE = 0o600
_UNREAD = object()
_PERIOD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_period(value: str) -> float:
    """Seconds in a budget period: ``"3600"``, ``"30s"``, ``"15m"``, ``"1h"``, ``"1d"``, ``"1w"``.

    Raises:
        ConfigError: Anything else (the message shows what is accepted).
    """
    match = _PERIOD.match(value)
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else 0.0
    if seconds <= 0:
        raise ConfigError(
            f"a budget period is a positive number of seconds, or a number with a unit "
            f"(30s, 15m, 1h, 1d, 1w), not {value!r}"
        )
    return seconds


def default_keys_path() -> Path:
    """``$LLMPLUG_SERVER_KEYS``, else ``gateway-keys.json`` in llmplug's config directory."""
    explicit = os.environ.get(KEYS_ENV)
    if explicit:
        return Path(explicit).expanduser()
    from llmplug.config import user_config_dir

    return user_config_dir() / "gateway-keys.json"


def hash_key(key: str) -> str:
    """The stored form of a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class GatewayKey:
    """One key of the gateway, as stored (never the key itself).

    Attributes:
        id: A short public id (``key_...``), for listings, logs and ``revoke``.
        name: A label for people.
        hash: The key's SHA-256 (hex).
        models: The public model names it may use (``None``: every model).
        rpm: Requests per minute (``None``: no limit).
        tpm: Tokens per minute (``None``: no limit).
        budget_tokens: Tokens it may use (per ``budget_period``, else in all).
        budget_cost: Cost it may spend, at the models' ``price`` (models without a
            price cost nothing).
        budget_period: When the budget starts again (``"1d"``, ``"30d"``...).
        created: When it was created (ISO 8601, UTC).
    """

    id: str
    name: str
    hash: str
    models: tuple[str, ...] | None = None
    rpm: float | None = None
    tpm: float | None = None
    budget_tokens: int | None = None
    budget_cost: float | None = None
    budget_period: str | None = None
    created: str = ""

    def allows(self, model: str) -> bool:
        """Whether this key may use the public model ``model``."""
        return self.models is None or model in self.models

    @property
    def limited(self) -> bool:
        """Whether calls with this key count against a rate limit or a budget."""
        return any(
            v is not None for v in (self.rpm, self.tpm, self.budget_tokens, self.budget_cost)
        )

    def describe(self) -> dict[str, Any]:
        """The key's settings for a listing (no hash)."""
        shown = asdict(self)
        del shown["hash"]
        shown["models"] = list(self.models) if self.models is not None else None
        return shown


class GatewayKeys:
    """The gateway's key file (see the module docstring).

    Args:
        path: The file; :func:`default_keys_path` when not given.
        reload_every: Seconds between looks at the file for keys created or revoked
            by another process (``llmplug serve keys ...`` while the gateway runs).
    """

    def __init__(self, path: Path | None = None, *, reload_every: float = 1.0) -> None:
        self.path = path if path is not None else default_keys_path()
        self.reload_every = reload_every
        self._lock = threading.Lock()
        self._by_hash: dict[str, GatewayKey] = {}
        self._stamp: object = _UNREAD
        self._checked = float("-inf")

    # -- reading ------------------------------------------------------------------------

    def _read(self) -> list[GatewayKey]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            data = json.loads(text)
            return [GatewayKey(**_from_json(entry)) for entry in data["keys"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"the gateway key file {str(self.path)!r} is damaged ({exc}); restore it, or "
                f"move it away and create keys again with: llmplug serve keys create"
            ) from None

    def keys(self) -> list[GatewayKey]:
        """Every key, in the order created."""
        return self._read()

    def lookup(self, key: str) -> GatewayKey | None:
        """The key record of ``key`` (as a client sent it), or ``None``.

        Re-reads the file when it changed (looking at most once a second).
        """
        now = time.monotonic()
        if now - self._checked >= self.reload_every:
            self._refresh(now)
        return self._by_hash.get(hash_key(key))

    def _refresh(self, now: float) -> None:
        with self._lock:
            self._checked = now
            try:
                stat = self.path.stat()
                stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp == self._stamp:
                return
            self._by_hash = {k.hash: k for k in self._read()}
            self._stamp = stamp

    def __len__(self) -> int:
        self._refresh(time.monotonic())
        return len(self._by_hash)

    # -- changing -----------------------------------------------------------------------

    def create(
        self,
        name: str = "",
        *,
        models: Sequence[str] | None = None,
        rpm: float | None = None,
        tpm: float | None = None,
        budget_tokens: int | None = None,
        budget_cost: float | None = None,
        budget_period: str | None = None,
    ) -> tuple[str, GatewayKey]:
        """Create a key; returns the key (shown this once) and its stored record.

        Raises:
            ConfigError: A limit that is not positive, or a bad budget period.
        """
        for label, value in (("rpm", rpm), ("tpm", tpm), ("budget", budget_tokens)):
            if value is not None and not value > 0:
                raise ConfigError(f"--{label} must be a positive number, not {value!r}")
        if budget_cost is not None and not budget_cost > 0:
            raise ConfigError(f"--budget-cost must be a positive amount, not {budget_cost!r}")
        if budget_period is not None:
            parse_period(budget_period)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        record = GatewayKey(
            id="key_" + secrets.token_hex(6),
            name=name,
            hash=hash_key(key),
            models=tuple(dict.fromkeys(models)) if models is not None else None,
            rpm=rpm,
            tpm=tpm,
            budget_tokens=budget_tokens,
            budget_cost=budget_cost,
            budget_period=budget_period,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        with self._lock:
            self._write([*self._read(), record])
        return key, record

    def revoke(self, key_id: str) -> GatewayKey:
        """Remove the key with id ``key_id``; returns its record.

        Raises:
            ConfigError: No key has that id (the message lists the ids).
        """
        with self._lock:
            keys = self._read()
            found = next((k for k in keys if k.id == key_id), None)
            if found is None:
                ids = ", ".join(k.id for k in keys) or "none"
                raise ConfigError(
                    f"no gateway key has the id {key_id!r}; the ids are: {ids} "
                    f"(llmplug serve keys list)"
                )
            self._write([k for k in keys if k.id != key_id])
        return found

    def _write(self, keys: Iterable[GatewayKey]) -> None:
        data = {"version": 1, "keys": [asdict(k) for k in keys]}
        _atomic_write(self.path, json.dumps(data, indent=2) + "\n")
        self._checked = float("-inf")  # the next lookup reads the new file


def _from_json(entry: dict[str, Any]) -> dict[str, Any]:
    entry = dict(entry)
    if entry.get("models") is not None:
        entry["models"] = tuple(entry["models"])
    return entry


def _atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, never readable by others, never half-written."""
    import tempfile

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
