"""The one exception tree of autobot: every error autobot raises on purpose is defined here.

    AutobotError
    ├── TransientError              retry with backoff; never recorded as a bot failure
    │   ├── RpcTimeout              the request did not answer in time
    │   ├── RpcUnavailable          connection refused/reset, HTTP 5xx
    │   ├── RpcRateLimited          HTTP 429 (``retry_after`` seconds if the node said)
    │   ├── StaleAnswer             an endpoint's answer lags the chain: ask another (``reading``)
    │   │   └── ClockAhead          its block's time runs ahead of what the others and the wall
    │   │                           clock allow: quarantined, ask another (``reading``)
    │   ├── SequenceRace            the node refused a sequence number (too old / too far ahead)
    │   ├── SubmitWindowFull        an account already has its window of transactions in flight
    │   ├── NotYet                  a "not yet" Move abort (retry window, timelock, cooldown, paused)
    │   ├── JournalConflict         an action's row is no longer in the state a step read it in
    │   └── InstanceLocked          another ``autobot run`` holds the journal (``holder``: its PID)
    └── PermanentError              will not change by retrying
        ├── PermanentRpcError       the node's answer, not the transport, is the problem
        │   ├── RpcRejected         the node refused a request (HTTP 400/404/other 4xx)
        │   │   └── EventsPruned    HTTP 410: events older than the node keeps (``oldest_block``)
        │   ├── RpcProtocolError    a response that does not have the node's shape
        │   │   └── StorageLayoutError  a resource or table item that is not the package's
        │   │                       Move layout: ``struct`` and ``field`` name what is wrong
        │   └── ChainMismatch       a response whose ``x-supra-chain-id`` is not the configured one
        ├── MoveAbort               a Move abort: ``code``, ``name``, ``module``
        ├── GuardRefused            an off-chain guard refused a step: ``guard``, ``reason``
        ├── UnusableAction          a journaled action this code cannot carry on (unreadable
        │                           recipe, changed calls, missing co-signer key)
        ├── JournalError            the journal cannot be opened, is corrupt, or the disk refused a write
        │   ├── FencedOut           a write by an instance that no longer holds the leader lease (HA)
        │   └── MigrationFailed     ``journal migrate`` refused or found a difference (target left empty)
        ├── IncidentLogError        the incident-log file is not the handbook's table (``line``)
        ├── ConfigError             every problem of a config file, by dotted path (``Problem``)
        └── KeyFileError            a key file that is missing, malformed or too permissive

Foreign exceptions (httpx, supra_sdk, sqlite3, psycopg) are translated in one place each
(``chain/rpc.py`` for HTTP, ``chain/supra.py`` for the SDK, ``journal/store.py`` for SQLite,
``journal/postgres.py`` for PostgreSQL) with ``raise ... from exc``.
``tests/unit/test_architecture.py`` checks that every subclass of ``AutobotError`` is defined in
this module and drawn above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class AutobotError(Exception):
    """Root of every error autobot raises on purpose."""


class TransientError(AutobotError):
    """A failure that may go away by itself: retry with backoff."""


class PermanentError(AutobotError):
    """A failure that will not change by retrying."""


class RpcTimeout(TransientError):
    """The RPC request did not complete within the configured timeout."""


class RpcUnavailable(TransientError):
    """Connection error or HTTP 5xx from an RPC endpoint."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RpcRateLimited(TransientError):
    """HTTP 429; ``retry_after`` carries the node's Retry-After in seconds, when given."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StaleAnswer(TransientError):
    """A ``decode`` refused an answer because its endpoint lags the chain (``reading`` kept)."""

    def __init__(self, message: str, *, reading: object = None) -> None:
        super().__init__(message)
        self.reading = reading


class ClockAhead(StaleAnswer):
    """An endpoint's latest block is further ahead in time than the other endpoints and the wall
    clock (``time_scale``) allow: its reading is quarantined, not adopted (``reading`` kept)."""


class SequenceRace(TransientError):
    """The node refused the transaction's sequence number; resync and retry.

    ``too_new``: the refusal says the chain is behind the number (``SEQUENCE_NUMBER_TOO_NEW``),
    so these bytes did not execute there; any other (too old, already pending) leaves open that
    they did.
    """

    @property
    def too_new(self) -> bool:
        text = str(self).lower()
        return "too_new" in text or "too new" in text


class SubmitWindowFull(TransientError):
    """The account already has ``submit_window`` transactions in flight."""


class JournalConflict(TransientError):
    """An action's row changed under a step (it is no longer in a state the step expected):
    look again. Within one daemon this is a bug or an operator's request that raced a step; the
    single-instance lock keeps other daemons out."""


class InstanceLocked(TransientError):
    """Another ``autobot run`` holds the journal; ``holder`` is its PID when it could be read."""

    def __init__(self, message: str, *, holder: int | None) -> None:
        super().__init__(message)
        self.holder = holder


class PermanentRpcError(PermanentError):
    """Base of permanent RPC-level failures."""


class RpcRejected(PermanentRpcError):
    """The node answered a 4xx with an ``ErrResp`` message."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class EventsPruned(RpcRejected):
    """HTTP 410 from the events endpoint: the range is older than the node keeps.

    ``oldest_block`` is the node's ``x-supra-oldest-block`` header, when it sent a usable one.
    """

    def __init__(self, message: str, *, oldest_block: int | None) -> None:
        super().__init__(message, status=410)
        self.oldest_block = oldest_block


class RpcProtocolError(PermanentRpcError):
    """The response did not have the shape the node's API defines."""


class StorageLayoutError(RpcProtocolError):
    """A resource or table item that does not have the package's Move layout (docs/package.md
    §6a): a field missing, unexpected or of the wrong type, or BCS that ends early or runs on.

    ``struct`` is the struct being decoded (``"types::SalesWindow"``), ``field`` the field
    (``"sales_end"``; ``""`` for the struct itself), ``path`` where it sits in what was read
    (``"lottery_registry::Lottery.config.sales_window.sales_end"``). Like any protocol error it
    counts against the endpoint that answered (``chain/endpoints.py``), and the read fails over.
    """

    def __init__(self, message: str, *, struct: str, field: str, path: str) -> None:
        super().__init__(message)
        self.struct = struct
        self.field = field
        self.path = path


class ChainMismatch(PermanentRpcError):
    """The endpoint serves another chain than the configured one."""

    def __init__(self, *, expected: int, got: str | None, url: str) -> None:
        super().__init__(f"endpoint {url} serves chain id {got!r}, configured {expected}")
        self.expected = expected
        self.got = got
        self.url = url


class MoveAbort(PermanentError):
    """A Move abort. ``name`` is the package's constant name or ``unknown(0x…)``."""

    def __init__(self, *, code: int, name: str, module: str | None, vm_status: str = "") -> None:
        super().__init__(f"{name}(0x{code:x}) in {module or '?'}")
        self.code = code
        self.name = name
        self.module = module
        self.vm_status = vm_status


class NotYet(TransientError):
    """A Move abort that means "wait and try again" (docs/decisions.md §9)."""

    def __init__(self, abort: MoveAbort) -> None:
        super().__init__(str(abort))
        self.abort = abort


class GuardRefused(PermanentError):
    """An off-chain guard refused a step."""

    def __init__(self, *, guard: str, reason: str) -> None:
        super().__init__(f"{guard}: {reason}")
        self.guard = guard
        self.reason = reason


class UnusableAction(PermanentError):
    """An action this code cannot carry on (unreadable recipe, missing co-signer key, ...)."""


class JournalError(PermanentError):
    """The journal cannot be used (corrupt, read-only, disk full, database unreachable)."""


class MigrationFailed(JournalError):
    """``autobot journal migrate`` refused (a target that is not empty) or its verification found a
    difference; the target is left empty."""


class FencedOut(JournalError):
    """A journal write refused, changing nothing, because the writer's leader lease is gone: its
    fencing ``epoch`` was taken over (``current`` is the lease's epoch now) or expired. The
    instance must stop signing; another one leads (or will, once it takes the lease)."""

    def __init__(self, message: str, *, epoch: int, current: int | None) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.current = current


class IncidentLogError(PermanentError):
    """The incident-log file (``[incidents] log_path``) cannot be read as the handbook's table
    or cannot be written; ``line`` is the offending line's number (1-based), when there is one.
    The file is left as it is."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True, slots=True)
class Problem:
    """One configuration problem: a dotted path, the offending value, what is wrong."""

    path: str
    message: str
    value: object = None
    has_value: bool = False

    def render(self) -> str:
        if self.has_value:
            return f"{self.path}: {self.message} (got {self.value!r})"
        return f"{self.path}: {self.message}"


class ConfigError(PermanentError):
    """Every problem found in a configuration file, by dotted path."""

    def __init__(self, problems: Sequence[Problem], *, source: str = "") -> None:
        self.problems = tuple(problems)
        self.source = source
        head = f"{source}: " if source else ""
        lines = "\n".join(f"  {p.render()}" for p in self.problems)
        super().__init__(f"{head}{len(self.problems)} configuration problem(s)\n{lines}")


class KeyFileError(PermanentError):
    """A key file (or another secret's file: ``what``, e.g. the journal's DSN file) is missing,
    malformed, too permissive or foreign-owned. Never carries the secret's bytes."""

    def __init__(
        self, path: str, reason: str, *, reasons: tuple[str, ...] = (), what: str = "key file"
    ) -> None:
        super().__init__(f"{what} {path}: {reason}")
        self.path = path
        self.reason = reason
        self.reasons = reasons or (reason,)
        """Every problem found (owner and mode and contents), ``reason`` joins them."""


EX_CONFIG = 78  # sysexits.h: configuration error; systemd's RestartPreventExitStatus
EX_SOFTWARE = 70
EX_IOERR = 74
EX_TEMPFAIL = 75  # sysexits.h: try again later (another daemon holds the journal; [ha]: the
# leader lease lost, restart as a standby)
