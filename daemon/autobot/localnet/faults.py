"""Fault injection for the localnet's RPC: what may go wrong, how often, and what went wrong.

A ``FaultSpec`` (JSON, ``autobot localnet --faults SPEC`` or ``POST /localnet/v1/faults``)::

    {"seed": 1,
     "rate": 0.2,                                   # shorthand, see below
     "rates": {"timeout": 0.02, "http_500": 0.02, "http_502": 0.01, "http_503": 0.01,
               "http_429": 0.02, "reset": 0.01, "malformed_json": 0.01, "wrong_chain_id": 0.005,
               "stale_view": 0.05, "drop_submit": 0.01, "hide_status": 0.02},
     "retry_after_seconds": 1, "timeout_seconds": 30, "hide_status_seconds": 5,
     "stale_blocks": 20,
     "latency_ms": {"fixed": 5} | {"uniform": [0, 50]} | {"exponential_mean": 20}}

Every key is optional; ``{}`` injects nothing. Faults apply only to ``/rpc/`` routes, never to
``/localnet/v1/``. Each request draws once from the seeded RNG against the kinds that apply to
its route (the rates of one route add up to at most 1):

===============  =============================  ===============================================
kind             routes                         what the client sees
===============  =============================  ===============================================
timeout          any                            no answer for ``timeout_seconds`` (then reset);
                                                the request is never processed
http_500/2/3     any                            that status, ``ErrResp``, not processed
http_429         any                            429 with ``Retry-After: retry_after_seconds``
reset            any                            the connection closed without a response
malformed_json   any                            processed, then the body is cut short (200)
wrong_chain_id   any                            processed, ``x-supra-chain-id`` of another chain
stale_view       block, accounts                the block (and each account's sequence number)
                                                as of ``stale_blocks`` blocks ago
drop_submit      submit                         the hash (200), but the transaction never
                                                executes: it is unknown to the node (404)
hide_status      submit                         executes normally, but ``GET transactions/{h}``
                                                here answers 404 until ``hide_status_seconds``
                                                after execution
===============  =============================  ===============================================

``rates`` names kinds explicitly. ``rate`` is the share of requests that get *some* fault: it is
spread evenly over the kinds that apply to the request's route and are not named in ``rates``,
except ``wrong_chain_id`` (a client rightly stops using an endpoint that answers for another
chain, so it is injected only when named). ``latency_ms`` delays every RPC request.

``FaultEngine`` holds one front end's spec, RNG and counters; the server's middleware asks it
what to do (``decide``) and reports through it (``GET /localnet/v1/faults``).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

__all__ = [
    "FAULT_KINDS",
    "MAX_STALE_BLOCKS",
    "Decision",
    "FaultEngine",
    "FaultSpec",
    "FaultSpecError",
    "Latency",
    "Route",
    "load_fault_spec",
]

FAULT_KINDS: tuple[str, ...] = (
    "timeout",
    "http_500",
    "http_502",
    "http_503",
    "http_429",
    "reset",
    "malformed_json",
    "wrong_chain_id",
    "stale_view",
    "drop_submit",
    "hide_status",
)
_GENERIC = FAULT_KINDS[:8]
_NOT_SPREAD = frozenset({"wrong_chain_id"})
MAX_STALE_BLOCKS = 1000
_MAX_SECONDS = 3600.0
_MAX_LATENCY_MS = 60_000.0
_KEYS = (
    "seed",
    "rate",
    "rates",
    "retry_after_seconds",
    "timeout_seconds",
    "hide_status_seconds",
    "stale_blocks",
    "latency_ms",
)


class Route(StrEnum):
    """Which fault kinds a request can get, by the RPC route it hit."""

    OTHER = "other"
    BLOCK = "block"
    ACCOUNT = "account"
    SUBMIT = "submit"


ROUTE_KINDS: Mapping[Route, tuple[str, ...]] = {
    Route.OTHER: _GENERIC,
    Route.BLOCK: (*_GENERIC, "stale_view"),
    Route.ACCOUNT: (*_GENERIC, "stale_view"),
    Route.SUBMIT: (*_GENERIC, "drop_submit", "hide_status"),
}


class FaultSpecError(ValueError):
    """A fault spec that cannot be used; the message names every bad key."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("invalid fault spec: " + "; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Latency:
    """Added delay: ``fixed`` ms, ``uniform`` between two ms values, or exponential with a mean."""

    mode: str  # "fixed" | "uniform" | "exponential_mean"
    low_ms: float
    high_ms: float = 0.0

    def sample(self, rng: random.Random) -> float:
        """A delay in seconds."""
        if self.mode == "fixed":
            ms = self.low_ms
        elif self.mode == "uniform":
            ms = rng.uniform(self.low_ms, self.high_ms)
        else:
            ms = min(rng.expovariate(1.0 / self.low_ms), _MAX_LATENCY_MS)
        return ms / 1000.0

    def to_json(self) -> dict[str, object]:
        if self.mode == "uniform":
            return {"uniform": [self.low_ms, self.high_ms]}
        return {self.mode: self.low_ms}


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultSpec:
    seed: int
    rates: Mapping[str, float] = field(default_factory=dict)
    rate: float = 0.0
    retry_after_seconds: int = 1
    timeout_seconds: float = 30.0
    hide_status_seconds: float = 5.0
    stale_blocks: int = 20
    latency: Latency | None = None

    @classmethod
    def none(cls) -> FaultSpec:
        return cls(seed=0)

    @property
    def enabled(self) -> bool:
        return self.latency is not None or self.rate > 0 or any(self.rates.values())

    def route_rates(self, route: Route) -> list[tuple[str, float]]:
        """The (kind, probability) pairs a request on ``route`` draws against."""
        kinds = ROUTE_KINDS[route]
        pairs = [(k, self.rates[k]) for k in kinds if self.rates.get(k, 0.0) > 0]
        spread = [k for k in kinds if k not in self.rates and k not in _NOT_SPREAD]
        if self.rate > 0 and spread:
            pairs += [(k, self.rate / len(spread)) for k in spread]
        return pairs

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "seed": self.seed,
            "rate": self.rate,
            "rates": dict(self.rates),
            "retry_after_seconds": self.retry_after_seconds,
            "timeout_seconds": self.timeout_seconds,
            "hide_status_seconds": self.hide_status_seconds,
            "stale_blocks": self.stale_blocks,
        }
        if self.latency is not None:
            body["latency_ms"] = self.latency.to_json()
        return body

    @classmethod
    def from_json(cls, data: object) -> FaultSpec:
        """Validate a decoded JSON spec; ``FaultSpecError`` names every bad key."""
        if not isinstance(data, dict):
            raise FaultSpecError([f"the spec must be a JSON object, got {type(data).__name__}"])
        problems: list[str] = []
        for key in data:
            if key not in _KEYS:
                problems.append(f"{key}: unknown key (known: {', '.join(_KEYS)})")
        seed = data.get("seed")
        if seed is None:
            seed = random.SystemRandom().randrange(2**32)
        elif not _is_int(seed) or not 0 <= seed < 2**63:
            problems.append(f"seed: must be a non-negative integer, got {seed!r}")
            seed = 0
        rate = _number(data, "rate", 0.0, problems, low=0.0, high=1.0)
        rates: dict[str, float] = {}
        raw_rates = data.get("rates", {})
        if not isinstance(raw_rates, dict):
            problems.append(f"rates: must be an object of kind -> rate, got {raw_rates!r}")
        else:
            for kind in raw_rates:
                if kind not in FAULT_KINDS:
                    problems.append(
                        f"rates.{kind}: unknown fault kind (known: {', '.join(FAULT_KINDS)})"
                    )
                    continue
                rates[kind] = _number(
                    raw_rates, kind, 0.0, problems, low=0.0, high=1.0, path="rates."
                )
        retry_after = data.get("retry_after_seconds", 1)
        if not _is_int(retry_after) or not 0 <= retry_after <= _MAX_SECONDS:
            problems.append(
                f"retry_after_seconds: must be an integer in [0, {_MAX_SECONDS:.0f}], "
                f"got {retry_after!r}"
            )
            retry_after = 1
        timeout = _number(
            data, "timeout_seconds", 30.0, problems, low=0.0, high=_MAX_SECONDS, open_low=True
        )
        hide = _number(data, "hide_status_seconds", 5.0, problems, low=0.0, high=_MAX_SECONDS)
        stale = data.get("stale_blocks", 20)
        if not _is_int(stale) or not 1 <= stale <= MAX_STALE_BLOCKS:
            problems.append(
                f"stale_blocks: must be an integer in [1, {MAX_STALE_BLOCKS}], got {stale!r}"
            )
            stale = 20
        latency = _latency(data.get("latency_ms"), problems)
        spec = cls(
            seed=seed,
            rates=rates,
            rate=rate,
            retry_after_seconds=retry_after,
            timeout_seconds=timeout,
            hide_status_seconds=hide,
            stale_blocks=stale,
            latency=latency,
        )
        if not problems:
            for route in Route:
                total = sum(p for _, p in spec.route_rates(route))
                if total > 1.0 + 1e-9:
                    problems.append(
                        f"rates: the rates of {route.value} requests add up to {total:g} "
                        "(at most 1; rate counts in full for every route)"
                    )
                    break
        if problems:
            raise FaultSpecError(problems)
        return spec


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(
    data: Mapping[str, object],
    key: str,
    default: float,
    problems: list[str],
    *,
    low: float,
    high: float,
    open_low: bool = False,
    path: str = "",
) -> float:
    value = data.get(key, default)
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > low if open_low else value >= low)
        and value <= high
    )
    if not ok:
        bracket = "(" if open_low else "["
        problems.append(
            f"{path}{key}: must be a number in {bracket}{low:g}, {high:g}], got {value!r}"
        )
        return default
    assert isinstance(value, int | float)
    return float(value)


def _latency(raw: object, problems: list[str]) -> Latency | None:
    if raw is None:
        return None
    shapes = '{"fixed": MS} | {"uniform": [LOW, HIGH]} | {"exponential_mean": MS}'
    if not isinstance(raw, dict) or len(raw) != 1:
        problems.append(f"latency_ms: must be one of {shapes}, got {raw!r}")
        return None
    ((mode, value),) = raw.items()
    if mode == "uniform":
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(_ms(v) for v in value)
            and value[0] <= value[1]
        ):
            return Latency("uniform", float(value[0]), float(value[1]))
        problems.append(
            f"latency_ms.uniform: must be [LOW, HIGH] with 0 <= LOW <= HIGH <= "
            f"{_MAX_LATENCY_MS:.0f}, got {value!r}"
        )
        return None
    if mode in ("fixed", "exponential_mean"):
        if _ms(value) and (mode == "fixed" or float(value) > 0):
            return Latency(mode, float(value))
        problems.append(
            f"latency_ms.{mode}: must be milliseconds in "
            f"{'[0' if mode == 'fixed' else '(0'}, {_MAX_LATENCY_MS:.0f}], got {value!r}"
        )
        return None
    problems.append(f"latency_ms.{mode}: unknown distribution; use one of {shapes}")
    return None


def _ms(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= _MAX_LATENCY_MS
    )


def load_fault_spec(text: str) -> FaultSpec:
    """``--faults SPEC``: JSON text (starting with ``{``) or the path of a JSON file."""
    source = "--faults"
    if not text.lstrip().startswith("{"):
        path = Path(text)
        try:
            text = path.read_text()
        except OSError as exc:
            raise FaultSpecError(
                [f"cannot read fault spec file {path}: {exc.strerror or exc}"]
            ) from None
        source = str(path)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FaultSpecError([f"{source} is not valid JSON: {exc}"]) from None
    return FaultSpec.from_json(data)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one RPC request: a delay (seconds) and at most one fault kind."""

    kind: str | None
    delay: float = 0.0


_HIDDEN_MAX = 10_000


class FaultEngine:
    """One front end's faults: the spec, its RNG, the counters, the hidden transactions."""

    def __init__(
        self, spec: FaultSpec | None = None, *, wall: Callable[[], float] = time.time
    ) -> None:
        self._wall = wall
        self._spec = spec or FaultSpec.none()
        self._rng = random.Random(self._spec.seed)
        self.counts: Counter[str] = Counter()
        self.requests = 0
        self.routes: Counter[str] = Counter()  # RPC requests by route kind
        self._hidden: dict[str, tuple[float, float]] = {}  # hash -> (hidden at, seconds)
        self._closing = asyncio.Event()

    @property
    def spec(self) -> FaultSpec:
        return self._spec

    def replace(self, spec: FaultSpec) -> None:
        """Use ``spec`` from now on (a fresh RNG from its seed; counters keep counting)."""
        self._spec = spec
        self._rng = random.Random(spec.seed)

    def decide(self, route: Route) -> Decision:
        """Draw this request's fault (and delay); counts the request and the fault."""
        self.requests += 1
        self.routes[route.value] += 1
        spec = self._spec
        delay = spec.latency.sample(self._rng) if spec.latency is not None else 0.0
        pairs = spec.route_rates(route)
        if not pairs:
            return Decision(None, delay)
        roll = self._rng.random()
        for kind, probability in pairs:
            if roll < probability:
                self.counts[kind] += 1
                return Decision(kind, delay)
            roll -= probability
        return Decision(None, delay)

    def report(self) -> dict[str, object]:
        """``GET /localnet/v1/faults``: the spec, faults injected by kind, their total, and the
        RPC requests seen (all, and by route: block, account, submit, other)."""
        return {
            "spec": self._spec.to_json(),
            "counts": {k: self.counts[k] for k in FAULT_KINDS if self.counts[k]},
            "total": sum(self.counts.values()),
            "requests": self.requests,
            "routes": {r.value: self.routes[r.value] for r in Route if self.routes[r.value]},
        }

    # --- hide_status ---------------------------------------------------------------------

    def hide(self, tx_hash: str) -> None:
        """Answer 404 for ``tx_hash`` until ``hide_status_seconds`` after it executed."""
        now = self._wall()
        if len(self._hidden) >= _HIDDEN_MAX:
            horizon = now - _MAX_SECONDS
            self._hidden = {h: v for h, v in self._hidden.items() if v[0] > horizon}
        self._hidden[tx_hash] = (now, self._spec.hide_status_seconds)

    def hidden(self, tx_hash: str, executed_wall: float | None) -> bool:
        """Is ``tx_hash`` still hidden? (``executed_wall`` None: not executed yet.)"""
        entry = self._hidden.get(tx_hash)
        if entry is None:
            return False
        if executed_wall is None or self._wall() < executed_wall + entry[1]:
            return True
        del self._hidden[tx_hash]
        return False

    # --- held requests ---------------------------------------------------------------------

    async def pause(self, seconds: float) -> bool:
        """Sleep ``seconds``, cut short when the front end shuts down (returns False then)."""
        if seconds <= 0:
            return not self._closing.is_set()
        try:
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        """Release every held request (the front end is shutting down)."""
        self._closing.set()
