"""Commands added by plugins: the ``register_commands`` hook, each plugin on its own.

Hook plugins (entry-point group ``llmplug``) are loaded, then each one's
``register_commands(register)`` runs inside its own error boundary: a plugin that fails
to load, raises, or registers a bad or taken name adds none of its commands, is
reported once on stderr with its name, and every other command works on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from llmplug.cli._console import Console

__all__ = ["CommandFailure", "PluginCommand", "collect", "registrations"]

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")


class PluginCommand(NamedTuple):
    """A command a plugin added.

    Attributes:
        name: The subcommand.
        plugin: The plugin that added it (its entry point's name).
        run: ``run(args) -> int | None``.
        help: One line for ``llmplug --help``.
        configure: ``configure(parser)`` adds its arguments, if given.
    """

    name: str
    plugin: str
    run: Callable[..., Any]
    help: str = ""
    configure: Callable[..., Any] | None = None


class CommandFailure(NamedTuple):
    """A plugin whose commands could not be added, and why."""

    plugin: str
    error: BaseException


def _plugin_label(name: str | None) -> str:
    # entry-point plugins are registered as "llmplug:<entry point name>"
    return (name or "?").removeprefix("llmplug:")


def registrations(taken: set[str]) -> tuple[list[PluginCommand], list[CommandFailure]]:
    """Run every ``register_commands`` hookimpl; the commands added, and the failures."""
    from llmplug.llm._plugin_host import plugin_host  # lazy for lightness: pluggy

    host = plugin_host()
    host.load_hook_plugins()
    commands: list[PluginCommand] = []
    failures: list[CommandFailure] = []
    owners = dict.fromkeys(taken, "llmplug")
    for impl in reversed(host.pm.hook.register_commands.get_hookimpls()):  # first registered first
        plugin = _plugin_label(impl.plugin_name)
        mine: list[PluginCommand] = []

        def register(
            name: str,
            run: Callable[..., Any],
            *,
            help: str = "",
            configure: Callable[..., Any] | None = None,
            _plugin: str = plugin,
            _mine: list[PluginCommand] = mine,
        ) -> None:
            if not isinstance(name, str) or not _NAME_RE.match(name):
                raise ValueError(f"command name {name!r}: use lower-case letters, digits and '-'")
            owner = owners.get(name) or next((c.plugin for c in _mine if c.name == name), None)
            if owner is not None:
                raise ValueError(f"the command {name!r} is already taken (by {owner})")
            if not callable(run) or (configure is not None and not callable(configure)):
                raise TypeError(f"command {name!r}: run (and configure) must be callable")
            _mine.append(PluginCommand(name, _plugin, run, " ".join(str(help).split()), configure))

        try:
            impl.function(register)
        except Exception as exc:
            failures.append(CommandFailure(plugin, exc))
            continue
        for command in mine:
            owners[command.name] = plugin
        commands += mine
    return commands, failures


def collect(console: Console, taken: set[str]) -> list[PluginCommand]:
    """The commands plugins add, each failure reported on ``console``."""
    try:
        commands, failures = registrations(taken)
    except Exception as exc:  # the plugin machinery itself: built-in commands still work
        console.warning(f"plugins' commands are not available: {type(exc).__name__}: {exc}")
        return []
    for failure in failures:
        error = failure.error
        console.warning(
            f"plugin {failure.plugin!r} could not add its commands: {type(error).__name__}: {error}"
        )
        if console.debug:
            console.traceback(error)
    return commands
