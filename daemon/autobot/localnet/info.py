"""``LocalnetInfo``: what ``GET /localnet/v1/info`` returns, as a typed value.

The accounts are the well-known development keys (``localnet.accounts``); ``operators`` lists
only the operators registered as automation bots on the chain, in the order A, B, C, D.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from autobot.localnet.accounts import DevAccount
from autobot.localnet.view_mode import DEFAULT_VIEW_MODE

__all__ = ["LOCALNET_CHAIN_ID", "LocalnetInfo"]

LOCALNET_CHAIN_ID = 77
"""The localnet's chain id (mainnet is 8, testnet 6; 77 is unused by Supra)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalnetInfo:
    chain_id: int
    package_address: str
    time_scale: float
    chain_time: int  # unix seconds, the latest block's timestamp
    block_height: int
    vrf_retry: str  # "intent" | "strict"
    rpc_url: str  # base URL with a trailing slash (the SDK needs it)
    admin: DevAccount
    operators: tuple[DevAccount, ...]
    views: str = DEFAULT_VIEW_MODE.value  # "published" | "patched" (view_mode.py)

    def to_json(self) -> dict[str, object]:
        return {
            "chain_id": self.chain_id,
            "package_address": self.package_address,
            "time_scale": self.time_scale,
            "chain_time": self.chain_time,
            "block_height": self.block_height,
            "vrf_retry": self.vrf_retry,
            "views": self.views,
            "rpc_url": self.rpc_url,
            "accounts": {
                "admin": {"address": self.admin.address, "private_key": self.admin.private_key},
                "operators": [op.to_json() for op in self.operators],
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> LocalnetInfo:
        """Parse an ``info`` response (e.g. of a localnet running in another process)."""
        accounts = data["accounts"]
        if not isinstance(accounts, Mapping):
            raise ValueError("info.accounts must be an object")
        admin = accounts["admin"]
        operators = accounts["operators"]
        if not isinstance(admin, Mapping) or not isinstance(operators, list):
            raise ValueError("info.accounts must have admin and operators")
        return cls(
            chain_id=int(str(data["chain_id"])),
            package_address=str(data["package_address"]),
            time_scale=float(str(data["time_scale"])),
            chain_time=int(str(data["chain_time"])),
            block_height=int(str(data["block_height"])),
            vrf_retry=str(data["vrf_retry"]),
            views=str(data.get("views", DEFAULT_VIEW_MODE.value)),
            rpc_url=str(data.get("rpc_url", "")),
            admin=DevAccount(
                name="admin", address=str(admin["address"]), private_key=str(admin["private_key"])
            ),
            operators=tuple(
                DevAccount(
                    name=str(op["name"]),
                    address=str(op["address"]),
                    private_key=str(op["private_key"]),
                )
                for op in operators
            ),
        )
