"""The operator CLI against the demo localnet and a real journal file.

Commands run in-process through ``autobot.cli.main`` in a worker thread (each handler runs its own
event loop with ``asyncio.run`` while the localnet keeps serving on the test's loop), and once as
a real subprocess. Every run's stdout and stderr are checked for the localnet's dev private keys.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from autobot.chain.supra import SupraGateway
from autobot.cli import main
from autobot.clock import SystemClock
from autobot.config import load_config
from autobot.errors import EX_CONFIG
from autobot.journal.records import (
    ActionState,
    NewAction,
    NewIncident,
    NewTransaction,
    RequestKind,
    RequestRecord,
    TxPurpose,
    TxSettlement,
    TxState,
)
from autobot.journal.store import SqliteJournal
from autobot.localnet.config_writer import write_daemon_config
from autobot.localnet.runner import Localnet

pytestmark = pytest.mark.timeout(60)

AUTOBOT = Path(sys.executable).parent / "autobot"


@dataclass(frozen=True)
class Env:
    config: Path
    journal: Path
    localnet: Localnet

    @property
    def secrets(self) -> list[str]:
        info = self.localnet.info
        keys = [info.admin.private_key, *(op.private_key for op in info.operators)]
        return [k.lower().removeprefix("0x") for k in keys]

    @property
    def operator_a(self) -> str:
        return self.localnet.info.operators[0].address

    @property
    def operator_b(self) -> str:
        return self.localnet.info.operators[1].address


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
async def env(localnet: Localnet, tmp_path: Path) -> Env:
    config = tmp_path / "daemon" / "autobot.toml"
    write_daemon_config(config, localnet.info)
    journal_path = load_config(config).journal.path
    journal = await SqliteJournal.open(journal_path, clock=SystemClock())  # as the daemon would
    await journal.close()
    return Env(config=config, journal=journal_path, localnet=localnet)


async def autobot(env: Env, capsys: pytest.CaptureFixture[str], *argv: str) -> Ran:
    """``autobot ARGV`` in-process (``{cfg}`` in an argument is the config path)."""
    args = [a.replace("{cfg}", str(env.config)) for a in argv]
    code = await asyncio.to_thread(main, args)
    out, err = capsys.readouterr()
    for secret in env.secrets:
        assert secret not in out.lower() and secret not in err.lower(), "key material printed"
    return Ran(code=code, out=out, err=err)


async def pending(env: Env) -> list[RequestRecord]:
    async with await SqliteJournal.open(env.journal, clock=SystemClock()) as journal:
        return await journal.pending_requests()


# --------------------------------------------------------------------------------------------
# status


async def test_status_tells_what_the_demo_needs(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = await autobot(env, capsys, "status", "--config", "{cfg}")
    assert ran.code == 0, ran.err
    assert env.operator_a in ran.out and env.operator_b in ran.out
    assert "chain 77 at chain time" in ran.out
    assert "#4 CANCELED" in ran.out
    a, b = (
        f"0x{env.operator_a[2:6]}…{env.operator_a[-4:]}",
        f"0x{env.operator_b[2:6]}…{env.operator_b[-4:]}",
    )
    assert f"refund:4:1 PAYOUT_BATCH(6) via bot A ({a}) (timelock 900 s)" in ran.out
    assert f"close:1:0 AUTO_CLOSE(1) via bot B ({b})" in ran.out
    feeds = ran.out.split("Price feeds")[1].split("Journal")[0]
    assert "asset 2" in feeds and "CLAMPED" in feeds.split("asset 2")[1].split("\n")[0]
    assert "STALE" in feeds.split("asset 3")[1].split("\n")[0]
    assert "tickets 0/1234 refunded" in ran.out
    # the playbook's systems as the daemon's watch sees them (the demo has no treasury or caps)
    section = ran.out.split("Sales, payouts, roles and dual-write\n")[1].split("\nJournal")[0]
    assert "sales: selling #1, #5" in section
    assert "payouts: no lottery in PAYOUT" in section
    assert "accounting: all 5 live lotteries reconcile" in section
    assert "dual-write: on, 0 expected hash(es) waiting" in section
    # the clamped feed's refused update, its threshold, and the command that clears it
    assert "refused price 150000000 (a move of 50.0 % from 100000000; threshold 20.0 %)" in feeds
    assert f"`{AUTOBOT} feed clear-clamp 2 --config {env.config}`" in feeds or (
        f"feed clear-clamp 2 --config {env.config}`" in feeds
    )


async def test_status_json_is_the_same_story(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    ran = await autobot(env, capsys, "status", "--json", "--config", "{cfg}")
    assert ran.code == 0, ran.err
    report = json.loads(ran.out)
    assert report["chain"]["reachable"] is True and report["chain"]["chain_id"] == 77
    bots = {b["name"]: b for b in report["bots"]}
    assert set(bots) == {"A", "B"}
    assert bots["A"]["operator"] == env.operator_a and bots["A"]["timelock_secs"] == 900
    assert bots["A"]["allowed_actions"] == [1, 2, 6, 7] and bots["A"]["pending"] is None
    lottery4 = next(lot for lot in report["lotteries"] if lot["lottery_id"] == 4)
    (refund,) = lottery4["planned"]
    assert (refund["key"], refund["action_id"], refund["bot"]) == ("refund:4:1", 6, "A")
    assert refund["operator"] == env.operator_a
    feeds = {f["asset_id"]: f for f in report["feeds"]}
    assert feeds[2]["clamped"] and not feeds[2]["stale"]
    assert feeds[3]["stale"] and not feeds[3]["clamped"]
    assert feeds[1]["usable"]
    (refund_progress,) = report["refunds"]
    assert refund_progress["lottery_id"] == 4 and refund_progress["tickets_sold"] == 1234
    assert report["journal"]["open_actions"] == 0 and report["journal"]["pending_requests"] == []


async def test_status_without_the_chain_still_shows_the_journal(
    env: Env, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert (
        await autobot(
            env, capsys, "cancel", "3", "--reason", "compliance", "--yes", "--config", "{cfg}"
        )
    ).code == 0
    text = env.config.read_text()
    offline = env.config.with_name("offline.toml")
    offline.write_text(text.replace(env.localnet.info.rpc_url, "http://127.0.0.1:9/"))
    ran = await autobot(env, capsys, "status", "--config", str(offline))
    assert ran.code == 75, ran.err  # EX_TEMPFAIL: the chain did not answer
    assert "UNREACHABLE" in ran.out
    assert "#1 cancel 3" in ran.out  # the journal part
    ran = await autobot(env, capsys, "status", "--json", "--config", str(offline))
    report = json.loads(ran.out)
    assert report["chain"]["reachable"] is False and report["chain"]["error"]
    assert report["lotteries"] is None and report["feeds"] is None
    assert [r["kind"] for r in report["journal"]["pending_requests"]] == ["cancel"]


async def test_status_as_a_subprocess(env: Env) -> None:
    process = await asyncio.create_subprocess_exec(
        str(AUTOBOT), "status", "--config", str(env.config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=45)
    assert process.returncode == 0, err.decode()
    text = out.decode() + err.decode()
    assert "refund:4:1 PAYOUT_BATCH(6) via bot A" in text
    for secret in env.secrets:
        assert secret not in text.lower()


# --------------------------------------------------------------------------------------------
# requests


async def test_cancel_writes_a_pending_request(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = await autobot(
        env, capsys, "cancel", "3", "--reason", "vrf-failure", "--yes", "--config", "{cfg}"
    )
    assert ran.code == 0, ran.err
    assert "request #1 written by" in ran.out
    assert "the daemon plans it as cancel:3:1" in ran.out
    assert f"announced by bot A ({env.operator_a})" in ran.out and "timelock is 900 s" in ran.out
    assert "cancellation::cancel_lottery_admin(3, 1, chain time " in ran.out
    # no daemon answers /clock: the localnet keeps the wall clock's pace, which is assumed
    assert "earliest execution: in 15 min (expected " in ran.out
    (request,) = await pending(env)
    assert (request.kind, request.subject, json.loads(request.params)) == (
        RequestKind.CANCEL,
        "3",
        {"reason": 1},
    )
    assert request.requested_by
    again = await autobot(
        env, capsys, "cancel", "3", "--reason", "operations", "--yes", "--config", "{cfg}"
    )
    assert again.code == 1 and "already in progress" in again.err
    assert len(await pending(env)) == 1


async def test_a_bad_lottery_is_refused_and_nothing_written(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = await autobot(env, capsys, "cancel", "99", "--reason", "operations", "--config", "{cfg}")
    assert ran.code == 1 and "lottery 99 does not exist" in ran.err
    ran = await autobot(env, capsys, "cancel", "4", "--reason", "operations", "--config", "{cfg}")
    assert ran.code == 1 and "CANCELED" in ran.err
    ran = await autobot(env, capsys, "refund", "2", "--config", "{cfg}")
    assert ran.code == 1 and "nothing to refund" in ran.err
    assert await pending(env) == []


async def test_refund_and_clear_clamp_requests(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = await autobot(env, capsys, "refund", "4", "--yes", "--config", "{cfg}")
    assert ran.code == 0, ran.err
    assert "refund:4:1" in ran.out and "starts at round 1: 3 batch(es)" in ran.out
    assert ran.out.count("payouts::force_refund_batch_admin(4, ") == 3
    assert "bot A" in ran.out and "timelock is 900 s" in ran.out
    ran = await autobot(env, capsys, "feed", "clear-clamp", "2", "--yes", "--config", "{cfg}")
    assert ran.code == 0, ran.err
    assert "price_feed::clear_clamp(2, chain time" in ran.out and "clamp:2:2" in ran.out
    assert "the refused price was 150000000" in ran.out
    refused = await autobot(env, capsys, "feed", "clear-clamp", "1", "--yes", "--config", "{cfg}")
    assert refused.code == 1 and "not clamped" in refused.err
    assert [(r.kind, r.subject, r.params) for r in await pending(env)] == [
        (RequestKind.REFUND, "4", "{}"),
        (RequestKind.CLAMP, "2", "{}"),
    ]


async def test_rotate_keeps_every_unset_value_explicitly(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    info = env.localnet.info
    async with SupraGateway(
        rpc_urls=[info.rpc_url], chain_id=info.chain_id, package=info.package_address
    ) as gateway:
        bot = await gateway.get_bot(env.operator_a)
    assert bot is not None
    ran = await autobot(
        env, capsys, "bot", "rotate", "A", "--max-failures", "5", "--yes", "--config", "{cfg}"
    )
    assert ran.code == 0, ran.err
    assert "max_failures: 3 → 5" in ran.out and "timelock: 900 s (unchanged)" in ran.out
    assert "signed by the admin and operator A (multi-agent)" in ran.out
    (request,) = await pending(env)
    assert request.kind is RequestKind.ROTATE and request.subject == env.operator_a
    assert json.loads(request.params) == {
        "max_failures": 5,
        "timelock_secs": 900,
        "allowed_actions": [1, 2, 6, 7],
        "expires_at": bot.expires_at,
        "cron_spec": "*/1 * * * *",
    }


async def test_rotate_by_address_with_a_new_expiry(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = await autobot(
        env, capsys, "bot", "rotate", env.operator_b.upper().replace("0X", "0x"),
        "--expires-in", "30d", "--cron", "0 * * * *", "--yes", "--config", "{cfg}",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    (request,) = await pending(env)
    params = json.loads(request.params)
    assert request.subject == env.operator_b
    assert params["expires_in"] == 30 * 86_400 and "expires_at" not in params
    assert params["cron_spec"] == "0 * * * *" and params["timelock_secs"] == 0


async def test_rotate_that_breaks_the_timelock_policy_is_refused(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = await autobot(
        env, capsys, "bot", "rotate", "B", "--allowed-actions", "1,7", "--yes", "--config", "{cfg}"
    )
    assert ran.code == 1 and "timelock >= 900" in ran.err
    unknown = await autobot(env, capsys, "bot", "rotate", "C", "--yes", "--config", "{cfg}")
    assert unknown.code == 1 and "not configured" in unknown.err
    assert await pending(env) == []


def deposit_call(env: Env, function: str, *args: int) -> None:
    """An admin call on the localnet's package model (another admin tool; no daemon runs)."""
    admin = env.localnet.info.admin.address
    env.localnet.node.model.call("vrf_deposit", function, signers=[admin], args=list(args))


async def test_vrf_resume_is_refused_until_the_deposit_is_paused_and_healthy(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    now = env.localnet.node.chain_time
    # the demo's deposit is healthy and running: nothing to resume
    ran = await autobot(env, capsys, "vrf", "resume", "--config", "{cfg}")
    assert ran.code == 1 and "VRF requests are not paused" in ran.err
    # a snapshot below the required minimum pauses requests: resuming is refused, saying why
    deposit_call(env, "record_snapshot_admin", 2 * 10**10, 10**10, 10**10, now)
    ran = await autobot(env, capsys, "vrf", "resume", "--config", "{cfg}")
    assert ran.code == 1, ran.out
    assert "the VRF deposit is still short" in ran.err
    assert "below the required minimum 12000000000" in ran.err and "nothing was written" in ran.err
    assert await pending(env) == []
    # the floor was the only problem and the admin lowered it: still paused, now healthy
    deposit_call(env, "record_snapshot_admin", 10**9, 10**8, 5 * 10**8, now + 1)
    deposit_call(env, "update_config", 12_000, 10**8)
    ran = await autobot(env, capsys, "vrf", "resume", "--config", "{cfg}")
    assert ran.code == 1 and "is a sensitive request" in ran.err  # no terminal: --yes
    assert await pending(env) == []
    ran = await autobot(env, capsys, "vrf", "resume", "--yes", "--config", "{cfg}")
    assert ran.code == 0, ran.err
    assert "resume VRF requests (paused since chain time " in ran.out
    assert "action 5, UNPAUSE" in ran.out and "unpause:0:1" in ran.out
    # the demo's bots are not allowed action 5 (the ops scenario's A is): the CLI says so
    assert "WARNING: no bot can carry action 5" in ran.out
    [request] = await pending(env)
    assert (request.kind, request.subject) == (RequestKind.UNPAUSE, "0")


# --------------------------------------------------------------------------------------------
# actions and incidents


async def _journal_a_parked_refund(env: Env) -> tuple[str, str]:
    key, tx_hash = "refund:4:1", "0x" + "cd" * 32
    async with await SqliteJournal.open(env.journal, clock=SystemClock()) as journal:
        await journal.add_action(
            NewAction(
                key=key, kind="refund", subject_id=4, action_id=6,
                recipe='{"type": "refund", "lottery_id": 4, "batches": [[1, 500, 1, 2]]}',
                reason="canceled: 1 refund batch", due_at=1_000,
            ),
            chain_now=1_000,
        )  # fmt: skip
        calls = '[{"module":"payouts","function":"force_refund_batch_admin","args":[["u64",4]],"not_before":1900,"secondary":[]}]'
        await journal.add_transaction(
            NewTransaction(
                tx_hash=tx_hash, action_key=key, action_hash=b"\xab" * 32,
                purpose=TxPurpose.ANNOUNCE, call_index=0,
                call='{"module":"automation","function":"announce_dry_run","args":[]}',
                sender=env.operator_a, sequence_number=7, expires_at=2_000_000_000, raw=b"\x01",
            ),
            expect={ActionState.PLANNED}, chain_now=1_001, state=ActionState.ANNOUNCED,
            operator=env.operator_a, timelock_secs=900, execute_at=1_900,
            action_hash=b"\xab" * 32, calls=calls,
        )  # fmt: skip
        await journal.settle_transaction(
            TxSettlement(
                tx_hash=tx_hash, state=TxState.ABORTED, error_code=0x1A08,
                error_name="E_AUTOBOT_PENDING_EXISTS", error_message="Move abort in 0x…: E_AUTOBOT_PENDING_EXISTS(0x1a08)",
            )
        )  # fmt: skip
        await journal.update_action(
            key, expect={ActionState.ANNOUNCED}, chain_now=1_002, state=ActionState.PARKED,
            error_name="E_AUTOBOT_PENDING_EXISTS", error_code=0x1A08,
        )  # fmt: skip
    return key, tx_hash


async def test_actions_list_show_and_retry(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    key, tx_hash = await _journal_a_parked_refund(env)
    listed = await autobot(
        env, capsys, "actions", "--json", "--state", "parked", "--config", "{cfg}"
    )
    assert listed.code == 0, listed.err
    (row,) = json.loads(listed.out)
    assert (row["key"], row["state"], row["operator_name"], row["action_id"]) == (
        key, "parked", "A", 6,
    )  # fmt: skip
    text = await autobot(env, capsys, "actions", "--state", "parked", "--config", "{cfg}")
    a = f"0x{env.operator_a[2:6]}…{env.operator_a[-4:]}"
    assert f" bot A ({a}) " in text.out  # a bot by its name, with its address
    none_open = await autobot(env, capsys, "actions", "--state", "open", "--config", "{cfg}")
    assert none_open.out.strip() == "no actions"

    shown = await autobot(env, capsys, "actions", "--config", "{cfg}", "show", key)
    assert shown.code == 0, shown.err
    assert tx_hash in shown.out and "announce" in shown.out and "sequence 7" in shown.out
    assert "0x" + "ab" * 32 in shown.out  # the action hash
    assert "payouts::force_refund_batch_admin(4)" in shown.out
    assert "E_AUTOBOT_PENDING_EXISTS(0x1a08)" in shown.out  # the vm_status
    detail = json.loads(
        (
            await autobot(env, capsys, "actions", "--config", "{cfg}", "show", "refund:4", "--json")
        ).out
    )
    assert detail["key"] == key and detail["transactions"][0]["tx_hash"] == tx_hash
    assert "raw" not in detail["transactions"][0]

    # The planner plans refund:4:1 again, but the executor keeps the parked action as it is.
    status = await autobot(env, capsys, "status", "--config", "{cfg}")
    assert "refund:4:1 is already journaled as parked" in status.out
    assert "actions retry refund:4:1 --config" in status.out
    refund = await autobot(env, capsys, "refund", "4", "--yes", "--config", "{cfg}")
    assert refund.code == 1 and "already has (parked)" in refund.err

    retried = await autobot(env, capsys, "actions", "--config", "{cfg}", "retry", key)
    assert retried.code == 0, retried.err
    assert "the daemon will run refund:4:1 (parked) again" in retried.out
    assert "request #1 written by" in retried.out and "within ~" in retried.out
    (request,) = await pending(env)
    assert (request.kind, request.subject) == (RequestKind.RETRY, key)
    parked = await autobot(env, capsys, "actions", "--config", "{cfg}", "park", key)
    assert parked.code == 1 and "only open actions" in parked.err


async def test_actions_show_of_an_unknown_key(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    ran = await autobot(env, capsys, "actions", "--config", "{cfg}", "show", "close:42:0")
    assert ran.code == 1 and "no action 'close:42:0'" in ran.err
    ran = await autobot(env, capsys, "actions", "--config", "{cfg}", "retry", "nope")
    assert ran.code == 1


async def test_incidents_as_the_handbooks_markdown_table(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    async with await SqliteJournal.open(env.journal, clock=SystemClock()) as journal:
        await journal.add_incident(
            NewIncident(type="Dry-run", description="announced refund:4:1", responsible="autobot",
                        action_key="refund:4:1", action_hash=b"\xab" * 32, tx_hash="0x" + "cd" * 32)
        )  # fmt: skip
        await journal.add_incident(
            NewIncident(type="Cancellation", description="lottery 3 | reason 1",
                        responsible="autobot (operator A)", links="https://example/3")
        )  # fmt: skip
    ran = await autobot(env, capsys, "incidents", "--format", "markdown", "--config", "{cfg}")
    assert ran.code == 0, ran.err
    lines = ran.out.strip().splitlines()
    assert lines[0] == "| Дата/время (UTC) | Тип события | Описание | Ответственные | Ссылки |"
    assert lines[1].startswith("| ---")
    assert "| Cancellation | lottery 3 \\| reason 1 | autobot (operator A) |" in lines[2]  # newest
    assert "| Dry-run |" in lines[3]
    assert lines[3].endswith("| 0x" + "cd" * 32 + " |")  # the transaction is the link
    assert "hash 0x" + "ab" * 32 in lines[3]
    rows = json.loads(
        (await autobot(env, capsys, "incidents", "--format", "json", "--config", "{cfg}")).out
    )
    assert [r["type"] for r in rows] == ["Cancellation", "Dry-run"]


# --------------------------------------------------------------------------------------------
# config and journal problems


async def test_a_missing_config_exits_78(
    env: Env, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.toml"
    for argv in (["status"], ["incidents"], ["cancel", "3", "--reason", "operations", "--yes"]):
        ran = await autobot(env, capsys, *argv, "--config", str(missing))
        assert ran.code == EX_CONFIG and "cannot read the config file" in ran.err


async def test_a_missing_journal_is_reported_not_created(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(env.journal) + suffix).unlink(missing_ok=True)
    for argv in (["status"], ["actions"], ["refund", "4"]):
        ran = await autobot(env, capsys, *argv, "--config", "{cfg}")
        assert ran.code == 74 and "no journal at" in ran.err  # EX_IOERR
    assert not env.journal.exists()


# --------------------------------------------------------------------------------------------
# the request flow: confirmation, dry run, notes, JSON, nothing-changes


async def test_a_sensitive_request_without_a_terminal_needs_yes_and_writes_nothing(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = await autobot(env, capsys, "cancel", "3", "--reason", "compliance", "--config", "{cfg}")
    assert ran.code == 1
    assert "cancel lottery 3 (CLOSING) with reason compliance (code 2)" in ran.out  # told first
    assert "no terminal to confirm it on" in ran.err and "--yes" in ran.err
    assert await pending(env) == []


async def test_a_dry_run_says_everything_and_writes_nothing(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = await autobot(env, capsys, "refund", "4", "--dry-run", "--json", "--config", "{cfg}")
    assert ran.code == 0, ran.err
    report = json.loads(ran.out)
    assert report["dry_run"] is True and report["request"]["id"] is None
    assert report["action_key"] == "refund:4:1"
    assert report["preview"]["bot"]["name"] == "A" and report["preview"]["timelock_secs"] == 900
    assert report["preview"]["executes_after"]["chain_time"].endswith("Z")
    assert report["config"] == {"path": str(env.config), "how": "--config"}
    assert await pending(env) == []


async def test_a_note_and_the_requester_are_written_with_the_request(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = await autobot(
        env, capsys, "feed", "clear-clamp", "2", "--yes", "--note", "provider confirmed",
        "--json", "--config", "{cfg}",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    report = json.loads(ran.out)
    (request,) = await pending(env)
    assert report["request"]["id"] == request.id and report["action_key"] == f"clamp:2:{request.id}"
    assert json.loads(request.params) == {"note": "provider confirmed"}
    assert request.requested_by == report["request"]["requested_by"] != ""


async def test_a_rotation_that_changes_nothing_is_refused_before_it_is_written(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = await autobot(env, capsys, "bot", "rotate", "B", "--yes", "--config", "{cfg}")
    assert ran.code == 1
    assert "rotating B changes nothing" in ran.err and "nothing was written" in ran.err
    assert await pending(env) == []


async def test_a_sensitive_request_asks_on_a_terminal_and_a_no_writes_nothing(env: Env) -> None:
    import os
    import pty

    leader, follower = pty.openpty()
    process = await asyncio.create_subprocess_exec(
        str(AUTOBOT), "cancel", "3", "--reason", "operations", "--config", str(env.config),
        stdin=follower, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    os.close(follower)
    os.write(leader, b"n\n")
    out, err = await asyncio.wait_for(process.communicate(), timeout=45)
    os.close(leader)
    assert process.returncode == 1
    assert "Write this request? [y/N]" in err.decode()
    assert "not confirmed; nothing was written" in err.decode()
    assert "cancel lottery 3" in out.decode()
    assert await pending(env) == []


async def test_a_rotation_says_which_announced_action_starts_over(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """rotate_bot clears the bot's pending slot: the preview names what that undoes, whether the
    announcement is autobot's (its action key) or not (someone else's hash)."""
    import aiohttp

    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{env.localnet.base_url}localnet/v1/drill",
            json={"drill": "failure-limit", "operator": "A"},
        ) as reply,
    ):
        assert reply.status == 200, await reply.text()
    for _ in range(3):  # the drill's announcement executes in the next block
        await env.localnet.node.next_block()
    argv = ("bot", "rotate", "A", "--max-failures", "5", "--dry-run", "--config", "{cfg}")
    foreign = await autobot(env, capsys, *argv)
    assert foreign.code == 0, foreign.err
    assert "rotate_bot clears A's pending slot (hash 0x" in foreign.out
    assert "which is not in autobot's journal: whoever announced it must announce again" in (
        foreign.out.replace("\n", " ")
    )
    # the same slot, as held by an announcement autobot journaled
    key = "refund:4:1"
    async with await SqliteJournal.open(env.journal, clock=SystemClock()) as journal:
        await journal.add_action(
            NewAction(
                key=key, kind="refund", subject_id=4, action_id=6,
                recipe='{"type": "refund", "lottery_id": 4, "batches": [[1, 500, 1, 2]]}',
                reason="canceled: 1 refund batch", due_at=1_000,
            ),
            chain_now=1_000,
        )  # fmt: skip
        await journal.update_action(
            key, expect={ActionState.PLANNED}, chain_now=1_001, state=ActionState.WAITING,
            operator=env.operator_a, timelock_secs=900, execute_at=1_900,
        )  # fmt: skip
    ours = await autobot(env, capsys, *argv)
    assert ours.code == 0, ours.err
    assert f"rotate_bot clears A's pending slot: the announced {key} starts over" in (
        ours.out.replace("\n", " ")
    )
    assert await pending(env) == []  # a dry run writes nothing


async def test_wait_follows_a_request_through_its_announcement_and_timelock_to_the_end(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--wait``'s follower reads a real journal while a stand-in for the daemon moves the request
    as the daemon's sweep would: taken → announced by bot A → waiting for the timelock (the
    countdown on both clocks) → done, with its transactions."""
    import re
    import time

    from autobot.control.follow import follow_request
    from autobot.control.survey import OperatorNames
    from autobot.journal.records import RequestState

    key, announce, execute = "refund:4:1", "0x" + "a1" * 32, "0x" + "b2" * 32
    now = int(time.time())  # the localnet's chain runs at the wall clock's pace from its genesis
    async with await SqliteJournal.open(env.journal, clock=SystemClock()) as journal:
        request = await journal.add_request(RequestKind.REFUND, "4", requested_by="tester")

        async def daemon() -> None:
            await asyncio.sleep(0.5)
            await journal.finish_request(
                request.id, state=RequestState.DONE, result=f"planned as action {key}"
            )
            await journal.add_action(
                NewAction(
                    key=key, kind="refund", subject_id=4, action_id=6,
                    recipe='{"type": "refund", "lottery_id": 4, "batches": [[1, 500, 1, 2]]}',
                    reason="requested", due_at=now,
                ),
                chain_now=now,
            )  # fmt: skip
            await journal.add_transaction(
                NewTransaction(
                    tx_hash=announce, action_key=key, action_hash=b"\xab" * 32,
                    purpose=TxPurpose.ANNOUNCE, call_index=0,
                    call='{"module":"automation","function":"announce_dry_run","args":[]}',
                    sender=env.operator_a, sequence_number=7, expires_at=now + 600, raw=b"\x01",
                ),
                expect={ActionState.PLANNED}, chain_now=now, state=ActionState.ANNOUNCED,
                operator=env.operator_a, timelock_secs=900, execute_at=now + 900,
                action_hash=b"\xab" * 32,
            )  # fmt: skip
            await asyncio.sleep(0.5)
            await journal.settle_transaction(
                TxSettlement(tx_hash=announce, state=TxState.COMMITTED)
            )
            await journal.update_action(
                key, expect={ActionState.ANNOUNCED}, chain_now=now + 1, state=ActionState.WAITING
            )
            await asyncio.sleep(1.5)  # the follower counts down meanwhile
            await journal.add_transaction(
                NewTransaction(
                    tx_hash=execute, action_key=key, action_hash=b"\xab" * 32,
                    purpose=TxPurpose.EXECUTE, call_index=0,
                    call='{"module":"payouts","function":"force_refund_batch_admin","args":[]}',
                    sender=env.localnet.info.admin.address, sequence_number=9,
                    expires_at=now + 1500, raw=b"\x02",
                ),
                expect={ActionState.WAITING}, chain_now=now + 900, state=ActionState.EXECUTING,
            )  # fmt: skip
            await journal.settle_transaction(TxSettlement(tx_hash=execute, state=TxState.COMMITTED))
            await journal.update_action(
                key, expect={ActionState.EXECUTING}, chain_now=now + 901, state=ActionState.DONE
            )

        names = OperatorNames(by_name={"A": env.operator_a, "B": env.operator_b})
        outcome, _ = await asyncio.wait_for(
            asyncio.gather(
                follow_request(
                    journal, gateway=None, config=load_config(env.config), request_id=request.id,
                    names=names,
                ),
                daemon(),
            ),
            timeout=30,
        )  # fmt: skip
    assert outcome.exit_code == 0 and outcome.state == "done"
    assert outcome.action_key == key and outcome.transactions == (announce, execute)
    lines = capsys.readouterr().out.splitlines()
    said = [
        f"request #{request.id}: waiting for the daemon to take it",
        f"request #{request.id}: planned as action {key}",
        f"{key}: announced by bot A ({env.operator_a})",
        f"{key}: waiting for the timelock: executes in ",
        f"{key}: done; transactions: {announce}, {execute}",
    ]
    at = [next(i for i, line in enumerate(lines) if line.startswith(s)) for s in said]
    assert at == sorted(at), lines
    countdown = lines[at[3]]
    assert re.search(
        r"in 1[45] min \(expected [-\d ]*\d\d:\d\d:\d\d UTC; chain time ", countdown
    ), lines


async def test_roles_cleanup_is_journaled_as_a_request(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = await autobot(env, capsys, "roles", "cleanup", "--config", "{cfg}")
    assert ran.code == 0, ran.err
    assert "roles::cleanup_expired_admin" in ran.out and "cleanup:0:1" in ran.out
    (request,) = await pending(env)
    assert (request.kind, request.subject) == (RequestKind.CLEANUP, "0")
    # a second one while the first is pending is the same work: refused, nothing written
    again = await autobot(env, capsys, "roles", "cleanup", "--config", "{cfg}")
    assert again.code == 1 and "already in progress" in again.err
    assert len(await pending(env)) == 1
