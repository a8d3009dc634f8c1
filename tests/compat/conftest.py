"""Fixtures of the ported LlamaIndex examples: a fresh script per test, no plugins.

Every test gets a :class:`~._stand_ins.Script` the stand-in providers answer from; at
the end, every scripted reply must have been used and every response body closed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmplug.testing import isolated_registry

from ._stand_ins import Script, use_script


@pytest.fixture(autouse=True)
def script() -> Iterator[Script]:
    """The replies of this test's stand-in providers (``script.add("text", ...)``)."""
    current = Script()
    use_script(current)
    with isolated_registry():
        yield current
    use_script(None)
    assert list(current.replies) == [], "scripted replies were left unused"
    assert [s for s in current.streams if not s.closed] == [], "a response was left open"
