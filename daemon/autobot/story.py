"""The daemon's story: one plain line per change a person cares about, for the log at ``info``.

A sweep sees the chain (the watchlist's kept views: every live lottery, the watched feeds, the
bots) and the journal's open actions. ``Story.observe`` compares them with the last sweep's and
says, in one line each:

* a lottery that changed, with every step seen since the last look joined by ``→`` ("lottery 3:
  VRF attempt 5 failed → cancelled (reason 1: VRF failure)"); the first look says how many live
  lotteries there are, by status (one line, whatever their number);
* an action of autobot's announced by its bot, with when it executes on both clocks ("lottery 3:
  refund plan refund:3:1 announced by bot A, executes in 15 s (expected …; chain time …)"), and
  an action that ended any other way than done ("… failed", "… parked");
* a price feed that became clamped (with the refused price's threshold and the command that
  clears it), fell back, became stale, or recovered;
* a bot whose failure count rose (a failure autobot did not record is said to be someone else's:
  ``bot history`` shows which) or that reached its failure limit.

Everything else the daemon does is ``debug`` (sweeps, transactions, calls); warnings stay warnings.
The lines are facts for people, so their times are labelled: chain time, or the expected wall
time of a moment still ahead (``status.moments.Clocks``). The engine logs each as
``story`` events: ``event`` a snake_case fact (``lottery_changed``, ``action_announced``,
``feed_changed``, ``bot_changed``, ``lotteries_watched``), the line in ``story``, and the
subject's id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from autobot.domain.actions import LOTTERY_KINDS, ActionKind
from autobot.domain.draws import VrfStatus
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.refunds import CancelReason
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.hints import Hints
from autobot.journal.records import ActionRecord, ActionState
from autobot.status.moments import Clocks

__all__ = ["Story", "StoryLine"]

_KIND_WORDS = {
    ActionKind.CLOSE: "sales close",
    ActionKind.DRAW: "draw request",
    ActionKind.REFUND: "refund plan",
    ActionKind.CANCEL: "cancellation",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class StoryLine:
    event: str  # lottery_changed | action_announced | action_ended | feed_changed | ...
    text: str
    lottery_id: int | None = None
    asset_id: int | None = None
    operator: str | None = None
    warning: bool = False


@dataclass(frozen=True, slots=True)
class _Look:
    """What a lottery line is made of."""

    status: LotteryStatus
    attempt: int
    vrf: VrfStatus
    assigned: int
    refund_round: int
    refunded: int
    archived: bool


def _look(view: LotteryView) -> _Look:
    return _Look(
        status=view.status,
        attempt=view.vrf.attempt,
        vrf=view.vrf.status,
        assigned=view.winners.total_assigned,
        refund_round=view.refund.refund_round,
        refunded=view.refund.tickets_refunded,
        archived=view.archived,
    )


def _reason(view: LotteryView) -> str:
    record = view.cancellation
    if record is None:
        return ""
    named = record.reason
    name = named.name.lower().replace("_", " ") if isinstance(named, CancelReason) else "unnamed"
    return f" (reason {record.reason_code}: {name})"


def _steps(old: _Look, new: _Look, view: LotteryView) -> list[str]:
    """What happened between two looks at one lottery, in order."""
    steps: list[str] = []
    if new.status != old.status and new.status is LotteryStatus.CLOSING:
        steps.append("sales closed")
    if new.attempt > old.attempt:
        first = old.attempt + 1
        if old.attempt == 0:
            steps.append(f"draw requested (VRF attempt {first})")
            first += 1
        for attempt in range(max(first, 2), new.attempt + 1):
            steps.append(f"no VRF callback for attempt {attempt - 1}: attempt {attempt} requested")
    if new.vrf is VrfStatus.FULFILLED and old.vrf is not VrfStatus.FULFILLED:
        steps.append(f"random numbers received (VRF attempt {new.attempt})")
    if new.status != old.status:
        match new.status:
            case LotteryStatus.DRAWN if not any("random" in s for s in steps):
                steps.append("drawn")
            case LotteryStatus.PAYOUT:
                steps.append(
                    f"winners computed ({new.assigned} assigned) → PAYOUT: payouts are the "
                    "treasury's"
                )
            case LotteryStatus.FINALIZED:
                steps.append("finalized")
            case LotteryStatus.CANCELED:
                failed = (
                    f"VRF attempt {new.attempt} failed → "
                    if old.status is LotteryStatus.DRAW_REQUESTED
                    else ""
                )
                steps.append(f"{failed}cancelled{_reason(view)}")
    if new.refund_round > old.refund_round:
        rounds = (
            f"round {new.refund_round}"
            if new.refund_round == old.refund_round + 1
            else f"rounds {old.refund_round + 1} to {new.refund_round}"
        )
        steps.append(f"refund {rounds}: {new.refunded}/{view.tickets_sold} tickets refunded")
    if new.archived and not old.archived:
        steps.append("archived" if new.status is LotteryStatus.CANCELED else "summary written")
    return steps


class Story:
    """Remembers the last look at everything it tells about (see the module docstring)."""

    def __init__(self, *, operator_names: Mapping[str, str], hints: Hints | None = None) -> None:
        self._names = dict(operator_names)  # address -> configured name
        self._hints = hints or Hints()
        self._lotteries: dict[int, _Look] = {}
        self._views: dict[int, LotteryView] = {}  # the view each look was taken from
        self._actions: dict[str, ActionState] = {}
        self._feeds: dict[int, tuple[bool, bool, bool]] = {}
        self._failures: dict[str, int] = {}
        self._started = False

    def _bot(self, address: str | None) -> str:
        if address is None:
            return "-"
        name = self._names.get(address)
        short = f"{address[:6]}…{address[-4:]}"
        return f"{name} ({short})" if name else short

    def observe(
        self,
        snapshot: Snapshot,
        *,
        open_actions: Sequence[ActionRecord],
        clocks: Clocks,
        finished: Mapping[int, LotteryView] | None = None,
        ended: Sequence[ActionRecord] = (),
        own_failures: Mapping[str, int] | None = None,
    ) -> list[StoryLine]:
        """The lines this sweep adds to the story (``ended``: actions that ended since the last
        sweep; ``own_failures``: failures autobot recorded per operator since its start)."""
        lines: list[StoryLine] = []
        views = snapshot.lotteries
        if finished:
            views = dict(finished) | dict(views)
        if not self._started:
            self._started = True
            lines.append(self._first_look(snapshot))
            self._lotteries = {i: _look(v) for i, v in views.items()}
            self._views = dict(views)
        else:
            lines += self._lottery_lines(views)
        lines += self._action_lines(open_actions, ended, clocks)
        lines += self._feed_lines(snapshot)
        lines += self._bot_lines(snapshot, own_failures or {})
        return lines

    def _first_look(self, snapshot: Snapshot) -> StoryLine:
        counts = Counter(v.status.name for v in snapshot.lotteries.values())
        listed = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"
        bots = ", ".join(self._bot(b.operator) for b in snapshot.bots) or "none"
        return StoryLine(
            event="lotteries_watched",
            text=f"watching {len(snapshot.lotteries)} live lotteries ({listed}); bots {bots}",
        )

    def _lottery_lines(self, views: Mapping[int, LotteryView]) -> list[StoryLine]:
        """A line per lottery whose look changed. A view the watchlist kept from the last sweep
        is the same object (the watchlist re-reads only what is due or changed): only the views
        replaced since the last sweep are looked at, so an idle sweep costs one identity check
        per lottery."""
        lines = []
        seen = self._views
        replaced = [(i, v) for i, v in views.items() if seen.get(i) is not v]
        if len(seen) + sum(i not in seen for i, _ in replaced) != len(views):
            for gone in seen.keys() - views.keys():  # no view kept for a lottery gone
                del seen[gone]
        for lottery_id, view in sorted(replaced, key=lambda item: item[0]):
            seen[lottery_id] = view
            new = _look(view)
            old = self._lotteries.get(lottery_id)
            self._lotteries[lottery_id] = new
            if old is None:
                steps = [f"new, {view.status.name} with {view.tickets_sold} tickets"]
            elif old == new:
                continue
            else:
                steps = _steps(old, new, view)
            if steps:
                lines.append(
                    StoryLine(
                        event="lottery_changed",
                        text=f"lottery {lottery_id}: " + " → ".join(steps),
                        lottery_id=lottery_id,
                    )
                )
        return lines

    def _action_lines(
        self, open_actions: Sequence[ActionRecord], ended: Sequence[ActionRecord], clocks: Clocks
    ) -> list[StoryLine]:
        lines = []
        for action in open_actions:
            before = self._actions.get(action.key)
            self._actions[action.key] = action.state
            announced = action.state is ActionState.WAITING and before is not ActionState.WAITING
            if not announced or action.execute_at is None or action.operator is None:
                continue
            words = _KIND_WORDS.get(action.kind, action.kind.value)
            subject = f"lottery {action.subject_id}: " if action.kind in LOTTERY_KINDS else ""
            lines.append(
                StoryLine(
                    event="action_announced",
                    text=(
                        f"{subject}{words} {action.key} announced by bot "
                        f"{self._bot(action.operator)}, executes "
                        f"{clocks.moment(action.execute_at)}"
                    ),
                    lottery_id=action.subject_id if action.kind in LOTTERY_KINDS else None,
                    operator=action.operator,
                )
            )
        for action in ended:
            self._actions.pop(action.key, None)
            if action.state not in (ActionState.FAILED, ActionState.PARKED):
                continue
            why = action.error_name or action.error_message or "no error recorded"
            lines.append(
                StoryLine(
                    event="action_ended",
                    text=(
                        f"{action.key} {action.state.value.upper()}: {why} — "
                        f"{self._hints('actions show ' + action.key)}"
                    ),
                    lottery_id=action.subject_id if action.kind in LOTTERY_KINDS else None,
                    warning=True,
                )
            )
        return lines

    def _feed_lines(self, snapshot: Snapshot) -> list[StoryLine]:
        lines = []
        for asset_id, feed in sorted(snapshot.feeds.items()):
            state = (feed.clamp_active, feed.fallback_active, feed.is_stale(snapshot.now))
            before = self._feeds.get(asset_id, (False, False, False))
            self._feeds[asset_id] = state
            said: list[str] = []
            if state[0] and not before[0]:
                said.append(
                    f"CLAMPED: an update moved the price by more than "
                    f"{feed.clamp_threshold_bps / 100:.1f} %; the package keeps {feed.price} and "
                    "refuses readers — check the price, then "
                    f"{self._hints('feed clear-clamp ' + str(asset_id))}"
                )
            elif before[0] and not state[0]:
                said.append("clamp cleared")
            if state[1] and not before[1]:
                said.append("in FALLBACK: readers are refused until an update lands")
            elif before[1] and not state[1]:
                said.append("fallback released")
            if state[2] and not before[2] and not state[1]:
                said.append(f"STALE: no update for {feed.age(snapshot.now)} s of chain time")
            elif before[2] and not state[2]:
                said.append("fresh again")
            if said:
                lines.append(
                    StoryLine(
                        event="feed_changed",
                        text=f"asset {asset_id}: " + "; ".join(said),
                        asset_id=asset_id,
                        warning=state[0] and not before[0],
                    )
                )
        return lines

    def _bot_lines(self, snapshot: Snapshot, own: Mapping[str, int]) -> list[StoryLine]:
        lines = []
        for bot in snapshot.bots:
            before = self._failures.get(bot.operator)
            self._failures[bot.operator] = bot.failure_count
            if before is None or bot.failure_count <= before:
                continue
            rose = bot.failure_count - before
            mine = min(rose, own.get(bot.operator, 0))
            whose = (
                "recorded by autobot"
                if mine == rose
                else f"{rose - mine} NOT recorded by autobot: someone else signs with this key"
            )
            limit = (
                " — LOCKED OUT: the chain refuses its announcements"
                if bot.failure_count >= bot.max_failures
                else ""
            )
            name = self._names.get(bot.operator, bot.operator)
            lines.append(
                StoryLine(
                    event="bot_changed",
                    text=(
                        f"bot {self._bot(bot.operator)}: failures {before} → {bot.failure_count} of "
                        f"{bot.max_failures} ({whose}){limit}; "
                        f"{self._hints('bot history ' + name)}"
                    ),
                    operator=bot.operator,
                    warning=bool(limit) or mine < rose,
                )
            )
        return lines
