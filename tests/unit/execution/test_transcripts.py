"""Journaled calls read back as equal Call values."""

from __future__ import annotations

import json

from autobot.domain import calls as c
from autobot.execution.transcripts import call_from_json, call_to_json, calls_to_text
from autobot.planning.plan import TimedCall


def test_every_argument_type_round_trips() -> None:
    call = c.Call(
        module="m",
        function="f",
        args=(
            c.U8(7), c.U16(300), c.U64(2**64 - 1), c.U128(2**100), c.Bool(True),
            c.Address("0x1"), c.Bytes(b"\x00\xff"), c.VecU64((1, 2, 6)), c.OptU64(None),
            c.OptU64(5),
        ),
    )  # fmt: skip
    assert call_from_json(json.loads(json.dumps(call_to_json(call)))) == call


def test_calls_text_is_stable_and_keeps_times_and_co_signers() -> None:
    timed = (TimedCall(call=c.rotate_bot(b"*", (1,), 0, 3, 99), not_before=5, secondary=("0xab",)),)
    text = calls_to_text(timed)
    assert text == calls_to_text(timed)
    [item] = json.loads(text)
    assert (item["not_before"], item["secondary"], item["function"]) == (5, ["0xab"], "rotate_bot")
