"""The status page: server-side HTML of one status document (pure).

``render_page(document, assets=...)`` is the whole page, readable without JavaScript as a
snapshot of the moment it was built. ``assets/status.js`` then fetches ``status.json`` every
``refresh_seconds`` and renders ``<main>`` again from it in the browser, without a reload, and
ticks the countdowns every second. The two renderers build the **same** element tree from the
same document (the browser test compares them node for node), so this module and the script are
kept in step: every function here has a twin of the same name in ``status.js``.

Markup rules that keep both sides identical: ``<main>`` holds no whitespace between elements,
attributes are written in the order the script sets them, and no ``style`` attribute is used
(the Content-Security-Policy allows no inline style; widths are ``<progress>`` values and SVG
coordinates). Countdowns are rendered relative to the document's ``generated_at``.

Accessibility (WCAG 2.1 AA): ``lang``, one ``h1`` and a heading per section, landmarks
(``header``, ``main``, ``footer``, labelled ``section``s), a skip link, labelled progress bars
with their value also in text, phases named in text (colour is never the only cue), the timeline
chart also given as a list, and motion only when the reader has not asked for less.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from autobot.status.moments import countdown_text, pretty

__all__ = ["Element", "render_main", "render_page"]

Json = Mapping[str, Any]

PHASE_LABELS: Mapping[str, str] = {
    "draft": "Not yet on sale",
    "selling": "Selling tickets",
    "closing": "Sales closed, draw next",
    "drawing": "Drawing",
    "winners_pending": "Computing winners",
    "payout": "Paying out",
    "cancelled": "Cancelled, refunding",
    "finalized": "Finalized",
}
EVENT_LABELS: Mapping[str, str] = {
    "closed": "sales closed",
    "draw_requested": "draw requested",
    "winners_computed": "winners computed",
    "refunded": "refunded and archived",
    "cancelled": "cancelled",
    "finalized": "finalized",
}
EVENT_ROWS: Mapping[str, int] = {
    "closed": 0,
    "draw_requested": 1,
    "winners_computed": 1,
    "finalized": 1,
    "cancelled": 2,
    "refunded": 2,
}
ROW_NAMES = ("Closes", "Draws", "Refunds")
FEED_LABELS: Mapping[str, str] = {
    "healthy": "Healthy",
    "stale": "Stale",
    "clamped": "Clamped",
    "fallback": "Fallback",
}
ACTION_LABELS: Mapping[str, str] = {
    "close": "closing the sales",
    "draw": "requesting the draw",
    "draw_retry": "scheduling a draw retry",
    "winners": "computing the winners",
    "refund": "refunding",
    "cancel": "cancelling",
}
SVG_WIDTH = 1000
SVG_ROW = 22
SVG_LEFT = 80


class Element:
    """One element: ``tag``, ``attrs`` (in order) and children (elements or text)."""

    __slots__ = ("attrs", "children", "tag")

    def __init__(self, tag: str, attrs: Mapping[str, str], children: Sequence[Element | str]):
        self.tag = tag
        self.attrs = attrs
        self.children = children

    def html(self) -> str:
        attrs = "".join(f' {k}="{escape(v, quote=True)}"' for k, v in self.attrs.items())
        inner = "".join(
            c.html() if isinstance(c, Element) else escape(c, quote=False) for c in self.children
        )
        return f"<{self.tag}{attrs}>{inner}</{self.tag}>"


def h(tag: str, attrs: Mapping[str, str] | None = None, *children: Element | str | None) -> Element:
    return Element(tag, attrs or {}, [c for c in children if c is not None and c != ""])


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _fmt_percent(p: float) -> str:
    return str(int(p)) if float(p).is_integer() else f"{p:.1f}"


def _epoch(iso_text: str) -> float:
    return datetime.strptime(iso_text, "%Y-%m-%dT%H:%M:%S%z").timestamp()


def when(moment: Json | None, now: float) -> Element | str:
    """A moment: countdown and expected wall time when ahead, always the chain time."""
    if moment is None:
        return "—"
    chain = moment["chain_time"]
    chain_part = h(
        "span", {"class": "chain"}, "chain time ", h("time", {"datetime": chain}, pretty(chain))
    )
    wall = moment["expected_wall_time"]
    if wall is None:
        return h("span", {"class": "moment"}, chain_part)
    return h(
        "span",
        {"class": "moment"},
        h("span", {"class": "countdown", "data-until": wall}, countdown_text(_epoch(wall) - now)),
        " ",
        h(
            "span",
            {"class": "wall"},
            "(expected ",
            h("time", {"datetime": wall}, pretty(wall)),
            ")",
        ),
        " ",
        chain_part,
    )


def _row(label: str, *value: Element | str | None) -> list[Element]:
    return [h("dt", None, label), h("dd", None, *value)]


def _bar(ident: str, label: str, value: float, text: str) -> list[Element]:
    return [
        h("dt", None, h("label", {"for": ident}, label)),
        h(
            "dd",
            None,
            h("progress", {"id": ident, "max": "100", "value": _fmt_percent(value)}, text),
            " ",
            h("span", {"class": "bar-text"}, text),
        ),
    ]


def _lottery(lottery: Json, now: float, *, finished: bool = False) -> Element:
    ident = lottery["id"]
    phase = lottery["phase"]
    label = PHASE_LABELS[phase]
    if finished and phase == "cancelled":
        label = "Cancelled, refunded and archived" if lottery["archived"] else "Cancelled"
    rows: list[Element] = []
    rows += _row("Tickets sold", _fmt_int(lottery["tickets_sold"]))
    if phase in ("draft", "selling"):
        rows += _row("Sales end", when(lottery["sales_end"], now))
    draw = lottery["draw"]
    if draw is not None and not finished:
        attempts = (
            f"attempt {draw['attempt']} of {draw['max_attempts']}"
            if draw["attempt"]
            else "not requested yet"
        )
        rows += _row("VRF request", attempts)
        if draw["next_retry_at"] is not None:
            rows += _row("Next retry window", when(draw["next_retry_at"], now))
        if draw["deadline"] is not None:
            rows += _row("Draw deadline", when(draw["deadline"], now))
    winners = lottery["winners"]
    if winners is not None:
        required = winners["required"]
        share = 100.0 if required == 0 else (1000 * winners["assigned"] // required) / 10
        rows += _bar(
            f"winners-{ident}",
            "Winners assigned",
            share,
            f"{_fmt_int(winners['assigned'])} of {_fmt_int(required)}",
        )
    cancellation = lottery["cancellation"]
    if cancellation is not None:
        reason = cancellation["reason"].replace("_", " ")
        rows += _row("Cancelled", when(cancellation["at"], now), f" ({reason})")
    refund = lottery["refund"]
    if refund is not None:
        rows += _bar(
            f"refund-{ident}",
            "Refunded",
            refund["percent"],
            f"{_fmt_percent(refund['percent'])} % — {_fmt_int(refund['tickets_refunded'])} of "
            f"{_fmt_int(refund['tickets_sold'])} tickets",
        )
        rows += _row(
            "Amount refunded",
            f"{_fmt_int(refund['amount_refunded'])} of {_fmt_int(refund['amount_total'])}",
        )
    sla = lottery["sla"]
    if sla is not None and not finished:
        state = sla["state"].replace("_", " ")
        rows += _row("Refund SLA", h("span", {"class": f"sla sla-{sla['state']}"}, state))
        rows += _row("First batch due", when(sla["first_batch_due"], now))
        rows += _row("All refunds due", when(sla["completion_due"], now))
    action = lottery["next_action"]
    if action is not None and not finished:
        work = ACTION_LABELS[action["action"]]
        if action["may_execute_at"] is None:
            rows += _row("Autobot", f"{work}: under way")
        else:
            rows += _row(
                "Autobot", f"{work}: announced, runs ", when(action["may_execute_at"], now)
            )
    if finished:
        rows += _row("Finished", when(lottery["finished_at"], now))
    return h(
        "article",
        {"class": "lottery", "id": f"lottery-{ident}", "data-phase": phase},
        h("h3", None, f"Lottery {ident}"),
        h("p", {"class": f"phase phase-{phase}"}, label),
        h("dl", None, *rows),
    )


def _overview(doc: Json) -> Element:
    live = doc["overview"]["live"]
    phases: dict[str, int] = dict.fromkeys(PHASE_LABELS, 0)
    for lottery in doc["lotteries"]:
        phases[lottery["phase"]] += 1
    items = [
        h(
            "li",
            {"class": f"count phase-{phase}"},
            h("strong", None, str(n)),
            f" {PHASE_LABELS[phase].lower()}",
        )
        for phase, n in phases.items()
        if n or phase in ("selling", "drawing", "cancelled")
    ]
    feeds = doc["price_feeds"]
    healthy = sum(1 for f in feeds if f["healthy"])
    deposit = doc["vrf_deposit"]
    return h(
        "section",
        {"aria-labelledby": "h-overview"},
        h("h2", {"id": "h-overview"}, "Overview"),
        h("ul", {"class": "counts"}, *items),
        h(
            "ul",
            {"class": "health"},
            h("li", None, f"Lotteries in progress: {_fmt_int(len(doc['lotteries']))}"),
            h("li", None, f"Refund SLA: {'BREACHED' if live['refund_sla_breach'] else 'met'}"),
            h("li", None, f"Price feeds healthy: {healthy} of {len(feeds)}"),
            h("li", None, f"VRF deposit: {'healthy' if deposit['healthy'] else 'needs attention'}"),
        ),
    )


def _lotteries(doc: Json, now: float) -> Element:
    lotteries = doc["lotteries"]
    body: list[Element | str] = [_lottery(x, now) for x in lotteries]
    if not lotteries:
        body = [h("p", None, "No lottery is in progress.")]
    return h(
        "section",
        {"aria-labelledby": "h-lotteries"},
        h("h2", {"id": "h-lotteries"}, "Lotteries in progress"),
        h("div", {"class": "cards"}, *body),
    )


def _finished(doc: Json, now: float) -> Element | None:
    finished = doc["recently_finished"]
    if not finished:
        return None
    return h(
        "section",
        {"aria-labelledby": "h-finished"},
        h("h2", {"id": "h-finished"}, "Finished in the last 24 hours"),
        h("div", {"class": "cards"}, *(_lottery(x, now, finished=True) for x in finished)),
    )


def _marker(kind: str, x: int, y: int) -> Element:
    """A shape per row (circle, square, diamond) so colour is not the only cue."""
    row = EVENT_ROWS[kind]
    cls = f"mark mark-{kind}"
    if row == 0:
        return h("circle", {"class": cls, "cx": str(x), "cy": str(y), "r": "6"})
    if row == 1:
        return h(
            "rect", {"class": cls, "x": str(x - 5), "y": str(y - 5), "width": "10", "height": "10"}
        )
    points = f"{x},{y - 7} {x + 7},{y} {x},{y + 7} {x - 7},{y}"
    return h("polygon", {"class": cls, "points": points})


def _timeline(doc: Json) -> Element:
    timeline = doc["timeline"]
    start, end = _epoch(timeline["from"]), _epoch(timeline["to"])
    span = max(1.0, end - start)
    plot = SVG_WIDTH - SVG_LEFT - 10
    height = SVG_ROW * len(ROW_NAMES) + 24
    shapes: list[Element] = []
    for n, name in enumerate(ROW_NAMES):
        y = 14 + n * SVG_ROW
        shapes.append(h("text", {"x": "0", "y": str(y + 4), "class": "row-name"}, name))
        shapes.append(
            h(
                "line",
                {
                    "x1": str(SVG_LEFT),
                    "y1": str(y),
                    "x2": str(SVG_WIDTH - 10),
                    "y2": str(y),
                    "class": "row-line",
                },
            )
        )
    axis_y = 14 + len(ROW_NAMES) * SVG_ROW - 6
    for hours in (24, 18, 12, 6, 0):
        x = SVG_LEFT + int(plot * (24 - hours) / 24)
        text = "now" if hours == 0 else f"\N{MINUS SIGN}{hours} h"
        anchor = "end" if hours == 0 else "middle"
        shapes.append(
            h(
                "text",
                {"x": str(x), "y": str(axis_y + 12), "class": "tick", "text-anchor": anchor},
                text,
            )
        )
    items: list[Element] = []
    for event in timeline["events"]:
        at = event["at"]["chain_time"]
        x = SVG_LEFT + int(plot * min(1.0, max(0.0, (_epoch(at) - start) / span)))
        y = 14 + EVENT_ROWS[event["kind"]] * SVG_ROW
        text = f"Lottery {event['lottery_id']} {EVENT_LABELS[event['kind']]}"
        marker = _marker(event["kind"], x, y)
        marker.children = [h("title", None, f"{text}, {pretty(at)} chain time")]
        shapes.append(marker)
        items.append(h("li", None, h("time", {"datetime": at}, pretty(at)), f" — {text}"))
    chart = h(
        "svg",
        {
            "class": "timeline",
            "viewBox": f"0 0 {SVG_WIDTH} {height}",
            "role": "img",
            "aria-label": "Chart of the closes, draws and refunds of the last 24 hours of chain "
            "time; the same events are listed below.",
        },
        *shapes,
    )
    listing: Element = (
        h("ol", {"class": "events"}, *items)
        if items
        else h("p", None, "Nothing happened in the last 24 hours.")
    )
    return h(
        "section",
        {"aria-labelledby": "h-timeline"},
        h("h2", {"id": "h-timeline"}, "The last 24 hours"),
        h(
            "p",
            {"class": "note"},
            f"Chain time {pretty(timeline['from'])} to {pretty(timeline['to'])}.",
        ),
        chart,
        listing,
    )


def _system(doc: Json, now: float) -> Element:
    deposit = doc["vrf_deposit"]
    queue = doc["payout_queue"]
    deposit_rows = _row(
        "Requests",
        "paused since " if deposit["requests_paused"] else "running",
        when(deposit["paused_since"], now) if deposit["requests_paused"] else None,
    )
    deposit_rows += _row(
        "Balance",
        f"{_fmt_int(deposit['effective_balance'])} effective, "
        f"{_fmt_int(deposit['required_minimum'])} required",
    )
    queue_rows = _row("Lotteries paying out", _fmt_int(queue["lotteries_in_payout"]))
    queue_rows += _row("Winner batches ahead of payouts", _fmt_int(queue["payout_backlog"]))
    queue_rows += _row("Lotteries computing winners", _fmt_int(queue["winners_pending"]))
    queue_rows += _row("Tickets waiting for a refund", _fmt_int(queue["refund_tickets_pending"]))
    if queue["operations_budget_remaining"] is not None:
        queue_rows += _row(
            "Operations budget left",
            f"{_fmt_int(queue['operations_budget_remaining'])} of "
            f"{_fmt_int(queue['operations_budget_total'])}",
        )
    dual = doc["dual_write"]
    if dual is not None:
        queue_rows += _row("Summaries waiting for the archive", _dual_write_text(dual))
    feeds = [
        h(
            "li",
            {"class": f"feed feed-{f['state']}"},
            h("strong", None, f"Asset {f['asset_id']}: {FEED_LABELS[f['state']]}"),
            " — last price ",
            when(f["last_update"], now),
        )
        for f in doc["price_feeds"]
    ]
    return h(
        "section",
        {"aria-labelledby": "h-system"},
        h("h2", {"id": "h-system"}, "Draws, payouts and prices"),
        h(
            "div",
            {"class": "cards"},
            h(
                "article",
                {"class": "panel"},
                h("h3", None, "VRF deposit"),
                h("dl", None, *deposit_rows),
            ),
            h(
                "article",
                {"class": "panel"},
                h("h3", None, "Payout queue"),
                h("dl", None, *queue_rows),
            ),
            h(
                "article",
                {"class": "panel"},
                h("h3", None, "Price feeds"),
                h("ul", {"class": "feeds"}, *feeds)
                if feeds
                else h("p", None, "No price feed is watched."),
            ),
        ),
    )


def _dual_write_text(dual: Json) -> str:
    """The dual-write remainder in words (the script's ``dualWriteText`` says the same)."""
    text = _fmt_int(dual["remainder"])
    if dual["waiting_long"]:
        hours = dual["waiting_long_after_seconds"] / 3600
        text += f" ({_fmt_int(dual['waiting_long'])} for over {hours:g} h)"
    if dual["mismatches"]:
        text += f", {_fmt_int(dual['mismatches'])} not matching"
    return text


def _bot(bot: Json, n: int, now: float) -> Element:
    address = bot["address"]
    rows = _row("Address", h("code", None, f"{address[:10]}…{address[-8:]}"))
    rows += _row("State", bot["state"].replace("_", " "))
    rows += _row("Failure budget", f"{bot['failures']} of {bot['max_failures']} used")
    rows += _row("Timelock", f"{_fmt_int(bot['timelock_seconds'])} s")
    pending = bot["pending"]
    if pending is None:
        rows += _row("Pending action", "none")
    else:
        what = (pending["action"] or "an action").replace("_", " ")
        if pending["lottery_id"] is not None:
            what += f" (lottery {pending['lottery_id']})"
        ready = "may execute now" if pending["ready"] else "may execute "
        rows += _row(
            "Pending action",
            f"{what}, {ready}",
            None if pending["ready"] else when(pending["may_execute_at"], now),
        )
    return h(
        "article",
        {"class": "panel bot", "id": f"bot-{n}"},
        h("h3", None, f"Bot {n}"),
        h("dl", None, *rows),
    )


def _bots(doc: Json, now: float) -> Element:
    bots = doc["bots"]
    body: list[Element] = [_bot(b, n, now) for n, b in enumerate(bots, start=1)]
    return h(
        "section",
        {"aria-labelledby": "h-bots"},
        h("h2", {"id": "h-bots"}, "Automation bots"),
        h("div", {"class": "cards"}, *body) if body else h("p", None, "No bot is registered."),
    )


def _incidents(doc: Json) -> Element:
    rows = [
        h(
            "li",
            {"class": f"incident incident-{i['type']}"},
            h("time", {"datetime": i["time"]}, pretty(i["time"])),
            f" — {i['description']}",
        )
        for i in doc["incidents"]
    ]
    return h(
        "section",
        {"aria-labelledby": "h-incidents"},
        h("h2", {"id": "h-incidents"}, "Recent incidents"),
        h("p", {"class": "note"}, "Times are when autobot logged them (wall clock)."),
        h("ul", {"class": "incidents"}, *rows) if rows else h("p", None, "No incidents."),
    )


def render_main(doc: Json) -> Element:
    """``<main>``'s content for ``doc``; countdowns as of ``doc["generated_at"]``."""
    now = _epoch(doc["generated_at"])
    chain = doc["chain"]
    return h(
        "div",
        {"id": "status", "data-generated": doc["generated_at"]},
        h(
            "p",
            {"class": "as-of"},
            "Built ",
            h("time", {"datetime": doc["generated_at"]}, pretty(doc["generated_at"])),
            f" (wall clock) from block {_fmt_int(chain['height'])} at chain time ",
            h("time", {"datetime": chain["time"]}, pretty(chain["time"])),
            ".",
        ),
        _overview(doc),
        _lotteries(doc, now),
        _finished(doc, now),
        _timeline(doc),
        _system(doc, now),
        _bots(doc, now),
        _incidents(doc),
    )


def render_page(doc: Json, *, assets: Mapping[str, str]) -> str:
    """The whole page; ``assets`` maps ``status.css``, ``status.js`` and ``favicon.svg`` to
    their (versioned) URLs."""
    main = render_main(doc).html()
    refresh = doc["refresh_seconds"]
    return "".join(
        _lines(
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>Lottery status</title>",
            f'<link rel="icon" href="{escape(assets["favicon.svg"])}" type="image/svg+xml">',
            f'<link rel="stylesheet" href="{escape(assets["status.css"])}">',
            f'<script src="{escape(assets["status.js"])}" defer></script>',
            "</head>",
            "<body>",
            '<a class="skip" href="#main">Skip to the status</a>',
            "<header>",
            "<h1>Lottery status</h1>",
            "<p>What the lottery automation sees on chain: lotteries in progress, draws, refunds,"
            " payouts and prices. Times are chain time (the blocks' clock, which the lotteries"
            " follow) and, for what is still ahead, the expected wall-clock time.</p>",
            "</header>",
            f'<main id="main" data-refresh-seconds="{escape(str(refresh))}">{main}</main>',
            "<footer>",
            '<p><span id="refresh-state" role="status"></span> ',
            "This page updates itself; without JavaScript it shows the moment it was built."
            ' Data: <a href="status.json">status.json</a>'
            ' (<a href="status.schema.json">JSON Schema</a>).</p>',
            "</footer>",
            "</body>",
            "</html>",
        )
    )


def _lines(*lines: str) -> Iterable[str]:
    for line in lines:
        yield line + "\n"
