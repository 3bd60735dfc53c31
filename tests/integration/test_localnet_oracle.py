"""The localnet's dVRF oracle: callbacks after a chain-time delay, withheld per scenario.

Draws are requested with ``draw::request_draw_admin`` signed by the admin through the official
SDK; chain time is moved with ``advance`` instead of sleeping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from supra_sdk.clients.rest import SupraClient

from autobot.localnet.runner import Localnet

pytestmark = pytest.mark.timeout(30)

REQUESTED, FULFILLED = 1, 2
CLOSING, DRAW_REQUESTED, DRAWN = 2, 3, 4


async def _view(client: SupraClient, net: Localnet, function: str, *args: str) -> Any:
    (result,) = await client.view(f"{net.info.package_address}::{function}", [], list(args))
    return result


async def _request_draw(
    net: Localnet, client: SupraClient, txs: Any, lottery_id: int, *, seq: int
) -> dict[str, Any]:
    node = net.node
    body = txs.entry(
        txs.account(net.info.admin.private_key),
        "draw",
        "request_draw_admin",
        [
            txs.u64(lottery_id),
            txs.u64(node.chain_time),
            txs.u64(node.tip.height),
            txs.u8(net.info.chain_id),
            txs.u64(1),
        ],
        sequence_number=seq,
    )
    done: dict[str, Any] = await txs.wait(client, await client.submit(body))
    assert done["status"] == "Success", done["output"]
    return done


async def test_a_requested_draw_is_fulfilled_after_the_callback_delay(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    # demo lottery 2 is CLOSING with tickets; the demo's callback delay is 5 chain seconds
    await _request_draw(localnet, supra_client, tx_factory, 2, seq=0)
    state = await _view(supra_client, localnet, "draw::vrf_state_view", "2")
    assert int(state["status"]) == REQUESTED
    assert localnet.node.oracle.scheduled_callbacks()
    await localnet.node.next_block()
    assert int((await _view(supra_client, localnet, "draw::vrf_state_view", "2"))["status"]) == (
        REQUESTED
    )
    localnet.node.advance(5)
    state = await _view(supra_client, localnet, "draw::vrf_state_view", "2")
    assert int(state["status"]) == FULFILLED
    status = await _view(supra_client, localnet, "views::get_lottery_status", "2")
    assert int(status["status"]) == DRAWN
    events, _ = await supra_client.events_by_type(
        f"{localnet.info.package_address}::history::VrfFulfilledEvent"
    )
    (fulfilled,) = events
    callback = await supra_client.transaction_by_hash(fulfilled["transaction_hash"])
    assert callback["txn_type"] == "automated"
    assert callback["payload"]["Move"]["function"].endswith("::draw::vrf_callback")
    assert callback["authenticator"] == {"LocalnetSystem": {"actor": "dvrf_oracle"}}


async def test_a_lottery_whose_callbacks_never_arrive_stays_requested(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    # demo lottery 3: callbacks = never
    await _request_draw(localnet, supra_client, tx_factory, 3, seq=0)
    localnet.node.advance(3_600)
    state = await _view(supra_client, localnet, "draw::vrf_state_view", "3")
    assert int(state["status"]) == REQUESTED
    status = await _view(supra_client, localnet, "views::get_lottery_status", "3")
    assert int(status["status"]) == DRAW_REQUESTED
    assert localnet.node.model.pending_vrf_requests() == []


SCENARIO = """
name = "fail-first"
[oracle]
callback_delay_seconds = 10
[[lotteries]]
id = 7
status = "closing"
tickets_sold = 30
prize_plan = [1, 2]
retry = { strategy = "fixed", base_delay_seconds = 60, max_delay_seconds = 60 }
callbacks = 1
"""


async def test_fail_first_withholds_the_first_request_and_answers_the_retry(
    localnet_factory: Any, tx_factory: Any, tmp_path: Path
) -> None:
    scenario = tmp_path / "fail-first.toml"
    scenario.write_text(SCENARIO)
    net: Localnet = await localnet_factory(scenario=str(scenario))
    client = SupraClient(net.base_url)
    try:
        await _request_draw(net, client, tx_factory, 7, seq=0)
        net.node.advance(30)  # past the callback delay: nothing arrives for request 1
        state = await _view(client, net, "draw::vrf_state_view", "7")
        assert (int(state["status"]), int(state["attempt"])) == (REQUESTED, 1)
        net.node.advance(60)  # past the retry window (intent variant): request again
        await _request_draw(net, client, tx_factory, 7, seq=1)
        net.node.advance(10)
        state = await _view(client, net, "draw::vrf_state_view", "7")
        assert (int(state["status"]), int(state["attempt"])) == (FULFILLED, 2)
    finally:
        await client.close()
