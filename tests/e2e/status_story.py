"""The demo, told step by step for the status page: the localnet and the daemon as processes.

``autobot localnet --scenario demo --time-scale 1`` and ``autobot run --config F`` with
``[status] listen`` on a free port and the page refreshing every second. At time-scale 1 the chain
barely moves by itself: the story moves when chain time is advanced (``POST
/localnet/v1/advance``), never by sleeping through it. The steps (``STEPS``):

1. ``refund_announced`` — lottery 4 (cancelled) has its refund plan announced by operator A and
   waits out the 900 s timelock (refund bar at 0 %, countdown); lotteries 1 and 2 are being drawn
   or paid out, lottery 3's first VRF request waits for a callback that never comes;
2. ``refunded`` — the timelock advanced over: lottery 4 refunded to 100 % and archived (in
   ``recently_finished``), lottery 3 re-requested (attempt 2, retry window counting down),
   lotteries 1 and 2 in payout;
3. ``story_told`` — lottery 3's retry windows advanced over until the package's attempt limit
   cancelled it, its refund's timelock too: lottery 3 refunded and archived; lottery 5 still
   selling; price feed 3 in fallback.

``StatusStory`` records every distinct document (and the page served with it) it saw on the
way, for the schema test; ``python tests/e2e/status_story.py examples|screenshots DIR`` writes
the documents or screenshots of the three steps (``make status-examples``, ``make screenshots``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Self

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_processes import DaemonProcess, JournalReader, LocalnetProcess

Doc = dict[str, Any]
STEPS = ("refund_announced", "refunded", "story_told")
STEP_SECONDS = 60.0
"""Wall seconds one step may take."""


def lottery(doc: Doc, lottery_id: int) -> Doc | None:
    return next((x for x in doc["lotteries"] if x["id"] == lottery_id), None)


def finished(doc: Doc, lottery_id: int) -> Doc | None:
    return next((x for x in doc["recently_finished"] if x["id"] == lottery_id), None)


def _epoch(iso: str) -> int:
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S%z").timestamp())


def refund_announced(doc: Doc) -> bool:
    four, one, three = lottery(doc, 4), lottery(doc, 1), lottery(doc, 3)
    return (
        four is not None
        and four["next_action"] is not None
        and four["next_action"]["action"] == "refund"
        and four["next_action"]["may_execute_at"] is not None
        and one is not None
        and one["phase"] != "selling"
        and three is not None
        and three["phase"] == "drawing"
    )


def refunded(doc: Doc) -> bool:
    four, three = finished(doc, 4), lottery(doc, 3)
    return (
        four is not None
        and four["refund"]["percent"] == 100
        and four["archived"]
        and three is not None
        and three["phase"] == "drawing"
        and three["draw"]["attempt"] >= 2
        and all(
            lottery(doc, n) is not None and lottery(doc, n)["phase"] == "payout" for n in (1, 2)
        )  # type: ignore[index]
    )


def story_told(doc: Doc) -> bool:
    three, four = finished(doc, 3), finished(doc, 4)
    feeds = {f["asset_id"]: f for f in doc["price_feeds"]}
    five = lottery(doc, 5)
    return (
        three is not None
        and three["archived"]
        and three["cancellation"]["reason"] == "vrf_failure"
        and three["refund"]["percent"] == 100
        and four is not None
        and five is not None
        and five["phase"] == "selling"
        and feeds[3]["fallback"]
        and all(b["pending"] is None for b in doc["bots"])
    )


@dataclass
class Seen:
    """Every distinct status document seen, with the page served right after it."""

    documents: list[Doc] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    steps: dict[str, Doc] = field(default_factory=dict)


class StatusStory:
    """A running demo with the status page on (see the module doc)."""

    def __init__(
        self, *, net: LocalnetProcess, daemon: DaemonProcess, journal: JournalReader, url: str
    ) -> None:
        self.net = net
        self.daemon = daemon
        self.journal = journal
        self.url = url  # the page, trailing slash
        self.http = net.http
        self.seen = Seen()

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, workdir: Path, *, refresh_seconds: int = 1) -> AsyncIterator[Self]:
        async with LocalnetProcess.start(workdir, time_scale=1.0) as net:
            with net.config_path.open("a") as config:
                config.write(
                    f'\n[status]\nlisten = "127.0.0.1:0"\npage_refresh_seconds = {refresh_seconds}\n'
                )
            with (
                JournalReader(net.journal_path) as journal,
                DaemonProcess.running(net.config_path, workdir / "daemon.log") as daemon,
            ):
                url = await _status_url(daemon)
                story = cls(net=net, daemon=daemon, journal=journal, url=url)
                yield story

    async def get(self, path: str) -> tuple[int, Mapping[str, str], bytes]:
        """Status, headers (case-insensitive) and body of ``GET path``."""
        async with self.http.get(self.url + path) as reply:
            return reply.status, reply.headers.copy(), await reply.read()

    async def document(self) -> Doc | None:
        status, _, body = await self.get("status.json")
        if status == 503:
            return None
        assert status == 200, (status, body[:300])
        doc: Doc = json.loads(body)
        return doc

    async def wait_for(self, done: Callable[[Doc], bool], *, what: str) -> Doc:
        """Poll ``status.json`` (every distinct document and its page recorded) until ``done``."""
        deadline = time.monotonic() + STEP_SECONDS
        last: str | None = None
        while True:
            self.daemon.check_alive()
            doc = await self.document()
            if doc is not None and doc["generated_at"] + str(doc["chain"]["height"]) != last:
                last = doc["generated_at"] + str(doc["chain"]["height"])
                _, _, page = await self.get("")
                self.seen.documents.append(doc)
                self.seen.pages.append(page.decode())
            if doc is not None and done(doc):
                return doc
            if time.monotonic() > deadline:
                tail = json.dumps(doc)[:2000] if doc else "no document"
                raise AssertionError(f"status never showed {what}; last document: {tail}")
            await asyncio.sleep(0.2)

    async def advance_timelock(self) -> None:
        """Chain time to the ``execute_at`` of the action the daemon waits on (none: no-op)."""
        waiting = [a for a in self.journal.actions() if a.state == "waiting" and a.execute_at]
        if waiting:
            target = min(a.execute_at for a in waiting if a.execute_at is not None)
            now = await self.net.chain_now()
            if target > now:
                await self.net.advance(target - now)

    async def step(self, name: str) -> Doc:
        """Tell the story up to step ``name`` (in ``STEPS`` order) and return its document."""
        if name == "refund_announced":
            doc = await self.wait_for(refund_announced, what="the refund of lottery 4 announced")
        elif name == "refunded":
            await self.advance_timelock()
            doc = await self.wait_for(refunded, what="lottery 4 refunded, lottery 3 re-drawn")
        else:
            doc = await self._until_story_told()
        self.seen.steps[name] = doc
        return doc

    async def _until_story_told(self) -> Doc:
        deadline = time.monotonic() + 3 * STEP_SECONDS
        while True:
            doc = await self.wait_for(lambda d: True, what="a document")
            if story_told(doc):
                return doc
            if time.monotonic() > deadline:
                raise AssertionError(f"the story was not told: {json.dumps(doc)[:2000]}")
            three = lottery(doc, 3)
            if three is not None and three["phase"] == "drawing" and three["draw"]["next_retry_at"]:
                window = _epoch(three["draw"]["next_retry_at"]["chain_time"])
                now = _epoch(doc["chain"]["time"])
                if window >= now:
                    await self.net.advance(window - now + 1)
                    attempt = three["draw"]["attempt"]
                    await self.wait_for(
                        lambda d, a=attempt: _moved_on(d, a), what="lottery 3 drawn again"
                    )
                    continue
            await self.advance_timelock()
            await asyncio.sleep(0.3)


def _moved_on(doc: Doc, attempt: int) -> bool:
    three = lottery(doc, 3)
    return three is None or three["phase"] != "drawing" or three["draw"]["attempt"] > attempt


async def _status_url(daemon: DaemonProcess, within: float = 20.0) -> str:
    deadline = time.monotonic() + within
    while True:
        started = daemon.events("daemon_started")
        if started:
            url = started[-1]["status_url"]
            assert isinstance(url, str), "the daemon started without the status page"
            return url
        daemon.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"the daemon did not start within {within} s:\n{daemon.tail()}")
        await asyncio.sleep(0.05)


# --------------------------------------------------------------------------- make targets


async def _examples(folder: Path, workdir: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    async with StatusStory.start(workdir) as story:
        for n, name in enumerate(STEPS, start=1):
            doc = await story.step(name)
            path = folder / f"{n:02d}-{name.replace('_', '-')}.json"
            path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            print(f"wrote {path}")


async def _screenshots(folder: Path, workdir: Path) -> None:
    from browser import Browser  # tests/e2e/browser.py

    folder.mkdir(parents=True, exist_ok=True)
    async with StatusStory.start(workdir, refresh_seconds=60) as story:
        with Browser.start(workdir / "chromium", width=1100, height=900) as browser:
            for n, name in enumerate(STEPS, start=1):
                await story.step(name)
                browser.open(story.url)
                path = folder / f"status-page-{n}-{name.replace('_', '-')}.png"
                browser.screenshot(path, full_page=True)
                print(f"wrote {path}")
            browser.resize(390, 844)  # a phone
            browser.open(story.url)
            path = folder / "status-page-phone.png"
            browser.screenshot(path, full_page=False)
            print(f"wrote {path}")


def main(argv: list[str]) -> int:
    import tempfile

    if len(argv) != 2 or argv[0] not in ("examples", "screenshots"):
        print("usage: status_story.py examples|screenshots DIR", file=sys.stderr)
        return 2
    target = Path(argv[1])
    with tempfile.TemporaryDirectory(prefix="autobot-status-") as tmp:
        run = _examples if argv[0] == "examples" else _screenshots
        asyncio.run(run(target, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))


__all__ = ["STEPS", "Seen", "StatusStory", "finished", "lottery", "story_told"]
