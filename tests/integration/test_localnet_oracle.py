"""The localnet's dVRF oracle: callbacks after a chain-time delay, withheld per scenario.

Draws are requested with ``draw::request_draw_admin`` signed by the admin through the official
SDK; chain time is moved with ``advance`` instead of sleeping. ``vrf_callback`` takes no signer, so
the oracle is only one possible submitter: any account can deliver the dVRF's answer, and only the
dVRF's signature makes a callback verify.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from supra_sdk.account_address import AccountAddress
from supra_sdk.bcs import Serializer
from supra_sdk.clients.rest import SupraClient
from supra_sdk.transactions import TransactionArgument

from autobot.chain.aborts import format_vm_status
from autobot.localnet.accounts import dev_accounts
from autobot.localnet.model.draw import SUPRA_VRF_ADDRESS
from autobot.localnet.runner import Localnet, LocalnetOptions
from autobot.localnet.view_mode import ViewMode

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def localnet_options(localnet_options: LocalnetOptions) -> LocalnetOptions:
    """These tests read the package model's readers through ``/rpc/v3/view`` with the SDK: the
    localnet serves them as a package redeployed with ``#[view]`` would (``--views patched``)."""
    return replace(localnet_options, views=ViewMode.PATCHED)


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
    # the request stays pending at the dVRF (on-chain state); only the oracle withholds it
    (pending,) = localnet.node.model.pending_vrf_requests()
    assert pending.lottery_id == 3
    assert localnet.node.oracle.scheduled_callbacks() == {}


def _pending_nonce(net: Localnet, lottery_id: int) -> int:
    nonces = [r.nonce for r in net.node.model.pending_vrf_requests() if r.lottery_id == lottery_id]
    assert nonces, f"no request of lottery {lottery_id} is pending at the dVRF"
    return nonces[-1]


def _callback_body(txs: Any, sender: Any, args: list[Any], *, seq: int) -> bytes:
    """A user transaction calling ``draw::vrf_callback`` (no signer parameter) with ``args``."""
    nonce, message, signature, caller, rng_count, client_seed = args
    body: bytes = txs.entry(
        sender,
        "draw",
        "vrf_callback",
        [
            txs.u64(nonce),
            txs.bytes_(message),
            txs.bytes_(signature),
            TransactionArgument(AccountAddress.from_str(caller), Serializer.struct),
            txs.u8(rng_count),
            txs.u64(client_seed),
        ],
        sequence_number=seq,
    )
    return body


async def test_any_account_can_deliver_the_dvrf_callback(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    # demo lottery 3: the oracle never answers; operator C delivers the dVRF's signed answer
    await _request_draw(localnet, supra_client, tx_factory, 3, seq=0)
    localnet.node.advance(60)
    args = localnet.node.model.vrf_callback_args(_pending_nonce(localnet, 3))
    operator = dev_accounts().operator("C").sdk_account()  # not a registered bot
    body = _callback_body(tx_factory, operator, args, seq=0)
    done = await tx_factory.wait(supra_client, await supra_client.submit(body))
    assert done["status"] == "Success", done["output"]
    assert done["txn_type"] == "user"
    assert done["header"]["sender"] == str(operator.address())
    assert [e["type"].rsplit("::", 1)[-1] for e in done["output"]["Move"]["events"]] == [
        "VrfFulfilledEvent"
    ]
    assert await supra_client.account_sequence_number(operator.address()) == 1
    state = await _view(supra_client, localnet, "draw::vrf_state_view", "3")
    assert int(state["status"]) == FULFILLED
    status = await _view(supra_client, localnet, "views::get_lottery_status", "3")
    assert int(status["status"]) == DRAWN
    assert localnet.node.model.pending_vrf_requests() == []


async def test_a_forged_signature_is_refused_and_the_dvrf_answer_still_fulfils(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    await _request_draw(localnet, supra_client, tx_factory, 3, seq=0)
    nonce = _pending_nonce(localnet, 3)
    args = localnet.node.model.vrf_callback_args(nonce)
    forger = dev_accounts().operator("D").sdk_account()
    forged = [*args[:2], forger.sign(args[1]).data(), *args[3:]]  # a valid ed25519 signature
    done = await tx_factory.wait(
        supra_client, await supra_client.submit(_callback_body(tx_factory, forger, forged, seq=0))
    )
    assert (done["status"], done["output"]["Move"]["vm_status"]) == (
        "Fail",
        format_vm_status(SUPRA_VRF_ADDRESS, "supra_vrf", 3),
    )
    assert done["output"]["Move"]["events"] == []
    state = await _view(supra_client, localnet, "draw::vrf_state_view", "3")
    assert int(state["status"]) == REQUESTED
    assert [r.nonce for r in localnet.node.model.pending_vrf_requests()] == [nonce]
    genuine = _callback_body(tx_factory, forger, args, seq=1)
    done = await tx_factory.wait(supra_client, await supra_client.submit(genuine))
    assert done["status"] == "Success", done["output"]
    state = await _view(supra_client, localnet, "draw::vrf_state_view", "3")
    assert int(state["status"]) == FULFILLED


async def test_an_oracle_callback_that_aborts_is_not_resent_and_stays_pending(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    oracle = localnet.node.oracle
    settled = oracle.settled
    callbacks: list[bool] = []

    def spy(call: Any, *, success: bool, model: Any) -> bool:
        if call.function == "vrf_callback":
            callbacks.append(success)
        return settled(call, success=success, model=model)

    monkeypatch.setattr(oracle, "settled", spy)
    # demo lottery 2: answered 5 chain seconds after the request, but canceled meanwhile
    await _request_draw(localnet, supra_client, tx_factory, 2, seq=0)
    cancel = tx_factory.entry(
        tx_factory.account(localnet.info.admin.private_key),
        "cancellation",
        "cancel_lottery_admin",
        [tx_factory.u64(2), tx_factory.u8(3), tx_factory.u64(localnet.node.chain_time)],
        sequence_number=1,
    )
    done = await tx_factory.wait(supra_client, await supra_client.submit(cancel))
    assert done["status"] == "Success", done["output"]
    nonce = _pending_nonce(localnet, 2)
    localnet.node.advance(5)
    assert callbacks == [False]  # aborted: E_DRAW_STATUS_INVALID, the lottery is CANCELED
    localnet.node.advance(60)
    assert callbacks == [False]
    assert oracle.scheduled_callbacks() == {}
    # still pending at the dVRF, as after a failed transaction on chain
    assert [r.nonce for r in localnet.node.model.pending_vrf_requests()] == [nonce]
    state = await _view(supra_client, localnet, "draw::vrf_state_view", "2")
    assert int(state["status"]) == REQUESTED


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
