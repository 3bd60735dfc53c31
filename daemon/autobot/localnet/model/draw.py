"""``draw``: VRF requests, retries and callbacks (§2.2 to §2.4), with the localnet's dVRF.

**Retry behaviour** (docs/decisions.md §1). ``vrf_retry="strict"`` is the package: a lottery whose VRF is
``REQUESTED`` aborts ``E_VRF_PENDING`` on every further request. ``vrf_retry="intent"`` (default)
follows the handbook: a ``REQUESTED`` draw may be requested again once its retry window has
passed. For a ``REQUESTED`` draw the retry gates run *before* the exhaustion check, so that the
fifth request also gets its full window before the lottery is given up:

    MANUAL strategy with no schedule → E_VRF_MANUAL_SCHEDULE_REQUIRED (0x170F)
    now < retry_after_ts              → E_VRF_RETRY_WINDOW (0x1709)

then, as in the package: ``attempt >= MAX_VRF_ATTEMPTS`` (5) runs the exhaustion path (VRF
``FAILED``, the lottery cancelled with reason 1, success with no new request); otherwise the
request proceeds with ``attempt + 1``, a new nonce and a new schedule. Everything else (feature
switch, deposit pause, status, rng count, empty snapshot, FULFILLED-not-consumed) is the package's
order. ``request_draw_admin`` also checks the admin signer first (``E_REGISTRY_MISSING`` in
``draw``), which the package leaves to the dVRF whitelist.

**The localnet dVRF** (``supra_vrf`` at the dVRF address). ``rng_request`` hands out nonces
1, 2, 3, … and keeps each request in an inbox: lottery id, attempt, request time, rng count,
client seed, caller (the package address) and the message, which is the BCS ``PayloadV1`` whose
sha3-256 is the stored ``payload_hash``. The inbox is the dVRF's on-chain table of pending
requests: only a verified callback removes a request (a request the oracle withholds, or whose
callback aborted, stays pending). ``PackageModel.vrf_callback_args(nonce)`` gives the arguments
the localnet dVRF sends, its ed25519 signature of the message included (``dvrf.sign``: a dev key,
see ``model/dvrf.py``, which also derives the random numbers from the signature). The oracle
submits them; so may anyone: ``vrf_callback`` takes no signer.

``verify_callback`` aborts in ``supra_vrf`` with invented codes: 1 (no such request in the inbox),
2 (message, caller, rng count or client seed differ from the request), 3 (the signature does not
verify under the dVRF's public key). A verified callback removes the request from the inbox.
Requests superseded by a retry stay in the inbox (a real dVRF would still answer them); their
callbacks abort ``E_VRF_NONCE_UNKNOWN`` because the lottery's ``request_id`` moved on.
"""

from __future__ import annotations

from autobot.localnet.model import dvrf, feature_switch, registry, sales
from autobot.localnet.model.core import (
    TABLE_ADDRESS,
    TABLE_NOT_FOUND,
    Args,
    CallContext,
    LotteryStatus,
    ModelAbort,
    RetryStrategy,
    VrfStatus,
    bcs_bytes,
    bcs_u8,
    bcs_u64,
    bcs_u256,
    bcs_vector,
    j_bytes,
    j_u64,
    sha3,
)
from autobot.localnet.model.state import DrawState, PackageState, RetryPolicy, VrfRequest

__all__ = [
    "MAX_VRF_ATTEMPTS",
    "SUPRA_VRF_ADDRESS",
    "callback_args",
    "compute_retry_schedule",
    "init_draw",
    "request_draw_admin",
    "schedule_manual_retry_admin",
    "vrf_callback",
]

MODULE = "draw"
SUPRA_VRF_ADDRESS = "0x186ba2ba88f4a14ca51f6ce42702c7ebdf6bfcf738d897cc98b986ded6f1219e"
MAX_VRF_ATTEMPTS = 5
MAX_RNG_COUNT = 255
MAX_CLIENT_SEED = 2**64 - 1
SCHEMA_VERSION = 1
EVENT_VERSION = 1
CATEGORY_DRAW = 4

E_ALREADY_INITIALIZED = 0x1201
E_REGISTRY_MISSING = 0x1202
E_DRAW_STATUS_INVALID = 0x1210
E_FEATURE_DISABLED = 0x1403
E_VRF_PENDING = 0x1701
E_VRF_NOT_REQUESTED = 0x1702
E_VRF_NONCE_UNKNOWN = 0x1703
E_VRF_PAYLOAD_MISMATCH = 0x1704
E_VRF_ATTEMPT_OUT_OF_ORDER = 0x1705
E_VRF_RNG_COUNT_INVALID = 0x1706
E_VRF_SNAPSHOT_EMPTY = 0x1707
E_VRF_CONSUMED = 0x1708
E_VRF_RETRY_WINDOW = 0x1709
E_VRF_CLIENT_SEED_OVERFLOW = 0x170A
E_VRF_REQUESTS_PAUSED = 0x170D
E_VRF_RETRY_POLICY_INVALID = 0x170E
E_VRF_MANUAL_SCHEDULE_REQUIRED = 0x170F
E_VRF_MANUAL_DEADLINE = 0x1710
E_WINNER_VRF_NOT_READY = 0x1801
E_DVRF_UNKNOWN_REQUEST = 1
E_DVRF_REQUEST_MISMATCH = 2
E_DVRF_BAD_SIGNATURE = 3

_DRAWABLE = frozenset({LotteryStatus.CLOSING, LotteryStatus.DRAW_REQUESTED})


def compute_retry_schedule(policy: RetryPolicy, now_ts: int, attempt: int) -> tuple[int, int]:
    """(retry_after_ts, strategy) for the request numbered ``attempt`` (1-based).

    MANUAL → 0 (an admin schedules it); FIXED → base; EXPONENTIAL → base doubled ``attempt - 1``
    times, each step saturating at ``max_delay_secs``.
    """
    if policy.strategy == RetryStrategy.MANUAL:
        return 0, int(policy.strategy)
    delay = policy.base_delay_secs
    if policy.strategy != RetryStrategy.FIXED and attempt > 1:
        top = policy.max_delay_secs
        for _ in range(attempt - 1):
            delay = top if delay >= top or delay > top // 2 else min(delay * 2, top)
    return now_ts + delay, int(policy.strategy)


def _ledger(c: CallContext) -> None:
    if not c.state.g.draw:
        c.abort(E_REGISTRY_MISSING, MODULE)


def init_draw(c: CallContext, a: Args) -> None:
    registry.require_admin(c, MODULE)
    if c.state.g.draw:
        c.abort(E_ALREADY_INITIALIZED, MODULE)
    c.write(c.state.globals_, 0).draw = True


def _feature(c: CallContext) -> None:
    """Feature DRAW (§2.1), once the switch exists; asserted here (0x1403 in ``draw``)."""
    if feature_switch.is_initialized(c.state) and not feature_switch.is_enabled(
        c.state, feature_switch.FEATURE_DRAW, premium=False
    ):
        c.abort(E_FEATURE_DISABLED, MODULE)


def payload_v1(
    *,
    lottery_id: int,
    config_version: int,
    snapshot_hash: bytes,
    slots_checksum: bytes,
    rng_count: int,
    client_seed: int,
    attempt: int,
    closing_block_height: int,
    chain_id: int,
) -> bytes:
    return b"".join(
        (
            bcs_u64(lottery_id),
            bcs_u64(config_version),
            bcs_bytes(snapshot_hash),
            bcs_bytes(slots_checksum),
            bcs_u8(rng_count),
            bcs_u64(client_seed),
            bcs_u8(attempt),
            bcs_u64(closing_block_height),
            bcs_u8(chain_id),
        )
    )


def request_draw_admin(c: CallContext, a: Args) -> None:
    """``draw::request_draw_admin(admin, lottery_id, now_ts, closing_block_height, chain_id, num_confirmations)``."""
    lottery_id, now_ts, closing_height, chain_id = a.u(0), a.u(1), a.u(2), a.u(3)
    a.u(4)  # num_confirmations: only the dVRF reads it
    registry.require_admin(c, MODULE)
    _feature(c)
    deposit = c.state.g.vrf_deposit
    if deposit is not None and deposit.requests_paused:
        c.abort(E_VRF_REQUESTS_PAUSED, "vrf_deposit")
    lottery = registry.get_lottery(c.state, lottery_id)
    if lottery.status not in _DRAWABLE:
        c.abort(E_DRAW_STATUS_INVALID, MODULE)
    rng_count = len(lottery.config.prize_plan)
    if not 0 < rng_count <= MAX_RNG_COUNT:
        c.abort(E_VRF_RNG_COUNT_INVALID, "types")
    snapshot_hash, tickets_sold, _ = sales.snapshot_for_draw(c.state, lottery_id)
    if tickets_sold == 0:
        c.abort(E_VRF_SNAPSHOT_EMPTY, MODULE)
    _ledger(c)
    if lottery_id not in c.state.draws:
        c.put(c.state.draws, lottery_id, DrawState())
    state = c.state.draws[lottery_id]
    requested = state.status == VrfStatus.REQUESTED
    if requested and c.vrf_retry == "intent":
        _manual_gate(c, state)
        _window_gate(c, state, now_ts)
    if state.attempt >= MAX_VRF_ATTEMPTS:
        _exhaust(c, lottery_id, now_ts)
        return
    if requested and c.vrf_retry != "intent":
        c.abort(E_VRF_PENDING, MODULE)
    _manual_gate(c, state)
    if state.status == VrfStatus.FULFILLED and not state.consumed:
        # FULFILLED lotteries are DRAWN, so the status check above already refused them;
        # kept for fidelity with the package's order.
        c.abort(E_VRF_PENDING, MODULE)  # pragma: no cover
    _window_gate(c, state, now_ts)
    if state.attempt >= 255:
        c.abort(E_VRF_ATTEMPT_OUT_OF_ORDER, MODULE)
    if state.next_client_seed >= MAX_CLIENT_SEED:
        c.abort(E_VRF_CLIENT_SEED_OVERFLOW, MODULE)
    attempt = state.attempt + 1
    client_seed = state.next_client_seed
    config = lottery.config
    message = payload_v1(
        lottery_id=lottery_id,
        config_version=config.config_version,
        snapshot_hash=snapshot_hash,
        slots_checksum=lottery.slots_checksum,
        rng_count=rng_count,
        client_seed=client_seed,
        attempt=attempt,
        closing_block_height=closing_height,
        chain_id=chain_id,
    )
    payload_hash = sha3(message)
    nonce = _rng_request(c, lottery_id, attempt, now_ts, rng_count, client_seed, message)
    retry_after, strategy = compute_retry_schedule(config.retry_policy, now_ts, attempt)
    live = c.write(c.state.draws, lottery_id)
    live.attempt = attempt
    live.rng_count = rng_count
    live.next_client_seed = client_seed + 1
    live.request_id = nonce
    live.payload_hash = payload_hash
    live.schema_version = SCHEMA_VERSION
    live.status = int(VrfStatus.REQUESTED)
    live.consumed = False
    live.retry_after_ts = retry_after
    live.retry_strategy = int(strategy)
    live.closing_block_height = closing_height
    live.chain_id = chain_id
    live.client_seed = client_seed
    live.last_request_ts = now_ts
    live.snapshot_hash = snapshot_hash
    live.total_tickets = tickets_sold
    live.payload = message
    live.verified_numbers = ()
    live.winners_batch_hash = b""
    live.checksum_after_batch = b""
    if nonce in c.state.nonce_to_lottery:
        c.abort(E_VRF_NONCE_UNKNOWN, MODULE)
    c.put(c.state.nonce_to_lottery, nonce, lottery_id)
    c.emit(
        "history",
        "VrfRequestedEvent",
        [
            ("event_version", EVENT_VERSION),
            ("event_category", CATEGORY_DRAW),
            ("lottery_id", j_u64(lottery_id)),
            ("request_id", j_u64(nonce)),
            ("attempt", attempt),
            ("rng_count", rng_count),
            ("client_seed", j_u64(client_seed)),
            ("payload_hash", j_bytes(payload_hash)),
            ("snapshot_hash", j_bytes(snapshot_hash)),
            ("tickets_sold", j_u64(tickets_sold)),
            ("closing_block_height", j_u64(closing_height)),
            ("chain_id", chain_id),
            ("request_ts", j_u64(now_ts)),
        ],
    )
    registry.mark_status(c, lottery_id, expect=_DRAWABLE, to=LotteryStatus.DRAW_REQUESTED)


def _manual_gate(c: CallContext, state: DrawState) -> None:
    if (
        state.attempt > 0
        and state.retry_strategy == RetryStrategy.MANUAL
        and state.retry_after_ts == 0
    ):
        c.abort(E_VRF_MANUAL_SCHEDULE_REQUIRED, MODULE)


def _window_gate(c: CallContext, state: DrawState, now_ts: int) -> None:
    if state.retry_after_ts > 0 and now_ts < state.retry_after_ts:
        c.abort(E_VRF_RETRY_WINDOW, MODULE)


def _exhaust(c: CallContext, lottery_id: int, now_ts: int) -> None:
    live = c.write(c.state.draws, lottery_id)
    live.status = int(VrfStatus.FAILED)
    live.consumed = True
    live.retry_after_ts = 0
    live.request_id = 0
    live.payload_hash = b""
    live.verified_numbers = ()
    live.payload = b""
    live.winners_batch_hash = b""
    live.checksum_after_batch = b""
    registry.cancel_lottery(c, lottery_id, registry.CANCEL_REASON_VRF_FAILURE, now_ts)


def _rng_request(
    c: CallContext,
    lottery_id: int,
    attempt: int,
    now_ts: int,
    rng_count: int,
    client_seed: int,
    message: bytes,
) -> int:
    g = c.write(c.state.globals_, 0)
    g.last_vrf_nonce += 1
    nonce = g.last_vrf_nonce
    c.put(
        c.state.vrf_inbox,
        nonce,
        VrfRequest(
            nonce=nonce,
            lottery_id=lottery_id,
            attempt=attempt,
            request_ts=now_ts,
            rng_count=rng_count,
            client_seed=client_seed,
            caller_address=c.package,
            message=message,
        ),
    )
    return nonce


def schedule_manual_retry_admin(c: CallContext, a: Args) -> None:
    lottery_id, now_ts, retry_after_ts = a.u(0), a.u(1), a.u(2)
    registry.require_admin(c, MODULE)
    _feature(c)
    lottery = registry.get_lottery(c.state, lottery_id)
    if lottery.status not in _DRAWABLE:
        c.abort(E_DRAW_STATUS_INVALID, MODULE)
    _ledger(c)
    state = c.state.draws.get(lottery_id)
    if state is None:
        c.abort(E_VRF_NOT_REQUESTED, MODULE)
    if state.retry_strategy != RetryStrategy.MANUAL:
        c.abort(E_VRF_RETRY_POLICY_INVALID, MODULE)
    if retry_after_ts == 0 or retry_after_ts < now_ts:
        c.abort(E_VRF_MANUAL_DEADLINE, MODULE)
    c.write(c.state.draws, lottery_id).retry_after_ts = retry_after_ts


# --- dVRF -----------------------------------------------------------------------------------


def callback_args(state: PackageState, nonce: int) -> list[object]:
    """The six ``vrf_callback`` arguments the localnet dVRF sends for a pending ``nonce``.

    ``KeyError`` if the inbox has no such request (never made, or already answered).
    """
    request = state.vrf_inbox.get(nonce)
    if request is None:
        raise KeyError(f"no pending dVRF request with nonce {nonce}")
    return [
        nonce,
        request.message,
        dvrf.sign(request.message),
        request.caller_address,
        request.rng_count,
        request.client_seed,
    ]


def _verify_callback(
    c: CallContext,
    nonce: int,
    message: bytes,
    signature: bytes,
    caller: str,
    rng_count: int,
    client_seed: int,
) -> tuple[int, ...]:
    request = c.state.vrf_inbox.get(nonce)
    if request is None:
        c.abort(E_DVRF_UNKNOWN_REQUEST, "supra_vrf", address=SUPRA_VRF_ADDRESS)
    if (
        request.message != message
        or request.caller_address != caller
        or request.rng_count != rng_count
        or request.client_seed != client_seed
    ):
        c.abort(E_DVRF_REQUEST_MISMATCH, "supra_vrf", address=SUPRA_VRF_ADDRESS)
    if not dvrf.verify(message, signature):
        c.abort(E_DVRF_BAD_SIGNATURE, "supra_vrf", address=SUPRA_VRF_ADDRESS)
    c.delete(c.state.vrf_inbox, nonce)
    return dvrf.numbers(signature, rng_count)


def vrf_callback(c: CallContext, a: Args) -> None:
    """``draw::vrf_callback(nonce, message, signature, caller_address, rng_count, client_seed)``.

    No signer: any account may submit it (the localnet's oracle is one submitter); only the
    dVRF's signature, checked by ``_verify_callback``, makes it succeed.
    """
    nonce, message, signature = a.u(0), a.raw(1), a.raw(2)
    caller, rng_count, client_seed = a.addr(3), a.u(4), a.u(5)
    _ledger(c)
    lottery_id = c.state.nonce_to_lottery.get(nonce)
    if lottery_id is None:
        c.abort(E_VRF_NONCE_UNKNOWN, MODULE)
    c.delete(c.state.nonce_to_lottery, nonce)
    state = c.state.draws[lottery_id]
    if state.request_id != nonce:
        c.abort(E_VRF_NONCE_UNKNOWN, MODULE)
    if state.status != VrfStatus.REQUESTED:
        c.abort(E_VRF_NOT_REQUESTED, MODULE)
    if state.consumed:
        c.abort(E_VRF_CONSUMED, MODULE)
    if state.rng_count != rng_count:
        c.abort(E_VRF_RNG_COUNT_INVALID, MODULE)
    if state.client_seed != client_seed:
        c.abort(E_VRF_PAYLOAD_MISMATCH, MODULE)
    message_hash = sha3(message)
    if message_hash != state.payload_hash:
        c.abort(E_VRF_PAYLOAD_MISMATCH, MODULE)
    numbers = _verify_callback(c, nonce, message, signature, caller, rng_count, client_seed)
    live = c.write(c.state.draws, lottery_id)
    live.verified_numbers = numbers
    live.status = int(VrfStatus.FULFILLED)
    live.consumed = False
    live.retry_after_ts = 0
    c.emit(
        "history",
        "VrfFulfilledEvent",
        [
            ("event_version", EVENT_VERSION),
            ("event_category", CATEGORY_DRAW),
            ("lottery_id", j_u64(lottery_id)),
            ("request_id", j_u64(nonce)),
            ("attempt", live.attempt),
            ("payload_hash", j_bytes(live.payload_hash)),
            ("message_hash", j_bytes(message_hash)),
            ("rng_count", rng_count),
            ("client_seed", j_u64(client_seed)),
            ("verified_seed_hash", j_bytes(sha3(bcs_vector(numbers, bcs_u256)))),
            ("closing_block_height", j_u64(live.closing_block_height)),
            ("chain_id", live.chain_id),
            ("fulfilled_ts", j_u64(live.last_request_ts)),
        ],
    )
    registry.mark_status(
        c,
        lottery_id,
        expect=frozenset({LotteryStatus.DRAW_REQUESTED}),
        to=LotteryStatus.DRAWN,
    )


def prepare_for_winners(c: CallContext, lottery_id: int) -> DrawState:
    """``draw::prepare_for_winner_computation``: FULFILLED and unconsumed; marks consumed."""
    _ledger(c)
    state = c.state.draws.get(lottery_id)
    if state is None:
        raise ModelAbort(TABLE_NOT_FOUND, "table", address=TABLE_ADDRESS)
    if state.status != VrfStatus.FULFILLED:
        c.abort(E_WINNER_VRF_NOT_READY, MODULE)
    if state.consumed:
        c.abort(E_VRF_CONSUMED, MODULE)
    live = c.write(c.state.draws, lottery_id)
    live.consumed = True
    return live
