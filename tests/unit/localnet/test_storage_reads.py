"""The daemon's own storage reads equal the model's views, for the demo and after every story step.

``autobot.chain.reads.StorageReads`` (the code ``[chain] reads = "storage"`` runs: strict decoding
of every resource and table item, then the readers' formulas) reads the storage the localnet
renders from the package model, in-process (``model_storage.ModelSource``). ``ViewReads`` asks the model's views through the same
in-process transport. Every typed read of the gateway — per lottery (present and absent), the
aggregates, the id lists, ``status_overview`` at three times — must answer the same value, or
raise the same abort. The story is ``test_storage``'s (close, draw, callback, winners, payout
and finalization, retry and cancel, refunds, archive, prices, bots, deposit, cap).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from model_builders import ADMIN, OP_A, OP_B, STRANGER
from test_storage import Chain, _story, demo_chain

from autobot.chain.reads import StorageReads
from autobot.chain.responses import abort_from_vm_status
from autobot.chain.rpc import Reply
from autobot.chain.view_reads import ViewReads
from autobot.errors import MoveAbort
from autobot.localnet.arguments import from_json_argument
from autobot.localnet.model import VIEW_FUNCTIONS, ModelAbort, PackageModel
from model_storage import ModelSource


class ModelViews:
    """The ``RpcClient.fetch`` that ``ViewReads`` uses, answered by the model's views (a node of
    a patched package): node-JSON results, or the abort a node reports for a view."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain

    async def fetch(
        self, method: str, path: str, *, what: str, decode: Callable[[Reply], Any], **kw: Any
    ) -> Any:
        body = kw["json_body"]
        _, module, function = body["function"].split("::")
        types = VIEW_FUNCTIONS[(module, function)].param_types
        args = [from_json_argument(t, a) for t, a in zip(types, body["arguments"], strict=True)]
        try:
            result = self.chain.model.view(module, function, args)
        except ModelAbort as abort:
            raise _abort(abort) from None
        content = json.dumps({"result": result}).encode()
        return decode(Reply(status=200, content=content, headers={}, url="model"))


def _abort(abort: ModelAbort) -> MoveAbort:
    found = abort_from_vm_status(abort.vm_status(ADMIN))
    assert found is not None
    return found


async def _outcome(read: Awaitable[object]) -> object:
    try:
        return await read
    except MoveAbort as abort:
        return ("abort", abort.code, abort.module, abort.name)


async def _compare(chain: Chain, storage: StorageReads, views: ViewReads) -> int:
    lotteries = [*sorted(chain.model.state.lotteries), 999]
    reads: list[tuple[str, Callable[[StorageReads | ViewReads], Awaitable[object]]]] = []
    for i in lotteries:
        for name in (
            "lottery_status",
            "lottery_config",
            "refund_progress",
            "accounting",
            "cancellation",
            "vrf_state",
            "winner_progress",
            "has_summary",
        ):
            reads.append((f"{name}({i})", lambda r, n=name, i=i: getattr(r, n)(i)))
        reads.append((f"view({i})", lambda r, i=i: r.lottery_view(i)))
        reads.append((f"scoped view({i})", lambda r, i=i: r.lottery_view(i, scoped=True)))
    for operator in (OP_A, OP_B, STRANGER):
        reads.append((f"get_bot({operator})", lambda r, o=operator: r.get_bot(o)))
    for asset in (1, 2, 3, 99):
        reads.append((f"price_feed({asset})", lambda r, a=asset: r.price_feed(a)))
    for now in (chain.now, chain.now + 43_201, chain.now + 86_401):
        reads.append((f"status_overview({now})", lambda r, t=now: r.status_overview(t)))
    reads += [
        ("list_bots", lambda r: r.list_bots()),
        ("vrf_deposit_status", lambda r: r.vrf_deposit_status()),
        ("payout_batch_cap", lambda r: r.payout_batch_cap()),
        ("lottery_ids", lambda r: r.lottery_ids()),
        ("finalized_ids", lambda r: r.finalized_ids()),
        ("list_active", lambda r: r.list_active()),
        ("list_active(1, 1)", lambda r: r.list_active(start=1, limit=1)),
    ]
    for name, read in reads:
        got, expected = await _outcome(read(storage)), await _outcome(read(views))
        assert got == expected, f"{name}: storage {got!r} != views {expected!r}"
    return len(reads)


def _readers(chain: Chain) -> tuple[StorageReads, ViewReads]:
    storage = StorageReads(source=ModelSource(chain.storage, ADMIN), package=ADMIN)
    views = ViewReads(rpc=ModelViews(chain), package=ADMIN, limit=asyncio.Semaphore(8))  # type: ignore[arg-type]
    return storage, views


async def test_every_read_from_storage_equals_the_views_after_every_step_of_the_demo_story() -> (
    None
):
    chain = demo_chain()
    storage, views = _readers(chain)
    assert await _compare(chain, storage, views) == 77  # 6 lotteries x 10, 3 bots, 4 feeds, ...
    for name, step in _story(chain):
        step()
        try:
            await _compare(chain, storage, views)
        except AssertionError as exc:
            raise AssertionError(f"after {name!r}: {exc}") from exc


async def test_without_any_init_every_storage_read_aborts_or_defaults_like_the_views() -> None:
    chain = Chain(model=PackageModel(package_address=ADMIN))
    storage, views = _readers(chain)
    assert await _compare(chain, storage, views) == 27
