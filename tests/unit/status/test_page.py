"""The page: every lottery with its phase, nothing inline, nothing that leaves the site."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from status_builders import NOW, canceled, facts, lottery, requested, snapshot

from autobot.domain.lotteries import LotteryStatus
from autobot.status.board import StatusBoard
from autobot.status.document import build_document
from autobot.status.page import countdown_text, render_page

ASSETS = StatusBoard().asset_urls


class Elements(HTMLParser):
    """Every start tag with its attributes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


def document() -> dict[str, Any]:
    return build_document(
        facts(
            snapshot(
                lottery(1, LotteryStatus.ACTIVE, sales_end=NOW + 3600),
                requested(3, retry_after_ts=NOW + 60),
                canceled(4, tickets=1234, tickets_refunded=500, refund_round=1),
            )
        )
    )


def test_the_page_shows_every_lottery_with_its_phase_and_refund_bar() -> None:
    tags = parse(render_page(document(), assets=ASSETS))
    phases = {a["id"]: a["data-phase"] for t, a in tags if t == "article" and "data-phase" in a}
    assert phases == {"lottery-1": "selling", "lottery-3": "drawing", "lottery-4": "cancelled"}
    (bar,) = [a for t, a in tags if t == "progress" and a["id"] == "refund-4"]
    assert bar == {"id": "refund-4", "max": "100", "value": "40.5"}
    labels = [a["for"] for t, a in tags if t == "label"]
    assert "refund-4" in labels  # the bar is labelled


def test_the_payout_queue_says_how_many_summaries_wait_for_the_archive() -> None:
    doc = document()
    assert "Summaries waiting for the archive" not in render_page(doc, assets=ASSETS)  # unread
    doc["dual_write"] = {
        "enabled": True,
        "remainder": 3,
        "waiting_long": 1,
        "waiting_long_after_seconds": 7_200,
        "mismatches": 0,
    }
    page = render_page(doc, assets=ASSETS)
    assert "<dt>Summaries waiting for the archive</dt><dd>3 (1 for over 2 h)</dd>" in page


def test_the_page_is_accessible_by_construction() -> None:
    html = render_page(document(), assets=ASSETS)
    tags = parse(html)
    assert ("html", {"lang": "en"}) in tags
    assert [t for t, _ in tags].count("h1") == 1
    for landmark in ("header", "main", "footer"):
        assert landmark in [t for t, _ in tags]
    sections = [a for t, a in tags if t == "section"]
    ids = {a["id"] for t, a in tags if t == "h2"}
    assert sections and all(s["aria-labelledby"] in ids for s in sections)
    (svg,) = [a for t, a in tags if t == "svg"]
    assert svg["role"] == "img" and svg["aria-label"]


def test_the_page_has_no_inline_style_script_or_handlers() -> None:
    html = render_page(document(), assets=ASSETS)
    for tag, attrs in parse(html):
        assert "style" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "script":
            assert attrs.get("src"), "inline script"
    assert "<style" not in html


def test_the_page_links_only_to_itself() -> None:
    html = render_page(document(), assets=ASSETS)
    for _, attrs in parse(html):
        for name in ("href", "src", "action"):
            value = attrs.get(name)
            if value is not None:
                assert "//" not in value and ":" not in value, value
    assert not re.search(r"[a-z][a-z0-9+.-]*://", html)


def test_text_from_the_document_is_escaped() -> None:
    doc = copy.deepcopy(document())
    doc["incidents"] = [
        {"type": "other", "time": doc["generated_at"], "description": '<script>x</script>"&'}
    ]
    html = render_page(doc, assets=ASSETS)
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;&quot;&amp;" in html or "&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "due now"),
        (0, "due now"),
        (0.9, "due now"),
        (1, "in 1 s"),
        (119, "in 119 s"),
        (120, "in 2 min"),
        (7_199, "in 119 min"),
        (7_200, "in 2 h"),
        (7_260, "in 2 h 1 min"),
        (172_799, "in 47 h 59 min"),
        (172_800, "in 2 d"),
        (180_000, "in 2 d 2 h"),
    ],
)
def test_countdowns_read_like_a_person_would_say_them(seconds: float, text: str) -> None:
    assert countdown_text(seconds) == text


def test_no_unix_numbers_appear_on_the_page() -> None:
    html = render_page(document(), assets=ASSETS)
    assert str(NOW) not in html and str(NOW)[:6] not in re.sub(r"\d{4}-\d\d-\d\d", "", html)
