"""The failover soak: autobot instances on one PostgreSQL journal, the leader killed, frozen and
cut off from its database again and again, and PostgreSQL restarted under them.

    python tests/soak/ha_soak.py [--instances 3] [--kills 20] [--pauses 5] [--db-faults 5]
                                 [--pg-restarts 2] [--lotteries 40] [--fault-rate 0.2]
                                 [--lease-seconds 10] [--renew-seconds 1] [--seed N]
                                 [--max-minutes 10] [--out DIR]

What it does (issue "Outgrow one machine", part 3):

1. Starts a throwaway PostgreSQL cluster (``autobot.journal.pgserver``: Debian's server binaries;
   the soak restarts it, so never a server named by ``AUTOBOT_TEST_PG_DSN``) and a database.
2. Writes the soak's scenario (``scenario.py``) and starts the localnet with faulted front ends,
   exactly as ``soak.py`` does (faults at ``--fault-rate``; the harness reads through a clean one).
3. Runs ``--instances`` ``autobot run`` processes with ``[ha] enabled``, one ``instance_id`` each,
   the journal in that database (``application_name=autobot-<id>`` tells their sessions apart),
   ``lease_seconds``/``renew_seconds`` as given (the defaults: 10 and 1). Like systemd
   (``Restart=on-failure``), an instance that exits is started again after
   ``RESTART_SECONDS``; every exit is checked against what caused it.
4. Disrupts the leader — the instance holding the lease, once it has held it for ``--min-gap``
   seconds, recovering or at work (half the time aiming at a moment with work in flight) — in a
   seeded order:

   * ``kill``: SIGKILL;
   * ``pause``: SIGSTOP until another instance has taken over (so for longer than the lease),
     then SIGCONT: it must stop by itself (exit 75) having acted on nothing;
   * ``db_fault``: every database session of the leader terminated (``pg_terminate_backend``);
   * ``pg_restart``: PostgreSQL stopped and started again (``pg_ctl -m fast``), down 1 s (a
     restart the leader rides out) and, every second time, down for a whole lease (the leader
     cannot renew: it stops signing and exits, and nobody leads until the database is back).

   A takeover's time is from the disruption to the next epoch's ``ha_taking_over`` line: the
   new leader holds the lease, its journal is fenced, and it acts (its recovery settles and
   re-sends what was in flight and carries the open actions on; how long that took, to its
   ``ha_took_over`` line, is reported too). A database fault the leader rides out (its
   connections replaced, its lease renewed in time) needs no takeover.
5. Waits until every lottery and feed is in the state its scenario expects, no bot holds a
   pending slot and no action is open (or ``--max-minutes`` ran out), then stops every instance
   with SIGTERM (each must exit 0).
6. Checks the chain's record against the journal exactly as ``soak.py`` does (duplicates, lost,
   stuck, mismatches, gapless sequence numbers; the journal read in PostgreSQL), and split brain
   (``ha_support.split_brain``: transactions signed for one account by two instances whose
   leadership overlapped, from the chain's executed transactions and the journal's epochs),
   then scans everything written for key material. The last line is

   ``HA kills=<n> pauses=<n> db_faults=<n> takeovers=<n> takeover_p50_s=<x> takeover_p99_s=<x> duplicates=<n> lost=<n> stuck=<n> mismatches=<n> split_brain=<n>``

   (``db_faults``: terminations and restarts). Exit status 0 when duplicates, lost, stuck,
   mismatches and split_brain are 0, the takeover p99 is at most twice the lease, every
   disruption asked for happened, no instance exited for a reason its disruption does not
   explain, the sequences are gapless and no key was found; 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
for extra in (HERE, TESTS, TESTS / "e2e"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import aiohttp  # noqa: E402
import psycopg  # noqa: E402
from scenario import SoakScenario, generate  # noqa: E402

import key_scan  # noqa: E402
from autobot.chain.supra import SupraGateway  # noqa: E402
from autobot.config import load_config  # noqa: E402
from autobot.journal.pgserver import PgServer, throwaway_cluster  # noqa: E402
from autobot.localnet.config_writer import write_daemon_config  # noqa: E402
from autobot.localnet.faults import FaultSpec  # noqa: E402
from autobot.localnet.runner import Localnet, LocalnetOptions  # noqa: E402
from ha_support import (  # noqa: E402
    PgJournalReader,
    instance_configs,
    split_brain,
    takeovers_in,
)
from processes import OPEN_STATES, set_key  # noqa: E402
from soak import (  # noqa: E402
    AUTOBOT,
    TIME_SCALE,
    Bounds,
    _snapshot,
    chain_transactions,
    check,
    fault_spec,
    lottery_outcome,
    unmet,
)

RESTART_SECONDS = 1.0
"""An exited instance is started again after this (systemd's ``RestartSec``; 5 s in the unit)."""
SHUTDOWN_WAIT_SECONDS = 30.0
PG_DOWN_SECONDS = 1.0  # a short restart; every second one is down for a lease
EX_TEMPFAIL = 75  # the leader lease lost: a restart stands by
EX_IOERR = 74  # the journal failed (a write that lost its database)
KINDS = ("kill", "pause", "db_fault", "pg_restart")
WATCHED = ("ha_taking_over", "ha_took_over", "ha_leadership_lost", "daemon_ready")


# --------------------------------------------------------------------------- the instances


class Instance:
    """One ``autobot run --config autobot-<name>.toml``, started again (appending to its log)
    whenever it is restarted. ``events`` collects the ``WATCHED`` lines of its log."""

    def __init__(self, name: str, config: Path, log: Path) -> None:
        self.name = name
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.offset = 0
        self.events: list[dict[str, Any]] = []
        self.starts = 0
        self.exits: list[tuple[int, str]] = []  # (code, what the harness did to it)
        self.held = False  # the harness handles this process (paused): no restart
        self.exited_at: float | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
        argv = [AUTOBOT, "run", "--config", str(self.config), "--listen", "127.0.0.1:0"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.starts += 1
        self.exited_at = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def poll_log(self) -> None:
        if not self.log.exists():
            return
        with self.log.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].decode(errors="replace").splitlines():
            if not any(w in line for w in WATCHED):
                continue
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    self.events.append(event)

    def send(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    async def wait_exit(self, within: float) -> int | None:
        deadline = time.monotonic() + within
        while self.alive():
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.05)
        assert self.proc is not None
        return self.proc.returncode


def _at(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event["timestamp"])).timestamp()


@dataclass
class Disruption:
    kind: str
    target: str
    epoch: int  # the leader's epoch when disrupted
    at: float  # wall time
    in_flight: bool
    takeover_seconds: float | None = None  # None: none needed (ridden out) or none came
    new_epoch: int | None = None
    by: str = ""
    note: str = ""


@dataclass
class Run:
    instances: dict[str, Instance]
    disruptions: list[Disruption] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    expected: dict[str, str] = field(default_factory=dict)  # instance -> why it may exit now

    def note(self, text: str) -> None:
        line = f"{time.monotonic() - self.started:7.1f}s {text}"
        self.events.append(line)
        print(f"  {line}", flush=True)

    def taken(
        self, after_epoch: int, event: str = "ha_taking_over"
    ) -> tuple[dict[str, Any], str] | None:
        """The first ``event`` of an epoch above ``after_epoch`` (and by whom)."""
        found = [
            (e, i.name)
            for i in self.instances.values()
            for e in i.events
            if e.get("event") == event and int(e["epoch"]) > after_epoch
        ]
        return min(found, key=lambda f: int(f[0]["epoch"])) if found else None

    def recovery_seconds(self) -> list[float]:
        """How long each takeover's recovery took (``ha_took_over``'s ``seconds``)."""
        return [
            float(e["seconds"])
            for i in self.instances.values()
            for e in i.events
            if e.get("event") == "ha_took_over" and int(e["epoch"]) > 1
        ]

    def leading(self, reader: PgJournalReader) -> tuple[Instance, int, float] | None:
        """The leader: the lease's live holder whose log says it took it (it may still be
        recovering), its epoch and when it took it (wall time)."""
        try:
            holder, epoch, live, _ = reader.lease()
        except psycopg.Error:
            return None
        if not live or holder not in self.instances:
            return None
        instance = self.instances[holder]
        if not instance.alive() or instance.held:
            return None
        for e in instance.events:
            if e.get("event") == "ha_taking_over" and int(e["epoch"]) == epoch:
                return instance, epoch, _at(e)
        return None


async def supervise(run: Run, stop: asyncio.Event) -> None:
    """systemd's part: restart an instance that exited (unless the harness holds it), after
    ``RESTART_SECONDS``; record why it exited, and whether that was expected."""
    while not stop.is_set():
        for instance in run.instances.values():
            instance.poll_log()
            if instance.held or instance.proc is None or instance.alive():
                continue
            code = instance.proc.returncode
            if instance.exited_at is None:
                instance.exited_at = time.monotonic()
                why = run.expected.pop(instance.name, "")
                instance.exits.append((code, why))
                # our SIGKILL; or a leader that lost its lease (75) or a write's database (74)
                explained = (code == -signal.SIGKILL and why == "kill") or code in (
                    EX_TEMPFAIL,
                    EX_IOERR,
                )
                run.note(f"{instance.name} exited {code} ({why or 'by itself'})")
                if not explained:
                    run.unexpected_exits.append(f"{instance.name}: exit {code} ({why})")
            if time.monotonic() - instance.exited_at >= RESTART_SECONDS:
                instance.start()
                run.note(f"{instance.name} started again")
        await asyncio.sleep(0.05)


def _in_flight(reader: PgJournalReader) -> bool:
    try:
        return any(t.state in ("signed", "submitted") for t in reader.transactions()) or any(
            a.state in ("announced", "executing", "recording") for a in reader.actions()
        )
    except psycopg.Error:
        return False


def renewed_since(
    reader: PgJournalReader,
    name: str,
    epoch: int,
    expires_before: datetime | None,
    renew_seconds: float,
) -> bool:
    """Whether ``name`` still holds the lease at ``epoch`` and renewed it since it expired at
    ``expires_before`` (two renewals on: a renewal in flight at the fault does not count)."""
    try:
        holder, now_epoch, live, expires = reader.lease()
    except psycopg.Error:
        return False
    return (
        live
        and holder == name
        and now_epoch == epoch
        and expires is not None
        and expires_before is not None
        and (expires - expires_before).total_seconds() >= 2 * renew_seconds
    )


def terminate_sessions(server: PgServer, name: str) -> int:
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"autobot-{name}",),
        ).fetchall()
    return len(rows)


async def disrupt(
    args: argparse.Namespace,
    run: Run,
    *,
    server: PgServer,
    reader: PgJournalReader,
    deadline: float,
) -> None:
    rng = random.Random(args.seed)
    plan = (
        ["kill"] * args.kills
        + ["pause"] * args.pauses
        + ["db_fault"] * args.db_faults
        + ["pg_restart"] * args.pg_restarts
    )
    rng.shuffle(plan)
    lease = args.lease_seconds
    for kind in plan:
        if time.monotonic() > deadline - 90:
            run.note("time is short: no more disruptions")
            break
        # a leader that has held the lease for --min-gap (recovering or at work)
        found = None
        wait_until = time.monotonic() + 6 * lease + 30
        while time.monotonic() < wait_until:
            found = run.leading(reader)
            if found is not None and time.time() - found[2] >= args.min_gap:
                break
            await asyncio.sleep(0.1)
        else:
            run.note(f"no leader for {6 * lease + 30:.0f} s: stopping the disruptions")
            run.unexpected_exits.append("no leader to disrupt")
            break
        assert found is not None
        leader, epoch, _ = found
        if rng.random() < 0.5:  # aim at work in flight
            aim_until = time.monotonic() + 1.5
            while time.monotonic() < aim_until and not _in_flight(reader):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        in_flight = _in_flight(reader)
        try:
            expires_before = reader.lease()[3]
        except psycopg.Error:
            expires_before = None
        at = time.time()
        d = Disruption(kind=kind, target=leader.name, epoch=epoch, at=at, in_flight=in_flight)
        run.disruptions.append(d)
        run.note(f"{kind} #{sum(x.kind == kind for x in run.disruptions)} of {leader.name} "
                 f"(epoch {epoch}, work in flight: {in_flight})")  # fmt: skip
        if kind == "kill":
            run.expected[leader.name] = "kill"
            leader.send(signal.SIGKILL)
        elif kind == "pause":
            leader.held = True
            run.expected[leader.name] = "pause"
            leader.send(signal.SIGSTOP)
        elif kind == "db_fault":
            run.expected[leader.name] = "db"
            terminated = await asyncio.to_thread(terminate_sessions, server, leader.name)
            d.note = f"{terminated} sessions ended"
        else:
            for instance in run.instances.values():
                run.expected.setdefault(instance.name, "db")
            restarts = sum(x.kind == "pg_restart" for x in run.disruptions)
            down = lease if restarts % 2 == 0 else PG_DOWN_SECONDS
            d.note = f"down {down:g} s"
            await asyncio.to_thread(server.restart, down_seconds=down)
        # the takeover (needed after a kill or a pause; after a database fault only if the
        # leader could not ride it out: then its lease, not renewed, is gone within a lease)
        needed = kind in ("kill", "pause")
        limit = time.monotonic() + (3 * lease + 30 if needed else lease + 5)
        took = None
        while time.monotonic() < limit:
            took = run.taken(epoch)
            if took is not None:
                break
            if not needed and renewed_since(
                reader, leader.name, epoch, expires_before, args.renew_seconds
            ):
                break  # the leader renewed its lease after the fault: ridden out
            await asyncio.sleep(0.1)
        if took is not None:
            event, by = took
            d.takeover_seconds = _at(event) - at
            d.new_epoch, d.by = int(event["epoch"]), by
            run.note(
                f"  {by} took over (epoch {d.new_epoch}) {d.takeover_seconds:.2f} s after"
                + (f" ({d.note})" if d.note else "")
            )
        elif needed:
            run.note("  NO takeover")
        else:
            run.note(f"  ridden out by {leader.name} ({d.note})")
            run.expected.pop(leader.name, None)
            if kind == "pg_restart":
                for instance in run.instances.values():
                    if run.expected.get(instance.name) == "db":
                        run.expected.pop(instance.name)
        if kind == "pause":
            leader.send(signal.SIGCONT)
            code = await leader.wait_exit(within=20)
            if code is None:
                run.unexpected_exits.append(f"{leader.name}: still running 20 s after SIGCONT")
                leader.send(signal.SIGKILL)
                await leader.wait_exit(within=10)
            leader.held = False  # the supervisor records the exit and restarts it


async def wait_for_the_end(
    run: Run, *, gateway: SupraGateway, sc: SoakScenario, reader: PgJournalReader, deadline: float
) -> list[str]:
    remaining = ["not looked yet"]
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        snapshot = await _snapshot(gateway, sc)
        if snapshot is None:
            continue
        remaining = unmet(snapshot, sc)
        try:
            open_actions = sum(1 for a in reader.actions() if a.state in OPEN_STATES)
        except psycopg.Error:
            open_actions = -1
        if open_actions:
            remaining.append(f"{open_actions} journal actions open")
        if not remaining:
            run.note("every expectation met, nothing open")
            return []
    run.note(f"max minutes reached with {len(remaining)} expectations unmet")
    return remaining


def percentile(values: list[float], share: float) -> float:
    """Nearest rank (the largest value for p99 of fewer than 100)."""
    if not values:
        return math.inf
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


# --------------------------------------------------------------------------- main


async def ha_soak(args: argparse.Namespace) -> int:
    began = time.monotonic()
    deadline = began + args.max_minutes * 60
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        print(f"ha-soak: {out} is not empty (a fresh chain is needed)", file=sys.stderr)
        return 2
    lines: list[str] = []

    def say(text: str = "") -> None:
        lines.append(text)
        print(text, flush=True)

    say(
        f"ha-soak: {args.instances} instances, {args.kills} kills, {args.pauses} pauses, "
        f"{args.db_faults} database faults, {args.pg_restarts} PostgreSQL restarts, "
        f"{args.lotteries} lotteries, faults {args.fault_rate:.0%}, lease {args.lease_seconds:g} s"
        f" (renew {args.renew_seconds:g} s), seed {args.seed}, out {out}"
    )
    spread = int(args.spread_wall_seconds * TIME_SCALE)
    sc = generate(args.lotteries, seed=args.seed, spread_seconds=spread)
    (out / "scenario.toml").write_text(sc.toml)
    spec = fault_spec(args.fault_rate, args.seed)
    from autobot.logs import configure_logging

    localnet_log = (out / "localnet.log").open("a")
    configure_logging(level="info", log_format="json", stream=localnet_log)
    with throwaway_cluster(durable=False) as server:
        dsn = server.create_database("autobot_ha_soak")
        say(f"PostgreSQL: {server.description}, database {dsn.describe()}")
        options = LocalnetOptions(
            scenario=str(out / "scenario.toml"),
            time_scale=TIME_SCALE,
            state_dir=out / "chain",
            block_interval_ms=args.block_interval_ms,
        )
        async with Localnet.start(options) as net:
            fronts = [
                await net.add_frontend(
                    port=0, faults=FaultSpec.from_json(spec | {"seed": args.seed * 1000 + i})
                )
                for i in range(args.endpoints)
            ]
            base = out / "daemon" / "autobot.toml"
            info = dataclasses.replace(net.info, rpc_url=fronts[0].url)
            write_daemon_config(base, info, listen="127.0.0.1:0", journal=out / "unused.sqlite3")
            for section, key, value in (
                ("chain", "rpc_urls", json.dumps([f.url for f in fronts])),
                ("chain", "request_timeout_seconds", "2.0"),
                ("chain", "tx_ttl_seconds", "15"),
                ("scheduler", "poll_interval_seconds", "0.5"),
                ("automation", "mode", '"live"'),
                ("feeds", "fallback_on_stale", "true"),
                ("draws", "cancel_on_vrf_failure", "true"),
            ):
                set_key(base, section, key, value)
            names = [chr(ord("a") + i) for i in range(args.instances)]
            configs = instance_configs(
                base,
                dsn,
                names,
                lease_seconds=args.lease_seconds,
                renew_seconds=args.renew_seconds,
                log_level=args.log_level,
            )
            config = load_config(configs[0])
            from autobot.chain.keys import load_keyring

            keyring = load_keyring(config)
            accounts = {"admin": str(keyring.admin.address)} | {
                f"operator-{n}": str(s.address) for n, s in keyring.operators.items()
            }
            main_chain = dataclasses.replace(config.chain, rpc_urls=(net.base_url,))
            reader = PgJournalReader(dsn)
            run = Run(
                instances={
                    n: Instance(n, c, out / f"instance-{n}.log")
                    for n, c in zip(names, configs, strict=True)
                }
            )
            async with (
                SupraGateway.from_config(main_chain) as gateway,
                aiohttp.ClientSession() as http,
            ):
                bounds = Bounds(  # what the instances must respect (early and overpriced)
                    clock_tolerance_seconds=config.chain.clock_tolerance_seconds,
                    max_gas_unit_price=config.chain.max_gas_unit_price,
                    max_gas_amount=config.chain.max_gas_amount,
                    ceiling_factor=config.chain.gas_price_ceiling_factor,
                    honest_price=await gateway.refresh_gas_price(),
                )
                for instance in run.instances.values():
                    instance.start()
                stop = asyncio.Event()
                supervisor = asyncio.create_task(supervise(run, stop))
                try:
                    await disrupt(args, run, server=server, reader=reader, deadline=deadline)
                    run.note("disruptions done; waiting for the scenario's end state")
                    remaining = await wait_for_the_end(
                        run, gateway=gateway, sc=sc, reader=reader, deadline=deadline
                    )
                finally:
                    stop.set()
                    await supervisor
                    final_codes = {}
                    for instance in run.instances.values():
                        instance.send(signal.SIGCONT)
                        instance.send(signal.SIGTERM)
                    for instance in run.instances.values():
                        code = await instance.wait_exit(within=SHUTDOWN_WAIT_SECONDS)
                        if code is None:
                            instance.send(signal.SIGKILL)
                            await instance.wait_exit(within=10)
                        final_codes[instance.name] = code
                        instance.poll_log()
                    run.note(f"final SIGTERM: exit codes {final_codes}")
                    for name, code in final_codes.items():
                        if code != 0:
                            run.unexpected_exits.append(f"{name}: exit {code} at the final SIGTERM")
                run_seconds = time.monotonic() - began
                reports = []
                for front in fronts:
                    async with http.get(f"{front.url}localnet/v1/faults") as reply:
                        reports.append(await reply.json())
                (out / "faults.json").write_text(json.dumps(reports, indent=2))
                faults_total = sum(int(r.get("total", 0)) for r in reports)
                final = None
                for _ in range(10):
                    final = await _snapshot(gateway, sc)
                    if final is not None:
                        break
                    await asyncio.sleep(0.5)
                assert final is not None, "the main front end does not answer"
                actions, txs = reader.actions(), reader.transactions()
                findings, stats = await check(
                    gateway=gateway,
                    actions=actions,
                    txs=txs,
                    journal_findings=reader.problems(),
                    state_dir=out / "chain",
                    accounts=accounts,
                    sc=sc,
                    final=final,
                    bounds=bounds,
                )
                chain_txs = chain_transactions(out / "chain")
                logs = [i.log for i in run.instances.values()]
                brain = split_brain(
                    chain_executed=[
                        (c.hash, c.sender, c.sequence_number)
                        for c in chain_txs
                        if c.status in ("Success", "Fail")
                    ],
                    journal=reader.epochs(),
                    accounts=accounts.values(),
                    takeovers=takeovers_in(logs),
                )
                epochs_used = Counter(t.epoch for t in reader.epochs())
        server.drop_database(dsn)
    localnet_log.close()
    # -- the report
    takeovers = [e for e in takeovers_in(logs) if e[0] > 1]
    times = [d.takeover_seconds for d in run.disruptions if d.takeover_seconds is not None]
    p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
    count = Counter(d.kind for d in run.disruptions)
    db_faults = count["db_fault"] + count["pg_restart"]
    missing_takeovers = [
        d for d in run.disruptions if d.kind in ("kill", "pause") and d.takeover_seconds is None
    ]
    say("")
    say(f"run: {run_seconds:.1f} s wall (max {args.max_minutes} min)")
    say(
        f"disruptions: {count['kill']} SIGKILLs, {count['pause']} SIGSTOPs past the lease, "
        f"{count['db_fault']} session terminations, {count['pg_restart']} PostgreSQL restarts; "
        f"{sum(d.in_flight for d in run.disruptions)} with work in flight"
    )
    ridden = [d for d in run.disruptions if d.kind in ("db_fault", "pg_restart")]
    say(
        f"database faults ridden out without a takeover: "
        f"{sum(d.takeover_seconds is None for d in ridden)} of {len(ridden)}"
    )
    say(
        f"takeovers: {len(takeovers)} (epochs 2..{max((e for e, _, _ in takeovers), default=1)}), "
        f"measured {len(times)}: p50 {p50:.2f} s, p99 {p99:.2f} s, max "
        f"{max(times, default=0):.2f} s (limit 2 x lease = {2 * args.lease_seconds:g} s)"
    )
    by_kind: dict[str, list[float]] = {}
    for d in run.disruptions:
        if d.takeover_seconds is not None:
            by_kind.setdefault(d.kind, []).append(d.takeover_seconds)
    for kind, values in sorted(by_kind.items()):
        say(f"  after {kind}: {len(values)}, median {percentile(values, 0.5):.2f} s")
    recoveries = run.recovery_seconds()
    say(
        f"recoveries after a takeover (settling and re-sending what was in flight, carrying the "
        f"open actions on): {len(recoveries)}, median {percentile(recoveries, 0.5):.2f} s, max "
        f"{max(recoveries, default=0):.2f} s"
    )
    for instance in run.instances.values():
        say(
            f"instance {instance.name}: started {instance.starts} times; exits "
            f"{Counter(code for code, _ in instance.exits)}"
        )
    say(f"transactions by signing epoch: {dict(sorted(epochs_used.items(), key=str))}")
    say(f"faults: {faults_total} injected on the instances' RPC front ends")
    say(
        f"journal: {stats['actions']} actions {stats['actions_by_state']}; transactions "
        f"{stats['transactions_by_state']}"
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
    for note_text in findings.notes:
        say(f"note: {note_text}")
    for name, items in (
        ("duplicates", findings.duplicates),
        ("lost", findings.lost),
        ("stuck", findings.stuck),
        ("mismatches", findings.mismatches),
        ("gaps", findings.gaps),
        ("split_brain", brain),
        ("unexpected exit", run.unexpected_exits),
        ("no takeover after", [f"{d.kind} of {d.target}" for d in missing_takeovers]),
    ):
        for item in items[:20]:
            say(f"{name}: {item}")
        if len(items) > 20:
            say(f"{name}: … {len(items) - 20} more")
    if remaining:
        say(f"unmet at the end: {remaining[:10]}")
    say("timeline:")
    for event in run.events:
        say(f"  {event}")
    report_txt = out / "report.txt"
    report_txt.write_text("\n".join(lines) + "\n")
    outputs = [f for f in sorted(out.rglob("*")) if f.is_file() and f.suffix != ".key"]
    keys = key_scan.dev_keys() | key_scan.keys_from_files(sorted((out / "daemon").glob("*.key")))
    key_findings = key_scan.scan_paths(outputs, keys)
    say(f"key scan: {len(outputs)} files, {len(key_findings)} findings")
    for finding in key_findings[:20]:
        say(f"key material: {finding}")
    asked = {
        "kill": args.kills,
        "pause": args.pauses,
        "db_fault": args.db_faults,
        "pg_restart": args.pg_restarts,
    }
    ok = (
        not (findings.duplicates or findings.lost or findings.stuck or findings.mismatches)
        and not brain
        and not findings.gaps
        and not (findings.early or findings.overpriced)  # the chain-trust checks (soak.py)
        and not key_findings
        and not run.unexpected_exits
        and not missing_takeovers
        and p99 <= 2 * args.lease_seconds
        and all(count[k] >= n for k, n in asked.items())
    )
    result = {
        "kills": count["kill"],
        "pauses": count["pause"],
        "session_terminations": count["db_fault"],
        "pg_restarts": count["pg_restart"],
        "takeovers": len(takeovers),
        "takeover_seconds": times,
        "takeover_p50_s": p50,
        "takeover_p99_s": p99,
        "disruptions": [dataclasses.asdict(d) for d in run.disruptions],
        "duplicates": findings.duplicates,
        "lost": findings.lost,
        "stuck": findings.stuck,
        "mismatches": findings.mismatches,
        "gaps": findings.gaps,
        "early": findings.early,
        "overpriced": findings.overpriced,
        "split_brain": brain,
        "unexpected_exits": run.unexpected_exits,
        "key_findings": [str(k) for k in key_findings],
        "outcomes": {str(i): lottery_outcome(final, i) for i in sc.lottery_ids},
        "expected": {str(i): w for i, w in sc.expected.items()},
        "sequence_numbers": stats["sequence_numbers"],
        "run_seconds": run_seconds,
        "ok": ok,
    }
    (out / "report.json").write_text(json.dumps(result, indent=2))
    ha_line = (
        f"HA kills={count['kill']} pauses={count['pause']} db_faults={db_faults} "
        f"takeovers={len(takeovers)} takeover_p50_s={p50:.1f} takeover_p99_s={p99:.1f} "
        f"duplicates={len(findings.duplicates)} lost={len(findings.lost)} "
        f"stuck={len(findings.stuck)} mismatches={len(findings.mismatches)} "
        f"split_brain={len(brain)}"
    )
    report_txt.write_text("\n".join([*lines, ha_line]) + "\n")
    print(ha_line, flush=True)
    return 0 if ok else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--instances", type=int, default=3, choices=(2, 3))
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--pauses", type=int, default=5)
    p.add_argument("--db-faults", type=int, default=5)
    p.add_argument("--pg-restarts", type=int, default=2)
    p.add_argument("--lotteries", type=int, default=40)
    p.add_argument("--fault-rate", type=float, default=0.2)
    p.add_argument("--lease-seconds", type=float, default=10.0)
    p.add_argument("--renew-seconds", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-minutes", type=float, default=10.0)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument(
        "--min-gap",
        type=float,
        default=1.0,
        help="wall seconds a new leader leads at least before the next disruption",
    )
    p.add_argument(
        "--spread-wall-seconds",
        type=float,
        default=300.0,
        help="sales ends of the lotteries to close spread over this many wall seconds",
    )
    p.add_argument("--block-interval-ms", type=int, default=200)
    p.add_argument("--endpoints", type=int, default=2)
    p.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning"),
        help="the instances' log level (debug: what each signs, plans and reads, for a post-mortem)",
    )
    args = p.parse_args(argv)
    if args.renew_seconds > args.lease_seconds / 2:
        p.error("--renew-seconds must be at most --lease-seconds / 2")
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="autobot-ha-soak-"))
    return args


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(ha_soak(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
