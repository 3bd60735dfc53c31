"""``autobot journal migrate``: a journal written by the executor against the localnet moves to
PostgreSQL row for row, and the executor goes on from it there; a non-empty target, a
difference found by the verification and a password on the command line are refused."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from autobot.chain.signer import Signer
from autobot.chain.supra import SupraGateway
from autobot.clock import FakeClock, SystemClock
from autobot.domain.lotteries import LotteryStatus
from autobot.errors import MigrationFailed
from autobot.execution import ActionSteps, Bookkeeper, Executor, Guards, Router, Sequencer
from autobot.journal.dsn import Dsn
from autobot.journal.migrate import copy_journal
from autobot.journal.postgres import PostgresJournal
from autobot.journal.protocol import Journal
from autobot.journal.records import (
    OPEN_ACTION_STATES,
    ActionState,
    NewIncident,
    RequestKind,
    TxState,
)
from autobot.journal.schema import TABLES
from autobot.journal.store import SqliteJournal
from autobot.localnet.runner import Localnet
from autobot.planning.plan import ActionKey, PlannedAction, Recipe
from autobot.planning.recipes import AutoClose, Cancel

pytestmark = pytest.mark.timeout(90)

AUTOBOT = str(Path(sys.executable).with_name("autobot"))


@pytest.fixture
async def gateway(localnet: Localnet) -> AsyncIterator[SupraGateway]:
    info = localnet.info
    async with SupraGateway(
        rpc_urls=[info.rpc_url], chain_id=info.chain_id, package=info.package_address
    ) as gw:
        yield gw


def executor_on(localnet: Localnet, gateway: SupraGateway, journal: Journal) -> Executor:
    info = localnet.info

    def sequencer(key_hex: str) -> Sequencer:
        return Sequencer(
            signer=Signer.from_private_key_hex(key_hex),
            gateway=gateway,
            journal=journal,
            clock=SystemClock(),
            window=4,
            ttl_seconds=60,
        )

    operators = {s.address: s for s in (sequencer(op.private_key) for op in info.operators[:2])}
    guards = Guards()
    book = Bookkeeper(journal=journal)
    steps = ActionSteps(
        journal=journal,
        gateway=gateway,
        admin=sequencer(info.admin.private_key),
        operators=operators,
        router=Router(guards=guards, operators=operators),
        guards=guards,
        clock=SystemClock(),
        live=True,
        book=book,
    )
    return Executor(journal=journal, gateway=gateway, steps=steps, book=book, confirm_seconds=5.0)


async def run_action(
    executor: Executor, gateway: SupraGateway, localnet: Localnet, recipe: Recipe, key: str
) -> ActionState:
    """Plan and advance an action to its end, moving the chain past a timelock when it waits."""
    kind, subject, round_ = key.split(":")
    now = (await gateway.chain_time()).seconds
    planned = PlannedAction(
        key=ActionKey(kind=kind, subject=int(subject), round=int(round_)),
        recipe=recipe,
        due_at=now,
        reason="migration test",
    )
    await executor.accept(planned, chain_now=now)
    for _ in range(6):
        result = await executor.advance(planned.key)
        if result.state is ActionState.WAITING and result.next_check_at is not None:
            seconds = result.next_check_at - (await gateway.chain_time()).seconds + 1
            async with (
                aiohttp.ClientSession() as http,
                http.post(f"{localnet.base_url}localnet/v1/advance", json={"seconds": seconds}),
            ):
                pass
        elif result.state not in OPEN_ACTION_STATES:
            return result.state
    raise AssertionError(f"{key} did not finish")


async def contents(journal: Journal) -> dict[str, Any]:
    """Everything the journal says, through its protocol (not its tables)."""
    actions = await journal.list_actions(limit=10_000)
    return {
        "actions": actions,
        "transactions": {a.key: await journal.transactions(a.key) for a in actions},
        "incidents": await journal.incidents(limit=10_000),
        "pending": await journal.pending_requests(),
        "terminal": await journal.terminal_statuses(),
        "events": await journal.event_counts("price_feed::PriceFeedUpdatedEvent"),
        "checks": await journal.next_checks(),
        "counts": await journal.action_counts(),
    }


def dsn_file(folder: Path, dsn: Dsn) -> Path:
    path = folder / "journal.dsn"
    path.write_text(dsn.reveal() + "\n")
    path.chmod(0o600)
    return path


def migrate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AUTOBOT, "journal", "migrate", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_a_journal_from_a_real_run_moves_row_for_row_and_the_work_goes_on(
    localnet: Localnet, gateway: SupraGateway, pg_database: Dsn, tmp_path: Path
) -> None:
    # given: the executor cancelled lottery 5 through operator A's timelock, on SQLite, and the
    # journal holds requests, incidents and lottery bookkeeping
    path = tmp_path / "journal.sqlite3"
    async with await SqliteJournal.open(path, clock=SystemClock()) as lite:
        executor = executor_on(localnet, gateway, lite)
        cancel = await run_action(
            executor, gateway, localnet, Cancel(lottery_id=5, reason=3), "cancel:5:3"
        )
        await lite.add_request(RequestKind.REFUND, "4", requested_by="alice")
        await lite.add_incident(
            NewIncident(type="Инцидент", description="x\x00y", responsible="bob")
        )
        await lite.mark_terminal(9, status=6, chain_now=1)
        await lite.set_next_check(2, 1_234)
        await lite.count_events(
            "price_feed::PriceFeedUpdatedEvent", next_height=40, seen=6, added={1: 4, 3: 2}
        )
        before = await contents(lite)
    assert cancel is ActionState.DONE and before["events"] is not None
    assert [t.state for t in before["transactions"]["cancel:5:3"]] == [TxState.COMMITTED] * 3
    # when
    done = migrate("--from", str(path), "--to-dsn-file", str(dsn_file(tmp_path, pg_database)))
    # then
    assert done.returncode == 0, done.stderr
    assert "verified row by row" in done.stdout and "transactions 3" in done.stdout
    assert "verified transactions: 3 rows, every column" in done.stderr
    assert "verified event_counts: 2 rows, every column" in done.stderr
    async with await PostgresJournal.open(pg_database, clock=SystemClock()) as pg:
        after = await contents(pg)
        # (PostgreSQL text holds no NUL: U+FFFD instead)
        before["incidents"][0] = replace(before["incidents"][0], description="x\ufffdy")
        assert after == before
        # and the executor goes on from the PostgreSQL journal: the admin's next number follows
        executor = executor_on(localnet, gateway, pg)
        close = await run_action(executor, gateway, localnet, AutoClose(lottery_id=1), "close:1:0")
        assert close is ActionState.DONE
        assert (await gateway.lottery_status(1)).status is LotteryStatus.CLOSING
        admin = Signer.from_private_key_hex(localnet.info.admin.private_key).address
        sent = [t for a in ("cancel:5:3", "close:1:0") for t in await pg.transactions(a)]
        admin_numbers = [t.sequence_number for t in sent if t.sender == admin]
        assert admin_numbers == sorted(admin_numbers) and len(set(admin_numbers)) == 2
    with sqlite3.connect(path) as db:  # the source is left as it was
        assert db.execute("SELECT COUNT(*) FROM actions").fetchone() == (1,)


async def test_a_target_that_is_not_empty_is_refused(pg_database: Dsn, tmp_path: Path) -> None:
    # given: a journal already migrated once
    path = tmp_path / "journal.sqlite3"
    async with await SqliteJournal.open(path, clock=FakeClock()) as lite:
        await lite.add_request(RequestKind.REFUND, "4", requested_by="alice")
    await copy_journal(path, pg_database)
    # when / then
    with pytest.raises(
        MigrationFailed, match=r"not empty \(requests \(1 rows\)\).*nothing is merged"
    ):
        await copy_journal(path, pg_database)
    with psycopg.connect(pg_database.reveal()) as conn:
        assert conn.execute("SELECT COUNT(*) FROM requests").fetchone() == (1,)


async def test_a_difference_found_by_the_verification_leaves_the_target_empty(
    pg_database: Dsn, tmp_path: Path
) -> None:
    # given: a target that changes what it stores (a trigger someone left behind)
    path = tmp_path / "journal.sqlite3"
    async with await SqliteJournal.open(path, clock=FakeClock()) as lite:
        await lite.add_request(RequestKind.REFUND, "4", requested_by="alice")
        await lite.add_incident(NewIncident(type="t", description="as written", responsible="r"))
    await (await PostgresJournal.open(pg_database, clock=FakeClock())).close()
    with psycopg.connect(pg_database.reveal(), autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN NEW.description := NEW.description || '!'; RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER bump BEFORE INSERT ON incidents FOR EACH ROW EXECUTE FUNCTION bump()"
        )
    # when
    done = migrate("--from", str(path), "--to-dsn-file", str(dsn_file(tmp_path, pg_database)))
    # then
    assert done.returncode == 1
    assert (
        "incidents row (id=1) differs in description: source 'as written', target 'as written!'"
        in done.stderr
    )
    with psycopg.connect(pg_database.reveal()) as conn:
        for table in TABLES:
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,), table


async def test_long_copies_report_progress(pg_database: Dsn, tmp_path: Path) -> None:
    # given: a journal with many rows
    path = tmp_path / "journal.sqlite3"
    await (await SqliteJournal.open(path, clock=FakeClock())).close()
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO requests (kind, subject, requested_by, requested_wall) VALUES (?, ?, ?, ?)",
            [("refund", str(i), "op", 1.0 + i) for i in range(25_000)],
        )
    lines: list[str] = []
    # when
    report = await copy_journal(path, pg_database, say=lines.append)
    # then
    assert report.rows["requests"] == 25_000 and report.total == 25_000
    assert "copying requests: 10000/25000 rows" in lines
    assert "verifying requests: 20000/25000 rows" in lines
    async with await PostgresJournal.open(pg_database, clock=FakeClock()) as pg:
        made = await pg.add_request(RequestKind.CANCEL, "1", requested_by="op")
    assert made.id == 25_001  # the identity continues after the copied ids


def test_a_password_on_the_command_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"")
    done = migrate("--from", str(path), "--to", "host=db1 dbname=j password=hunter2-secret")
    assert done.returncode == 2
    assert "--to-dsn-file" in done.stderr and "hunter2" not in done.stderr + done.stdout
