"""The planning contract: what planners produce and what the executor consumes.

A planner is a pure, synchronous function ``plan(snapshot, ctx) -> list[PlannedAction]``
(docs/conventions.md §4). It reads one ``Snapshot`` (the chain at one chain time) and one ``PlanContext``
(chain time, config values as plain ints/bools, and what the journal already knows) and returns
the work the package needs next. It performs no I/O and never reads a clock.

A ``PlannedAction`` carries a ``Recipe``: a frozen, JSON-serialisable description of the admin
calls. The action hash is fixed when the action is *announced*: the executor picks ``execute_at``
(chain now + the bot's timelock), materialises ``recipe.calls(execute_at)`` and hashes exactly
those calls (docs/architecture.md, "Plans, recipes and the action hash").

Action keys (``ActionKey``, string form ``kind:subject:round``, with ``ActionKind``: both in
``domain/actions.py``, re-exported here) are deterministic, so the same chain state always yields
the same key and the executor never plans the same work twice:

=============  ===========  ===============================================================
kind           subject      round
=============  ===========  ===============================================================
``close``      lottery id   always 0 (a lottery closes once)
``draw``       lottery id   the VRF attempt the request creates (stored attempt + 1)
``schedule``   lottery id   the stored VRF attempt the manual retry is scheduled after
``winners``    lottery id   ``next_winner_batch_no`` when planned (0 for a fresh lottery)
``refund``     lottery id   the first refund round of the plan (archive-only plans: round + 1)
``cancel``     lottery id   the cancellation reason code (1 VRF failure, 2, 3)
``fallback``   asset id     the feed's ``last_updated_ts`` (one episode per accepted price)
``clamp``      asset id     the operator request id
``rotate``     operator     the operator request id (subject is the 0x address)
``unpause``    deposit      the operator request id (subject always 0: the one VRF deposit)
``cleanup``    0            the operator request id (the role store as a whole)
=============  ===========  ===============================================================

A planner skips a subject when ``ctx.open_actions`` holds a key with the same kind and subject
(``ActionKey.same_work``), whatever the round.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from autobot.domain.actions import ACTION_KINDS, ActionId, ActionKey, ActionKind
from autobot.domain.calls import Call
from autobot.domain.snapshot import Snapshot
from autobot.planning.preconditions import Refusal

__all__ = [
    "ACTION_KINDS",
    "ActionKey",
    "ActionKind",
    "Decision",
    "Escalation",
    "PlanContext",
    "PlannedAction",
    "Recipe",
    "TimedCall",
    "thaw",
]

JsonDict = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class TimedCall:
    """One admin call of a recipe and the chain time before which it must not be submitted.

    ``secondary`` lists the addresses that co-sign a multi-agent transaction (``rotate_bot``:
    the operator); empty for every admin-only call.
    """

    call: Call
    not_before: int
    secondary: tuple[str, ...] = ()


class Recipe(abc.ABC):
    """A frozen description of admin work; concrete recipes live in ``planning/recipes.py``.

    Subclasses are ``@dataclass(frozen=True, slots=True, kw_only=True)`` whose fields are ints,
    bools, strs or (nested) tuples of those, so ``to_json``/``from_json`` are generic. ``KIND``
    is the kind of work it is: its value names the recipe in the journal (``type``), and the kind
    says how it is routed (under which action id).
    """

    __slots__ = ()
    KIND: ClassVar[ActionKind]
    PIPELINED: ClassVar[bool] = False
    """The calls form a chain (each one's preconditions are the previous one's effects, e.g.
    ``refund_round = previous + 1``): no simulation against the current chain can judge a call
    before the one ahead of it executed, so the executor submits the calls after the first one
    that simulated successfully behind it, in the same submit window (see ``execution/steps.py``)."""

    @abc.abstractmethod
    def calls(self, execute_at: int) -> tuple[TimedCall, ...]:
        """The exact calls to run, all timestamps derived from ``execute_at`` (deterministic)."""

    @abc.abstractmethod
    def goal_reached(self, snapshot: Snapshot) -> bool:
        """True when the chain already shows this recipe's effect (the action is moot)."""

    @property
    def call_count(self) -> int:
        """How many calls ``calls()`` returns (one, unless the recipe batches)."""
        return 1

    def refusals(self, snapshot: Snapshot) -> tuple[Refusal, ...]:
        """The readable preconditions of the calls that do not hold now (pre-flight,
        ``planning/preconditions.py``): the action waits instead of simulating. None by default."""
        return ()

    def calls_done(self, snapshot: Snapshot) -> int:
        """How many leading calls the chain already shows as applied (resume after a crash).

        The executor skips that many calls of ``calls(execute_at)``; ``call_count`` once the goal
        holds. Multi-call recipes (refunds, winners) read their progress counters.
        """
        return self.call_count if self.goal_reached(snapshot) else 0

    def to_json(self) -> JsonDict:
        """``{"type": KIND, <field>: <value>, ...}``; tuples become lists."""
        out: JsonDict = {"type": self.KIND.value}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[f.name] = _freeze_json(getattr(self, f.name))
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Inverse of ``to_json`` for this class (the ``type`` entry must match)."""
        if data.get("type") != cls.KIND.value:
            raise ValueError(f"not a {cls.KIND} recipe: {data.get('type')!r}")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        extra = set(data) - names - {"type"}
        if extra:
            raise ValueError(f"unknown {cls.KIND} recipe fields: {sorted(extra)}")
        kwargs = {name: thaw(data[name]) for name in names if name in data}
        return cls(**kwargs)

    @property
    def action_id(self) -> ActionId | None:
        """The action id the recipe is attested under (``None``: gated locally, no bot)."""
        return self.KIND.action_id


def _freeze_json(value: object) -> object:
    if isinstance(value, tuple):
        return [_freeze_json(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def thaw(value: Any) -> Any:
    """JSON → recipe field value: lists become tuples, recursively."""
    if isinstance(value, list):
        return tuple(thaw(v) for v in value)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedAction:
    """One piece of work: a recipe, its key and why it was planned.

    ``key.kind`` is the recipe's ``KIND``; what is derived from them is not stored again:
    ``kind``, ``action_id`` (the kind's: 1/2/6/7, or ``None`` for admin calls gated locally) and
    ``subject_id`` (the key's, for the action hash: lottery or asset id; 0 for a bot rotation).
    ``due_at`` is the earliest chain time to announce it (planners plan what is due now, so it is
    ``snapshot.now`` unless said otherwise); ``reason`` is a short human text for logs and
    incidents; ``request_id`` names the operator request the action answers (``None``: automatic).
    """

    key: ActionKey
    recipe: Recipe
    due_at: int
    reason: str
    request_id: int | None = None

    def __post_init__(self) -> None:
        if self.key.kind is not self.recipe.KIND:
            raise ValueError(f"{self.key}: the key's kind is not its {self.recipe.KIND} recipe's")

    @property
    def kind(self) -> ActionKind:
        return self.key.kind

    @property
    def action_id(self) -> ActionId | None:
        return self.key.kind.action_id

    @property
    def subject_id(self) -> int:
        return self.key.subject_id

    @property
    def sensitive(self) -> bool:
        """True if only bots with a timelock of at least 900 s may carry it (ids 5, 6, 7)."""
        return self.key.kind.sensitive


@dataclass(frozen=True, slots=True, kw_only=True)
class Escalation:
    """Something a person must look at (metric + incident); no action is planned for it.

    ``kind`` is a bounded label (``vrf_pending``, ``vrf_manual_unscheduled``, ``vrf_exhausted``,
    ``closing_without_tickets``, ``vrf_requests_paused``, ``draw_feature_disabled``,
    ``auto_close_disabled``, ``refund_budget``, ``refund_cap_missing``, ``refund_cap_nonce``,
    ``bot_unavailable``); ``subject`` is the lottery id, asset id or operator address.
    """

    kind: str
    subject: int | str
    reason: str
    since: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """What one policy decided: actions to run, escalations to raise, future due times.

    ``wake_at`` lists chain times at which this policy will have new work without any other
    change on chain (a sales end, a retry window, a deadline): the scheduler's wake-ups.
    """

    actions: tuple[PlannedAction, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    wake_at: tuple[int, ...] = ()


if TYPE_CHECKING:
    from autobot.planning.requests import OperatorRequest


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanContext:
    """Everything a planner needs besides the snapshot: chain time, config, journal knowledge.

    Config values arrive as plain ints/bools (``sweep_context.plan_settings`` copies them from
    ``Config``, once); the journal's knowledge is added per sweep (``planning/context.py``).
    Chain time and block height are the snapshot's (``snapshot.now``, ``snapshot.height``): one
    source, so a planner can never mix two readings.
    """

    chain_id: int  # the configured chain id (request_draw_admin's chain_id: u8)
    # auto-close (action 1)
    auto_close_grace_seconds: int = 0  # close when now > sales_end + grace
    # draws (action 2)
    num_confirmations: int = 1
    winners_batch_limit: int = 100
    manual_retry_delay_seconds: int | None = 600  # None: MANUAL draws are escalated
    vrf_deadline_seconds: int = 3_600  # after the last request, an escalated draw may be canceled
    cancel_on_vrf_failure: bool = False
    # refunds (action 6)
    auto_refund: bool = True  # False: only operator refund requests start plans
    refund_batch_size: int | None = None  # optional cap below the PayoutBatchCap's max
    refund_first_batch_sla_seconds: int = 43_200  # handbook: first batch within 12 h of cancel
    refund_complete_sla_seconds: int = 86_400  # handbook: every refund within 24 h
    # price feeds (no action id)
    fallback_on_stale: bool = False
    fallback_reason: int = 1
    # bots
    bot_expiry_warning_seconds: int = 86_400
    bot_pending_grace_seconds: int = 900
    # journal knowledge (``planning/context.py``: ``plan_context`` fills it in)
    open_actions: frozenset[ActionKey] = frozenset()
    escalated_draws: frozenset[int] = frozenset()  # lotteries whose retry met E_VRF_PENDING
    fallbacks_set_by_autobot: frozenset[int] = frozenset()  # asset ids
    requests: tuple[OperatorRequest, ...] = ()  # journaled, not yet handled

    def is_open(self, kind: ActionKind, subject: int | str) -> bool:
        """True if an open action already covers ``kind`` work on ``subject``."""
        return any(k.kind == kind and k.subject == subject for k in self.open_actions)
