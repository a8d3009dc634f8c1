"""llmplug-log: every call any llmplug LLM makes, logged to SQLite; ``llmplug logs``.

Each call's provider, model, options (secrets redacted), messages (attachments as
references), response text, tool calls, structured output, usage, cost (with
llmplug-cost installed), latency, time to first chunk, error, cancelled flag, cache
hit and conversation id go to ``logs.db`` in the user's data directory
(:func:`log_path`). The hooks only queue the call; a background thread writes batches
(see :mod:`llmplug_log._writer` for what a crash can lose).

On by default once installed. Off:

* for the process: ``LLMPLUG_LOG=0`` in the environment, or :func:`disable`;
* for a model: ``"openai:gpt-4o?plugins=-log"``;
* for a call: ``llm.chat(messages, plugins={"log": False})``.

``LLMPLUG_LOG_PATH`` (or ``path`` in the config file's ``[plugins.log]`` table) puts the
log elsewhere. ``llmplug logs --help`` shows what the command does; ``llmplug chat -c``
continues the latest conversation from the log.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import llmplug
from llmplug_log._plugin import CallLog, messages_from_row, model_spec
from llmplug_log._store import SCHEMA_VERSION, Filters, LogStore

if TYPE_CHECKING:
    from llmplug import CallContext
    from llmplug.types import Conversation

__all__ = [
    "ENV",
    "PATH_ENV",
    "SCHEMA_VERSION",
    "CallLog",
    "Filters",
    "LogStore",
    "after_call",
    "default_log",
    "disable",
    "enable",
    "enabled",
    "flush",
    "log_path",
    "messages_from_row",
    "model_spec",
    "on_call_error",
    "register_commands",
    "resume_conversation",
]

LLMPLUG_PLUGIN_API = 1
#: ``LLMPLUG_LOG=0`` (or ``false``, ``no``, ``off``) switches the log off for the process.
ENV = "LLMPLUG_LOG"
#: Where the log is, instead of ``logs.db`` in the user's data directory.
PATH_ENV = "LLMPLUG_LOG_PATH"


def log_path() -> Path:
    """Where the log file is.

    ``$LLMPLUG_LOG_PATH``, else ``path`` in the config file's ``[plugins.log]``, else
    ``logs.db`` in platformdirs' ``user_data_dir("llmplug")`` (``~/.local/share/llmplug``
    on Linux, honouring ``$XDG_DATA_HOME``).
    """
    explicit = os.environ.get(PATH_ENV)
    if explicit:
        return Path(explicit).expanduser()
    from llmplug.config import read_config

    configured = read_config().plugins.get("log", {}).get("path")
    if isinstance(configured, str) and configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("llmplug", appauthor=False)) / "logs.db"


def _on_from_env() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


_default = CallLog(log_path, enabled=_on_from_env())


def default_log() -> CallLog:
    """The log this module's hooks write to."""
    return _default


def enable() -> None:
    """Log this process's calls (the default, unless ``LLMPLUG_LOG=0``)."""
    _default.enabled = True


def disable() -> None:
    """Stop logging this process's calls."""
    _default.enabled = False


def enabled() -> bool:
    """Whether this process's calls are logged."""
    return _default.enabled


def flush() -> int:
    """Write the queued calls now (they are written within a second anyway)."""
    return _default.flush()


@llmplug.hookimpl
def after_call(call: CallContext, response: Any) -> None:
    """Queue the finished call for the log."""
    _default.after_call(call, response)


@llmplug.hookimpl
def on_call_error(call: CallContext) -> None:
    """Queue the failed call for the log."""
    _default.on_call_error(call)


@llmplug.hookimpl
def resume_conversation(conversation_id: str | None) -> Conversation | None:
    """Hand ``llmplug chat -c`` the latest conversation (or ``--cid ID``) from the log."""
    return _default.resume_conversation(conversation_id)


@llmplug.hookimpl
def register_commands(register: Callable[..., None]) -> None:
    """Add ``llmplug logs``."""
    from llmplug_log._cli import configure, run  # lazy: only when the command line asks

    register("logs", run, help="show, search and total the call log", configure=configure)
