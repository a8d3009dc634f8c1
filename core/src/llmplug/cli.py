"""The ``llmplug`` command line.

::

    llmplug providers [--json]
    llmplug plugin new NAME [--kind http|hook] [--dir DIR]
    llmplug plugin list --available [--json]
    llmplug chat SPEC [PROMPT] [--system TEXT] [-o KEY=VALUE ...] [--json | --no-stream]
    llmplug --version

Exit codes: 0 success; 1 a runtime error (plugin load, API, stream); 2 a usage or config
error (bad arguments, bad config string, unknown provider, invalid option); 130 when
interrupted. An llmplug error is one ``llmplug: error: ...`` line on stderr, never a
traceback, and never shows an option value whose name looks like a secret.

``import llmplug`` never imports this module: only the ``llmplug`` console script and
``python -m llmplug`` do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TextIO

from llmplug._entry_points import canonical
from llmplug._secrets import REDACTED, is_secret_name, redact_query
from llmplug._version import __version__
from llmplug.config._spec import parse_spec
from llmplug.errors import ConfigError, InvalidOptionError, LLMError

if TYPE_CHECKING:
    from llmplug.llm._base import LLM
    from llmplug.types._messages import ChatMessage

__all__ = ["main"]

PROG = "llmplug"
_EXIT_COMMANDS = frozenset({"/exit", "/quit"})


def _option(text: str) -> tuple[str, str]:
    """Split one ``-o KEY=VALUE`` argument; an error echoes it only if it looks harmless."""
    key, eq, value = text.partition("=")
    if not eq or not key.isidentifier():
        shown = "a malformed option" if is_secret_name(text) else repr(text)
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. temperature=0), got {shown}")
    return key, value


def _option_value(key: str, text: str) -> Any:
    """JSON when it parses (``0``, ``true``, ``["x"]``), else the text; secrets stay text."""
    if is_secret_name(key):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Load LLM providers by name from a config string and talk to them.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    listing = commands.add_parser(
        "providers",
        help="list installed providers and hook plugins (imports no plugin)",
        description="List installed providers and hook plugins from entry-point metadata.",
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of tables")

    _add_plugin_commands(commands)

    chat = commands.add_parser(
        "chat",
        help="chat with a model: one prompt, or a session over stdin",
        description=(
            "Send PROMPT to the model SPEC and stream the reply. Without PROMPT, read one "
            "turn per line from stdin, keeping the conversation; /exit or EOF ends it. "
            "Without SPEC, use the configured default ($LLMPLUG_MODEL, the config file, "
            "else the embedded default provider). A lone argument is taken as SPEC when "
            "it reads as one (no spaces: 'mock', 'openai:gpt-4o'), else as PROMPT."
        ),
    )
    chat.add_argument(
        "words",
        metavar="[SPEC] [PROMPT]",
        nargs="*",
        help="config string or alias (e.g. 'mock'), then one prompt to send",
    )
    chat.add_argument("-m", "--model", metavar="SPEC", help="the model, as a config string")
    chat.add_argument("--system", metavar="TEXT", help="start with this system message")
    chat.add_argument(
        "-o",
        "--option",
        dest="options",
        metavar="KEY=VALUE",
        type=_option,
        action="append",
        default=[],
        help="a provider option (repeatable); the value is read as JSON when it parses",
    )
    output = chat.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print each response as JSON")
    output.add_argument("--no-stream", action="store_true", help="print each reply at once")
    return parser


# -- providers ----------------------------------------------------------------------------


def _providers(as_json: bool, out: TextIO) -> int:

    from llmplug.plugins._registry import registry  # lazy for lightness: pluggy

    reg = registry()
    infos = reg.providers()
    hooks = reg.hook_plugins()
    if as_json:
        data = {
            "providers": [info._asdict() for info in infos],
            "hook_plugins": [
                {"name": name, "distribution": dist, "version": version}
                for name, dist, version in hooks
            ],
        }
        out.write(json.dumps(data, indent=2) + "\n")
        return 0
    out.write("Providers:\n")
    if not infos:
        out.write("  none installed (known plugins: llmplug plugin list --available)\n")
    else:
        rows = [
            [i.name, i.distribution or "-", i.version or "-", i.key_env or "-", i.status]
            for i in infos
        ]
        header, lines = _table(["NAME", "DISTRIBUTION", "VERSION", "KEY", "STATUS"], rows)
        out.write(f"  {header}\n")
        for info, line in zip(infos, lines, strict=True):
            out.write(f"  {line}\n")
            if info.description:
                out.write(f"      {info.description}\n")
            if info.error:
                out.write(f"      error: {info.error}\n")
    out.write("\nHook plugins:\n")
    if not hooks:
        out.write("  none installed\n")
    else:
        rows = [[name, dist or "-", version or "-"] for name, dist, version in hooks]
        header, lines = _table(["NAME", "DISTRIBUTION", "VERSION"], rows)
        out.writelines(f"  {line}\n" for line in [header, *lines])
    return 0


def _table(header: list[str], rows: list[list[str]]) -> tuple[str, list[str]]:
    """Left-aligned columns: the header line and one line per row."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return line(header), [line(row) for row in rows]


# -- plugin new / plugin list --available -------------------------------------------------
# Self-contained: the logic lives in llmplug.plugins._scaffold and ._directory; these
# functions only parse arguments and print.


def _add_plugin_commands(commands: Any) -> None:
    plugin = commands.add_parser(
        "plugin",
        help="write a new plugin, or list the known first-party plugins",
        description="Tools for plugin authors and users.",
    )
    actions = plugin.add_subparsers(dest="plugin_command", metavar="ACTION", required=True)
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


def _plugin(args: argparse.Namespace, out: TextIO) -> int:
    if args.plugin_command == "new":
        from pathlib import Path

        from llmplug.plugins._scaffold import write_plugin

        root = write_plugin(args.name, kind=args.kind, directory=Path(args.dir))
        out.write(f"Wrote {root}\n\nNext:\n  pip install ./{root.name}\n  pytest {root.name}\n")
        return 0
    return _plugin_list(args.json, out)


def _plugin_list(as_json: bool, out: TextIO) -> int:
    from llmplug.plugins._directory import DIRECTORY, install_hint
    from llmplug.plugins._registry import registry  # lazy for lightness: pluggy

    installed = {canonical(i.distribution or "") for i in registry().providers()}
    installed.update(canonical(dist or "") for _, dist, _ in registry().hook_plugins())
    rows = []
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
        out.write(json.dumps({"plugins": rows}, indent=2) + "\n")
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
    header, lines = _table(["DISTRIBUTION", "KIND", "PROVIDERS", "STATUS"], table)
    out.write(f"{header}\n")
    for row, line in zip(rows, lines, strict=True):
        out.write(f"{line}\n    {row['description']}\n")
        if row["install"] and row["status"] == "ready":
            out.write(f"    install: {row['install']}\n")
    return 0


# -- chat ---------------------------------------------------------------------------------


def _load(spec: str | None, raw: dict[str, str]) -> LLM:
    """``llmplug.load(spec, **options)`` with the ``-o`` values read as JSON.

    When the provider rejects one value read as JSON (``-o model=4`` for a ``str``
    option), it is retried once as the text that was typed.
    """
    from llmplug.config._load import load  # lazy for lightness: pydantic, the LLM base

    options = {key: _option_value(key, text) for key, text in raw.items()}
    try:
        return load(spec, **options)
    except InvalidOptionError as exc:
        key = exc.option
        if key is None or key not in raw or options[key] == raw[key]:
            raise
        try:
            return load(spec, **{**options, key: raw[key]})
        except InvalidOptionError:
            raise exc from None


def _spec_and_prompt(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """Split ``chat``'s positionals into (SPEC, PROMPT); either may be absent."""
    words: list[str] = list(args.words)
    limit = 1 if args.model is not None else 2
    if len(words) > limit:
        raise ConfigError(
            f"chat takes at most {'a PROMPT with -m' if limit == 1 else 'SPEC and PROMPT'}; "
            f'quote a prompt that has spaces: llmplug chat mock "What is 2+2?"'
        )
    if args.model is not None:
        return args.model, (words[0] if words else None)
    if len(words) == 2:
        return words[0], words[1]
    if not words:
        return None, None
    word = words[0]
    if any(ch.isspace() for ch in word):
        return None, word
    try:
        parse_spec(word)
    except ConfigError:
        return None, word
    return word, None


def _chat(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    from llmplug.types._messages import ChatMessage, MessageRole  # lazy: pydantic

    args.spec, args.prompt = _spec_and_prompt(args)
    llm = _load(args.spec, dict(args.options))
    mode = "json" if args.json else "block" if args.no_stream else "stream"
    history: list[ChatMessage] = []
    if args.system is not None:
        history.append(ChatMessage(role=MessageRole.SYSTEM, content=args.system))
    if args.prompt is not None:
        history.append(ChatMessage(role=MessageRole.USER, content=args.prompt))
        _turn(llm, history, mode, out)
        return 0
    interactive = stdin.isatty()
    if interactive:
        err.write(f"Chatting with {llm.metadata.model_name}; /exit or Ctrl-D ends.\n")
    for line in _lines(stdin, interactive):
        text = line.strip()
        if not text:
            continue
        if text in _EXIT_COMMANDS:
            break
        history.append(ChatMessage(role=MessageRole.USER, content=text))
        try:
            history.append(_turn(llm, history, mode, out))
        except LLMError as exc:
            if not interactive:
                raise
            history.pop()  # a person at a terminal may retry; the failed turn is dropped
            _report(exc, _secrets(args), err)
    return 0


def _lines(stdin: TextIO, interactive: bool) -> Iterator[str]:
    """The user's turns: ``input("> ")`` with line editing on a terminal, else lines."""
    if not interactive:
        yield from stdin
        return
    with suppress(ImportError):
        import readline  # noqa: F401  (gives input() editing and history)
    while True:
        try:
            yield input("> ")
        except EOFError:
            print()
            return


def _turn(llm: LLM, history: Sequence[ChatMessage], mode: str, out: TextIO) -> ChatMessage:
    """Send the conversation, print the reply (as ``mode`` says), return its message."""
    from llmplug.types._messages import ChatMessage, MessageRole  # lazy: pydantic

    if mode == "stream":
        last = None
        try:
            for chunk in llm.stream_chat(history):
                last = chunk
                if chunk.delta:
                    out.write(chunk.delta)
                    out.flush()
        except BaseException:
            if last is not None:  # end the partial line before the error or the shell prompt
                out.write("\n")
                out.flush()
            raise
        out.write("\n")
        out.flush()
        if last is None:
            return ChatMessage(role=MessageRole.ASSISTANT, content="")
        return last.message
    response = llm.chat(history)
    if mode == "json":
        data = response.model_dump(mode="json", fallback=str)
        out.write(json.dumps(data, default=str) + "\n")
    else:
        out.write(f"{response.message.content or ''}\n")
    out.flush()
    return response.message


# -- errors and main ----------------------------------------------------------------------


def _secrets(args: argparse.Namespace) -> list[str]:
    """The secret-looking values on the command line (``-o api_key=...``, ``?token=...``)."""
    from urllib.parse import parse_qsl

    pairs: list[tuple[str, str]] = list(getattr(args, "options", []))
    query = (getattr(args, "spec", None) or getattr(args, "model", None) or "").partition("?")[2]
    pairs += parse_qsl(query, keep_blank_values=True)
    return [value for key, value in pairs if is_secret_name(key) and value]


def _redact(text: str, secrets: Sequence[str]) -> str:
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return redact_query(text)


def _report(exc: LLMError, secrets: Sequence[str], err: TextIO) -> None:
    err.write(f"{PROG}: error: {_redact(str(exc), secrets)}\n")
    err.flush()


def main(argv: list[str] | None = None) -> int:
    """Run the ``llmplug`` command line.

    Args:
        argv: The arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Returns:
        The exit code: 0 success, 1 runtime error, 2 usage or config error, 130 interrupt.
    """
    parser = _build_parser()
    try:
        # options may come after the prompt (``chat mock -o k=v "prompt"``): argparse
        # leaves a positional after an option unparsed, so collect it here
        args, extra = parser.parse_known_args(argv)
        if extra and (args.command != "chat" or any(e.startswith("-") for e in extra)):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if extra:
            args.words = [*args.words, *extra]
    except SystemExit as exc:  # --help, --version, or a usage error argparse reported
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        if args.command == "providers":
            return _providers(args.json, sys.stdout)
        if args.command == "plugin":
            return _plugin(args, sys.stdout)
        return _chat(args, sys.stdin, sys.stdout, sys.stderr)
    except LLMError as exc:
        _report(exc, _secrets(args), sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (``llmplug providers | head``): stop quietly, and keep
        # the interpreter's final flush from raising again
        with suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # a provider's own bug: one line, the traceback on request
        if os.environ.get("LLMPLUG_DEBUG"):
            raise
        message = f"{type(exc).__name__}: {exc} (set LLMPLUG_DEBUG=1 for the traceback)"
        sys.stderr.write(f"{PROG}: error: {_redact(message, _secrets(args))}\n")
        return 1
