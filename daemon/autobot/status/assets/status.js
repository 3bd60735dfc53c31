// autobot status page: refreshes <main> from status.json without a reload, ticks countdowns.
// Every render function is the twin of the one of the same name in autobot/status/page.py and
// must build the same elements, attributes (in the same order) and text: the browser test
// compares the two renderings node for node. No dependencies, no globals but `autobotStatus`.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const PHASE_LABELS = {
    draft: "Not yet on sale",
    selling: "Selling tickets",
    closing: "Sales closed, draw next",
    drawing: "Drawing",
    winners_pending: "Computing winners",
    payout: "Paying out",
    cancelled: "Cancelled, refunding",
    finalized: "Finalized",
  };
  const EVENT_LABELS = {
    closed: "sales closed",
    draw_requested: "draw requested",
    winners_computed: "winners computed",
    refunded: "refunded and archived",
    cancelled: "cancelled",
    finalized: "finalized",
  };
  const EVENT_ROWS = {
    closed: 0, draw_requested: 1, winners_computed: 1, finalized: 1, cancelled: 2, refunded: 2,
  };
  const ROW_NAMES = ["Closes", "Draws", "Refunds"];
  const FEED_LABELS = { healthy: "Healthy", stale: "Stale", clamped: "Clamped", fallback: "Fallback" };
  const ACTION_LABELS = {
    close: "closing the sales",
    draw: "requesting the draw",
    draw_retry: "scheduling a draw retry",
    winners: "computing the winners",
    refund: "refunding",
    cancel: "cancelling",
  };
  const SVG_WIDTH = 1000;
  const SVG_ROW = 22;
  const SVG_LEFT = 80;

  function build(ns, tag, attrs, children) {
    const el = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    for (const c of children) {
      if (c === null || c === undefined || c === "") continue;
      el.append(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }
  const h = (tag, attrs, ...children) => build(null, tag, attrs, children);
  const s = (tag, attrs, ...children) => build(SVG, tag, attrs, children);

  function fmtInt(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }
  function fmtPercent(p) {
    return Number.isInteger(p) ? String(p) : p.toFixed(1);
  }
  function pretty(iso) {
    return iso.replace("T", " ").replace("Z", " UTC");
  }
  function epoch(iso) {
    return Date.parse(iso) / 1000;
  }
  function countdownText(seconds) {
    const s = Math.trunc(seconds);
    if (s <= 0) return "due now";
    if (s < 120) return `in ${s} s`;
    if (s < 7200) return `in ${Math.floor(s / 60)} min`;
    if (s < 172800) {
      const minutesTotal = Math.floor(s / 60);
      const hours = Math.floor(minutesTotal / 60);
      const minutes = minutesTotal % 60;
      return minutes ? `in ${hours} h ${minutes} min` : `in ${hours} h`;
    }
    const hoursTotal = Math.floor(s / 3600);
    const days = Math.floor(hoursTotal / 24);
    const hours = hoursTotal % 24;
    return hours ? `in ${days} d ${hours} h` : `in ${days} d`;
  }

  function when(moment, now) {
    if (moment === null) return "—";
    const chain = moment.chain_time;
    const chainPart = h("span", { class: "chain" }, "chain time ",
      h("time", { datetime: chain }, pretty(chain)));
    const wall = moment.expected_wall_time;
    if (wall === null) return h("span", { class: "moment" }, chainPart);
    return h("span", { class: "moment" },
      h("span", { class: "countdown", "data-until": wall }, countdownText(epoch(wall) - now)),
      " ",
      h("span", { class: "wall" }, "(expected ", h("time", { datetime: wall }, pretty(wall)), ")"),
      " ",
      chainPart);
  }

  function row(label, ...value) {
    return [h("dt", null, label), h("dd", null, ...value)];
  }

  function bar(ident, label, value, text) {
    return [
      h("dt", null, h("label", { for: ident }, label)),
      h("dd", null,
        h("progress", { id: ident, max: "100", value: fmtPercent(value) }, text),
        " ",
        h("span", { class: "bar-text" }, text)),
    ];
  }

  function lottery(l, now, finished) {
    const ident = l.id;
    const phase = l.phase;
    let label = PHASE_LABELS[phase];
    if (finished && phase === "cancelled") {
      label = l.archived ? "Cancelled, refunded and archived" : "Cancelled";
    }
    let rows = [];
    rows = rows.concat(row("Tickets sold", fmtInt(l.tickets_sold)));
    if (phase === "draft" || phase === "selling") {
      rows = rows.concat(row("Sales end", when(l.sales_end, now)));
    }
    const draw = l.draw;
    if (draw !== null && !finished) {
      const attempts = draw.attempt
        ? `attempt ${draw.attempt} of ${draw.max_attempts}`
        : "not requested yet";
      rows = rows.concat(row("VRF request", attempts));
      if (draw.next_retry_at !== null) {
        rows = rows.concat(row("Next retry window", when(draw.next_retry_at, now)));
      }
      if (draw.deadline !== null) rows = rows.concat(row("Draw deadline", when(draw.deadline, now)));
    }
    const winners = l.winners;
    if (winners !== null) {
      const required = winners.required;
      const share = required === 0 ? 100 : Math.floor((1000 * winners.assigned) / required) / 10;
      rows = rows.concat(bar(`winners-${ident}`, "Winners assigned", share,
        `${fmtInt(winners.assigned)} of ${fmtInt(required)}`));
    }
    const cancellation = l.cancellation;
    if (cancellation !== null) {
      const reason = cancellation.reason.replaceAll("_", " ");
      rows = rows.concat(row("Cancelled", when(cancellation.at, now), ` (${reason})`));
    }
    const refund = l.refund;
    if (refund !== null) {
      rows = rows.concat(bar(`refund-${ident}`, "Refunded", refund.percent,
        `${fmtPercent(refund.percent)} % — ${fmtInt(refund.tickets_refunded)} of ` +
        `${fmtInt(refund.tickets_sold)} tickets`));
      rows = rows.concat(row("Amount refunded",
        `${fmtInt(refund.amount_refunded)} of ${fmtInt(refund.amount_total)}`));
    }
    const sla = l.sla;
    if (sla !== null && !finished) {
      const state = sla.state.replaceAll("_", " ");
      rows = rows.concat(row("Refund SLA", h("span", { class: `sla sla-${sla.state}` }, state)));
      rows = rows.concat(row("First batch due", when(sla.first_batch_due, now)));
      rows = rows.concat(row("All refunds due", when(sla.completion_due, now)));
    }
    const action = l.next_action;
    if (action !== null && !finished) {
      const work = ACTION_LABELS[action.action];
      if (action.may_execute_at === null) {
        rows = rows.concat(row("Autobot", `${work}: under way`));
      } else {
        rows = rows.concat(row("Autobot", `${work}: announced, runs `,
          when(action.may_execute_at, now)));
      }
    }
    if (finished) rows = rows.concat(row("Finished", when(l.finished_at, now)));
    return h("article", { class: "lottery", id: `lottery-${ident}`, "data-phase": phase },
      h("h3", null, `Lottery ${ident}`),
      h("p", { class: `phase phase-${phase}` }, label),
      h("dl", null, ...rows));
  }

  function overview(doc) {
    const live = doc.overview.live;
    const phases = {};
    for (const phase of Object.keys(PHASE_LABELS)) phases[phase] = 0;
    for (const l of doc.lotteries) phases[l.phase] += 1;
    const items = Object.entries(phases)
      .filter(([phase, n]) => n || phase === "selling" || phase === "drawing" || phase === "cancelled")
      .map(([phase, n]) => h("li", { class: `count phase-${phase}` }, h("strong", null, String(n)),
        ` ${PHASE_LABELS[phase].toLowerCase()}`));
    const feeds = doc.price_feeds;
    const healthy = feeds.filter((f) => f.healthy).length;
    const deposit = doc.vrf_deposit;
    return h("section", { "aria-labelledby": "h-overview" },
      h("h2", { id: "h-overview" }, "Overview"),
      h("ul", { class: "counts" }, ...items),
      h("ul", { class: "health" },
        h("li", null, `Lotteries in progress: ${fmtInt(doc.lotteries.length)}`),
        h("li", null, `Refund SLA: ${live.refund_sla_breach ? "BREACHED" : "met"}`),
        h("li", null, `Price feeds healthy: ${healthy} of ${feeds.length}`),
        h("li", null, `VRF deposit: ${deposit.healthy ? "healthy" : "needs attention"}`)));
  }

  function lotteries(doc, now) {
    const list = doc.lotteries;
    let body = list.map((l) => lottery(l, now, false));
    if (!list.length) body = [h("p", null, "No lottery is in progress.")];
    return h("section", { "aria-labelledby": "h-lotteries" },
      h("h2", { id: "h-lotteries" }, "Lotteries in progress"),
      h("div", { class: "cards" }, ...body));
  }

  function finishedSection(doc, now) {
    const list = doc.recently_finished;
    if (!list.length) return null;
    return h("section", { "aria-labelledby": "h-finished" },
      h("h2", { id: "h-finished" }, "Finished in the last 24 hours"),
      h("div", { class: "cards" }, ...list.map((l) => lottery(l, now, true))));
  }

  function marker(kind, x, y, title) {
    const row = EVENT_ROWS[kind];
    const cls = `mark mark-${kind}`;
    if (row === 0) return s("circle", { class: cls, cx: String(x), cy: String(y), r: "6" }, title);
    if (row === 1) {
      return s("rect", { class: cls, x: String(x - 5), y: String(y - 5), width: "10", height: "10" },
        title);
    }
    const points = `${x},${y - 7} ${x + 7},${y} ${x},${y + 7} ${x - 7},${y}`;
    return s("polygon", { class: cls, points }, title);
  }

  function timeline(doc) {
    const t = doc.timeline;
    const start = epoch(t.from);
    const end = epoch(t.to);
    const span = Math.max(1, end - start);
    const plot = SVG_WIDTH - SVG_LEFT - 10;
    const height = SVG_ROW * ROW_NAMES.length + 24;
    const shapes = [];
    ROW_NAMES.forEach((name, n) => {
      const y = 14 + n * SVG_ROW;
      shapes.push(s("text", { x: "0", y: String(y + 4), class: "row-name" }, name));
      shapes.push(s("line", { x1: String(SVG_LEFT), y1: String(y), x2: String(SVG_WIDTH - 10),
        y2: String(y), class: "row-line" }));
    });
    const axisY = 14 + ROW_NAMES.length * SVG_ROW - 6;
    for (const hours of [24, 18, 12, 6, 0]) {
      const x = SVG_LEFT + Math.floor((plot * (24 - hours)) / 24);
      const text = hours === 0 ? "now" : `\u2212${hours} h`;
      const anchor = hours === 0 ? "end" : "middle";
      shapes.push(s("text", { x: String(x), y: String(axisY + 12), class: "tick",
        "text-anchor": anchor }, text));
    }
    const items = [];
    for (const event of t.events) {
      const at = event.at.chain_time;
      const x = SVG_LEFT + Math.floor(plot * Math.min(1, Math.max(0, (epoch(at) - start) / span)));
      const y = 14 + EVENT_ROWS[event.kind] * SVG_ROW;
      const text = `Lottery ${event.lottery_id} ${EVENT_LABELS[event.kind]}`;
      shapes.push(marker(event.kind, x, y, s("title", null, `${text}, ${pretty(at)} chain time`)));
      items.push(h("li", null, h("time", { datetime: at }, pretty(at)), ` \u2014 ${text}`));
    }
    const chart = s("svg", {
      class: "timeline",
      viewBox: `0 0 ${SVG_WIDTH} ${height}`,
      role: "img",
      "aria-label": "Chart of the closes, draws and refunds of the last 24 hours of chain " +
        "time; the same events are listed below.",
    }, ...shapes);
    const listing = items.length
      ? h("ol", { class: "events" }, ...items)
      : h("p", null, "Nothing happened in the last 24 hours.");
    return h("section", { "aria-labelledby": "h-timeline" },
      h("h2", { id: "h-timeline" }, "The last 24 hours"),
      h("p", { class: "note" }, `Chain time ${pretty(t.from)} to ${pretty(t.to)}.`),
      chart,
      listing);
  }

  function system(doc, now) {
    const deposit = doc.vrf_deposit;
    const queue = doc.payout_queue;
    let depositRows = row("Requests", deposit.requests_paused ? "paused since " : "running",
      deposit.requests_paused ? when(deposit.paused_since, now) : null);
    depositRows = depositRows.concat(row("Balance",
      `${fmtInt(deposit.effective_balance)} effective, ` +
      `${fmtInt(deposit.required_minimum)} required`));
    let queueRows = row("Lotteries paying out", fmtInt(queue.lotteries_in_payout));
    queueRows = queueRows.concat(row("Winner batches ahead of payouts", fmtInt(queue.payout_backlog)));
    queueRows = queueRows.concat(row("Lotteries computing winners", fmtInt(queue.winners_pending)));
    queueRows = queueRows.concat(row("Tickets waiting for a refund",
      fmtInt(queue.refund_tickets_pending)));
    if (queue.operations_budget_remaining !== null) {
      queueRows = queueRows.concat(row("Operations budget left",
        `${fmtInt(queue.operations_budget_remaining)} of ${fmtInt(queue.operations_budget_total)}`));
    }
    if (doc.dual_write !== null) {
      queueRows = queueRows.concat(row("Summaries waiting for the archive", dualWriteText(doc.dual_write)));
    }
    const feeds = doc.price_feeds.map((f) => h("li", { class: `feed feed-${f.state}` },
      h("strong", null, `Asset ${f.asset_id}: ${FEED_LABELS[f.state]}`),
      " \u2014 last price ",
      when(f.last_update, now)));
    return h("section", { "aria-labelledby": "h-system" },
      h("h2", { id: "h-system" }, "Draws, payouts and prices"),
      h("div", { class: "cards" },
        h("article", { class: "panel" }, h("h3", null, "VRF deposit"), h("dl", null, ...depositRows)),
        h("article", { class: "panel" }, h("h3", null, "Payout queue"), h("dl", null, ...queueRows)),
        h("article", { class: "panel" }, h("h3", null, "Price feeds"),
          feeds.length ? h("ul", { class: "feeds" }, ...feeds) : h("p", null, "No price feed is watched."))));
  }

  // the dual-write remainder in words (page.py's _dual_write_text says the same)
  function dualWriteText(dual) {
    let text = fmtInt(dual.remainder);
    if (dual.waiting_long) {
      const hours = dual.waiting_long_after_seconds / 3600;
      text += ` (${fmtInt(dual.waiting_long)} for over ${hours} h)`;
    }
    if (dual.mismatches) {
      text += `, ${fmtInt(dual.mismatches)} not matching`;
    }
    return text;
  }

  function bot(b, n, now) {
    const address = b.address;
    let rows = row("Address", h("code", null, `${address.slice(0, 10)}\u2026${address.slice(-8)}`));
    rows = rows.concat(row("State", b.state.replaceAll("_", " ")));
    rows = rows.concat(row("Failure budget", `${b.failures} of ${b.max_failures} used`));
    rows = rows.concat(row("Timelock", `${fmtInt(b.timelock_seconds)} s`));
    const pending = b.pending;
    if (pending === null) {
      rows = rows.concat(row("Pending action", "none"));
    } else {
      let what = (pending.action || "an action").replaceAll("_", " ");
      if (pending.lottery_id !== null) what += ` (lottery ${pending.lottery_id})`;
      const ready = pending.ready ? "may execute now" : "may execute ";
      rows = rows.concat(row("Pending action", `${what}, ${ready}`,
        pending.ready ? null : when(pending.may_execute_at, now)));
    }
    return h("article", { class: "panel bot", id: `bot-${n}` },
      h("h3", null, `Bot ${n}`),
      h("dl", null, ...rows));
  }

  function bots(doc, now) {
    const body = doc.bots.map((b, i) => bot(b, i + 1, now));
    return h("section", { "aria-labelledby": "h-bots" },
      h("h2", { id: "h-bots" }, "Automation bots"),
      body.length ? h("div", { class: "cards" }, ...body) : h("p", null, "No bot is registered."));
  }

  function incidents(doc) {
    const rows = doc.incidents.map((i) => h("li", { class: `incident incident-${i.type}` },
      h("time", { datetime: i.time }, pretty(i.time)),
      ` \u2014 ${i.description}`));
    return h("section", { "aria-labelledby": "h-incidents" },
      h("h2", { id: "h-incidents" }, "Recent incidents"),
      h("p", { class: "note" }, "Times are when autobot logged them (wall clock)."),
      rows.length ? h("ul", { class: "incidents" }, ...rows) : h("p", null, "No incidents."));
  }

  function renderMain(doc, now) {
    const at = now === undefined ? epoch(doc.generated_at) : now;
    const chain = doc.chain;
    return h("div", { id: "status", "data-generated": doc.generated_at },
      h("p", { class: "as-of" },
        "Built ",
        h("time", { datetime: doc.generated_at }, pretty(doc.generated_at)),
        ` (wall clock) from block ${fmtInt(chain.height)} at chain time `,
        h("time", { datetime: chain.time }, pretty(chain.time)),
        "."),
      overview(doc),
      lotteries(doc, at),
      finishedSection(doc, at),
      timeline(doc),
      system(doc, at),
      bots(doc, at),
      incidents(doc));
  }

  // ------------------------------------------------------------------ behaviour

  let lastGenerated = null;
  let timer = null;

  function tick() {
    const now = Date.now() / 1000;
    for (const el of document.querySelectorAll(".countdown[data-until]")) {
      const text = countdownText(epoch(el.getAttribute("data-until")) - now);
      if (el.textContent !== text) el.textContent = text;
    }
  }

  function show(doc) {
    const main = document.getElementById("main");
    const fresh = renderMain(doc, Date.now() / 1000);
    main.replaceChildren(fresh);
    lastGenerated = doc.generated_at;
  }

  function say(text) {
    const state = document.getElementById("refresh-state");
    if (state && state.textContent !== text) state.textContent = text;
  }

  async function refresh() {
    try {
      const reply = await fetch("status.json", { cache: "no-cache", headers: { Accept: "application/json" } });
      if (!reply.ok) throw new Error(`HTTP ${reply.status}`);
      const doc = await reply.json();
      if (doc.generated_at !== lastGenerated) show(doc);
      say("");
      return doc;
    } catch (err) {
      say("Could not refresh; showing the last status received.");
      return null;
    }
  }

  function start() {
    const main = document.getElementById("main");
    const status = document.getElementById("status");
    if (!main || !status) return;
    lastGenerated = status.getAttribute("data-generated");
    const seconds = Number(main.getAttribute("data-refresh-seconds")) || 60;
    timer = setInterval(refresh, Math.max(1, seconds) * 1000);
    setInterval(tick, 1000);
    tick();
    // a page from a cache may be older than one refresh interval: ask at once
    if (Date.now() / 1000 - epoch(lastGenerated) > seconds) refresh();
  }

  window.autobotStatus = { renderMain, refresh, countdownText, stop: () => clearInterval(timer) };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
