"""Client-side rate limits (sync sleeps, async awaits, fail fast, token estimates) and budgets."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import llmplug
from llmplug import ChatMessage
from llmplug.errors import BudgetExceededError, ClientRateLimitError, ConfigError
from llmplug.routing import (
    RESPONSE_KEY,
    FallbackLLM,
    LimitedLLM,
    Member,
    RoutingState,
    routing_state,
)
from llmplug.routing._limits import TokenBucket
from llmplug.testing import scripted

from .conftest import HI, Loopback, openai


def test_the_bucket_lends_and_callers_queue_in_order() -> None:
    bucket = TokenBucket(rate=2.0, capacity=2.0, now=0.0)
    waits = []
    for _ in range(5):
        waits.append(bucket.wait(1, 0.0))
        bucket.take(1, 0.0)
    assert waits == [0.0, 0.0, 0.5, 1.0, 1.5]  # each waits its turn: nobody polls
    assert bucket.wait(1, 1.0) == 1.0  # the debt is repaid at the rate
    assert bucket.wait(1, 2.0) == 0.0
    bucket.give(10, 2.0)
    assert bucket.level == 2.0  # never above the capacity


def test_a_sync_caller_sleeps_its_turn(clock: Any) -> None:
    llm = LimitedLLM(scripted(model="s"), rpm=60)
    for _ in range(3):
        llm.complete("x")
    assert clock.sleeps == [1.0, 1.0]
    record = llm.complete("x").additional_kwargs[RESPONSE_KEY]
    assert record.attempts[0].waited == 1.0


async def test_an_async_caller_awaits_without_blocking_the_loop() -> None:
    llm = LimitedLLM(scripted(model="a-sync"), rpm=600, burst=0.1)  # one call every 0.1 s
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    for _ in range(3):
        await llm.acomplete("x")
    elapsed = time.monotonic() - started
    task.cancel()
    assert 0.18 <= elapsed < 1.0
    assert ticks >= 10  # the loop kept running while the calls waited


@pytest.mark.parametrize("max_wait", [0.0, 0.5], ids=["fail-fast", "short-wait"])
def test_no_room_within_max_wait_fails_before_any_call(clock: Any, max_wait: float) -> None:
    model = scripted(model="ff")
    llm = LimitedLLM(model, rpm=60, max_wait=max_wait)
    llm.complete("x")
    with pytest.raises(ClientRateLimitError) as caught:
        llm.complete("y")
    assert caught.value.retry_after == pytest.approx(1.0)
    assert caught.value.limit == "mock:ff"
    assert len(model.calls) == 1
    assert clock.sleeps == []


def test_a_long_enough_max_wait_waits(clock: Any) -> None:
    llm = LimitedLLM(scripted(model="mw"), rpm=60, max_wait=2)
    llm.complete("x")
    llm.complete("y")
    assert clock.sleeps == [1.0]


def test_every_llm_limiting_a_model_shares_its_limit(clock: Any) -> None:
    first = llmplug.load("limit:mock:shared?rpm=60&max_wait=0")
    second = llmplug.load("limit:mock:shared?rpm=60&max_wait=0")
    first.complete("x")
    with pytest.raises(ClientRateLimitError):
        second.complete("y")


def test_a_group_is_shared_by_different_models(clock: Any) -> None:
    one = LimitedLLM(scripted(model="g1"), rpm=60, group="org", max_wait=0)
    two = LimitedLLM(scripted(model="g2"), rpm=60, group="org", max_wait=0)
    one.complete("x")
    with pytest.raises(ClientRateLimitError) as caught:
        two.complete("y")
    assert caught.value.limit == "org"


def test_declaring_a_limit_twice_with_other_values_is_refused() -> None:
    LimitedLLM(scripted(model="twice"), rpm=60)
    with pytest.raises(ConfigError, match=r"already declared.*name=\.\.\."):
        LimitedLLM(scripted(model="twice"), rpm=120)


def test_tokens_are_estimated_then_corrected_from_usage(
    server: Loopback, clock: Any, closing: Any
) -> None:
    llm = closing(LimitedLLM(openai(server, "tok"), tpm=600, burst=60))  # 600 at once
    limiter = llm.limiter()
    assert limiter.available() == (None, 600.0)
    response = llm.chat([ChatMessage(role="user", content="Hi")])
    assert response.usage.total_tokens == 8  # 5 in, 3 out ("tok says hi")
    assert limiter.available() == (None, 592.0)  # the estimate (5 + 256) was replaced
    chunks = list(llm.stream_chat(HI))
    assert chunks[-1].usage.total_tokens == 8
    assert limiter.available() == (None, 584.0)


def test_the_estimate_counts_max_tokens(clock: Any) -> None:
    state = routing_state()
    llm = LimitedLLM(scripted(RuntimeError("no"), model="est"), tpm=6000)
    limiter = state.limiter("mock:est", rpm=None, tpm=6000, burst=1.0)
    with pytest.raises(RuntimeError):
        llm.complete("x" * 40, max_tokens=50)
    # a failed call gives its tokens back: nothing is counted
    assert limiter.available() == (None, 100.0)


def test_a_model_without_room_is_passed_over_while_another_has_room(clock: Any) -> None:
    limited = scripted(model="lim")
    backup = scripted(model="free")
    route = FallbackLLM([Member(limited, rpm=60), backup])
    assert [route.complete("x").additional_kwargs[RESPONSE_KEY].model for _ in range(3)] == [
        "mock:lim",
        "mock:free",
        "mock:free",
    ]
    assert clock.sleeps == []  # nobody waited: another model had room
    clock.advance(1)
    assert route.complete("x").additional_kwargs[RESPONSE_KEY].model == "mock:lim"


def test_when_no_model_has_room_the_soonest_is_waited_for(clock: Any) -> None:
    route = FallbackLLM(
        [Member(scripted(model="slow"), rpm=30), Member(scripted(model="quick"), rpm=60)]
    )
    route.complete("x")
    route.complete("x")
    record = route.complete("x").additional_kwargs[RESPONSE_KEY]
    assert clock.sleeps == [1.0]
    assert [(a.model, a.waited) for a in record.attempts] == [("mock:quick", 1.0)]


async def test_a_cancelled_waiter_gives_its_turn_back() -> None:
    llm = LimitedLLM(scripted(model="cancel"), rpm=60)  # one call a second
    await llm.acomplete("x")
    waiting = asyncio.create_task(llm.acomplete("y"))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    limiter = routing_state().limiter("mock:cancel", rpm=60, tpm=None)
    requests, _ = limiter.available()
    assert requests is not None
    assert requests > -0.5  # the cancelled call's reservation was returned


def test_a_token_budget_stops_calls_once_used_up(clock: Any) -> None:
    model = scripted("one two", "three", model="budget")
    llm = LimitedLLM(model, budget_tokens=4)
    llm.chat([ChatMessage(role="user", content="a b")])  # 2 in + 2 out
    with pytest.raises(BudgetExceededError) as caught:
        llm.chat(HI)
    assert (caught.value.spent, caught.value.limit, caught.value.unit) == (4, 4, "tokens")
    assert len(model.calls) == 1


def test_a_cost_budget_uses_the_price_and_starts_again_each_period(clock: Any) -> None:
    model = scripted(model="priced")
    route = FallbackLLM(
        [Member(model, price=(1_000_000, 1_000_000))],  # 1.0 per token, in and out
        budget_cost=3,
        budget_period="1h",
    )
    route.complete("a b")  # 2 + 2 tokens: 4.0 spent
    with pytest.raises(BudgetExceededError) as caught:
        route.complete("c")
    assert caught.value.unit == "cost"
    assert caught.value.retry_after == pytest.approx(3600)
    clock.advance(3600)
    assert route.complete("d").text == "d"


def test_a_model_over_its_budget_is_passed_over(clock: Any) -> None:
    route = FallbackLLM(
        [Member(scripted(model="capped"), budget_tokens=1), scripted(model="spare")]
    )
    route.complete("x")  # capped answers and spends 2
    record = route.complete("x").additional_kwargs[RESPONSE_KEY]
    assert [(a.model, a.outcome, a.reason) for a in record.attempts] == [
        ("mock:capped", "skipped", "budget"),
        ("mock:spare", "ok", None),
    ]


def test_a_cost_budget_needs_prices() -> None:
    with pytest.raises(ValueError, match="needs a price for every model"):
        FallbackLLM([scripted(model="np")], budget_cost=1)
    with pytest.raises(ValueError, match="budget_cost needs the member's price"):
        Member(scripted(model="np"), budget_cost=1)


def test_state_is_per_process_and_swappable() -> None:
    llm = LimitedLLM(scripted(model="swap"), rpm=60, max_wait=0)
    llm.complete("x")
    from llmplug.routing import set_routing_state

    previous = set_routing_state(RoutingState())
    try:
        llm.complete("y")  # a fresh state: a fresh limit
    finally:
        set_routing_state(previous)
