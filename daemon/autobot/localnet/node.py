"""The localnet node: chain time, blocks, the mempool, execution against the package model, state.

Everything runs on one asyncio loop and every state change happens inside a synchronous method
(``submit``, ``produce_block``, ``advance``), so requests always see a consistent chain.

* Blocks are produced every ``block_interval_ms`` (``run``), also when empty, so height and
  timestamp advance continuously; a block's timestamp is chain time, strictly increasing.
* A block runs the due system calls of the localnet's actors first (``actors.py``: the dVRF
  oracle and price pusher, the buyers, the treasury), then the executable user transactions (per
  account in sequence-number order, accounts in arrival order). A user transaction consumes its
  sequence number whether it succeeds or aborts; an abort changes no state.
* A pending transaction that expires (host wall clock) before its turn is dropped and reported
  with status ``Invalid``.
* Persistence (``store.py``): a block with transactions is written in one SQLite transaction with
  the model rows it changed and the actors' state; otherwise the tip is written every
  ``tip_write_every_blocks`` blocks and at ``close``. After a crash up to that many empty blocks
  are produced again (with new times).
* Simulation runs the call on the live model and undoes it (``PackageModel.simulate``), so it
  costs what the call touches, also with 10,000 lotteries.
* Block times (benchmarks): the node remembers, for every block it produced since it started, the
  host wall time of its production next to its chain timestamp; ``time_reached(chain_ts)`` is the
  first block whose timestamp is at or after ``chain_ts`` (``GET /localnet/v1/time_reached/{ts}``):
  the wall time at which anyone could first see the chain at that time.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from autobot.localnet.accounts import DevAccount, DevAccounts, dev_accounts, normalise_address
from autobot.localnet.actors import Actors
from autobot.localnet.admission import (
    DecodedTransaction,
    RejectCode,
    Rejected,
    decode_arguments,
    decode_transaction,
)
from autobot.localnet.arguments import from_json_argument
from autobot.localnet.chain_clock import ChainClock
from autobot.localnet.drills import Drills
from autobot.localnet.execution import (
    GAS_USED,
    EventLedger,
    execute,
    invalid_row,
    system_hash,
    system_row,
    user_json,
    user_row,
)
from autobot.localnet.genesis import create_genesis
from autobot.localnet.history import RecentHistory
from autobot.localnet.info import LocalnetInfo
from autobot.localnet.mempool import DEFAULT_MAX_GAP, Mempool
from autobot.localnet.model import (
    ENTRY_FUNCTIONS,
    VIEW_ATTRIBUTE,
    VIEW_FUNCTIONS,
    ModelAbort,
    PackageModel,
)
from autobot.localnet.model.state import RowEncoder
from autobot.localnet.oracle import Oracle
from autobot.localnet.render import block_header_json, block_json, event_with_context_json
from autobot.localnet.render import transaction_json as render_transaction
from autobot.localnet.storage import PackageStorage
from autobot.localnet.store import BlockHeader, EventRow, NodeStore, TransactionRow
from autobot.localnet.view_mode import DEFAULT_VIEW_MODE, NOT_A_VIEW_MESSAGE, ViewMode

__all__ = ["EVENTS_PAGE_MAX", "LocalNode", "MoveAborted", "NodeOptions"]

log = structlog.get_logger()

EVENTS_PAGE_MAX = 100
BLOCK_TIMES_KEPT = 200_000
"""Blocks whose production wall time is remembered (11 hours at the default 200 ms interval)."""
_MICROS = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeOptions:
    chain_id: int
    scenario: str = "demo"
    time_scale: float = 1.0
    block_interval_ms: int = 200
    vrf_retry: str = "intent"
    max_sequence_gap: int = DEFAULT_MAX_GAP
    tip_write_every_blocks: int = 25
    views: ViewMode = DEFAULT_VIEW_MODE


class MoveAborted(Exception):
    """A view function aborted: HTTP 400 with the abort's ``vm_status`` as message."""

    def __init__(self, vm_status: str) -> None:
        super().__init__(vm_status)
        self.vm_status = vm_status


class LocalNode:
    def __init__(
        self,
        *,
        options: NodeOptions,
        store: NodeStore,
        model: PackageModel,
        actors: Actors,
        tip: BlockHeader,
        sequences: dict[str, int],
        events: EventLedger,
        system_count: int,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.options = options
        self.accounts: DevAccounts = dev_accounts(spares=True)
        self.package_address = self.accounts.package_address
        self.chain_id = options.chain_id
        self._store = store
        self._model = model
        self._actors = actors
        self._tip = tip
        self._last_written_height = tip.height
        self._sequences = sequences
        self._events = events
        self._system_count = system_count
        self._wall = wall
        self._clock = ChainClock(start_us=tip.timestamp_us, time_scale=options.time_scale)
        self._mempool = Mempool(max_gap=options.max_sequence_gap)
        self._block_waiters: list[asyncio.Future[BlockHeader]] = []
        self._closed = False
        self._rows = RowEncoder()
        self._legacy_model_meta = False  # a schema-1 state dir: the first write converts it
        # (timestamp_us, height, production wall time) of the blocks produced since start
        self._block_times: deque[tuple[int, int, float]] = deque(maxlen=BLOCK_TIMES_KEPT)
        self._history = RecentHistory(tip)  # for lagging views (fault injection)
        self.drills = Drills(
            admin=self.accounts.admin.address,
            operators=self.accounts.operators,
            oracle=actors.oracle,
        )  # POST /localnet/v1/drill

    # --- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls, *, state_dir: Path, options: NodeOptions, wall: Callable[[], float] = time.time
    ) -> LocalNode:
        """Open the chain kept in ``state_dir``, or create and seed it if the directory is empty.

        ``wall`` is the host clock transaction expiry is checked against (tests inject one).
        Raises ``ValueError`` if the directory holds another chain or the scenario is invalid.
        """
        store = NodeStore(state_dir / "chain.sqlite3")
        try:
            stored = store.load()
            accounts = dev_accounts(spares=True)
            model: PackageModel | None = None
            if stored is None:
                stored, model = create_genesis(store=store, options=options, accounts=accounts)
            elif (stored.chain_id, stored.package_address) != (
                options.chain_id,
                accounts.package_address,
            ):
                raise ValueError(
                    f"{store.path} holds chain {stored.chain_id} with package "
                    f"{stored.package_address}, not this localnet's chain {options.chain_id}"
                )
            legacy = model is None and not stored.model_rows
            if model is None:
                model = (
                    PackageModel.from_json(stored.model)
                    if legacy
                    else PackageModel.from_rows(
                        package_address=stored.package_address,
                        vrf_retry=stored.vrf_retry,
                        rows=stored.model_rows,
                    )
                )
            if legacy:
                model.mark_all_dirty()  # schema 1: the next write stores every row
            actors = Actors.restore(
                oracle=stored.oracle,
                actors=stored.actors,
                admin_address=accounts.admin.address,
            )
        except BaseException:
            store.close()
            raise
        if model.vrf_retry != options.vrf_retry:
            log.warning(
                "localnet_vrf_retry_kept",
                stored=model.vrf_retry,
                requested=options.vrf_retry,
                reason="the state directory's chain keeps the variant it was created with",
            )
        log.info("localnet_chain_opened", path=str(store.path), height=stored.tip.height)
        node = cls(
            options=options,
            store=store,
            model=model,
            actors=actors,
            tip=stored.tip,
            sequences=dict(stored.sequences),
            events=EventLedger(counts=stored.event_counts, next_id=stored.next_event_id),
            system_count=stored.system_count,
            wall=wall,
        )
        node._legacy_model_meta = legacy
        return node

    def close(self) -> None:
        """Write the tip and close the store (pending transactions are dropped)."""
        if self._closed:
            return
        self._closed = True
        if self._tip.height != self._last_written_height or self._legacy_model_meta:
            self._commit(self._tip, rows=[], events=[], sequences={}, model_changed=False)
        self._store.close()
        for waiter in self._block_waiters:
            waiter.cancel()

    async def run(self) -> None:
        """Produce a block every ``block_interval_ms`` until cancelled."""
        interval = self.options.block_interval_ms / 1000
        loop = asyncio.get_running_loop()
        next_at = loop.time() + interval
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at = max(next_at + interval, loop.time())
            try:
                self.produce_block()
            except Exception:  # e.g. the disk refused a write: keep the chain going, loudly
                log.exception("localnet_block_failed", height=self._tip.height + 1)

    async def next_block(self) -> BlockHeader:
        """Wait for the next block (tests and tools)."""
        waiter: asyncio.Future[BlockHeader] = asyncio.get_running_loop().create_future()
        self._block_waiters.append(waiter)
        return await waiter

    # --- reads -------------------------------------------------------------------------------

    @property
    def tip(self) -> BlockHeader:
        return self._tip

    @property
    def chain_time(self) -> int:
        """Unix seconds of the latest block."""
        return self._tip.timestamp_us // _MICROS

    @property
    def model(self) -> PackageModel:
        """The live package model (read it; change it only through transactions)."""
        return self._model

    @property
    def oracle(self) -> Oracle:
        return self._actors.oracle

    @property
    def actors(self) -> Actors:
        """The localnet's own actors (oracle, buyers, treasury)."""
        return self._actors

    def sequence_number(self, address: str, *, behind: int = 0) -> int:
        """``address``'s sequence number now, or as of ``behind`` blocks ago (a lagging view)."""
        current = self._sequences.get(address, 0)
        if behind <= 0:
            return current
        return self._history.sequence(address, current=current, behind=behind)

    def registered_operators(self) -> tuple[DevAccount, ...]:
        """Dev operators registered as automation bots, in the order A, B, C, D."""
        try:
            (operators,) = self._model.view("automation", "automation_operators", [])
        except ModelAbort:
            return ()
        registered = (
            {normalise_address(str(a)) for a in operators} if isinstance(operators, list) else set()
        )
        return tuple(op for op in self.accounts.operators if op.address in registered)

    def info(self, *, rpc_url: str) -> LocalnetInfo:
        return LocalnetInfo(
            chain_id=self.chain_id,
            package_address=self.package_address,
            time_scale=self.options.time_scale,
            chain_time=self.chain_time,
            block_height=self._tip.height,
            vrf_retry=self._model.vrf_retry,
            views=self.options.views.value,
            rpc_url=rpc_url,
            admin=self.accounts.admin,
            operators=self.registered_operators(),
        )

    def block_json(self, *, behind: int = 0) -> dict[str, object]:
        """The latest block, or the one ``behind`` blocks before it (a lagging view)."""
        tip = self._tip if behind <= 0 else self._history.block(behind)
        return block_json(
            tip,
            chain_id=self.chain_id,
            user_txns=tip.txn_count - tip.system_txn_count,
            system_txns=tip.system_txn_count,
        )

    def transaction_json(self, tx_hash: str) -> dict[str, object] | None:
        pending = self._mempool.get(tx_hash)
        if pending is not None:
            return user_json(pending.tx, status="Pending")
        row = self._store.transaction(tx_hash)
        return None if row is None else row.json

    def transaction_timing(self, tx_hash: str) -> dict[str, object] | None:
        """Wall times of acceptance and execution (benchmarks; ``/localnet/v1/transactions``)."""
        pending = self._mempool.get(tx_hash)
        if pending is not None:
            return {
                "hash": tx_hash,
                "kind": "user",
                "status": "Pending",
                "block_height": None,
                "accepted_wall": pending.accepted_wall,
                "executed_wall": None,
            }
        row = self._store.transaction(tx_hash)
        if row is None:
            return None
        return {
            "hash": tx_hash,
            "kind": row.kind,
            "status": row.status,
            "block_height": row.block_height,
            "accepted_wall": row.accepted_wall,
            "executed_wall": row.executed_wall,
        }

    def storage(self) -> PackageStorage:
        """The package's resources and table items now (``localnet.storage``)."""
        return PackageStorage(
            self._model.state, package=self.package_address, event_counts=self._events.counts
        )

    def view(
        self,
        function_id: str,
        type_arguments: Sequence[object],
        arguments: Sequence[object],
        *,
        any_reader: bool = False,
    ) -> list[object]:
        """Run a view function given as ``0x<package>::<module>::<function>``; node JSON result.

        With ``--views published`` only ``#[view]`` functions run (``view_mode.py``); any other
        function of the package is refused like a node refuses it. ``any_reader`` (the dev
        endpoint ``/localnet/v1/view``) runs every reader the model implements in either mode.
        """
        address, _, rest = function_id.partition("::")
        module, _, function = rest.partition("::")
        try:
            same_package = normalise_address(address) == self.package_address
        except ValueError:
            same_package = False
        key = (module, function)
        signature = VIEW_FUNCTIONS.get(key)
        published = self.options.views == ViewMode.PUBLISHED and not any_reader
        known = key in ENTRY_FUNCTIONS or signature is not None
        if same_package and published and known and key not in VIEW_ATTRIBUTE:
            raise Rejected(
                RejectCode.INVALID_MAIN_FUNCTION_SIGNATURE,
                f"{NOT_A_VIEW_MESSAGE}: {function_id}",
            )
        if not same_package or signature is None:
            raise Rejected(
                RejectCode.FUNCTION_RESOLUTION_FAILURE, f"no view function {function_id}"
            )
        if type_arguments:
            raise Rejected(
                RejectCode.NUMBER_OF_TYPE_ARGUMENTS_MISMATCH,
                f"{module}::{function} takes no type arguments, got {len(type_arguments)}",
            )
        args = decode_arguments(module, function, signature.params, arguments, from_json_argument)
        try:
            return self._model.view(module, function, args)
        except ModelAbort as abort:
            raise MoveAborted(abort.vm_status(self.package_address)) from None

    def events(
        self,
        event_type: str,
        *,
        start: int | None,
        start_height: int | None,
        end_height: int | None,
        limit: int,
    ) -> tuple[list[dict[str, object]], str | None]:
        """A page of events (oldest first; ``end_height`` exclusive) and the next page's cursor."""
        limit = min(limit, EVENTS_PAGE_MAX)
        rows = self._store.events(
            event_type,
            start_id=start or 0,
            start_height=start_height,
            end_height=end_height,
            limit=limit + 1,
        )
        cursor = str(rows[limit].id) if len(rows) > limit else None
        return [event_with_context_json(r) for r in rows[:limit]], cursor

    # --- writes ------------------------------------------------------------------------------

    def _decode(self, body: bytes, *, simulate: bool) -> DecodedTransaction:
        return decode_transaction(
            body,
            chain_id=self.chain_id,
            package_address=self.package_address,
            now_wall=self._wall(),
            simulate=simulate,
        )

    def transaction_hash(self, body: bytes) -> str:
        """Check a signed transaction like ``submit`` does, without admitting it (a lost submit)."""
        return self._decode(body, simulate=False).hash

    def submit(self, body: bytes) -> str:
        """Admit a signed transaction; returns its hash. Raises ``Rejected``."""
        tx = self._decode(body, simulate=False)
        current = self.sequence_number(tx.sender)
        if self._mempool.add(tx, account_sequence=current, wall=self._wall()):
            log.debug(
                "localnet_tx_accepted", tx_hash=tx.hash, sender=tx.sender, seq=tx.sequence_number
            )
        return tx.hash

    def simulate(self, body: bytes) -> dict[str, object]:
        """Execute against a copy of the current state; returns ``TransactionInfoV2`` JSON."""
        tx = self._decode(body, simulate=True)
        current = self.sequence_number(tx.sender)
        if tx.sequence_number < current:
            raise Rejected(
                RejectCode.SEQUENCE_NUMBER_TOO_OLD,
                f"account {tx.sender} is at sequence number {current}, got {tx.sequence_number}",
            )
        if tx.sequence_number >= current + self.options.max_sequence_gap:
            raise Rejected(
                RejectCode.SEQUENCE_NUMBER_TOO_NEW,
                f"account {tx.sender} is at sequence number {current}, got {tx.sequence_number}",
            )
        outcome = execute(
            self._model,
            module=tx.module,
            function=tx.function,
            signers=tx.signer_arguments,
            args=tx.args,
            simulate=True,
        )
        return render_transaction(
            txn_type="",
            tx_hash=tx.hash,
            authenticator=tx.authenticator_json,
            header=tx.header_json(),
            payload=tx.payload_json,
            status=outcome.status,
            events=self._events.preview(outcome.events),
            vm_status=outcome.vm_status,
            gas_used=GAS_USED,
        )

    def advance(self, seconds: int) -> BlockHeader:
        """Move chain time forward and produce a block at the new time."""
        self._clock.advance(seconds)
        log.info("localnet_time_advanced", seconds=seconds)
        return self.produce_block()

    # --- blocks ------------------------------------------------------------------------------

    def produce_block(self) -> BlockHeader:
        if self._closed:
            return self._tip
        wall = self._wall()
        parent = self._tip
        timestamp_us = max(parent.timestamp_us + 1, self._clock.now_us())
        block_s = timestamp_us // _MICROS
        height = parent.height + 1
        rows: list[TransactionRow] = []
        for expired in self._mempool.drop_expired(wall):
            log.info("localnet_tx_expired_in_mempool", tx_hash=expired.tx.hash)
            rows.append(invalid_row(expired))
        system_calls = self._actors.due_calls(now_s=block_s, height=height, model=self._model)
        system_calls += self.drills.due_calls(now_s=block_s)
        ready = self._mempool.take_ready(self.sequence_number)
        system_hashes = []
        for call in system_calls:
            self._system_count += 1
            system_hashes.append(system_hash(self._system_count, call))
        hashes = [*system_hashes, *(p.tx.hash for p in ready)]
        digest = hashlib.sha3_256(b"LOCALNET::Block")
        for part in (parent.hash, *hashes):
            digest.update(bytes.fromhex(part[2:]))
        digest.update(height.to_bytes(8, "little") + timestamp_us.to_bytes(8, "little"))
        block = BlockHeader(
            height=height,
            hash="0x" + digest.hexdigest(),
            parent=parent.hash,
            timestamp_us=timestamp_us,
            txn_count=len(hashes),
            system_txn_count=len(system_calls),
        )
        header_json = block_header_json(block, chain_id=self.chain_id)
        events: list[EventRow] = []
        sequences: dict[str, int] = {}
        previous: dict[str, int] = {}
        model_changed = False
        for position, (call, tx_hash) in enumerate(zip(system_calls, system_hashes, strict=True)):
            outcome = execute(
                self._model,
                module=call.module,
                function=call.function,
                signers=call.signers,
                args=call.args,
                system=True,
            )
            new_events = self._events.record(outcome.events, tx_hash=tx_hash, height=height)
            events.extend(new_events)
            rows.append(
                system_row(
                    call,
                    outcome,
                    new_events,
                    tx_hash=tx_hash,
                    package_address=self.package_address,
                    chain_id=self.chain_id,
                    block=block,
                    block_header=header_json,
                    position=position,
                    accepted_wall=wall,
                    executed_wall=self._wall(),
                )
            )
            model_changed |= outcome.success
            if call.actor == "drill":
                self.drills.settled(call, success=outcome.success)
            else:
                model_changed |= self._actors.settled(
                    call, success=outcome.success, model=self._model
                )
            level = log.debug if outcome.success else log.info
            level(
                "localnet_system_tx_executed",
                actor=call.actor,
                function=f"{call.module}::{call.function}",
                vm_status=outcome.vm_status,
                height=height,
            )
        for position, pending in enumerate(ready, start=len(system_calls)):
            tx = pending.tx
            outcome = execute(
                self._model,
                module=tx.module,
                function=tx.function,
                signers=tx.signer_arguments,
                args=tx.args,
            )
            previous.setdefault(tx.sender, self.sequence_number(tx.sender))
            self._sequences[tx.sender] = sequences[tx.sender] = tx.sequence_number + 1
            new_events = self._events.record(outcome.events, tx_hash=tx.hash, height=height)
            events.extend(new_events)
            rows.append(
                user_row(
                    pending,
                    outcome,
                    new_events,
                    block=block,
                    block_header=header_json,
                    position=position,
                    executed_wall=self._wall(),
                )
            )
            model_changed |= outcome.success
            log.debug("localnet_tx_executed", tx_hash=tx.hash, status=outcome.status, height=height)
        model_changed |= self._actors.observe(model=self._model, block_s=block_s)
        self._tip = block
        self._block_times.append((block.timestamp_us, block.height, wall))
        self._history.record(block, previous)
        every = self.options.tip_write_every_blocks
        if rows or model_changed or height - self._last_written_height >= every:
            self._commit(
                block, rows=rows, events=events, sequences=sequences, model_changed=model_changed
            )
        waiters, self._block_waiters = self._block_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(block)
        return block

    def _commit(
        self,
        block: BlockHeader,
        *,
        rows: list[TransactionRow],
        events: list[EventRow],
        sequences: dict[str, int],
        model_changed: bool,
    ) -> None:
        meta: dict[str, object] = {
            "oracle": self._actors.oracle.to_json(),
            "actors": self._actors.to_json(),
            "system_count": str(self._system_count),
        }
        drop: list[str] = []
        if self._legacy_model_meta:
            meta["model_meta"] = {
                "package_address": self._model.package_address,
                "vrf_retry": self._model.vrf_retry,
            }
            drop.append("model")
        model_rows = self._model.changed_rows(self._rows)
        try:
            self._store.commit_block(
                tip=block,
                store_block=block.txn_count > 0,
                transactions=rows,
                events=events,
                sequences=sequences,
                meta=meta,
                model_rows=model_rows,
                drop_meta=drop,
            )
        except BaseException:
            # The rows were not written: write every row with the next block (and forget which
            # long members the encoder believes are stored).
            self._rows = RowEncoder()
            self._model.mark_all_dirty()
            raise
        self._legacy_model_meta = False
        self._last_written_height = block.height

    def time_reached(self, chain_ts_us: int) -> dict[str, object] | None:
        """The first block produced since start with a timestamp at or after ``chain_ts_us``.

        ``None`` if the chain has not reached that time yet, or reached it before this node
        started (its block times are not remembered across restarts).
        """
        times = self._block_times
        if not times or times[-1][0] < chain_ts_us or times[0][0] > chain_ts_us:
            return None
        index = bisect.bisect_left(times, chain_ts_us, key=lambda t: t[0])
        timestamp_us, height, wall = times[index]
        return {"height": height, "timestamp_us": timestamp_us, "produced_wall": wall}
