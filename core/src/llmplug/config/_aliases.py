"""Changing the aliases in the config file, keeping its comments and layout.

Reading the config file (:func:`~llmplug.config.read_config`) needs only the standard
library; changing it goes through tomlkit, which keeps every comment, blank line and
the order of keys, and is imported only here, when a change is made. The new file is
checked as ``load()`` would read it before it replaces the old one, atomically.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

from llmplug._secrets import redact_options, redact_query
from llmplug.config._file import check_config, config_path, read_config
from llmplug.config._spec import NAME_RE, parse_spec
from llmplug.config._user_files import atomic_write
from llmplug.errors import ConfigError

__all__ = ["Alias", "aliases", "remove_alias", "set_alias"]

_DEFAULT_MODE = 0o644


class Alias(NamedTuple):
    """One alias of the config file.

    Attributes:
        name: The alias (used as ``load("name")``).
        spec: The config string it stands for.
        options: Options given beside the spec (``[aliases.name]`` tables).
    """

    name: str
    spec: str
    options: dict[str, Any]

    def shown(self) -> str:
        """The alias's target for display: secrets in the spec and options redacted."""
        text = redact_query(self.spec)
        if self.options:
            pairs = ", ".join(f"{k}={v!r}" for k, v in redact_options(self.options).items())
            text += f" ({pairs})"
        return text


def aliases(path: Path | None = None) -> list[Alias]:
    """The aliases of the config file, sorted by name.

    Raises:
        ConfigError: The config file is not valid.
    """
    config = read_config(path)
    return [Alias(name, *config.aliases[name]) for name in sorted(config.aliases)]


def set_alias(name: str, spec: str, path: Path | None = None) -> Alias | None:
    """Make ``name`` stand for the config string ``spec``; create the file if need be.

    Args:
        name: The alias: lower-case letters, digits, ``.``, ``_`` or ``-``.
        spec: A config string (``"openai:gpt-4o-mini?temperature=0"``) or another alias.
        path: The config file (default: :func:`~llmplug.config.config_path`).

    Returns:
        The alias it replaced, if there was one.

    Raises:
        ConfigError: A bad name or config string, or a config file that is not valid
            (before or after the change: nothing is written then).
        OSError: The file cannot be written.
    """
    if not isinstance(name, str) or not re.match(NAME_RE, name):
        raise ConfigError(
            f"alias name {name!r} cannot be used in a config string; use lower-case "
            f"letters, digits, '.', '_' or '-'"
        )
    target = parse_spec(spec)  # a malformed string is refused here, naming the problem
    if target.provider == name and target.model is None and not target.options:
        raise ConfigError(f"alias {name!r} would stand for itself; give it a config string")
    path = path or config_path()
    previous = _current(path).get(name)
    document = _load_document(path)
    table = document.get("aliases")
    if table is None:
        import tomlkit  # lazy for lightness: only when the config file is changed

        table = tomlkit.table()
        document["aliases"] = table
    table[name] = spec.strip()
    _save(path, document)
    return previous


def remove_alias(name: str, path: Path | None = None) -> Alias | None:
    """Remove the alias ``name`` from the config file.

    Returns:
        The alias removed, or ``None`` when there was none (the file is not touched).

    Raises:
        ConfigError: The config file is not valid.
        OSError: The file cannot be written.
    """
    path = path or config_path()
    previous = _current(path).get(name)
    if previous is None:
        return None
    document = _load_document(path)
    table = document["aliases"]
    del table[name]
    _save(path, document)
    return previous


def _current(path: Path) -> dict[str, Alias]:
    """The aliases in ``path`` now (none when it does not exist yet: it will be created)."""
    if not path.exists():
        return {}
    return {alias.name: alias for alias in aliases(path)}


def _load_document(path: Path) -> Any:
    import tomlkit  # lazy for lightness: only when the config file is changed

    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return tomlkit.document()


def _save(path: Path, document: Any) -> None:
    import tomlkit  # lazy for lightness: only when the config file is changed

    check_config(path, document.unwrap())  # never write a file load() would refuse
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = _DEFAULT_MODE
    atomic_write(path, tomlkit.dumps(document), mode=mode)
