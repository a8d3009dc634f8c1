"""The local provider's model table: the bundled model, as its weights describe it."""

from __future__ import annotations

import importlib.util

import pytest

from llmplug_local import LocalLLM
from llmplug_local._weights import INSTALL_WEIGHTS, WEIGHTS_PACKAGE, resolve_weights


def test_the_bundled_model_is_the_known_one() -> None:
    (model,) = LocalLLM.known_models()
    assert model.id == "smollm2-135m"
    assert INSTALL_WEIGHTS in model.description
    assert not LocalLLM.capabilities.model_listing


@pytest.mark.skipif(
    importlib.util.find_spec(WEIGHTS_PACKAGE) is None, reason=f"needs: {INSTALL_WEIGHTS}"
)
def test_its_context_window_is_what_the_weights_say() -> None:
    (model,) = LocalLLM.known_models()
    assert model.context_window == resolve_weights(None).header.context_length
