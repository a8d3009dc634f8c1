"""``llmplug providers``, ``plugins``, ``install`` and ``uninstall``.

``providers`` reads entry-point metadata only (a broken plugin cannot break it);
``plugins`` loads every plugin, each in its own error boundary, to say whether it
works; ``install`` and ``uninstall`` run pip for the Python that runs llmplug, so a
plugin lands where llmplug finds it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from llmplug.cli._console import Console

__all__ = [
    "configure_install",
    "configure_plugins",
    "configure_providers",
    "configure_uninstall",
    "run_install",
    "run_plugins",
    "run_providers",
    "run_uninstall",
]

_STATUS_STYLE = {"loaded": "ok", "available": "ok", "failed": "error", "conflict": "error"}


# -- providers ----------------------------------------------------------------------------


def configure_providers(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``llmplug providers``."""
    parser.description = "List installed providers and hook plugins from their metadata."
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")


def run_providers(args: argparse.Namespace, console: Console) -> int:
    """Run ``llmplug providers``."""
    from llmplug.plugins._registry import registry  # lazy for lightness: pluggy

    reg = registry()
    infos = reg.providers()
    hooks = reg.hook_plugins()
    if args.json:
        data = {
            "providers": [info._asdict() for info in infos],
            "hook_plugins": [
                {"name": name, "distribution": dist, "version": version}
                for name, dist, version in hooks
            ],
        }
        console.out(json.dumps(data, indent=2))
        return 0
    console.out("Providers:")
    if not infos:
        console.out("  none installed (known plugins: llmplug plugin list --available)")
    else:
        rows = [
            [i.name, i.distribution or "-", i.version or "-", i.key_env or "-", i.status]
            for i in infos
        ]
        header = ["NAME", "DISTRIBUTION", "VERSION", "KEY", "STATUS"]
        widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]
        console.out("  " + console.style(_line(header, widths), "bold"))
        for info, row in zip(infos, rows, strict=True):
            console.out(f"  {_line(row, widths)}")
            if info.description:
                console.out(f"      {info.description}")
            if info.error:
                console.out(f"      error: {info.error}")
    console.out("\nHook plugins:")
    if not hooks:
        console.out("  none installed")
    else:
        rows = [[name, dist or "-", version or "-"] for name, dist, version in hooks]
        console.table(["NAME", "DISTRIBUTION", "VERSION"], rows, indent="  ")
    return 0


def _line(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


# -- plugins -------------------------------------------------------------------------------


def configure_plugins(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``llmplug plugins``."""
    parser.description = (
        "List installed plugins (providers, hooks, commands) and whether each loads: every "
        "plugin is loaded, each on its own, so a broken one is named with its error."
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def run_plugins(args: argparse.Namespace, console: Console) -> int:
    """Run ``llmplug plugins``."""
    from llmplug.cli._main import BUILTINS
    from llmplug.cli._plugin_commands import registrations
    from llmplug.plugins._status import installed_plugins

    plugins = installed_plugins(load=True)
    commands, failures = registrations(set(BUILTINS))
    added: dict[str, list[str]] = {}
    for command in commands:
        added.setdefault(command.plugin, []).append(command.name)
    failed = {failure.plugin: failure.error for failure in failures}
    entries = []
    for plugin in plugins:
        entry: dict[str, Any] = plugin._asdict()
        names = plugin.entry_points
        entry["commands"] = sorted(c for name in names for c in added.get(name, []))
        error = next((failed[name] for name in names if name in failed), None)
        entry["commands_error"] = f"{type(error).__name__}: {error}" if error else None
        for key in ("error", "commands_error"):
            entry[key] = console.redact(entry[key]) if entry[key] else None
        entries.append(entry)
    if args.json:
        console.out(json.dumps(entries, indent=2))
        return 0
    if not entries:
        console.out("No plugins installed (known plugins: llmplug plugin list --available).")
        return 0
    for entry in entries:
        version = f" {entry['version']}" if entry["version"] else ""
        status = console.style(entry["status"], _STATUS_STYLE.get(entry["status"], "warning"))
        console.out(f"{console.style(entry['name'], 'bold')}{version}  {entry['kind']}  {status}")
        console.out(f"    {entry['kind']}: {', '.join(entry['provides']) or '-'}")
        if entry["commands"]:
            console.out(f"    commands: {', '.join(entry['commands'])}")
        if entry["error"]:
            console.out(f"    error: {entry['error']}")
        if entry["commands_error"]:
            console.out(f"    commands not added: {entry['commands_error']}")
    return 0


# -- install and uninstall ----------------------------------------------------------------


def configure_install(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``llmplug install``."""
    parser.description = (
        "Install plugins with pip, into the Python environment llmplug runs in "
        f"({sys.executable} -m pip install ...)."
    )
    parser.add_argument("packages", metavar="PACKAGE", nargs="+", help="e.g. llmplug-openai")
    parser.add_argument("-U", "--upgrade", action="store_true", help="upgrade if installed")
    parser.add_argument("-e", "--editable", action="store_true", help="install editable")
    parser.add_argument("--force-reinstall", action="store_true", help="reinstall")
    parser.add_argument("--no-deps", action="store_true", help="without dependencies")
    parser.add_argument("--pre", action="store_true", help="include pre-releases")
    parser.add_argument("--target", metavar="DIR", help="install into DIR (pip --target)")


def run_install(args: argparse.Namespace, console: Console) -> int:
    """Run ``llmplug install``."""
    flags = [
        flag
        for flag, on in (
            ("--upgrade", args.upgrade),
            ("--force-reinstall", args.force_reinstall),
            ("--no-deps", args.no_deps),
            ("--pre", args.pre),
        )
        if on
    ]
    if args.target:
        flags += ["--target", args.target]
    unpublished = _unpublished(args.packages)
    if unpublished:
        for line in unpublished:
            console.error(line)
        return 2
    packages = [
        arg
        for package in args.packages
        for arg in (["-e", package] if args.editable else [package])
    ]
    return _pip(["install", *flags, *packages], console)


def _unpublished(packages: list[str]) -> list[str]:
    """Why each first-party plugin named here cannot be installed by name (yet).

    A bare name that is a first-party distribution or provider (``llmplug-ollama``,
    ``ollama``) is not on PyPI until the directory says so: pip would look for it there
    and fail, or worse, find a squatter. Paths, URLs and third-party names go to pip.
    """
    from llmplug.plugins._directory import (
        PUBLISHED,
        REPOSITORY,
        install_hint,
        known_plugin,
        plugin_for_provider,
    )

    if PUBLISHED:
        return []
    found = []
    for package in packages:
        plugin = known_plugin(package) or plugin_for_provider(package)
        if plugin is None:
            continue
        if plugin.status != "ready":
            found.append(install_hint(plugin))
        else:
            found.append(
                f"{plugin.distribution} is not on PyPI yet; from a clone of {REPOSITORY}: "
                f"llmplug install ./{plugin.path}"
            )
    return found


def configure_uninstall(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``llmplug uninstall``."""
    parser.description = "Uninstall plugins with pip, from the environment llmplug runs in."
    parser.add_argument("packages", metavar="PACKAGE", nargs="+", help="e.g. llmplug-openai")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask to confirm")


def run_uninstall(args: argparse.Namespace, console: Console) -> int:
    """Run ``llmplug uninstall``."""
    return _pip(["uninstall", *(["--yes"] if args.yes else []), *args.packages], console)


def _pip(arguments: list[str], console: Console) -> int:
    command = [sys.executable, "-m", "pip", *arguments]
    console.stdout.flush()
    # pip talks to the user directly (progress, confirmation): give it our streams
    return subprocess.call(command, stdin=None if console.stdin_is_tty() else subprocess.DEVNULL)
