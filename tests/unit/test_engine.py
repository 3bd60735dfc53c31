"""One sweep (``engine.py``) over a fixed read of the chain and a real journal file.

The operator CLI must tell the story the daemon acts on: both build the planners' context with
the same functions (``sweep_context`` and ``planning.context.plan_context``), so for the same
journal and the same snapshot the sweep journals exactly what ``autobot status`` says it would
plan. The sweep reads through an injected ``SweepReads`` (here: a fixed snapshot), so no chain is
needed; the executor is told to start nothing (its steps are tested in ``execution/``).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Collection, Iterable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

sys.path.append(str(Path(__file__).parent / "planning"))
sys.path.append(str(Path(__file__).parent / "execution"))
from execution_fakes import ADMIN, FakeChain
from plan_builders import CHAIN_ID, NOW, canceled, cap, feed, lottery, snapshot

from autobot.clock import FakeClock
from autobot.config import Config, parse_config
from autobot.control.survey import OperatorNames, build_plan_context
from autobot.domain.actions import ActionKind
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.engine import Engine
from autobot.execution import ActionSteps, Bookkeeper, Executor, Guards, Router, Sequencer
from autobot.feed_updates import PRICE_UPDATED
from autobot.journal.incident_log import HEADER_LINE, IncidentLogFile, parse_log
from autobot.journal.operations import EventCounts
from autobot.journal.records import ActionState, NewAction, RequestKind
from autobot.journal.store import SqliteJournal
from autobot.metrics import DaemonMetrics
from autobot.planning import plan_all
from autobot.scheduling import ChainClockMap
from autobot.watchlist import ReadStats


class FixedReads:
    """``SweepReads`` that read the same snapshot every time, and count what was asked."""

    def __init__(self, snap: Snapshot) -> None:
        self.snapshot = snap
        self.last = ReadStats()
        self.finished: dict[int, tuple[int, LotteryView]] = {}
        self.changed: list[int] = []
        self.asked: list[str] = []

    async def read(self, **_: object) -> Snapshot:
        self.asked.append("read")
        return self.snapshot

    async def scan(self, *, busy: Collection[int] = ()) -> int:
        self.asked.append("scan")
        return 0

    def mark_changed(self, lottery_ids: Iterable[int]) -> None:
        self.changed.extend(lottery_ids)

    def for_planning(self, snapshot: Snapshot, *, also: Collection[int] = ()) -> Snapshot:
        return snapshot

    def next_due(self) -> int | None:
        return None


def daemon_config(tmp_path: Path) -> Config:
    return parse_config(
        {
            "chain": {"rpc_urls": ["http://127.0.0.1:1/"], "chain_id": CHAIN_ID,
                      "package_address": "0x1"},
            "keys": {"admin_key_file": "admin.key", "operator_key_files": {"A": "a.key"}},
        },
        source=tmp_path / "autobot.toml",
        environ={},
    )  # fmt: skip


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    clock = FakeClock(wall=1_700_000_000.0)
    async with await SqliteJournal.open(tmp_path / "journal.sqlite3", clock=clock) as j:
        yield j


def engine(
    config: Config,
    journal: SqliteJournal,
    reads: FixedReads,
    *,
    metrics: DaemonMetrics | None = None,
    incident_log: IncidentLogFile | None = None,
) -> Engine:
    clock = FakeClock(wall=1_700_000_000.0)
    chain = FakeChain(admin=ADMIN, now=NOW, wall=clock.wall)
    guards = Guards()
    admin = Sequencer(
        signer=ADMIN,
        gateway=chain,  # type: ignore[arg-type]
        journal=journal,
        clock=clock,
        window=4,
        ttl_seconds=60,
    )
    book = Bookkeeper(journal=journal)
    steps = ActionSteps(
        journal=journal,
        gateway=chain,  # type: ignore[arg-type]
        admin=admin,
        operators={},
        router=Router(guards=guards, operators=()),
        guards=guards,
        clock=clock,
        live=True,
        book=book,
    )
    executor = Executor(
        journal=journal,
        gateway=chain,  # type: ignore[arg-type]
        steps=steps,
        book=book,
        stopping=lambda: True,  # journal what is planned, start nothing
    )
    return Engine(
        config=config,
        gateway=chain,  # type: ignore[arg-type]
        journal=journal,
        executor=executor,
        metrics=metrics or DaemonMetrics(CollectorRegistry()),
        clock_map=ChainClockMap(),
        watchlist=reads,
        operator_names={},
        wake_at_chain=lambda chain_ts, key: None,
        wall=clock.wall,
        incident_log=incident_log,
    )


async def test_the_sweep_plans_what_the_cli_says_it_would_for_the_same_journal_and_chain(
    tmp_path: Path, journal: SqliteJournal
) -> None:
    # given: a journal that knows lottery 9 as terminal while the chain shows it canceled with
    # its refunds owed (a journal of another chain, kept by mistake), a pending cancel request
    # for lottery 5, and a lottery whose sales ended
    config = daemon_config(tmp_path)
    await journal.mark_terminal(9, status=7, chain_now=NOW)
    await journal.add_request(RequestKind.CANCEL, "5", requested_by="op", params={"reason": 2})
    snap = snapshot(
        canceled(9),
        lottery(5),
        lottery(1, sales_end=NOW - 10),
        payout_cap=cap(),
    )
    cli_ctx = await build_plan_context(config, journal, names=OperatorNames(by_name={}))
    cli_plan = plan_all(snap, cli_ctx)
    reads = FixedReads(snap)
    # when
    summary = await engine(config, journal, reads).sweep()
    # then: the sweep read, then (after acting) scanned for changes
    assert reads.asked == ["read", "scan"]
    # and journaled exactly what the CLI planned, the chain deciding for lottery 9
    journaled = sorted(a.key for a in await journal.list_actions())
    assert journaled == sorted(str(a.key) for a in cli_plan.actions)
    assert {"refund:9:1", "cancel:5:2", "close:1:0"} <= set(journaled)
    assert summary.planned == len(journaled)
    assert await journal.pending_requests() == []  # the cancel request was planned: done


async def test_an_escalation_is_logged_as_the_handbooks_incident_type(
    tmp_path: Path, journal: SqliteJournal
) -> None:
    # given: a lottery closing without a ticket sold (a person must look at it)
    snap = snapshot(lottery(3, LotteryStatus.CLOSING, tickets=0))
    # when
    summary = await engine(daemon_config(tmp_path), journal, FixedReads(snap)).sweep()
    # then: one incident, typed as the handbook's incident log types it ("Инцидент")
    assert summary.escalations == 1
    [incident] = await journal.incidents()
    assert incident.type == "Инцидент"
    assert incident.description.startswith("closing_without_tickets 3:")


async def test_a_sweep_prunes_finished_work_past_the_retention(
    tmp_path: Path, journal: SqliteJournal
) -> None:
    # given: a close finished 40 chain days ago, one finished yesterday, a 30-day retention
    config = parse_config(
        {
            "chain": {"rpc_urls": ["http://127.0.0.1:1/"], "chain_id": CHAIN_ID,
                      "package_address": "0x1"},
            "keys": {"admin_key_file": "admin.key", "operator_key_files": {"A": "a.key"}},
            "journal": {"path": str(journal.path), "retention_days": 30},
        },
        source=tmp_path / "autobot.toml",
        environ={},
    )  # fmt: skip
    for key, finished in (("close:7:0", NOW - 40 * 86_400), ("close:8:0", NOW - 86_400)):
        new = NewAction(
            key=key, kind="close", subject_id=int(key.split(":")[1]), action_id=None,
            recipe="{}", reason="t", due_at=finished,
        )  # fmt: skip
        await journal.add_action(new, chain_now=finished)
        await journal.update_action(
            key, expect={ActionState.PLANNED}, chain_now=finished, state=ActionState.DONE
        )
    # when
    await engine(config, journal, FixedReads(snapshot(payout_cap=cap()))).sweep()
    # then: the old one exported beside the journal and gone; the recent one kept
    keys = {a.key for a in await journal.list_actions(limit=100)}
    assert "close:7:0" not in keys and "close:8:0" in keys
    export = journal.path.with_name(journal.path.name + ".pruned.jsonl")
    assert '"close:7:0"' in export.read_text()


async def test_a_sweep_ticks_at_debug_and_sums_up_at_info_at_most_once_a_minute(
    tmp_path: Path, journal: SqliteJournal
) -> None:
    from structlog.testing import capture_logs

    eng = engine(daemon_config(tmp_path), journal, FixedReads(snapshot(lottery(5))))
    with capture_logs() as logs:
        for _ in range(3):
            await eng.sweep()
    ticks = [e for e in logs if e["event"] == "tick"]
    summaries = [e for e in logs if e["event"] == "sweeps_summary"]
    assert len(ticks) == 3 and {e["log_level"] for e in ticks} == {"debug"}
    assert len(summaries) == 1 and summaries[0]["log_level"] == "info"  # the clock stood still
    assert "chain time" in summaries[0]["story"]
    first_look = [e for e in logs if e["event"] == "lotteries_watched"]
    assert [e["story"] for e in first_look] == ["watching 1 live lotteries (1 ACTIVE); bots none"]


async def test_a_requested_action_that_ends_gets_an_incident_signed_by_its_requester(
    tmp_path: Path, journal: SqliteJournal
) -> None:
    from autobot.domain.actions import ActionKey
    from autobot.execution import StepResult
    from autobot.journal.records import (
        ActionState,
        NewTransaction,
        TxPurpose,
        TxSettlement,
        TxState,
    )

    # given: a cancel request with a note, planned by a sweep, executed by one transaction
    await journal.add_request(
        RequestKind.CANCEL, "5", requested_by="alice", params={"reason": 2, "note": "regulator"}
    )
    eng = engine(daemon_config(tmp_path), journal, FixedReads(snapshot(lottery(5))))
    await eng.sweep()
    (action,) = await journal.list_actions()
    tx_hash = "0x" + "ab" * 32
    await journal.add_transaction(
        NewTransaction(
            tx_hash=tx_hash, action_key=action.key, action_hash=b"\x01" * 32,
            purpose=TxPurpose.EXECUTE, call_index=0, call="{}", sender=ADMIN.address,
            sequence_number=0, expires_at=2_000_000_000, raw=b"\x00",
        ),
        expect={ActionState.PLANNED},
        chain_now=NOW,
        state=ActionState.EXECUTING,
    )  # fmt: skip
    await journal.settle_transaction(TxSettlement(tx_hash=tx_hash, state=TxState.COMMITTED))
    await journal.update_action(
        action.key, expect={ActionState.EXECUTING}, chain_now=NOW, state=ActionState.DONE
    )
    # when: its step reports the end, and the next sweep tells it
    key = ActionKey.parse(action.key)
    eng._step_done(key, StepResult(key=key, state=ActionState.DONE))
    await eng.sweep()
    # then: one row, signed by the requester, with the note and the transaction as the link
    (row,) = [i for i in await journal.incidents() if i.responsible == "alice"]
    assert row.links == tx_hash
    assert row.description == (
        f"operator request #1 (cancel 5) by alice: {action.key} done; note: regulator"
    )


async def test_a_plan_for_work_the_journal_holds_done_reads_its_lottery_again(
    tmp_path: Path, journal: SqliteJournal
) -> None:
    from autobot.journal.records import ActionState, NewAction

    # given: lottery 1's close journaled done (a takeover's recovery finished it) while the
    # view the sweep plans with still shows the lottery ACTIVE past its sales end (an ACTIVE
    # lottery past its sales end has no next check: nothing else would read it again)
    [(record, _)] = await journal.add_actions(
        [
            NewAction(
                key="close:1:0", kind=ActionKind.CLOSE, subject_id=1, action_id=None,
                recipe="{}", reason="sales ended", due_at=NOW - 5,
            )
        ],
        chain_now=NOW,
    )  # fmt: skip
    await journal.update_action(
        record.key, expect={ActionState.PLANNED}, chain_now=NOW, state=ActionState.DONE
    )
    reads = FixedReads(snapshot(lottery(1, sales_end=NOW - 10), lottery(2, sales_end=NOW + 3_600)))
    # when: a sweep plans the close again
    summary = await engine(daemon_config(tmp_path), journal, reads).sweep()
    # then: nothing new is journaled, and lottery 1 (only it) is read again for the next sweep
    assert summary.planned == 0
    assert [a.key for a in await journal.list_actions()] == ["close:1:0"]
    assert reads.changed == [1]


async def test_a_standbys_sweep_reads_and_reports_but_plans_and_writes_nothing(
    tmp_path: Path, journal: SqliteJournal
) -> None:
    # given: work the leader would plan (a lottery whose sales ended, a cancel request), and
    # the price feed updates the leader counted
    await journal.add_request(RequestKind.CANCEL, "5", requested_by="op", params={"reason": 2})
    await journal.count_events(PRICE_UPDATED, next_height=7, seen=4, added={1: 4})
    snap = snapshot(lottery(5), lottery(1, sales_end=NOW - 10), payout_cap=cap(), feeds=(feed(1),))
    reads = FixedReads(snap)
    sweeps = engine(daemon_config(tmp_path), journal, reads)
    # when
    summary = await sweeps.observe()
    # then: the chain read as a sweep reads it (the watchlist stays warm) ...
    assert reads.asked == ["read", "scan"]
    assert sweeps.last_snapshot is snap and summary.planned == 0
    # (with the planners' context the leader has: the status page a standby serves)
    assert sweeps.last_context is not None and len(sweeps.last_context.requests) == 1
    # ... the metrics reported ...
    registry = sweeps._metrics.registry  # reaching in: the engine's own registry
    assert registry.get_sample_value("status_overview_lotteries") == 2
    assert registry.get_sample_value("autobot_last_tick_timestamp_seconds") == 1_700_000_000.0
    assert registry.get_sample_value("price_feed_updates_total", {"asset_id": "1"}) == 4
    # ... and nothing journaled or handled
    assert await journal.list_actions() == []
    assert [r.id for r in await journal.pending_requests()] == [1]
    assert await journal.event_counts(PRICE_UPDATED) == EventCounts(
        next_height=7, seen=4, counts={1: 4}
    )


async def test_what_needs_a_person_is_a_metric_and_a_row_of_the_incident_log_file(
    tmp_path: Path, journal: SqliteJournal
) -> None:
    # given a CLOSING lottery without tickets and an ACTIVE one whose auto-close is disabled
    snap = snapshot(
        lottery(3, LotteryStatus.CLOSING, tickets=0),
        lottery(7, sales_end=NOW - 60, auto_close=False),
    )
    registry = CollectorRegistry()
    path = tmp_path / "incident_log.md"
    run = engine(
        daemon_config(tmp_path),
        journal,
        FixedReads(snap),
        metrics=DaemonMetrics(registry),
        incident_log=IncidentLogFile(path=path, journal=journal),
    )
    # when two sweeps run
    await run.sweep()
    await run.sweep()

    # then each is a series of autobot_escalations (the AutobotEscalation alert)
    def series(reason: str, subject: str) -> float | None:
        labels = {"reason": reason, "subject": subject}
        return registry.get_sample_value("autobot_escalations", labels)

    assert series("closing_without_tickets", "3") == 1.0
    assert series("auto_close_disabled", "7") == 1.0
    assert registry.get_sample_value("lottery_auto_close_disabled", {"lottery_id": "7"}) == 1.0
    closes = [a.key for a in await journal.list_actions() if a.kind is ActionKind.CLOSE]
    assert closes == []  # lottery 7 is closed by hand, never by autobot
    # and the incident-log file holds one row per episode in the handbook's table
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER_LINE
    descriptions = sorted(r.description.split(":")[0] for r in parse_log(text).rows)
    assert descriptions == ["auto_close_disabled 7", "closing_without_tickets 3"]
