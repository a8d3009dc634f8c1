"""Routes from config strings, from aliases of the config file, and what is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import llmplug
from llmplug.errors import ConfigError, InvalidOptionError, UnknownProviderError
from llmplug.routing import RESPONSE_KEY, BalancedLLM, FallbackLLM, LimitedLLM

from .conftest import HI, Loopback, status


def names(route: Any) -> list[str]:
    return [slot.name for slot in route._plan_now().everyone]


def test_the_routes_are_core_providers() -> None:
    listed = {info.name: info for info in llmplug.providers()}
    assert {"fallback", "balance", "limit"} <= set(listed)
    assert listed["fallback"].distribution == "llmplug"


def test_a_fallback_over_config_strings_splits_on_commas() -> None:
    route = llmplug.load("fallback:mock:one,mock:two?cooldown=0")
    assert isinstance(route, FallbackLLM)
    assert names(route) == ["mock:one", "mock:two"]
    assert route.cooldown == 0
    assert route.route_name == "fallback:mock:one,mock:two"
    assert route.provider_label == "fallback"
    assert route.complete("hi").additional_kwargs[RESPONSE_KEY].model == "mock:one"


def test_models_may_be_given_as_an_option_too() -> None:
    route = llmplug.load("fallback?models=mock:one,mock:two")
    assert names(route) == ["mock:one", "mock:two"]


def test_model_names_keep_their_own_colons() -> None:
    route = llmplug.load("fallback:mock:llama3.2:1b,mock:b")
    assert [llm.model for llm in route.llms] == ["llama3.2:1b", "b"]


def test_balance_and_limit_from_config_strings() -> None:
    balance = llmplug.load("balance:mock:eu,mock:us?strategy=least_busy&weights=2,1")
    assert isinstance(balance, BalancedLLM)
    assert (balance.strategy, balance.weights) == ("least_busy", [2.0, 1.0])
    limit = llmplug.load("limit:mock:m?rpm=500&tpm=200000&max_wait=0")
    assert isinstance(limit, LimitedLLM)
    assert (limit.rpm, limit.tpm, limit.max_wait) == (500, 200000, 0)
    assert limit.route_name == "limit:mock:m"


def test_aliases_name_the_models_of_a_route(
    config_file: Callable[[str], Any], server: Loopback
) -> None:
    config_file(
        f"""
default = "reliable"
[aliases]
fast = "openai:a?base_url={server.url}&max_retries=0"
smart = "openai:b?base_url={server.url}&max_retries=0"
reliable = "fallback:fast,smart"
"""
    )
    server.script("a", status(503))
    route = llmplug.load()
    assert names(route) == ["fast", "smart"]
    record = route.chat(HI).additional_kwargs[RESPONSE_KEY]
    assert [(a.model, a.outcome) for a in record.attempts] == [("fast", "failed"), ("smart", "ok")]
    assert server.models() == ["a", "b"]
    route.close()


def test_a_table_alias_gives_members_weights_and_limits(config_file: Callable[[str], Any]) -> None:
    config_file(
        """
[aliases]
eu = "mock:eu-deployment"
[aliases.gpt]
spec = "balance"
strategy = "weighted"
deployments = [
  { spec = "eu", weight = 3, rpm = 600 },
  { spec = "mock:us-deployment", name = "us", tpm = 90000 },
]
"""
    )
    route = llmplug.load("gpt")
    assert isinstance(route, BalancedLLM)
    assert [(s.name, s.weight, s.limit) for s in route._plan_now().slots] == [
        ("eu", 3.0, (600.0, None, 1.0)),
        ("us", 1.0, (None, 90000.0, 1.0)),
    ]
    assert route.limiter("us") is not None


def test_routes_nest(config_file: Callable[[str], Any]) -> None:
    config_file(
        """
[aliases]
pool = "balance:mock:p1,mock:p2"
safe = "fallback:pool,mock:last"
"""
    )
    route = llmplug.load("safe")
    record = route.complete("x").additional_kwargs[RESPONSE_KEY]
    assert record.model == "pool"
    inner = record.attempts[0].inner
    assert inner is not None
    assert (inner.kind, inner.model) == ("balance", "mock:p1")


def test_a_route_containing_itself_is_refused(config_file: Callable[[str], Any]) -> None:
    config_file('[aliases]\nloop = "fallback:mock:a,loop"\n')
    with pytest.raises(ConfigError, match="route loop"):
        llmplug.load("loop")


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        pytest.param("fallback:mock:a,mokc:b", UnknownProviderError, "mock", id="unknown-model"),
        pytest.param("fallback:mock:a?cooldwn=1", InvalidOptionError, "cooldown", id="typo"),
        pytest.param("balance:mock:a?strategy=fastest", InvalidOptionError, "strategy", id="bad"),
        pytest.param("balance:mock:a,mock:b?weights=1", InvalidOptionError, "one weight", id="w"),
        pytest.param("limit:mock:a,mock:b", InvalidOptionError, "limit takes one model", id="two"),
        pytest.param("fallback", InvalidOptionError, "models", id="no-models"),
        pytest.param("fallback:mock:a?rpm=0", InvalidOptionError, "rpm", id="zero-rpm"),
        pytest.param(
            "fallback:mock:a?budget_period=soon", InvalidOptionError, "30s, 15m", id="period"
        ),
    ],
)
def test_bad_routes_are_refused_when_loading(spec: str, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        llmplug.load(spec)


def test_a_member_option_the_model_does_not_take_is_refused_when_loading() -> None:
    with pytest.raises(InvalidOptionError, match="max_token"):
        llmplug.load("fallback", models=["mock:a?max_token=3"])


def test_routes_pickle_and_bind_anew() -> None:
    import pickle

    route = llmplug.load("fallback:openai:a,openai:b?rpm=60")  # mock holds a lock: not it
    assert route.limiter() is not None
    copy = pickle.loads(pickle.dumps(route))
    assert copy.route_name == route.route_name
    assert copy.limiter() is route.limiter()  # the same process: the same shared limit
