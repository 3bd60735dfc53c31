"""Collector pauses are timed and logged; start-up's objects are frozen once."""

from __future__ import annotations

import gc

from structlog.testing import capture_logs

from autobot.gcwatch import GcWatch


def test_every_collection_is_timed_and_long_ones_are_logged() -> None:
    watch = GcWatch(log_pause_seconds=0.0)  # every pause counts as long here
    try:
        with capture_logs() as logs:
            gc.collect()
    finally:
        watch.close()
    assert watch.collections >= 1 and watch.longest > 0
    pauses = [e for e in logs if e["event"] == "gc_pause"]
    assert pauses and pauses[0]["generation"] == 2 and pauses[0]["pause_ms"] >= 0
    assert watch._callback not in gc.callbacks
    before = watch.collections
    gc.collect()
    assert watch.collections == before  # closed: no longer called


def test_short_pauses_are_not_logged_and_freezing_happens_once() -> None:
    watch = GcWatch(log_pause_seconds=3600)
    try:
        with capture_logs() as logs:
            gc.collect(0)
            watch.freeze_after_start()
            watch.freeze_after_start()
    finally:
        watch.close()
        gc.unfreeze()
    assert not [e for e in logs if e["event"] == "gc_pause"]
    assert [e["event"] for e in logs].count("gc_frozen") == 1
    assert watch.frozen
