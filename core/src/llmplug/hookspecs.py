"""The llmplug plugin contract: every hook a plugin may implement.

A plugin is a module (or any object) with functions decorated ``@llmplug.hookimpl``
whose names match the specs below. Declare it with one entry-point line:

* ``[project.entry-points."llmplug.providers"] NAME = "your_module"`` for a provider;
  the module is imported only when ``llmplug.load("NAME:...")`` asks for it.
* ``[project.entry-points.llmplug] NAME = "your_module"`` for a hook plugin (logging,
  caching, guardrails, tracing); all of them load once, before the first call.

What happens when a hookimpl raises:

* ``register_providers``: the plugin fails to load; asking for its providers raises
  :class:`~llmplug.errors.PluginLoadError` naming it. Other plugins are unaffected.
* ``before_call``: raising :class:`~llmplug.errors.CallRefusedError` refuses the call
  (a guardrail); any other exception also stops the call, wrapped in
  :class:`~llmplug.errors.HookError` naming the plugin. The provider is not called;
  ``on_call_error`` observers see the error.
* ``answer_call``: any exception stops the call as a ``HookError`` naming the plugin
  (``on_call_error`` observers see it).
* ``after_call``, ``on_stream_chunk``, ``on_call_error`` are observers: an exception
  is logged (logger ``llmplug``) with the plugin's name and the caller still gets the
  response (or the original error).
* ``register_commands``: the plugin's commands are not added; the ``llmplug`` command
  says so, naming the plugin, and every other command works.
* ``resume_conversation``: the exception propagates to whoever asked
  (``llmplug chat -c`` reports it as an error naming nothing sent).

Lifecycle hooks are plain sync functions, called on the sync and the async paths alike;
keep them fast and do not block. Hookimpls may accept any subset of a spec's arguments.
Wrappers (``hookwrapper``/``wrapper``) are supported only on ``register_providers``.

Versioning: :data:`PLUGIN_API_VERSION` is bumped only when a spec changes incompatibly;
adding a hook (``register_commands`` and ``resume_conversation`` came in llmplug 0.1), a
``CallContext`` attribute (``cache_hit``, ``conversation_id``, ``plugins``, ``parent``)
or a field with a default (``Usage.cost``) is compatible.
A plugin module may declare ``LLMPLUG_PLUGIN_API = 1`` (an int, or a tuple of the
versions it supports); a plugin built for another version is refused with a
``PluginLoadError`` that says which version it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from llmplug.llm._call import CallContext

__all__ = ["PLUGIN_API_VERSION", "hookimpl", "hookspec"]

#: The version of this contract. Plugins built for another major version are refused.
PLUGIN_API_VERSION = 1

hookspec = pluggy.HookspecMarker("llmplug")
#: Decorate a plugin's functions with this (re-exported as ``llmplug.hookimpl``).
hookimpl = pluggy.HookimplMarker("llmplug")


@hookspec
def register_providers(register: Callable[..., None]) -> None:
    """Register the provider classes this plugin serves.

    Call ``register(name, cls, *, aliases=(), key_env=None, description="",
    defaults=None)`` once per provider name; ``cls`` is an :class:`~llmplug.LLM`
    subclass whose pydantic fields are the provider's options, and ``defaults`` are
    options applied before the user's. One plugin may register several names (presets of
    an OpenAI-compatible API, say): give each name its own entry point, so that
    ``load("name")`` finds it before the plugin was imported.
    """


@hookspec
def register_commands(register: Callable[..., None]) -> None:
    """Add subcommands to the ``llmplug`` command line (``llmplug logs``...).

    Call ``register(name, run, *, help="", configure=None)`` once per command:

    * ``name``: the subcommand, lower-case letters, digits and ``-``; the built-in
      commands' names are taken;
    * ``run(args)``: runs the command with the parsed :class:`argparse.Namespace` and
      returns its exit code (``None`` means 0); an :class:`~llmplug.errors.LLMError` it
      raises is printed as one ``llmplug: error: ...`` line (exit 2 for a
      :class:`~llmplug.errors.ConfigError`, else 1);
    * ``help``: one line for ``llmplug --help``;
    * ``configure(parser)``: adds the command's arguments to its
      :class:`argparse.ArgumentParser` (``parser.add_argument(...)``).

    Implemented by hook plugins (entry-point group ``llmplug``). The command line asks
    for commands only when it needs them: for ``llmplug --help`` and for a command it
    does not have itself, so plugins cost the built-in commands nothing.
    """


@hookspec
def before_call(call: CallContext) -> None:
    """See, and possibly change, a call before it reaches the provider.

    Mutate ``call.messages`` (chat endpoints), ``call.prompt`` (completion endpoints) or
    ``call.kwargs`` in place to redact, add defaults or rewrite. Raise
    :class:`~llmplug.errors.CallRefusedError` to refuse the call.
    """


@hookspec(firstresult=True)
def answer_call(call: CallContext) -> Any:
    """Answer a call without the provider (a cache or a replay).

    Return a :class:`~llmplug.ChatResponse` for chat endpoints or a
    :class:`~llmplug.CompletionResponse` for completion endpoints, or ``None`` to let
    the provider answer. For streaming endpoints the answer is streamed as one chunk,
    or return a non-empty list of chunks (each with its ``delta``) to replay a stream
    piece by piece. The first non-``None`` answer wins; ``after_call`` still fires. A
    cache sets ``call.cache_hit = True`` before answering, so other hooks know.
    """


@hookspec
def after_call(call: CallContext, response: Any) -> None:
    """Observe the end of a call: the final response, ``call.usage``, ``call.latency``.

    For streams ``response`` is the last chunk (it holds the accumulated text); when the
    consumer stopped early (closed the stream, or its user pressed Ctrl-C)
    ``call.cancelled`` is true and ``response`` is the last chunk delivered, or ``None``.
    """


@hookspec
def on_stream_chunk(call: CallContext, chunk: Any) -> None:
    """Observe one streamed chunk (a ChatResponse or CompletionResponse with ``delta``)."""


@hookspec
def on_call_error(call: CallContext, error: BaseException) -> None:
    """Observe a failed call. The caller gets ``error`` after every observer ran."""


@hookspec(firstresult=True)
def resume_conversation(conversation_id: str | None) -> Any:
    """Hand back a conversation this plugin kept, to be continued (``llmplug chat -c``).

    ``conversation_id`` names the conversation (``llmplug chat --cid ID``); ``None``
    asks for the most recent one. Return a :class:`~llmplug.types.Conversation` (its
    id, its messages with the last reply, the model's config string), or ``None`` when
    this plugin has no such conversation. The first non-``None`` answer wins. The calls
    that continue it carry its id as ``call.conversation_id``.
    """
