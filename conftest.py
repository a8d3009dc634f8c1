"""Repository-wide test set-up: pytest's ``pytester`` (the conformance suite's own tests
run it against deliberately broken providers).
"""

from __future__ import annotations

pytest_plugins = ["pytester"]
