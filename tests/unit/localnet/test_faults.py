"""Fault specs: parsing with errors that name the key, seeded draws, rates, counting."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from autobot.cli import build_parser
from autobot.localnet.cli import localnet_command, options_from_args
from autobot.localnet.faults import (
    FAULT_KINDS,
    FaultEngine,
    FaultSpec,
    FaultSpecError,
    Latency,
    Route,
    load_fault_spec,
)

FULL = {
    "seed": 1,
    "rates": {
        "timeout": 0.02,
        "http_500": 0.02,
        "http_502": 0.01,
        "http_503": 0.01,
        "http_429": 0.02,
        "reset": 0.01,
        "malformed_json": 0.01,
        "wrong_chain_id": 0.005,
        "stale_view": 0.05,
        "drop_submit": 0.01,
        "hide_status": 0.02,
    },
    "retry_after_seconds": 1,
    "timeout_seconds": 30,
    "hide_status_seconds": 5,
    "latency_ms": {"uniform": [0, 50]},
    "stale_blocks": 20,
}


def problems_of(data: object) -> str:
    with pytest.raises(FaultSpecError) as caught:
        FaultSpec.from_json(data)
    return str(caught.value)


def test_the_documented_spec_parses_and_round_trips() -> None:
    spec = FaultSpec.from_json(FULL)
    assert spec.enabled and spec.seed == 1 and spec.rates["stale_view"] == 0.05
    assert spec.latency == Latency("uniform", 0.0, 50.0)
    again = FaultSpec.from_json(spec.to_json())
    assert again == spec


def test_an_empty_spec_injects_nothing_and_gets_a_seed_to_reproduce_it() -> None:
    spec = FaultSpec.from_json({})
    assert not spec.enabled
    assert isinstance(spec.seed, int)
    assert all(FaultEngine(spec).decide(route).kind is None for route in Route)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"rates": {"http_500": 2}}, "rates.http_500"),
        ({"rates": {"http_500": True}}, "rates.http_500"),
        ({"rates": {"explode": 0.1}}, "rates.explode: unknown fault kind"),
        ({"rates": [0.1]}, "rates: must be an object"),
        ({"rate": "20%"}, "rate: must be a number"),
        ({"rate": float("nan")}, "rate: must be a number"),
        ({"speed": 1}, "speed: unknown key"),
        ({"seed": -1}, "seed: must be a non-negative integer"),
        ({"seed": 1.5}, "seed"),
        ({"stale_blocks": 0}, "stale_blocks"),
        ({"stale_blocks": 5000}, "stale_blocks"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"hide_status_seconds": -1}, "hide_status_seconds"),
        ({"retry_after_seconds": 0.5}, "retry_after_seconds"),
        ({"latency_ms": 5}, "latency_ms: must be one of"),
        ({"latency_ms": {"fixed": -1}}, "latency_ms.fixed"),
        ({"latency_ms": {"uniform": [50, 10]}}, "latency_ms.uniform"),
        ({"latency_ms": {"exponential_mean": 0}}, "latency_ms.exponential_mean"),
        ({"latency_ms": {"normal": 5}}, "latency_ms.normal: unknown distribution"),
        ({"rates": {"reset": 0.7, "http_500": 0.5}}, "add up to 1.2"),
        ({"rate": 0.6, "rates": {"stale_view": 0.5}}, "rates: the rates of block requests"),
        ([], "must be a JSON object"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_key(data: object, named: str) -> None:
    assert named in problems_of(data)


def test_every_problem_is_reported_at_once() -> None:
    error = problems_of({"rate": 2, "stale_blocks": 0, "bogus": 1})
    assert "rate:" in error and "stale_blocks:" in error and "bogus:" in error


def test_rate_spreads_over_the_kinds_of_each_route_except_wrong_chain_id() -> None:
    spec = FaultSpec.from_json({"rate": 0.2})
    other = dict(spec.route_rates(Route.OTHER))
    assert "wrong_chain_id" not in other and len(other) == 7
    assert sum(other.values()) == pytest.approx(0.2)
    submit = dict(spec.route_rates(Route.SUBMIT))
    assert {"drop_submit", "hide_status"} <= submit.keys()
    assert sum(submit.values()) == pytest.approx(0.2)
    assert "stale_view" in dict(spec.route_rates(Route.BLOCK))


def test_named_rates_are_kept_and_left_out_of_the_spread() -> None:
    spec = FaultSpec.from_json({"rate": 0.1, "rates": {"timeout": 0, "wrong_chain_id": 0.01}})
    other = dict(spec.route_rates(Route.OTHER))
    assert "timeout" not in other
    assert other["wrong_chain_id"] == 0.01
    assert other["reset"] == pytest.approx(0.1 / 6)


def test_route_specific_kinds_apply_to_their_routes_only() -> None:
    spec = FaultSpec.from_json({"rates": {"stale_view": 1.0}})
    assert spec.route_rates(Route.SUBMIT) == []
    assert spec.route_rates(Route.OTHER) == []
    assert FaultEngine(spec).decide(Route.ACCOUNT).kind == "stale_view"


def test_the_same_seed_draws_the_same_faults() -> None:
    spec = FaultSpec.from_json({"seed": 42, "rate": 0.5, "latency_ms": {"exponential_mean": 20}})
    first, second = FaultEngine(spec), FaultEngine(spec)
    draws = [first.decide(Route.SUBMIT) for _ in range(200)]
    assert draws == [second.decide(Route.SUBMIT) for _ in range(200)]
    other = FaultEngine(FaultSpec.from_json({"seed": 43, "rate": 0.5}))
    assert [d.kind for d in draws] != [other.decide(Route.SUBMIT).kind for _ in range(200)]


def test_rates_hold_over_many_requests_and_every_fault_is_counted() -> None:
    engine = FaultEngine(FaultSpec.from_json({"seed": 7, "rates": {"http_503": 0.3}}))
    kinds = [engine.decide(Route.OTHER).kind for _ in range(10_000)]
    hits = kinds.count("http_503")
    assert 2800 < hits < 3200
    report = engine.report()
    assert report["counts"] == {"http_503": hits}
    assert report["total"] == hits and report["requests"] == 10_000
    assert report["routes"] == {"other": 10_000}
    assert report["spec"] == engine.spec.to_json()


def test_a_replaced_spec_reseeds_and_keeps_counting() -> None:
    engine = FaultEngine(FaultSpec.from_json({"seed": 1, "rates": {"reset": 1.0}}))
    engine.decide(Route.OTHER)
    engine.replace(FaultSpec.from_json({}))
    assert engine.decide(Route.OTHER).kind is None
    assert engine.report()["counts"] == {"reset": 1}
    assert engine.report()["requests"] == 2


def test_a_rate_of_one_faults_every_request_with_every_kind_in_turn() -> None:
    for kind in FAULT_KINDS:
        engine = FaultEngine(FaultSpec.from_json({"rates": {kind: 1.0}}))
        route = {
            "stale_view": Route.BLOCK,
            "drop_submit": Route.SUBMIT,
            "hide_status": Route.SUBMIT,
        }.get(kind, Route.OTHER)
        assert {engine.decide(route).kind for _ in range(20)} == {kind}


def test_latency_distributions_sample_in_seconds() -> None:
    rng = random.Random(3)
    assert Latency("fixed", 5.0).sample(rng) == 0.005
    uniform = [Latency("uniform", 10.0, 20.0).sample(rng) for _ in range(500)]
    assert min(uniform) >= 0.010 and max(uniform) <= 0.020
    exponential = [Latency("exponential_mean", 20.0).sample(rng) for _ in range(5000)]
    assert sum(exponential) / len(exponential) == pytest.approx(0.020, rel=0.1)


def test_a_hidden_transaction_stays_hidden_until_the_window_after_execution() -> None:
    now = [1000.0]
    engine = FaultEngine(FaultSpec.from_json({"hide_status_seconds": 5}), wall=lambda: now[0])
    engine.hide("0xaa")
    assert engine.hidden("0xaa", executed_wall=None)  # pending
    assert engine.hidden("0xaa", executed_wall=1001.0)
    now[0] = 1006.5
    assert not engine.hidden("0xaa", executed_wall=1001.0)
    assert not engine.hidden("0xaa", executed_wall=None)  # forgotten once shown
    assert not engine.hidden("0xbb", executed_wall=None)


async def test_held_requests_are_released_when_the_front_end_closes() -> None:
    engine = FaultEngine()
    assert await engine.pause(0.001)
    engine.close()
    assert not await engine.pause(60)


def test_the_cli_spec_is_json_text_or_a_file(tmp_path: Path) -> None:
    assert load_fault_spec('{"seed": 3, "rate": 0.2}').rate == 0.2
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(FULL))
    assert load_fault_spec(str(path)).seed == 1
    with pytest.raises(FaultSpecError, match="cannot read fault spec file"):
        load_fault_spec(str(tmp_path / "missing.json"))
    with pytest.raises(FaultSpecError, match="not valid JSON"):
        load_fault_spec("{rate: 1}")
    path.write_text('{"rates": {"http_500": 3}}')
    with pytest.raises(FaultSpecError, match=r"rates\.http_500"):
        load_fault_spec(str(path))


def test_the_localnet_command_takes_faults_and_refuses_a_bad_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(["localnet", "--faults", '{"seed": 2, "rate": 0.1}'])
    options = options_from_args(args)
    assert options.faults is not None and options.faults.rate == 0.1 and options.faults.seed == 2
    path = tmp_path / "faults.json"
    path.write_text('{"rates": {"stale_view": 0.5}, "stale_blocks": 3}')
    from_file = options_from_args(build_parser().parse_args(["localnet", "--faults", str(path)]))
    assert from_file.faults is not None
    assert from_file.faults.rates == {"stale_view": 0.5} and from_file.faults.stale_blocks == 3
    args = build_parser().parse_args(["localnet", "--faults", '{"rates": {"reset": 9}}'])
    assert localnet_command(args) == 2
    assert "rates.reset" in capsys.readouterr().err
