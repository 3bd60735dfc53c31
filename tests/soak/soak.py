"""The soak: a localnet with many lotteries, RPC faults, and a daemon killed again and again.

    python tests/soak/soak.py [--lotteries 60] [--kills 25] [--sigterms 3] [--fault-rate 0.2]
                              [--seed N] [--max-minutes 10] [--out DIR] [--no-lies]

What it does ("Prove it under faults", part 3):

1. Writes the scenario (``tests/soak/scenario.py``: lotteries to close, to draw, whose VRF never
   arrives, cancelled with large refunds, with sales far ahead; four bots, A and C timelocked
   900 s, B and D timelock 0; feeds fresh, clamped, stale and going stale).
2. Starts the localnet in this process (time-scale 60) with two front ends on the same node: the
   main one (no faults) for this harness's own reads, and a second one with the fault spec (rate
   ``--fault-rate`` spread over every kind, short timeouts) that the daemon is configured to use
   alone, so every fault counted is one the daemon met. The daemon config comes from
   ``write_daemon_config``, then: request timeout 2 s, transaction TTL 15 s, a sweep every
   0.5 s, live, ``fallback_on_stale``, ``cancel_on_vrf_failure``.
   **Byzantine mode** (the default; ``--no-lies`` turns it off): a lying endpoint
   (``tests/byzantine/lying_proxy.py``) in front of the first faulted front end is listed
   first in the daemon's ``rpc_urls``, and tells lies drawn at random (seeded) in bursts of a
   few seconds: time ahead (+4000 chain seconds), sequence numbers ahead (+100), forged
   simulations, inflated gas (10^12 per unit), hidden statuses, hidden stored records (a
   resource or table item answering 404), endless pages.
3. Runs ``autobot run`` as a process and, at seeded random moments (half of them while the
   journal shows a transaction in flight), SIGKILLs it (``--kills``) or SIGTERMs it
   (``--sigterms``: it must exit 0 within the shutdown grace) and starts it again at once or
   after a short pause. Then it waits until every lottery and feed is in the state its scenario
   expects, no bot holds a pending slot and no action is open (or ``--max-minutes`` ran out), and
   stops the daemon with SIGTERM.
4. Checks against the chain's own records — events over the node's RPC (every page), the node's
   transaction table (``chain.sqlite3``: every executed transaction, by sender and sequence
   number), account sequence numbers — and the journal (opened read-only):

   * duplicates: an effect that happened more than once for one action or one piece of work (two
     announcements or two records of one action hash, a refund round applied twice, two archives,
     two draw requests for one attempt, two winner batches with one number, two cancels, two
     closes, two fallbacks of one feed, one call of an action executed twice);
   * lost: planned work never finished (an action ``failed``/``parked``, a lottery or feed not in
     its expected state, a bot left with a failure or a pending slot);
   * stuck: journal actions not in a final state;
   * mismatches: journal rows that disagree with the chain (a transaction journaled committed that
     did not succeed on chain, aborted that did not fail, dropped that executed, still live after
     its action ended; an executed transaction of our accounts the journal does not have; a done
     action without its record on chain; the journal's own invariants);
   * sequence gaps: every account's executed sequence numbers are exactly 0..n-1, once each;
   * early: a call of ours that executed before the chain allowed autobot to release it — an
     announced action's calls in a block before its ``executes_after_ts``, or a call whose
     chain-time argument is ahead of its block's time by more than the daemon's clock tolerance;
   * overpriced: a transaction of ours on chain signed above the ceiling (``gas_price_ceiling_
     factor`` times the honest node's estimate) or with ``max_gas_amount`` above the cap.

5. Scans every output (logs, journal, chain state, report) for key material, prints the report
   (also ``report.txt`` and ``report.json`` in ``--out``) whose last line is

   ``SOAK kills=<n> sigterms=<n> faults=<n> actions=<n> duplicates=<n> lost=<n> stuck=<n> mismatches=<n> lies=<n> early=<n> overpriced=<n>``

   (``lies``: the answers the lying endpoint lied in; 0 with ``--no-lies``.)

Exit status 0 when all six counts after ``actions`` are 0, every expectation holds, the sequences are gapless, each
SIGTERM exited 0, and no key was found; 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
for extra in (HERE, TESTS, TESTS / "e2e", TESTS / "byzantine"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import aiohttp  # noqa: E402
from demo_processes import ActionRow, JournalReader, TxRow, refunded_and_archived  # noqa: E402
from lying_proxy import Lie, LyingProxy  # noqa: E402
from scenario import SoakScenario, generate  # noqa: E402

import key_scan  # noqa: E402
from autobot.chain.gateway import ChainEvent  # noqa: E402
from autobot.chain.supra import SupraGateway  # noqa: E402
from autobot.config import load_config  # noqa: E402
from autobot.domain.lotteries import LotteryStatus  # noqa: E402
from autobot.domain.snapshot import Snapshot  # noqa: E402
from autobot.localnet.config_writer import write_daemon_config  # noqa: E402
from autobot.localnet.faults import FaultSpec  # noqa: E402
from autobot.localnet.runner import Localnet, LocalnetOptions  # noqa: E402
from processes import OPEN_STATES, journal_problems, set_key  # noqa: E402

AUTOBOT = str(Path(sys.executable).with_name("autobot"))
TIME_SCALE = 60.0
SHUTDOWN_WAIT_SECONDS = 30.0  # the daemon's grace is 10 s; a loaded machine needs more
FINAL_STATES = ("done", "moot", "failed", "parked")
EVENT_TYPES = (
    "history::AutomationDryRunPlannedEvent",
    "history::AutomationTickEvent",
    "history::RefundBatchEvent",
    "history::LotteryFinalizedEvent",
    "history::VrfRequestedEvent",
    "history::WinnersComputedEvent",
    "history::LotteryCanceledEvent",
    "price_feed::PriceFeedFallbackEvent",
)


def fault_spec(rate: float, seed: int) -> dict[str, Any]:
    """``rate`` spread over every kind of each route; timeouts held 3 s (the daemon gives up
    after its 2 s request timeout), hidden statuses 3 s, stale views 5 blocks behind."""
    return {
        "seed": seed,
        "rate": rate,
        "timeout_seconds": 3,
        "retry_after_seconds": 1,
        "hide_status_seconds": 3,
        "stale_blocks": 5,
        "latency_ms": {"uniform": [0, 20]},
    }


LIES: tuple[tuple[Lie, dict[str, Any]], ...] = (
    (Lie.TIME_AHEAD, {"seconds": 4000}),
    (Lie.SEQUENCE_AHEAD, {"by": 100}),
    (Lie.FORGED_SIMULATION, {}),
    (Lie.INFLATED_GAS, {"price": 10**12}),
    (Lie.HIDDEN_STATUS, {}),
    (Lie.HIDDEN_RECORDS, {}),
    (Lie.ENDLESS_PAGES, {"mode": "advance"}),
    (Lie.ENDLESS_PAGES, {"mode": "repeat"}),
)
"""What the lying endpoint says, one drawn at random per burst."""


async def tell_lies(proxy: LyingProxy, rng: random.Random, notes: list[str]) -> None:
    """Until cancelled: a burst of one lie (2-8 s), then 0.5-2 s of honesty, again and again."""
    started = time.monotonic()
    while True:
        lie, params = rng.choice(LIES)
        seconds = rng.uniform(2.0, 8.0)
        proxy.tell(lie, for_seconds=seconds, **params)
        notes.append(f"{time.monotonic() - started:7.1f}s lie {lie.value} {params} {seconds:.1f}s")
        await asyncio.sleep(seconds)
        proxy.calm(lie)
        await asyncio.sleep(rng.uniform(0.5, 2.0))


# --------------------------------------------------------------------------- the daemon


class Daemon:
    """``autobot run`` as a child process, its output appended to ``log``."""

    def __init__(self, config: Path, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
        argv = [AUTOBOT, "run", "--config", str(config), "--listen", "127.0.0.1:0"]
        self.log = log
        self.offset = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.started = time.monotonic()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ready(self) -> bool:
        """True once this process logged ``daemon_ready`` (its journal recovered)."""
        with self.log.open("rb") as f:
            f.seek(self.offset)
            return b'"event": "daemon_ready"' in f.read()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    async def terminate(self, *, within: float = SHUTDOWN_WAIT_SECONDS) -> int | None:
        """SIGTERM; the exit code, or None (then SIGKILLed) if it did not exit ``within``."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + within
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                return None
            await asyncio.sleep(0.05)
        return self.proc.returncode


# --------------------------------------------------------------------------- the run


@dataclass
class Tally:
    kills: int = 0
    kills_in_flight: int = 0
    sigterms: int = 0
    sigterm_codes: list[int | None] = field(default_factory=list)
    unexpected_exits: list[int] = field(default_factory=list)
    restarts: int = 0
    events: list[str] = field(default_factory=list)


def _in_flight(journal: JournalReader) -> bool:
    try:
        return any(t.state in ("signed", "submitted") for t in journal.transactions()) or any(
            a.state in ("announced", "executing", "recording") for a in journal.actions()
        )
    except sqlite3.Error:
        return False


def _open_actions(journal: JournalReader) -> int:
    try:
        return sum(1 for a in journal.actions() if a.state in OPEN_STATES)
    except sqlite3.Error:
        return -1


async def _snapshot(gateway: SupraGateway, sc: SoakScenario) -> Snapshot | None:
    try:
        return await gateway.snapshot(lottery_ids=sc.lottery_ids, asset_ids=sc.asset_ids)
    except Exception:  # a read that failed: look again later
        return None


def lottery_outcome(snapshot: Snapshot, lottery_id: int) -> str:
    view = snapshot.lotteries[lottery_id]
    if view.status == LotteryStatus.CANCELED:
        if refunded_and_archived(snapshot, lottery_id):
            return "CANCELED+refunded+archived"
        refund = view.refund
        return (
            f"CANCELED(refunded {refund.tickets_refunded}/{refund.tickets_sold}, "
            f"archived={view.archived})"
        )
    return view.status.name


def unmet(snapshot: Snapshot, sc: SoakScenario) -> list[str]:
    """Every expectation the chain does not show yet."""
    out = []
    for lottery_id, want in sc.expected.items():
        got = lottery_outcome(snapshot, lottery_id)
        if got != want:
            out.append(f"lottery {lottery_id} ({sc.kinds[lottery_id]}): {got}, expected {want}")
    for feed in sc.feeds:
        seen = snapshot.feeds.get(feed.asset_id)
        if seen is None:
            out.append(f"feed {feed.asset_id}: missing")
            continue
        if (seen.fallback_active, seen.clamp_active) != (feed.fallback_active, feed.clamp_active):
            out.append(
                f"feed {feed.asset_id}: fallback={seen.fallback_active} clamp={seen.clamp_active}"
                f", expected fallback={feed.fallback_active} clamp={feed.clamp_active}"
            )
    for bot in snapshot.bots:
        if bot.has_pending:
            out.append(f"bot {bot.operator}: pending slot held")
    return out


async def run_daemon_under_fire(
    args: argparse.Namespace,
    *,
    config: Path,
    log: Path,
    journal: JournalReader,
    gateway: SupraGateway,
    sc: SoakScenario,
    deadline: float,
) -> tuple[Tally, list[str]]:
    rng = random.Random(args.seed)
    plan = ["kill"] * args.kills + ["term"] * args.sigterms
    rng.shuffle(plan)
    tally = Tally()
    daemon = Daemon(config, log)
    started = time.monotonic()

    def note(text: str) -> None:
        tally.events.append(f"{time.monotonic() - started:7.1f}s {text}")

    async def pause(seconds: float) -> None:
        """Sleep, restarting a daemon that exited by itself (counted: it should not)."""
        nonlocal daemon
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            if not daemon.alive():
                tally.unexpected_exits.append(daemon.proc.returncode or 0)
                note(f"daemon exited {daemon.proc.returncode} by itself: restarted")
                daemon = Daemon(config, log)
                tally.restarts += 1
            await asyncio.sleep(0.05)

    # the moments: seeded, spread over the first ``--kill-share`` of the time allowed
    window = (deadline - started) * args.kill_share
    moments = sorted(rng.uniform(3.0, max(4.0, window)) for _ in plan)
    try:
        for what, moment in zip(plan, moments, strict=True):
            if time.monotonic() > deadline - 60:
                note("time is short: no more kills")
                break
            # not before the daemon recovered its journal (a kill at start-up proves less),
            # and at least ``--min-gap`` after the restart
            ready_until = time.monotonic() + 60
            while daemon.alive() and not daemon.ready() and time.monotonic() < ready_until:
                await pause(0.05)
            await pause(max(args.min_gap, started + moment - time.monotonic()))
            if rng.random() < 0.5:  # aim at a moment with work in flight
                aim_until = time.monotonic() + 3
                while time.monotonic() < aim_until and not _in_flight(journal):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            in_flight = _in_flight(journal)
            if what == "kill":
                daemon.kill()
                tally.kills += 1
                tally.kills_in_flight += in_flight
                note(f"SIGKILL #{tally.kills} (work in flight: {in_flight})")
            else:
                code = await daemon.terminate()
                tally.sigterms += 1
                tally.sigterm_codes.append(code)
                note(f"SIGTERM #{tally.sigterms} (work in flight: {in_flight}): exit {code}")
            await asyncio.sleep(rng.choice((0.0, 0.0, rng.uniform(0.1, 2.0))))
            daemon = Daemon(config, log)
            tally.restarts += 1
        note("kills done; waiting for the scenario's end state")
        remaining: list[str] = ["not looked yet"]
        while time.monotonic() < deadline:
            await pause(1.0)
            snapshot = await _snapshot(gateway, sc)
            if snapshot is None:
                continue
            remaining = unmet(snapshot, sc)
            open_actions = _open_actions(journal)
            if open_actions:
                remaining.append(f"{open_actions} journal actions open")
            if not remaining:
                note("every expectation met, nothing open")
                break
        else:
            note(f"max minutes reached with {len(remaining)} expectations unmet")
    finally:
        code = await daemon.terminate()
        note(f"final SIGTERM: exit {code}")
        if code != 0:
            tally.unexpected_exits.append(-1 if code is None else code)
    return tally, remaining


# --------------------------------------------------------------------------- the checks


@dataclass
class Findings:
    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    early: list[str] = field(default_factory=list)
    overpriced: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _dups(items: Iterable[object], what: str) -> list[str]:
    """One finding per extra occurrence of an item (the ``_once`` of test_kill_restart)."""
    return [
        f"{what} {item} x{n}" for item, n in Counter(items).items() if n > 1 for _ in range(n - 1)
    ]


async def all_events(gateway: SupraGateway, event_type: str) -> list[ChainEvent]:
    out: list[ChainEvent] = []
    cursor: str | None = None
    while True:
        page = await gateway.events(event_type, cursor=cursor)
        out.extend(page.events)
        if page.cursor is None:
            return out
        cursor = page.cursor


@dataclass(frozen=True, slots=True)
class ChainTx:
    hash: str
    sender: str
    sequence_number: int
    status: str
    function: str
    arguments: tuple[object, ...] = ()
    gas_unit_price: int = 0
    max_gas_amount: int = 0
    block_seconds: int | None = None  # chain time of its block (executed ones)


def chain_transactions(state_dir: Path) -> list[ChainTx]:
    """Every user transaction the node knows (executed ones: ``Success``/``Fail``), with its
    gas fields and its block's time."""
    db = sqlite3.connect(f"file:{state_dir / 'chain.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT t.hash, t.sender, t.sequence_number, t.status, t.json, b.timestamp_us "
            "FROM transactions t LEFT JOIN blocks b ON b.height = t.block_height "
            "WHERE t.kind = 'user'"
        ).fetchall()
    finally:
        db.close()
    out = []
    for tx_hash, sender, seq, status, body, micros in rows:
        function = ""
        arguments: tuple[object, ...] = ()
        price = amount = 0
        with contextlib.suppress(Exception):
            parsed = json.loads(body)
            payload = parsed["payload"]
            move = payload.get("Move", payload)
            function = str(move.get("function", ""))
            arguments = tuple(move.get("arguments", ()))
            header = parsed["header"]
            price, amount = int(header["gas_unit_price"]), int(header["max_gas_amount"])
        out.append(
            ChainTx(
                tx_hash, sender, int(seq), status, function, arguments, price, amount,
                None if micros is None else int(micros) // 1_000_000,
            )
        )  # fmt: skip
    return out


TIMESTAMPED = {  # the position of each call's chain-time argument (0-based)
    "automation::announce_dry_run": 2,
    "automation::record_success": 2,
    "automation::record_failure": 2,
    "payouts::force_refund_batch_admin": 5,
    "price_feed::set_fallback": 3,
}


@dataclass(frozen=True, slots=True)
class Bounds:
    """What the daemon was configured to respect (for early and overpriced)."""

    clock_tolerance_seconds: float
    max_gas_unit_price: int
    max_gas_amount: int
    ceiling_factor: float
    honest_price: int  # the honest node's estimate


def early_and_overpriced(
    *,
    chain_txs: list[ChainTx],
    ours: set[str],
    announces: list[ChainEvent],
    actions: list[Any],
    txs: list[TxRow],
    bounds: Bounds,
) -> tuple[list[str], list[str]]:
    """The calls of ours that executed before the chain let them be released, and those signed
    above the price ceiling or the gas cap (module doc), from the chain's own record."""
    early: list[str] = []
    overpriced: list[str] = []
    executed = [c for c in chain_txs if c.sender in ours and c.block_seconds is not None]
    by_hash = {c.hash: c for c in executed}
    price_limit = min(bounds.max_gas_unit_price, int(bounds.honest_price * bounds.ceiling_factor))
    for c in executed:
        if c.gas_unit_price > price_limit or c.max_gas_amount > bounds.max_gas_amount:
            overpriced.append(
                f"{c.hash} {c.function}: gas_unit_price {c.gas_unit_price} (limit {price_limit}),"
                f" max_gas_amount {c.max_gas_amount} (cap {bounds.max_gas_amount})"
            )
        position = TIMESTAMPED.get(c.function.split("::", 1)[-1])
        if position is not None and position < len(c.arguments):
            with contextlib.suppress(ValueError):
                passed = int(str(c.arguments[position]))
                assert c.block_seconds is not None
                if passed > c.block_seconds + bounds.clock_tolerance_seconds:
                    early.append(f"{c.hash} {c.function}: passed {passed}, block {c.block_seconds}")
    after = {str(e.data["action_hash"]): int(str(e.data["executes_after_ts"])) for e in announces}
    hashes = {a.key: "0x" + a.action_hash.hex() for a in actions if a.action_hash is not None}
    for t in txs:
        c = by_hash.get(t.tx_hash)
        released = after.get(hashes.get(t.action_key, ""))
        if c is None or released is None or t.purpose != "execute":
            continue
        assert c.block_seconds is not None
        if c.block_seconds < released:
            early.append(
                f"{t.tx_hash} ({t.action_key} {t.function}) in a block at {c.block_seconds}, "
                f"its action released at {released}"
            )
    return early, overpriced


def _key(event: ChainEvent, *names: str) -> tuple[str, ...]:
    return tuple(str(event.data[n]) for n in names)


async def check(
    *,
    gateway: SupraGateway,
    actions: list[ActionRow],
    txs: list[TxRow],
    journal_findings: list[str],
    state_dir: Path,
    accounts: dict[str, str],
    sc: SoakScenario,
    final: Snapshot,
    bounds: Bounds,
) -> tuple[Findings, dict[str, Any]]:
    """The chain's record against the journal's (its actions, transactions and the problems
    its own invariants show), and the scenario's expectations against the final snapshot."""
    f = Findings()
    f.mismatches += [f"journal: {p}" for p in journal_findings]
    events = {t: await all_events(gateway, t) for t in EVENT_TYPES}
    chain_txs = chain_transactions(state_dir)
    by_hash = {t.hash: t for t in chain_txs}
    ours = set(accounts.values())
    action_by_key = {a.key: a for a in actions}

    # -- stuck and lost: the journal's actions
    for a in actions:
        if a.state in OPEN_STATES:
            f.stuck.append(f"action {a.key} {a.state}/{a.progress}")
        elif a.state in ("failed", "parked"):
            f.lost.append(f"action {a.key} {a.state}")
    f.lost += unmet(final, sc)
    for bot in final.bots:
        if bot.failure_count:
            f.lost.append(f"bot {bot.operator}: failure_count {bot.failure_count}")

    # -- duplicates: the chain's events, and the journal's executed calls (which are exactly the
    #    chain's transactions of our accounts: checked below)
    announces = events["history::AutomationDryRunPlannedEvent"]
    ticks = events["history::AutomationTickEvent"]
    f.duplicates += _dups((_key(e, "action_hash") for e in announces), "announce of")
    f.duplicates += _dups((_key(e, "action_hash") for e in ticks), "record of")
    f.duplicates += _dups(
        (_key(e, "lottery_id", "refund_round") for e in events["history::RefundBatchEvent"]),
        "refund round",
    )
    f.duplicates += _dups(
        (_key(e, "id") for e in events["history::LotteryFinalizedEvent"]), "archive of"
    )
    f.duplicates += _dups(
        (_key(e, "lottery_id", "attempt") for e in events["history::VrfRequestedEvent"]),
        "draw request",
    )
    f.duplicates += _dups(
        (_key(e, "lottery_id", "batch_no") for e in events["history::WinnersComputedEvent"]),
        "winner batch",
    )
    f.duplicates += _dups(
        (_key(e, "lottery_id") for e in events["history::LotteryCanceledEvent"]), "cancel of"
    )
    fallbacks = [
        e for e in events["price_feed::PriceFeedFallbackEvent"] if e.data["fallback_active"]
    ]
    f.duplicates += _dups((_key(e, "asset_id") for e in fallbacks), "fallback of feed")
    committed = [t for t in txs if t.state == "committed"]
    f.duplicates += _dups(
        ((t.action_key, t.purpose, t.call_index) for t in committed if t.purpose == "execute"),
        "execution of",
    )
    closes = [
        action_by_key[t.action_key].subject_id for t in committed if t.function == "advance_status"
    ]
    f.duplicates += _dups(closes, "close of lottery")
    announced = {_key(e, "operator", "action_hash") for e in announces}
    recorded = {_key(e, "operator", "action_hash") for e in ticks}
    for missing in sorted(announced - recorded):
        f.lost.append(f"announcement {missing} never recorded")

    # -- mismatches: journal transactions vs the chain's
    for t in txs:
        if "0x" + hashlib.sha3_256(t.raw).hexdigest() != t.tx_hash:
            f.mismatches.append(f"tx {t.tx_hash}: bytes do not hash to it")
        on_chain = by_hash.get(t.tx_hash)
        status = on_chain.status if on_chain else "unknown"
        want = {"committed": ("Success",), "aborted": ("Fail",), "dropped": ("unknown", "Invalid")}
        if t.state in want and status not in want[t.state]:
            f.mismatches.append(
                f"tx {t.tx_hash} ({t.action_key} {t.function}): journal {t.state}, chain {status}"
            )
        elif t.state in ("signed", "submitted"):
            action = action_by_key.get(t.action_key)
            if action is not None and action.state in FINAL_STATES:
                f.mismatches.append(
                    f"tx {t.tx_hash} ({t.action_key}): still {t.state} (chain {status}) "
                    f"after its action ended {action.state}"
                )
    journaled = {t.tx_hash for t in txs}
    for c in chain_txs:
        if c.sender in ours and c.status in ("Success", "Fail") and c.hash not in journaled:
            f.mismatches.append(
                f"chain tx {c.hash} ({c.function}) from {c.sender}#{c.sequence_number} not in the journal"
            )
    tick_hashes = Counter((str(e.data["action_hash"]), bool(e.data["success"])) for e in ticks)
    for a in actions:
        if a.state != "done" or a.action_id is None or a.action_hash is None:
            continue
        digest = "0x" + a.action_hash.hex()
        if not tick_hashes[(digest, True)]:
            f.mismatches.append(
                f"action {a.key} done, but no successful record of {digest} on chain"
            )
        if not any(t.action_key == a.key and t.state == "committed" for t in txs):
            f.mismatches.append(f"action {a.key} done without a committed transaction")
    if [t for t in txs if t.state == "aborted"]:
        f.notes.append(
            f"{sum(t.state == 'aborted' for t in txs)} journaled transactions aborted on chain "
            "(reverted calls, decided again)"
        )

    # -- gapless sequence numbers per account, on chain, and exactly the journal's executed ones
    per_account: dict[str, int] = {}
    for name, address in accounts.items():
        executed = sorted(
            c.sequence_number
            for c in chain_txs
            if c.sender == address and c.status in ("Success", "Fail")
        )
        n = await gateway.account_sequence(address)
        per_account[name] = n
        if executed != list(range(n)):
            extra = [s for s, k in Counter(executed).items() if k > 1]
            missing = sorted(set(range(n)) - set(executed))
            f.gaps.append(f"{name}: sequence {n}, executed twice {extra}, missing {missing[:10]}")
        journal_executed = sorted(
            t.sequence_number
            for t in txs
            if t.sender == address and t.state in ("committed", "aborted")
        )
        if journal_executed != executed:
            f.mismatches.append(
                f"{name}: the journal's executed sequence numbers differ from the chain's "
                f"({len(journal_executed)} vs {len(executed)})"
            )

    f.early, f.overpriced = early_and_overpriced(
        chain_txs=chain_txs,
        ours=ours,
        announces=announces,
        actions=actions,
        txs=txs,
        bounds=bounds,
    )

    stats = {
        "actions": len(actions),
        "actions_by_state": dict(Counter(a.state for a in actions)),
        "actions_by_kind": dict(Counter(a.kind for a in actions)),
        "transactions_by_state": dict(Counter(t.state for t in txs)),
        "sequence_numbers": per_account,
        "events": {t.split("::")[1]: len(v) for t, v in events.items()},
        "chain_user_transactions": dict(Counter(c.status for c in chain_txs)),
    }
    return f, stats


def _tx_rows_for(txs: list[TxRow], key: str) -> list[str]:
    return [f"{t.purpose}#{t.call_index}:{t.state}" for t in txs if t.action_key == key]


# --------------------------------------------------------------------------- main


async def soak(args: argparse.Namespace) -> int:
    began = time.monotonic()
    deadline = began + args.max_minutes * 60
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        print(f"soak: {out} is not empty (a fresh chain and journal are needed)", file=sys.stderr)
        return 2
    spread = int(args.spread_wall_seconds * TIME_SCALE)
    sc = generate(args.lotteries, seed=args.seed, spread_seconds=spread)
    scenario_path = out / "scenario.toml"
    scenario_path.write_text(sc.toml)
    spec = fault_spec(args.fault_rate, args.seed)
    options = LocalnetOptions(
        scenario=str(scenario_path),
        time_scale=TIME_SCALE,
        state_dir=out / "chain",
        block_interval_ms=args.block_interval_ms,
    )
    from autobot.logs import configure_logging

    localnet_log = (out / "localnet.log").open("a")
    configure_logging(level="info", log_format="json", stream=localnet_log)
    lines: list[str] = []

    def say(text: str = "") -> None:
        lines.append(text)
        print(text, flush=True)

    say(
        f"soak: {args.lotteries} lotteries, {args.kills} kills, {args.sigterms} SIGTERMs, "
        f"faults {args.fault_rate:.0%}, seed {args.seed}, out {out}"
    )
    async with Localnet.start(options) as net:
        fronts = [
            await net.add_frontend(
                port=0, faults=FaultSpec.from_json(spec | {"seed": args.seed * 1000 + i})
            )
            for i in range(args.endpoints)
        ]
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        proxy: LyingProxy | None = None
        urls = [f.url for f in fronts]
        if args.lies:  # the liar in front of a faulted front end, listed first
            proxy = await stack.enter_async_context(LyingProxy(fronts[0].url))
            urls.insert(0, proxy.url)
        config_path = out / "daemon" / "autobot.toml"
        info = dataclasses.replace(net.info, rpc_url=fronts[0].url)
        write_daemon_config(
            config_path, info, listen="127.0.0.1:0", journal=out / "daemon" / "journal.sqlite3"
        )
        for section, key, value in (
            ("chain", "rpc_urls", json.dumps(urls)),
            ("chain", "request_timeout_seconds", "2.0"),
            ("chain", "tx_ttl_seconds", "15"),
            ("scheduler", "poll_interval_seconds", "0.5"),
            ("automation", "mode", '"live"'),
            ("feeds", "fallback_on_stale", "true"),
            ("draws", "cancel_on_vrf_failure", "true"),
        ):
            set_key(config_path, section, key, value)
        config = load_config(config_path)
        main_chain = dataclasses.replace(config.chain, rpc_urls=(net.base_url,))
        from autobot.chain.keys import load_keyring

        keyring = load_keyring(config)
        accounts = {"admin": str(keyring.admin.address)} | {
            f"operator-{name}": str(s.address) for name, s in keyring.operators.items()
        }
        say(
            f"localnet {net.base_url} (harness); the daemon's faulted front ends "
            + ", ".join(f.url for f in fronts)
            + (f"; the lying endpoint {proxy.url} (first)" if proxy is not None else "")
        )
        lie_notes: list[str] = []
        async with SupraGateway.from_config(main_chain) as gateway, aiohttp.ClientSession() as http:
            bounds = Bounds(
                clock_tolerance_seconds=config.chain.clock_tolerance_seconds,
                max_gas_unit_price=config.chain.max_gas_unit_price,
                max_gas_amount=config.chain.max_gas_amount,
                ceiling_factor=config.chain.gas_price_ceiling_factor,
                honest_price=await gateway.refresh_gas_price(),
            )
            liar = (
                asyncio.create_task(tell_lies(proxy, random.Random(args.seed + 1), lie_notes))
                if proxy is not None
                else None
            )
            try:
                with JournalReader(config.journal.path) as journal:
                    tally, remaining = await run_daemon_under_fire(
                        args,
                        config=config_path,
                        log=out / "daemon.log",
                        journal=journal,
                        gateway=gateway,
                        sc=sc,
                        deadline=deadline,
                    )
            finally:
                if liar is not None:
                    liar.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await liar
                if proxy is not None:
                    proxy.calm()
            lies = proxy.lies_told if proxy is not None else 0
            lies_by_kind = dict(proxy.told) if proxy is not None else {}
            await stack.aclose()
            run_seconds = time.monotonic() - began
            reports = []
            for front in fronts:
                async with http.get(f"{front.url}localnet/v1/faults") as reply:
                    reports.append(await reply.json())
            (out / "faults.json").write_text(json.dumps(reports, indent=2))
            counts: Counter[str] = Counter()
            for r in reports:
                counts.update(r.get("counts", {}))
            fault_report = {
                "total": sum(int(r.get("total", 0)) for r in reports),
                "requests": sum(int(r.get("requests", 0)) for r in reports),
                "counts": dict(counts),
            }
            final = None
            for _ in range(10):
                final = await _snapshot(gateway, sc)
                if final is not None:
                    break
                await asyncio.sleep(0.5)
            assert final is not None, "the main front end does not answer"
            with JournalReader(config.journal.path) as reader:
                actions, txs = reader.actions(), reader.transactions()
            findings, stats = await check(
                gateway=gateway,
                actions=actions,
                txs=txs,
                journal_findings=journal_problems(config.journal.path),
                state_dir=out / "chain",
                accounts=accounts,
                sc=sc,
                final=final,
                bounds=bounds,
            )
    localnet_log.close()
    # -- the report
    faults_total = int(fault_report.get("total", 0))
    say("")
    say(
        f"run: {run_seconds:.1f} s wall (max {args.max_minutes} min); checks done at "
        f"{time.monotonic() - began:.1f} s"
    )
    say(
        f"daemon: {tally.kills} SIGKILLs ({tally.kills_in_flight} with work in flight), "
        f"{tally.sigterms} SIGTERMs (exit codes {tally.sigterm_codes}), {tally.restarts} restarts,"
        f" unexpected exits {tally.unexpected_exits}"
    )
    say(
        f"faults: {faults_total} injected in {fault_report.get('requests')} RPC requests: "
        + ", ".join(f"{k} {v}" for k, v in sorted(fault_report.get("counts", {}).items()))
    )
    say(
        f"journal: {stats['actions']} actions {stats['actions_by_state']}; by kind "
        f"{stats['actions_by_kind']}; transactions {stats['transactions_by_state']}"
    )
    say(f"chain: user transactions {stats['chain_user_transactions']}; events {stats['events']}")
    say(
        f"sequence numbers: {stats['sequence_numbers']} — "
        + ("gapless, each executed once, all journaled" if not findings.gaps else "GAPS")
    )
    outcomes = Counter((sc.kinds[i], lottery_outcome(final, i)) for i in sc.lottery_ids)
    say(
        "lotteries (kind → final state, count): "
        + "; ".join(f"{kind} → {state} x{n}" for (kind, state), n in sorted(outcomes.items()))
    )
    say(
        "feeds: "
        + ", ".join(
            f"{a}: fallback={final.feeds[a].fallback_active} clamp={final.feeds[a].clamp_active}"
            for a in sc.asset_ids
            if a in final.feeds
        )
    )
    say(
        f"lies: {lies} answers lied in ({lies_by_kind}); early {len(findings.early)}, "
        f"overpriced {len(findings.overpriced)} (price limit "
        f"{min(bounds.max_gas_unit_price, int(bounds.honest_price * bounds.ceiling_factor))})"
    )
    for note_text in findings.notes:
        say(f"note: {note_text}")
    for name in ("duplicates", "lost", "stuck", "mismatches", "gaps", "early", "overpriced"):
        items: list[str] = getattr(findings, name)
        for item in items[:20]:
            say(f"{name}: {item}")
        if len(items) > 20:
            say(f"{name}: … {len(items) - 20} more")
    if remaining:
        say(f"unmet at the end: {remaining[:10]}")
    say("timeline:")
    for event in tally.events:
        say(f"  {event}")
    if lie_notes:
        say("lies told:")
        for lie_note in lie_notes:
            say(f"  {lie_note}")
    # -- no key material anywhere in what the run wrote
    report_txt = out / "report.txt"
    report_txt.write_text("\n".join(lines) + "\n")
    outputs = [f for f in sorted(out.rglob("*")) if f.is_file() and f.suffix != ".key"]
    findings_keys = key_scan.scan_paths(outputs, key_scan.dev_keys() | _config_keys(out))
    say(
        f"key scan: {len(outputs)} files, {len(findings_keys)} findings "
        "(the daemon's *.key files are its input, not scanned)"
    )
    for finding in findings_keys[:20]:
        say(f"key material: {finding}")
    ok = (
        not (findings.duplicates or findings.lost or findings.stuck or findings.mismatches)
        and not (findings.early or findings.overpriced)
        and not findings.gaps
        and not findings_keys
        and all(c == 0 for c in tally.sigterm_codes)
        and not tally.unexpected_exits
    )
    result = {
        "kills": tally.kills,
        "sigterms": tally.sigterms,
        "sigterm_codes": tally.sigterm_codes,
        "unexpected_exits": tally.unexpected_exits,
        "faults": faults_total,
        "fault_counts": fault_report.get("counts", {}),
        "rpc_requests": fault_report.get("requests"),
        "actions": stats["actions"],
        "duplicates": findings.duplicates,
        "lost": findings.lost,
        "stuck": findings.stuck,
        "mismatches": findings.mismatches,
        "gaps": findings.gaps,
        "lies": lies,
        "lies_by_kind": lies_by_kind,
        "early": findings.early,
        "overpriced": findings.overpriced,
        "key_findings": [str(k) for k in findings_keys],
        "outcomes": {str(i): lottery_outcome(final, i) for i in sc.lottery_ids},
        "expected": {str(i): w for i, w in sc.expected.items()},
        "sequence_numbers": stats["sequence_numbers"],
        "run_seconds": run_seconds,
        "ok": ok,
    }
    (out / "report.json").write_text(json.dumps(result, indent=2))
    soak_line = (
        f"SOAK kills={tally.kills} sigterms={tally.sigterms} faults={faults_total} "
        f"actions={stats['actions']} duplicates={len(findings.duplicates)} "
        f"lost={len(findings.lost)} stuck={len(findings.stuck)} "
        f"mismatches={len(findings.mismatches)} lies={lies} early={len(findings.early)} "
        f"overpriced={len(findings.overpriced)}"
    )
    report_txt.write_text("\n".join([*lines, soak_line]) + "\n")
    print(soak_line, flush=True)
    return 0 if ok else 1


def _config_keys(out: Path) -> dict[str, bytes]:
    """The keys the daemon was given (the localnet's dev keys; read so a change is covered)."""
    files = sorted((out / "daemon").glob("*.key"))
    return key_scan.keys_from_files(files)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lotteries", type=int, default=60)
    p.add_argument("--kills", type=int, default=25)
    p.add_argument("--sigterms", type=int, default=3)
    p.add_argument("--fault-rate", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-minutes", type=float, default=10.0)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument(
        "--min-gap",
        type=float,
        default=1.0,
        help="wall seconds a restarted daemon runs at least before the next kill",
    )
    p.add_argument(
        "--kill-share",
        type=float,
        default=0.6,
        help="the kills happen at random moments in this share of --max-minutes",
    )
    p.add_argument(
        "--spread-wall-seconds",
        type=float,
        default=180.0,
        help="sales ends of the lotteries to close spread over this many wall seconds",
    )
    p.add_argument("--block-interval-ms", type=int, default=200)
    p.add_argument(
        "--lies",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="byzantine mode: a lying endpoint listed first (on by default)",
    )
    p.add_argument(
        "--endpoints",
        type=int,
        default=2,
        help="faulted front ends of the node the daemon fails over between",
    )
    args = p.parse_args(argv)
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="autobot-soak-"))
    return args


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(soak(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
