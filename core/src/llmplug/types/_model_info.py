"""What a provider says about one of its models, for listings (``llmplug models``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from llmplug.types._base_model import Model

__all__ = ["ModelInfo"]


class ModelInfo(Model):
    """One model a provider offers, from its model table or its listing endpoint.

    Attributes:
        id: What goes after the ``:`` of a config string (``"gpt-4o-mini"``).
        display_name: A human name, when the provider gives one.
        context_window: Tokens of input and output the model takes, when known.
        max_output_tokens: The most tokens it answers with, when known.
        created: When the model was published (Unix time), when known.
        owned_by: Who publishes it, when the provider says.
        description: One line about it.
        raw: The provider's own record of the model (its listing's JSON), if any.
    """

    id: str
    display_name: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    created: int | None = None
    owned_by: str | None = None
    description: str = ""
    raw: Any = Field(default=None, repr=False)
