"""``legacy_bridge``: the dual-write control over archive summaries (§4, §6a).

``DualWriteControl`` (``Globals.dual_write`` and its flags) holds *expected hashes*: for a
lottery, the sha3-256 of the summary the legacy system says the new archive must write. It is a
``vrf_hub::table`` (two vectors): ``set_expected_hash`` replaces a lottery's entry (removing the
old one first) and appends, removals swap the last entry into the gap, and
``pending_expected_hashes`` lists the keys in that order.

Every summary write (``history::record_summary`` from finalize and archive, and
``history::mirror_summary_admin``) calls ``notify_summary_written`` *before* storing: without a
control or with the control disabled nothing happens; a lottery with no expected hash aborts
``E_HISTORY_EXPECTED_MISSING`` (0x1B05) if ``abort_on_missing``, else passes; a different hash
aborts ``E_HISTORY_MISMATCH`` (0x1B02, in ``legacy_bridge``) if ``abort_on_mismatch``, else passes
**and the expected hash stays pending** (a mismatch that persists); a match removes it and emits
``ArchiveDualWriteCompletedEvent``. The legacy mirror (``MirrorConfig``) forwards summaries to
``lottery_support::history_bridge``, which the localnet does not deploy, so mirroring does
nothing but gate ``mirror_summary_admin``.

The admin entries check the signer against ``@lottery_multi`` with ``E_HISTORY_NOT_AUTHORIZED``
(0x1B04); a missing control is ``E_HISTORY_CONTROL_MISSING`` (0x1B06).
"""

from __future__ import annotations

from autobot.localnet.model.core import Args, CallContext, j_bytes, j_u64
from autobot.localnet.model.state import ExpectedHash, PackageState

__all__ = [
    "clear_expected_hash",
    "disable_legacy_mirror",
    "enable_legacy_mirror",
    "expected_hash",
    "init_dual_write",
    "notify_summary_written",
    "set_expected_hash",
    "update_flags",
]

MODULE = "legacy_bridge"
E_ALREADY_INITIALIZED = 0x1201
E_HISTORY_MISMATCH = 0x1B02
E_HISTORY_NOT_AUTHORIZED = 0x1B04
E_HISTORY_EXPECTED_MISSING = 0x1B05
E_HISTORY_CONTROL_MISSING = 0x1B06
EVENT_VERSION = 1
CATEGORY_MIGRATION = 8


def _admin(c: CallContext) -> None:
    if not c.is_admin():
        c.abort(E_HISTORY_NOT_AUTHORIZED, MODULE)


def _control(c: CallContext) -> None:
    if not c.state.g.dual_write:
        c.abort(E_HISTORY_CONTROL_MISSING, MODULE)


def expected_hash(state: PackageState, lottery_id: int) -> bytes | None:
    """The lottery's expected hash, if the control holds one."""
    for entry in state.g.expected_hashes:
        if entry.lottery_id == lottery_id:
            return entry.hash
    return None


def _removed(entries: tuple[ExpectedHash, ...], lottery_id: int) -> tuple[ExpectedHash, ...]:
    """``vrf_hub::table::remove``: the last entry takes the removed one's place."""
    items = list(entries)
    for position, entry in enumerate(items):
        if entry.lottery_id == lottery_id:
            items[position] = items[-1]
            items.pop()
            break
    return tuple(items)


def init_dual_write(c: CallContext, a: Args) -> None:
    abort_on_mismatch, abort_on_missing = a.flag(0), a.flag(1)
    _admin(c)
    if c.state.g.dual_write:
        c.abort(E_ALREADY_INITIALIZED, MODULE)
    g = c.write(c.state.globals_, 0)
    g.dual_write, g.dual_write_enabled = True, True
    g.abort_on_mismatch, g.abort_on_missing = abort_on_mismatch, abort_on_missing
    g.expected_hashes = ()


def enable_legacy_mirror(c: CallContext, a: Args) -> None:
    _admin(c)
    if not c.state.g.legacy_mirror:
        c.write(c.state.globals_, 0).legacy_mirror = True


def disable_legacy_mirror(c: CallContext, a: Args) -> None:
    _admin(c)
    if c.state.g.legacy_mirror:
        c.write(c.state.globals_, 0).legacy_mirror = False


def update_flags(c: CallContext, a: Args) -> None:
    enabled, abort_on_mismatch, abort_on_missing = a.flag(0), a.flag(1), a.flag(2)
    _admin(c)
    _control(c)
    g = c.write(c.state.globals_, 0)
    g.dual_write_enabled = enabled
    g.abort_on_mismatch, g.abort_on_missing = abort_on_mismatch, abort_on_missing


def set_expected_hash(c: CallContext, a: Args) -> None:
    lottery_id, value = a.u(0), a.raw(1)
    _admin(c)
    _control(c)
    g = c.write(c.state.globals_, 0)
    kept = _removed(g.expected_hashes, lottery_id)
    g.expected_hashes = (*kept, ExpectedHash(lottery_id=lottery_id, hash=value))
    c.emit(
        MODULE,
        "ArchiveDualWriteStartedEvent",
        [
            ("event_version", EVENT_VERSION),
            ("event_category", CATEGORY_MIGRATION),
            ("lottery_id", j_u64(lottery_id)),
            ("expected_hash", j_bytes(value)),
        ],
    )


def clear_expected_hash(c: CallContext, a: Args) -> None:
    lottery_id = a.u(0)
    _admin(c)
    _control(c)
    if expected_hash(c.state, lottery_id) is not None:
        g = c.write(c.state.globals_, 0)
        g.expected_hashes = _removed(g.expected_hashes, lottery_id)


def notify_summary_written(
    c: CallContext, lottery_id: int, archive_hash: bytes, finalized_at: int
) -> None:
    """Compare a summary about to be stored with the lottery's expected hash (module doc)."""
    g = c.state.g
    if not g.dual_write or not g.dual_write_enabled:
        return
    expected = expected_hash(c.state, lottery_id)
    if expected is None:
        if g.abort_on_missing:
            c.abort(E_HISTORY_EXPECTED_MISSING, MODULE)
        return
    if expected != archive_hash:
        if g.abort_on_mismatch:
            c.abort(E_HISTORY_MISMATCH, MODULE)
        return
    live = c.write(c.state.globals_, 0)
    live.expected_hashes = _removed(live.expected_hashes, lottery_id)
    c.emit(
        MODULE,
        "ArchiveDualWriteCompletedEvent",
        [
            ("event_version", EVENT_VERSION),
            ("event_category", CATEGORY_MIGRATION),
            ("lottery_id", j_u64(lottery_id)),
            ("archive_hash", j_bytes(archive_hash)),
            ("finalized_at", j_u64(finalized_at)),
        ],
    )
