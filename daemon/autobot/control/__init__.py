"""The CLI for people: look at what autobot sees and does, and ask the daemon to do something.

Reading (the journal, and for ``status`` one chain read)::

    autobot status [--json]                        bots, lotteries that need work and what is
                                                   next, refunds, feeds, the journal's backlog
    autobot actions [--state S] [--json]           journaled actions, newest first
    autobot actions show KEY [--json]              one action's timeline (calls, hash, txs)
    autobot incidents [--format text|markdown|json] [--json]   the incident log, newest first
    autobot bot history OPERATOR [--json]          a bot's automation events on chain, each
                                                   marked autobot's or not
    autobot accounting [LOTTERY] [--json]          the accounting reconciliation (chain only;
                                                   exit 1 when a check fails)

Requesting: the command checks the request, says what will happen and when (calls, bot,
timelock, side effects), asks for confirmation on a terminal when it is sensitive (``--yes``
without one), journals it with ``--note`` and the requester's name, and with ``--wait`` follows it
to its outcome (``submission``, ``follow``); ``--dry-run`` writes nothing. The daemon (a separate
process, the one writer of every account's sequence numbers) carries it out on its next sweep
with the same gating as automatic work. Nothing here signs or submits::

    autobot cancel LOTTERY --reason vrf-failure|compliance|operations
    autobot refund LOTTERY
    autobot feed clear-clamp ASSET
    autobot bot rotate OPERATOR [--max-failures N] [--timelock S] [--expires-in D]
                                [--allowed-actions 1,2,…] [--cron SPEC]
    autobot vrf resume
    autobot roles cleanup                          roles::cleanup_expired_admin (expired caps)
    autobot actions retry|park KEY

Every command finds the daemon's config (``--config``, ``$AUTOBOT_CONFIG``,
``./.autobot/autobot.toml``, ``/etc/autobot/autobot.toml``) and opens the daemon's journal at
``journal.path``; a missing journal is reported, never created. Exit codes (``cli.EXIT_CODES``):
0 ok; 1 refused, rejected, failed or an unknown id; 2 bad arguments; 70 a bug; 74 no or an
unusable journal; 75 the chain did not answer (``status`` still shows the journal); 78
configuration; 130 interrupted. Key files are read only to learn the operators' addresses: no key
material is ever printed. Times: chain time is labelled, and converted to the expected wall
time with the daemon's measured pace where it is ahead (``clocks``).

Modules: ``console`` (shared plumbing and formatting), ``clocks`` (the chain's pace, from the
daemon), ``survey`` (what the daemon would see and plan: plan context, snapshot, routing,
request checks), ``events`` (what only events tell: refused prices, a bot's history),
``submission`` and ``follow`` (the request flow), and one module per command family:
``status``, ``actions``, ``incidents``, ``accounting``, ``requests``, ``history``.
"""

from autobot.control.accounting import accounting_command
from autobot.control.actions import actions_command
from autobot.control.history import bot_history_command
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
    "bot_history_command",
    "cancel_command",
    "clear_clamp_command",
    "incidents_command",
    "refund_command",
    "resume_command",
    "roles_cleanup_command",
    "rotate_command",
    "status_command",
]
