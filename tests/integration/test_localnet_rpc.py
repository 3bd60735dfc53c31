"""The localnet as the official supra-sdk sees it: reads, submissions, and what a node refuses.

Real parts only: ``supra_sdk.SupraClient`` over HTTP against an in-process localnet; transactions
are built and signed with the SDK (``tx_factory``), not with autobot's code.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import httpx
import pytest
from supra_sdk.account_address import AccountAddress
from supra_sdk.authenticator import Authenticator, MultiAgentAuthenticator
from supra_sdk.bcs import Serializer
from supra_sdk.clients.api_client import ApiError
from supra_sdk.clients.rest import SupraClient
from supra_sdk.transactions import (
    MultiAgentRawTransaction,
    SignedTransaction,
    SupraTransaction,
    TransactionArgument,
)

from autobot.chain.aborts import format_vm_status
from autobot.localnet.accounts import dev_accounts
from autobot.localnet.runner import Localnet, LocalnetOptions
from autobot.localnet.view_mode import ViewMode

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def localnet_options(localnet_options: LocalnetOptions) -> LocalnetOptions:
    """These tests read the package model's readers through ``/rpc/v3/view`` with the SDK: the
    localnet serves them as a package redeployed with ``#[view]`` would (``--views patched``)."""
    return replace(localnet_options, views=ViewMode.PATCHED)


async def _bot(client: SupraClient, package: str, operator: str) -> dict[str, Any]:
    result = await client.view(f"{package}::views::get_automation_bot", [], [operator])
    (option,) = result
    assert option["vec"], f"operator {operator} is not a registered bot"
    bot: dict[str, Any] = option["vec"][0]
    return bot


async def _rejection(client: SupraClient, body: bytes) -> str:
    with pytest.raises(ApiError) as caught:
        await client.submit(body)
    assert caught.value.status_code == 400
    message = str(caught.value)
    return message


async def test_sdk_reads_chain_id_account_gas_price_and_views(
    localnet: Localnet, supra_client: SupraClient
) -> None:
    info = localnet.info
    assert await supra_client.chain_id() == 77 == info.chain_id
    admin = info.admin.sdk_account()
    assert await supra_client.account_sequence_number(admin.address()) == 0
    gas = await supra_client.estimate_gas_price()
    assert gas["min_configured_gas_price"] == 100
    overview = await supra_client.view(
        f"{info.package_address}::views::status_overview", [], [str(info.chain_time)]
    )
    assert int(overview[0]["total"]) >= 1
    block = await supra_client.latest_block()
    assert block["header"]["height"] >= 0
    assert block["header"]["timestamp"]["timestamp"] // 1_000_000 >= info.chain_time


async def test_signed_announce_dry_run_succeeds_and_is_reported_by_hash(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    info = localnet.info
    operator = info.operators[0]
    bot = await _bot(supra_client, info.package_address, operator.address)
    now = localnet.info.chain_time
    timelock = int(bot["timelock_secs"])
    action_id = int(bot["allowed_actions"][0])
    body = tx_factory.entry(
        operator.sdk_account(),
        "automation",
        "announce_dry_run",
        [
            tx_factory.u64(action_id),
            tx_factory.bytes_(b"\x11" * 32),
            tx_factory.u64(now),
            tx_factory.u64(now + timelock),
        ],
        sequence_number=0,
    )
    tx_hash = await supra_client.submit(body)
    first = await supra_client.transaction_by_hash(tx_hash)
    assert first["status"] in ("Pending", "Success")
    done = await tx_factory.wait(supra_client, tx_hash)
    assert done["status"] == "Success", done["output"]
    assert done["output"]["Move"]["vm_status"] == "Executed successfully"
    assert done["txn_type"] == "user"
    assert done["header"]["sequence_number"] == 0
    types = [e["type"] for e in done["output"]["Move"]["events"]]
    assert f"{info.package_address}::history::AutomationDryRunPlannedEvent" in types
    assert await supra_client.account_sequence_number(operator.sdk_account().address()) == 1


async def test_a_move_abort_reports_the_exact_vm_status_and_consumes_the_sequence_number(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    info = localnet.info
    operator = info.operators[0]
    now = info.chain_time
    body = tx_factory.entry(
        operator.sdk_account(),
        "automation",
        "announce_dry_run",
        [tx_factory.u64(1), tx_factory.bytes_(b""), tx_factory.u64(now), tx_factory.u64(now)],
        sequence_number=0,
    )
    done = await tx_factory.wait(supra_client, await supra_client.submit(body))
    assert done["status"] == "Fail"
    assert done["output"]["Move"]["vm_status"] == (
        f"Move abort in {info.package_address}::automation: E_AUTOBOT_ACTION_HASH_EMPTY(0x1a0b)"
    )
    assert done["output"]["Move"]["vm_status"] == format_vm_status(
        info.package_address, "automation", 0x1A0B
    )
    assert done["output"]["Move"]["events"] == []
    assert await supra_client.account_sequence_number(operator.sdk_account().address()) == 1


async def test_a_bad_signature_is_refused(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    admin = localnet.info.admin.sdk_account()
    body = bytearray(tx_factory.entry(admin, "roles", "init_roles", [], sequence_number=0))
    body[-1] ^= 0x01  # the last byte belongs to the ed25519 signature
    assert "INVALID_SIGNATURE" in await _rejection(supra_client, bytes(body))


async def test_a_key_that_does_not_own_the_sender_is_refused(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    info = localnet.info
    raw = tx_factory.raw(info.admin.sdk_account(), "roles", "init_roles", [], sequence_number=0)
    intruder = info.operators[0].sdk_account()
    body = SupraTransaction(SignedTransaction(raw, intruder.sign_transaction(raw))).to_bytes()
    assert "INVALID_AUTH_KEY" in await _rejection(supra_client, body)


async def test_a_wrong_chain_id_is_refused(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    admin = localnet.info.admin.sdk_account()
    body = tx_factory.entry(admin, "roles", "init_roles", [], sequence_number=0, chain_id=6)
    assert "BAD_CHAIN_ID" in await _rejection(supra_client, body)


async def test_an_expired_transaction_is_refused_by_the_wall_clock(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    admin = localnet.info.admin.sdk_account()
    body = tx_factory.entry(
        admin, "roles", "init_roles", [], sequence_number=0, expires_at=int(time.time()) - 1
    )
    assert "TRANSACTION_EXPIRED" in await _rejection(supra_client, body)


@pytest.mark.localnet(time_scale=1000.0)
async def test_expiry_uses_the_wall_clock_even_when_chain_time_runs_fast(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    localnet.node.advance(3_600)  # chain time is now an hour ahead of the host
    admin = localnet.info.admin.sdk_account()
    body = tx_factory.entry(
        admin, "roles", "init_roles", [], sequence_number=0, expires_at=int(time.time()) + 60
    )
    done = await tx_factory.wait(supra_client, await supra_client.submit(body))
    assert done["status"] in ("Success", "Fail")


async def test_trailing_bytes_are_refused(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    admin = localnet.info.admin.sdk_account()
    body = tx_factory.entry(admin, "roles", "init_roles", [], sequence_number=0) + b"\x00"
    assert "DESERIALIZATION_ERROR" in await _rejection(supra_client, body)


async def test_truncated_bytes_are_refused(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    admin = localnet.info.admin.sdk_account()
    body = tx_factory.entry(admin, "roles", "init_roles", [], sequence_number=0)[:-5]
    assert "DESERIALIZATION_ERROR" in await _rejection(supra_client, body)


async def test_an_unknown_function_is_refused(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    admin = localnet.info.admin.sdk_account()
    body = tx_factory.entry(admin, "roles", "no_such_function", [], sequence_number=0)
    assert "FUNCTION_RESOLUTION_FAILURE" in await _rejection(supra_client, body)


async def test_a_wrong_argument_count_is_refused(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    admin = localnet.info.admin.sdk_account()
    body = tx_factory.entry(
        admin, "lottery_registry", "advance_status", [tx_factory.u64(1)], sequence_number=0
    )
    assert "NUMBER_OF_ARGUMENTS_MISMATCH" in await _rejection(supra_client, body)


async def test_an_argument_of_the_wrong_type_is_refused(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    admin = localnet.info.admin.sdk_account()
    body = tx_factory.entry(
        admin,
        "lottery_registry",
        "advance_status",
        [tx_factory.u64(1), tx_factory.u64(2)],  # next_status is a u8: 7 trailing bytes
        sequence_number=0,
    )
    message = await _rejection(supra_client, body)
    assert "FAILED_TO_DESERIALIZE_ARGUMENT" in message
    assert "next_status" in message


async def test_a_multi_agent_function_needs_both_signers(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    info = localnet.info
    args = [
        tx_factory.bytes_(b"*/5 * * * *"),
        tx_factory.u64s([1]),
        tx_factory.u64(60),
        tx_factory.u64(3),
        tx_factory.u64(info.chain_time + 86_400),
    ]
    single = tx_factory.entry(
        info.admin.sdk_account(), "automation", "rotate_bot", args, sequence_number=0
    )
    assert "NUMBER_OF_SIGNER_ARGUMENTS_MISMATCH" in await _rejection(supra_client, single)
    both = tx_factory.multi_agent(
        info.admin.sdk_account(),
        [info.operators[0].sdk_account()],
        "automation",
        "rotate_bot",
        args,
        sequence_number=0,
    )
    done = await tx_factory.wait(supra_client, await supra_client.submit(both))
    assert done["status"] == "Success", done["output"]
    assert "MultiAgent" in done["authenticator"]


def _vrf_callback_args(txs: Any, nonce: int) -> list[Any]:
    """``draw::vrf_callback`` arguments for a nonce the dVRF never handed out."""
    return [
        txs.u64(nonce),
        txs.bytes_(b"message"),
        txs.bytes_(bytes(64)),
        TransactionArgument(
            AccountAddress.from_str(dev_accounts().package_address), Serializer.struct
        ),
        txs.u8(1),
        txs.u64(0),
    ]


async def test_a_function_without_signer_parameters_accepts_any_sender(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    """As on a Move chain: ``vrf_callback`` declares no signer, so no signer count is required
    (single or multi-agent); it runs, and aborts in the package, for any sender."""
    accounts = dev_accounts()
    sender, secondary = accounts.operator("D"), accounts.operator("C")
    unknown_nonce = format_vm_status(localnet.info.package_address, "draw", 0x1703)
    single = tx_factory.entry(
        sender.sdk_account(),
        "draw",
        "vrf_callback",
        _vrf_callback_args(tx_factory, 999),
        sequence_number=0,
    )
    simulated = await supra_client.simulate(tx_factory.zero_signatures(single))
    assert (simulated["status"], simulated["output"]["Move"]["vm_status"]) == (
        "Fail",
        unknown_nonce,
    )
    done = await tx_factory.wait(supra_client, await supra_client.submit(single))
    assert (done["status"], done["output"]["Move"]["vm_status"]) == ("Fail", unknown_nonce)
    assert done["txn_type"] == "user"
    multi = tx_factory.multi_agent(
        sender.sdk_account(),
        [secondary.sdk_account()],
        "draw",
        "vrf_callback",
        _vrf_callback_args(tx_factory, 998),
        sequence_number=1,
    )
    done = await tx_factory.wait(supra_client, await supra_client.submit(multi))
    assert (done["status"], done["output"]["Move"]["vm_status"]) == ("Fail", unknown_nonce)
    assert "MultiAgent" in done["authenticator"]
    assert await supra_client.account_sequence_number(sender.sdk_account().address()) == 2
    assert await supra_client.account_sequence_number(secondary.sdk_account().address()) == 0


async def test_a_reused_sequence_number_is_refused(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    admin = localnet.info.admin.sdk_account()
    first = tx_factory.entry(admin, "roles", "init_roles", [], sequence_number=0)
    await tx_factory.wait(supra_client, await supra_client.submit(first))
    again = tx_factory.entry(
        admin, "roles", "init_roles", [], sequence_number=0, expires_at=int(time.time()) + 300
    )
    assert "SEQUENCE_NUMBER_TOO_OLD" in await _rejection(supra_client, again)


async def test_a_future_sequence_number_is_held_until_the_gap_fills(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    admin = localnet.info.admin.sdk_account()
    later = tx_factory.entry(admin, "roles", "init_roles", [], sequence_number=1)
    later_hash = await supra_client.submit(later)
    for _ in range(3):
        await localnet.node.next_block()
    assert (await supra_client.transaction_by_hash(later_hash))["status"] == "Pending"
    first = tx_factory.entry(admin, "automation", "init_automation", [], sequence_number=0)
    first_hash = await supra_client.submit(first)
    done_first = await tx_factory.wait(supra_client, first_hash)
    done_later = await tx_factory.wait(supra_client, later_hash)
    assert done_first["block_header"]["height"] <= done_later["block_header"]["height"]
    assert await supra_client.account_sequence_number(admin.address()) == 2


async def test_a_sequence_number_too_far_ahead_is_refused(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    admin = localnet.info.admin.sdk_account()
    body = tx_factory.entry(admin, "roles", "init_roles", [], sequence_number=64)
    assert "SEQUENCE_NUMBER_TOO_NEW" in await _rejection(supra_client, body)


async def test_an_unknown_hash_is_404(localnet: Localnet, supra_client: SupraClient) -> None:
    with pytest.raises(ApiError) as caught:
        await supra_client.transaction_by_hash("0x" + "ab" * 32)
    assert caught.value.status_code == 404


async def test_simulate_runs_without_committing_and_refuses_a_valid_signature(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    info = localnet.info
    admin = info.admin.sdk_account()
    signed = tx_factory.entry(admin, "roles", "init_roles", [], sequence_number=0)
    with pytest.raises(ApiError) as caught:
        await supra_client.simulate(signed)
    assert caught.value.status_code == 400
    assert "INVALID_SIGNATURE" in str(caught.value)
    result = await supra_client.simulate(tx_factory.zero_signatures(signed))
    assert result["status"] in ("Success", "Fail")
    assert result["output"]["Move"]["vm_status"]
    assert await supra_client.account_sequence_number(admin.address()) == 0


async def test_json_submissions_are_refused_with_a_message(localnet: Localnet) -> None:
    async with httpx.AsyncClient(base_url=localnet.base_url) as http:
        response = await http.post("rpc/v3/transactions/submit", json={"sender": "0x1"})
    assert response.status_code == 400
    assert response.headers["x-supra-chain-id"] == "77"
    assert "UNSUPPORTED_CONTENT_TYPE" in response.json()["message"]


async def test_registering_a_third_operator_is_multi_agent_and_shows_in_info(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    accounts = dev_accounts()
    operator_c = accounts.operator("C")
    body = tx_factory.multi_agent(
        accounts.admin.sdk_account(),
        [operator_c.sdk_account()],
        "automation",
        "register_bot",
        [
            tx_factory.bytes_(b"*/1 * * * *"),
            tx_factory.u64s([1, 2]),
            tx_factory.u64(60),
            tx_factory.u64(3),
            tx_factory.u64(localnet.info.chain_time + 86_400),
        ],
        sequence_number=0,
    )
    simulated = await supra_client.simulate(tx_factory.zero_signatures(body))
    assert simulated["status"] == "Success", simulated["output"]
    assert [op.name for op in localnet.info.operators] == ["A", "B"]
    done = await tx_factory.wait(supra_client, await supra_client.submit(body))
    assert done["status"] == "Success", done["output"]
    assert [op.name for op in localnet.info.operators] == ["A", "B", "C"]
    # the secondary signer's sequence number is not used
    assert await supra_client.account_sequence_number(operator_c.sdk_account().address()) == 0


async def test_a_secondary_signer_must_own_its_address(
    localnet: Localnet, supra_client: SupraClient, tx_factory: Any
) -> None:
    accounts = dev_accounts()
    admin = accounts.admin.sdk_account()
    claimed, signer = accounts.operator("C").sdk_account(), accounts.operator("D").sdk_account()
    raw = tx_factory.raw(
        admin,
        "automation",
        "register_bot",
        [
            tx_factory.bytes_(b"*/1 * * * *"),
            tx_factory.u64s([1]),
            tx_factory.u64(60),
            tx_factory.u64(3),
            tx_factory.u64(localnet.info.chain_time + 86_400),
        ],
        sequence_number=0,
    )
    multi = MultiAgentRawTransaction(raw, [claimed.address()])
    authenticator = Authenticator(
        MultiAgentAuthenticator(
            admin.sign_transaction(multi), [(claimed.address(), signer.sign_transaction(multi))]
        )
    )
    body = SupraTransaction(SignedTransaction(raw, authenticator)).to_bytes()
    assert "INVALID_AUTH_KEY" in await _rejection(supra_client, body)
