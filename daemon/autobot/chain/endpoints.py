"""Which RPC endpoint to ask next: health scoring over the configured endpoints.

``RpcClient`` (``chain/rpc.py``) reports every attempt's outcome here; the pool keeps, per
endpoint:

* an **error rate**: EWMA (``error_alpha``) of 1 per failed attempt, 0 per answered one, fading
  towards 0 while the endpoint is idle (half-life ``error_half_life_seconds``);
* a **latency**: EWMA (``latency_alpha``) of answered attempts' durations
  (``unknown_latency_seconds`` until the first answer);
* **consecutive failures**: ``failure_threshold`` in a row start a **cool-down** of
  ``cooldown_seconds``, doubled for each further trip up to ``max_cooldown_seconds``; one answer
  ends the series;
* **lag**: every block read is compared with the highest block seen from any endpoint; more than
  ``lag_tolerance_blocks`` behind marks the endpoint *lagging* for ``lag_cooldown_seconds`` (or
  until it shows a current block again). A lagging endpoint's chain time and sequence numbers are
  never used (``supra.py``);
* **ahead**: an endpoint whose block time ran ahead of what the other endpoints and the wall
  clock allow (``chain/timeguard.py``) is *quarantined* for ``lag_cooldown_seconds`` (``ran_ahead``):
  like a lagging one it is not trusted for time or sequence numbers and comes after the healthy
  ones, and the reading counts as a failure against its score (outcome ``ahead``). Only the best
  height of readings that were not quarantined raises ``best_height``;
* **disabled** for the life of the process when it answered for another chain (``ChainMismatch``):
  misconfigured, not flaky.

Order of use (``candidates``): healthy endpoints by score (latency + error rate * penalty),
sticky — the one in use stays first until another scores better by a margin — then lagging
ones, then cooling ones (last resorts: better a slow answer than none); disabled never.

Failures are transport-level: timeouts, connection errors, 5xx, 429, malformed answers, chain
id mismatches. A 4xx with an ``ErrResp`` (a Move abort, a sequence refusal) is an answer: the
endpoint works.

Metrics go through an injected ``RpcObserver`` (``rpc_request(endpoint=label, outcome=...,
seconds=...)``); labels are bounded: one per configured endpoint (host[:port], ``#index`` added
when two share one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

import structlog

__all__ = [
    "Endpoint",
    "EndpointHealth",
    "EndpointPool",
    "EndpointState",
    "HealthPolicy",
    "Outcome",
    "RpcObserver",
    "endpoint_labels",
]

log = structlog.get_logger(__name__)


class Outcome(StrEnum):
    """``autobot_rpc_requests_total{outcome}``; anything but ``ok`` is an endpoint failure."""

    OK = "ok"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    RATE_LIMITED = "rate_limited"
    PROTOCOL_ERROR = "protocol_error"
    CHAIN_MISMATCH = "chain_mismatch"
    LAGGING = "lagging"
    AHEAD = "ahead"


class RpcObserver(Protocol):
    """Receives one call per request attempt (``DaemonMetrics`` implements it)."""

    def rpc_request(self, *, endpoint: str, outcome: str, seconds: float) -> None: ...


class EndpointState(StrEnum):
    HEALTHY = "healthy"
    LAGGING = "lagging"
    AHEAD = "ahead"  # quarantined: its clock ran ahead
    COOLING = "cooling"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthPolicy:
    error_alpha: float = 0.3
    error_half_life_seconds: float = 60.0
    latency_alpha: float = 0.2
    error_penalty_seconds: float = 2.0
    """Score added at an error rate of 1 (scores are seconds: latency plus this penalty)."""
    unknown_latency_seconds: float = 0.25
    """The latency assumed for an endpoint not yet measured (neither best nor worst)."""
    failure_threshold: int = 3
    cooldown_seconds: float = 5.0
    max_cooldown_seconds: float = 60.0
    lag_tolerance_blocks: int = 5
    lag_cooldown_seconds: float = 30.0
    switch_ratio: float = 2.0
    switch_slack_seconds: float = 0.25
    """Stickiness: the endpoint in use stays first unless another scores below
    ``(current - slack) / ratio`` (the endpoint in use carries the load, so its latency reads
    higher than an idle one's; small differences must not make requests flap)."""


@dataclass(slots=True, eq=False)
class Endpoint:
    """One configured RPC base URL, the SDK client that talks to it, and its health."""

    url: str
    client: Any
    label: str = ""
    index: int = 0
    consecutive_failures: int = 0
    total_failures: int = 0
    total_requests: int = 0
    error_rate: float = 0.0
    error_at: float = 0.0  # monotonic time error_rate was last updated
    latency: float | None = None  # EWMA seconds of answered attempts
    cooldown_until: float = 0.0
    trips: int = 0  # cool-downs in a row (doubles the next one)
    lagging_until: float = 0.0
    ahead_until: float = 0.0
    lag_blocks: int = 0
    last_height: int | None = None
    disabled_reason: str | None = None

    def __post_init__(self) -> None:
        if not self.label:
            self.label = endpoint_labels([self.url])[0]

    @property
    def usable(self) -> bool:
        return self.disabled_reason is None

    def state(self, now: float) -> EndpointState:
        if self.disabled_reason is not None:
            return EndpointState.DISABLED
        if now < self.cooldown_until:
            return EndpointState.COOLING
        if now < self.ahead_until:
            return EndpointState.AHEAD
        if now < self.lagging_until:
            return EndpointState.LAGGING
        return EndpointState.HEALTHY

    def errors(self, now: float, half_life: float) -> float:
        """The error rate, faded by the time since it was last updated."""
        idle = max(0.0, now - self.error_at)
        return self.error_rate * 0.5 ** (idle / half_life) if half_life > 0 else self.error_rate

    def score(self, now: float, policy: HealthPolicy) -> float:
        """Lower is better: expected seconds per answer, errors priced at the penalty."""
        latency = self.latency if self.latency is not None else policy.unknown_latency_seconds
        errors = self.errors(now, policy.error_half_life_seconds)
        return latency + errors * policy.error_penalty_seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointHealth:
    """A reading of one endpoint's health (logs, status pages, tests)."""

    label: str
    url: str
    state: EndpointState
    score: float
    error_rate: float
    latency: float | None
    consecutive_failures: int
    lag_blocks: int
    requests: int
    failures: int


def endpoint_labels(urls: Sequence[str]) -> list[str]:
    """Short, bounded metric labels: ``host[:port]`` (no credentials, no path), ``#i`` if shared."""
    hosts = []
    for url in urls:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        host = f"[{host}]" if ":" in host else host
        hosts.append(f"{host}:{parts.port}" if parts.port else host)
    return [h if hosts.count(h) == 1 else f"{h}#{i}" for i, h in enumerate(hosts)]


class _NullObserver:
    def rpc_request(self, *, endpoint: str, outcome: str, seconds: float) -> None:
        pass


class EndpointPool:
    """Orders endpoints for each request and learns from the outcomes."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        *,
        policy: HealthPolicy | None = None,
        observer: RpcObserver | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not endpoints:
            raise ValueError("at least one RPC endpoint is required")
        self._endpoints = list(endpoints)
        labels = endpoint_labels([e.url for e in self._endpoints])
        for index, (endpoint, label) in enumerate(zip(self._endpoints, labels, strict=True)):
            endpoint.index = index
            endpoint.label = label
        self.policy = policy or HealthPolicy()
        self._observer: RpcObserver = observer or _NullObserver()
        self._now = monotonic
        self._current = self._endpoints[0]
        self.best_height: int | None = None

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return tuple(self._endpoints)

    @property
    def current(self) -> Endpoint:
        """The endpoint requests go to first (the first candidate)."""
        candidates = self.candidates()
        return candidates[0] if candidates else self._current

    def candidates(self) -> list[Endpoint]:
        """Usable endpoints in the order to try them: healthy (sticky, by score), lagging,
        quarantined (ahead), cooling (soonest back first)."""
        now = self._now()
        policy = self.policy
        tiers: dict[EndpointState, list[Endpoint]] = {state: [] for state in EndpointState}
        for endpoint in self._endpoints:
            tiers[endpoint.state(now)].append(endpoint)

        def by_score(e: Endpoint) -> tuple[float, int]:
            return (e.score(now, policy), e.index)

        healthy = sorted(tiers[EndpointState.HEALTHY], key=by_score)
        if healthy:
            best = healthy[0]
            current = self._current
            if current is not best and current in healthy:
                keep = (current.score(now, policy) - policy.switch_slack_seconds) <= (
                    best.score(now, policy) * policy.switch_ratio
                )
                if keep:
                    healthy.remove(current)
                    healthy.insert(0, current)
            self._switch_to(healthy[0], now)
        lagging = sorted(tiers[EndpointState.LAGGING], key=by_score)
        ahead = sorted(tiers[EndpointState.AHEAD], key=by_score)
        cooling = sorted(tiers[EndpointState.COOLING], key=lambda e: (e.cooldown_until, e.index))
        return healthy + lagging + ahead + cooling

    def healthy(self) -> list[Endpoint]:
        """Endpoints to ask for a second opinion: neither cooling down nor lagging, and whose
        last attempt was answered (one that just failed is asked only when it is the best)."""
        now = self._now()
        return [
            e
            for e in self._endpoints
            if e.state(now) is EndpointState.HEALTHY and e.consecutive_failures == 0
        ]

    def _switch_to(self, endpoint: Endpoint, now: float) -> None:
        previous = self._current
        if endpoint is previous:
            return
        self._current = endpoint
        log.warning(
            "rpc_endpoint_switched",
            now_using=endpoint.label,
            previous=previous.label,
            previous_state=previous.state(now).value,
        )

    # --- outcomes ------------------------------------------------------------------------------

    def succeeded(self, endpoint: Endpoint, seconds: float = 0.0) -> None:
        """``endpoint`` answered (any answer the node gives on purpose, 4xx included)."""
        now = self._now()
        policy = self.policy
        endpoint.total_requests += 1
        endpoint.error_rate = endpoint.errors(now, policy.error_half_life_seconds) * (
            1 - policy.error_alpha
        )
        endpoint.error_at = now
        endpoint.latency = (
            seconds
            if endpoint.latency is None
            else endpoint.latency + policy.latency_alpha * (seconds - endpoint.latency)
        )
        if endpoint.consecutive_failures >= policy.failure_threshold:
            log.info("rpc_endpoint_recovered", endpoint=endpoint.label)
        endpoint.consecutive_failures = 0
        endpoint.trips = 0
        self._observer.rpc_request(endpoint=endpoint.label, outcome=Outcome.OK, seconds=seconds)

    def failed(
        self, endpoint: Endpoint, error: Exception, seconds: float = 0.0, *, outcome: Outcome
    ) -> None:
        """A transport-level failure of ``endpoint``; enough in a row start a cool-down."""
        now = self._now()
        policy = self.policy
        endpoint.total_requests += 1
        endpoint.total_failures += 1
        endpoint.consecutive_failures += 1
        endpoint.error_rate = endpoint.errors(
            now, policy.error_half_life_seconds
        ) + policy.error_alpha * (1 - endpoint.errors(now, policy.error_half_life_seconds))
        endpoint.error_at = now
        log.debug(
            "rpc_attempt_failed",
            endpoint=endpoint.label,
            outcome=outcome.value,
            error=type(error).__name__,
            consecutive=endpoint.consecutive_failures,
        )
        if (
            endpoint.consecutive_failures >= policy.failure_threshold
            and now >= endpoint.cooldown_until
        ):
            pause = min(policy.max_cooldown_seconds, policy.cooldown_seconds * 2**endpoint.trips)
            endpoint.trips += 1
            endpoint.cooldown_until = now + pause
            log.warning(
                "rpc_endpoint_cooling",
                endpoint=endpoint.label,
                seconds=pause,
                consecutive_failures=endpoint.consecutive_failures,
                error=type(error).__name__,
            )
        self._observer.rpc_request(endpoint=endpoint.label, outcome=outcome, seconds=seconds)

    def misbehaved(self, endpoint: Endpoint, error: Exception) -> None:
        """An answer that was well-formed but hostile (a page that never ends, a cursor that
        does not move): counted as a protocol failure of ``endpoint``."""
        self.failed(endpoint, error, 0.0, outcome=Outcome.PROTOCOL_ERROR)

    def disable(self, endpoint: Endpoint, reason: str, seconds: float = 0.0) -> None:
        """Stop using ``endpoint`` for good (it serves another chain)."""
        endpoint.total_requests += 1
        endpoint.total_failures += 1
        if endpoint.disabled_reason is None:
            endpoint.disabled_reason = reason
            log.error("rpc_endpoint_disabled", endpoint=endpoint.label, reason=reason)
        self._observer.rpc_request(
            endpoint=endpoint.label, outcome=Outcome.CHAIN_MISMATCH, seconds=seconds
        )

    def observe_block(self, endpoint: Endpoint, *, height: int) -> bool:
        """Compare ``endpoint``'s latest block with the best seen; True if it lags."""
        now = self._now()
        best = self.best_height
        lag = 0 if best is None else max(0, best - height)
        endpoint.last_height = height
        endpoint.lag_blocks = lag
        if lag > self.policy.lag_tolerance_blocks:
            if now >= endpoint.lagging_until:
                log.warning("rpc_endpoint_lagging", endpoint=endpoint.label, blocks_behind=lag)
            endpoint.lagging_until = now + self.policy.lag_cooldown_seconds
            return True
        if endpoint.lagging_until > now:
            log.info("rpc_endpoint_caught_up", endpoint=endpoint.label)
        endpoint.lagging_until = 0.0
        self.best_height = height if best is None else max(best, height)
        return False

    def ran_ahead(self, endpoint: Endpoint, error: Exception, seconds: float = 0.0) -> None:
        """``endpoint``'s block time ran ahead of what is allowed: quarantine it (not trusted
        for time or sequence numbers for ``lag_cooldown_seconds``) and count a failure."""
        now = self._now()
        if now >= endpoint.ahead_until:
            log.warning("rpc_endpoint_clock_ahead", endpoint=endpoint.label, detail=str(error))
        endpoint.ahead_until = now + self.policy.lag_cooldown_seconds
        self._count_failure(endpoint, now)
        self._observer.rpc_request(endpoint=endpoint.label, outcome=Outcome.AHEAD, seconds=seconds)

    def trusted_again(self, endpoint: Endpoint) -> None:
        """A majority agreed with ``endpoint``'s time after all (the chain moved): lift its
        quarantine."""
        if endpoint.ahead_until > self._now():
            log.info("rpc_endpoint_clock_agreed", endpoint=endpoint.label)
        endpoint.ahead_until = 0.0

    def usable(self) -> list[Endpoint]:
        """Every endpoint not disabled (for a read that asks them all: the clock's quorum)."""
        return [e for e in self._endpoints if e.usable]

    def _count_failure(self, endpoint: Endpoint, now: float) -> None:
        policy = self.policy
        endpoint.total_requests += 1
        endpoint.total_failures += 1
        errors = endpoint.errors(now, policy.error_half_life_seconds)
        endpoint.error_rate = errors + policy.error_alpha * (1 - errors)
        endpoint.error_at = now

    def lagged(self, endpoint: Endpoint, seconds: float = 0.0) -> None:
        """Count a request whose answer was refused because ``endpoint`` lags."""
        endpoint.total_requests += 1
        self._observer.rpc_request(
            endpoint=endpoint.label, outcome=Outcome.LAGGING, seconds=seconds
        )

    def health(self) -> tuple[EndpointHealth, ...]:
        now = self._now()
        policy = self.policy
        return tuple(
            EndpointHealth(
                label=e.label,
                url=e.url,
                state=e.state(now),
                score=e.score(now, policy),
                error_rate=e.errors(now, policy.error_half_life_seconds),
                latency=e.latency,
                consecutive_failures=e.consecutive_failures,
                lag_blocks=e.lag_blocks,
                requests=e.total_requests,
                failures=e.total_failures,
            )
            for e in self._endpoints
        )

    async def aclose(self) -> None:
        """Close every endpoint's client (each is closed even if another fails)."""
        errors: list[BaseException] = []
        for endpoint in self._endpoints:
            try:
                await endpoint.client.close()
            except Exception as exc:  # close errors must not leak the other clients
                errors.append(exc)
        if errors:
            raise errors[0]
