"""The ``llmplug`` command: its command table, argument parsing and exit codes.

Only what every run needs is imported here (argparse and the console); a built-in
command's module is imported when that command runs, and plugins' commands are
collected only for ``llmplug --help`` and for a command llmplug does not have itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import suppress
from importlib import import_module
from typing import TYPE_CHECKING, Any, NamedTuple

from llmplug._version import __version__
from llmplug.cli._console import DEBUG_ENV, PROG, Console
from llmplug.errors import (
    ConfigError,
    LLMError,
    UnsupportedContentError,
    UnsupportedFeatureError,
)

if TYPE_CHECKING:
    from llmplug.cli._plugin_commands import PluginCommand

__all__ = ["BUILTINS", "EXIT_CODES", "Builtin", "exit_code", "main"]


class Builtin(NamedTuple):
    """A built-in command: the module with ``configure_<name>`` and ``run_<name>``.

    ``configure_<name>(parser)`` adds the command's arguments to its
    :class:`argparse.ArgumentParser`; ``run_<name>(args, console)`` runs it and returns
    the exit code (``-`` in a command's name is ``_`` in the functions' names).
    """

    module: str
    help: str


#: The built-in commands, in the order ``llmplug --help`` lists them.
BUILTINS: dict[str, Builtin] = {
    "chat": Builtin("llmplug.cli._chat", "send a prompt to a model, or chat with it"),
    "batch": Builtin("llmplug.cli._batch", "run every row of a file through a model, resumably"),
    "models": Builtin("llmplug.cli._models", "list the models of installed providers"),
    "options": Builtin("llmplug.cli._models", "show the options a provider takes"),
    "keys": Builtin("llmplug.cli._keys", "store API keys: set, list, path, remove"),
    "aliases": Builtin("llmplug.cli._aliases", "name config strings: set, list, remove"),
    "providers": Builtin("llmplug.cli._plugins", "list installed providers (imports none)"),
    "plugins": Builtin("llmplug.cli._plugins", "list installed plugins and whether they load"),
    "install": Builtin("llmplug.cli._plugins", "install plugins (pip, for this Python)"),
    "uninstall": Builtin("llmplug.cli._plugins", "uninstall plugins (pip, for this Python)"),
    "plugin": Builtin("llmplug.cli._plugin", "write a new plugin; list the first-party ones"),
}

#: Exit codes, as documented in ``docs/cli.md``.
EXIT_CODES = {
    0: "success",
    1: "a runtime error: a plugin failed to load, the API failed, a stream broke",
    2: "a usage or configuration error: bad arguments, config string, option, alias, "
    "config file, unknown provider, missing API key, content the provider cannot take",
    130: "interrupted (Ctrl-C)",
}
# commands whose -o takes "KEY VALUE" as well as "KEY=VALUE"
_OPTION_PAIRS = ("chat", "models")
_EXTRA_WORDS = {
    "chat": (
        "chat takes one PROMPT (the model is -m): quote a prompt that has spaces, "
        'e.g. llmplug chat -m mock "What is 2+2?"'
    ),
}


class _Formatter(argparse.HelpFormatter):
    """Commands' help in one column (argparse measures them 2 columns short)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=28)

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action._get_subactions():
                width = len(sub.dest) + self._current_indent + self._indent_increment
                self._action_max_length = max(self._action_max_length, width)


def _parser() -> tuple[argparse.ArgumentParser, Any]:
    epilog = "exit codes: " + "; ".join(f"{code} {what}" for code, what in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Load LLM providers by name from a config string and talk to them.",
        epilog=epilog,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, builtin in BUILTINS.items():
        commands.add_parser(name, help=builtin.help, description=builtin.help)
    return parser, commands


def _command_word(argv: list[str]) -> str | None:
    """The first argument that is not an option: the command (top-level options take none)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _join_option_pairs(argv: list[str], start: int) -> list[str]:
    """``-o KEY VALUE`` as ``-o KEY=VALUE`` (a KEY has no ``=``); stops at ``--``."""
    result = argv[:start]
    i = start
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return result + argv[i:]
        if arg in ("-o", "--option") and i + 2 < len(argv):
            key = argv[i + 1]
            if "=" not in key and key.isidentifier():
                result += [arg, f"{key}={argv[i + 2]}"]
                i += 3
                continue
        result.append(arg)
        i += 1
    return result


def _configure_builtin(name: str, parser: argparse.ArgumentParser) -> Any:
    module = import_module(BUILTINS[name].module)
    function = name.replace("-", "_")
    getattr(module, f"configure_{function}")(parser)
    return getattr(module, f"run_{function}")


def _add_plugin_commands(commands: Any, console: Console) -> dict[str, PluginCommand]:
    from llmplug.cli._plugin_commands import collect  # lazy for lightness: loads plugins

    added = {}
    for command in collect(console, taken=set(BUILTINS)):
        sub = commands.add_parser(
            command.name,
            help=f"{command.help} [plugin {command.plugin}]".strip(),
            description=command.help or None,
        )
        try:
            if command.configure is not None:
                command.configure(sub)
        except Exception as exc:
            # argparse cannot remove a subcommand: undo add_parser by hand
            commands._name_parser_map.pop(command.name, None)
            commands._choices_actions[:] = [
                a for a in commands._choices_actions if a.dest != command.name
            ]
            console.warning(
                f"plugin {command.plugin!r} could not add the command {command.name!r}: "
                f"{type(exc).__name__}: {exc}"
            )
            if console.debug:
                console.traceback(exc)
            continue
        added[command.name] = command
    return added


def exit_code(exc: LLMError) -> int:
    """2 when the command cannot work as given (nothing was sent), else 1."""
    usage = (ConfigError, UnsupportedContentError, UnsupportedFeatureError)
    return 2 if isinstance(exc, usage) else 1


def main(argv: list[str] | None = None) -> int:
    """Run the ``llmplug`` command line.

    Args:
        argv: The arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Returns:
        The exit code (see :data:`EXIT_CODES`): 0 success, 1 runtime error, 2 usage or
        configuration error, 130 interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    return _main(argv, Console())


def _main(argv: list[str], console: Console) -> int:
    parser, commands = _parser()
    word = _command_word(argv)
    plugin_commands: dict[str, PluginCommand] = {}
    runner: Any = None
    try:
        if word in BUILTINS:
            runner = _configure_builtin(word, commands.choices[word])
            if word in _OPTION_PAIRS:
                argv = _join_option_pairs(argv, argv.index(word) + 1)
        elif word is not None or any(arg in ("-h", "--help") for arg in argv):
            # llmplug --help lists plugins' commands; an unknown word may be one of them
            with _logging_to(console):  # hook plugins that fail to load are logged
                plugin_commands = _add_plugin_commands(commands, console)
        args, extra = parser.parse_known_args(argv)
        if extra:
            hint = _EXTRA_WORDS.get(args.command)
            if hint and not any(e.startswith("-") for e in extra):
                parser.error(hint)
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version, or a usage error argparse reported
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    except KeyboardInterrupt:
        return 130
    with _logging_to(console):
        return _run(args, runner, plugin_commands.get(args.command), console)


def _run(args: argparse.Namespace, runner: Any, plugin: Any, console: Console) -> int:
    try:
        if plugin is not None:
            code = plugin.run(args)
            return 0 if code is None else int(code)
        return int(runner(args, console))
    except LLMError as exc:
        if console.debug:
            console.traceback(exc)
        console.error(str(exc))
        return exit_code(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (``llmplug models | head``): stop quietly, and keep the
        # interpreter's final flush from raising again
        with suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # a provider's or plugin's own bug: one line, or the traceback
        if console.debug:
            console.traceback(exc)
        where = f"plugin {plugin.plugin!r}: " if plugin is not None else ""
        hint = "" if console.debug else f" (set {DEBUG_ENV}=1 for the traceback)"
        console.error(f"{where}{type(exc).__name__}: {exc}{hint}")
        return 1


class _logging_to:
    """Send the ``llmplug`` logger's warnings to the console while a command runs."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.handler: Any = None

    def __enter__(self) -> None:
        import logging  # lazy for lightness: not for --version or a command's --help

        console = self.console

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                with suppress(Exception):
                    console.warning(record.getMessage())
                    cause = record.exc_info[1] if record.exc_info else None
                    args = record.args if isinstance(record.args, tuple) else ()
                    cause = cause or next((a for a in args if isinstance(a, BaseException)), None)
                    if console.debug and cause is not None:
                        console.traceback(cause)

        self.handler = Handler(logging.WARNING)
        logging.getLogger("llmplug").addHandler(self.handler)

    def __exit__(self, *exc: object) -> None:
        import logging

        logging.getLogger("llmplug").removeHandler(self.handler)
