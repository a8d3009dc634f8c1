"""``llmplug chat``: one prompt, or a conversation, with a model.

The positional argument is always the prompt; the model is ``-m``. Piped input is read
whole and sent after the prompt (or is the prompt). On a terminal with no prompt (or
with ``-i``) it is a conversation: Ctrl-C stops an answer and returns to the prompt, a
second Ctrl-C or Ctrl-D leaves.

Every run is one conversation: its calls carry one ``conversation_id``. ``-c`` (the
latest) and ``--cid ID`` continue a conversation that a plugin kept (the
``resume_conversation`` hook; the call log plugin keeps them).
"""

from __future__ import annotations

import argparse
import json
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from llmplug._secrets import is_secret_name
from llmplug.cli._console import Console
from llmplug.errors import ConfigError, InvalidOptionError, LLMError

if TYPE_CHECKING:
    from llmplug.llm._base import LLM
    from llmplug.types._conversation import Conversation
    from llmplug.types._messages import ChatMessage
    from llmplug.types._responses import ChatResponse, ChatResponseGen

__all__ = ["configure_chat", "option_argument", "run_chat", "schema_class"]

_EXIT_COMMANDS = frozenset({"/exit", "/quit"})


def option_argument(text: str) -> tuple[str, str]:
    """Split one ``-o KEY=VALUE``; an error echoes the text only if it looks harmless."""
    key, eq, value = text.partition("=")
    if not eq or not key.isidentifier():
        shown = "a malformed option" if is_secret_name(text) else repr(text)
        raise argparse.ArgumentTypeError(
            f"expected KEY VALUE or KEY=VALUE (e.g. -o temperature 0), got {shown}"
        )
    return key, value


def add_option_arguments(parser: argparse.ArgumentParser) -> None:
    """``-m/--model`` and ``-o/--option``, shared by the commands that load a model."""
    parser.add_argument("-m", "--model", metavar="SPEC", help="the model: a config string or alias")
    parser.add_argument(
        "-o",
        "--option",
        dest="options",
        metavar="KEY VALUE",
        type=option_argument,
        action="append",
        default=[],
        help="a provider option, as KEY VALUE or KEY=VALUE (repeatable); read as JSON "
        "when it parses",
    )


def configure_chat(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``llmplug chat``."""
    parser.description = (
        "Send PROMPT to the model (-m, else the configured default) and stream the reply. "
        "Text piped to stdin is sent after PROMPT, or is the prompt. With no PROMPT on a "
        "terminal, or with -i, chat turn by turn: Ctrl-C stops an answer, a second "
        "Ctrl-C, Ctrl-D or /exit leaves."
    )
    parser.add_argument("prompt", nargs="?", metavar="PROMPT", help="the prompt (one argument)")
    add_option_arguments(parser)
    parser.add_argument("-s", "--system", metavar="TEXT", help="the system prompt")
    parser.add_argument(
        "-a",
        "--attach",
        dest="attachments",
        metavar="PATH|URL",
        action="append",
        default=[],
        help="attach a file or URL; its type is sniffed from the content (repeatable)",
    )
    parser.add_argument(
        "--at",
        dest="typed_attachments",
        metavar=("PATH|URL", "TYPE"),
        nargs=2,
        action="append",
        default=[],
        help="attach with a given type: a mimetype (image/png) or image|audio|video|document",
    )
    schema = parser.add_mutually_exclusive_group()
    schema.add_argument(
        "--schema",
        metavar="SCHEMA",
        help="answer with JSON matching SCHEMA: a JSON schema file, inline JSON, or "
        "'name, age int, bio: description'",
    )
    schema.add_argument(
        "--schema-multi", metavar="SCHEMA", help="like --schema, answering a JSON list of them"
    )
    parser.add_argument(
        "-i", "--interactive", action="store_true", help="chat turn by turn, even with PROMPT"
    )
    resume = parser.add_mutually_exclusive_group()
    resume.add_argument(
        "-c",
        "--continue",
        dest="continue_latest",
        action="store_true",
        help="continue the most recent conversation (kept by a plugin, e.g. llmplug-log)",
    )
    resume.add_argument("--cid", metavar="ID", help="continue the conversation ID")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print each response as JSON")
    output.add_argument("--no-stream", action="store_true", help="print each reply at once")


# -- loading -------------------------------------------------------------------------------


def option_value(key: str, text: str) -> Any:
    """JSON when it parses (``0``, ``true``, ``["x"]``), else the text; secrets stay text."""
    if is_secret_name(key):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def load_model(spec: str | None, raw: dict[str, str]) -> LLM:
    """``llmplug.load(spec, **options)`` with ``-o`` values read as JSON.

    A value the provider rejects as JSON (``-o model 4`` for a ``str`` option) is
    retried once as the text that was typed.
    """
    from llmplug.config._load import load  # lazy for lightness: pydantic, the LLM base

    options = {key: option_value(key, text) for key, text in raw.items()}
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


def secrets_of(args: argparse.Namespace) -> list[str]:
    """Secret-looking values on the command line (``-o api_key ...``, ``?token=...``)."""
    from urllib.parse import parse_qsl

    pairs: list[tuple[str, str]] = list(getattr(args, "options", []))
    query = (getattr(args, "model", None) or "").partition("?")[2]
    pairs += parse_qsl(query, keep_blank_values=True)
    return [value for key, value in pairs if is_secret_name(key) and value]


# -- the prompt ----------------------------------------------------------------------------


def _attachments(args: argparse.Namespace) -> list[Any]:
    from llmplug.types._attachments import attachment  # lazy for lightness: pydantic

    given = [(source, None) for source in args.attachments]
    given += [(source, kind) for source, kind in args.typed_attachments]
    blocks = []
    for source, kind in given:
        try:
            blocks.append(attachment(source, kind))
        except ValueError as exc:
            flag = f"--at {source} {kind}" if kind else f"-a {source}"
            hint = "" if kind else "; give its type: --at PATH TYPE"
            raise ConfigError(f"{flag}: {exc}{hint}") from exc
    return blocks


def _schema(args: argparse.Namespace) -> Any:
    """The output class ``--schema``/``--schema-multi`` ask for, or ``None``."""
    text = args.schema if args.schema is not None else args.schema_multi
    if text is None:
        return None
    return schema_class(text, multi=args.schema is None)


def schema_class(text: str, *, multi: bool = False) -> Any:
    """The output class of a ``--schema`` (``--schema-multi`` with ``multi``) value.

    ``text`` is a JSON schema file, inline JSON, or the concise syntax
    (``'name, age int, bio: description'``).

    Raises:
        ConfigError: The schema cannot be read (naming the flag).
    """
    from pathlib import Path

    from llmplug.structured._schema_models import concise_schema, schema_model

    flag = "--schema-multi" if multi else "--schema"
    try:
        path = Path(text).expanduser()
        if "\n" not in text and len(text) < 4096 and path.is_file():
            text = path.read_text(encoding="utf-8")
            schema = json.loads(text)
        elif text.lstrip().startswith("{"):
            schema = json.loads(text)
        else:
            schema = concise_schema(text)
        model = schema_model(schema)
    except (ValueError, OSError) as exc:  # JSONDecodeError is a ValueError
        raise ConfigError(f"{flag}: {exc}") from exc
    return list[model] if multi else model  # type: ignore[valid-type]


def _read_stdin(console: Console) -> str | None:
    if console.stdin is None or console.stdin_is_tty():
        return None
    return console.stdin.read().rstrip("\r\n")  # a file's last newline ends no sentence


def _user_message(text: str, attachments: list[Any]) -> ChatMessage:
    from llmplug.types._blocks import TextBlock
    from llmplug.types._messages import ChatMessage, MessageRole

    blocks = ([TextBlock(text=text)] if text else []) + attachments
    return ChatMessage(role=MessageRole.USER, blocks=blocks)


# -- running -------------------------------------------------------------------------------


def run_chat(args: argparse.Namespace, console: Console) -> int:
    """Run ``llmplug chat``."""
    from llmplug.types._messages import ChatMessage, MessageRole  # lazy: pydantic

    console.add_secrets(secrets_of(args))
    if args.prompt is not None and not args.prompt.strip() and not args.interactive:
        raise ConfigError('empty prompt: give PROMPT some text (llmplug chat "Hello")')
    session = args.interactive or (args.prompt is None and console.stdin_is_tty())
    piped_turns = session and not console.stdin_is_tty()  # -i with piped stdin: line by line
    stdin_text = None if session else _read_stdin(console)
    text = "\n\n".join(part for part in (args.prompt, stdin_text) if part and part.strip())
    attachments = _attachments(args)
    output_cls = _schema(args)
    if output_cls is not None and session:
        raise ConfigError("--schema answers one prompt; it cannot be used with -i")
    if not session and not text.strip() and not attachments:
        raise ConfigError(
            'empty prompt: give PROMPT (llmplug chat "Hello") or pipe text to stdin '
            "(echo Hello | llmplug chat); nothing was sent"
        )
    resumed = _resume(args)
    spec = args.model if args.model is not None or resumed is None else resumed.model
    llm = _Conversing(load_model(spec, dict(args.options)), resumed)
    history: list[ChatMessage] = list(resumed.messages) if resumed is not None else []
    if args.system is not None:
        if history and history[0].role == MessageRole.SYSTEM:
            history.pop(0)  # -s replaces the system prompt of a conversation continued
        history.insert(0, ChatMessage(role=MessageRole.SYSTEM, content=args.system))
    first = _user_message(text, attachments) if (text.strip() or attachments) else None
    mode = "json" if args.json else "block" if args.no_stream else "stream"
    if not session:
        assert first is not None
        history.append(first)
        if output_cls is not None:
            return _structured(llm, output_cls, history, console)
        _turn(llm, history, mode, console, stoppable=False)
        return 0
    if piped_turns:
        return _piped_session(llm, history, first, mode, console)
    return _terminal_session(llm, history, first, mode, console)


def _resume(args: argparse.Namespace) -> Conversation | None:
    """The conversation ``-c``/``--cid`` asks to continue, from the plugins that keep them."""
    if not args.continue_latest and args.cid is None:
        return None
    from llmplug.llm._plugin_host import keeps_conversations, resume_conversation
    from llmplug.plugins._directory import install_hint, known_plugin

    flag = "-c" if args.continue_latest else f"--cid {args.cid}"
    if not keeps_conversations():
        keeper = known_plugin("llmplug-log")
        hint = f" (llmplug-log does: {install_hint(keeper)})" if keeper is not None else ""
        raise ConfigError(
            f"{flag}: no installed plugin keeps conversations{hint}; nothing was sent"
        )
    found = resume_conversation(args.cid)
    if found is None:
        what = "no conversation yet" if args.cid is None else f"no conversation {args.cid!r}"
        raise ConfigError(f"{flag}: {what} to continue; nothing was sent")
    if args.model is None and found.model is None:
        raise ConfigError(
            f"{flag}: the conversation does not say which model it was held with; name one with -m"
        )
    return found


class _Conversing:
    """An LLM whose chat calls all carry one conversation id (new, or the one resumed)."""

    def __init__(self, llm: LLM, resumed: Conversation | None) -> None:
        self.llm = llm
        self.metadata = llm.metadata
        self.conversation_id = resumed.id if resumed is not None else _new_conversation_id()

    def chat(self, messages: list[ChatMessage]) -> ChatResponse:
        return self.llm.chat(messages, conversation_id=self.conversation_id)

    def stream_chat(self, messages: list[ChatMessage]) -> ChatResponseGen:
        return self.llm.stream_chat(messages, conversation_id=self.conversation_id)

    def structured_chat(self, output_cls: Any, messages: list[ChatMessage]) -> Any:
        structured = self.llm.as_structured_llm(output_cls)
        return structured.chat(messages, conversation_id=self.conversation_id)


def _new_conversation_id() -> str:
    import uuid

    return uuid.uuid4().hex


def _structured(
    llm: _Conversing, output_cls: Any, history: list[ChatMessage], console: Console
) -> int:
    response = llm.structured_chat(output_cls, history)
    value: Any = response.raw  # the validated object (a list with --schema-multi)
    items = value if isinstance(value, list) else [value]
    dumped = [item.model_dump(mode="json", by_alias=True) for item in items]
    console.out(json.dumps(dumped if isinstance(value, list) else dumped[0], indent=2))
    return 0


def _turn(
    llm: _Conversing, history: list[ChatMessage], mode: str, console: Console, *, stoppable: bool
) -> ChatMessage | None:
    """Send the conversation and print the reply; its message (``None`` if stopped empty).

    With ``stoppable``, Ctrl-C stops a streamed answer and returns what came so far
    (the hooks see a cancelled call); otherwise it propagates.
    """
    from llmplug.types._messages import ChatMessage, MessageRole  # lazy: pydantic

    out = console.stdout
    if mode != "stream":
        response = llm.chat(history)
        if mode == "json":
            data = response.model_dump(mode="json", fallback=str)
            out.write(json.dumps(data, default=str) + "\n")
        else:
            out.write(f"{response.message.content or ''}\n")
        out.flush()
        return response.message
    last = None
    stream = llm.stream_chat(history)
    try:
        for chunk in stream:
            last = chunk
            if chunk.delta:
                out.write(chunk.delta)
                out.flush()
    except BaseException as exc:
        with suppress(Exception):
            stream.close()  # if Ctrl-C landed here, not in the provider: a cancelled call
        if last is not None:  # end the partial line before the error or the shell prompt
            out.write("\n")
            out.flush()
        if not (stoppable and isinstance(exc, KeyboardInterrupt)):
            raise
        console.note("(answer stopped)")
        return last.message if last is not None else None
    out.write("\n")
    out.flush()
    return last.message if last is not None else ChatMessage(role=MessageRole.ASSISTANT)


def _piped_session(
    llm: _Conversing,
    history: list[ChatMessage],
    first: ChatMessage | None,
    mode: str,
    console: Console,
) -> int:
    """``-i`` with piped stdin: each line is a turn; the first error ends the command."""
    from llmplug.types._messages import ChatMessage, MessageRole  # lazy: pydantic

    def turn(message: ChatMessage) -> None:
        history.append(message)
        reply = _turn(llm, history, mode, console, stoppable=False)
        assert reply is not None  # only a stoppable turn ends without a reply
        history.append(reply)

    if first is not None:
        turn(first)
    assert console.stdin is not None
    for line in console.stdin:
        text = line.strip()
        if text in _EXIT_COMMANDS:
            break
        if text:
            turn(ChatMessage(role=MessageRole.USER, content=text))
    return 0


def _terminal_session(
    llm: _Conversing,
    history: list[ChatMessage],
    first: ChatMessage | None,
    mode: str,
    console: Console,
) -> int:
    """A conversation at a terminal: errors and Ctrl-C end a turn, not the session."""
    from llmplug.types._messages import ChatMessage, MessageRole  # lazy: pydantic

    with suppress(ImportError):
        import readline  # noqa: F401  (gives input() line editing and history)
    console.note(
        f"Chatting with {llm.metadata.model_name}. Ctrl-C stops an answer; "
        f"Ctrl-D, /exit or Ctrl-C at the prompt leaves."
    )
    pending = first
    while True:
        if pending is None:
            try:
                line = input("> ")
            except EOFError:
                console.out()
                return 0
            except KeyboardInterrupt:
                console.out()
                return 130
            text = line.strip()
            if not text:
                continue
            if text in _EXIT_COMMANDS:
                return 0
            pending = ChatMessage(role=MessageRole.USER, content=text)
        history.append(pending)
        pending = None
        try:
            reply = _turn(llm, history, mode, console, stoppable=True)
        except KeyboardInterrupt:  # a whole answer (--no-stream, --json) was stopped
            console.out()
            console.note("(answer stopped)")
            reply = None
        except LLMError as exc:
            console.error(str(exc))
            reply = None
        if reply is None or not (reply.content or reply.blocks):
            history.pop()  # nothing came back: the turn is dropped, the user may retry
        else:
            history.append(reply)
