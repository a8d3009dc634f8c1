"""The ``llmplug`` command line: a thin layer over llmplug's public Python APIs.

::

    llmplug chat [PROMPT] [-m SPEC] [-s TEXT] [-o KEY VALUE]... [-a PATH|URL]...
                 [--at PATH TYPE]... [--schema S | --schema-multi S] [-i]
                 [--json | --no-stream]
    llmplug batch INPUT -o OUTPUT [-m SPEC] [--prompt TEMPLATE] [-s TEXT]
                  [--schema S | --schema-multi S] [-j N] [--retries N] [--rpm N]
                  [--tpm N] [--provider-batch [--job ID]... [--no-wait]]
    llmplug models [-p PROVIDER]... [--live] [--json]
    llmplug options PROVIDER [--json]
    llmplug keys set|list|path|remove ...
    llmplug aliases set|list|remove|path ...
    llmplug providers [--json]
    llmplug plugins [--json]
    llmplug install|uninstall PACKAGE...
    llmplug --version

Exit codes: 0 success; 1 a runtime error (plugin load, API, stream); 2 a usage or
config error (nothing was sent); 130 interrupted. An error is one ``llmplug: error:
...`` line on stderr (``LLMPLUG_DEBUG=1`` adds the traceback) that never shows a key.

Adding a built-in command: write a module here with ``configure_<name>(parser)`` and
``run_<name>(args, console) -> int``, and add one line to ``BUILTINS`` in ``_main``;
the module is imported only when its command runs. Plugins add commands through the
``register_commands`` hook instead.

``import llmplug`` never imports this package: only the ``llmplug`` console script and
``python -m llmplug`` do.
"""

from __future__ import annotations

from llmplug.cli._main import main

__all__ = ["main"]
