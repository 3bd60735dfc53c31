"""planning: pure, synchronous policies over one snapshot (docs/conventions.md §4).

``plan.py`` holds the contract types, ``recipes.py`` the concrete recipes, one module per policy
(``autoclose``, ``draws``, ``refunds``, ``feeds``, ``requests``, ``bots``), ``batches.py`` the refund
arithmetic and ``planner.py`` ``plan_all``, which combines them.
"""

from autobot.planning.plan import (
    ActionKey,
    Decision,
    Escalation,
    PlanContext,
    PlannedAction,
    Recipe,
    TimedCall,
)
from autobot.planning.planner import PlanResult, plan_all
from autobot.planning.recipes import (
    RECIPE_TYPES,
    AutoClose,
    Cancel,
    CleanupRoles,
    ClearClamp,
    ComputeWinners,
    RefundPlan,
    RequestDraw,
    ResumeRequests,
    RotateBot,
    ScheduleManualRetry,
    SetFallback,
    recipe_from_json,
)
from autobot.planning.requests import (
    CancelRequest,
    CleanupRequest,
    ClearClampRequest,
    OperatorRequest,
    RefundRequest,
    Rejected,
    RotateRequest,
    UnpauseRequest,
)

__all__ = [
    "RECIPE_TYPES",
    "ActionKey",
    "AutoClose",
    "Cancel",
    "CancelRequest",
    "CleanupRequest",
    "CleanupRoles",
    "ClearClamp",
    "ClearClampRequest",
    "ComputeWinners",
    "Decision",
    "Escalation",
    "OperatorRequest",
    "PlanContext",
    "PlanResult",
    "PlannedAction",
    "Recipe",
    "RefundPlan",
    "RefundRequest",
    "Rejected",
    "RequestDraw",
    "ResumeRequests",
    "RotateBot",
    "RotateRequest",
    "ScheduleManualRetry",
    "SetFallback",
    "TimedCall",
    "UnpauseRequest",
    "plan_all",
    "recipe_from_json",
]
