"""How large one provider batch may be: a provider class declares it when defined.

Kept apart from the other batch types (``_batch``) so that defining a provider class
with a batch API does not build them: they load with the first batch call.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["BatchLimits"]


class BatchLimits(NamedTuple):
    """How large one provider batch may be.

    Attributes:
        max_requests: Requests per batch (OpenAI: 50,000; Anthropic: 100,000).
        max_bytes: Bytes of the encoded requests per batch (OpenAI: 200 MB;
            Anthropic: 256 MB).
    """

    max_requests: int
    max_bytes: int
