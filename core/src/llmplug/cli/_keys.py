"""``llmplug keys``: store API keys for providers (``set``, ``list``, ``path``, ``remove``).

A key is named by the environment variable that would hold it (``OPENAI_API_KEY``); a
provider's name (``openai``) may stand for its variable. Keys are read without echo,
and never printed: ``list`` shows names only.
"""

from __future__ import annotations

import argparse
import json
import re

from llmplug.cli._console import Console
from llmplug.errors import ConfigError, UnknownProviderError

__all__ = ["configure_keys", "run_keys"]

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def configure_keys(parser: argparse.ArgumentParser) -> None:
    """The subcommands of ``llmplug keys``."""
    parser.description = (
        "Store API keys in the user's config directory (mode 0600). A provider's key is "
        "found in this order: the api_key option, its environment variable, the key store."
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    set_ = actions.add_parser(
        "set",
        help="store a key (typed without echo, or read from stdin)",
        description="Store a key: typed at the prompt without echo, or piped to stdin.",
    )
    set_.add_argument("name", metavar="NAME", help="OPENAI_API_KEY, or a provider: openai")
    listing = actions.add_parser("list", help="list the names of the stored keys")
    listing.add_argument("--json", action="store_true", help="print JSON")
    actions.add_parser("path", help="print where the keys are stored")
    remove = actions.add_parser("remove", help="forget a stored key")
    remove.add_argument("name", metavar="NAME", help="OPENAI_API_KEY, or a provider: openai")


def key_name(name: str) -> str:
    """The key store name for ``name``: an environment variable, or a provider's variable.

    Raises:
        ConfigError: ``name`` is neither, or the provider takes no key.
    """
    if _ENV_NAME.match(name):
        return name
    from llmplug.plugins._registry import registry  # lazy for lightness: plugin metadata

    try:
        spec = registry().get(name)
    except UnknownProviderError:
        raise ConfigError(
            f"{name!r} is neither a key's name (an environment variable such as "
            f"OPENAI_API_KEY) nor an installed provider"
        ) from None
    if not spec.key_env:
        raise ConfigError(f"provider {name!r} takes no API key")
    return spec.key_env


def _read_key(name: str, console: Console) -> str:
    if console.stdin_is_tty():
        import getpass  # lazy for lightness: only when a key is typed

        return getpass.getpass(f"Enter the key for {name} (not shown): ")
    if console.stdin is None:
        raise ConfigError(f"no key given: pipe it to stdin (llmplug keys set {name} < key.txt)")
    return console.stdin.read()


def run_keys(args: argparse.Namespace, console: Console) -> int:
    """Run ``llmplug keys ACTION``."""
    from llmplug.config._keys import KeyStore  # lazy for lightness: pydantic

    store = KeyStore()
    if args.action == "path":
        console.out(str(store.path))
        return 0
    if args.action == "list":
        names = store.names()
        if args.json:
            console.out(json.dumps({"path": str(store.path), "keys": names}, indent=2))
            return 0
        for name in names:
            console.out(name)
        if not names:
            console.note(f"no keys stored (llmplug keys set NAME; they go to {store.path})")
        return 0
    name = key_name(args.name)
    if args.action == "set":
        value = _read_key(name, console)
        console.add_secrets([value.strip()])
        store.set(name, value)
        console.note(f"Stored {name} in {store.path}")
        return 0
    if not store.remove(name):
        stored = ", ".join(store.names()) or "none"
        raise ConfigError(f"no key named {name} is stored (stored: {stored})")
    console.note(f"Removed {name} from {store.path}")
    return 0
