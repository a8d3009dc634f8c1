"""Load balancing: strategies, failover, cooldown with half-open probes, concurrency."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import pytest

from llmplug import ChatMessage, ChatResponse
from llmplug.errors import AllModelsFailedError, InternalServerError, RoutingError
from llmplug.routing import RESPONSE_KEY, BalancedLLM, FallbackLLM, Member, RoutingState
from llmplug.testing import scripted

from .conftest import HI, Loopback, openai, status


def chosen(response: Any) -> str:
    return str(response.additional_kwargs[RESPONSE_KEY].model).partition("?")[0]


def test_round_robin_follows_the_weights_smoothly(server: Loopback, closing: Any) -> None:
    route = closing(
        BalancedLLM(
            [openai(server, "a"), openai(server, "b"), openai(server, "c")], weights=[3, 1, 1]
        )
    )
    picks = [chosen(route.chat(HI)) for _ in range(10)]
    assert Counter(picks) == {"openai:a": 6, "openai:b": 2, "openai:c": 2}
    assert picks[:5] == ["openai:a", "openai:b", "openai:a", "openai:c", "openai:a"]
    assert server.models() == [p.removeprefix("openai:") for p in picks]


def test_weighted_is_random_in_proportion() -> None:
    route = BalancedLLM(
        [Member(scripted(model="w1"), weight=4), Member(scripted(model="w2"), weight=1)],
        strategy="weighted",
    )
    picks = Counter(chosen(route.complete("x")) for _ in range(1000))
    assert 720 <= picks["mock:w1"] <= 880  # 800 expected


def test_least_busy_picks_the_deployment_with_fewest_calls_in_flight() -> None:
    gate = threading.Event()
    started = threading.Event()

    class Slow(type(scripted())):  # type: ignore[misc]
        def chat(self, messages: Any, **kwargs: Any) -> ChatResponse:
            started.set()
            gate.wait(5)
            return super().chat(messages, **kwargs)

    slow = Slow(model="busy")
    slow._provider = "mock"
    route = BalancedLLM([slow, scripted(model="idle")], strategy="least_busy")
    worker = threading.Thread(target=route.chat, args=(HI,))
    worker.start()
    assert started.wait(5)
    picks = [chosen(route.chat(HI)) for _ in range(3)]
    gate.set()
    worker.join(5)
    assert picks == ["mock:idle"] * 3  # busy holds one call in flight


def test_latency_prefers_the_fastest_and_measures_the_unmeasured_first(
    server: Loopback, closing: Any
) -> None:
    slow = scripted(model="slow")
    original = slow._reply

    def late(messages: Any, options: Any) -> ChatResponse:
        # well above a fast call's worst stall on a loaded CI machine (30 ms was not)
        time.sleep(0.25)
        return original(messages, options)

    object.__setattr__(slow, "_reply", late)
    route = BalancedLLM([slow, scripted(model="fast")], strategy="latency")
    first_two = {chosen(route.chat(HI)) for _ in range(2)}
    assert first_two == {"mock:slow", "mock:fast"}  # each measured once
    assert [chosen(route.chat(HI)) for _ in range(5)] == ["mock:fast"] * 5


def test_a_failing_deployment_fails_over_to_the_others(server: Loopback, closing: Any) -> None:
    route = closing(BalancedLLM([openai(server, "a"), openai(server, "b")]))
    server.script("a", status(503))
    answers = [route.chat(HI).message.content for _ in range(4)]
    # a's turn failed over to b; then the turns go on: b, a, b
    assert answers == ["b says hi", "b says hi", "a says hi", "b says hi"]
    assert server.models() == ["a", "b", "b", "a", "b"]


def test_cooldown_then_half_open_probe(clock: Any) -> None:
    boom = InternalServerError("down", status_code=503)
    flaky = scripted(boom, boom, boom, boom, "back", model="flaky")
    steady = scripted(model="steady")
    route = BalancedLLM([flaky, steady], cooldown=10, failure_threshold=3)
    for _ in range(6):  # three turns of flaky fail over to steady
        assert route.complete("x").text == "x"
    assert len(flaky.calls) == 3
    # open: flaky is passed over (and listed last, skipped) without a call
    record = route.complete("x").additional_kwargs[RESPONSE_KEY]
    assert [(a.model, a.outcome) for a in record.attempts] == [("mock:steady", "ok")]
    assert len(flaky.calls) == 3
    clock.advance(10)
    # half-open: on its next turn one probe goes to flaky and fails: open again
    attempts = [
        a for _ in range(2) for a in route.complete("x").additional_kwargs[RESPONSE_KEY].attempts
    ]
    assert [(a.model, a.outcome, a.probe) for a in attempts if a.model == "mock:flaky"] == [
        ("mock:flaky", "failed", True)
    ]
    clock.advance(9)
    for _ in range(2):
        route.complete("x")
    assert len(flaky.calls) == 4  # still open
    clock.advance(1)
    answers = [route.complete("x") for _ in range(2)]  # the probe succeeds: closed
    assert [r.text for r in answers if chosen(r) == "mock:flaky"] == ["back"]
    assert len(flaky.calls) == 5


def test_while_a_probe_is_in_flight_others_pass_the_deployment_over(clock: Any) -> None:
    gate = threading.Event()
    probing = threading.Event()
    boom = InternalServerError("down", status_code=503)

    class Gated(type(scripted())):  # type: ignore[misc]
        def chat(self, messages: Any, **kwargs: Any) -> ChatResponse:
            if len(self.calls) == 1:  # the second call is the probe
                probing.set()
                gate.wait(5)
            return super().chat(messages, **kwargs)

    gated = Gated(responses=[boom], model="gated")
    gated._provider = "mock"
    route = FallbackLLM([gated, scripted(model="other")], cooldown=5, failure_threshold=1)
    route.chat(HI)  # gated fails: open
    clock.advance(5)
    results: list[Any] = []
    probe = threading.Thread(target=lambda: results.append(route.chat(HI)))
    probe.start()
    assert probing.wait(5)
    record = route.chat(HI).additional_kwargs[RESPONSE_KEY]
    assert [(a.model, a.outcome, a.reason) for a in record.attempts] == [
        ("mock:gated", "skipped", "probe_in_flight"),
        ("mock:other", "ok", None),
    ]
    gate.set()
    probe.join(5)
    assert chosen(results[0]) == "mock:gated"


def test_every_deployment_cooling_down_fails_fast_with_retry_after(clock: Any) -> None:
    boom = InternalServerError("down", status_code=503)
    route = BalancedLLM(
        [scripted(boom, model="x1"), scripted(boom, model="x2")], cooldown=30, failure_threshold=1
    )
    with pytest.raises(AllModelsFailedError):
        route.chat(HI)
    clock.advance(10)
    with pytest.raises(AllModelsFailedError) as caught:
        route.chat(HI)
    assert [a.reason for a in caught.value.attempts] == ["cooldown", "cooldown"]
    assert all(isinstance(e, RoutingError) for e in caught.value.errors)
    assert caught.value.retry_after == pytest.approx(20)
    assert isinstance(caught.value.errors[0].__cause__, InternalServerError)


def test_threads_and_tasks_share_one_state_and_lose_nothing(routing: RoutingState) -> None:
    deployments = [scripted(model=f"t{i}") for i in range(3)]
    route = BalancedLLM(deployments, strategy="least_busy")
    messages = [ChatMessage(role="user", content="ping")]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(50):
                assert route.chat(messages).message.content == "ping"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]

    async def tasks() -> None:
        async def one() -> None:
            for _ in range(50):
                response = await route.achat(messages)
                assert response.message.content == "ping"

        await asyncio.gather(*(one() for _ in range(8)))

    for thread in threads:
        thread.start()
    asyncio.run(tasks())
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert sum(len(d.calls) for d in deployments) == 800
    snapshot = routing.snapshot()["deployments"]
    assert [snapshot[f"mock:t{i}"]["in_flight"] for i in range(3)] == [0, 0, 0]


def test_weights_must_match_the_deployments() -> None:
    with pytest.raises(ValueError, match="one weight per deployment"):
        BalancedLLM([scripted(model="m1"), scripted(model="m2")], weights=[1])
