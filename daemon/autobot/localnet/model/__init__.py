"""The ``lottery_multi`` Move package, modelled in Python for the localnet.

One module per package module (``automation``, ``registry`` for ``lottery_registry`` +
``cancellation`` + the archive, ``purchases`` (``sales::purchase_tickets_*``: the limits, the
accounting), ``sales`` (the sales state), ``draw``,
``payouts``, ``price_feed``, ``roles`` (the PayoutBatchCap, partner and premium caps),
``legacy_bridge`` (the dual-write control), ``feature_switch``, ``vrf_deposit``), ``views`` for the
readers, ``abi`` for the call signatures, ``state`` for the tables and ``package`` for
``PackageModel``, the object the node drives.
"""

from autobot.localnet.model.abi import (
    ENTRY_FUNCTIONS,
    VIEW_ATTRIBUTE,
    VIEW_FUNCTIONS,
    EntrySignature,
    Param,
    ViewSignature,
)
from autobot.localnet.model.core import (
    LotteryStatus,
    ModelAbort,
    ModelEvent,
    RetryStrategy,
    VrfStatus,
)
from autobot.localnet.model.package import PackageModel, VrfRetryMode
from autobot.localnet.model.state import (
    LotteryConfig,
    PrizeSlot,
    Purchase,
    RetryPolicy,
    SalesDistribution,
    VrfRequest,
)

__all__ = [
    "ENTRY_FUNCTIONS",
    "VIEW_ATTRIBUTE",
    "VIEW_FUNCTIONS",
    "EntrySignature",
    "LotteryConfig",
    "LotteryStatus",
    "ModelAbort",
    "ModelEvent",
    "PackageModel",
    "Param",
    "PrizeSlot",
    "Purchase",
    "RetryPolicy",
    "RetryStrategy",
    "SalesDistribution",
    "ViewSignature",
    "VrfRequest",
    "VrfRetryMode",
    "VrfStatus",
]
