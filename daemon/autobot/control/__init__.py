"""The CLI for people: look at what autobot sees and does, and ask the daemon to do something.

Reading (the journal, and for ``status`` one chain read)::

    autobot status [--json]                        bots, lotteries that need work and what is
                                                   next, refunds, feeds, the journal's backlog
    autobot actions [--state S] [--json]           journaled actions, newest first
    autobot actions show KEY [--json]              one action's timeline (calls, hash, txs)
    autobot incidents [--format text|markdown|json]   the incident log, newest first
    autobot accounting [LOTTERY] [--json]          the accounting reconciliation (chain only;
                                                   exit 1 when a check fails)

Requesting: the command checks the request, journals it, and says what will happen and when;
the daemon (a separate process, the one writer of every account's sequence numbers) carries it
out on its next sweep with the same gating as automatic work. Nothing here signs or submits::

    autobot cancel LOTTERY --reason vrf-failure|compliance|operations
    autobot refund LOTTERY
    autobot feed clear-clamp ASSET
    autobot bot rotate OPERATOR [--max-failures N] [--timelock S] [--expires-in D]
                                [--allowed-actions 1,2,…] [--cron SPEC]
    autobot vrf resume
    autobot roles cleanup                          roles::cleanup_expired_admin (expired caps)
    autobot actions retry|park KEY

Every command takes ``--config`` (the daemon's) and opens the daemon's journal at
``journal.path``; a missing journal is reported, never created. Exit codes: 0 ok; 1 refused,
unknown id, no or unusable journal, or the chain unreachable where the command needs it
(``status`` still shows the journal then and exits 0); 2 bad arguments; 78 configuration.
Key files are read only to learn the operators' addresses: no key material is ever printed.

Modules: ``console`` (shared plumbing and formatting), ``survey`` (what the daemon would see and
plan: plan context, snapshot, routing, request checks), ``status``, ``actions``, ``incidents``,
``accounting`` and ``requests`` (one per command family).
"""

from autobot.control.accounting import accounting_command
from autobot.control.actions import actions_command
from autobot.control.incidents import incidents_command
from autobot.control.requests import (
    cancel_command,
    clear_clamp_command,
    refund_command,
    resume_command,
    roles_cleanup_command,
    rotate_command,
)
from autobot.control.status import status_command

__all__ = [
    "accounting_command",
    "actions_command",
    "cancel_command",
    "clear_clamp_command",
    "incidents_command",
    "refund_command",
    "resume_command",
    "roles_cleanup_command",
    "rotate_command",
    "status_command",
]
