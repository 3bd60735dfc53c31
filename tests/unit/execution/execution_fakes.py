"""The execution pipeline assembled over the test suite's one fake chain (``tests/fake_chain.py``).

``FakeChain`` (re-exported here with its helpers) is the ``ChainGateway`` fake every unit test
uses; ``tests/contract/`` proves it behaves like the real gateway. ``Rig`` is a journal, that
chain and the pipeline over them, as the daemon builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autobot.chain.signer import Signer
from autobot.clock import FakeClock
from autobot.execution import (
    ActionSteps,
    Bookkeeper,
    ExecutionMetrics,
    Executor,
    Guards,
    Router,
    Sequencer,
)
from autobot.journal.store import SqliteJournal
from fake_chain import DEFAULT_HANDLERS, Abort, ChainState, FakeChain, Handler, arg, lottery

__all__ = [
    "ADMIN",
    "DEFAULT_HANDLERS",
    "OPERATOR_A",
    "OPERATOR_B",
    "Abort",
    "ChainState",
    "FakeChain",
    "Handler",
    "Rig",
    "arg",
    "lottery",
    "make_rig",
]

# -- the pipeline, assembled over the fake chain -------------------------------------------------

ADMIN = Signer.generate()
OPERATOR_A = Signer.generate()  # timelocked (900 s) in most tests
OPERATOR_B = Signer.generate()  # timelock 0 in most tests


@dataclass
class Rig:
    """A journal, a fake chain and the pipeline over them, as the daemon would build it."""

    path: Path
    clock: FakeClock
    chain: FakeChain
    journal: SqliteJournal
    metrics: ExecutionMetrics | None = None
    live: bool = True
    window: int = 8
    ttl_seconds: int = 60
    executor: Executor = field(init=False)
    steps: ActionSteps = field(init=False)
    book: Bookkeeper = field(init=False)
    admin: Sequencer = field(init=False)
    operators: dict[str, Sequencer] = field(init=False)

    def __post_init__(self) -> None:
        self.build()

    def sequencer(self, signer: Signer) -> Sequencer:
        return Sequencer(
            signer=signer,
            gateway=self.chain,  # type: ignore[arg-type]
            journal=self.journal,
            clock=self.clock,
            window=self.window,
            ttl_seconds=self.ttl_seconds,
            metrics=self.metrics,
        )

    def build(self) -> None:
        """(Re)build the pipeline over the same journal and chain (a daemon restart)."""
        self.admin = self.sequencer(ADMIN)
        self.operators = {s.address: self.sequencer(s) for s in (OPERATOR_A, OPERATOR_B)}
        guards = Guards(metrics=self.metrics)
        self.book = Bookkeeper(journal=self.journal, metrics=self.metrics)
        self.steps = ActionSteps(
            journal=self.journal,
            gateway=self.chain,  # type: ignore[arg-type]
            admin=self.admin,
            operators=self.operators,
            router=Router(guards=guards, operators=self.operators),
            guards=guards,
            clock=self.clock,
            live=self.live,
            book=self.book,
            metrics=self.metrics,
        )
        self.executor = Executor(
            journal=self.journal,
            gateway=self.chain,  # type: ignore[arg-type]
            steps=self.steps,
            book=self.book,
            confirm_seconds=0.0,
        )

    async def reopen(self) -> None:
        """Close and reopen the journal file, then rebuild the pipeline (crash + restart)."""
        await self.journal.close()
        self.journal = await SqliteJournal.open(self.path, clock=self.clock)
        self.build()


async def make_rig(tmp_path: Path, **kw: object) -> Rig:
    clock = FakeClock(wall=1_700_000_000.0)
    chain = FakeChain(admin=ADMIN, wall=clock.wall)
    path = tmp_path / "journal.sqlite3"
    journal = await SqliteJournal.open(path, clock=clock)
    return Rig(path=path, clock=clock, chain=chain, journal=journal, **kw)  # type: ignore[arg-type]
