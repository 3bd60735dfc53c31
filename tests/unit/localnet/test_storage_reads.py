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
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from model_builders import ADMIN, OP_A, OP_B, STRANGER
from test_storage import Chain, _story, demo_chain

from autobot.chain.endpoints import Endpoint, EndpointPool
from autobot.chain.pacing import limited
from autobot.chain.reads import StorageReads
from autobot.chain.responses import abort_from_vm_status
from autobot.chain.rpc import Reply
from autobot.chain.view_reads import ViewReads
from autobot.domain.features import Feature, FeatureSwitch
from autobot.domain.payouts import VrfDepositStatus
from autobot.errors import MoveAbort
from autobot.localnet.arguments import from_json_argument
from autobot.localnet.model import VIEW_FUNCTIONS, ModelAbort, PackageModel
from model_storage import ModelSource


class ModelViews:
    """The ``RpcClient.fetch`` that ``ViewReads`` uses, answered by the model's views (a node of
    a patched package): node-JSON results, or the abort a node reports for a view."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.pool = EndpointPool([Endpoint(url="http://model/", client=None)])  # page bounds

    def limited(self, limit: asyncio.Semaphore) -> contextlib.AbstractAsyncContextManager[None]:
        return limited(limit, None)  # nothing to give way to

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
        ("vrf_deposit_status", lambda r: _view_fields(r.vrf_deposit_status())),
        ("feature_switch", lambda r: r.feature_switch()),
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


async def _view_fields(read: Awaitable[VrfDepositStatus]) -> VrfDepositStatus:
    """The deposit as its view answers it: the config (storage only, no reader returns it) is
    compared with the model in ``test_the_deposit_config_comes_from_storage``."""
    return replace(await read, effective_floor=0, min_balance_multiplier_bps=0)


def _readers(chain: Chain) -> tuple[StorageReads, ViewReads]:
    storage = StorageReads(source=ModelSource(chain.storage, ADMIN), package=ADMIN)
    views = ViewReads(rpc=ModelViews(chain), package=ADMIN, limit=asyncio.Semaphore(8))  # type: ignore[arg-type]
    return storage, views


async def test_every_read_from_storage_equals_the_views_after_every_step_of_the_demo_story() -> (
    None
):
    chain = demo_chain()
    storage, views = _readers(chain)
    assert await _compare(chain, storage, views) == 78  # 6 lotteries x 10, 3 bots, 4 feeds, ...
    for name, step in _story(chain):
        step()
        try:
            await _compare(chain, storage, views)
        except AssertionError as exc:
            raise AssertionError(f"after {name!r}: {exc}") from exc


async def test_without_any_init_every_storage_read_aborts_or_defaults_like_the_views() -> None:
    chain = Chain(model=PackageModel(package_address=ADMIN))
    storage, views = _readers(chain)
    assert await _compare(chain, storage, views) == 28


async def test_the_deposit_config_comes_from_storage() -> None:
    # given the demo's VRF deposit ledger (config: multiplier and effective floor)
    chain = demo_chain()
    storage, views = _readers(chain)
    ledger = chain.model.state.g.vrf_deposit
    assert ledger is not None and ledger.effective_floor > 0
    # when both readers read it
    stored, viewed = await storage.vrf_deposit_status(), await views.vrf_deposit_status()
    # then storage has the config no view returns, and the status fields agree
    assert (stored.effective_floor, stored.min_balance_multiplier_bps) == (
        ledger.effective_floor,
        ledger.min_balance_multiplier_bps,
    )
    assert (viewed.effective_floor, viewed.min_balance_multiplier_bps) == (0, 0)
    assert replace(stored, effective_floor=0, min_balance_multiplier_bps=0) == viewed


async def test_the_feature_switch_reads_alike_from_storage_and_views_in_every_state() -> None:
    # never initialised: no check at all
    bare = Chain(model=PackageModel(package_address=ADMIN))
    storage, views = _readers(bare)
    assert await storage.feature_switch() == await views.feature_switch() == FeatureSwitch()
    # the demo's deployment: force_enable_devnet, every feature let through
    chain = demo_chain()
    storage, views = _readers(chain)
    forced = FeatureSwitch(initialized=True, force_enable_devnet=True)
    assert await storage.feature_switch() == await views.feature_switch() == forced
    # entries for every feature, DRAW disabled
    chain.model.seed_feature_draw(False)
    off = await storage.feature_switch()
    assert off == await views.feature_switch()
    assert (off.initialized, off.force_enable_devnet, dict(off.modes)) == (
        True,
        False,
        {1: 1, 2: 1, 3: 0, 4: 1},
    )
    assert off.refusal(Feature.DRAW) == 0x1403 and off.refusal(Feature.PURCHASE) is None
    # the admin turns DRAW on again
    chain.call("feature_switch", "set_mode", 3, 1)
    on = await storage.feature_switch()
    assert on == await views.feature_switch() and on.refusal(Feature.DRAW) is None


async def test_the_feature_switch_costs_one_request_when_forced_and_five_with_entries() -> None:
    chain = demo_chain()
    source = ModelSource(chain.storage, ADMIN)
    storage = StorageReads(source=source, package=ADMIN)
    # forced (the demo's deployment): the registry alone, every time
    await storage.feature_switch()
    await storage.feature_switch()
    assert source.requests == 2
    # with entries: the registry, then the four features' items
    chain.model.seed_feature_draw(False)
    off = await storage.feature_switch()
    assert source.requests == 2 + 5 and off.refusal(Feature.DRAW) == 0x1403
    # the admin turns DRAW on: read again (registry and items together), never from a cache
    chain.call("feature_switch", "set_mode", 3, 1)
    on = await storage.feature_switch()
    assert source.requests == 7 + 5 and on.refusal(Feature.DRAW) is None
