"""Every abort code an entry function can reach, reached through real signed transactions.

Acceptance point: every abort code of docs/package.md §1.4, §2.1 (ticket purchases), §2.3 to §2.5, §3
(entry functions), §4 (with the dual-write control of the summary write) and §5 (payout batches,
partner payouts, finalization, the PayoutBatchCap and the partner and premium caps) that an entry
function can reach is reached here by a transaction built and signed with the
official ``supra_sdk`` (``tx_factory``), submitted over HTTP to an in-process localnet with the SDK's
``SupraClient``, and asserted in the transaction's ``output.Move.vm_status`` exactly
(``format_vm_status(package, module, code)``). The codes no entry function can reach are listed in
``UNREACHABLE`` with the reason.

How a case runs (``test_abort_code_is_reported_in_vm_status``): a fresh localnet (start ~10 ms)
seeded with the demo, the ``empty`` scenario or ``SCENARIO`` below; the case's setup steps, each a
signed transaction that must succeed (or ``/localnet/v1/advance`` and view polling while the dVRF
oracle answers); then ONE signed transaction that must abort. For every case it also checks that
the aborted transaction used its sender's sequence number (and no secondary signer's), emitted no
event, and changed no state: the same answers before and after from the global views, the views
of the lottery the call names and, for price-feed calls, the price views; and the same package
model document.

``module`` is the module whose code aborts, as the Move source does it: a code asserted in a
callee aborts in the callee (``vrf_deposit`` for a paused deposit, ``types`` for the rng count,
``sales`` for most refund checks, ``roles`` for the PayoutBatchCap, ``economics`` for the
accounting caps, ``history`` for the archive, ``legacy_bridge`` for the dual-write control inside
the summary write, ``lottery_registry`` for every check of
``cancellation::cancel_lottery_admin`` and for the lottery status ``vrf_callback`` moves on,
``supra_vrf`` at the dVRF address for the dVRF's own checks).

``draw::vrf_callback`` takes no signer, so any account's transaction can call it (§2.4): the
callback cases are signed by operators C and D, with the arguments the localnet dVRF would send
for a pending request (``PackageModel.vrf_callback_args``, read from the in-process node) before
tampering. They use demo lottery 3, whose callbacks the oracle never sends: its request stays
pending at the dVRF, and nothing but the case's transactions answers it.

Case ids are ``<NAME>-<what happens>``, e.g. ``E_AUTOBOT_TIMELOCK-announce-too-early``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from supra_sdk.account_address import AccountAddress
from supra_sdk.bcs import Serializer
from supra_sdk.clients.rest import SupraClient, SupraClientConfig
from supra_sdk.transactions import TransactionArgument

from autobot.chain.aborts import ABORT_NAMES, abort_name_in, format_vm_status
from autobot.localnet.accounts import dev_accounts
from autobot.localnet.model import ENTRY_FUNCTIONS, dvrf
from autobot.localnet.model.draw import SUPRA_VRF_ADDRESS
from autobot.localnet.runner import Localnet, LocalnetOptions
from autobot.localnet.view_mode import ViewMode

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def localnet_options(localnet_options: LocalnetOptions) -> LocalnetOptions:
    """These tests read the package model's readers through ``/rpc/v3/view`` with the SDK: the
    localnet serves them as a package redeployed with ``#[view]`` would (``--views patched``)."""
    return replace(localnet_options, views=ViewMode.PATCHED)


# --- the codes of the acceptance point -------------------------------------------------------

SECTION_CODES: dict[str, frozenset[int]] = {
    # §1.4 (all twelve) and init_automation twice (0x1201)
    "1.4 automation": frozenset(
        {0x1201, 0x1A01, 0x1A02, 0x1A03, 0x1A04, 0x1A05, 0x1A06}
        | {0x1A07, 0x1A08, 0x1A09, 0x1A0A, 0x1A0B, 0x1A0C}
    ),
    # §2.1 ticket purchases (public and premium), in the package's check order
    "2.1 sales": frozenset(
        {0x1601, 0x1602, 0x1401, 0x1403, 0x120F, 0x120E, 0x1202, 0x160A, 0x1608, 0x1609}
        | {0x1603, 0x1604, 0x1605, 0x1103, 0x1106, 0x1107}
    ),
    # §2.3 request_draw_admin steps 1 to 13 and schedule_manual_retry_admin
    "2.3 request_draw_admin, schedule_manual_retry_admin": frozenset(
        {0x1401, 0x1403, 0x170D, 0x1210, 0x1706, 0x1707, 0x1202, 0x1701, 0x170F, 0x1709}
        | {0x1705, 0x170A, 0x1703, 0x1702, 0x170E, 0x1710}
    ),
    # §2.4 vrf_callback (0x1210: canceled while the request was out)
    "2.4 vrf_callback": frozenset({0x1703, 0x1702, 0x1708, 0x1706, 0x1704, 0x1210}),
    # §2.5 compute_winners_admin
    "2.5 compute_winners_admin": frozenset(
        {0x1202, 0x1501, 0x1210, 0x1801, 0x1708, 0x1802, 0x1804}
    ),
    # §3 entry functions (admin check 0x1202), and the latest_price codes (not an entry)
    "3 price feed": frozenset(
        {0x1202, 0x1901, 0x1902, 0x1903, 0x1908} | {0x1904, 0x1905, 0x1906, 0x1907}
    ),
    # §4 cancel, force_refund_batch_admin (incl. its PayoutBatchCap), archive and its history write
    "4 cancellation and refunds": frozenset(
        {0x1202, 0x1211, 0x1204, 0x1815, 0x1816, 0x1811, 0x1812, 0x1817, 0x1813, 0x1814}
        | {0x1210, 0x1212, 0x1818, 0x1819, 0x1B01, 0x1B02, 0x1B05}
    ),
    # §4 the dual-write control of every summary write (legacy_bridge, history)
    "4 dual-write": frozenset({0x1201, 0x1B02, 0x1B04, 0x1B05, 0x1B06}),
    # §5.1 payout batch, partner payout, finalize; §5.2 the PayoutBatchCap, partner and premium
    # caps and their cleanup
    "5 payouts": frozenset(
        {0x1202, 0x1210, 0x1805, 0x1806, 0x1807, 0x1304, 0x1305, 0x1B03}
        | {0x1105, 0x180C, 0x1810, 0x180D, 0x180E, 0x1106}
        | {0x1103, 0x1104, 0x1808, 0x1809, 0x180A, 0x180B}
    ),
}

UNREACHABLE: dict[int, str] = {
    0x1401: (
        "E_FEATURE_UNKNOWN: the draw entries only ask for DRAW (id 3) and the purchases for "
        "PURCHASE (id 1), both known features; and the localnet's switch, once it holds entries, "
        "holds one for every feature (set_mode only changes a mode)"
    ),
    0x1705: (
        "E_VRF_ATTEMPT_OUT_OF_ORDER: needs a stored attempt of 255, but it never passes "
        "MAX_VRF_ATTEMPTS (5): a request at attempt 5 runs the exhaustion path instead"
    ),
    0x170A: "E_VRF_CLIENT_SEED_OVERFLOW: needs 2^64 - 1 earlier requests for one lottery",
    0x1708: (
        "E_VRF_CONSUMED: only two writes set consumed=true: compute_winners_admin (which needs "
        "the draw FULFILLED) and the exhaustion path (which leaves it FAILED). vrf_callback: its "
        "earlier check needs the draw REQUESTED, and a draw becomes REQUESTED only in "
        "request_draw_admin, which sets consumed=false; nothing returns a FULFILLED or FAILED "
        "draw to REQUESTED (request_draw_admin needs the lottery CLOSING or DRAW_REQUESTED, but "
        "a FULFILLED draw's lottery is DRAWN or later and an exhausted one's CANCELED, and "
        "lottery statuses only move forward). compute_winners_admin: it consumes the VRF in the "
        "same transaction that initialises the winner state (later batches skip the check), and "
        "a FAILED draw aborts E_WINNER_VRF_NOT_READY first"
    ),
    0x1904: "E_PRICE_STALE: only from price_feed::latest_price, which is not an entry function",
    0x1905: "E_PRICE_FALLBACK_ACTIVE: only from price_feed::latest_price (not an entry function)",
    0x1906: "E_PRICE_CLAMP_TRIGGERED: defined in errors.move but never raised",
    0x1907: "E_PRICE_CLAMP_ACTIVE: only from price_feed::latest_price (not an entry function)",
    0x1A0C: (
        "E_AUTOBOT_CALLER_MISMATCH: register_bot creates the AutomationCap under the operator "
        "with cap.operator = that operator; only non-entry helpers (take_cap_for_tests / "
        "return_cap_for_tests from a Move script) could put it under another account"
    ),
    0x1B01: (
        "E_HISTORY_MISSING: the archive ledger is created at genesis and no entry function "
        "removes it"
    ),
    0x1B06: (
        "E_HISTORY_CONTROL_MISSING: the deployment creates the DualWriteControl at genesis "
        "(init_dual_write) and no entry function removes it"
    ),
    0x1103: (
        "E_ROLES_NOT_INITIALIZED: the RoleStore is created at genesis and no entry function "
        "removes it"
    ),
}
"""Codes of the sections above that no entry function can reach on the localnet, and why."""

PATH_GAPS: dict[tuple[str, int], str] = {
    ("draw::vrf_callback", 0x1702): (
        "E_VRF_NOT_REQUESTED needs a nonce still mapped to its lottery, equal to the draw's "
        "request_id, on a draw that is not REQUESTED. Every write of the VRF status rules that "
        "out: request_draw_admin sets REQUESTED with request_id = the new nonce; a verified "
        "vrf_callback sets FULFILLED and removes that nonce's mapping in the same transaction "
        "(a later callback aborts 0x1703 at the mapping); the exhaustion path sets FAILED with "
        "request_id = 0, and dVRF nonces start at 1 (its last nonce stays mapped: 0x1703 at "
        "request_id); a draw is IDLE only inside the request that creates it. (Reached through "
        "schedule_manual_retry_admin)"
    ),
    ("draw::request_draw_admin", 0x1703): (
        "the duplicate-nonce abort: the dVRF hands out strictly increasing nonces, so a new "
        "nonce is never already mapped (reached through vrf_callback)"
    ),
    ("draw::request_draw_admin", 0x1706): (
        "the rng-count abort (in types): needs a prize plan of 0 or more than 255 slots, which "
        "the scenario format refuses, and create_draft_admin is not in the localnet's ABI "
        "(reached through vrf_callback)"
    ),
    ("draw::request_draw_admin", 0x1202): (
        "the DrawLedger-missing abort: the ledger exists from genesis (the admin check, a "
        "localnet deviation by docs/decisions.md §1, is reached)"
    ),
    ("lottery_registry::create_draft_admin", 0x1A01): (
        "E_BCS_DECODE (the other name of 0x1A01): raised by the config and history decoders of "
        "entry functions the localnet does not expose (draft creation, legacy import)"
    ),
}
"""Reached codes with a raising path that no test takes, and why (documentation only)."""

# --- accounts and arguments -------------------------------------------------------------------

ACCOUNTS = dev_accounts()
PACKAGE = ACCOUNTS.package_address
SIGNERS = {"admin": ACCOUNTS.admin, **{op.name: op for op in ACCOUNTS.operators}}
"""Signer names used by the cases: ``admin`` (= the package) and operators ``A`` to ``D``."""

H1, H2 = b"\x11" * 32, b"\x22" * 32
T = 4_000_000_000
"""A caller-supplied timestamp later than any chain time, for timestamp-ordered calls."""
BIG_BUDGET = 10**15


def u8(value: int) -> TransactionArgument:
    return TransactionArgument(value, Serializer.u8)


def u16(value: int) -> TransactionArgument:
    return TransactionArgument(value, Serializer.u16)


def u64(value: int) -> TransactionArgument:
    return TransactionArgument(value, Serializer.u64)


def raw(value: bytes) -> TransactionArgument:
    return TransactionArgument(value, Serializer.to_bytes)


def u64s(values: Sequence[int]) -> TransactionArgument:
    return TransactionArgument(list(values), Serializer.sequence_serializer(Serializer.u64))


def opt(value: int | None) -> TransactionArgument:
    return TransactionArgument(
        [] if value is None else [value], Serializer.sequence_serializer(Serializer.u64)
    )


def opt_addr(address: str | None) -> TransactionArgument:
    return TransactionArgument(
        [] if address is None else [AccountAddress.from_str(address)],
        Serializer.sequence_serializer(Serializer.struct),
    )


def flag(value: bool) -> TransactionArgument:
    return TransactionArgument(value, Serializer.bool)


def addr(address: str) -> TransactionArgument:
    return TransactionArgument(AccountAddress.from_str(address), Serializer.struct)


@dataclass(frozen=True, slots=True)
class Call:
    """One entry-function call: ``function`` is ``module::name``; ``lottery`` the id it names."""

    signer: str
    function: str
    args: tuple[TransactionArgument, ...]
    secondary: str | None = None
    lottery: int | None = None

    @property
    def module(self) -> str:
        return self.function.split("::")[0]

    @property
    def name(self) -> str:
        return self.function.split("::")[1]


def call(
    signer: str,
    function: str,
    *args: TransactionArgument,
    secondary: str | None = None,
    lottery: int | None = None,
) -> Call:
    return Call(signer, function, args, secondary, lottery)


# --- the chain a case talks to ----------------------------------------------------------------


class Chain:
    """One localnet seen through the SDK: signed calls, views, ``/localnet/v1/advance``."""

    def __init__(
        self, net: Localnet, client: SupraClient, tx_factory: Any, http: httpx.AsyncClient
    ):
        self.net = net
        self.client = client
        self.tx = tx_factory
        self.http = http
        self.memo: dict[str, Any] = {}
        self._seq = dict.fromkeys(SIGNERS, 0)  # genesis uses no account's sequence number

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, net: Localnet, tx_factory: Any) -> AsyncIterator[Chain]:
        client = SupraClient(net.base_url, SupraClientConfig(wait_for_transaction=False))
        try:
            async with httpx.AsyncClient(base_url=net.base_url) as http:
                yield cls(net, client, tx_factory, http)
        finally:
            await client.close()

    @property
    def now(self) -> int:
        """Chain time (seconds of the latest block)."""
        return self.net.node.chain_time

    @property
    def height(self) -> int:
        return self.net.node.tip.height

    @staticmethod
    def address(name: str) -> AccountAddress:
        return AccountAddress.from_str(SIGNERS[name].address)

    def _body(self, c: Call, sequence_number: int) -> bytes:
        sender = SIGNERS[c.signer].sdk_account()
        args = list(c.args)
        if c.secondary is None:
            body: bytes = self.tx.entry(
                sender, c.module, c.name, args, sequence_number=sequence_number
            )
            return body
        secondary = [SIGNERS[c.secondary].sdk_account()]
        multi: bytes = self.tx.multi_agent(
            sender, secondary, c.module, c.name, args, sequence_number=sequence_number
        )
        return multi

    async def send(self, c: Call) -> dict[str, Any]:
        """Sign with the next sequence number, submit, wait until executed."""
        sequence_number = self._seq[c.signer]
        self._seq[c.signer] += 1
        tx_hash = await self.client.submit(self._body(c, sequence_number))
        done: dict[str, Any] = await self.tx.wait(self.client, tx_hash)
        return done

    async def ok(self, c: Call) -> dict[str, Any]:
        done = await self.send(c)
        assert done["status"] == "Success", (c.function, done["output"]["Move"]["vm_status"])
        return done

    async def advance(self, seconds: int) -> None:
        response = await self.http.post("localnet/v1/advance", json={"seconds": seconds})
        response.raise_for_status()

    async def view(self, function: str, *args: int | str) -> Any:
        """The first result of ``0x<package>::<function>`` (``module::name``)."""
        result = await self.client.view(f"{PACKAGE}::{function}", [], [str(a) for a in args])
        return result[0]

    async def lottery_status(self, lottery_id: int) -> int:
        return int((await self.view("views::get_lottery_status", lottery_id))["status"])

    async def wait_status(self, lottery_id: int, status: int, *, within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while True:
                if await self.lottery_status(lottery_id) == status:
                    return
                await asyncio.sleep(0.02)


Maker = Callable[[Chain], Call]
Step = Callable[[Chain], Awaitable[None]]


def tx(*makers: Maker) -> Step:
    """Setup step: these signed calls, in order, each in its own block; each must succeed."""

    async def step(ch: Chain) -> None:
        for make in makers:
            await ch.ok(make(ch))

    return step


def burst(*makers: Maker) -> Step:
    """Setup step: submit these signed calls at once (pipelined), then each must succeed."""

    async def step(ch: Chain) -> None:
        hashes = []
        for make in makers:
            c = make(ch)
            sequence_number = ch._seq[c.signer]
            ch._seq[c.signer] += 1
            hashes.append(await ch.client.submit(ch._body(c, sequence_number)))
        for tx_hash in hashes:
            done = await ch.tx.wait(ch.client, tx_hash)
            assert done["status"] == "Success", done["output"]["Move"]["vm_status"]

    return step


def drawn(lottery_id: int) -> Step:
    """Setup step: request the draw and wait for the localnet dVRF's callback (status DRAWN)."""

    async def step(ch: Chain) -> None:
        await ch.ok(request(ch, lottery_id))
        await ch.wait_status(lottery_id, 4)

    return step


def later(seconds: int) -> Step:
    """Setup step: move chain time forward (``POST /localnet/v1/advance``), no sleeping."""

    async def step(ch: Chain) -> None:
        await ch.advance(seconds)

    return step


def remember(key: str, function: str, *args: int | str, pick: Callable[[Any], int]) -> Step:
    """Setup step: keep ``pick(view result)`` in ``ch.memo[key]`` for the failing call."""

    async def step(ch: Chain) -> None:
        ch.memo[key] = pick(await ch.view(function, *args))

    return step


def keep_callback(key: str, lottery_id: int) -> Step:
    """Setup step: keep the dVRF's callback arguments for the lottery's pending request."""

    async def step(ch: Chain) -> None:
        ch.memo[key] = pending_callback(ch, lottery_id)

    return step


def expect(what: str, holds: Callable[[Chain], bool]) -> Step:
    """Setup step: assert a fact about the in-process model (which path the failing call takes)."""

    async def step(ch: Chain) -> None:
        assert holds(ch), what

    return step


# --- calls ------------------------------------------------------------------------------------


def request(ch: Chain, lottery_id: int, signer: str = "admin") -> Call:
    return call(
        signer,
        "draw::request_draw_admin",
        u64(lottery_id),
        u64(ch.now),
        u64(ch.height),
        u8(ch.net.node.chain_id),
        u64(1),
        lottery=lottery_id,
    )


def schedule(ch: Chain, lottery_id: int, retry_after_ts: int, signer: str = "admin") -> Call:
    return call(
        signer,
        "draw::schedule_manual_retry_admin",
        u64(lottery_id),
        u64(ch.now),
        u64(retry_after_ts),
        lottery=lottery_id,
    )


def compute(lottery_id: int, batch_limit: int, signer: str = "admin") -> Call:
    return call(
        signer,
        "payouts::compute_winners_admin",
        u64(lottery_id),
        u64(batch_limit),
        lottery=lottery_id,
    )


def advance_status(lottery_id: int, next_status: int, signer: str = "admin") -> Call:
    return call(
        signer,
        "lottery_registry::advance_status",
        u64(lottery_id),
        u8(next_status),
        lottery=lottery_id,
    )


def cancel(ch: Chain, lottery_id: int, reason: int, signer: str = "admin") -> Call:
    return call(
        signer,
        "cancellation::cancel_lottery_admin",
        u64(lottery_id),
        u8(reason),
        u64(ch.now),
        lottery=lottery_id,
    )


def refund(
    lottery_id: int,
    refund_round: int,
    tickets: int,
    prize: int,
    operations: int,
    timestamp: int = T,
    signer: str = "admin",
) -> Call:
    return call(
        signer,
        "payouts::force_refund_batch_admin",
        *map(u64, (lottery_id, refund_round, tickets, prize, operations, timestamp)),
        lottery=lottery_id,
    )


def archive(lottery_id: int, finalized_at: int = T, signer: str = "admin") -> Call:
    return call(
        signer,
        "payouts::archive_canceled_lottery_admin",
        u64(lottery_id),
        u64(finalized_at),
        lottery=lottery_id,
    )


def payout(
    lottery_id: int,
    payout_round: int,
    winners: int,
    prize: int,
    operations: int,
    timestamp: int = T,
    signer: str = "admin",
) -> Call:
    return call(
        signer,
        "payouts::record_payout_batch_admin",
        *map(u64, (lottery_id, payout_round, winners, prize, operations, timestamp)),
        lottery=lottery_id,
    )


def finalize(lottery_id: int, signer: str = "admin") -> Call:
    return call(
        signer, "payouts::finalize_lottery_admin", u64(lottery_id), u64(T), lottery=lottery_id
    )


def set_cap(max_batch: int, budget: int, cooldown: int, stride: int, signer: str = "admin") -> Call:
    return call(
        signer,
        "roles::set_payout_batch_cap_admin",
        addr(ACCOUNTS.admin.address),
        *map(u64, (max_batch, budget, cooldown, stride)),
    )


def purchase(
    lottery_id: int,
    quantity: int,
    now_ts: int,
    block: int = 1,
    signer: str = "C",
    *,
    premium: bool = False,
) -> Call:
    """A ticket purchase: any account signs it as the buyer; ``now_ts`` and the block are its."""
    function = "purchase_tickets_premium" if premium else "purchase_tickets_public"
    return call(
        signer,
        f"sales::{function}",
        *map(u64, (lottery_id, quantity, now_ts, block)),
        lottery=lottery_id,
    )


def upsert_partner(
    partner: str,
    total: int,
    *,
    cooldown: int = 0,
    stride: int = 1,
    expires_at: int = 0,
    signer: str = "admin",
) -> Call:
    return call(
        signer,
        "roles::upsert_partner_payout_cap_admin",
        addr(SIGNERS[partner].address),
        *map(u64, (total, cooldown, stride, expires_at)),
    )


def partner_payout(
    lottery_id: int,
    partner: str,
    amount: int,
    payout_round: int,
    timestamp: int = T,
    signer: str = "admin",
) -> Call:
    return call(
        signer,
        "payouts::record_partner_payout_admin",
        u64(lottery_id),
        addr(SIGNERS[partner].address),
        *map(u64, (amount, payout_round, timestamp)),
        lottery=lottery_id,
    )


def grant_premium(holder: str, expires_at: int, signer: str = "admin") -> Call:
    return call(
        signer,
        "roles::grant_premium_access_admin",
        addr(SIGNERS[holder].address),
        u64(expires_at),
        flag(False),
        opt_addr(None),
    )


def expected_hash(lottery_id: int, value: bytes, signer: str = "admin") -> Call:
    return call(
        signer, "legacy_bridge::set_expected_hash", u64(lottery_id), raw(value), lottery=lottery_id
    )


def dual_write_flags(enabled: bool, mismatch: bool, missing: bool, signer: str = "admin") -> Call:
    return call(signer, "legacy_bridge::update_flags", flag(enabled), flag(mismatch), flag(missing))


def bot(
    ch: Chain,
    signer: str,
    operator: str,
    actions: Sequence[int],
    *,
    function: str = "register_bot",
    timelock: int = 60,
    max_failures: int = 3,
    expires_at: int | None = None,
) -> Call:
    """``register_bot``/``rotate_bot``: multi-agent, ``signer`` first, then ``operator``."""
    return call(
        signer,
        f"automation::{function}",
        raw(b"*/5 * * * *"),
        u64s(actions),
        u64(timelock),
        u64(max_failures),
        u64(ch.now + 86_400 if expires_at is None else expires_at),
        secondary=operator,
    )


def announce(
    ch: Chain,
    operator: str,
    action: int,
    action_hash: bytes,
    *,
    now: int | None = None,
    delay: int = 900,
) -> Call:
    now_ts = ch.now if now is None else now
    return call(
        operator,
        "automation::announce_dry_run",
        u64(action),
        raw(action_hash),
        u64(now_ts),
        u64(now_ts + delay),
    )


def record_success(ch: Chain, operator: str, action_hash: bytes, *, later: int = 0) -> Call:
    return call(
        operator,
        "automation::record_success",
        u64(1),
        raw(action_hash),
        u64(ch.now + later),
    )


def record_failure(ch: Chain, operator: str, action_hash: bytes) -> Call:
    return call(
        operator,
        "automation::record_failure",
        u64(1),
        raw(action_hash),
        u64(ch.now),
        u64(0x1709),
    )


def snapshot(ch: Chain, total: int, minimum: int, effective: int, signer: str = "admin") -> Call:
    return call(
        signer,
        "vrf_deposit::record_snapshot_admin",
        *map(u64, (total, minimum, effective, ch.now)),
    )


def register_feed(asset_id: int, decimals: int = 8, signer: str = "admin") -> Call:
    return call(
        signer,
        "price_feed::register_feed",
        u64(asset_id),
        u64(100_000_000),
        u8(decimals),
        opt(None),
        opt(None),
        u64(T),
    )


CALLBACK_FIELDS = ("nonce", "message", "signature", "caller_address", "rng_count", "client_seed")


def pending_callback(ch: Chain, lottery_id: int) -> list[Any]:
    """The ``vrf_callback`` arguments the localnet dVRF sends for the lottery's latest request
    still pending at the dVRF (``PackageModel.vrf_callback_args``, signed with the dVRF's key)."""
    model = ch.net.node.model
    nonces = [r.nonce for r in model.pending_vrf_requests() if r.lottery_id == lottery_id]
    assert nonces, f"lottery {lottery_id} has no request pending at the dVRF"
    return model.vrf_callback_args(nonces[-1])


def callback(signer: str, args: Sequence[Any], *, lottery: int | None = None) -> Call:
    """``draw::vrf_callback``: no signer parameter, so ``signer`` is just the sender."""
    nonce, message, signature, caller, rng_count, client_seed = args
    return call(
        signer,
        "draw::vrf_callback",
        u64(nonce),
        raw(message),
        raw(signature),
        addr(caller),
        u8(rng_count),
        u64(client_seed),
        lottery=lottery,
    )


def tampered(
    ch: Chain, lottery_id: int, *, resign: bool = False, **changes: Callable[[Any], Any]
) -> Call:
    """A callback of the lottery's pending request, ``changes`` applied per field (a function
    of the dVRF's value); ``resign``: then signed by the dVRF's key again, so only the changed
    field is wrong. Sent by operator C."""
    args = dict(zip(CALLBACK_FIELDS, pending_callback(ch, lottery_id), strict=True))
    assert set(changes) <= set(args), changes
    for field, change in changes.items():
        args[field] = change(args[field])
    if resign:
        args["signature"] = dvrf.sign(args["message"])
    return callback("C", list(args.values()), lottery=lottery_id)


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def _signed_by_operator_a(ch: Chain) -> Call:
    """The pending callback with an ed25519 signature of its message by another key."""
    args = pending_callback(ch, 3)
    args[2] = ACCOUNTS.operator("A").sdk_account().sign(args[1]).data()
    return callback("C", args, lottery=3)


def _legacy_signature(ch: Chain) -> Call:
    """The pending callback with the localnet's former, forgeable "signature" (two sha3-256)."""
    args = pending_callback(ch, 3)
    message = args[1]
    args[2] = (
        hashlib.sha3_256(b"localnet-dvrf-sig-1" + message).digest()
        + hashlib.sha3_256(b"localnet-dvrf-sig-2" + message).digest()
    )
    return callback("C", args, lottery=3)


# --- scenarios --------------------------------------------------------------------------------

SCENARIO = """\
name = "abort-codes"

[oracle]
callback_delay_seconds = 0  # the dVRF answers in the block after a request

[payout_cap]
max_batch_size = 500
operations_budget_total = 1000000000000000

[[lotteries]]  # 1: draws normally; 10 tickets at 100 (prize+reserve 750, operations 250)
id = 1
status = "closing"
tickets_sold = 10
ticket_price = 100
prize_plan = [1, 2]

[[lotteries]]  # 2: two distinct winners wanted from a single ticket
id = 2
status = "closing"
tickets_sold = 1
prize_plan = [2]
winners_dedup = true

[[lotteries]]  # 3: closing without sales
id = 3
status = "closing"
tickets_sold = 0

[[lotteries]]  # 4: MANUAL retry policy; the dVRF never answers
id = 4
status = "closing"
tickets_sold = 10
retry = { strategy = "manual" }
callbacks = "never"

[[lotteries]]  # 5: canceled with sales: 10 tickets at 100 (proceeds 1000)
id = 5
status = "canceled"
tickets_sold = 10
ticket_price = 100

[[lotteries]]  # 6: canceled without sales
id = 6
status = "canceled"
tickets_sold = 0

[[lotteries]]  # 7: selling; at most 3 tickets in all and 2 per buyer
id = 7
status = "active"
sales_start_offset_seconds = -3600
sales_end_offset_seconds = 86400
max_tickets_total = 3
max_tickets_per_address = 2

[[lotteries]]  # 8: selling at 2^63 a ticket
id = 8
status = "active"
ticket_price = 9223372036854775808
sales_start_offset_seconds = -3600
sales_end_offset_seconds = 86400
"""
"""``custom`` cases; the demo (``autobot.localnet.scenario.spec``) has lotteries 1 ACTIVE
(sales ended 10 minutes before genesis), 2 CLOSING, 3 CLOSING (FIXED 60 s retry, the dVRF never answers), 4 CANCELED (1,234 tickets),
5 ACTIVE (selling from a day before genesis to a week after); bots A (timelock 900, actions 1 2 6 7) and B (timelock 0, actions 1 2 3 4), both
``max_failures`` 3; a PayoutBatchCap (max 500, budget 10^15, no cooldown, no stride); a healthy
VRF deposit; feeds 1, 2 (clamped) and 3."""

SCENARIO_ASSETS = {"demo": (1, 2, 3), "custom": (), "empty": (), "ops": (1,)}


# --- the cases --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    code: int
    module: str  # the module whose code aborts
    slug: str
    act: Maker  # the one transaction that must abort
    setup: tuple[Step, ...] = ()
    scenario: str = "demo"  # "demo" | "custom" (SCENARIO) | "empty" | "ops" (DRAW off)
    vrf_retry: str = "intent"
    extra: bool = False  # a code outside the acceptance sections, or an extra module's check
    address: str | None = None  # where ``module`` lives when not in the package (the dVRF's)

    @property
    def id(self) -> str:
        if self.address is not None:
            return f"{self.module}({self.code:#x})-{self.slug}"
        return f"{abort_name_in(self.module, self.code)}-{self.slug}"


def _case(code: int, module: str, slug: str, act: Maker, *setup: Step, **options: Any) -> Case:
    return Case(code=code, module=module, slug=slug, act=act, setup=setup, **options)


def _canceled_ts(view: Any) -> int:
    return int(view["vec"][0]["canceled_ts"])


def _proceeds(view: Any) -> int:
    return int(view["proceeds_accum"])


AUTOMATION = [
    _case(
        0x1201,
        "automation",
        "init-automation-twice",
        lambda ch: call("admin", "automation::init_automation"),
    ),
    _case(
        0x1A01,
        "automation",
        "init-automation-non-admin",
        lambda ch: call("A", "automation::init_automation"),
    ),
    _case(0x1A01, "automation", "register-bot-non-admin", lambda ch: bot(ch, "D", "C", [1])),
    _case(
        0x1A01,
        "automation",
        "rotate-bot-non-admin",
        lambda ch: bot(ch, "C", "A", [1], function="rotate_bot"),
    ),
    _case(0x1A02, "automation", "register-bot-twice", lambda ch: bot(ch, "admin", "A", [1])),
    _case(0x1A03, "automation", "announce-unregistered", lambda ch: announce(ch, "C", 1, H1)),
    _case(
        0x1A03, "automation", "record-success-unregistered", lambda ch: record_success(ch, "C", H1)
    ),
    _case(
        0x1A03,
        "automation",
        "report-call-rejected-unregistered",
        lambda ch: call("C", "automation::report_call_rejected", u64(1), raw(H1), u64(0x1A07)),
    ),
    _case(
        0x1A03,
        "automation",
        "rotate-bot-unregistered",
        lambda ch: bot(ch, "admin", "C", [1], function="rotate_bot"),
    ),
    _case(
        0x1A04,
        "automation",
        "register-bot-expires-at-zero",
        lambda ch: bot(ch, "admin", "C", [1], expires_at=0),
    ),
    _case(
        0x1A04,
        "automation",
        "record-success-after-expiry",
        lambda ch: record_success(ch, "B", H1),
        tx(lambda ch: bot(ch, "admin", "B", [1], function="rotate_bot", expires_at=ch.now + 60)),
        later(61),
    ),
    _case(0x1A05, "automation", "register-bot-no-actions", lambda ch: bot(ch, "admin", "C", [])),
    _case(0x1A05, "automation", "announce-action-not-allowed", lambda ch: announce(ch, "A", 3, H1)),
    _case(
        0x1A06,
        "automation",
        "register-bot-max-failures-zero",
        lambda ch: bot(ch, "admin", "C", [1], max_failures=0),
    ),
    _case(
        0x1A06,
        "automation",
        "record-success-at-failure-limit",
        lambda ch: record_success(ch, "B", H1),
        tx(*[lambda ch: record_failure(ch, "B", H1)] * 3),
    ),
    _case(
        0x1A07,
        "automation",
        "register-bot-sensitive-short-timelock",
        lambda ch: bot(ch, "admin", "C", [1, 7], timelock=899),
    ),
    _case(
        0x1A07,
        "automation",
        "rotate-bot-sensitive-short-timelock",
        lambda ch: bot(ch, "admin", "A", [6], function="rotate_bot", timelock=60),
    ),
    _case(
        0x1A07,
        "automation",
        "announce-with-zero-timelock",
        lambda ch: announce(ch, "B", 1, H1, delay=0),
    ),
    _case(
        0x1A07, "automation", "announce-too-early", lambda ch: announce(ch, "A", 1, H1, delay=899)
    ),
    _case(
        0x1A07,
        "automation",
        "record-success-before-timelock",
        lambda ch: record_success(ch, "A", H1),
        tx(lambda ch: announce(ch, "A", 1, H1)),
    ),
    _case(
        0x1A08,
        "automation",
        "announce-while-pending",
        lambda ch: announce(ch, "A", 1, H2),
        tx(lambda ch: announce(ch, "A", 1, H1)),
    ),
    _case(
        0x1A09,
        "automation",
        "record-success-other-hash",
        lambda ch: record_success(ch, "A", H2, later=900),
        tx(lambda ch: announce(ch, "A", 1, H1)),
    ),
    _case(
        0x1A0A,
        "automation",
        "record-success-without-announce",
        lambda ch: record_success(ch, "A", H1),
    ),
    _case(
        0x1A0A,
        "automation",
        "record-failure-without-announce",
        lambda ch: record_failure(ch, "A", H1),
    ),
    _case(0x1A0B, "automation", "announce-empty-hash", lambda ch: announce(ch, "A", 1, b"")),
    _case(
        0x1A0B, "automation", "record-failure-empty-hash", lambda ch: record_failure(ch, "B", b"")
    ),
]

DRAW = [
    _case(0x1202, "draw", "request-draw-non-admin", lambda ch: request(ch, 2, signer="A")),
    # the ops scenario starts with the DRAW feature off (lottery 3 is CLOSING with tickets)
    _case(
        0x1403, "draw", "request-draw-feature-disabled", lambda ch: request(ch, 3), scenario="ops"
    ),
    _case(
        0x1403,
        "draw",
        "schedule-manual-retry-feature-disabled",
        lambda ch: schedule(ch, 3, T),
        scenario="ops",
    ),
    _case(
        0x170D,
        "vrf_deposit",
        "request-draw-deposit-paused",
        lambda ch: request(ch, 2),
        tx(lambda ch: snapshot(ch, 6 * 10**10, 10**10, 0)),  # unhealthy: pauses requests
    ),
    _case(0x1210, "draw", "request-draw-active-lottery", lambda ch: request(ch, 1)),
    _case(0x1707, "draw", "request-draw-no-tickets", lambda ch: request(ch, 3), scenario="custom"),
    _case(
        0x1701,
        "draw",
        "request-draw-pending-strict",
        lambda ch: request(ch, 3),
        tx(lambda ch: request(ch, 3)),
        vrf_retry="strict",
    ),
    _case(
        0x170F,
        "draw",
        "request-draw-manual-retry-unscheduled",
        lambda ch: request(ch, 4),
        tx(lambda ch: request(ch, 4)),
        scenario="custom",
    ),
    _case(
        0x1709,
        "draw",
        "request-draw-inside-retry-window",
        lambda ch: request(ch, 3),
        tx(lambda ch: request(ch, 3)),
    ),
    _case(0x1202, "draw", "schedule-retry-non-admin", lambda ch: schedule(ch, 3, T, signer="A")),
    _case(0x1210, "draw", "schedule-retry-active-lottery", lambda ch: schedule(ch, 1, T)),
    _case(0x1702, "draw", "schedule-retry-never-requested", lambda ch: schedule(ch, 3, T)),
    _case(
        0x170E,
        "draw",
        "schedule-retry-fixed-policy",
        lambda ch: schedule(ch, 3, T),
        tx(lambda ch: request(ch, 3)),
    ),
    _case(
        0x1710,
        "draw",
        "schedule-retry-zero-deadline",
        lambda ch: schedule(ch, 4, 0),
        tx(lambda ch: request(ch, 4)),
        scenario="custom",
    ),
    _case(
        0x1710,
        "draw",
        "schedule-retry-deadline-passed",
        lambda ch: schedule(ch, 4, ch.now - 1),
        tx(lambda ch: request(ch, 4)),
        scenario="custom",
    ),
    _case(
        0x1201, "draw", "init-draw-twice", lambda ch: call("admin", "draw::init_draw"), extra=True
    ),
    _case(
        0x1202, "draw", "init-draw-non-admin", lambda ch: call("A", "draw::init_draw"), extra=True
    ),
]

REQUEST_3 = tx(lambda ch: request(ch, 3))
"""Demo lottery 3's draw: REQUESTED, and the oracle never sends its callback."""


def _mapped(key: str, lottery_id: int) -> Callable[[Chain], bool]:
    """The kept callback's nonce is still mapped to the lottery (the 0x1703 mapping check passes)."""
    return lambda ch: ch.net.node.model.state.nonce_to_lottery.get(ch.memo[key][0]) == lottery_id


def _current(key: str, lottery_id: int) -> Callable[[Chain], bool]:
    """The kept callback's nonce is the draw's request_id (the 0x1703 request_id check passes)."""
    return lambda ch: ch.net.node.model.state.draws[lottery_id].request_id == ch.memo[key][0]


CALLBACK = [  # §2.4, each failing call a vrf_callback sent by an operator that is not the dVRF
    _case(
        0x1703,
        "draw",
        "callback-unknown-nonce",
        lambda ch: callback("C", [999, b"message", bytes(64), PACKAGE, 1, 0]),
    ),
    _case(
        0x1703,
        "draw",
        "callback-already-fulfilled",  # the mapping was removed by the verified callback
        lambda ch: callback("D", ch.memo["callback"], lottery=3),
        REQUEST_3,
        keep_callback("callback", 3),
        tx(lambda ch: callback("C", ch.memo["callback"], lottery=3)),  # a user delivers it
        expect("the lottery is DRAWN", lambda ch: ch.net.node.model.state.lotteries[3].status == 4),
        expect("the nonce is unmapped", lambda ch: not _mapped("callback", 3)(ch)),
    ),
    _case(
        0x1703,
        "draw",
        "callback-superseded-request",  # still mapped, but the draw's request_id moved on
        lambda ch: callback("C", ch.memo["callback"], lottery=3),
        REQUEST_3,
        keep_callback("callback", 3),
        later(60),  # past the FIXED 60 s retry window (intent variant): request again
        REQUEST_3,
        expect("the first nonce is still mapped", _mapped("callback", 3)),
        expect("request_id moved on", lambda ch: not _current("callback", 3)(ch)),
    ),
    _case(
        0x1706,
        "draw",
        "callback-rng-count-differs",
        lambda ch: tampered(ch, 3, rng_count=lambda n: n + 1),
        REQUEST_3,
    ),
    _case(
        0x1704,
        "draw",
        "callback-client-seed-differs",
        lambda ch: tampered(ch, 3, client_seed=lambda n: n + 1),
        REQUEST_3,
    ),
    _case(
        0x1704,
        "draw",
        "callback-message-differs-signed-by-the-dvrf",
        lambda ch: tampered(ch, 3, message=_flip_last_byte, resign=True),
        REQUEST_3,
    ),
    _case(
        0x1210,
        "lottery_registry",
        "callback-lottery-canceled-while-requested",
        lambda ch: tampered(ch, 3),  # the dVRF's answer, unchanged
        REQUEST_3,
        tx(lambda ch: cancel(ch, 3, 3)),
    ),
    # supra_vrf::verify_callback (invented codes, see autobot.localnet.model.draw)
    _case(
        3,
        "supra_vrf",
        "callback-signed-by-another-key",
        _signed_by_operator_a,
        REQUEST_3,
        address=SUPRA_VRF_ADDRESS,
        extra=True,
    ),
    _case(
        3,
        "supra_vrf",
        "callback-former-sha3-signature",
        _legacy_signature,
        REQUEST_3,
        address=SUPRA_VRF_ADDRESS,
        extra=True,
    ),
    _case(
        3,
        "supra_vrf",
        "callback-signature-bit-flipped",
        lambda ch: tampered(ch, 3, signature=_flip_last_byte),
        REQUEST_3,
        address=SUPRA_VRF_ADDRESS,
        extra=True,
    ),
    _case(
        2,
        "supra_vrf",
        "callback-caller-differs",
        lambda ch: tampered(ch, 3, caller_address=lambda _: ACCOUNTS.operator("C").address),
        REQUEST_3,
        address=SUPRA_VRF_ADDRESS,
        extra=True,
    ),
]

WINNERS = [
    _case(0x1202, "payouts", "compute-winners-non-admin", lambda ch: compute(1, 1, signer="A")),
    _case(0x1501, "payouts", "compute-winners-zero-batch", lambda ch: compute(1, 0)),
    _case(0x1210, "payouts", "compute-winners-active-lottery", lambda ch: compute(1, 1)),
    _case(
        0x1801,
        "draw",
        "compute-winners-vrf-unanswered",
        lambda ch: compute(4, 10),
        tx(lambda ch: request(ch, 4), lambda ch: advance_status(4, 4)),  # DRAWN by hand
        scenario="custom",
    ),
    _case(
        0x1802,
        "payouts",
        "compute-winners-all-assigned",
        lambda ch: compute(1, 1),
        drawn(1),
        tx(lambda ch: compute(1, 10)),
        scenario="custom",
    ),
    _case(
        0x1804,
        "payouts",
        "compute-winners-dedup-exhausted",
        lambda ch: compute(2, 2),
        drawn(2),
        scenario="custom",
    ),
]

PRICE_FEED = [
    _case(
        0x1201,
        "price_feed",
        "init-price-feed-twice",
        lambda ch: call("admin", "price_feed::init_price_feed", u16(1)),
        extra=True,
    ),
    _case(
        0x1202,
        "price_feed",
        "init-price-feed-non-admin",
        lambda ch: call("A", "price_feed::init_price_feed", u16(1)),
    ),
    _case(0x1202, "price_feed", "register-feed-non-admin", lambda ch: register_feed(9, signer="A")),
    _case(
        0x1202,
        "price_feed",
        "update-price-non-admin",
        lambda ch: call("A", "price_feed::update_price", u64(1), u64(420_000), u64(T)),
    ),
    _case(
        0x1202,
        "price_feed",
        "set-fallback-non-admin",
        lambda ch: call("A", "price_feed::set_fallback", u64(1), flag(True), u8(2)),
    ),
    _case(
        0x1202,
        "price_feed",
        "clear-clamp-non-admin",
        lambda ch: call("A", "price_feed::clear_clamp", u64(2), u64(T)),
    ),
    _case(0x1901, "price_feed", "register-feed-existing-asset", lambda ch: register_feed(1)),
    _case(
        0x1902,
        "price_feed",
        "update-price-unknown-asset",
        lambda ch: call("admin", "price_feed::update_price", u64(99), u64(1), u64(T)),
    ),
    _case(
        0x1902,
        "price_feed",
        "set-fallback-unknown-asset",
        lambda ch: call("admin", "price_feed::set_fallback", u64(99), flag(True), u8(2)),
    ),
    _case(
        0x1902,
        "price_feed",
        "clear-clamp-unknown-asset",
        lambda ch: call("admin", "price_feed::clear_clamp", u64(99), u64(T)),
    ),
    # decimals are checked before the duplicate: asset 1 exists
    _case(
        0x1903, "price_feed", "register-feed-19-decimals", lambda ch: register_feed(1, decimals=19)
    ),
    _case(
        0x1908,
        "price_feed",
        "clear-clamp-not-clamped",
        lambda ch: call("admin", "price_feed::clear_clamp", u64(1), u64(T)),
    ),
]

CANCEL_AND_REFUND = [
    _case(0x1202, "lottery_registry", "cancel-non-admin", lambda ch: cancel(ch, 1, 3, signer="A")),
    # the admin check comes before the reason check
    _case(
        0x1202,
        "lottery_registry",
        "cancel-non-admin-reason-zero",
        lambda ch: cancel(ch, 1, 0, signer="A"),
    ),
    _case(0x1211, "lottery_registry", "cancel-reason-zero", lambda ch: cancel(ch, 1, 0)),
    _case(0x1204, "lottery_registry", "cancel-already-canceled", lambda ch: cancel(ch, 4, 3)),
    _case(
        0x1202,
        "lottery_registry",
        "advance-status-non-admin",
        lambda ch: advance_status(1, 2, signer="A"),
    ),
    _case(
        0x1204,
        "lottery_registry",
        "advance-status-canceled-to-active",
        lambda ch: advance_status(4, 1),
    ),
    _case(0x1202, "payouts", "refund-non-admin", lambda ch: refund(4, 1, 1, 1, 0, signer="A")),
    _case(0x1815, "payouts", "refund-lottery-not-canceled", lambda ch: refund(1, 1, 1, 1, 0)),
    _case(0x1816, "sales", "refund-empty-batch", lambda ch: refund(4, 1, 0, 0, 0)),
    _case(
        0x1815,
        "sales",
        "refund-canceled-without-sales",
        lambda ch: refund(6, 1, 1, 1, 0),
        scenario="custom",
    ),
    _case(
        0x1811,
        "sales",
        "refund-never-begun",
        lambda ch: refund(1, 1, 1, 1, 0),
        tx(lambda ch: advance_status(1, 7)),  # CANCELED without cancel_lottery_admin
    ),
    _case(0x1812, "sales", "refund-round-skipped", lambda ch: refund(4, 2, 1, 1, 0)),
    _case(
        0x1817,
        "sales",
        "refund-timestamp-backwards",
        lambda ch: refund(4, 2, 1, 1, 0, timestamp=T - 1),
        tx(lambda ch: refund(4, 1, 1, 1, 0, timestamp=T)),
    ),
    _case(
        0x1813,
        "sales",
        "refund-more-tickets-than-sold",
        lambda ch: refund(5, 1, 11, 0, 0),
        scenario="custom",
    ),
    _case(
        0x1814,
        "sales",
        "refund-more-than-proceeds",
        lambda ch: refund(5, 1, 1, 1_000, 1),
        scenario="custom",
    ),
    _case(
        0x1814,
        "sales",
        "refund-more-than-demo-proceeds",
        lambda ch: refund(4, 1, 1, ch.memo["proceeds"] + 1, 0),
        remember("proceeds", "views::get_refund_progress", 4, pick=_proceeds),
    ),
    _case(
        0x1104,
        "roles",
        "refund-cap-revoked",
        lambda ch: refund(4, 1, 1, 1, 0),
        tx(lambda ch: call("admin", "roles::revoke_payout_batch_cap_admin")),
    ),
    _case(0x1808, "roles", "refund-batch-too-large", lambda ch: refund(4, 1, 501, 1, 0)),
    _case(
        0x1809,
        "roles",
        "refund-cap-cooldown",
        lambda ch: refund(4, 2, 1, 1, 0, timestamp=T + 59),
        tx(lambda ch: set_cap(500, BIG_BUDGET, 60, 0), lambda ch: refund(4, 1, 1, 1, 0)),
    ),
    _case(
        0x180A,
        "roles",
        "refund-cap-nonce-stride",
        lambda ch: refund(4, 1, 1, 1, 0),
        tx(lambda ch: set_cap(500, BIG_BUDGET, 0, 2)),
    ),
    _case(
        0x180B,
        "roles",
        "refund-cap-operations-budget",
        lambda ch: refund(4, 1, 1, 0, 11),
        tx(lambda ch: set_cap(500, 10, 0, 0)),
    ),
    _case(0x1202, "payouts", "archive-non-admin", lambda ch: archive(4, signer="A")),
    _case(0x1210, "payouts", "archive-lottery-not-canceled", lambda ch: archive(1)),
    _case(
        0x1212,
        "payouts",
        "archive-without-cancellation-record",
        lambda ch: archive(1),
        tx(lambda ch: advance_status(1, 7)),
    ),
    _case(
        0x1817,
        "payouts",
        "archive-before-cancellation",
        lambda ch: archive(4, finalized_at=ch.memo["canceled_ts"] - 1),
        remember("canceled_ts", "views::get_cancellation", 4, pick=_canceled_ts),
    ),
    _case(0x1818, "payouts", "archive-refunds-incomplete", lambda ch: archive(4)),
    _case(
        0x1819,
        "payouts",
        "archive-refunded-amount-short",
        lambda ch: archive(5),
        tx(lambda ch: refund(5, 1, 10, 1, 0)),
        scenario="custom",
    ),
    _case(
        0x1B02,
        "history",
        "archive-again-with-another-summary",
        lambda ch: archive(5, finalized_at=T + 1),
        tx(lambda ch: refund(5, 1, 10, 750, 250), lambda ch: archive(5, finalized_at=T)),
        scenario="custom",
    ),
]

PAYOUTS = [
    _case(
        0x1202, "payouts", "payout-batch-non-admin", lambda ch: payout(1, 1, 0, 0, 0, signer="A")
    ),
    _case(0x1210, "payouts", "payout-batch-not-in-payout", lambda ch: payout(1, 1, 0, 0, 0)),
    _case(
        0x1805,
        "payouts",
        "payout-batch-without-winner-state",
        lambda ch: payout(3, 1, 0, 0, 0),
        tx(*(lambda ch, s=s: advance_status(3, s) for s in (3, 4, 5))),  # PAYOUT by hand
        scenario="custom",
    ),
    _case(
        0x1806,
        "payouts",
        "payout-batch-round-skipped",
        lambda ch: payout(1, 2, 1, 0, 0),
        drawn(1),
        tx(lambda ch: compute(1, 10)),
        scenario="custom",
    ),
    _case(
        0x1807,
        "payouts",
        "payout-batch-timestamp-backwards",
        lambda ch: payout(1, 2, 1, 0, 0, timestamp=T - 1),
        drawn(1),
        tx(lambda ch: compute(1, 10), lambda ch: payout(1, 1, 1, 0, 0, timestamp=T)),
        scenario="custom",
    ),
    _case(
        0x1304,
        "economics",
        "payout-batch-prize-over-allocation",
        lambda ch: payout(1, 1, 3, 751, 0),
        drawn(1),
        tx(lambda ch: compute(1, 10)),
        scenario="custom",
    ),
    _case(
        0x1305,
        "economics",
        "payout-batch-operations-over-allocation",
        lambda ch: payout(1, 1, 3, 0, 251),
        drawn(1),
        tx(lambda ch: compute(1, 10)),
        scenario="custom",
    ),
    _case(
        0x1808,
        "roles",
        "payout-batch-too-large",
        lambda ch: payout(1, 1, 501, 0, 0),
        drawn(1),
        tx(lambda ch: compute(1, 10)),
        scenario="custom",
    ),
    _case(0x1202, "payouts", "finalize-non-admin", lambda ch: finalize(1, signer="A")),
    _case(0x1210, "payouts", "finalize-not-in-payout", lambda ch: finalize(1)),
    _case(
        0x1B03,
        "payouts",
        "finalize-winners-incomplete",
        lambda ch: finalize(1),
        drawn(1),
        tx(lambda ch: compute(1, 1), lambda ch: advance_status(1, 5)),  # PAYOUT with 1 of 3
        scenario="custom",
    ),
]

OTHER_MODULES = [  # admin checks and init-twice of the remaining modules (§0), §2.7 codes
    _case(
        0x1202,
        "feature_switch",
        "set-mode-non-admin",
        lambda ch: call("A", "feature_switch::set_mode", u64(3), u8(1)),
        extra=True,
    ),
    _case(
        0x1402,
        "feature_switch",
        "set-mode-unknown-mode",
        lambda ch: call("admin", "feature_switch::set_mode", u64(3), u8(3)),
        extra=True,
    ),
    _case(
        0x1202,
        "vrf_deposit",
        "snapshot-non-admin",
        lambda ch: snapshot(ch, 1, 1, 1, signer="A"),
        extra=True,
    ),
    _case(
        0x1202,
        "vrf_deposit",
        "resume-requests-non-admin",
        lambda ch: call("A", "vrf_deposit::resume_requests", u64(T)),
        extra=True,
    ),
    _case(
        0x1202,
        "vrf_deposit",
        "init-vrf-deposit-non-admin",
        lambda ch: call("A", "vrf_deposit::init_vrf_deposit", u64(12_000), u64(0)),
        extra=True,
    ),
    _case(
        0x1202,
        "vrf_deposit",
        "update-config-non-admin",
        lambda ch: call("A", "vrf_deposit::update_config", u64(12_000), u64(0)),
        extra=True,
    ),
    _case(
        0x1201,
        "vrf_deposit",
        "init-vrf-deposit-twice",
        lambda ch: call("admin", "vrf_deposit::init_vrf_deposit", u64(12_000), u64(0)),
        extra=True,
    ),
    _case(
        0x170C,
        "vrf_deposit",
        "update-config-multiplier-below-one",
        lambda ch: call("admin", "vrf_deposit::update_config", u64(9_999), u64(0)),
        extra=True,
    ),
    _case(
        0x170B,
        "vrf_deposit",
        "snapshot-without-ledger",
        lambda ch: snapshot(ch, 1, 1, 1),
        scenario="empty",
        extra=True,
    ),
    _case(
        0x1202,
        "roles",
        "init-roles-non-admin",
        lambda ch: call("A", "roles::init_roles"),
        extra=True,
    ),
    _case(
        0x1201,
        "roles",
        "init-roles-twice",
        lambda ch: call("admin", "roles::init_roles"),
        extra=True,
    ),
    _case(
        0x1202, "roles", "set-cap-non-admin", lambda ch: set_cap(1, 1, 0, 0, signer="A"), extra=True
    ),
    _case(
        0x1202,
        "roles",
        "revoke-cap-non-admin",
        lambda ch: call("A", "roles::revoke_payout_batch_cap_admin"),
        extra=True,
    ),
    _case(
        0x1104,
        "roles",
        "revoke-cap-without-cap",
        lambda ch: call("admin", "roles::revoke_payout_batch_cap_admin"),
        scenario="empty",
        extra=True,
    ),
    _case(
        0x1201,
        "payouts",
        "init-payouts-twice",
        lambda ch: call("admin", "payouts::init_payouts"),
        extra=True,
    ),
    _case(
        0x1202,
        "payouts",
        "init-payouts-non-admin",
        lambda ch: call("A", "payouts::init_payouts"),
        extra=True,
    ),
]


def _sales_start(view: Any) -> int:
    return int(view["sales_window"]["sales_start"])


def _sales_end(view: Any) -> int:
    return int(view["sales_window"]["sales_end"])


SALES_START_5 = remember("start", "views::get_lottery", 5, pick=_sales_start)
"""Setup step: demo lottery 5's sales start in ``memo["start"]`` (purchases pass their own time)."""

SALES = [  # §2.1, each failing call a purchase signed by a dev account as the buyer
    _case(0x1601, "sales", "purchase-quantity-zero", lambda ch: purchase(5, 0, ch.now)),
    _case(0x1602, "sales", "purchase-quantity-over-128", lambda ch: purchase(5, 129, ch.now)),
    _case(0x120F, "sales", "purchase-lottery-closing", lambda ch: purchase(2, 1, ch.now)),
    _case(0x120E, "sales", "purchase-after-sales-end", lambda ch: purchase(1, 1, ch.now)),
    _case(
        0x160A,
        "sales",
        "purchase-new-buyer-in-grace-window",
        lambda ch: purchase(5, 1, ch.memo["end"] - 15),
        remember("end", "views::get_lottery", 5, pick=_sales_end),
    ),
    _case(
        0x1609,
        "sales",
        "purchase-eleventh-in-a-minute",
        lambda ch: purchase(5, 1, ch.memo["start"] + 59, block=2),
        SALES_START_5,
        burst(*[lambda ch: purchase(5, 1, ch.memo["start"], block=1)] * 10),
    ),
    _case(
        0x1608,
        "sales",
        "purchase-65th-in-one-block",
        lambda ch: purchase(5, 1, ch.memo["start"], block=77, signer="D"),
        SALES_START_5,
        # one buyer, a minute apart (its window resets), all naming block 77
        burst(
            *[
                lambda ch, i=i: purchase(5, 1, ch.memo["start"] + 60 * i, block=77)
                for i in range(64)
            ]
        ),
    ),
    _case(
        0x1603,
        "sales",
        "purchase-over-the-total-limit",
        lambda ch: purchase(7, 2, ch.now, signer="D"),
        tx(lambda ch: purchase(7, 2, ch.now)),
        scenario="custom",
    ),
    _case(
        0x1604,
        "sales",
        "purchase-over-the-per-address-limit",
        lambda ch: purchase(7, 1, ch.now),
        tx(lambda ch: purchase(7, 2, ch.now)),
        scenario="custom",
    ),
    _case(
        0x1605,
        "sales",
        "purchase-amount-over-u64",
        lambda ch: purchase(8, 2, ch.now),
        scenario="custom",
    ),
    _case(
        0x1106,
        "sales",
        "premium-purchase-without-cap",
        lambda ch: purchase(5, 1, ch.now, premium=True),
    ),
    _case(
        0x1107,
        "roles",
        "premium-purchase-cap-expired",
        lambda ch: purchase(5, 1, ch.now, premium=True),
        tx(lambda ch: grant_premium("C", ch.now - 1)),
    ),
]

PAYOUT_1 = (drawn(1), tx(lambda ch: compute(1, 10)))
"""Setup: custom lottery 1 drawn and its three winners computed (PAYOUT)."""

PARTNER_PAYOUTS = [  # §5.1 record_partner_payout_admin, §5.2 the partner payout cap
    _case(
        0x1202,
        "payouts",
        "partner-payout-non-admin",
        lambda ch: partner_payout(1, "D", 1, 1, signer="A"),
    ),
    _case(
        0x1210, "payouts", "partner-payout-not-in-payout", lambda ch: partner_payout(1, "D", 1, 1)
    ),
    _case(
        0x1105,
        "roles",
        "partner-payout-without-cap",
        lambda ch: partner_payout(1, "D", 1, 1),
        *PAYOUT_1,
        scenario="custom",
    ),
    _case(
        0x180C,
        "roles",
        "partner-payout-over-budget",
        lambda ch: partner_payout(1, "D", 101, 1),
        *PAYOUT_1,
        tx(lambda ch: upsert_partner("D", 100)),
        scenario="custom",
    ),
    _case(
        0x1810,
        "roles",
        "partner-payout-after-expiry",
        lambda ch: partner_payout(1, "D", 1, 1, timestamp=ch.now + 61),
        *PAYOUT_1,
        tx(lambda ch: upsert_partner("D", 100, expires_at=ch.now + 60)),
        scenario="custom",
    ),
    _case(
        0x180D,
        "roles",
        "partner-payout-cooldown",
        lambda ch: partner_payout(1, "D", 1, 2, timestamp=T + 59),
        *PAYOUT_1,
        tx(
            lambda ch: upsert_partner("D", 100, cooldown=60),
            lambda ch: partner_payout(1, "D", 1, 1),
        ),
        scenario="custom",
    ),
    _case(
        0x180E,
        "roles",
        "partner-payout-wrong-nonce",
        lambda ch: partner_payout(1, "D", 1, 2),
        *PAYOUT_1,
        tx(lambda ch: upsert_partner("D", 100, stride=1)),
        scenario="custom",
    ),
    _case(
        0x1806,
        "payouts",
        "partner-payout-round-behind-the-lottery",
        lambda ch: partner_payout(1, "D", 1, 1),
        *PAYOUT_1,
        tx(
            lambda ch: upsert_partner("D", 100, stride=1),
            lambda ch: payout(1, 1, 1, 0, 0),
            lambda ch: payout(1, 2, 1, 0, 0),
        ),
        scenario="custom",
    ),
    _case(
        0x1305,
        "economics",
        "partner-payout-over-the-operations-allocation",
        lambda ch: partner_payout(1, "D", 251, 1),  # 10 tickets at 100: operations 250
        *PAYOUT_1,
        tx(lambda ch: upsert_partner("D", 1_000)),
        scenario="custom",
    ),
]

ROLES = [  # §5.2 partner and premium caps: admin checks and missing caps
    _case(
        0x1202,
        "roles",
        "upsert-partner-cap-non-admin",
        lambda ch: upsert_partner("D", 1, signer="A"),
    ),
    _case(
        0x1202,
        "roles",
        "revoke-partner-cap-non-admin",
        lambda ch: call("A", "roles::revoke_partner_payout_cap_admin", addr(PACKAGE)),
    ),
    _case(
        0x1105,
        "roles",
        "revoke-partner-cap-missing",
        lambda ch: call("admin", "roles::revoke_partner_payout_cap_admin", addr(PACKAGE)),
    ),
    _case(0x1202, "roles", "grant-premium-non-admin", lambda ch: grant_premium("D", 0, signer="A")),
    _case(
        0x1202,
        "roles",
        "revoke-premium-non-admin",
        lambda ch: call("A", "roles::revoke_premium_access_admin", addr(PACKAGE)),
    ),
    _case(
        0x1106,
        "roles",
        "revoke-premium-missing",
        lambda ch: call("admin", "roles::revoke_premium_access_admin", addr(PACKAGE)),
    ),
    _case(
        0x1202,
        "roles",
        "cleanup-expired-non-admin",
        lambda ch: call("A", "roles::cleanup_expired_admin", u64(T)),
    ),
]

DUAL_WRITE = [  # §4: the summary write's dual-write control (legacy_bridge) and its entries
    _case(
        0x1B05,
        "legacy_bridge",
        "archive-expected-hash-missing",
        lambda ch: archive(6),
        tx(lambda ch: dual_write_flags(True, False, True)),
        scenario="custom",
    ),
    _case(
        0x1B02,
        "legacy_bridge",
        "finalize-expected-hash-mismatch",
        lambda ch: finalize(1),
        *PAYOUT_1,
        tx(lambda ch: expected_hash(1, H1), lambda ch: dual_write_flags(True, True, False)),
        scenario="custom",
    ),
    _case(
        0x1B02,
        "legacy_bridge",
        "archive-expected-hash-mismatch",
        lambda ch: archive(6),
        tx(lambda ch: expected_hash(6, H1), lambda ch: dual_write_flags(True, True, True)),
        scenario="custom",
    ),
    _case(
        0x1201,
        "legacy_bridge",
        "init-dual-write-twice",
        lambda ch: call("admin", "legacy_bridge::init_dual_write", flag(False), flag(False)),
    ),
    _case(
        0x1B04,
        "legacy_bridge",
        "init-dual-write-non-admin",
        lambda ch: call("A", "legacy_bridge::init_dual_write", flag(False), flag(False)),
    ),
    _case(
        0x1B04,
        "legacy_bridge",
        "update-flags-non-admin",
        lambda ch: dual_write_flags(True, True, True, signer="A"),
    ),
    _case(
        0x1B04,
        "legacy_bridge",
        "set-expected-hash-non-admin",
        lambda ch: expected_hash(1, H1, signer="A"),
    ),
    _case(
        0x1B04,
        "legacy_bridge",
        "clear-expected-hash-non-admin",
        lambda ch: call("A", "legacy_bridge::clear_expected_hash", u64(1)),
    ),
    _case(
        0x1B04,
        "legacy_bridge",
        "enable-mirror-non-admin",
        lambda ch: call("A", "legacy_bridge::enable_legacy_mirror"),
    ),
    _case(
        0x1B04,
        "legacy_bridge",
        "disable-mirror-non-admin",
        lambda ch: call("A", "legacy_bridge::disable_legacy_mirror"),
    ),
    _case(
        0x1B04,
        "history",
        "mirror-summary-non-admin",
        lambda ch: call("A", "history::mirror_summary_admin", u64(4)),
    ),
]

CASES: list[Case] = [
    *AUTOMATION,
    *DRAW,
    *CALLBACK,
    *WINNERS,
    *PRICE_FEED,
    *CANCEL_AND_REFUND,
    *PAYOUTS,
    *OTHER_MODULES,
    *SALES,
    *PARTNER_PAYOUTS,
    *ROLES,
    *DUAL_WRITE,
]

# --- the test ---------------------------------------------------------------------------------


async def _observe(ch: Chain, failing: Call, scenario: str) -> list[Any]:
    """Views whose answers the aborted transaction must not change: the global ones, the
    lottery the call names, and the price feeds (price-feed calls name an asset)."""
    queries: list[tuple[str, tuple[int | str, ...]]] = [
        ("views::status_overview", (T,)),
        ("views::list_automation_bots", ()),
        ("views::get_vrf_deposit_status", ()),
        ("views::list_finalized_ids", (0, 1000)),
        ("roles::payout_batch_cap_view", ()),
    ]
    if failing.lottery is not None:
        queries += [
            (function, (failing.lottery,))
            for function in (
                "views::get_lottery_status",
                "views::get_refund_progress",
                "views::get_cancellation",
                "draw::vrf_state_view",
                "payouts::winner_progress",
            )
        ]
    if failing.module == "price_feed":
        queries += [("price_feed::get_price_view", (a,)) for a in SCENARIO_ASSETS[scenario]]
    return list(await asyncio.gather(*(ch.view(function, *args) for function, args in queries)))


async def _start(case: Case, localnet_factory: Any, tmp_path: Path) -> Localnet:
    scenario = case.scenario
    if scenario == "custom":
        path = tmp_path / "abort-codes.toml"
        path.write_text(SCENARIO, encoding="utf-8")
        scenario = str(path)
    net: Localnet = await localnet_factory(
        scenario=scenario, vrf_retry=case.vrf_retry, block_interval_ms=20
    )
    return net


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
async def test_abort_code_is_reported_in_vm_status(
    case: Case, localnet_factory: Any, tx_factory: Any, tmp_path: Path
) -> None:
    net = await _start(case, localnet_factory, tmp_path)
    async with Chain.open(net, tx_factory) as ch:
        # given
        for step in case.setup:
            await step(ch)
        failing = case.act(ch)
        sender = ch.address(failing.signer)
        sequence_before = await ch.client.account_sequence_number(sender)
        secondary_before = (
            None
            if failing.secondary is None
            else await ch.client.account_sequence_number(ch.address(failing.secondary))
        )
        views_before = await _observe(ch, failing, case.scenario)
        model_before = net.node.model.to_json()

        # when
        done = await ch.send(failing)

        # then
        move = done["output"]["Move"]
        assert (done["status"], move["vm_status"]) == (
            "Fail",
            format_vm_status(case.address or net.info.package_address, case.module, case.code),
        )
        assert move["events"] == []
        assert done["header"]["sequence_number"] == sequence_before
        assert await ch.client.account_sequence_number(sender) == sequence_before + 1
        if failing.secondary is not None:
            secondary_after = await ch.client.account_sequence_number(ch.address(failing.secondary))
            assert secondary_after == secondary_before
        assert await _observe(ch, failing, case.scenario) == views_before
        assert net.node.model.to_json() == model_before


# --- what the table cannot show ---------------------------------------------------------------


async def test_a_disabled_draw_feature_aborts_in_draw(localnet: Localnet, tx_factory: Any) -> None:
    """0x1403 has no entry function or scenario key to set it up: the switch is seeded directly."""
    localnet.node.model.seed_feature_draw(False)
    async with Chain.open(localnet, tx_factory) as ch:
        for failing in (request(ch, 2), schedule(ch, 3, T)):
            done = await ch.send(failing)
            assert (done["status"], done["output"]["Move"]["vm_status"]) == (
                "Fail",
                format_vm_status(PACKAGE, "draw", 0x1403),
            )


def test_every_section_code_is_reached_or_listed_unreachable() -> None:
    section = frozenset().union(*SECTION_CODES.values())
    reached = {case.code for case in CASES}
    assert sorted(map(hex, section - reached - UNREACHABLE.keys())) == []
    assert sorted(map(hex, reached & UNREACHABLE.keys())) == []
    assert sorted(map(hex, UNREACHABLE.keys() - section)) == []
    assert {code for _, code in PATH_GAPS} <= section
    assert all(code in ABORT_NAMES for code in section)
    in_scope = [case for case in CASES if not case.extra]
    assert all(case.code in section for case in in_scope), [
        case.id for case in in_scope if case.code not in section
    ]
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


OPERATOR_FUNCTIONS = frozenset(
    {"announce_dry_run", "record_success", "record_failure", "report_call_rejected"}
)
BUYER_FUNCTIONS = frozenset({"purchase_tickets_public", "purchase_tickets_premium"})
"""Signed by any account (the buyer): no admin check to refuse."""
ADMIN_CHECK_CODES = frozenset({0x1202, 0x1A01, 0x1B04})
"""The admin checks' codes: most modules, ``automation``, ``history``/``legacy_bridge`` (§0)."""


def test_every_admin_entry_function_refuses_a_non_admin_signer() -> None:
    """Each admin-signed entry of the localnet's ABI has a case signed by someone else."""
    admin_only = {
        f"{module}::{function}"
        for (module, function), signature in ENTRY_FUNCTIONS.items()
        if signature.signers > 0 and function not in OPERATOR_FUNCTIONS | BUYER_FUNCTIONS
    }
    refused = {
        failing.function
        for case in CASES
        if case.code in ADMIN_CHECK_CODES
        for failing in [_dry_act(case)]
        if failing.signer != "admin"
    }
    assert sorted(admin_only - refused) == []


def _dry_act(case: Case) -> Call:
    """The case's failing call built without a chain (chain time, height and memo all 0)."""
    node = SimpleNamespace(chain_id=77)
    stub = SimpleNamespace(now=0, height=0, memo=defaultdict(int), net=SimpleNamespace(node=node))
    return case.act(stub)  # type: ignore[arg-type]
