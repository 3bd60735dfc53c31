"""BCS out: argument bytes, entry functions, the action hash pre-image, signed transactions."""

from __future__ import annotations

import hashlib
import pickle
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from supra_sdk.authenticator import MultiAgentAuthenticator
from supra_sdk.bcs import Deserializer, Serializer
from supra_sdk.transactions import EntryFunction, SupraTransaction

from autobot.chain.codec import action_hash, action_preimage, encode_arg, entry_function
from autobot.chain.signer import Signer, signed_transaction_bytes
from autobot.domain import calls
from autobot.domain.calls import U8, U16, U64, U128, Address, Bool, Bytes, Call, OptU64, VecU64
from autobot.localnet.arguments import decode_bcs_argument

PACKAGE = "0xbc959517601034979f21fa2f2f41862219ea38554be27c2fdb4fd9a392caafe0"


def test_argument_bytes_are_bcs() -> None:
    assert encode_arg(U8(7)) == b"\x07"
    assert encode_arg(U16(0x0102)) == b"\x02\x01"
    assert encode_arg(U64(1)) == b"\x01" + b"\x00" * 7
    assert encode_arg(U128(1)) == b"\x01" + b"\x00" * 15
    assert encode_arg(Bool(True)) == b"\x01"
    assert encode_arg(Address("0x1")) == b"\x00" * 31 + b"\x01"
    assert encode_arg(Bytes(b"ab")) == b"\x02ab"
    assert encode_arg(VecU64((1, 2))) == b"\x02" + struct.pack("<QQ", 1, 2)
    assert encode_arg(OptU64(None)) == b"\x00"
    assert encode_arg(OptU64(5)) == b"\x01" + struct.pack("<Q", 5)


_args = st.one_of(
    st.integers(0, 255).map(U8),
    st.integers(0, 2**16 - 1).map(U16),
    st.integers(0, 2**64 - 1).map(U64),
    st.integers(0, 2**128 - 1).map(U128),
    st.booleans().map(Bool),
    st.binary(min_size=1, max_size=32).map(lambda b: Address("0x" + b.hex())),
    st.binary(max_size=300).map(Bytes),
    st.lists(st.integers(0, 2**64 - 1), max_size=5).map(lambda v: VecU64(tuple(v))),
    st.one_of(st.none(), st.integers(0, 2**64 - 1)).map(OptU64),
)


@settings(max_examples=300)
@given(_args)
def test_the_localnet_decodes_every_argument_back(arg: calls.MoveArg) -> None:
    value = decode_bcs_argument(arg.move_type, encode_arg(arg))
    expected: object = list(arg.value) if isinstance(arg, VecU64) else arg.value
    assert value == expected


def test_entry_function_round_trips_through_the_sdk() -> None:
    call = calls.request_draw_admin(1, 1_700_000_000, 99, 6, 1)
    ser = Serializer()
    entry_function(call, PACKAGE).serialize(ser)
    back = EntryFunction.deserialize(Deserializer(ser.output()))
    assert str(back.module) == f"{PACKAGE}::draw" and back.function == "request_draw_admin"
    assert back.args == [encode_arg(a) for a in call.args] and back.ty_args == []


def _manual_preimage(action_id: int, subject: int, call_list: list[Call], at: int) -> bytes:
    def uleb(n: int) -> bytes:
        out = b""
        while n >= 0x80:
            out += bytes([(n & 0x7F) | 0x80])
            n >>= 7
        return out + bytes([n])

    def string(text: str) -> bytes:
        raw = text.encode()
        return uleb(len(raw)) + raw

    body = struct.pack("<QQ", action_id, subject) + uleb(len(call_list))
    for call in call_list:
        body += string(call.module) + string(call.function) + uleb(len(call.args))
        for arg in call.args:
            blob = encode_arg(arg)
            body += uleb(len(blob)) + blob
    return body + struct.pack("<Q", at)


def test_action_hash_is_sha3_of_the_documented_preimage() -> None:
    plan = [
        calls.force_refund_batch_admin(7, 1, 5, 400, 100, 1_700_000_900),
        calls.force_refund_batch_admin(7, 2, 5, 400, 100, 1_700_000_960),
        calls.archive_canceled_lottery_admin(7, 1_700_000_960),
    ]
    pre = action_preimage(6, 7, plan, 1_700_000_900)
    assert pre == _manual_preimage(6, 7, plan, 1_700_000_900)
    assert action_hash(6, 7, plan, 1_700_000_900) == hashlib.sha3_256(pre).digest()
    # Pinned: a change to the pre-image format breaks pending actions after an upgrade.
    single = action_hash(1, 1, [calls.advance_status(1, 2)], 1_700_000_000)
    assert (
        single.hex()
        == hashlib.sha3_256(
            _manual_preimage(1, 1, [calls.advance_status(1, 2)], 1_700_000_000)
        ).hexdigest()
    )
    assert len(single) == 32


@given(
    st.integers(0, 7),
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1),
)
def test_action_hash_binds_id_subject_arguments_and_time(
    action_id: int, subject: int, value: int, at: int
) -> None:
    base = action_hash(action_id, subject, [calls.compute_winners_admin(subject, value)], at)
    assert base == action_hash(
        action_id, subject, [calls.compute_winners_admin(subject, value)], at
    )
    assert base != action_hash(
        action_id + 1, subject, [calls.compute_winners_admin(subject, value)], at
    )
    assert base != action_hash(
        action_id, subject, [calls.compute_winners_admin(subject, value)], at ^ 1
    )
    assert base != action_hash(
        action_id, subject, [calls.compute_winners_admin(subject, value ^ 1)], at
    )
    assert base != action_hash(action_id, subject, [], at)


def test_splitting_arguments_differently_changes_the_preimage() -> None:
    a = Call(module="m", function="f", args=(U64(1), U64(2)))
    b1 = Call(module="m", function="f", args=(U64(1),))
    b2 = Call(module="m", function="f", args=(U64(2),))
    assert action_preimage(1, 1, [a], 0) != action_preimage(1, 1, [b1, b2], 0)


@pytest.mark.parametrize("bad", [-1, 2**64, True])
def test_action_hash_refuses_non_u64_header_values(bad: int) -> None:
    with pytest.raises(ValueError):
        action_hash(bad, 1, [], 0)
    with pytest.raises(ValueError):
        action_hash(1, 1, [], bad)


def test_signer_shows_its_address_never_its_key() -> None:
    signer = Signer.generate()
    key = str(signer.account.private_key)
    assert repr(signer) == f"Signer({signer.address})" == str(signer)
    assert key not in repr(signer) and key.removeprefix("0x") not in repr(signer)
    with pytest.raises(TypeError):
        pickle.dumps(signer)
    with pytest.raises(ValueError, match="not a hex ed25519"):
        Signer.from_private_key_hex("0x1234")
    with pytest.raises(TypeError):
        Signer(object())


def _decode(blob: bytes) -> SupraTransaction:
    der = Deserializer(blob)
    tx = SupraTransaction.deserialize(der)
    assert der.remaining() == 0
    return tx


def test_sequence_number_zero_is_kept_and_the_signature_verifies() -> None:
    signer = Signer.generate()
    blob = signed_transaction_bytes(
        entry_function=entry_function(calls.advance_status(1, 2), PACKAGE),
        sender=signer,
        sequence_number=0,
        max_gas_amount=500_000,
        gas_unit_price=100,
        expires_at=1_700_000_060,
        chain_id=77,
    )
    signed = _decode(blob).value
    assert signed.transaction.sequence_number == 0
    assert (
        signed.transaction.chain_id == 77
        and signed.transaction.expiration_timestamps_secs == 1_700_000_060
    )
    assert signed.verify()


def test_multi_agent_transaction_is_signed_by_both_and_simulation_zeroes_signatures() -> None:
    admin, operator = Signer.generate(), Signer.generate()
    ef = entry_function(calls.rotate_bot(b"", (1,), 60, 3, 10**9), PACKAGE)
    options = {"max_gas_amount": 1000, "gas_unit_price": 100, "expires_at": 10**10, "chain_id": 6}
    blob = signed_transaction_bytes(
        entry_function=ef, sender=admin, sequence_number=3, secondary=[operator], **options
    )
    signed = _decode(blob).value
    auth = signed.authenticator.authenticator
    assert isinstance(auth, MultiAgentAuthenticator)
    assert [str(a) for a in auth.secondary_addresses()] == [operator.address]
    assert signed.verify()
    sim = _decode(
        signed_transaction_bytes(
            entry_function=ef,
            sender=admin,
            sequence_number=3,
            secondary=[operator],
            simulate=True,
            **options,
        )
    ).value
    assert not sim.verify()
    assert sim.authenticator.authenticator.sender.authenticator.signature.data() == b"\x00" * 64
