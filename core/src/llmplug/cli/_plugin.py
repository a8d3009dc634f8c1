"""``llmplug plugin new`` and ``llmplug plugin list --available``: for plugin authors and users.

The logic lives in ``llmplug.plugins`` (the scaffold and the directory of first-party
plugins); this module parses arguments and prints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from llmplug._entry_points import canonical
from llmplug.cli._console import Console

__all__ = ["configure_plugin", "run_plugin"]


def configure_plugin(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``llmplug plugin``."""
    parser.description = "Tools for plugin authors and users."
    actions = parser.add_subparsers(dest="plugin_command", metavar="ACTION", required=True)
    new = actions.add_parser(
        "new",
        help="write a working plugin distribution llmplug-NAME",
        description=(
            "Write the distribution llmplug-NAME (pyproject.toml with its entry point, the "
            "plugin module, tests that run llmplug's conformance suite, a README) into "
            "DIR/llmplug-NAME. It installs and passes its own tests unchanged: "
            "pip install ./llmplug-NAME && pytest llmplug-NAME"
        ),
    )
    new.add_argument("name", metavar="NAME", help="the provider or plugin name, e.g. acme")
    new.add_argument(
        "--kind",
        choices=("http", "hook"),
        default="http",
        help="http: a provider for an HTTP JSON API (default); hook: a hook plugin",
    )
    new.add_argument("--dir", default=".", help="where to write it (default: here)")
    listing = actions.add_parser(
        "list",
        help="list first-party plugins (--available)",
        description="List the first-party plugins: names, distributions, what they do.",
    )
    listing.add_argument(
        "--available",
        action="store_true",
        required=True,
        help="the directory of first-party plugins, installed or not",
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run_plugin(args: argparse.Namespace, console: Console) -> int:
    """Run ``llmplug plugin``."""
    if args.plugin_command == "new":
        from llmplug.plugins._scaffold import write_plugin

        root = write_plugin(args.name, kind=args.kind, directory=Path(args.dir))
        console.out(f"Wrote {root}\n\nNext:\n  pip install ./{root.name}\n  pytest {root.name}")
        return 0
    return _available(args.json, console)


def _available(as_json: bool, console: Console) -> int:
    from llmplug.plugins._directory import DIRECTORY, install_hint
    from llmplug.plugins._registry import registry  # lazy for lightness: pluggy

    installed = {canonical(i.distribution or "") for i in registry().providers()}
    installed.update(canonical(dist or "") for _, dist, _ in registry().hook_plugins())
    rows: list[dict[str, Any]] = []
    for plugin in DIRECTORY:
        is_installed = canonical(plugin.distribution) in installed
        rows.append(
            {
                **plugin._asdict(),
                "installed": is_installed,
                "install": None if is_installed else install_hint(plugin),
            }
        )
    if as_json:
        console.out(json.dumps({"plugins": rows}, indent=2))
        return 0
    table = [
        [
            r["distribution"],
            r["kind"],
            ", ".join(r["providers"]) or "-",
            "installed" if r["installed"] else r["status"],
        ]
        for r in rows
    ]
    header = ["DISTRIBUTION", "KIND", "PROVIDERS", "STATUS"]
    widths = [max(len(c) for c in col) for col in zip(header, *table, strict=True)]
    console.out(_line(header, widths))
    for row, cells in zip(rows, table, strict=True):
        console.out(_line(cells, widths))
        console.out(f"    {row['description']}")
        if row["install"] and row["status"] == "ready":
            console.out(f"    install: {row['install']}")
    return 0


def _line(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
