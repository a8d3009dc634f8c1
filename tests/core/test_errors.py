"""Errors keep their context through pickling (multiprocessing, Celery, Ray)."""

from __future__ import annotations

import pickle

import pytest

from llmplug import errors

CASES = [
    pytest.param(errors.LLMError("m", provider="p"), id="LLMError"),
    pytest.param(errors.PluginLoadError("m", plugin="x", distribution="d"), id="PluginLoad"),
    pytest.param(errors.DuplicateProviderError("m", plugin="x", claimants=["a", "b"]), id="Dup"),
    pytest.param(errors.UnknownProviderError("m", name="n", available=["a"]), id="Unknown"),
    pytest.param(errors.HookError("m", plugin="x", hook="before_call"), id="Hook"),
    pytest.param(errors.CallRefusedError("m", plugin="g"), id="Refused"),
    pytest.param(errors.RateLimitError("m", status_code=429, retry_after=2.0), id="RateLimit"),
    pytest.param(errors.ContextWindowExceededError("m", status_code=400), id="Context"),
    pytest.param(errors.StreamInterruptedError("m", partial="abc"), id="Stream"),
    pytest.param(errors.StructuredOutputError("m", raw="{", errors=[{"x": 1}]), id="Structured"),
    pytest.param(errors.UnsupportedContentError("m", block_type="video"), id="Unsupported"),
    pytest.param(
        errors.ContentBlockedError("m", reason="SAFETY", where="response", partial="ab"),
        id="ContentBlocked",
    ),
    pytest.param(errors.ContentPolicyError("m", status_code=400), id="ContentPolicy"),
    pytest.param(
        errors.ClientRateLimitError("m", limit="openai", route="r", retry_after=0.5),
        id="ClientRateLimit",
    ),
    pytest.param(
        errors.BudgetExceededError("m", budget="b", spent=3.0, limit=3.0, unit="tokens"),
        id="Budget",
    ),
]


@pytest.mark.parametrize("error", CASES)
def test_pickle_round_trip(error: errors.LLMError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__


def test_all_models_failed_pickles_with_every_error() -> None:
    error = errors.AllModelsFailedError(
        "m", errors=[errors.RateLimitError("r", status_code=429)], route="r", retry_after=2.0
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.route, copy.retry_after, str(copy)) == ("r", 2.0, "m")
    assert [(type(e), e.status_code) for e in copy.errors] == [(errors.RateLimitError, 429)]


def test_str_names_the_provider_once() -> None:
    assert str(errors.LLMError("boom", provider="openai")) == "[openai] boom"
    assert str(errors.LLMError("[openai] boom", provider="openai")) == "[openai] boom"


def test_python_exception_compatibility() -> None:
    assert issubclass(errors.ContextWindowExceededError, ValueError)
    assert issubclass(errors.UnsupportedContentError, TypeError)
    assert issubclass(errors.APITimeoutError, errors.APIConnectionError)
