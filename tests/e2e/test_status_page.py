"""The status page through the demo, as players and support would see it (issue: the status page).

The localnet and the daemon run as processes (``status_story.py``); chain time is advanced to move
the story on, never slept through. Two runs:

* the document: every distinct ``/status.json`` seen at every step validates against the schema
  the daemon serves, the page served with it shows the same lotteries in the same phases with
  the same refund bars, and neither carries a URL, an endpoint, key material or a unix time;
* the page in a real browser (Debian's Chromium, headless, through Selenium): no console errors,
  the demo's lotteries with the right phases, the browser's own rendering of ``status.json``
  identical to the server's, the page updating itself as the chain moves (lottery 4's refund
  bar reaching 100 %, then lottery 3's) without a reload, and axe-core finding no serious or
  critical WCAG 2.1 A/AA violation.
"""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from browser import Browser, ensure_axe, require_browser
from status_story import STEPS, StatusStory, finished, lottery

import key_scan

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

URL = re.compile(r"[a-z][a-z0-9+.-]*://|//[a-z0-9]|www\.", re.IGNORECASE)
UNIX_TIME = re.compile(r"(?<![\d.])1[6-9]\d{8}(?![\d.])")  # seconds since 1970, 2020s-2030s


class Page(HTMLParser):
    """The lotteries the page shows: article id → phase, progress id → value, section of each."""

    def __init__(self) -> None:
        super().__init__()
        self.phases: dict[str, str] = {}
        self.bars: dict[str, str] = {}
        self.section: str | None = None
        self.where: dict[str, str] = {}
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section":
            self.section = a.get("aria-labelledby")
        if tag == "article" and "data-phase" in a:
            self.phases[a["id"]] = a["data-phase"]
            self.where[a["id"]] = self.section or ""
        if tag == "progress":
            self.bars[a["id"]] = a["value"]
        for name in ("href", "src"):
            if name in a:
                self.links.append(a[name])


def parse_page(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def check_page_matches(doc: dict[str, Any], html: str) -> None:
    page = parse_page(html)
    expected = {f"lottery-{x['id']}": x["phase"] for x in doc["lotteries"]}
    expected |= {f"lottery-{x['id']}": x["phase"] for x in doc["recently_finished"]}
    assert page.phases == expected
    for x in doc["lotteries"]:
        assert page.where[f"lottery-{x['id']}"] == "h-lotteries"
    for x in doc["recently_finished"]:
        assert page.where[f"lottery-{x['id']}"] == "h-finished"
    for x in [*doc["lotteries"], *doc["recently_finished"]]:
        if x["refund"] is not None:
            value = page.bars[f"refund-{x['id']}"]
            assert float(value) == x["refund"]["percent"], (x["id"], value)
    assert all(not URL.search(link) for link in page.links), page.links


def check_nothing_for_an_attacker(text: str, keys: dict[str, bytes], *, where: str) -> None:
    assert not URL.search(text), (where, URL.search(text))
    assert not UNIX_TIME.search(text), (where, UNIX_TIME.search(text))
    for secret in ("127.0.0.1", "localhost", "rpc/v3", "E_", "Traceback", "sqlite"):
        assert secret not in text, (where, secret)
    findings = key_scan.scan_text(text, keys, where=where)
    assert not findings, key_scan.report(findings)


async def test_status_json_validates_at_every_step_of_the_demo_and_the_page_matches_it(
    tmp_path: Path,
) -> None:
    async with StatusStory.start(tmp_path) as story:
        _, _, schema_body = await story.get("status.schema.json")
        validator = jsonschema.Draft202012Validator(json.loads(schema_body))
        for name in STEPS:
            await story.step(name)
        # caching: public, with an ETag a proxy (or the page) revalidates with
        status, headers, _ = await story.get("status.json")
        async with story.http.get(
            story.url + "status.json", headers={"If-None-Match": headers["ETag"]}
        ) as reply:
            revalidated = reply.status
        keys = key_scan.dev_keys() | key_scan.keys_from_files(
            sorted(story.net.config_path.parent.glob("*.key"))
        )
    assert status == 200 and headers["Cache-Control"] == "public, max-age=120"
    assert revalidated in (200, 304)  # 200 only if a sweep published in between
    seen = story.seen
    assert len(seen.documents) >= len(STEPS)
    assert set(seen.steps) == set(STEPS)
    for n, (doc, html) in enumerate(zip(seen.documents, seen.pages, strict=True)):
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, f"document {n} ({doc['generated_at']}): {errors}"
        if html and f'data-generated="{doc["generated_at"]}"' in html:
            check_page_matches(doc, html)  # the page built from the same sweep
        check_nothing_for_an_attacker(json.dumps(doc), keys, where=f"status.json #{n}")
        check_nothing_for_an_attacker(html, keys, where=f"page #{n}")
    # the story as the public sees it
    first, last = seen.steps["refund_announced"], seen.steps["story_told"]
    four = lottery(first, 4)
    assert four is not None and four["refund"]["percent"] == 0
    assert four["sla"]["state"] == "awaiting_first_batch"
    assert four["next_action"]["may_execute_at"]["expected_wall_time"] is not None
    assert {x["id"]: x["phase"] for x in last["lotteries"]} == {
        1: "payout",
        2: "payout",
        5: "selling",
    }
    assert {x["id"] for x in last["recently_finished"]} == {3, 4}
    three = finished(last, 3)
    assert three is not None and three["draw"] is None and three["refund"]["percent"] == 100
    kinds = {(e["kind"], e["lottery_id"]) for e in last["timeline"]["events"]}
    assert {("closed", 1), ("refunded", 4), ("cancelled", 3), ("refunded", 3)} <= kinds
    assert {f["asset_id"]: f["state"] for f in last["price_feeds"]} == {
        1: "healthy",
        2: "clamped",
        3: "fallback",
    }


SAME_RENDERING = """
const done = arguments[arguments.length - 1];
(async () => {
  for (let i = 0; i < 20; i++) {
    const html = await (await fetch("", {cache: "no-store"})).text();
    const doc = await (await fetch("status.json", {cache: "no-store"})).json();
    const served = new DOMParser().parseFromString(html, "text/html").getElementById("main");
    if (served.querySelector("#status").getAttribute("data-generated") !== doc.generated_at) continue;
    const mine = document.createElement("main");
    mine.append(window.autobotStatus.renderMain(doc));
    return done({same: served.innerHTML === mine.innerHTML, served: served.innerHTML,
                 mine: mine.innerHTML});
  }
  done({same: false, served: "", mine: "the page and status.json never came from one sweep"});
})();
"""


def serious(violations: list[dict[str, Any]]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v.get('help', v.get('description'))} — "
        + "; ".join(str(n.get("target")) for n in v.get("nodes", [])[:3])
        for v in violations
        if v.get("impact") in ("serious", "critical")
    ]


def wait_in_browser(browser: Browser, script: str, *, what: str, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = browser.js(script)
        if value:
            return value
        if time.monotonic() > deadline:
            shown = browser.js("return document.getElementById('main').innerText")
            raise AssertionError(f"the page never showed {what}:\n{shown[:3000]}")
        time.sleep(0.2)


def phases_in_browser(browser: Browser) -> dict[str, str]:
    found: dict[str, str] = browser.js(
        "const out = {}; for (const a of document.querySelectorAll('article[data-phase]'))"
        " out[a.id] = a.getAttribute('data-phase'); return out;"
    )
    return found


async def test_the_status_page_in_a_real_browser(tmp_path: Path) -> None:
    require_browser()
    axe = ensure_axe()
    started = time.monotonic()
    async with StatusStory.start(tmp_path, refresh_seconds=1) as story:
        first = await story.step("refund_announced")
        with Browser.start(tmp_path / "chromium") as browser:
            browser.open(story.url)
            browser.js("window.__samePage = 'never reloaded';")
            # the demo's lotteries, with the phases the document gives them
            shown = phases_in_browser(browser)
            assert shown["lottery-4"] == "cancelled" and shown["lottery-5"] == "selling"
            assert shown["lottery-3"] == "drawing"
            assert browser.js("return document.getElementById('refund-4').value") == 0
            assert browser.js("return document.documentElement.lang") == "en"
            # the browser renders status.json exactly as the server rendered the page
            same = browser.js_async(SAME_RENDERING)
            assert same["same"], (
                f"server:\n{same['served'][:4000]}\n\nbrowser:\n{same['mine'][:4000]}"
            )
            # accessibility
            problems = serious(browser.axe_violations(axe))
            assert not problems, "\n".join(problems)
            # the chain moves: lottery 4 refunded; the page follows without a reload
            await story.step("refunded")
            wait_in_browser(
                browser,
                "const bar = document.getElementById('refund-4');"
                " return bar && bar.value === 100 && !!bar.closest('[aria-labelledby=h-finished]');",
                what="lottery 4's refund bar at 100 % among the finished lotteries",
            )
            assert browser.js("return window.__samePage") == "never reloaded"
            await story.step("story_told")
            wait_in_browser(
                browser,
                "const bar = document.getElementById('refund-3');"
                " return bar && bar.value === 100 && !!bar.closest('[aria-labelledby=h-finished]');",
                what="lottery 3 refunded and finished",
            )
            last = await story.document()
            assert last is not None
            expected = {f"lottery-{x['id']}": x["phase"] for x in last["lotteries"]}
            expected |= {f"lottery-{x['id']}": x["phase"] for x in last["recently_finished"]}
            assert phases_in_browser(browser) == expected
            assert expected["lottery-1"] == expected["lottery-2"] == "payout"
            assert browser.js("return window.__samePage") == "never reloaded"
            countdowns = browser.js(
                "return [...document.querySelectorAll('.countdown')].map(e => e.textContent)"
            )
            assert countdowns and all(re.fullmatch(r"in \d.*|due now", c) for c in countdowns)
            problems = serious(browser.axe_violations(axe))
            assert not problems, "\n".join(problems)
            browser.resize(390, 844)  # a phone: nothing wider than the screen
            overflow = browser.js(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"the page is {overflow} px wider than a phone's screen"
            errors = [e for e in browser.console() if e["level"] == "SEVERE"]
            assert not errors, errors
    assert first["schema_version"] == 1
    print(f"\nbrowser test: {time.monotonic() - started:.1f} s")
