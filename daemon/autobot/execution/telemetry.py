"""What the execution pipeline counts, behind a small protocol (docs/conventions.md §13).

The pipeline reports facts (a guard refused, an action finished, a sequence was re-read, an action's
first transaction left, a step gave way to an urgent one); ``PrometheusExecutionMetrics`` turns them into the daemon's ``autobot_*``
series on metrics that ``metrics.DaemonMetrics`` registers on the injected registry. Tests and tools
that do not care pass ``NullExecutionMetrics``.
"""

from __future__ import annotations

from typing import Protocol

from autobot.journal.records import Outcome

__all__ = [
    "ACTION_OUTCOMES",
    "PARKED",
    "CounterFamily",
    "ExecutionMetrics",
    "HistogramLike",
    "NullExecutionMetrics",
    "PrometheusExecutionMetrics",
    "UnlabelledCounter",
]

PARKED = "parked"
ACTION_OUTCOMES = (*(o.value for o in Outcome), PARKED)
"""``action_finished``'s outcomes: the journal's ``Outcome`` values, or ``parked`` by an operator."""


class ExecutionMetrics(Protocol):
    def guard_refused(self, guard: str) -> None:
        """A guard refused a step (``autobot_guard_refusals_total{guard}``)."""
        ...

    def action_finished(self, kind: str, outcome: str) -> None:
        """An action reached a terminal state; ``outcome`` is one of ``ACTION_OUTCOMES``."""
        ...

    def sequence_resynced(self) -> None:
        """A sequencer re-read its account's sequence number from the chain."""
        ...

    def first_submission(self, delay_seconds: float) -> None:
        """An action's first transaction left, ``delay_seconds`` (wall) after it was journaled."""
        ...

    def gave_way(self, seconds: float) -> None:
        """A background step held a request back ``seconds`` for an urgent one (``lane.py``)."""
        ...


class NullExecutionMetrics:
    """Counts nothing."""

    def guard_refused(self, guard: str) -> None:
        pass

    def action_finished(self, kind: str, outcome: str) -> None:
        pass

    def sequence_resynced(self) -> None:
        pass

    def first_submission(self, delay_seconds: float) -> None:
        pass

    def gave_way(self, seconds: float) -> None:
        pass


class UnlabelledCounter(Protocol):
    def inc(self, amount: float = 1) -> None: ...


class CounterFamily(Protocol):
    def labels(self, *values: str) -> UnlabelledCounter: ...


class HistogramLike(Protocol):
    def observe(self, amount: float) -> None: ...


class DaemonCounters(Protocol):
    """The attributes of ``metrics.DaemonMetrics`` this adapter uses."""

    @property
    def guard_refusals(self) -> CounterFamily: ...
    @property
    def actions(self) -> CounterFamily: ...
    @property
    def sequence_resyncs(self) -> UnlabelledCounter: ...
    @property
    def reaction(self) -> HistogramLike: ...
    @property
    def gave_way(self) -> UnlabelledCounter: ...


class PrometheusExecutionMetrics:
    """``ExecutionMetrics`` on the daemon's Prometheus metrics (``metrics.DaemonMetrics``)."""

    def __init__(self, metrics: DaemonCounters) -> None:
        self._m = metrics

    def guard_refused(self, guard: str) -> None:
        self._m.guard_refusals.labels(guard).inc()

    def action_finished(self, kind: str, outcome: str) -> None:
        self._m.actions.labels(kind, outcome).inc()

    def sequence_resynced(self) -> None:
        self._m.sequence_resyncs.inc()

    def first_submission(self, delay_seconds: float) -> None:
        self._m.reaction.observe(max(0.0, delay_seconds))

    def gave_way(self, seconds: float) -> None:
        self._m.gave_way.inc(max(0.0, seconds))
