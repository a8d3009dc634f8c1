"""The hook plugin: adds ``llmplug serve`` to the command line.

Loaded with every hook plugin (on the first LLM call of a process, and for
``llmplug --help``), so it stays tiny: it imports argparse and nothing of the gateway.
Starlette and uvicorn load only when ``llmplug serve`` runs.
"""

from __future__ import annotations

from collections.abc import Callable

import llmplug

__all__ = ["register_commands"]


@llmplug.hookimpl
def register_commands(register: Callable[..., None]) -> None:
    """Register ``llmplug serve``."""
    from llmplug_server import _commands

    register(
        "serve",
        _commands.run,
        help="serve installed providers over the OpenAI and Anthropic APIs (a gateway)",
        configure=_commands.configure,
    )
