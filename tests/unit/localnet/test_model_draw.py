"""draw: requests, the retry schedule, intent vs strict retries, exhaustion, callbacks (§2.2 to §2.4)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from model_builders import (
    ADMIN,
    NOW,
    STRANGER,
    abort,
    add_lottery,
    call,
    demo_model,
    empty_model,
    fulfil,
    names,
    request,
)
from nacl.signing import SigningKey, VerifyKey

from autobot.localnet.model import (
    LotteryStatus,
    ModelAbort,
    PackageModel,
    RetryPolicy,
    RetryStrategy,
    VrfStatus,
    dvrf,
)
from autobot.localnet.model.draw import (
    MAX_VRF_ATTEMPTS,
    SUPRA_VRF_ADDRESS,
    compute_retry_schedule,
)

EXP = RetryPolicy(strategy=RetryStrategy.EXPONENTIAL, base_delay_secs=300, max_delay_secs=1800)
MANUAL = RetryPolicy(strategy=RetryStrategy.MANUAL, base_delay_secs=0, max_delay_secs=0)


# --- the retry schedule ---------------------------------------------------------------------


def test_exponential_schedule_doubles_and_saturates() -> None:
    delays = [compute_retry_schedule(EXP, 0, attempt)[0] for attempt in range(1, 6)]
    assert delays == [300, 600, 1200, 1800, 1800]


def test_fixed_schedule_is_always_the_base() -> None:
    policy = RetryPolicy(strategy=RetryStrategy.FIXED, base_delay_secs=60, max_delay_secs=60)
    assert [compute_retry_schedule(policy, 10, a)[0] for a in (1, 2, 5)] == [70, 70, 70]


def test_manual_schedule_leaves_the_retry_time_to_an_admin() -> None:
    assert compute_retry_schedule(MANUAL, 1_000, 3) == (0, RetryStrategy.MANUAL)


@given(
    base=st.integers(min_value=1, max_value=10**6),
    extra=st.integers(min_value=0, max_value=10**7),
    attempt=st.integers(min_value=1, max_value=255),
)
def test_exponential_delay_stays_between_base_and_max(base: int, extra: int, attempt: int) -> None:
    policy = RetryPolicy(
        strategy=RetryStrategy.EXPONENTIAL, base_delay_secs=base, max_delay_secs=base + extra
    )
    delay = compute_retry_schedule(policy, 0, attempt)[0]
    assert base <= delay <= base + extra


# --- request_draw_admin ---------------------------------------------------------------------


def test_a_first_request_moves_the_lottery_to_draw_requested() -> None:
    model = demo_model()
    events = request(model, 2, NOW)
    assert names(events) == ["history::VrfRequestedEvent"]
    data = events[0].data
    assert (data["lottery_id"], data["attempt"], data["rng_count"], data["tickets_sold"]) == (
        "2",
        1,
        3,
        "80",
    )
    assert data["request_ts"] == str(NOW)
    state = model.state.draws[2]
    assert (state.status, state.attempt, state.retry_after_ts) == (
        VrfStatus.REQUESTED,
        1,
        NOW + 300,
    )
    assert model.state.lotteries[2].status == LotteryStatus.DRAW_REQUESTED
    assert model.pending_vrf_requests()[0].lottery_id == 2


def test_the_request_message_hashes_to_the_payload_hash() -> None:
    model = demo_model()
    events = request(model, 2, NOW)
    message = model.vrf_request_message(2)
    assert message is not None
    assert "0x" + hashlib.sha3_256(message).hexdigest() == events[0].data["payload_hash"]


@pytest.mark.parametrize(
    ("lottery_id", "signer", "code", "module"),
    [
        (2, STRANGER, 0x1202, "draw"),
        (1, ADMIN, 0x1210, "draw"),
        (99, ADMIN, 0x6507, "table"),
    ],
    ids=["not-admin", "active-lottery", "unknown-lottery"],
)
def test_request_refusals(lottery_id: int, signer: str, code: int, module: str) -> None:
    model = demo_model()
    err = abort(model, "draw", "request_draw_admin", lottery_id, NOW, 1, 6, 1, signers=(signer,))
    assert (err.code, err.module) == (code, module)


def test_a_lottery_without_tickets_aborts_snapshot_empty() -> None:
    model = empty_model()
    add_lottery(model, 7, tickets=0)
    assert abort(model, "draw", "request_draw_admin", 7, NOW, 1, 6, 1).code == 0x1707


def test_a_paused_deposit_refuses_requests_in_vrf_deposit() -> None:
    model = demo_model()
    call(model, "vrf_deposit", "record_snapshot_admin", 1, 10**10, 0, NOW)
    err = abort(model, "draw", "request_draw_admin", 2, NOW, 1, 6, 1)
    assert (err.code, err.module) == (0x170D, "vrf_deposit")


def test_a_disabled_draw_feature_refuses_requests() -> None:
    model = demo_model()
    model.seed_feature_draw(False)
    assert abort(model, "draw", "request_draw_admin", 2, NOW, 1, 6, 1).code == 0x1403


# --- retries: intent vs strict --------------------------------------------------------------


def test_intent_before_the_retry_time_aborts_retry_window() -> None:
    model = demo_model()
    request(model, 2, NOW)
    err = abort(model, "draw", "request_draw_admin", 2, NOW + 299, 1, 6, 1)
    assert (err.code, err.module) == (0x1709, "draw")


def test_intent_a_draw_past_its_retry_time_is_requested_again() -> None:
    model = demo_model()
    first = request(model, 2, NOW)[0].data
    second = request(model, 2, NOW + 300)[0].data
    assert (second["attempt"], second["client_seed"]) == (2, "1")
    assert second["request_id"] != first["request_id"]
    assert model.state.draws[2].retry_after_ts == NOW + 300 + 600


def test_strict_a_requested_draw_is_pending_forever() -> None:
    model = demo_model(vrf_retry="strict")
    request(model, 2, NOW)
    err = abort(model, "draw", "request_draw_admin", 2, NOW + 10**6, 1, 6, 1)
    assert err.code == 0x1701


def test_the_callback_of_a_superseded_request_aborts_nonce_unknown() -> None:
    model = demo_model()
    old = request(model, 2, NOW)[0].data["request_id"]
    request(model, 2, NOW + 300)
    with pytest.raises(ModelAbort) as caught:
        model.call(
            "draw",
            "vrf_callback",
            signers=[],
            args=model.vrf_callback_args(int(str(old))),
            system=True,
        )
    assert caught.value.code == 0x1703


def test_after_five_attempts_the_next_request_cancels_with_reason_1() -> None:
    model = demo_model()
    now = NOW
    for _ in range(MAX_VRF_ATTEMPTS):
        request(model, 3, now)
        now += 60
    events = request(model, 3, now)
    assert names(events) == ["history::LotteryCanceledEvent"]
    assert (events[0].data["reason_code"], events[0].data["previous_status"]) == (1, 3)
    state = model.state.draws[3]
    assert (state.status, state.consumed, state.request_id, state.payload_hash) == (
        VrfStatus.FAILED,
        True,
        0,
        b"",
    )
    assert model.state.lotteries[3].status == LotteryStatus.CANCELED
    assert model.state.cancellations[3].reason_code == 1
    assert model.state.sales[3].refund_active


def test_the_fifth_request_still_gets_its_retry_window() -> None:
    model = demo_model()
    now = NOW
    for _ in range(MAX_VRF_ATTEMPTS):
        request(model, 3, now)
        now += 60
    assert abort(model, "draw", "request_draw_admin", 3, now - 1, 1, 6, 1).code == 0x1709


def test_manual_policy_needs_a_schedule_before_a_retry() -> None:
    model = empty_model()
    add_lottery(model, 7, retry=MANUAL)
    request(model, 7, NOW)
    assert model.state.draws[7].retry_after_ts == 0
    assert abort(model, "draw", "request_draw_admin", 7, NOW + 5, 1, 6, 1).code == 0x170F
    call(model, "draw", "schedule_manual_retry_admin", 7, NOW + 5, NOW + 100)
    assert abort(model, "draw", "request_draw_admin", 7, NOW + 99, 1, 6, 1).code == 0x1709
    assert request(model, 7, NOW + 100)[0].data["attempt"] == 2


@pytest.mark.parametrize(
    ("retry", "deadline", "code"),
    [(MANUAL, 0, 0x1710), (MANUAL, NOW - 1, 0x1710), (EXP, NOW + 10, 0x170E)],
    ids=["zero", "past", "not-manual"],
)
def test_schedule_manual_retry_refusals(retry: RetryPolicy, deadline: int, code: int) -> None:
    model = empty_model()
    add_lottery(model, 7, retry=retry)
    request(model, 7, NOW)
    assert abort(model, "draw", "schedule_manual_retry_admin", 7, NOW, deadline).code == code


def test_schedule_manual_retry_before_any_request_aborts_not_requested() -> None:
    model = empty_model()
    add_lottery(model, 7, retry=MANUAL)
    assert abort(model, "draw", "schedule_manual_retry_admin", 7, NOW, NOW + 1).code == 0x1702


# --- the callback ---------------------------------------------------------------------------


def test_a_verified_callback_fulfils_the_draw_and_moves_the_lottery_to_drawn() -> None:
    model = demo_model()
    request(model, 2, NOW)
    events = fulfil(model, 2)
    assert names(events) == ["history::VrfFulfilledEvent"]
    assert events[0].data["fulfilled_ts"] == str(NOW)
    state = model.state.draws[2]
    assert (state.status, state.consumed, len(state.verified_numbers)) == (
        VrfStatus.FULFILLED,
        False,
        3,
    )
    assert model.state.lotteries[2].status == LotteryStatus.DRAWN
    assert model.pending_vrf_requests() == []


def _callback(model: PackageModel, args: list[object]) -> ModelAbort:
    with pytest.raises(ModelAbort) as caught:
        model.call("draw", "vrf_callback", signers=[], args=args, system=True)
    return caught.value


@pytest.mark.parametrize(
    ("index", "value", "code", "module"),
    [
        (0, 999, 0x1703, "draw"),
        (4, 2, 0x1706, "draw"),
        (5, 77, 0x1704, "draw"),
        (1, b"forged", 0x1704, "draw"),
        (2, b"\x00" * 64, 3, "supra_vrf"),
        (2, b"", 3, "supra_vrf"),
        (2, b"\x01" * 65, 3, "supra_vrf"),
        (3, STRANGER, 2, "supra_vrf"),
    ],
    ids=[
        "nonce",
        "rng-count",
        "client-seed",
        "message",
        "signature",
        "empty-sig",
        "long-sig",
        "caller",
    ],
)
def test_callback_refusals(index: int, value: object, code: int, module: str) -> None:
    model = demo_model()
    request(model, 2, NOW)
    args = model.vrf_callback_args(model.state.draws[2].request_id)
    args[index] = value
    err = _callback(model, args)
    assert (err.code, err.module) == (code, module)
    assert model.state.lotteries[2].status == LotteryStatus.DRAW_REQUESTED


def test_a_callback_for_a_canceled_lottery_aborts_and_leaves_vrf_requested() -> None:
    model = demo_model()
    request(model, 2, NOW)
    call(model, "cancellation", "cancel_lottery_admin", 2, 3, NOW + 1)
    args = model.vrf_callback_args(model.state.draws[2].request_id)
    err = _callback(model, args)
    assert (err.code, err.module) == (0x1210, "lottery_registry")
    assert model.state.draws[2].status == VrfStatus.REQUESTED


def test_a_second_callback_aborts_nonce_unknown() -> None:
    model = demo_model()
    request(model, 2, NOW)
    nonce = model.state.draws[2].request_id
    args = model.vrf_callback_args(nonce)
    fulfil(model, 2)
    assert _callback(model, args).code == 0x1703


# --- the localnet dVRF's signature ------------------------------------------------------------


def _dev_key(label: str) -> SigningKey:
    """A dev key as ``autobot.localnet.accounts`` derives them."""
    return SigningKey(hashlib.sha3_256(b"autobot-localnet-dev-key:" + label.encode()).digest())


def test_the_dvrf_key_is_the_dev_key_labelled_dvrf_oracle() -> None:
    assert dvrf.DVRF_KEY_LABEL == "dvrf-oracle"
    assert bytes(_dev_key("dvrf-oracle").verify_key) == dvrf.public_key()
    assert dvrf.public_key().hex() == (
        "00092cd202a7f57afb6951d421e274f957450ca48656bc2506ca22ac097bbd31"
    )


def test_the_callback_carries_the_dvrf_ed25519_signature_of_the_message() -> None:
    model = demo_model()
    request(model, 2, NOW)
    nonce, message, signature, *_ = model.vrf_callback_args(model.state.draws[2].request_id)
    assert isinstance(message, bytes) and isinstance(signature, bytes)
    assert len(signature) == 64
    assert VerifyKey(dvrf.public_key()).verify(message, signature) == message
    assert model.vrf_callback_args(int(str(nonce)))[2] == signature  # deterministic (RFC 8032)


def test_the_random_numbers_derive_from_the_signature() -> None:
    model = demo_model()
    request(model, 2, NOW)
    signature = model.vrf_callback_args(model.state.draws[2].request_id)[2]
    assert isinstance(signature, bytes)
    fulfil(model, 2)
    numbers = model.state.draws[2].verified_numbers
    assert numbers == dvrf.numbers(signature, 3)
    assert numbers[0] == int.from_bytes(
        hashlib.sha3_256(b"autobot-localnet/dvrf-number" + signature + bytes(8)).digest(), "little"
    )
    assert len(set(numbers)) == 3


def _resigned(model: PackageModel, sign: Callable[[bytes], bytes]) -> list[object]:
    """Lottery 2's pending callback with ``sign(message)`` as its signature."""
    args = model.vrf_callback_args(model.state.draws[2].request_id)
    message = args[1]
    assert isinstance(message, bytes)
    args[2] = sign(message)
    return args


@pytest.mark.parametrize(
    "forge",
    [
        lambda m: _dev_key("admin").sign(m).signature,
        lambda m: (
            hashlib.sha3_256(b"localnet-dvrf-sig-1" + m).digest()
            + hashlib.sha3_256(b"localnet-dvrf-sig-2" + m).digest()
        ),
        lambda m: dvrf.sign(m + b"\x00"),
        lambda m: dvrf.sign(m)[:63] + bytes([dvrf.sign(m)[63] ^ 0x01]),
    ],
    ids=["another-dev-key", "former-sha3-scheme", "other-message", "bit-flipped"],
)
def test_a_signature_not_made_by_the_dvrf_key_for_this_message_aborts_in_supra_vrf(
    forge: Callable[[bytes], bytes],
) -> None:
    model = demo_model()
    request(model, 2, NOW)
    err = _callback(model, _resigned(model, forge))
    assert (err.code, err.module, err.address) == (3, "supra_vrf", SUPRA_VRF_ADDRESS)
    assert model.state.draws[2].status == VrfStatus.REQUESTED
    assert len(model.pending_vrf_requests()) == 1


def test_a_non_canonical_encoding_of_the_dvrf_signature_is_refused() -> None:
    """S + L verifies in lax ed25519 implementations; libsodium refuses it (no re-encoding)."""
    order = 2**252 + 27742317777372353535851937790883648493
    model = demo_model()
    request(model, 2, NOW)

    def malleate(message: bytes) -> bytes:
        signature = dvrf.sign(message)
        s_value = int.from_bytes(signature[32:], "little") + order
        assert s_value < 2**256
        return signature[:32] + s_value.to_bytes(32, "little")

    assert _callback(model, _resigned(model, malleate)).code == 3


def test_a_callback_submitted_by_a_user_fulfils_like_the_oracle_s() -> None:
    """``vrf_callback`` takes no signer: a user's transaction calls it with none, not system."""
    model = demo_model()
    request(model, 2, NOW)
    args = model.vrf_callback_args(model.state.draws[2].request_id)
    events = model.call("draw", "vrf_callback", signers=[], args=args, system=False)
    assert names(events) == ["history::VrfFulfilledEvent"]
    assert model.state.lotteries[2].status == LotteryStatus.DRAWN


def test_vrf_callback_takes_no_signer_argument() -> None:
    model = demo_model()
    request(model, 2, NOW)
    args = model.vrf_callback_args(model.state.draws[2].request_id)
    with pytest.raises(ValueError, match="takes 0 signer"):
        model.call("draw", "vrf_callback", signers=[STRANGER], args=args)
