"""Repository-wide test set-up: docs that run, and pytest's ``pytester``.

Every ```` ```python ```` block of ``README.md`` and ``docs/`` is a test (Sybil). Each
block runs in a fresh namespace: one that continues the previous block says so with
``<!-- continue -->`` just before it. A block that needs the network or an API key is
marked ``<!-- skip: next "why" -->`` and reported as skipped with that reason. Each
page runs against a fresh provider registry, with no llmplug setting from the caller's
environment, so a page's plugins never leak into another test.

``pytester`` runs the conformance suite against deliberately broken providers.

The first-party hook plugins are installed in the test environment, and hook plugins
load in every test that does not isolate its registry. So that they change no other
test, the suite runs with ``LLMPLUG_LOG=0`` (no call log is written, least of all in
the developer's data directory) and ``LLMPLUG_COST=0`` (no cost is put on usages); the
plugins' own tests switch them on where they need them. The other two change nothing
unless asked: the cache answers only calls that opt in, and the tracing plugin records
nothing until an OpenTelemetry SDK is set up. ``XDG_DATA_HOME`` and ``XDG_CACHE_HOME``
point into a temporary directory of the session, so that a test running ``llmplug`` in
a subprocess without the ``LLMPLUG_`` variables never writes a call log or a cache into
the developer's own directories.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

pytest_plugins = ["pytester"]

# set before any plugin loads (hook plugins load on the first call, not at collection)
os.environ["LLMPLUG_LOG"] = "0"
os.environ["LLMPLUG_COST"] = "0"
# and where plugins keep files, for the tests that run llmplug in a subprocess without
# the LLMPLUG_ variables: a directory of the session's, never the developer's own
_FILES = tempfile.mkdtemp(prefix="llmplug-tests-")
os.environ["XDG_DATA_HOME"] = os.path.join(_FILES, "data")
os.environ["XDG_CACHE_HOME"] = os.path.join(_FILES, "cache")
atexit.register(shutil.rmtree, _FILES, ignore_errors=True)

try:
    from sybil import Document, Example, Region, Sybil
    from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser
    from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer
except ImportError:  # the docs are tested where the test group is installed
    Sybil = None

ROOT = Path(__file__).parent
_SNIPPET = "--8<--"
_CONTINUE = "__llmplug_continue__"
_STATE = "__llmplug_state__"
_BLOCK = "__llmplug_block__"


class ContinueParser:
    """``<!-- continue -->``: the next block runs in the namespace of the one before."""

    def __init__(self) -> None:
        self.lexer = DirectiveInHTMLCommentLexer(directive="continue")

    def __call__(self, document: Document) -> Iterable[Region]:
        """The ``<!-- continue -->`` markers of ``document``."""
        for region in self.lexer(document):
            region.evaluator = self.mark
            yield region

    @staticmethod
    def mark(example: Example) -> None:
        """Let the next block continue the namespace."""
        example.namespace[_CONTINUE] = True


class FreshBlockParser(PythonCodeBlockParser):
    """Python blocks, each in a fresh namespace unless marked ``<!-- continue -->``.

    A fresh block gets a new dict (not the old one emptied): functions an earlier block
    registered as hooks keep the globals they were defined with.
    """

    def __call__(self, document: Document) -> Iterable[Region]:
        """The Python blocks of ``document``."""
        for region in super().__call__(document):
            region.evaluator = self.evaluate
            yield region

    @staticmethod
    def evaluate(example: Example) -> None:
        """Run one block, in a new namespace or the one it continues."""
        __tracebackhide__ = True
        shared = example.namespace
        block = shared.get(_BLOCK)
        if not shared.pop(_CONTINUE, False) or block is None:
            block = shared[_BLOCK] = {"__name__": "__docs__", "__file__": str(example.path)}
        parsed = str(example.parsed)
        if parsed.lstrip().startswith(_SNIPPET):
            # the page shows a file's section (pymdownx.snippets): run that section
            path, source = _snippet(parsed)
            exec(compile(source, path, "exec", dont_inherit=True), block)
            return
        source = "\n" * (example.line + example.parsed.line_offset) + parsed
        exec(compile(source, example.path, "exec", dont_inherit=True), block)


def _snippet(block: str) -> tuple[str, str]:
    """The code a ``--8<-- "path:section"`` line includes, as pymdownx.snippets does."""
    included = []
    path = ""
    for line in block.splitlines():
        match = re.fullmatch(r'\s*--8<-- "([^":]+)(?::(\w+))?"\s*', line)
        if match is None:
            raise ValueError(f"a snippet block holds only --8<-- lines, not {line!r}")
        path, section = match.group(1), match.group(2)
        text = (ROOT / path).read_text(encoding="utf-8")
        if section:
            start, end = f"# --8<-- [start:{section}]", f"# --8<-- [end:{section}]"
            text = text.split(start, 1)[1].split(end, 1)[0]
        included.append(textwrap.dedent(text))
    return str(ROOT / path), "\n".join(included)


def _setup(namespace: dict[str, Any]) -> None:
    from llmplug.plugins._registry import Registry, set_registry

    names = ("LLMPLUG_MODEL", "LLMPLUG_CONFIG", "LLMPLUG_PLUGINS", "XDG_CONFIG_HOME")
    saved = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ.pop(name, None)
    folder = tempfile.TemporaryDirectory(prefix="llmplug-docs-")
    os.environ["XDG_CONFIG_HOME"] = folder.name  # no user config file
    previous = set_registry(Registry())
    namespace[_STATE] = (saved, previous, folder)


def _teardown(namespace: dict[str, Any]) -> None:
    from llmplug.plugins._registry import set_registry

    saved, previous, folder = namespace[_STATE]
    set_registry(previous)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    folder.cleanup()


if Sybil is not None:
    pytest_collect_file = Sybil(
        parsers=[ContinueParser(), SkipParser(), FreshBlockParser()],
        patterns=["*.md"],
        excludes=["CHANGELOG.md"],
        setup=_setup,
        teardown=_teardown,
    ).pytest()
