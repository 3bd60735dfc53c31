"""How calls are written down: the journal's JSON for materialised calls, read back exactly.

An action's calls are fixed when its hash is (docs/architecture.md): the journal keeps them as JSON
so a person can read what was announced, and so a restart can check that the recipe still
materialises the same calls (a changed recipe must never finish an old announcement with other
bytes). Each argument is written with its Move type, so reading back gives equal ``Call`` values::

    [{"module": "payouts", "function": "force_refund_batch_admin",
      "args": [["u64", 4], ["u64", 1], ...], "not_before": 1700000900, "secondary": []}, ...]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from autobot.domain import calls as c
from autobot.domain.calls import Call, MoveArg
from autobot.planning.plan import TimedCall

__all__ = ["call_from_json", "call_to_json", "calls_to_text"]


def _arg_to_json(arg: MoveArg) -> list[Any]:
    value: Any
    match arg:
        case c.Bytes(value=raw):
            value = raw.hex()
        case c.VecU64(value=items):
            value = list(items)
        case _:
            value = arg.value
    return [arg.move_type, value]


_READERS: dict[str, Any] = {
    "u8": lambda v: c.U8(v),
    "u16": lambda v: c.U16(v),
    "u64": lambda v: c.U64(v),
    "u128": lambda v: c.U128(v),
    "bool": lambda v: c.Bool(v),
    "address": lambda v: c.Address(v),
    "vector<u8>": lambda v: c.Bytes(bytes.fromhex(v)),
    "vector<u64>": lambda v: c.VecU64(tuple(v)),
    "0x1::option::Option<u64>": lambda v: c.OptU64(v),
}


def _arg_from_json(item: Any) -> MoveArg:
    if not (isinstance(item, list) and len(item) == 2 and item[0] in _READERS):
        raise ValueError(f"not a journaled Move argument: {item!r}")
    arg: MoveArg = _READERS[item[0]](item[1])
    return arg


def call_to_json(call: Call) -> dict[str, Any]:
    return {
        "module": call.module,
        "function": call.function,
        "args": [_arg_to_json(a) for a in call.args],
    }


def call_from_json(data: Any) -> Call:
    """The ``Call`` that ``call_to_json`` wrote; anything else raises ``ValueError``."""
    if not isinstance(data, dict) or not isinstance(data.get("args"), list):
        raise ValueError(f"not a journaled call: {data!r:.200}")
    try:
        return Call(
            module=data.get("module", ""),  # Call checks these are Move identifiers
            function=data.get("function", ""),
            args=tuple(_arg_from_json(a) for a in data["args"]),
        )
    except (TypeError, ValueError) as exc:  # e.g. bytes.fromhex(3), tuple(5) in a reader
        raise ValueError(f"not a journaled call: {exc}") from None


def calls_to_text(calls: Sequence[TimedCall]) -> str:
    """The journal's text for an action's materialised calls (stable: sorted keys)."""
    return json.dumps(
        [
            {**call_to_json(t.call), "not_before": t.not_before, "secondary": list(t.secondary)}
            for t in calls
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
