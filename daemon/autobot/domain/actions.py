"""Bot action ids, the kinds of work autobot does, and the key that names one piece of work
(docs/package.md §1.1, docs/decisions.md §8).

``ActionId`` is the package's number: it goes into ``announce_dry_run``/``record_*`` and into the
action hash's pre-image (the chain does not compare the recorded id with the announced one, so the
hash must bind it). ``ActionKind`` is autobot's own vocabulary, spelled one way everywhere (action
keys, the journal's ``kind`` column, a recipe's ``type``, the ``kind`` label of the metrics): each
kind carries the id it is attested under (``None`` for admin calls journaled and gated locally,
without a bot), what its key's subject is, and how urgent its steps are. ``ActionKey`` is the
deterministic id of one piece of work (``kind:subject:round``, the scheme in ``planning/plan.py``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "ACTION_KINDS",
    "LOTTERY_KINDS",
    "MIN_SENSITIVE_TIMELOCK_SECS",
    "SENSITIVE_ACTIONS",
    "ActionId",
    "ActionKey",
    "ActionKind",
    "Subject",
    "is_sensitive",
]


class ActionId(enum.IntEnum):
    """The package's action ids (``automation::action_*``)."""

    AUTO_CLOSE = 1
    RETRY_VRF = 2
    DEFRAGMENT_INDEX = 3  # unused by autobot
    TOPUP_VRF_DEPOSIT = 4  # unused by autobot (deposit is monitored, not topped up)
    UNPAUSE = 5  # vrf_deposit::resume_requests (operator request only: ``autobot vrf resume``)
    PAYOUT_BATCH = 6
    CANCEL = 7


SENSITIVE_ACTIONS: frozenset[int] = frozenset(
    {ActionId.UNPAUSE, ActionId.PAYOUT_BATCH, ActionId.CANCEL}
)
"""Ids that need a bot with ``timelock_secs >= MIN_SENSITIVE_TIMELOCK_SECS`` (§1.1)."""

MIN_SENSITIVE_TIMELOCK_SECS = 900


def is_sensitive(action_id: int) -> bool:
    """True for ids 5, 6 and 7."""
    return action_id in SENSITIVE_ACTIONS


class Subject(enum.Enum):
    """What an action key's subject names (and what the action hash's ``subject_id`` is)."""

    LOTTERY = "lottery"  # a lottery id
    ASSET = "asset"  # a price feed's asset id
    OPERATOR = "operator"  # a bot's 0x address (subject_id 0)
    DEPOSIT = "deposit"  # the VRF deposit ledger, one per package (subject 0)
    ROLES = "roles"  # the package's role store as a whole (subject id 0)


class ActionKind(enum.StrEnum):
    """Every kind of work autobot may plan, routed per docs/decisions.md §8.

    The value is the one spelling of the kind: the first part of an ``ActionKey``, the journal's
    ``kind`` column, a recipe's ``type`` in the journal and the metrics' ``kind`` label.
    """

    CLOSE = "close"  # lottery_registry::advance_status(id, 2)
    DRAW = "draw"  # draw::request_draw_admin (first request and retries)
    SCHEDULE = "schedule"  # draw::schedule_manual_retry_admin
    WINNERS = "winners"  # payouts::compute_winners_admin batches
    REFUND = "refund"  # force_refund_batch_admin batches + archive, one hash
    CANCEL = "cancel"  # cancellation::cancel_lottery_admin
    FALLBACK = "fallback"  # price_feed::set_fallback (no bot)
    CLAMP = "clamp"  # price_feed::clear_clamp (operator request only, no bot)
    ROTATE = "rotate"  # automation::rotate_bot (multi-agent, operator request only, no bot)
    UNPAUSE = "unpause"  # vrf_deposit::resume_requests (operator request only, action 5)
    CLEANUP = "cleanup"  # roles::cleanup_expired_admin (operator request only, no bot)

    @property
    def action_id(self) -> ActionId | None:
        """The id this kind is announced and recorded under, or ``None`` (no attestation)."""
        return _TRAITS[self].action_id

    @property
    def subject(self) -> Subject:
        """What this kind's keys name."""
        return _TRAITS[self].subject

    @property
    def priority(self) -> int:
        """Which background steps go first when ``max_concurrent_actions`` are running (smaller
        first, ``execution/gate.py``): a sales close is judged by its reaction, draws and safety
        calls next; winner batches, refund plans and operator housekeeping have hours."""
        return _TRAITS[self].priority

    @property
    def sensitive(self) -> bool:
        """True if the kind's id needs a bot with a timelock of at least 900 s."""
        action_id = self.action_id
        return action_id is not None and is_sensitive(action_id)


@dataclass(frozen=True, slots=True)
class _Traits:
    action_id: ActionId | None
    subject: Subject
    priority: int


_TRAITS: dict[ActionKind, _Traits] = {
    ActionKind.CLOSE: _Traits(ActionId.AUTO_CLOSE, Subject.LOTTERY, 0),
    ActionKind.DRAW: _Traits(ActionId.RETRY_VRF, Subject.LOTTERY, 1),
    ActionKind.SCHEDULE: _Traits(ActionId.RETRY_VRF, Subject.LOTTERY, 1),
    ActionKind.WINNERS: _Traits(ActionId.RETRY_VRF, Subject.LOTTERY, 2),
    ActionKind.REFUND: _Traits(ActionId.PAYOUT_BATCH, Subject.LOTTERY, 2),
    ActionKind.CANCEL: _Traits(ActionId.CANCEL, Subject.LOTTERY, 1),
    ActionKind.FALLBACK: _Traits(None, Subject.ASSET, 1),
    ActionKind.CLAMP: _Traits(None, Subject.ASSET, 2),
    ActionKind.ROTATE: _Traits(None, Subject.OPERATOR, 2),
    ActionKind.UNPAUSE: _Traits(ActionId.UNPAUSE, Subject.DEPOSIT, 1),
    ActionKind.CLEANUP: _Traits(None, Subject.ROLES, 2),
}

ACTION_KINDS: tuple[ActionKind, ...] = tuple(ActionKind)
"""Every kind, in the order of the key table in ``planning/plan.py`` (the ``kind`` label's values)."""

LOTTERY_KINDS: frozenset[ActionKind] = frozenset(
    k for k in ActionKind if k.subject is Subject.LOTTERY
)
"""The kinds whose subject is a lottery id."""


@dataclass(frozen=True, slots=True)
class ActionKey:
    """A deterministic id for one piece of planned work; ``str()`` gives ``kind:subject:round``.

    ``subject`` is a lottery or asset id (``int``), or the operator's ``0x`` address (``str``) for
    a kind whose subject is an operator. ``kind`` may be given as its text; it is kept as the
    ``ActionKind``.
    """

    kind: ActionKind
    subject: int | str
    round: int

    def __post_init__(self) -> None:
        try:
            kind = ActionKind(self.kind)
        except ValueError:
            raise ValueError(f"bad action key kind {self.kind!r}") from None
        object.__setattr__(self, "kind", kind)
        if kind.subject is Subject.OPERATOR:
            if not isinstance(self.subject, str) or not self.subject.startswith("0x"):
                raise ValueError(f"bad action key subject {self.subject!r}: not an address")
            if ":" in self.subject:
                raise ValueError(f"bad action key subject {self.subject!r}")
        elif not isinstance(self.subject, int) or isinstance(self.subject, bool):
            raise ValueError(f"bad action key subject {self.subject!r}: a {kind} names an id")

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.subject}:{self.round}"

    @classmethod
    def parse(cls, text: str) -> ActionKey:
        """Inverse of ``str()``: ids come back as ``int``, addresses as ``str``.

        Raises ``ValueError`` for text that is not ``kind:subject:round`` of a known kind.
        """
        parts = text.split(":")
        if len(parts) != 3:
            raise ValueError(f"not an action key: {text!r}")
        kind, subject, round_ = parts
        try:
            known = ActionKind(kind)
        except ValueError:
            raise ValueError(f"not an action key: {text!r} (no kind {kind!r})") from None
        subj: int | str = subject if subject.startswith("0x") else int(subject)
        return cls(kind=known, subject=subj, round=int(round_))

    @property
    def subject_id(self) -> int:
        """The subject as the action hash's ``subject_id``: the lottery or asset id, 0 for an
        operator."""
        return self.subject if isinstance(self.subject, int) else 0

    def same_work(self, other: ActionKey) -> bool:
        """True if both keys are the same kind of work on the same subject (any round)."""
        return self.kind == other.kind and self.subject == other.subject
