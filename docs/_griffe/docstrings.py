"""Griffe extension for the docs build: fix three reST habits in the docstrings.

* Griffe's Google parser reads ``Examples:`` as doctest code but renders a singular
  ``Example:`` as a Markdown admonition, where ``>>>`` lines are prose and a doctest
  output such as ``['a', 'b']`` is taken for a Markdown link (a warning, so a failed
  strict build). ``Example:`` is renamed ``Examples:``.
* Sphinx roles (``:class:`~llmplug.errors.HookError```) mean nothing to Markdown and
  would show up verbatim; they become inline code (``HookError``; the ``~`` form keeps
  the last dotted component, as Sphinx does).
* An attribute documented by ``#:`` comment lines just above it (the Sphinx autodoc
  convention, used for ``PLUGIN_API_VERSION``, ``hookimpl``, ``LLM.capabilities``...)
  gets that text as its docstring; griffe does not read comments.

Each is a no-op for code that does not use it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|data|attr|mod|exc|obj):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    target = match[2]
    return f"`{target.rsplit('.', 1)[-1] if match[1] else target}`"


def _comment_docstring(attr: griffe.Attribute) -> str | None:
    """The ``#:`` comment lines right above ``attr``'s definition, if any."""
    if not attr.lineno or not isinstance(attr.filepath, Path):
        return None
    if attr.filepath not in attr.lines_collection:
        return None
    lines = attr.lines_collection[attr.filepath]
    comment: list[str] = []
    index = attr.lineno - 2  # the line above, 0-based
    while index >= 0 and lines[index].strip().startswith("#:"):
        comment.insert(0, lines[index].strip()[2:].strip())
        index -= 1
    return "\n".join(comment) or None


class DocstringFixes(griffe.Extension):
    """Rename ``Example:`` sections, turn Sphinx roles into code, read ``#:`` comments."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Fix the docstring of every object as it is loaded."""
        if obj.docstring is None and isinstance(obj, griffe.Attribute):
            text = _comment_docstring(obj)
            if text is not None:
                obj.docstring = griffe.Docstring(text, parent=obj)
        if obj.docstring is not None:
            value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
            obj.docstring.value = _ROLE.sub(_role, value)
