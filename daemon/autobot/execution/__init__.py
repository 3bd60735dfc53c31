"""execution: carries journaled actions through the bot protocol, and nothing else sends.

The rest of autobot imports this package only, never its modules (``tests/unit/test_architecture.py``
holds it to that). What it offers:

* ``Sequencer`` — one per account: signs, journals, then submits, and follows what it sent;
* ``Guards`` (``DEFAULT_GUARDS``, ``GuardContext``) and ``Router`` — ``ensure_action`` replicated
  off-chain, and which bot carries an action (docs/decisions.md §8);
* ``Bookkeeper`` and ``ActionSteps`` — the journal writes of a transition and the transitions of
  the action state machine; the composition root builds both and hands them to
* ``Executor`` — accepts planned actions and advances them (``StepResult`` says where one stopped);
* ``UrgentLane`` — background steps hold their requests back while a sales close is on its way
  (its ``give_way`` is the gateway's ``pace`` hook);
* ``recover`` (``RecoveryReport``) — once at start: settle what a crash left in flight;
* the metrics protocol the pipeline reports to (``ExecutionMetrics``; ``PrometheusExecutionMetrics``,
  ``NullExecutionMetrics``, ``ACTION_OUTCOMES``) and ``SLOT_STATES`` (an action of a timelocked bot
  in one of them holds the bot's pending slot).

Everything else (``dryrun``, ``gate``, ``outcomes``, ``transcripts``, ``view``) is the package's own.
"""

from autobot.execution.bookkeeping import SLOT_STATES, Bookkeeper, StepResult
from autobot.execution.executor import Executor
from autobot.execution.guards import DEFAULT_GUARDS, GuardContext, Guards
from autobot.execution.lane import UrgentLane
from autobot.execution.recovery import RecoveryReport, recover
from autobot.execution.routing import Router
from autobot.execution.sequencer import Sequencer
from autobot.execution.steps import ActionSteps
from autobot.execution.telemetry import (
    ACTION_OUTCOMES,
    ExecutionMetrics,
    NullExecutionMetrics,
    PrometheusExecutionMetrics,
)

__all__ = [
    "ACTION_OUTCOMES",
    "DEFAULT_GUARDS",
    "SLOT_STATES",
    "ActionSteps",
    "Bookkeeper",
    "ExecutionMetrics",
    "Executor",
    "GuardContext",
    "Guards",
    "NullExecutionMetrics",
    "PrometheusExecutionMetrics",
    "RecoveryReport",
    "Router",
    "Sequencer",
    "StepResult",
    "UrgentLane",
    "recover",
]
