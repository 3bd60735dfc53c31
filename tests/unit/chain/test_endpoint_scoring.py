"""Endpoint health scoring: errors, latency, cool-downs, lag, disabling, stickiness, labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from autobot.chain.endpoints import (
    Endpoint,
    EndpointPool,
    EndpointState,
    HealthPolicy,
    Outcome,
    endpoint_labels,
)
from autobot.errors import RpcTimeout, RpcUnavailable


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Recorder:
    calls: list[tuple[str, str, float]] = field(default_factory=list)

    def rpc_request(self, *, endpoint: str, outcome: str, seconds: float) -> None:
        self.calls.append((endpoint, outcome, seconds))


def pool(
    n: int = 2, *, clock: Clock | None = None, observer: Recorder | None = None, **policy: float
) -> EndpointPool:
    endpoints = [Endpoint(url=f"http://node{i}.example:80{i}0/", client=None) for i in range(n)]
    return EndpointPool(
        endpoints,
        policy=HealthPolicy(**policy),  # type: ignore[arg-type]
        observer=observer,
        monotonic=clock or Clock(),
    )


def order(p: EndpointPool) -> list[int]:
    return [e.index for e in p.candidates()]


def fail(p: EndpointPool, index: int, times: int = 1) -> None:
    for _ in range(times):
        p.failed(p.endpoints[index], RpcUnavailable("down"), 0.01, outcome=Outcome.UNAVAILABLE)


def test_endpoints_are_used_in_configuration_order_while_healthy() -> None:
    p = pool(3)
    assert order(p) == [0, 1, 2]
    p.succeeded(p.endpoints[0], 0.01)
    assert order(p) == [0, 1, 2] and p.current.index == 0


def test_one_failure_moves_requests_to_the_next_healthy_endpoint() -> None:
    p = pool(2)
    fail(p, 0)
    assert order(p) == [1, 0]
    assert p.endpoints[0].state(1000.0) is EndpointState.HEALTHY  # demoted, not cooling yet


def test_the_endpoint_in_use_stays_first_unless_another_is_clearly_better() -> None:
    p = pool(2)
    p.succeeded(p.endpoints[0], 0.010)
    p.succeeded(p.endpoints[1], 0.008)  # a little faster: not worth switching
    assert order(p) == [0, 1]
    p.endpoints[0].latency = 0.400  # now clearly slower
    assert order(p) == [1, 0]
    p.endpoints[0].latency = 0.007  # a little faster again: the new one stays
    assert order(p) == [1, 0]


def test_lower_latency_wins_between_fresh_endpoints() -> None:
    p = pool(2)
    p.succeeded(p.endpoints[0], 0.8)
    p.succeeded(p.endpoints[1], 0.02)
    assert order(p) == [1, 0]


def test_consecutive_failures_start_a_cool_down_that_doubles() -> None:
    clock = Clock()
    p = pool(2, clock=clock, failure_threshold=3, cooldown_seconds=5, max_cooldown_seconds=12)
    first = p.endpoints[0]
    fail(p, 0, 2)
    assert first.state(clock.now) is EndpointState.HEALTHY
    fail(p, 0)
    assert first.state(clock.now) is EndpointState.COOLING
    assert order(p) == [1, 0]  # cooling: a last resort, still listed
    clock.now += 5
    assert first.state(clock.now) is EndpointState.HEALTHY
    fail(p, 0)  # the probe after the cool-down fails: twice as long
    assert first.cooldown_until == pytest.approx(clock.now + 10)
    clock.now += 10
    fail(p, 0)
    assert first.cooldown_until == pytest.approx(clock.now + 12)  # capped
    p.succeeded(first, 0.01)
    assert first.consecutive_failures == 0 and first.trips == 0


def test_cooling_endpoints_come_last_soonest_back_first() -> None:
    clock = Clock()
    p = pool(3, clock=clock, failure_threshold=1, cooldown_seconds=5)
    fail(p, 0)
    clock.now += 1
    fail(p, 1)
    assert order(p) == [2, 0, 1]


def test_the_error_rate_fades_while_an_endpoint_is_idle() -> None:
    clock = Clock()
    p = pool(2, clock=clock, error_half_life_seconds=60)
    fail(p, 0)
    rate = p.endpoints[0].errors(clock.now, 60)
    clock.now += 60
    assert p.endpoints[0].errors(clock.now, 60) == pytest.approx(rate / 2)


def test_a_block_far_behind_the_best_marks_its_endpoint_lagging() -> None:
    clock = Clock()
    p = pool(2, clock=clock, lag_tolerance_blocks=5, lag_cooldown_seconds=30)
    first, second = p.endpoints
    assert not p.observe_block(first, height=100)
    assert not p.observe_block(second, height=96)  # within tolerance
    assert p.observe_block(second, height=80)
    assert second.state(clock.now) is EndpointState.LAGGING and second.lag_blocks == 20
    assert p.best_height == 100  # a lagging answer never raises the bar
    assert order(p) == [0, 1]
    assert [e.index for e in p.healthy()] == [0]
    assert not p.observe_block(second, height=101)  # caught up
    assert second.state(clock.now) is EndpointState.HEALTHY and p.best_height == 101


def test_a_lagging_endpoint_is_preferred_again_after_its_cool_down() -> None:
    clock = Clock()
    p = pool(2, clock=clock, lag_cooldown_seconds=30)
    p.observe_block(p.endpoints[1], height=100)
    p.observe_block(p.endpoints[0], height=50)
    assert order(p) == [1, 0]
    clock.now += 31
    assert p.endpoints[0].state(clock.now) is EndpointState.HEALTHY


def test_an_endpoint_of_another_chain_is_never_used_again() -> None:
    recorder = Recorder()
    p = pool(2, observer=recorder)
    p.disable(p.endpoints[0], "serves chain 6", 0.01)
    assert order(p) == [1]
    assert p.endpoints[0].state(0) is EndpointState.DISABLED
    for _ in range(10):
        p.succeeded(p.endpoints[1], 0.01)
    assert order(p) == [1]
    assert recorder.calls[0] == ("node0.example:8000", "chain_mismatch", 0.01)


def test_every_attempt_reaches_the_observer_with_a_bounded_label() -> None:
    recorder = Recorder()
    p = pool(2, observer=recorder)
    p.succeeded(p.endpoints[0], 0.02)
    p.failed(p.endpoints[1], RpcTimeout("slow"), 1.5, outcome=Outcome.TIMEOUT)
    p.lagged(p.endpoints[1], 0.03)
    assert recorder.calls == [
        ("node0.example:8000", "ok", 0.02),
        ("node1.example:8010", "timeout", 1.5),
        ("node1.example:8010", "lagging", 0.03),
    ]


def test_labels_are_host_and_port_without_credentials_or_paths() -> None:
    assert endpoint_labels(
        [
            "https://user:secret@rpc.example.com/supra/",
            "http://127.0.0.1:27100/",
            "http://127.0.0.1:27100/other/",
            "http://[::1]:8080/",
        ]
    ) == ["rpc.example.com", "127.0.0.1:27100#1", "127.0.0.1:27100#2", "[::1]:8080"]


def test_health_reports_each_endpoint() -> None:
    clock = Clock()
    p = pool(2, clock=clock, failure_threshold=1)
    fail(p, 1)
    first, second = p.health()
    assert first.state is EndpointState.HEALTHY and first.requests == 0
    assert second.state is EndpointState.COOLING and second.failures == 1
    assert second.error_rate > 0 and second.score > first.score


def test_a_pool_needs_an_endpoint() -> None:
    with pytest.raises(ValueError):
        EndpointPool([])
