"""The ``lottery_multi`` package model (work in progress: the ABI tables are final)."""

from autobot.localnet.model.abi import ENTRY_FUNCTIONS, VIEW_FUNCTIONS, EntrySignature, ViewSignature

__all__ = ["ENTRY_FUNCTIONS", "VIEW_FUNCTIONS", "EntrySignature", "ViewSignature"]
