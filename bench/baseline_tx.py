"""One transaction the way ``refund_control.sh`` sends it: a fresh process per call.

``python -m bench.baseline_tx RPC_URL KEY_HEX PACKAGE MODULE FUNCTION TYPE:VALUE ...`` builds the
entry function call with the official ``supra_sdk``, lets the SDK fetch the sequence number, gas
price and chain id, signs, submits, and waits until the node reports the result (like
``supra move run`` does). Exits 0 on ``Success``, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import sys

from supra_sdk.account import Account
from supra_sdk.bcs import Serializer
from supra_sdk.clients.rest import SupraClient, SupraClientConfig
from supra_sdk.transactions import EntryFunction, TransactionArgument, TransactionPayload

_ENCODERS = {"u8": Serializer.u8, "u64": Serializer.u64, "bool": Serializer.bool}


def _argument(text: str) -> TransactionArgument:
    kind, _, value = text.partition(":")
    if kind == "bool":
        return TransactionArgument(value == "true", Serializer.bool)
    return TransactionArgument(int(value), _ENCODERS[kind])


async def main(argv: list[str]) -> int:
    url, key, package, module, function, *args = argv
    account = Account.load_key(key)
    client = SupraClient(url, SupraClientConfig(wait_for_transaction=False))
    try:
        payload = TransactionPayload(
            EntryFunction.natural(
                f"{package}::{module}", function, [], [_argument(a) for a in args]
            )
        )
        signed = await client.create_signed_transaction(account, payload)
        tx_hash = await client.submit_transaction(signed)
        while True:
            data = await client.transaction_by_hash(tx_hash)
            if data["status"] != "Pending":
                break
            await asyncio.sleep(0.05)
    finally:
        await client.close()
    return 0 if data["status"] == "Success" else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
