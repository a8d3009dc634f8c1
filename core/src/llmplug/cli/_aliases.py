"""``llmplug aliases``: name config strings in the config file (``set``, ``list``, ``remove``).

A thin layer over :func:`llmplug.config.set_alias`, :func:`~llmplug.config.aliases`
and :func:`~llmplug.config.remove_alias`, which keep the file's comments and layout.
"""

from __future__ import annotations

import argparse
import json

from llmplug._secrets import redact_options, redact_query
from llmplug.cli._console import Console
from llmplug.errors import ConfigError, UnknownProviderError

__all__ = ["configure_aliases", "run_aliases"]


def configure_aliases(parser: argparse.ArgumentParser) -> None:
    """The subcommands of ``llmplug aliases``."""
    parser.description = (
        "Name config strings: 'llmplug aliases set fast openai:gpt-4o-mini?temperature=0' "
        "makes 'fast' usable wherever a config string is (-m fast, llmplug.load('fast'))."
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    set_ = actions.add_parser("set", help="make NAME stand for SPEC")
    set_.add_argument("name", metavar="NAME", help="the alias (lower-case, digits, . _ -)")
    set_.add_argument("spec", metavar="SPEC", help="a config string, or another alias")
    listing = actions.add_parser("list", help="list the aliases")
    listing.add_argument("--json", action="store_true", help="print JSON")
    remove = actions.add_parser("remove", help="remove an alias")
    remove.add_argument("name", metavar="NAME")
    actions.add_parser("path", help="print where the config file is")


def run_aliases(args: argparse.Namespace, console: Console) -> int:
    """Run ``llmplug aliases ACTION``."""
    from llmplug.config._aliases import aliases, remove_alias, set_alias
    from llmplug.config._file import config_path

    path = config_path()
    if args.action == "path":
        console.out(str(path))
        return 0
    if args.action == "list":
        found = aliases()
        if args.json:
            data = {
                a.name: {"spec": redact_query(a.spec), "options": redact_options(a.options)}
                for a in found
            }
            console.out(json.dumps(data, indent=2, default=str))
        elif found:
            console.table(["ALIAS", "STANDS FOR"], [[a.name, a.shown()] for a in found])
        else:
            console.note(f"no aliases (llmplug aliases set NAME SPEC; they go to {path})")
        return 0
    if args.action == "remove":
        if remove_alias(args.name) is None:
            names = ", ".join(a.name for a in aliases()) or "none"
            raise ConfigError(f"no alias named {args.name!r} in {str(path)!r} (aliases: {names})")
        console.note(f"Removed alias {args.name!r} from {path}")
        return 0
    previous = set_alias(args.name, args.spec)
    _warn_if_unknown(args.spec, console)
    was = f" (was {previous.shown()})" if previous is not None else ""
    console.note(f"Alias {args.name!r} now stands for {args.spec}{was}, in {path}")
    return 0


def _warn_if_unknown(spec: str, console: Console) -> None:
    """Say so when the alias names a provider that is not installed (it is saved anyway)."""
    from llmplug.config._aliases import aliases
    from llmplug.config._spec import parse_spec
    from llmplug.plugins._registry import registry

    provider = parse_spec(spec).provider
    if provider in {a.name for a in aliases()}:
        return  # an alias of an alias
    try:
        registry().get(provider)
    except UnknownProviderError as exc:
        console.warning(f"{exc} The alias is saved; it works once the provider is installed.")
    except Exception:  # a broken plugin says so when the alias is used
        return
